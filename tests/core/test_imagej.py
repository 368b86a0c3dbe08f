"""The imagej and imagej-classic methods against ImageJ's Java formula, written out.

``references.imagej_reference`` is ``ContrastEnhancer.equalize(ImageProcessor,
int[])`` and ``getWeightedValue`` of ImageJ (``ij/plugin/ContrastEnhancer.java``)
as a plain Python loop over every level, in Python floats (IEEE doubles, as
Java's) with Java's ``Math.round``.  For 8- and 16-bit images
``max * equalize(x, "imagej")`` must equal that loop's table exactly, on real
photographs and on the hard cases (empty levels, counts of 0 and 1, the
pinned ends, constant and two-valued images, ties of Math.round).
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from references import imagej_reference, java_math_round, per_image
from skimage import data, filters

from histeq_gui import equalize, histogram
from histeq_gui.core.methods import get_method
from histeq_gui.core.methods.imagej_equalize import java_round

METHODS = ("imagej", "imagej-classic")


def _reference(method, image, bins=256, mask=None):
    return imagej_reference(image, bins, mask, classic=method == "imagej-classic")


def photos8():
    """Real 8-bit photographs: camera, moon, coins, the astronaut's channels, 30 faces."""
    gray = [data.camera(), data.moon(), data.coins()]
    gray += [np.ascontiguousarray(data.astronaut()[..., c]) for c in range(3)]
    faces = np.round(data.lfw_subset()[:30] * 255).astype(np.uint8)
    return gray + list(faces)


def photos16():
    """16-bit versions: smoothed to use the levels between (dense), or spread (gaps)."""
    out = []
    for photo in (data.camera(), data.moon(), data.coins(), data.astronaut()[..., 1]):
        smooth = filters.gaussian(photo[::2, ::2].astype(np.float64), sigma=1.2,
                                  preserve_range=True)
        out.append(np.round(smooth * 257).astype(np.uint16))        # dense levels
        out.append(photo[::2, ::2].astype(np.uint16) * 257)          # 256 levels, gaps
    out.append(np.round(data.lfw_subset()[0] * 65535).astype(np.uint16))
    return out


def hard8():
    """Empty levels, counts of 0 and 1, saturated ends, constant and two-valued images."""
    rng = np.random.default_rng(11)
    saturated = np.clip(rng.normal(128, 120, (40, 50)), 0, 255).astype(np.uint8)  # 0 and 255
    gaps = (rng.integers(0, 8, (30, 30)) * 36).astype(np.uint8)
    singles = np.arange(256, dtype=np.uint8).reshape(16, 16)                      # counts of 1
    mixed = np.concatenate([np.arange(0, 256, 3), np.full(30, 100), [255]]).astype(np.uint8)
    lone = np.full((20, 20), 200, np.uint8)
    lone[3, 4] = 3
    return [np.full((7, 9), 0, np.uint8), np.full((7, 9), 77, np.uint8),
            np.full((7, 9), 255, np.uint8), np.array([[0, 255], [255, 0]], np.uint8),
            np.array([[10, 10, 10, 200]], np.uint8), np.array([[5]], np.uint8), saturated,
            gaps, singles, mixed.reshape(1, -1), lone,
            rng.integers(0, 256, (64, 64)).astype(np.uint8)]


def hard16():
    rng = np.random.default_rng(12)
    saturated = np.clip(rng.normal(32768, 30000, (30, 40)), 0, 65535).astype(np.uint16)
    return [np.full((5, 5), 0, np.uint16), np.full((5, 5), 1234, np.uint16),
            np.full((5, 5), 65535, np.uint16), np.array([[0, 65535]], np.uint16),
            np.array([[3, 3, 3, 60000]], np.uint16), saturated,
            rng.integers(0, 65536, (64, 64)).astype(np.uint16),
            (rng.integers(0, 5, (20, 20)) * 16000).astype(np.uint16)]


def _ids(image):
    return f"{image.dtype}-{image.shape}-{image.min()}-{image.max()}"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("image", photos8() + hard8(), ids=_ids)
def test_8_bit_is_the_java_formula_exactly(method, image):
    out = equalize(image, method)
    expected = _reference(method, image)
    assert out.dtype == np.float64 and 0 <= out.min() and out.max() <= 1
    assert_array_equal(out, expected)
    table = 255 * out                       # ImageJ's 8-bit result, with no rounding
    assert_array_equal(table, np.round(table))
    assert_array_equal(table, 255 * expected)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("image", photos16() + hard16(), ids=_ids)
