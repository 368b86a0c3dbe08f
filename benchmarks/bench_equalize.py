"""Speed of histeq_gui.equalize against each method's reference loop, in one run.

Run:  python benchmarks/bench_equalize.py [--images 1800] [--repeats 11]

<<<<<<< HEAD
Every candidate is timed in the same process, interleaved repetition by
repetition.  This machine is shared and noisy, and noise only ever adds
time, so the ratios that judge the goals use each candidate's best time
(as ``timeit`` advises); the ratios of the medians are printed beside them.  The references are the Q&A thread's loop (``seed_recipe`` per
image into ``np.zeros``), a loop over ``skimage.exposure.equalize_hist``,
a plain ``astype(float32)`` copy (the memory-bound floor: one read, one
write of the stack) and, if OpenCV is installed, ``cv2.equalizeHist`` per
image (uint8 only), the reference of the ``opencv`` method: its row compares
``equalize(x, "opencv")`` (float64 output, pixel-identical to cv2 / 255) with
that loop (uint8 output); the ratio is printed, not judged.  The ``imagej``,
``imagej-classic`` and ``textbook`` rows compare with a per-image loop of
their formula written in NumPy (ImageJ's Java loops; s_k = round((L - 1)
CDF)), on uint8 and on float64 (256 bins), and the script first checks
that each method gives its loop's very values.  The ``match``
rows compare with a loop over ``skimage.exposure.match_histograms`` (every
image matched to the stack's first one), the ``clahe`` rows with a loop
over ``skimage.exposure.equalize_adapthist``; CLAHE takes seconds per call,
so its rows are timed apart, ``--slow-repeats`` times.
=======
Every candidate is timed in the same process on the same (N, 1, 96, 96)
stacks (uint8: the bundled sample's face photographs tiled to N images;
float64: uniform noise; a uint8 noise row too), interleaved repetition by
repetition.  This machine is shared and
noisy, and noise only ever adds time, so the ratios that judge the goals use
each candidate's best time (as ``timeit`` advises); the ratios of the
medians are printed beside them.

For every registered method (whatever the registry holds when this runs):
``equalize(x, method, dtype="uint8")`` on a uint8 stack (the integer path:
tables converted once, pixels looked up straight into uint8), the float64
result on the same stack, and the float64 result on a float64 stack where
the method takes floats, each against the loop of the method's reference
over the images: the Q&A thread's loop for ``numpy`` (``seed_recipe`` per
image into ``np.zeros``), ``cv2.equalizeHist`` for ``opencv`` (uint8 out, as
OpenCV gives it), ``skimage.exposure.equalize_hist`` for ``skimage``, and
for the others their reference in ``tests/core/references.py``.  The results
are checked against those loops before anything is timed: pixel for pixel
where the method promises it (``opencv`` against cv2, ``numpy`` against the
seed loop, after the export's conversion for uint8), to 1e-9 otherwise.
A plain ``astype(float32)`` copy is the memory-bound floor.

Goals (judged on best times): ``opencv`` uint8 -> uint8 at least 1.3x the
cv2 loop, ``numpy`` uint8 -> uint8 at least 60x the seed loop (float64 out:
30x), ``numpy`` float64 10x, ``skimage`` uint8 20x.  Slow loops (more than
2 s a call) are timed 3 times only.
>>>>>>> engine2
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from skimage import exposure

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests" / "core"))
from histeq_gui import equalize  # noqa: E402
from histeq_gui.core.export import convert  # noqa: E402
from histeq_gui.core.methods import METHODS, get_method  # noqa: E402

SLOW = 2.0          # seconds: loops slower than this are timed 3 times


def seed_recipe(image, number_bins=256):
    # the Q&A thread's answer, as written there
    image_histogram, bins = np.histogram(image.flatten(), number_bins, density=True)
    cdf = image_histogram.cumsum()
    cdf = 255 * cdf / cdf[-1]
    image_equalized = np.interp(image.flatten(), bins[:-1], cdf)
    return image_equalized.reshape(image.shape), cdf


def seed_loop(data):
    data_equalized = np.zeros(data.shape)
    for i in range(data.shape[0]):
        image = data[i, 0, :, :]
        data_equalized[i, 0, :, :] = image_histogram_equalization(image)[0]
    return data_equalized


image_histogram_equalization = seed_recipe


def skimage_loop(data):
    out = np.zeros(data.shape)
    for i in range(data.shape[0]):
        out[i, 0] = exposure.equalize_hist(data[i, 0], 256)
    return out


def match_loop(data, reference):
    out = np.zeros(data.shape)
    for i in range(data.shape[0]):
        out[i, 0] = exposure.match_histograms(data[i, 0], reference)
    return out


def clahe_loop(data):
    out = np.zeros(data.shape)
    for i in range(data.shape[0]):
        out[i, 0] = exposure.equalize_adapthist(data[i, 0])
    return out


def cv2_loop(data):
    import cv2
    out = np.zeros(data.shape, np.uint8)
    for i in range(data.shape[0]):
        out[i, 0] = cv2.equalizeHist(data[i, 0])
    return out


<<<<<<< HEAD
def _cells(image, bins):
    """Counts per level (uint8: its 256 values; floats: np.histogram's bins), each pixel's cell."""
    if image.dtype == np.uint8:
        return np.bincount(image.ravel(), minlength=256), image
    hist, edges = np.histogram(image, bins)
    return hist, np.clip(np.searchsorted(edges, image, side="right") - 1, 0, bins - 1)


def _round_half_up(x):
    whole = np.floor(x)
    return whole + (x - whole >= 0.5)


def imagej_formula(image, classic=False, bins=256):
    # ImageJ's ContrastEnhancer.equalize(ip, histogram), its Java loops in NumPy, one image.
    hist, cell = _cells(image, bins)
    top = len(hist) - 1
    w = hist.astype(np.float64)
    if not classic:
        w = np.where(hist >= 2, np.sqrt(w), w)
    scale = top / np.cumsum(np.concatenate([w[:1], 2 * w[1:top], w[top:]]))[-1]
    running = np.cumsum(np.concatenate([w[:1], np.repeat(w[1:top], 2)]))[1::2]
    lut = np.concatenate([[0.0], _round_half_up(running * scale), [top]])
    return lut[cell] / top


def textbook_formula(image, bins=256):
    # s_k = round((L - 1) * c_k / N), halves up, / (L - 1); L = 256 for uint8, bins for floats.
    hist, cell = _cells(image, bins)
    top = len(hist) - 1
    c = np.cumsum(hist)
    return (_round_half_up((top * c) / c[-1]) / top)[cell]


def formula_loop(formula, data, **kwargs):
    out = np.zeros(data.shape)
    for i in range(data.shape[0]):
        out[i, 0] = formula(data[i, 0], **kwargs)
    return out


def measure(candidates, repeats, warm_up=True):
    """Median and best seconds of each candidate, interleaved over repeats."""
    for function in candidates.values() if warm_up else ():
=======
def reference_loop(name, params):
    """The per-image loop of ``tests/core/references.py``'s reference of method ``name``."""
    try:
        import references
    except ImportError:
        return None
    reference = getattr(references, "REFERENCES", {}).get(name)
    if reference is None:
        return None

    def loop(data):
        out = np.zeros(data.shape)
        for i in range(data.shape[0]):
            out[i, 0] = reference(data[i, 0], 256, None, **params)
        return out
    return loop


def method_params(name):
    """The parameters the tests pass to method ``name`` (``match`` needs a reference)."""
    try:
        import references
    except ImportError:
        return {}
    params = getattr(references, "params", None)
    return dict(params(name)) if params is not None else {}


def references_for(name, data, params):
    """(label, loop, how its result compares) for method ``name`` on ``data``'s dtype.

    The comparison is "x255" (the loop gives 0..255: compare 255 * ours),
    "uint8" (the loop gives uint8, as cv2), or "float" (values in [0, 1]).
    """
    kind = data.dtype.name
    if name == "numpy":
        return f"seed loop, {kind}", seed_loop, "x255"
    if name == "skimage":
        return f"equalize_hist loop, {kind}", skimage_loop, "float"
    if name == "opencv" and data.dtype == np.uint8:
        try:
            import cv2  # noqa: F401
        except ImportError:
            return None
        return "cv2.equalizeHist loop, uint8", cv2_loop, "uint8"
    loop = reference_loop(name, params)
    if loop is None:
        return None
    return f"{name} reference loop, {kind}", loop, "float"


def check(name, ours_float, ours_u8, expected, how):
    """Compare with the reference loop's result; raise if a promise is broken."""
    if how == "uint8":
        if ours_u8 is not None and not np.array_equal(ours_u8, expected):
            raise SystemExit(f"{name}: uint8 result differs from the cv2 loop")
        same = np.array_equal(np.rint(255 * ours_float), expected)
        return "pixel-identical" if same else "DIFFERENT"
    values = expected / 255 if how == "x255" else expected
    if ours_u8 is not None and how == "x255" and \
            not np.array_equal(ours_u8, convert(values, "uint8", np.uint8)):
        raise SystemExit(f"{name}: uint8 result differs from converting the seed loop")
    worst = float(np.nanmax(np.abs(ours_float - values))) if values.size else 0.0
    if not worst <= 1e-9:
        raise SystemExit(f"{name}: differs from its reference by {worst}")
    return "bit-identical" if worst == 0 else f"within {worst:.1e}"


def measure(candidates, repeats):
    """Median and best seconds of each candidate, interleaved over repeats."""
    slow = set()
    for name, function in candidates.items():
        start = time.perf_counter()
>>>>>>> engine2
        function()                      # warm up: compiled kernels, page pools
        if time.perf_counter() - start > SLOW:
            slow.add(name)
    times = {name: [] for name in candidates}
    for i in range(repeats):
        for name, function in candidates.items():
            if name in slow and i >= 3:
                continue
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def _load():
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1800)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--slow-repeats", type=int, default=3,
                        help="repeats of the CLAHE rows (seconds each)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    shape = (args.images, 1, 96, 96)
    # uint8: the faces stack (the bundled sample's photographs, tiled to N images).
    faces = np.resize(np.load(ROOT / "resources" / "sample_stack.npy"), shape)
    noise = rng.integers(0, 256, shape, dtype=np.uint8)
    stacks = {"uint8": faces, "float64": rng.random(shape)}

