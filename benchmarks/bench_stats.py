"""Speed of histeq_gui's image_stats against a plain per-image loop, in one run.

Run:  python benchmarks/bench_stats.py [--images 1800] [--repeats 5]

The stack is the seed's shape, (1800, 1, 96, 96) uint8, built from real
faces: scikit-image's ``lfw_subset`` (200 faces, 25x25) enlarged to 96x96,
each shown several times with its own gamma, flip and shift, and the bundled
sample photographs; dark, bright, constant and duplicate images are planted
in it.  The float32 and uint16 rows are the same pictures in those dtypes.

The reference is a loop over the images that computes the same columns
plainly: NumPy per image (mean, std, percentiles, np.unique, the seed
recipe's equalization), Pillow's ``Image.entropy()`` for 8-bit images
(np.histogram and the same formula otherwise) and an md5 per image for
duplicates, as CleanVision does.  Both are timed in the same process,
interleaved repetition by repetition; the machine is shared and noisy and
noise only adds time, so the ratio uses each one's best time (the ratio of
the medians is printed beside it).  The loop's table is compared with
image_stats' to show they compute the same thing.
"""

import argparse
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data, transform

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from histeq_gui.core.stats import image_stats  # noqa: E402


def faces_stack(n, size=96, seed=0):
    """(n, 1, size, size) uint8 faces and photographs with planted odd images."""
    rng = np.random.default_rng(seed)
    faces = data.lfw_subset()                                   # (200, 25, 25) in [0, 1]
    big = np.stack([transform.resize(f, (size + 8, size + 8), order=1) for f in faces])
    sample = np.load(ROOT / "resources" / "sample_stack.npy")[:, 0].astype(np.float64) / 255
    out = np.empty((n, 1, size, size), np.uint8)
    for i in range(n):
        if i % 18 == 17:                                        # each photograph once
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
    out[dark] //= 10                                            # dark
    out[bright] = 255 - (255 - out[bright]) // 10               # bright
    out[constant] = rng.integers(0, 256, (len(constant), 1, 1, 1), dtype=np.uint8)
    out[duplicate] = out[picks[n // 18:n // 18 + len(duplicate)]]
    return out


def seed_equalize(image, number_bins=256):
    """The Q&A thread's recipe / 255 (the "numpy" method), for one finite image."""
    image_histogram, bins = np.histogram(image.flatten(), number_bins, density=True)
    cdf = image_histogram.cumsum()
    cdf = 255 * cdf / cdf[-1]
    return np.interp(image.flatten(), bins[:-1], cdf).reshape(image.shape) / 255


def entropy_bits(image):
    """Pillow's entropy for 8-bit images; the same formula over np.histogram otherwise."""
    if image.dtype == np.uint8:
        return Image.fromarray(image).entropy()
    counts = np.histogram(image.astype(np.float64), bins=256)[0]
    p = counts[counts > 0] / image.size
    return float(-np.sum(p * np.log(p) * np.log2(np.e)))


def loop_stats(stack):
    """The same columns, image by image (finite images, gray, numpy method)."""
    images = stack.reshape(-1, *stack.shape[-2:])
    if stack.dtype.kind in "iu":
        lo, hi = float(np.iinfo(stack.dtype).min), float(np.iinfo(stack.dtype).max)
    else:
        lo, hi = float(stack.min()), float(stack.max())
    rows = []
    seen = {}
    for i, image in enumerate(images):
        values = image.astype(np.float64)
        b = (values - lo) / (hi - lo)
        p05, p99 = np.percentile(b, [5, 99])
        entropy = entropy_bits(image)
        low = min(0.1 * entropy, 1.0)
        digest = hashlib.md5(image.tobytes()).hexdigest()
        first = seen.setdefault(digest, i)
        distinct = len(np.unique(image))
        equalized = seed_equalize(image)
        levels = np.rint(255 * equalized).astype(np.uint8)
        distinct_after = len(np.unique(levels))
        rows.append({
            "mean": np.mean(values), "std": np.std(values), "min": values.min(),
            "max": values.max(), "p01": np.percentile(values, 1),
            "p99": np.percentile(values, 99), "distinct": distinct,
            "nan_count": int(np.isnan(values).sum()), "entropy": entropy,
            "dark_score": p99, "light_score": 1 - p05, "low_information_score": low,
            "is_dark": p99 < 0.32, "is_light": 1 - p05 < 0.05, "is_low_information": low < 0.3,
            "is_constant": distinct == 1, "is_duplicate": first != i,
            "duplicate_of": first if first != i else -1,
            "entropy_after": Image.fromarray(levels).entropy(),
            "distinct_after": distinct_after, "levels_lost": distinct - distinct_after,
            "mean_abs_change": np.mean(np.abs(equalized - b)),
        })
    return {name: np.array([row[name] for row in rows]) for name in rows[0]}


def measure(candidates, repeats):
    """Median and best seconds of each candidate, interleaved over repeats."""
    for function in candidates.values():
        function()                      # warm up: compiled kernels, page pools
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, function in candidates.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def agreement(ours, loop):
    """The loop's column that differs most from image_stats', and its largest relative difference."""
    worst, where = 0.0, "none"
    for name, expected in loop.items():
        actual = ours[name].astype(np.float64)
        expected = expected.astype(np.float64)
        scale = np.maximum(np.abs(expected), 1e-300)
        difference = float(np.max(np.abs(actual - expected) / scale))
        if difference > worst:
            worst, where = difference, name
    return worst, where


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1800)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    u8 = faces_stack(args.images)
    stacks = {"uint8": u8, "float32": u8.astype(np.float32) / 255,
              "uint16": u8.astype(np.uint16) * 257 + (u8 & 1)}

    candidates = {}
    for name, stack in stacks.items():
        candidates[f"image_stats, {name}"] = lambda s=stack: image_stats(s)
        candidates[f"per-image loop, {name}"] = lambda s=stack: loop_stats(s)
    result = measure(candidates, args.repeats)

    print(f"stack {u8.shape} (lfw faces + sample photos, planted dark/bright/constant/"
          f"duplicates), {args.repeats} interleaved repeats, {os.cpu_count()} CPUs; "
          "median (best) per call")
    for name, (median, best) in result.items():
        print(f"  {name:28s} {median * 1e3:9.1f} ms  ({best * 1e3:.1f})")
    print("image_stats against the per-image loop: best times (medians)")
    failed = False
    for name, stack in stacks.items():
        ours, loop = result[f"image_stats, {name}"], result[f"per-image loop, {name}"]
        ratio, median = loop[1] / ours[1], loop[0] / ours[0]
        verdict = ""
        if name == "uint8":
            met = ratio >= 10 and ours[1] < 0.5
            verdict = f"  goals 10x and < 0.5 s: {'met' if met else 'NOT met'}"
            failed |= not met
        worst, column = agreement(image_stats(stack), loop_stats(stack))
        print(f"  {name:8s} {ratio:6.1f}x ({median:5.1f}x), {ours[1] * 1e3:.0f} ms; "
              f"largest relative difference from the loop {worst:.1e} ({column}){verdict}")
    table = image_stats(u8)
    print("flags on the uint8 stack: " + ", ".join(
        f"{flag} {int(table[flag].sum())}" for flag in
        ("is_dark", "is_light", "is_low_information", "is_constant", "is_duplicate")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