def test_16_bit_is_the_java_formula_exactly(method, image):
    out = equalize(image, method)
    assert_array_equal(out, _reference(method, image))
    table = 65535 * out
    assert_array_equal(table, np.round(table))


@pytest.mark.parametrize("method", METHODS)
def test_stacks_in_every_layout_are_the_formula_image_by_image(method):
    faces8 = np.round(data.lfw_subset()[:60] * 255).astype(np.uint8)          # (60, 25, 25)
    expected = per_image(lambda im, b, m: _reference(method, im, b, m), faces8, 256)
    assert_array_equal(equalize(faces8, method), expected)
    assert_array_equal(equalize(faces8[:, np.newaxis], method), expected[:, np.newaxis])
    faces16 = np.round(data.lfw_subset()[60:72] * 65535).astype(np.uint16)
    expected16 = per_image(lambda im, b, m: _reference(method, im, b, m), faces16, 256)
    assert_array_equal(equalize(faces16[:, np.newaxis], method), expected16[:, np.newaxis])
    # "Use stack histogram": one table from the whole stack.
    assert_array_equal(equalize(faces8, method, scope="stack"), _reference(method, faces8))
    assert_array_equal(equalize(faces16, method, scope="stack"), _reference(method, faces16))


def test_a_worked_example_by_hand():
    # Counts 1, 4, 9, 1 at levels 0..3.  Square roots: w = 1, 2, 3, 1; the total
    # w(0) + 2 (w(1) + w(2) + w(3)) = 1 + 12 = 13, scale = 255 / 13:
    # lut[1] = round((1 + 2) * 255/13) = round(58.85) = 59,
    # lut[2] = round((1 + 4 + 3) * 255/13) = round(156.92) = 157,
    # lut[3] = round((1 + 4 + 6 + 1) * 255/13) = round(235.38) = 235.
    image = np.repeat(np.arange(4, dtype=np.uint8), [1, 4, 9, 1]).reshape(3, 5)
    assert_array_equal(255 * equalize(image, "imagej"),
                       np.repeat([0, 59, 157, 235], [1, 4, 9, 1]).reshape(3, 5))
    # Classic: w = 1, 4, 9, 1; total 1 + 2 * 14 = 29: round(5 * 255/29) = 44,
    # round(18 * 255/29) = 158, round(28 * 255/29) = 246.
    assert_array_equal(255 * equalize(image, "imagej-classic"),
                       np.repeat([0, 44, 158, 246], [1, 4, 9, 1]).reshape(3, 5))


@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.uint16, 65535)])
@pytest.mark.parametrize("method", METHODS)
def test_math_round_sends_halves_up(method, dtype, top):
    # One pixel at level 1 (weight 1) and (top - 1) / 2 inner levels of weight 2 (2 pixels
    # each, or 4 under the square root): the total is 2 * 1 + 2 * (top - 1) = 2 * top and
    # lut[1] = round(1 * top / (2 * top)) = round(0.5): 1 in Java, 0 rounding to even.
    inner = np.arange(2, 2 + (top - 1) // 2)
    count = 2 if method == "imagej-classic" else 4
    image = np.concatenate([[1], np.repeat(inner, count)]).astype(dtype).reshape(1, -1)
    out = top * equalize(image, method)
    assert out[0, 0] == 1 and java_math_round(0.5) == 1 and np.rint(0.5) == 0
    assert_array_equal(out / top, _reference(method, image))


def test_java_round_is_math_round():
    values = [0.0, 0.5, 1.5, 2.5, 126.5, 0.49999999999999994, 254.49999999999997, 255.0,
              65534.5, 3.7]
    assert java_round(np.array(values)).tolist() == [java_math_round(v) for v in values]
    assert java_round(np.array([np.nan]))[0] == 0           # Java: Math.round(NaN) == 0


def test_constant_images_and_the_pinned_ends():
    # An inner level takes the middle of its own bar: round(range / 2).
    for method in METHODS:
        assert_array_equal(255 * equalize(np.full((4, 4), 77, np.uint8), method), 128)
        assert_array_equal(65535 * equalize(np.full((4, 4), 1234, np.uint16), method), 32768)
        assert_array_equal(equalize(np.full((4, 4), 0, np.uint8), method), 0)
        assert_array_equal(equalize(np.full((4, 4), 255, np.uint8), method), 1)
        assert_array_equal(equalize(np.full((4, 4), 65535, np.uint16), method), 1)
        # lut[0] = 0 and lut[max] = max whatever the counts.
        two = np.array([[0] * 50 + [255] * 3], np.uint8)
        assert_array_equal(255 * equalize(two, method), two)
    # Without level 255 the top stops half a bar short of it.
    dark = data.camera() // 2
    assert equalize(dark, "imagej").max() < 1
    assert equalize(dark, "imagej").max() == _reference("imagej", dark).max()


@pytest.mark.parametrize("method", METHODS)
def test_signed_integers_are_shifted_to_unsigned_levels(method):
    u16 = photos16()[0]
    s16 = (u16.astype(np.int32) - 32768).astype(np.int16)
    assert_array_equal(equalize(s16, method), equalize(u16, method))
    u8 = data.camera()
    s8 = (u8.astype(np.int16) - 128).astype(np.int8)
    assert_array_equal(equalize(s8, method), equalize(u8, method))
    assert get_method(method).ignores_bins(np.int8) and get_method(method).ignores_bins(np.uint16)
    assert_array_equal(equalize(u8, method, 2), equalize(u8, method, 4096))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.int32, np.uint32, np.int64, np.uint64, np.float32,
                                   np.float64])
