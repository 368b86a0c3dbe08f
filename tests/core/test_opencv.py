"""The opencv method against cv2.equalizeHist itself, and its extension against the formula.

OpenCV (``opencv-python-headless``) is a test-only reference.  For uint8,
``255 * equalize(x, "opencv")`` must equal ``cv2.equalizeHist(x)`` for
every pixel with no rounding; for the other dtypes, masks, NaN and the
stack scope the result must equal ``references.opencv_reference``, the C++
loop written out (itself checked against cv2 on uint8 here).
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from references import opencv_reference, per_image, sample_stack
from skimage import data

from histeq_gui import equalize, histogram
from histeq_gui.core.methods import get_method

cv2 = pytest.importorskip("cv2")


def photos():
    """Real 8-bit photographs shipped with scikit-image, and faces from lfw_subset."""
    gray = [data.camera(), data.moon(), data.coins(), data.page(), data.text(),
            data.grass(), data.brick(), data.gravel(), data.clock(),
            data.horse().astype(np.uint8) * 255]
    colour = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    gray += [image[..., c] for image in colour for c in range(3)]
    faces = np.round(data.lfw_subset()[:40] * 255).astype(np.uint8)
    return gray + list(faces)


def hard_images():
    """Constant, two-valued, saturated, single pixel, gaps and a lone dark pixel."""
    rng = np.random.default_rng(4)
    saturated = np.clip(rng.normal(250, 20, (40, 50)), 0, 255).astype(np.uint8)
    gaps = (rng.integers(0, 8, (30, 30)) * 36).astype(np.uint8)
    lone = np.full((20, 20), 200, np.uint8)
    lone[3, 4] = 3
    return [np.full((7, 9), 0, np.uint8), np.full((7, 9), 77, np.uint8),
            np.full((7, 9), 255, np.uint8), np.array([[0, 255], [255, 0]], np.uint8),
            np.array([[10, 10, 10, 200]], np.uint8), np.array([[5]], np.uint8), saturated,
            255 - saturated, gaps, lone, rng.integers(0, 256, (64, 64)).astype(np.uint8)]


@pytest.mark.parametrize("image", photos() + hard_images(),
                         ids=lambda image: f"{image.shape}-{image.min()}-{image.max()}")
def test_uint8_is_cv2_equalizehist_pixel_for_pixel(image):
    expected = cv2.equalizeHist(image)
    out = equalize(image, "opencv")
    assert out.dtype == np.float64 and out.min() >= 0 and out.max() <= 1
    assert_array_equal(255 * out, expected)                  # exactly, no rounding
    assert_array_equal(np.round(255 * out).astype(np.uint8), expected)
    assert_array_equal(opencv_reference(image, 256) * 255, expected)   # the written-out loop


def test_a_uint8_stack_is_cv2_image_by_image_in_every_layout():
    stack = sample_stack()                                      # (100, 1, 96, 96)
    expected = np.stack([cv2.equalizeHist(image[0]) for image in stack])[:, np.newaxis]
    assert_array_equal(255 * equalize(stack, "opencv"), expected)
    assert_array_equal(255 * equalize(stack[:, 0], "opencv"), expected[:, 0])
    faces = np.round(data.lfw_subset() * 255).astype(np.uint8)  # (200, 25, 25)
    assert_array_equal(255 * equalize(faces, "opencv"),
                       np.stack([cv2.equalizeHist(face) for face in faces]))
    rgb = data.astronaut()[::4, ::4]
    channels = np.stack([cv2.equalizeHist(np.ascontiguousarray(rgb[..., c]))
                         for c in range(3)], axis=-1)
    assert_array_equal(255 * equalize(rgb, "opencv", channel_axis=-1), channels)


def test_the_export_writes_cv2s_bytes(tmp_path):
    from histeq_gui.core.export import ExportSettings, export

    stack = sample_stack()[:20]
    export(stack, tmp_path / "eq.npy", ExportSettings(method="opencv", dtype="uint8"))
    written = np.load(tmp_path / "eq.npy")
    assert_array_equal(written[:, 0], np.stack([cv2.equalizeHist(image[0]) for image in stack]))


def test_bins_do_not_matter_for_integers():
    image = data.camera()[::4, ::4]
    opencv = get_method("opencv")
    assert opencv.ignores_bins(np.uint8) and opencv.ignores_bins(np.int16)
    assert not opencv.ignores_bins(np.float32)
    assert_array_equal(equalize(image, "opencv", 2), equalize(image, "opencv", 4096))


def _real(dtype):
    """Real photographs in ``dtype`` (16-bit and signed ranges, floats with outliers)."""
    photos = np.stack([data.camera()[::8, ::8][:48, :48], data.moon()[::8, ::8][:48, :48],
                       data.coins()[:48, :48], data.page()[:48, :48]]).astype(np.float64)
    if dtype == np.uint16:
        return (photos * 200 + 999).astype(dtype)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        span = min(float(info.max) - float(info.min), 2.0 ** 40)
        return (photos / 255 * span * 0.9 + max(float(info.min), -2.0 ** 39)).astype(dtype)
    out = (photos / 255 * 3 - 1).astype(dtype)
    out[0, 0, 0] = 50                                       # an outlier
    return out


@pytest.mark.parametrize("dtype", [np.uint16, np.int8, np.int16, np.uint32, np.int32, np.int64,
                                   np.uint64, np.float16, np.float32, np.float64])
@pytest.mark.parametrize("bins", [2, 3, 256, 1000])
def test_other_dtypes_follow_the_formula(dtype, bins):
    stack = _real(dtype)
    close = per_image(opencv_reference, stack, bins)
    assert_array_equal(equalize(stack, "opencv", bins), close)
    whole = opencv_reference(stack, bins)
    assert_array_equal(equalize(stack, "opencv", bins, scope="stack"), whole)


def test_16_bit_results_are_exact_tables_of_65536_levels():
    image = (data.camera().astype(np.uint16) * 250 + 17)
    out = equalize(image, "opencv")
    levels = 65535 * out
    assert_array_equal(levels, np.round(levels))           # exactly lut / 65535
    assert levels.min() == 0 and levels.max() == 65535
    # The darkest level goes to 0 and every value keeps its order.
    order = np.argsort(image, axis=None)
    assert (np.diff(out.ravel()[order]) >= 0).all()


def test_constant_images_map_to_themselves():
    assert_array_equal(255 * equalize(np.full((4, 4), 77, np.uint8), "opencv"), 77)
    assert_array_equal(equalize(np.full((4, 4), -128, np.int8), "opencv"), 0)
    assert_array_equal(65535 * equalize(np.full((4, 4), 1234, np.uint16), "opencv"), 1234)
    # A constant float image sits in the middle bin of [v - 0.5, v + 0.5].
    assert_array_equal(equalize(np.full((4, 4), 3.25), "opencv", 5), 2 / 4)
    assert_array_equal(equalize(np.full((4, 4), 3.25), "opencv", 4), 2 / 3)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_masks_and_nan(dtype):
    stack = _real(dtype) if dtype != np.uint8 else sample_stack()[:4, 0, :48, :48]
    mask = np.zeros(stack.shape[1:], bool)
    mask[10:30, 5:40] = True
    out = equalize(stack, "opencv", 64, mask=mask)
    assert_array_equal(out, np.stack([opencv_reference(im, 64, mask) for im in stack]))
    if dtype == np.uint8:
        # Without pixels outside the mask's levels, a masked image is cv2 of the masked part.
        inside = stack[:, 10:30, 5:40]
        expected = np.stack([cv2.equalizeHist(np.ascontiguousarray(im)) for im in inside])
        assert_array_equal(255 * equalize(inside, "opencv"), expected)
        return
    floats = stack.astype(np.float64)
    floats[0, 3, 3] = np.nan
    floats[1, :, :4] = np.inf
    floats[2] = np.nan
    out = equalize(floats, "opencv", 64)
    assert np.isnan(out[2]).all() and np.isnan(out[0, 3, 3]) and np.isnan(out[1, :, :4]).all()
    assert_array_equal(out, np.stack([opencv_reference(im, 64) for im in floats]))


def test_histogram_shows_the_table():
    image = data.camera()[::4, ::4]
    h = histogram(image, "opencv")
    assert h.value_bins and not h.steps
    present = np.unique(image).astype(int)
    assert_array_equal(h.cdf_x, np.arange(present[0], present[-1] + 1))
    assert_array_equal(h.counts[present - present[0]], np.bincount(image.ravel())[present])
    equalized = cv2.equalizeHist(image)
    table = {int(v): int(equalized[image == v][0]) for v in present}
    assert_array_equal(255 * h.cdf[present - present[0]], [table[v] for v in present])
    assert_array_equal(h.apply(image), equalize(image, "opencv"))
    floats = image / 255.0
    hf = histogram(floats, "opencv", 16)
    assert hf.steps and not hf.value_bins and len(hf.cdf) == 16
    assert_array_equal(hf.apply(floats), equalize(floats, "opencv", 16))
    assert hf.cdf[0] == 0 and hf.cdf[-1] == 1


def test_one_bin_is_not_enough_for_float_levels():
    with pytest.raises(ValueError, match="opencv: bins must be a whole number from 2 to 65536"):
        equalize(np.zeros((4, 4)), "opencv", 1)
    assert get_method("opencv").resolve_params("float64", bins=2) == {"bins": 2}
