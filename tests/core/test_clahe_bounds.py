"""The compiled CLAHE loops stay inside their arrays, whatever their inputs.

``core/engine/clahe_kernels.py`` is compiled a second time in a fresh
interpreter with ``NUMBA_BOUNDSCHECK=1`` (every njit function of it, the
helpers too, into an empty cache folder) and fed inputs that no caller
makes: levels above ``levels``, grids and kernels larger than the image,
1xN and Nx1 images, NaN, negative and huge clip limits, inverted and
non-finite ranges, 1 and 65536 bins, outputs and range tables too short.
The checked build raises IndexError on any access outside an array, so
"returns, or raises the kernel's own ValueError" for every input proves
that the program's build never reads or writes outside its arrays there.
"""

import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import itertools
    import numpy as np
    from histeq_gui.core.engine.clahe_kernels import opencv_clahe, skimage_clahe

    def run(kernel, *args):
        try:
            kernel(*args)
        except ValueError:
            pass                        # the kernel refused its inputs: allowed

    rng = np.random.default_rng(5)
    shapes = [(1, 1), (1, 37), (29, 1), (2, 3), (17, 23), (64, 64)]
    runs = 0
    for (H, W), n in itertools.product(shapes, (1, 3)):
        x8 = rng.integers(0, 256, (n, H, W), dtype=np.uint8)
        x16 = rng.integers(0, 65536, (n, H, W), dtype=np.uint16)
        out = np.empty((n, H, W))
        for x, levels in ((x8, 256), (x16, 65536), (x16, 256), (x8, 2), (x16, 3)):
            grids = ((1, 1), (8, 8), (3, 70)) + (((1024, 1),) if levels <= 256 else ())
            for tiles, clip in itertools.product(grids, (0.0, -1.0, 1.0, 40.0, 1e9, np.nan)):
                run(opencv_clahe, x, levels, tiles[0], tiles[1], clip, out)
                runs += 1
            for short in (np.empty((n, H, W - 1)), np.empty((n - 1, H, W))):
                run(opencv_clahe, x, levels, 8, 8, 40.0, short)
            run(opencv_clahe, x, levels, 0, 8, 40.0, out)
        ranges = [np.empty((0, 2)), np.array([[0.0, 4095.0]] * n),
                  np.array([[9e4, -5.0]] * n), np.array([[np.nan, np.inf]] * n),
                  np.array([[7.0, 7.0]] * n), np.array([[0.0, 1.0]] * (n - 1)).reshape(-1, 2)]
        for x, factor in ((x8, 257), (x16, 1), (x16, 257)):
            # One-pixel tiles only on small images: each tile has a histogram of up to 16384 bins.
            kernels = ((5, 3), (H + 9, 1), (1000, 1000)) + (((1, 1),) if H * W < 100 else ())
            for r, (kh, kw), nbins, clip in itertools.product(
                    ranges, kernels, (1, 2, 256, 65536), (0.0, 0.01, 1.0, -0.5, np.nan)):
                for single in (False, True):
                    run(skimage_clahe, x, factor, r, kh, kw, clip, nbins, single, out)
                    runs += 1
            for short in (np.empty((n, H - 1, W)), np.empty((n - 1, H, W))):
                run(skimage_clahe, x, factor, ranges[0], 4, 4, 0.01, 256, False, short)
            run(skimage_clahe, x, factor, ranges[0], 0, 4, 0.01, 256, False, out)
    print("ran", runs)
""")


def test_the_clahe_loops_never_leave_their_arrays(tmp_path):
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ran ") and int(done.stdout.split()[1]) > 5000


ROWS_CHILD = textwrap.dedent("""
    import itertools
    import numpy as np
    from histeq_gui.core.engine.clahe_kernels import (
        opencv_clahe_luts, opencv_clahe_rows, skimage_clahe_rescale, skimage_clahe_rows)

    def run(kernel, *args):
        try:
            return kernel(*args)
        except ValueError:
            return None                 # the kernel refused its inputs: allowed

    rng = np.random.default_rng(7)
    rows = [(0, 1), (-5, 3), (2, 1), (-9, 10 ** 6), (4, 10 ** 6), (10 ** 6, 10 ** 6 + 3)]
    runs = 0
    for H, W in [(1, 1), (1, 37), (29, 1), (17, 23), (64, 64)]:
        x8 = rng.integers(0, 256, (H, W), dtype=np.uint8)
        x16 = rng.integers(0, 65536, (H, W), dtype=np.uint16)
        result = np.empty(H * W, np.uint16)
        target = np.empty(H * W)
        ranges = [np.empty((0, 2)), np.array([[0.0, 4095.0]]), np.array([[9e4, -5.0]]),
                  np.array([[np.nan, np.inf]]), np.empty((1, 1)), np.empty((0, 1))]
        for x, factor in ((x8, 257), (x16, 1)):
            for r, (kh, kw), nbins, (r0, r1) in itertools.product(
                    ranges, ((5, 3), (H + 9, 1), (1, 1000)), (1, 256, 65536), rows):
                run(skimage_clahe_rows, x, factor, r, kh, kw, 0.01, nbins, r0, r1, result)
                runs += 1
            run(skimage_clahe_rows, x, factor, ranges[0], 4, 4, 0.01, 256, 0, H, result[:-1])
            run(skimage_clahe_rows, x, factor, ranges[0], 0, 4, 0.01, 256, 0, H, result)
        for rmin, rmax in ((0, 0), (5, 4), (0, 65535), (-3, 70000), (65535, 0), (2, 9)):
            for single in (False, True):
                run(skimage_clahe_rescale, result, rmin, rmax, single, target)
                run(skimage_clahe_rescale, result, rmin, rmax, single, target[:-1])
                runs += 1
        for x, levels in ((x8, 256), (x16, 65536), (x16, 256), (x8, 2)):
            for (tx, ty), clip, (t0, t1) in itertools.product(
                    ((1, 1), (8, 8), (3, 70), (0, 2)), (0.0, 40.0, np.nan),
                    ((0, 1), (-4, 2), (3, 1), (-1, 10 ** 6))):
                for size in (0, 1, tx * ty * levels - 1, tx * ty * levels):
                    lut = np.full(max(size, 0), np.nan, np.float32)
                    run(opencv_clahe_luts, x, levels, tx, ty, clip, t0, t1, lut)
                    runs += 1
            lut = rng.normal(0, 1e6, 8 * 8 * 65536).astype(np.float32)
            lut[::7] = np.nan
            lut[::11] = np.inf
            for (lo, hi), (r0, r1) in itertools.product(
                    ((0, levels - 1), (5, 3), (-2, 10), (0, levels), (7, 7), (0, 10 ** 9)), rows):
                run(opencv_clahe_rows, x, levels, 8, 8, lo, hi, lut, r0, r1, target)
                run(opencv_clahe_rows, x, levels, 8, 8, lo, hi, lut[:10], r0, r1, target)
                runs += 1
            run(opencv_clahe_rows, x, levels, 8, 8, 0, 1, lut, 0, H, target[:-1])
    print("ran", runs)
""")


def test_the_clahe_row_kernels_never_leave_their_arrays(tmp_path):
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", ROWS_CHILD], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ran ") and int(done.stdout.split()[1]) > 2000
