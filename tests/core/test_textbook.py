"""The textbook method: s_k = round((L - 1) * CDF(r_k)), output s_k / (L - 1).

Against the textbook itself (Gonzalez & Woods, Digital Image Processing, 3rd
ed., Example 3.5 and Table 3.1: a 64x64 3-bit image, L = 8), against the
formula in exact integer arithmetic (``s = floor((L - 1) c / N + 1/2)`` as
``(2 (L - 1) c + N) // (2 N)``) on real photographs, and against
``references.textbook_reference`` (the formula in floats, rounded exactly
with Fractions) for masks, NaN, colour, stacks and the other dtypes.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from references import per_image, textbook_reference
from skimage import data

from histeq_gui import equalize, histogram
from histeq_gui.core.methods import get_method

# Gonzalez & Woods, Table 3.1: n_k pixels at r_k = 0..7 of a 64 x 64 image (MN = 4096).
BOOK_COUNTS = [790, 1023, 850, 656, 329, 245, 122, 81]
BOOK_S = [1, 3, 5, 6, 6, 7, 7, 7]                          # s_k, rounded, as printed
BOOK_EQUALIZED = {1: 790, 3: 1023, 5: 850, 6: 985, 7: 448}  # the equalized histogram


def book_image(dtype=np.uint8):
    """The book's 64x64 3-bit image: values 0..7 with Table 3.1's counts, shuffled."""
    values = np.repeat(np.arange(8), BOOK_COUNTS)
    return np.random.default_rng(35).permutation(values).reshape(64, 64).astype(dtype)


def exact_levels(image, levels, mask=None):
    """s for each pixel in integer arithmetic: the nearest integer to (L-1) c / N, halves up."""
    chosen = image.ravel() if mask is None else image[mask]
    counted = np.sort(chosen)
    n = counted.size
    c = np.searchsorted(counted, image, side="right")
    return np.array([(2 * (levels - 1) * int(k) + n) // (2 * n) for k in c.ravel()],
                    dtype=np.int64).reshape(image.shape)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int8, np.int32])
def test_the_books_example_3_5(dtype):
    image = book_image(dtype)
    out = equalize(image, "textbook", levels=8)
    s = 7 * out
    assert_array_equal(s, np.round(s))                           # exactly s_k / 7
    for r, expected in enumerate(BOOK_S):
        assert set(s[image == r]) == {expected}
    values, counts = np.unique(s.astype(int), return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist())) == BOOK_EQUALIZED
    # The teaching table (worked_table on the teach branch) reads s = rint((L - 1) * value).
    assert_array_equal(np.rint(7 * out), s)


def test_the_books_example_as_floats_with_8_bins():
    # 8 equal-width bins over 0..7 hold one value each: L = bins = 8 by default.
    image = book_image(np.float64)
    out = equalize(image, "textbook", 8)
    assert get_method("textbook").resolve_params(image.dtype, bins=8)["levels"] == 8
    assert_array_equal(7 * out, np.array(BOOK_S)[image.astype(int)])
    h = histogram(image, "textbook", 8)
    assert h.steps and h.counts.tolist() == BOOK_COUNTS
    assert_array_equal(7 * h.cdf, BOOK_S)


def test_histogram_of_the_book_image_for_the_plots():
    h = histogram(book_image(), "textbook", levels=8)
    assert h.value_bins and not h.steps
    assert h.counts.tolist() == BOOK_COUNTS and h.params == {"bins": 256, "levels": 8}
    assert_array_equal(h.cdf_x, np.arange(8))
    assert_array_equal(h.edges, np.arange(9) - 0.5)
    assert_array_equal(7 * h.cdf, BOOK_S)                        # the transfer curve
    x, y = h.transfer_curve((0, 255))
    assert (x[0], x[-1]) == (-0.5, 255) and (7 * y[0], 7 * y[-1]) == (1, 7)
    assert_array_equal(h.apply(book_image()), equalize(book_image(), "textbook", levels=8))


def test_a_tie_rounds_half_up():
    # 5 of 14 pixels at 0: (L - 1) c / N = 7 * 5 / 14 = 2.5 exactly -> 3 (np.rint: 2).
    image = np.array([[0] * 5 + [1] * 9], np.uint8)
    out = equalize(image, "textbook", levels=8)
    assert 7 * out[0, 0] == 3 and np.rint(7 * 5 / 14) == 2
    assert 7 * out[0, -1] == 7
    # And one just below a tie stays down: 7 * 1 / 3 = 2.33 -> 2.
    assert 7 * equalize(np.array([[0, 1, 1]], np.uint8), "textbook", levels=8)[0, 0] == 2


def photos():
    gray = [data.camera(), data.moon(), data.coins()]
    gray += [np.ascontiguousarray(data.astronaut()[..., c]) for c in range(3)]
    faces = np.round(data.lfw_subset()[:20] * 255).astype(np.uint8)
    return gray + list(faces)


@pytest.mark.parametrize("levels", [None, 2, 8, 100, 256, 1000, 65536])
def test_photos_equal_the_formula_in_integers(levels):
    for image in photos()[:4] + photos()[-3:]:
        L = 256 if levels is None else levels
        out = equalize(image, "textbook") if levels is None else \
            equalize(image, "textbook", levels=levels)
        s = exact_levels(image, L)
        assert_array_equal(out, s / (L - 1))
        assert_array_equal(np.rint((L - 1) * out), s)            # rounds back to s exactly
        assert len(np.unique(out)) <= L


def test_16_bit_photos_equal_the_formula_in_integers():
    for photo in (data.camera(), data.moon()):
        image = (photo[::2, ::2].astype(np.uint16) * 250 + 17)
        for L in (None, 8, 4096):
            levels = 65536 if L is None else L
            out = equalize(image, "textbook", **({} if L is None else {"levels": L}))
            assert_array_equal(out, exact_levels(image, levels) / (levels - 1))


def test_default_levels_follow_the_dtype_and_bins():
    textbook = get_method("textbook")
    assert textbook.resolve_params("uint8") == {"bins": 256, "levels": 256}
    assert textbook.resolve_params("int16")["levels"] == 65536
    assert textbook.resolve_params("uint32")["levels"] == 2 ** 32
    assert textbook.resolve_params("int64")["levels"] == 2 ** 64
    assert textbook.resolve_params("float32", bins=100)["levels"] == 100
    assert textbook.resolve_params("float32", bins=100, levels=8)["levels"] == 8
    assert textbook.ignores_bins(np.int64) and not textbook.ignores_bins(np.float64)
    image = data.camera()
    assert_array_equal(equalize(image, "textbook", 2), equalize(image, "textbook", 4096))


@pytest.mark.parametrize("levels, message", [
    (1, "textbook: levels must be a whole number from 2 to 2\\*\\*64, got 1"),
    (2.5, "whole number"), (True, "whole number"), (2 ** 64 + 1, "from 2 to"),
])
def test_bad_levels_are_one_line_errors(levels, message):
    with pytest.raises(ValueError, match=message) as error:
        equalize(np.zeros((4, 4), np.uint8), "textbook", levels=levels)
    assert "\n" not in str(error.value)


def test_constant_images_and_empty_levels():
    assert_array_equal(equalize(np.full((4, 4), 77, np.uint8), "textbook"), 1)
    assert_array_equal(equalize(np.full((4, 4), 3.5), "textbook", 8), 1)
    # Levels without pixels leave the CDF flat: 0, 36, 72, ... get the same s as the
    # formula over all 256 levels.
    gaps = (np.random.default_rng(3).integers(0, 8, (30, 30)) * 36).astype(np.uint8)
    assert_array_equal(equalize(gaps, "textbook"), exact_levels(gaps, 256) / 255)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.uint32, np.int64,
                                   np.uint64, np.float32, np.float64])
def test_every_dtype_stacks_and_scope_stack_equal_the_reference(dtype):
    faces = data.lfw_subset()[:12]
    if np.dtype(dtype).kind == "f":
        stack = (faces * 3 - 1).astype(dtype)
        stack[0, 0, 0] = 40                                     # an outlier
    elif np.dtype(dtype).kind in "iu" and np.dtype(dtype).itemsize >= 4:
        stack = (faces * 2.0 ** (30 if np.dtype(dtype).itemsize == 4 else 40)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        stack = (faces * (float(info.max) - info.min) + info.min).astype(dtype)
    for levels in (None, 8):
        kwargs = {} if levels is None else {"levels": levels}
        expected = per_image(lambda im, b, m, levels=levels: textbook_reference(im, b, m, levels),
                             stack, 64)
        assert_array_equal(equalize(stack, "textbook", 64, **kwargs), expected)
        assert_array_equal(equalize(stack[:, np.newaxis], "textbook", 64, **kwargs),
                           expected[:, np.newaxis])
        assert_array_equal(equalize(stack, "textbook", 64, scope="stack", **kwargs),
                           textbook_reference(stack, 64, None, levels))


def test_masks_nan_and_colour():
    faces = np.round(data.lfw_subset()[:8] * 255).astype(np.uint8)
    mask = np.zeros(faces.shape[1:], bool)
    mask[5:20, 3:22] = True
    out = equalize(faces, "textbook", levels=16, mask=mask)
    for face, result in zip(faces, out):
        assert_array_equal(result, exact_levels(face, 16, mask) / 15)
        assert_array_equal(result, textbook_reference(face, 256, mask, 16))
    # A value below every masked one has c = 0: it maps to 0.
    dark = faces[0].copy()
    dark[0, 0] = 0
    assert dark[mask].min() > 0 and equalize(dark, "textbook", mask=mask)[0, 0] == 0
    floats = faces.astype(np.float32)
    floats[0, 3, 3] = np.nan
    floats[1, :, :4] = np.inf
    floats[2] = np.nan
    out = equalize(floats, "textbook", 50, levels=20)
    assert np.isnan(out[2]).all() and np.isnan(out[0, 3, 3]) and np.isnan(out[1, :, :4]).all()
    assert_array_equal(out, np.stack([textbook_reference(f, 50, None, 20) for f in floats]))
    rgb = data.astronaut()[::4, ::4]
    out = equalize(rgb, "textbook", levels=8, channel_axis=-1)
    for c in range(3):
        channel = np.ascontiguousarray(rgb[..., c])
        assert_array_equal(out[..., c], exact_levels(channel, 8) / 7)