def test_wider_integers_and_floats_run_the_loops_over_bins(method, dtype):
    # With 256 bins over 0..256 (bins one unit wide) pixel v lands in bin v and 256 in
    # bin 255: the result is the 8-bit one of the same image with 256 turned into 255.
    image = data.camera()[::2, ::2].astype(np.int64)
    image[0, :2] = 256, 0
    assert not get_method(method).ignores_bins(dtype)
    eight = np.minimum(image, 255).astype(np.uint8)
    assert_array_equal(equalize(image.astype(dtype), method, 256), equalize(eight, method))
    # Any bins: the Java loops with max = bins - 1 over np.histogram's bins.
    photo = (data.moon()[::4, ::4].astype(np.float64) * 1e6 / 255 - 3e5)
    wide = photo.astype(dtype) if np.dtype(dtype).kind != "u" else (photo + 3e5).astype(dtype)
    for bins in (2, 3, 100, 1000):
        assert_array_equal(equalize(wide, method, bins), _reference(method, wide, bins))
    with pytest.raises(ValueError, match=f"{method}: bins must be a whole number from 2"):
        equalize(wide, method, 1)


@pytest.mark.parametrize("method", METHODS)
def test_masks_nan_and_colour(method):
    image = photos16()[2]
    mask = np.zeros(image.shape, bool)
    mask[20:60, 30:90] = True
    out = equalize(image, method, mask=mask)
    assert_array_equal(out, _reference(method, image, mask=mask))
    # The ROI's histogram, applied to every pixel (levels outside the ROI included).
    assert not np.isin(image[~mask], image[mask]).all()
    faces = np.round(data.lfw_subset()[:10] * 255).astype(np.uint8)
    masks = np.random.default_rng(2).random(faces.shape) < 0.4
    expected = np.stack([_reference(method, f, mask=m) for f, m in zip(faces, masks)])
    assert_array_equal(equalize(faces, method, mask=masks), expected)
    floats = faces.astype(np.float64)
    floats[0, 3, 3] = np.nan
    floats[1, :, :4] = np.inf
    floats[2] = np.nan
    out = equalize(floats, method, 64)
    assert np.isnan(out[2]).all() and np.isnan(out[0, 3, 3]) and np.isnan(out[1, :, :4]).all()
    assert_array_equal(out, np.stack([_reference(method, f, 64) for f in floats]))
    rgb = data.astronaut()[::4, ::4]
    out = equalize(rgb, method, channel_axis=-1)
    for c in range(3):
        assert_array_equal(out[..., c], _reference(method, np.ascontiguousarray(rgb[..., c])))


def test_scope_image_is_per_image_not_imagejs_slice_1_quirk():
    # ImageJ without "use stack histogram" equalizes every slice with slice 1's
    # histogram; here each image gets its own.  Slice 1's table applied to the stack
    # (what ImageJ does, exact for 8-bit tables over all 256 levels) is another result.
    stack = np.stack([data.camera()[::4, ::4], data.moon()[::4, ::4]])
    own = equalize(stack, "imagej")
    assert_array_equal(own[1], _reference("imagej", stack[1]))
    slice_1 = histogram(stack[0], "imagej").apply(stack)
    # Slice 1's whole table: the Java loop on slice 1's histogram (a mask picks slice
    # 1's pixels out of slice 1 + a ramp of every level, and the ramp reads the table).
    ramp = np.arange(256, dtype=np.uint8)
    both = np.concatenate([stack[0].ravel(), ramp])[np.newaxis]
    picked = np.concatenate([np.ones(stack[0].size, bool), np.zeros(256, bool)])[np.newaxis]
    table = _reference("imagej", both, mask=picked)[0, -256:]
    assert_array_equal(slice_1, table[stack])
    assert_array_equal(slice_1[0], own[0])
    assert not np.array_equal(slice_1[1], own[1])
    how = get_method("imagej").how.lower()
    assert "use stack histogram" in how and "slice 1" in how


