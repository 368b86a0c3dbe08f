"""One large image's CLAHE in bands of rows on the pool: the same bytes as in one band.

``clahe`` and ``opencv-clahe`` cut a block of one large image into bands
(:mod:`histeq_gui.core.engine.clahe_bands`); every band count must give what
the one-band kernel gives, and the default (bands for a large image) what
scikit-image and OpenCV give.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from skimage import data
from skimage.exposure import equalize_adapthist

from histeq_gui import equalize
from histeq_gui.core.engine import backend, clahe_bands, pool

cv2 = pytest.importorskip("cv2")


def camera(height, width, dtype=np.uint8):
    """The camera photograph resized to ``height`` x ``width`` (16-bit: with fine levels)."""
    image = cv2.resize(data.camera(), (width, height), interpolation=cv2.INTER_LINEAR)
    if dtype == np.uint16:
        noise = np.random.default_rng(3).integers(0, 257, image.shape)
        return (image.astype(np.int64) * 250 + noise).astype(np.uint16)
    return image


COUNTS = (2, 3, 7, 64)


@pytest.mark.parametrize("shape", [(301, 257), (1100, 1000)])
@pytest.mark.parametrize("dtype,factor", [(np.uint8, 257), (np.uint16, 1)])
@pytest.mark.parametrize("kernel,clip,nbins", [((37, 32), 0.01, 256), ((20, 71), 0.0, 64),
                                               ((1000, 5), 0.5, 65536)])
def test_skimage_clahe_in_bands_is_the_one_band_result(shape, dtype, factor, kernel, clip, nbins):
    x = np.ascontiguousarray(camera(*shape, dtype)[np.newaxis])
    for ranges in (np.empty((0, 2)), np.array([[2000.0, 50000.0]])):
        for single in (False, True):
            args = (x, factor, ranges, *kernel, clip, nbins, single)
            one = np.empty(x.shape)
            clahe_bands.skimage_clahe_block(*args, one, count=1)
            for count in COUNTS:
                banded = np.full(x.shape, np.nan)
                clahe_bands.skimage_clahe_block(*args, banded, count=count)
                assert_array_equal(banded, one, err_msg=f"{count} bands")


@pytest.mark.parametrize("shape", [(301, 257), (1100, 1000)])
@pytest.mark.parametrize("dtype,levels", [(np.uint8, 256), (np.uint16, 65536)])
@pytest.mark.parametrize("grid,clip", [((8, 8), 40.0), ((3, 11), 2.0), ((13, 1), 0.0)])
def test_opencv_clahe_in_bands_is_the_one_band_result(shape, dtype, levels, grid, clip):
    x = np.ascontiguousarray(camera(*shape, dtype)[np.newaxis])
    one = np.empty(x.shape)
    clahe_bands.opencv_clahe_block(x, levels, *grid, clip, one, count=1)
    for count in COUNTS:
        banded = np.full(x.shape, np.nan)
        clahe_bands.opencv_clahe_block(x, levels, *grid, clip, banded, count=count)
        assert_array_equal(banded, one, err_msg=f"{count} bands")


def test_bands_cover_every_row_once():
    assert clahe_bands.bands(10, 10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert clahe_bands.bands(2, 5, 7) == [(0, 1), (1, 2)]
    assert clahe_bands.bands(0, 5, 4) == [(0, 0)]
    assert clahe_bands.bands(100, 100) == [(0, 100)]            # small: one band
    assert len(clahe_bands.bands(1024, 1024)) == pool.workers()


def test_a_large_image_in_default_bands_is_scikit_image_and_opencv():
    image = camera(1100, 1000)
    with pool.use_executor(ThreadPoolExecutor(2)), backend.use("compiled"):   # any machine
        assert len(clahe_bands.bands(*image.shape)) == 2
        clahe = equalize(image, "clahe")
        opencv = equalize(image, "opencv-clahe")
    assert_array_equal(clahe, equalize_adapthist(image))
    assert_array_equal(opencv * 255, cv2.createCLAHE(40.0, (8, 8)).apply(image))


def test_warm_up_compiles_the_band_loops_a_large_image_uses():
    """A fresh process: after warm_up, a large image's first CLAHE waits on no compiler."""
    import subprocess
    import sys

    code = ("from histeq_gui.core.equalize import warm_up\n"
            "from histeq_gui.core.engine import clahe_kernels as k\n"
            "warm_up('uint8')\n"
            "print(*(len(getattr(k, n).signatures) for n in ('skimage_clahe_rows', "
            "'skimage_clahe_rescale', 'opencv_clahe_luts', 'opencv_clahe_rows')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    counts = [int(n) for n in result.stdout.split()]
    assert len(counts) == 4 and min(counts) > 0, result.stdout


@pytest.mark.parametrize("method", ["clahe", "opencv-clahe"])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_one_large_image_is_converted_in_pieces_to_the_same_bytes(method, dtype):
    from histeq_gui import equalize
    from histeq_gui.core.convert import convert

    image = np.tile(data.camera(), (3, 2))[np.newaxis, :1100, :1000]     # 1.1 Mpixel
    expected = convert(equalize(image, method), dtype, image.dtype)
    with pool.use_executor(ThreadPoolExecutor(2)):      # two pieces on any machine
        assert pool.parallel_here() == 2
        got = equalize(image, method, dtype=dtype)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_an_image_of_a_stack_already_on_the_pool_is_one_band():
    """Inside a pool task the pool runs nothing else at once: bands would only repeat work."""
    with pool.use_executor(ThreadPoolExecutor(2)):
        assert pool.parallel_here() == 2
        inside = pool.run(lambda _: (pool.parallel_here(), clahe_bands.bands(2000, 2000)),
                          [0, 1])
    assert inside == [(1, [(0, 2000)])] * 2