<<<<<<< HEAD
    candidates = {
        "seed loop, uint8": lambda: seed_loop(u8),
        "seed loop, float64": lambda: seed_loop(f64),
        "equalize_hist loop, uint8": lambda: skimage_loop(u8),
        "astype(float32), uint8": lambda: u8.astype(np.float32),
        "astype(float32), float64": lambda: f64.astype(np.float32),
        "numpy, uint8": lambda: equalize(u8, "numpy"),
        "numpy, float64": lambda: equalize(f64, "numpy"),
        "skimage, uint8": lambda: equalize(u8, "skimage"),
        "skimage, float64": lambda: equalize(f64, "skimage"),
        "numpy, uint8 sample photos": lambda: equalize(faces, "numpy"),
        "numpy, uint8, scope=stack": lambda: equalize(u8, "numpy", scope="stack"),
        "numpy, float64, scope=stack": lambda: equalize(f64, "numpy", scope="stack"),
        "ImageJ formula loop, uint8": lambda: formula_loop(imagej_formula, u8),
        "ImageJ formula loop, float64": lambda: formula_loop(imagej_formula, f64),
        "ImageJ classic loop, uint8": lambda: formula_loop(imagej_formula, u8, classic=True),
        "ImageJ classic loop, float64": lambda: formula_loop(imagej_formula, f64, classic=True),
        "textbook formula loop, uint8": lambda: formula_loop(textbook_formula, u8),
        "textbook formula loop, float64": lambda: formula_loop(textbook_formula, f64),
        "imagej, uint8": lambda: equalize(u8, "imagej"),
        "imagej, float64": lambda: equalize(f64, "imagej"),
        "imagej-classic, uint8": lambda: equalize(u8, "imagej-classic"),
        "imagej-classic, float64": lambda: equalize(f64, "imagej-classic"),
        "textbook, uint8": lambda: equalize(u8, "textbook"),
        "textbook, float64": lambda: equalize(f64, "textbook"),
        "match_histograms loop, uint8": lambda: match_loop(u8, u8[0, 0]),
        "match_histograms loop, float64": lambda: match_loop(f64, f64[0, 0]),
        "match, uint8": lambda: equalize(u8, "match", reference=0),
        "match, float64": lambda: equalize(f64, "match", reference=0),
        "match, uint8, reference=stack": lambda: equalize(u8, "match", reference="stack"),
    }
    for x, scale in ((u8, 255), (f64, 1)):
        gap = np.abs(equalize(x, "match", reference=0) - match_loop(x, x[0, 0]) / scale).max()
        print(f"match method against the match_histograms loop / {scale}, {x.dtype}: "
              f"largest difference {gap:.1e}")
    slow = {
        "equalize_adapthist loop, uint8": lambda: clahe_loop(u8),
        "equalize_adapthist loop, float64": lambda: clahe_loop(f64),
        "clahe, uint8": lambda: equalize(u8, "clahe"),
        "clahe, float64": lambda: equalize(f64, "clahe"),
    }
    for name, ours, loop in [
            ("imagej", lambda x: equalize(x, "imagej"), lambda x: formula_loop(imagej_formula, x)),
            ("imagej-classic", lambda x: equalize(x, "imagej-classic"),
             lambda x: formula_loop(imagej_formula, x, classic=True)),
            ("textbook", lambda x: equalize(x, "textbook"),
             lambda x: formula_loop(textbook_formula, x))]:
        few = min(200, len(u8))
        same = all(np.array_equal(ours(x[:few]), loop(x[:few])) for x in (u8, f64))
        print(f"{name} method identical to its formula's loop (uint8, float64; {few} images): "
              f"{same}")
    try:
        import cv2  # noqa: F401
        candidates["cv2.equalizeHist loop, uint8"] = lambda: cv2_loop(u8)
        candidates["opencv, uint8"] = lambda: equalize(u8, "opencv")
        same = np.array_equal(255 * equalize(u8, "opencv"), cv2_loop(u8))
        print(f"opencv method pixel-identical to the cv2 loop on the uint8 stack: {same}")
    except ImportError:
        pass
    result = measure(candidates, args.repeats)
    result.update(measure(slow, args.slow_repeats, warm_up=False))

    print(f"stack {shape}, {args.repeats} interleaved repeats ({args.slow_repeats} for "
          f"CLAHE), {os.cpu_count()} CPUs; median (best) per call")
    for name, (median, best) in result.items():
        print(f"  {name:34s} {median * 1e3:9.1f} ms  ({best * 1e3:.1f})")
    print("ratios against the seed's per-image loop: best times (medians)")
    targets = [
        ("numpy, uint8", "seed loop, uint8", 30),
        ("numpy, float64", "seed loop, float64", 10),
        ("skimage, uint8", "equalize_hist loop, uint8", 20),
        ("numpy, uint8 sample photos", "seed loop, uint8", None),
        ("skimage, float64", "seed loop, float64", None),
        ("numpy, uint8, scope=stack", "seed loop, uint8", None),
        ("numpy, float64, scope=stack", "seed loop, float64", None),
        ("astype(float32), uint8", "seed loop, uint8", None),
        ("imagej, uint8", "ImageJ formula loop, uint8", None),
        ("imagej, float64", "ImageJ formula loop, float64", None),
        ("imagej-classic, uint8", "ImageJ classic loop, uint8", None),
        ("imagej-classic, float64", "ImageJ classic loop, float64", None),
        ("textbook, uint8", "textbook formula loop, uint8", None),
        ("textbook, float64", "textbook formula loop, float64", None),
        ("match, uint8", "match_histograms loop, uint8", None),
        ("match, float64", "match_histograms loop, float64", None),
        ("match, uint8, reference=stack", "match_histograms loop, uint8", None),
        ("clahe, uint8", "equalize_adapthist loop, uint8", None),
        ("clahe, float64", "equalize_adapthist loop, float64", None),
    ]
    if "cv2.equalizeHist loop, uint8" in result:
        targets.append(("cv2.equalizeHist loop, uint8", "seed loop, uint8", None))
        targets.append(("opencv, uint8", "cv2.equalizeHist loop, uint8", None))