@pytest.mark.parametrize("method", METHODS)
def test_histogram_gives_the_table_for_the_plots(method):
    image = data.coins()[::2, ::2]
    h = histogram(image, method)
    assert h.value_bins and not h.steps and h.params == {"bins": 256}
    lo, hi = int(image.min()), int(image.max())
    assert_array_equal(h.cdf_x, np.arange(lo, hi + 1))
    assert_array_equal(h.counts, np.bincount(image.ravel())[lo:hi + 1])
    assert_array_equal(h.edges, np.arange(lo, hi + 2) - 0.5)
    ramp = np.arange(lo, hi + 1, dtype=np.uint8)
    table = _reference(method, image)
    by_level = {int(v): t for v, t in zip(image.ravel(), table.ravel())}
    present = np.unique(image)
    assert_array_equal(h.cdf[present - lo], [by_level[int(v)] for v in present])
    assert (np.diff(h.cdf) >= 0).all()
    assert_array_equal(h.apply(ramp), h.cdf)
    assert_array_equal(h.apply(image), equalize(image, method))
    x, y = h.transfer_curve((0, 255))
    assert (x[0], x[-1]) == (0, 255) and (y[0], y[-1]) == (h.cdf[0], h.cdf[-1])
    h16 = histogram(photos16()[1], method)
    assert h16.value_bins and h16.counts.sum() == photos16()[1].size
    assert_array_equal(h16.apply(photos16()[1]), equalize(photos16()[1], method))
    floats = image / 255.0
    hf = histogram(floats, method, 16)
    assert hf.steps and not hf.value_bins and len(hf.cdf) == 16
    assert hf.cdf[0] == 0 and hf.cdf[-1] == 1
    assert_array_equal(hf.apply(floats), equalize(floats, method, 16))
    whole = histogram(np.stack([image, 255 - image]), method)
    assert_array_equal(whole.apply(np.stack([image, 255 - image])),
                       equalize(np.stack([image, 255 - image]), method, scope="stack"))


# 102 pixels (random levels) whose table depends on the order of the Java additions.
ORDER_SENSITIVE = [
    1, 1, 8, 8, 9, 15, 17, 17, 18, 19, 24, 28, 30, 33, 34, 40, 41, 46, 49, 57, 59, 59, 60, 63,
    63, 65, 68, 73, 73, 76, 78, 79, 80, 82, 85, 86, 89, 90, 92, 100, 102, 103, 103, 104, 104,
    105, 108, 110, 111, 116, 122, 123, 123, 124, 130, 131, 142, 142, 146, 158, 160, 162, 164,
    167, 168, 169, 170, 177, 177, 178, 178, 179, 182, 185, 200, 202, 206, 210, 212, 215, 217,
    222, 225, 226, 226, 229, 230, 232, 236, 237, 238, 238, 240, 241, 243, 243, 244, 244, 245,
    245, 249, 253]


def test_the_sums_are_added_in_javas_order():
    # Java's total is w(0) + 2 w(1) + ... + w(255) added one term after the other; a
    # pairwise sum (np.sum) of the same terms differs in its last bit here, and that
    # moves round(sum * scale) of level 142 from 143 to 142.
    image = np.array(ORDER_SENSITIVE, np.uint8).reshape(6, 17)
    out = 255 * equalize(image, "imagej")
    assert_array_equal(out / 255, _reference("imagej", image))
    assert set(out[image == 142]) == {143}
    counts = np.bincount(image.ravel(), minlength=256)
    w = [float(h) if h < 2 else float(np.sqrt(h)) for h in counts]
    terms = [w[0]] + [2 * v for v in w[1:255]] + [w[255]]
    total = 0.0
    for term in terms:
        total += term
    running = w[0]
    for i in range(1, 142):
        running += w[i]
        running += w[i]
    running += w[142]
    assert java_math_round(running * (255 / total)) == 143
    assert total != np.sum(terms)
    assert java_math_round(running * (255 / np.sum(terms))) == 142
