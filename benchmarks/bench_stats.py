"""The real CleanVision against this program's reading plus image_stats, on the same folders.

Run:  python benchmarks/bench_stats.py [--folders faces audit] [--images 2400] [--repeats 3]
                                       [--cleanvision-python /work/cv-venv/bin/python]
                                       [--hashes 100000] [--loop]

CleanVision (which pins its own pandas and Pillow) runs in its own virtual
environment (``python3 -m venv /work/cv-venv && /work/cv-venv/bin/pip
install cleanvision``) through ``benchmarks/cleanvision_run.py``:
``Imagelab(data_path=FOLDER).find_issues()`` with all its default issue
types (dark, light, odd aspect ratio, low information, exact and near
duplicates, blurry, grayscale, odd size) and its default processes; its
time is ``find_issues`` alone.  This program's time is opening the folder
(``open_reader(folder, mixed=True)``) plus ``image_stats`` with every one
of those checks (and its own columns besides), best of ``--repeats`` runs.
The two tables are compared (``scripts/verify_cleanvision.py``): scores to
1e-9, flags and duplicate sets.

The folders hold 2,000+ real images (``scripts/make_hard_cases.py``):
``faces``, small gray PNG faces of one size (LFW, 96x96, the issue's
folder); ``audit``, faces and photographs as PNG and JPEG, gray and colour,
24 to 1411 px.  Each run also reports this program's share apart from
reading: reading alone (every image decoded), ``image_stats`` of the images
already in memory, and within it the checks that look at a small copy of
each image (blur and perceptual hash: Pillow's resizes, then the batched
filter and DCTs).

``--hashes N`` times the near-duplicate radius search on N perceptual
hashes of real image crops, with the share of pairs it compares.  ``--loop``
runs the older comparison of image_stats with a plain per-image NumPy loop
on an in-memory stack of 1800 faces.

The machine is shared and noisy: the ratio uses best times; the load
average is printed with the figures, and the processor time of the best
run beside its wall time (on a busy machine the two come close: the
threads wait for a core).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from verify_cleanvision import DEFAULT_PYTHON, compare, run_cleanvision  # noqa: E402

from histeq_gui.core.duplicates import near_duplicate_sets  # noqa: E402
from histeq_gui.core.io import open_reader  # noqa: E402
from histeq_gui.core.stats import image_stats  # noqa: E402
from histeq_gui.core.stats_checks import PropertyChecks  # noqa: E402


def load():
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def make_folder(kind, where, n):
    from make_hard_cases import audit_folder, faces_folder

    folder = where / kind
    if not folder.exists():
        (faces_folder if kind == "faces" else audit_folder)(folder, n)
    return folder


def ours(folder):
    """This program end to end: open the folder, describe every image."""
    with open_reader(folder, mixed=True) as images:
        return image_stats(images, channel_axis="auto", names=images.names)


def best(function, repeats, cpu=None):
    """Best and median seconds of ``repeats`` runs, and the last result; ``cpu`` (a list)
    receives the processor seconds (every thread) of the best run."""
    times, used = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append(time.perf_counter() - start)
        used.append(time.process_time() - start_cpu)
    if cpu is not None:
        cpu.append(used[times.index(min(times))])
    return min(times), statistics.median(times), result


def shares(folder, repeats):
    """Seconds of reading alone, of image_stats on images in memory, and of the image checks."""
    def read():
        with open_reader(folder, mixed=True) as images:
            if getattr(images, "ragged", False):
                return [images.image(i) for i in range(images.n_images)]
            return images.load()
    reading, _, loaded = best(read, repeats)
    describing, _, _ = best(lambda: image_stats(loaded, channel_axis="auto"), repeats)

    def check():                        # as image_stats does: a stack at once, else one by one
        checks = PropertyChecks(len(loaded))
        if isinstance(loaded, list):
            for i, picture in enumerate(loaded):
                checks.add(i, picture[None])
        else:
            checks.add(0, loaded)
        return checks.finish()
    checking, _, _ = best(check, repeats)
    return reading, describing, checking


def bench_folder(kind, where, n, python, repeats):
    folder = make_folder(kind, where, n)
    count = len(os.listdir(folder))
    ours(folder)                                        # compiled loops loaded, caches warm
    cleanvision = run_cleanvision(folder, python)
    cpu = []
    mine, median, table = best(lambda: ours(folder), repeats, cpu)
    reading, describing, checking = shares(folder, repeats)
    lines, agree = compare(cleanvision, table)
    ratio = cleanvision["seconds"] / mine
    print(f"\n{kind}: {count} images ({folder}); {load()}")
    print(f"  CleanVision {cleanvision['version']} find_issues(), all 9 issue types: "
          f"{cleanvision['seconds']:.2f} s")
    print(f"  this program, open the folder + image_stats:  {mine:.2f} s best "
          f"({median:.2f} s median of {repeats})  ->  {ratio:.1f}x CleanVision "
          f"({'goal 10x met' if ratio >= 10 else 'goal 10x NOT met'})")
    print(f"    processor time of that run (all threads)   {cpu[0]:.2f} s "
          f"({cpu[0] / mine:.1f} cores busy on average)")
    print(f"    reading alone (decoding every file)        {reading:.2f} s")
    print(f"    image_stats of the images in memory        {describing:.2f} s "
          f"({cleanvision['seconds'] / describing:.1f}x CleanVision's whole time)")
    print(f"      of which blur and phash (Pillow resizes, batched filter and DCTs)  "
          f"{checking:.2f} s")
    print("  agreement with CleanVision:")
    print("\n".join(f"  {line}" for line in lines))
    print(f"  {'everything agrees' if agree else 'DIFFERENCES FOUND'}")
    return ratio >= 10 and agree


def bench_hashes(n, seed=0):
    """The radius search on ``n`` phashes of real crops (faces, photographs, their variants)."""
    from skimage import data

    rng = np.random.default_rng(seed)
    faces = np.rint(data.lfw_subset() * 255).astype(np.uint8)
    photos = [data.camera(), data.moon(), data.coins(), data.page(), data.text(), data.brick(),
              data.grass(), data.gravel(), data.clock()]
    checks = PropertyChecks(n)
    start = time.perf_counter()
    for i in range(n):
        if i % 2:
            y, x = rng.integers(0, 4, 2)
            face = faces[rng.integers(len(faces))][y:y + 21, x:x + 21].astype(np.int16)
            image = np.clip(face + rng.integers(-20, 20), 0, 255).astype(np.uint8)
        else:
            photo = photos[rng.integers(len(photos))]
            side = int(rng.integers(16, 64))
            y = rng.integers(0, photo.shape[0] - side)
            x = rng.integers(0, photo.shape[1] - side)
            image = np.ascontiguousarray(photo[y:y + side, x:x + side])
        checks.add(i, image[None])
    hashes = checks.finish()["phash"]
    made = time.perf_counter() - start
    distinct = len(np.unique(hashes))
    pairs = distinct * (distinct - 1) / 2
    near_duplicate_sets(hashes[:100], 4)                # compiled
    print(f"\nnear-duplicate sets of {n:,} real image crops ({distinct:,} distinct phashes, "
          f"hashed in {made:.1f} s); {load()}")
    for radius in (0, 2, 4, 6, 8, 10):
        report = {}
        seconds, _, first = best(partial(near_duplicate_sets, hashes, radius, report=report), 3)
        print(f"  radius {radius:2d}: {seconds * 1e3:7.1f} ms, {int((first >= 0).sum()):6,} "
              f"images in sets, {report['compared']:11,} pairs compared "
              f"({report['compared'] / pairs:.2%} of all pairs)")


# --------------------------------------------------------- the per-image loop (--loop)


def faces_stack(n, size=96, seed=0):
    """(n, 1, size, size) uint8 faces and photographs with planted odd images."""
    from skimage import data, transform

    rng = np.random.default_rng(seed)
    faces = data.lfw_subset()
    big = np.stack([transform.resize(f, (size + 8, size + 8), order=1) for f in faces])
    sample = np.load(ROOT / "resources" / "sample_stack.npy")[:, 0].astype(np.float64) / 255
    out = np.empty((n, 1, size, size), np.uint8)
    for i in range(n):
        if i % 18 == 17:
            image = sample[(i // 18) % len(sample)]
        else:
            face = big[i % len(big)]
            y, x = rng.integers(0, 9, 2)
            image = face[y:y + size, x:x + size] ** rng.uniform(0.6, 1.6)
            if rng.random() < 0.5:
                image = image[:, ::-1]
        out[i, 0] = np.rint(np.clip(image, 0, 1) * 255)
    picks = rng.permutation(n)
    dark, bright, constant, duplicate = np.split(picks[:n // 18], 4)
    out[dark] //= 10
    out[bright] = 255 - (255 - out[bright]) // 10
    out[constant] = rng.integers(0, 256, (len(constant), 1, 1, 1), dtype=np.uint8)
    out[duplicate] = out[picks[n // 18:n // 18 + len(duplicate)]]
    return out


def loop_stats(stack):
    """Some of the columns image by image with NumPy and Pillow (the seed's recipe)."""
    from PIL import Image

    images = stack.reshape(-1, *stack.shape[-2:])
    rows, seen = [], {}
    for i, image in enumerate(images):
        values = image.astype(np.float64)
        b = values / 255
        p05, p99 = np.percentile(b, [5, 99])
        entropy = Image.fromarray(image).entropy()
        first = seen.setdefault(hashlib.md5(image.tobytes()).hexdigest(), i)
        histogram, bins = np.histogram(image.flatten(), 256, density=True)
        cdf = histogram.cumsum()
        equalized = np.interp(image.flatten(), bins[:-1], 255 * cdf / cdf[-1]) / 255
        rows.append({"mean": np.mean(values), "std": np.std(values),
                     "dark_score": p99, "light_score": 1 - p05,
                     "low_information_score": min(0.1 * entropy, 1.0),
                     "duplicate_of": first if first != i else -1,
                     "distinct": len(np.unique(image)),
                     "mean_abs_change": np.mean(np.abs(equalized - b.ravel()))})
    return {name: np.array([row[name] for row in rows]) for name in rows[0]}


def bench_loop(n, repeats):
    stack = faces_stack(n)
    image_stats(stack[:4])
    mine, _, table = best(lambda: image_stats(stack), repeats)
    loop, _, reference = best(lambda: loop_stats(stack), repeats)
    worst = max(float(np.max(np.abs(table[k] - v))) for k, v in reference.items())
    print(f"\nimage_stats of {stack.shape} uint8 in memory against a per-image NumPy loop of "
          f"some of its columns; {load()}")
    print(f"  image_stats {mine * 1e3:.0f} ms, loop {loop * 1e3:.0f} ms: {loop / mine:.1f}x; "
          f"largest difference {worst:.1e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", nargs="*", default=["faces", "audit"],
                        choices=("faces", "audit"))
    parser.add_argument("--images", type=int, default=2400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--where", type=Path, default=None,
                        help="where the folders are (made if missing; default: a temporary one)")
    parser.add_argument("--cleanvision-python", default=DEFAULT_PYTHON)
    parser.add_argument("--hashes", type=int, default=100_000,
                        help="phashes for the radius search (0: skip)")
    parser.add_argument("--loop", action="store_true",
                        help="also compare with a per-image NumPy loop on 1800 faces")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs; {load()}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
        where = args.where or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        for kind in args.folders:
            ok &= bench_folder(kind, where, args.images, args.cleanvision_python, args.repeats)
    if args.hashes:
        bench_hashes(args.hashes)
    if args.loop:
        bench_loop(1800, args.repeats)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