=======
    candidates = {"astype(float32), uint8": lambda: stacks["uint8"].astype(np.float32),
                  "astype(float32), float64": lambda: stacks["float64"].astype(np.float32)}
    rows = []           # (ours, reference, goal)
    notes = []
    for name in METHODS:
        method = get_method(name)
        params = method_params(name)
        for kind, data in stacks.items():
            if not method.supports(data.dtype):
                continue
            found = references_for(name, data, params)
            outputs = ["uint8", None] if kind == "uint8" else [None]
            results = {}
            for output in outputs:
                label = f"{name}, {kind} -> {output or 'float64'}"
                candidates[label] = (lambda d=data, o=output, p=params:
                                     equalize(d, name, dtype=o, **p))
                results[output] = candidates[label]()
            if found is None:
                notes.append(f"{name}, {kind}: no reference loop to compare with")
                continue
            ref_label, loop, how = found
            candidates[ref_label] = lambda d=data, loop=loop: loop(d)
            verdict = check(name, results[None], results.get("uint8"), loop(data), how)
            notes.append(f"{name}, {kind}: {verdict} with the {ref_label}")
            for output in outputs:
                goal = {("opencv", "uint8", "uint8"): 1.3, ("numpy", "uint8", "uint8"): 60,
                        ("numpy", "uint8", None): 30, ("numpy", "float64", None): 10,
                        ("skimage", "uint8", None): 20}.get((name, kind, output))
                rows.append((f"{name}, {kind} -> {output or 'float64'}", ref_label, goal))
    candidates["numpy, uint8 noise -> uint8"] = lambda: equalize(noise, "numpy", dtype="uint8")
    candidates["seed loop, uint8 noise"] = lambda: seed_loop(noise)
    rows.append(("numpy, uint8 noise -> uint8", "seed loop, uint8 noise", None))
    candidates["numpy, uint8 -> uint8, scope=stack"] = lambda: equalize(
        stacks["uint8"], "numpy", scope="stack", dtype="uint8")
    rows.append(("numpy, uint8 -> uint8, scope=stack", "seed loop, uint8", None))
    candidates["numpy, float64, scope=stack"] = lambda: equalize(stacks["float64"], "numpy",
                                                                 scope="stack")
    rows.append(("numpy, float64, scope=stack", "seed loop, float64", None))
    rows.append(("astype(float32), uint8", "seed loop, uint8", None))

    load_before = _load()
    result = measure(candidates, args.repeats)
    print(f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{load_before} before and {_load()} after; stack {shape}; {args.repeats} interleaved "
          "repeats; best (median) per call")
    for note in notes:
        print(f"  {note}")
    print()
    print("| candidate | reference | ours, ms | reference, ms | speed-up | goal |")
    print("| --- | --- | --- | --- | --- | --- |")
>>>>>>> engine2
    failed = False
    for ours, reference, goal in rows:
        (om, ob), (rm, rb) = result[ours], result[reference]
        ratio, median = rb / ob, rm / om
        verdict = ""
        if goal:
            verdict = f"{goal}x: {'met' if ratio >= goal else 'NOT met'}"
            failed |= ratio < goal
<<<<<<< HEAD
        print(f"  {ours:34s} {ratio:6.1f}x ({median:5.1f}x)  vs {reference}{verdict}")
=======
        print(f"| {ours} | {reference} | {ob * 1e3:.1f} ({om * 1e3:.1f}) | {rb * 1e3:.1f} "
              f"({rm * 1e3:.1f}) | {ratio:.1f}x ({median:.1f}x) | {verdict} |")
>>>>>>> engine2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
