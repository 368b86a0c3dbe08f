"""opencv-clahe against cv2.createCLAHE itself, pixel for pixel; its extension against the formula.

OpenCV (``opencv-python-headless``) is a test-only reference.  For uint8,
``255 * equalize(x, "opencv-clahe", ...)`` must equal
``cv2.createCLAHE(clip_limit, (tiles_x, tiles_y)).apply(x)`` for every pixel
(``65535 *`` for uint16), with the compiled loops and with their NumPy twin
(the stand-in until they are compiled).  For other dtypes the result must
equal ``references.opencv_clahe_reference``: OpenCV's C++ written out over
any number of levels, itself checked against cv2 here.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from references import opencv_clahe_lut, opencv_clahe_reference, sample_stack
from skimage import data

from histeq_gui import equalize, histogram
from histeq_gui.core.engine import backend
from histeq_gui.core.methods import get_method

cv2 = pytest.importorskip("cv2")

CLIPS = [0, 0.5, 1, 2.56, 4, 40, 255, 1000]
GRIDS = [(8, 8), (1, 1), (3, 5), (16, 2), (7, 7), (64, 40)]


@pytest.fixture(params=["compiled", "numpy"])
def kernels(request):
    """Both ways the method runs: the compiled loops, and NumPy until they are ready."""
    with backend.use(request.param):
        yield request.param


def cv2_clahe(image, clip_limit=40.0, grid=(8, 8)):
    return cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=grid).apply(image)


def ours(image, clip_limit=40.0, grid=(8, 8)):
    return equalize(image, "opencv-clahe", clip_limit=clip_limit, tiles_x=grid[0],
                    tiles_y=grid[1])


def assert_pixels(image, clip_limit=40.0, grid=(8, 8)):
    """Our result times 255 (65535) is cv2's, exactly; and the division is the export's."""
    expected = cv2_clahe(image, clip_limit, grid)
    top = 255 if image.dtype == np.uint8 else 65535
    out = ours(image, clip_limit, grid)
    assert out.dtype == np.float64 and out.shape == image.shape
    assert_array_equal(out, expected / top)
    assert_array_equal(np.round(out * top).astype(image.dtype), expected)


def photos():
    """Real 8-bit photographs, colour ones channel by channel, and faces."""
    gray = [data.camera(), data.moon(), data.coins(), data.page(), data.text(), data.clock()]
    gray += [data.astronaut()[..., c] for c in range(3)]
    faces = np.round(data.lfw_subset()[:10] * 255).astype(np.uint8)
    return [np.ascontiguousarray(g) for g in gray] + list(faces)


@pytest.mark.parametrize("image", photos(), ids=lambda image: f"{image.shape}-{image.mean():.0f}")
def test_photographs_are_cv2_pixel_for_pixel(kernels, image):
    for clip_limit in (2.56, 40.0):
        assert_pixels(image, clip_limit)


@pytest.mark.parametrize("clip_limit", CLIPS)
@pytest.mark.parametrize("grid", GRIDS)
def test_every_clip_limit_and_grid_including_sizes_the_grid_does_not_divide(kernels,
                                                                            clip_limit, grid):
    camera = data.camera()
    for image in (camera[100:197, 50:173], camera[::4, ::4], data.coins()[:61, :83]):
        assert_pixels(np.ascontiguousarray(image), clip_limit, grid)


def twelve_bit():
    """12-bit camera data in uint16 (values 200..4095), with sensor noise."""
    rng = np.random.default_rng(12)
    moon = data.moon().astype(np.float64) * 15 + 200
    return np.clip(np.round(moon + rng.normal(0, 4, moon.shape)), 0, 4095).astype(np.uint16)


@pytest.mark.parametrize("clip_limit", [0, 1, 40, 3000])
@pytest.mark.parametrize("grid", [(8, 8), (5, 3)])
def test_12_bit_and_16_bit_data_in_uint16_are_cv2(kernels, clip_limit, grid):
    assert_pixels(twelve_bit(), clip_limit, grid)
    full = (data.camera()[:111, :150].astype(np.uint16) * 257 + 128)
    assert_pixels(full, clip_limit, grid)


@pytest.mark.parametrize("image", [
    np.ascontiguousarray(data.camera()[200, :300].reshape(1, 300)),       # 1 x N
    np.ascontiguousarray(data.camera()[:300, 200].reshape(300, 1)),       # N x 1
    np.full((20, 30), 0, np.uint8), np.full((20, 30), 130, np.uint8),   # constant
    np.full((16, 16), 255, np.uint8), np.array([[9]], np.uint8),
    np.array([[0, 255]], np.uint8), np.full((9, 9), 4000, np.uint16),
    np.random.default_rng(2).integers(0, 256, (33, 47), dtype=np.uint8),
], ids=["1xN", "Nx1", "zeros", "constant", "white", "1x1", "1x2", "constant16", "noise"])
@pytest.mark.parametrize("grid", [(8, 8), (2, 3), (40, 40)])
def test_lines_constants_and_tiny_images_are_cv2(kernels, image, grid):
    for clip_limit in (0, 1, 40):
        assert_pixels(image, clip_limit, grid)


def test_the_faces_stack_is_the_cv2_loop(kernels):
    stack = sample_stack()                                      # (100, 1, 96, 96)
    clahe = cv2.createCLAHE(clipLimit=40.0, tileGridSize=(8, 8))
    expected = np.stack([clahe.apply(image[0]) for image in stack])[:, np.newaxis]
    assert_array_equal(equalize(stack, "opencv-clahe") * 255, expected)
    assert_array_equal(equalize(stack, "opencv-clahe", dtype="uint8"), expected)


def test_signed_integers_are_shifted_to_unsigned_exactly(kernels):
    photo = data.camera()[::4, ::4]
    int8 = (photo.astype(np.int16) - 128).astype(np.int8)
    assert_array_equal(ours(int8), cv2_clahe(photo) / 255)
    int16 = (photo.astype(np.int32) * 200 - 25000).astype(np.int16)
    shifted = (int16.astype(np.int32) + 32768).astype(np.uint16)
    assert_array_equal(ours(int16, 3.0, (4, 6)), cv2_clahe(shifted, 3.0, (4, 6)) / 65535)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.uint64])
@pytest.mark.parametrize("bins", [2, 17, 256, 4096])
def test_floats_and_wide_integers_use_bins_as_levels(kernels, dtype, bins):
    image = data.coins()[::3, ::3].astype(np.float64)
    image = image / 255 if dtype in (np.float16, np.float32, np.float64) else image * 1000 + 7
    image = image.astype(dtype)
    for clip_limit, grid in ((40.0, (8, 8)), (2.0, (3, 7))):
        params = dict(clip_limit=clip_limit, tiles_x=grid[0], tiles_y=grid[1])
        try:
            expected = opencv_clahe_reference(image, bins, **params)
        except ValueError:      # np.histogram's refusal: 4096 float16 bins over this range
            with pytest.raises(ValueError, match="too many bins") as error:
                equalize(image, "opencv-clahe", bins, **params)
            assert "\n" not in str(error.value) and dtype == np.float16
            continue
        assert_array_equal(equalize(image, "opencv-clahe", bins, **params), expected)


def test_256_bins_of_a_float_image_are_cv2_on_its_bin_numbers():
    # With 256 bins the levels are OpenCV's own 8-bit levels: cv2 on the bin numbers.
    image = data.moon()[::2, ::2] / 255.0
    _, edges = np.histogram(image, 256)
    levels = np.clip(np.searchsorted(edges, image, side="right") - 1, 0, 255).astype(np.uint8)
    assert_array_equal(equalize(image, "opencv-clahe", 256) * 255, cv2_clahe(levels))


def test_nan_is_filled_with_the_median_and_comes_back_nan(kernels):
    image = data.camera()[::8, ::8] / 255.0
    image[3:7, 10:20] = np.nan
    image[0, 0] = np.inf
    stack = np.stack([image, np.full(image.shape, np.nan)])
    out = equalize(stack, "opencv-clahe", 64)
    finite = np.isfinite(image)
    assert np.isnan(out[0][~finite]).all() and np.isnan(out[1]).all()
    assert_array_equal(out[0], opencv_clahe_reference(image, 64))


def test_the_written_out_reference_is_cv2_itself():
    rng = np.random.default_rng(8)
    for image in (data.camera()[:77, :91], twelve_bit()[:50, :60], data.coins()[::5, ::5]):
        image = np.ascontiguousarray(image)
        count = 256 if image.dtype == np.uint8 else 65536
        for clip_limit, grid in ((40.0, (8, 8)), (0, (3, 4)), (float(rng.integers(1, 9)), (5, 5))):
            assert_array_equal(opencv_clahe_lut(image.astype(np.int64), count, clip_limit,
                                                *grid), cv2_clahe(image, clip_limit, grid))


def test_bins_are_ignored_for_8_and_16_bit_images_only():
    m = get_method("opencv-clahe")
    for dtype in (np.uint8, np.int8, np.uint16, np.int16):
        assert get_method("opencv-clahe").ignores_bins(dtype) and m.kind(dtype) == "image"
    for dtype in (np.int32, np.uint64, np.float16, np.float32, np.float64):
        assert not get_method("opencv-clahe").ignores_bins(dtype) and m.kind(dtype) == "image"
    image = data.camera()[::8, ::8]
    assert_array_equal(equalize(image, "opencv-clahe", 7), equalize(image, "opencv-clahe", 300))


def test_defaults_are_opencvs():
    m = get_method("opencv-clahe")
    assert m.resolve_params("uint8") == {"clip_limit": 40.0, "tiles_x": 8, "tiles_y": 8,
                                         "bins": 256}
    image = data.camera()
    assert_array_equal(equalize(image, "opencv-clahe") * 255, cv2.createCLAHE().apply(image))


def test_the_histogram_is_the_plain_one_without_a_transfer_curve():
    image = data.camera()[::4, ::4]
    h = histogram(image, "opencv-clahe", 64)
    assert not h.global_map and h.tables is None
    assert_array_equal(h.counts, np.histogram(image, 64)[0])
    assert_array_equal(h.apply(image), equalize(image, "opencv-clahe"))


@pytest.mark.parametrize("kwargs, message", [
    ({"clip_limit": -1}, "clip_limit must be a number from 0 to 65536, got -1"),
    ({"clip_limit": 1e6}, "clip_limit must be"), ({"clip_limit": "40"}, "clip_limit must be"),
    ({"tiles_x": 0}, "tiles_x must be a whole number from 1 to 1024, got 0"),
    ({"tiles_y": 2.5}, "tiles_y must be"), ({"bins": 1}, "bins"),
    ({"tileGridSize": (8, 8)}, "no parameter 'tileGridSize'"),
    ({"mask": np.ones((8, 8), bool)}, "the opencv-clahe method takes no mask"),
    ({"scope": "stack"}, "no 'stack' scope; use scope='image'"),
])
def test_bad_parameters_say_what_to_pass(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        equalize(np.zeros((2, 8, 8), np.uint8), "opencv-clahe", **kwargs)
    assert "\n" not in str(error.value)
