"""Speed of histeq_gui.equalize against each method's reference loop, in one run.

Run:  python benchmarks/bench_equalize.py [--images 1800] [--repeats 11] [--methods numpy,opencv]

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
A plain ``astype(float32)`` copy is the memory-bound floor of a copy.

The floor of uint8 -> uint8 equalization is one count and one table look-up
per pixel: the engine's compiled byte count and compiled look-up
(``kernels.count_values``, ``kernels.map_values``) over the whole faces
stack, on the engine's pool, with a table per image.  Every method that
maps uint8 images through a table (whose ``kind`` is "table" or "nodes")
is printed as a ratio to it.

Goals (judged on best times): every table method's uint8 -> uint8 at most
2x the floor (whole-image methods, ``match``, are printed without a goal);
``opencv`` uint8 -> uint8 at least 1.5x the cv2 loop, ``numpy`` uint8 ->
uint8 at least 60x the seed loop (float64 out: 30x), ``numpy`` float64 10x,
``skimage`` uint8 20x; ``clahe`` and ``opencv-clahe`` at least the cv2 CLAHE
loop's speed.  Slow loops (more than 2 s a call) are timed 3 times only.

The CLAHE rows (:func:`clahe_rows`) time ``clahe`` and ``opencv-clahe`` on
the faces stack and one 4096x4096 photograph against a loop of OpenCV's own
CLAHE.
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
from histeq_gui.core.engine import kernels, pool  # noqa: E402
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


def cv2_loop(data):
    import cv2
    out = np.zeros(data.shape, np.uint8)
    for i in range(data.shape[0]):
        out[i, 0] = cv2.equalizeHist(data[i, 0])
    return out


def cv2_clahe_loop(clip_limit):
    """A loop of ``cv2.createCLAHE(clip_limit, (8, 8)).apply`` over the images (uint8 out)."""
    import cv2

    def loop(data):
        clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(8, 8))
        out = np.zeros(data.shape, np.uint8)
        for i in range(data.shape[0]):
            out[i, 0] = clahe.apply(data[i, 0])
        return out
    return loop


def clahe_rows(candidates, notes, chosen, faces):
    """The CLAHE rows: clahe and opencv-clahe against a loop of OpenCV's own CLAHE.

    On the faces stack and on one 4096x4096 photograph (the camera, upscaled),
    ``clahe`` (scikit-image's, its default clip 0.01 and tiles of 1/8 of the
    image) against ``cv2.createCLAHE(2.56, (8, 8))`` (the same clip per bin
    and grid; another algorithm), ``opencv-clahe`` against
    ``cv2.createCLAHE(40, (8, 8))`` (OpenCV's defaults, its own result: checked
    pixel for pixel).  Goal: at least the cv2 loop's speed.
    """
    wanted = [name for name in ("clahe", "opencv-clahe") if name in chosen]
    if not wanted:
        return []
    try:
        import cv2
    except ImportError:
        notes.append("clahe rows: no cv2 to compare with")
        return []
    from skimage import data

    big = cv2.resize(data.camera(), (4096, 4096), interpolation=cv2.INTER_LINEAR)
    stacks = {"faces": faces, "4096x4096": big[np.newaxis, np.newaxis]}
    clips = {"clahe": 2.56, "opencv-clahe": 40.0}
    rows = []
    for name in wanted:
        for kind, data_ in stacks.items():
            loop = cv2_clahe_loop(clips[name])
            ref_label = f"cv2 CLAHE loop ({clips[name]:g}, 8x8), {kind}"
            candidates[ref_label] = lambda d=data_, loop=loop: loop(d)
            outputs = ["uint8", None] if name == "opencv-clahe" else [None]
            for output in outputs:
                label = f"{name}, {kind} uint8 -> {output or 'float64'}"
                candidates[label] = lambda d=data_, o=output, n=name: equalize(d, n, dtype=o)
                rows.append((label, ref_label, 1.0 if output is None else None))
            ours = equalize(data_, name)
            if name == "opencv-clahe":
                same = np.array_equal(ours * 255, loop(data_))
                if not same:
                    raise SystemExit(f"opencv-clahe, {kind}: differs from the cv2 loop")
                notes.append(f"opencv-clahe, {kind}: pixel-identical with the {ref_label}")
            elif kind == "4096x4096":
                expected = exposure.equalize_adapthist(big)
                if not np.array_equal(ours[0, 0], expected):
                    raise SystemExit("clahe, 4096x4096: differs from equalize_adapthist")
                notes.append("clahe, 4096x4096: bit-identical with equalize_adapthist")
    return rows


def floor(data):
    """One compiled count and one compiled look-up per pixel of ``data`` (uint8), on the pool.

    The stack is cut as the engine cuts it for integer tables (a couple of
    groups of whole images per worker); each image is counted into its own
    256 counts and looked up through its own 256-entry table.
    """
    x2 = data.reshape(len(data), -1)
    count, look_up = kernels.count_values(False), kernels.map_values()
    tables = np.resize(np.arange(256, dtype=np.uint8)[::-1], len(x2) * 256)
    out = np.empty(x2.shape, np.uint8)
    cuts = np.linspace(0, len(x2), 2 * pool.workers() + 1).astype(int)

    def work(rows):
        r0, r1 = rows
        samples = np.arange(r1 - r0)
        base = np.zeros(r1 - r0, np.int64)
        counts = np.zeros((r1 - r0) * 256, np.int64)
        count(x2[r0:r1], x2[:1], samples, base, 256, 0, counts)
        look_up(x2[r0:r1], samples, base, 256, tables[r0 * 256:r1 * 256], out[r0:r1])
    pool.run(work, list(zip(cuts[:-1], cuts[1:])))
    return out


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
    parser.add_argument("--methods", default=",".join(METHODS),
                        help="comma-separated methods to time (default: all; a quick run: "
                             "--methods numpy,opencv --images 600 --repeats 5)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.methods.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods: {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    rng = np.random.default_rng(0)
    shape = (args.images, 1, 96, 96)
    # uint8: the faces stack (the bundled sample's photographs, tiled to N images).
    faces = np.resize(np.load(ROOT / "resources" / "sample_stack.npy"), shape)
    noise = rng.integers(0, 256, shape, dtype=np.uint8)
    stacks = {"uint8": faces, "float64": rng.random(shape)}

    candidates = {"astype(float32), uint8": lambda: stacks["uint8"].astype(np.float32),
                  "astype(float32), float64": lambda: stacks["float64"].astype(np.float32),
                  "floor: compiled count + look-up, uint8": lambda: floor(stacks["uint8"])}
    at_floor = []       # (uint8 -> uint8 candidate, goal or None)
    rows = []           # (ours, reference, goal)
    notes = []
    for name in chosen:
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
                candidates[label] = (lambda d=data, o=output, p=params, n=name:
                                     equalize(d, n, dtype=o, **p))
                results[output] = candidates[label]()
            if kind == "uint8" and method.kind(data.dtype) != "image":
                at_floor.append((f"{name}, uint8 -> uint8", None if method.image else 2.0))
            if found is None:
                notes.append(f"{name}, {kind}: no reference loop to compare with")
                continue
            ref_label, loop, how = found
            candidates[ref_label] = lambda d=data, loop=loop: loop(d)
            verdict = check(name, results[None], results.get("uint8"), loop(data), how)
            notes.append(f"{name}, {kind}: {verdict} with the {ref_label}")
            for output in outputs:
                goal = {("opencv", "uint8", "uint8"): 1.5, ("numpy", "uint8", "uint8"): 60,
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
    rows += clahe_rows(candidates, notes, chosen, faces)

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
    failed = False
    for ours, reference, goal in rows:
        (om, ob), (rm, rb) = result[ours], result[reference]
        ratio, median = rb / ob, rm / om
        verdict = ""
        if goal:
            verdict = f"{goal}x: {'met' if ratio >= goal else 'NOT met'}"
            failed |= ratio < goal
        print(f"| {ours} | {reference} | {ob * 1e3:.1f} ({om * 1e3:.1f}) | {rb * 1e3:.1f} "
              f"({rm * 1e3:.1f}) | {ratio:.1f}x ({median:.1f}x) | {verdict} |")
    fm, fb = result["floor: compiled count + look-up, uint8"]
    print()
    print(f"The floor (compiled count + look-up of the whole uint8 stack): {fb * 1e3:.1f} ms "
          f"({fm * 1e3:.1f})")
    print()
    print("| candidate | ours, ms | times the floor | goal |")
    print("| --- | --- | --- | --- |")
    for ours, goal in at_floor:
        om, ob = result[ours]
        ratio, median = ob / fb, om / fm
        verdict = ""
        if goal:
            verdict = f"at most {goal}x: {'met' if ratio <= goal else 'NOT met'}"
            failed |= ratio > goal
        print(f"| {ours} | {ob * 1e3:.1f} ({om * 1e3:.1f}) | {ratio:.2f}x ({median:.2f}x) | "
              f"{verdict} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
