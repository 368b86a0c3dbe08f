"""worked_table and the teaching numbers against the textbook, Wikipedia, OpenCV and the references.

The published examples:

- Gonzalez & Woods, "Digital Image Processing", Example 3.5 / Table 3.1: a
  64x64 image with L = 8 levels, n_k = 790, 1023, 850, 656, 329, 245, 122,
  81, mapped by s_k = round((L - 1) cdf_k) to 1, 3, 5, 6, 6, 7, 7, 7; the
  equalized histogram is 790, 1023, 850, 985, 448 at s = 1, 3, 5, 6, 7.
- Wikipedia, "Histogram equalization": the 8x8 sub-image (values 52..154)
  and its equalized matrix under h(v) = round((cdf(v) - cdf_min) /
  (M N - cdf_min) (L - 1)), e.g. 52 -> 0, 78 -> 182, 154 -> 255; this is
  OpenCV's equalizeHist (checked below against cv2 itself).

The ``opencv`` and ``textbook`` methods come with the method registry; the
tests that need them skip until they are registered.
"""

from __future__ import annotations

import csv
import doctest
import io
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from skimage import data, exposure

from histeq_gui import equalize, histogram
from histeq_gui.core import colour, worked
from histeq_gui.core.convert import convert
from histeq_gui.core.errors import StackError
from histeq_gui.core.methods import METHODS, get_method
from histeq_gui.core.worked import (
    compare_images,
    default_levels,
    diagonal_distance,
    equalize_again,
    output_cdf,
    worked_table,
    worked_table_to_csv,
)

cv2 = pytest.importorskip("cv2")

BOOK_N = [790, 1023, 850, 656, 329, 245, 122, 81]
BOOK_P = [0.19, 0.25, 0.21, 0.16, 0.08, 0.06, 0.03, 0.02]
BOOK_SCALED = [1.33, 3.08, 4.55, 5.67, 6.23, 6.65, 6.86, 7.00]
BOOK_S = [1, 3, 5, 6, 6, 7, 7, 7]
BOOK_EQUALIZED = {1: 790, 3: 1023, 5: 850, 6: 985, 7: 448}

WIKI = np.array([[52, 55, 61, 59, 79, 61, 76, 61],
                 [62, 59, 55, 104, 94, 85, 59, 71],
                 [63, 65, 66, 113, 144, 104, 63, 72],
                 [64, 70, 70, 126, 154, 109, 71, 69],
                 [67, 73, 68, 106, 122, 88, 68, 68],
                 [68, 79, 60, 70, 77, 66, 58, 75],
                 [69, 85, 64, 58, 55, 61, 65, 83],
                 [70, 87, 69, 68, 65, 73, 78, 90]], np.uint8)
WIKI_EQUALIZED = np.array([[0, 12, 53, 32, 190, 53, 174, 53],
                           [57, 32, 12, 227, 219, 202, 32, 154],
                           [65, 85, 93, 239, 251, 227, 65, 158],
                           [73, 146, 146, 247, 255, 235, 154, 130],
                           [97, 166, 117, 231, 243, 210, 117, 117],
                           [117, 190, 36, 146, 178, 93, 20, 170],
                           [130, 202, 73, 20, 12, 53, 85, 194],
                           [146, 206, 130, 117, 85, 166, 182, 215]])
# Wikipedia's table of the sub-image: value v and cdf(v) (pixels at or below v).
WIKI_CDF = {52: 1, 55: 4, 58: 6, 59: 9, 60: 10, 61: 14, 62: 15, 63: 17, 64: 19, 65: 22,
            66: 24, 67: 25, 68: 30, 69: 33, 70: 37, 71: 39, 72: 40, 73: 42, 75: 43, 76: 44,
            77: 45, 78: 46, 79: 48, 83: 49, 85: 51, 87: 52, 88: 53, 90: 54, 94: 55, 104: 57,
            106: 58, 109: 59, 113: 60, 122: 61, 126: 62, 144: 63, 154: 64}

# Every registered method with one table per image (not CLAHE or matching): the generic
# properties hold for each, and a new method is tested by being registered.
GLOBAL = tuple(m for m in METHODS if get_method(m).image is None)
# The two conventions whose maps these tests write out (reference_map); both give the book's
# s_k on its example exactly.
WRITTEN_OUT = ("numpy", "skimage")


def book_image():
    """The textbook's 64x64 3-bit image: level k repeated n_k times (in uint8)."""
    return np.repeat(np.arange(8, dtype=np.uint8), BOOK_N).reshape(64, 64)


# ------------------------------------------------------------------ the textbook's example


@pytest.mark.parametrize("method", WRITTEN_OUT)
def test_textbook_table(method):
    """Every level in its own bin: the seed recipe and scikit-image give the book's s_k here."""
    t = worked_table(book_image(), method, levels=8)
    assert t.info["kind"] == "levels" and t.levels == 8
    assert_array_equal(t["r"], np.arange(8))
    assert_array_equal(t["n"], BOOK_N)
    assert_allclose(t["p"], BOOK_P, atol=0.005)               # the book rounds p to 2 places
    assert_allclose(t["scaled"], BOOK_SCALED, atol=0.03)      # ... and sums the rounded p
    assert_array_equal(np.rint(t["scaled"]), BOOK_S)
    assert_array_equal(t["s"], BOOK_S)
    assert t["cdf"][-1] == 1.0
    counts = t.output_counts
    assert {s: int(c) for s, c in enumerate(counts) if c} == BOOK_EQUALIZED
    assert (t.levels_before, t.levels_after) == (8, 5)
    assert [(s, t["r"][rows].tolist()) for s, rows in t.merged] == [(6, [3, 4]), (7, [5, 6, 7])]
    s, k = t.inputs_per_output
    assert s.tolist() == [1, 3, 5, 6, 7] and k.tolist() == [1, 1, 1, 2, 3]
    assert t["group"].tolist() == [0, 1, 2, 3, 3, 4, 4, 4]


def test_textbook_method_reproduces_the_book():
    image = book_image()
    t = worked_table(image, "textbook", levels=8)
    assert_array_equal(t["s"], BOOK_S)
    assert_array_equal(t["s"], np.rint(t["scaled"]))          # its rule is the table's
    out = equalize(image, "textbook", levels=8)
    assert_array_equal(np.rint(7 * out), np.array(BOOK_S)[image])
    levels, counts = np.unique(np.rint(7 * out), return_counts=True)
    assert dict(zip(levels.astype(int).tolist(), counts.tolist())) == BOOK_EQUALIZED


# ------------------------------------------------------------------ Wikipedia's example


def wiki_formula(image):
    """Wikipedia's h(v) = round((cdf(v) - cdf_min) / (M N - cdf_min) (L - 1)), written out."""
    values, counts = np.unique(image, return_counts=True)
    cdf = np.cumsum(counts)
    h = np.round((cdf - cdf.min()) / (image.size - cdf.min()) * 255).astype(int)
    return dict(zip(values.tolist(), h.tolist()))


def test_wikipedia_reference_is_opencv():
    """The published matrix is h(v), and cv2.equalizeHist gives it pixel for pixel."""
    h = wiki_formula(WIKI)
    assert (h[52], h[78], h[154]) == (0, 182, 255)
    assert_array_equal(np.vectorize(h.get)(WIKI), WIKI_EQUALIZED)
    assert_array_equal(cv2.equalizeHist(WIKI), WIKI_EQUALIZED)


@pytest.mark.parametrize("method", GLOBAL)
def test_wikipedia_counts_and_cdf(method):
    """n and cdf do not depend on the method: Wikipedia's cdf column, level by level."""
    t = worked_table(WIKI, method, rows="present")
    assert t["r"].tolist() == list(WIKI_CDF)
    assert_array_equal(np.rint(t["cdf"] * 64), list(WIKI_CDF.values()))
    full = worked_table(WIKI, method)
    assert full["r"].tolist() == list(range(52, 155))         # every level of the range
    assert full["n"].sum() == 64 and full.levels_before == len(WIKI_CDF)


def test_wikipedia_opencv_method():
    t = worked_table(WIKI, "opencv", rows="present")
    assert dict(zip(t["r"].tolist(), t["s"].tolist())) == wiki_formula(WIKI)
    s = dict(zip(t["r"].tolist(), t["s"].tolist()))
    assert (s[52], s[78], s[154]) == (0, 182, 255)
    # The lesson: OpenCV's cdf_min shift, so s != round((L - 1) cdf) (52: round(3.98) = 4).
    assert np.rint(t["scaled"][0]) == 4 and t["s"][0] == 0
    lut = cv2.equalizeHist(WIKI)
    assert_array_equal(t["s"][np.searchsorted(t["r"], WIKI)], lut)
    # Levels without pixels take the output of the level below (the CDF does not grow there).
    full = worked_table(WIKI, "opencv")
    empty = np.flatnonzero(full["n"] == 0)
    assert_array_equal(full["s"][empty], full["s"][empty - 1])


# ------------------------------------------------------------------ s against equalize()


def _images():
    camera = data.camera()
    moon = data.moon()
    cam16 = (camera[::4, ::4].astype(np.uint16) * 257 + np.arange(128)[np.newaxis, :]) // 3
    dark = (camera[::3, ::3].astype(np.float64) / 255) ** 3
    two = np.where(np.arange(48 * 48).reshape(48, 48) % 3, 17, 200).astype(np.uint8)
    return {
        "camera uint8": camera[100:260, 150:310],
        "moon uint8": moon[::3, ::3],
        "camera uint16": cam16,
        "coins int16": (data.coins()[::3, ::3].astype(np.int16) - 128) * 40,
        "dark uint8": np.round(dark * 255).astype(np.uint8),
        "constant": np.full((9, 7), 77, np.uint8),
        "two-valued": two,
        "1x1": np.array([[5]], np.uint16),
        "int8": (data.camera()[::8, ::8].astype(np.int16) - 128).astype(np.int8),
    }


def reference_map(image, method, bins, mask=None):
    """The method's map at any value, from the references (seed recipe / scikit-image)."""
    sample = image if mask is None else image[mask]
    if method == "numpy":
        hist, edges = np.histogram(sample, bins, density=True)
        cdf = hist.cumsum()
        cdf = 255 * cdf / cdf[-1]
        return lambda v: np.interp(v, edges[:-1], cdf) / 255
    cdf, centres = exposure.cumulative_distribution(sample.ravel(), bins)
    return lambda v: np.interp(v, centres, cdf)


@pytest.mark.parametrize("method", WRITTEN_OUT)      # the two reference_map writes out
@pytest.mark.parametrize("name", list(_images()))
def test_s_is_the_method_at_every_level(method, name):
    image = _images()[name]
    for levels in (None, 8):
        t = worked_table(image, method, bins=256, levels=levels)
        L = default_levels(image.dtype) if levels is None else levels
        assert t.info["kind"] == "levels" and t.levels == L
        lo = int(image.min())
        assert_array_equal(t["r"], np.arange(lo, int(image.max()) + 1))
        assert_array_equal(t["n"], np.bincount(image.ravel().astype(np.int64) - lo))
        # At every pixel: s is the method's output level.
        out = equalize(image, method, bins=256)
        assert_array_equal(t["s"][image.astype(np.int64) - lo], np.rint((L - 1) * out))
        assert_array_equal(t["value"][image.astype(np.int64) - lo], out)
        # At every level, with or without pixels: the reference's map.
        expected = reference_map(image, method, 256)(t["r"].astype(np.float64))
        assert_allclose(t["value"], expected, rtol=0, atol=1e-12)
        assert_array_equal(t["s"], np.rint((L - 1) * t["value"]))
        assert np.all(np.diff(t["s"]) >= 0)                     # a monotone map
        assert 0 <= t["s"].min() and t["s"].max() <= L - 1
        assert t.output_counts.sum() == image.size


@pytest.mark.parametrize("method", GLOBAL)
def test_mask_counts_the_region_and_maps_with_it(method):
    image = data.camera()[::2, ::2]
    mask = np.zeros(image.shape, bool)
    mask[20:90, 100:200] = True
    t = worked_table(image, method, mask=mask)
    region = image[mask].astype(np.int64)
    assert t["r"][0] == region.min() and t["r"][-1] == region.max()
    assert_array_equal(t["n"], np.bincount(region - region.min()))
    assert t.info["total"] == mask.sum() and t.info["excluded"] == image.size - mask.sum()
    out = equalize(image, method, mask=mask)
    inside = image[mask].astype(np.int64) - region.min()
    assert_array_equal(t["s"][inside], np.rint(255 * out[mask]))


@pytest.mark.parametrize("method", GLOBAL)
@pytest.mark.parametrize("bins", [7, 64, 256])
def test_float_images_one_row_per_bin(method, bins):
    image = data.camera()[::4, ::4].astype(np.float32) / 255
    image[3, 3] = np.nan
    image[5, 5] = np.inf
    t = worked_table(image, method, bins=bins)
    finite = image[np.isfinite(image)]
    counts, edges = np.histogram(finite, bins)
    assert t.info["kind"] == "bins" and t.levels == bins and t.info["excluded"] == 2
    assert_array_equal(t["n"], counts)
    assert_array_equal(t["r"], edges[:-1]) and assert_array_equal(t["r_end"], edges[1:])
    if method == "numpy":
        # The seed recipe reads its CDF at the LEFT edges: value = its cdf / 255.
        hist, _ = np.histogram(finite, bins, density=True)
        cdf = hist.cumsum()
        assert t.info["anchor"] == "left edge"
        assert_array_equal(t["x"], edges[:-1].astype(np.float64))
        assert_allclose(t["value"], 255 * cdf / cdf[-1] / 255, rtol=0, atol=1e-12)
    elif method == "skimage":
        cdf, centres = exposure.cumulative_distribution(finite, bins)
        assert t.info["anchor"] == "centre"
        assert_allclose(t["x"], centres, rtol=0, atol=1e-6)
        assert_allclose(t["value"], cdf, rtol=0, atol=1e-6)    # float32 as scikit-image rounds
    # The value at each anchor is what equalize gives a pixel there.
    probe = t["x"].astype(np.float32)
    assert_allclose(histogram(image, method, bins).apply(probe), t["value"], atol=1e-12)
    assert_array_equal(t["s"], np.rint((bins - 1) * t["value"]))


@pytest.mark.parametrize("method", GLOBAL)
def test_wide_integer_range_gets_bins(method):
    rng = np.random.default_rng(3)
    image = rng.integers(-2_000_000, 3_000_000, (40, 40)).astype(np.int32)
    t = worked_table(image, method, bins=128)
    assert t.info["kind"] == "bins" and t.levels == 128
    counts, edges = np.histogram(image, 128)
    assert_array_equal(t["n"], counts)
    # One bin holds some 40,000 levels: the table reads the method at the bin's first level
    # (scikit-image counts every distinct value), or at the left edge (the seed recipe's bins).
    if method == "numpy":
        assert t.info["anchor"] == "left edge"
        assert_array_equal(t["x"], edges[:-1])
    elif method == "skimage":
        assert t.info["anchor"] == "first level"
        assert_array_equal(t["x"], np.clip(np.ceil(edges[:-1]), image.min(), image.max()))
    if method in WRITTEN_OUT:
        expected = reference_map(image, method, 128)(t["x"])
        assert_allclose(t["value"], expected, rtol=0, atol=1e-12)
    # Every method: a monotone map onto the levels, every pixel counted once.
    assert np.all(np.diff(t["value"]) >= 0) and np.all(np.diff(t["s"]) >= 0)
    assert 0 <= t["s"].min() and t["s"].max() <= 127 and t.output_counts.sum() == image.size


def test_rows_present_and_groups_partition_the_pixels():
    image = data.moon()[::4, ::4]
    t = worked_table(image, "skimage", levels=16, rows="present")
    assert np.all(t["n"] > 0) and t.n_rows == len(np.unique(image))
    rows = np.concatenate([r for _, r in t.groups])
    assert sorted(rows.tolist()) == list(range(t.n_rows))
    for s, r in t.groups:
        assert np.all(t["s"][r] == s)
    assert t.levels_after == len(np.unique(t["s"])) <= 16
    assert t.output_counts.sum() == image.size
    assert sum(len(r) - 1 for _, r in t.merged) == t.levels_before - t.levels_after


def test_input_is_not_modified_and_read_only_input_works():
    image = data.camera()[::8, ::8].copy()
    before = image.copy()
    image.flags.writeable = False
    worked_table(image, "numpy", levels=8)
    assert_array_equal(image, before)


@pytest.mark.parametrize("kwargs, words", [
    (dict(image=np.zeros((0, 3), np.uint8)), "empty"),
    (dict(levels=1), "levels must be between 2"),
    (dict(levels=2.5), "whole number"),
    (dict(levels=True), "whole number"),
    (dict(rows="all"), "rows must be one of"),
    (dict(mask=np.ones((3, 3), bool)), "does not fit"),
    (dict(mask=np.zeros((8, 8), bool)), "no finite pixel"),
    (dict(method="nope"), "unknown method"),
    (dict(bins=0), "bins must be"),
    (dict(image=np.full((4, 4), np.nan)), "no finite pixel"),
    (dict(image=np.zeros((4, 4), bool)), "boolean"),
])
def test_errors_are_one_line(kwargs, words):
    kwargs = {"image": WIKI, **kwargs}
    with pytest.raises(ValueError) as info:
        worked_table(**kwargs)
    message = str(info.value)
    assert words in message and "\n" not in message


# ------------------------------------------------------------------ CSV


def test_csv_round_trip_atomic(tmp_path):
    t = worked_table(WIKI, "numpy")
    path = tmp_path / "table.csv"
    assert worked_table_to_csv(t, path) == path
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(t)
    assert len(rows) == t.n_rows + 1
    for j, name in enumerate(t):
        back = np.array([float(row[j]) for row in rows[1:]])
        assert_array_equal(back, t[name].astype(np.float64))
    # No replacing without overwrite: the file is untouched, nothing is left behind.
    before = path.read_bytes()
    with pytest.raises(StackError, match="exists"):
        worked_table_to_csv(worked_table(book_image(), "numpy"), path, overwrite=False)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]
    buffer = io.StringIO()
    worked_table_to_csv(t, buffer)
    assert buffer.getvalue().encode() == before


def test_csv_into_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(StackError) as info:
        worked_table_to_csv(worked_table(WIKI), tmp_path / "missing" / "t.csv")
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------ compare, CDF, again


@pytest.mark.parametrize("image", [data.camera()[::3, ::3], data.moon()[::4, ::4],
                                   (data.coins()[::3, ::3] / 255.0).astype(np.float32)])
def test_compare_images_is_the_api_difference(image):
    a = equalize(image, "numpy", bins=256)
    b = equalize(image, "skimage", bins=64)
    d = compare_images(a, b)
    assert d.max_abs == np.nanmax(np.abs(a - b))
    assert abs(a - b)[d.position] == d.max_abs
    assert d.mean_abs == np.nanmean(np.abs(a - b))
    assert_array_equal(d.image, a - b)


def test_compare_images_colour_and_nan():
    rgb = data.astronaut()[::8, ::8]
    a = equalize(rgb, "numpy", channel_axis=-1)
    b = equalize(rgb, "skimage", channel_axis=-1)
    d = compare_images(a, b, channel_axis=-1)
    assert d.max_abs == np.nanmax(np.abs(a - b))
    assert abs(a - b)[(*d.position, d.channel)] == d.max_abs
    assert d.image.shape == rgb.shape[:2]
    assert_array_equal(np.abs(d.image), np.abs(a - b).max(axis=-1))
    x = np.array([[np.nan, 0.2], [0.5, np.nan]])
    y = np.array([[np.nan, 0.1], [0.9, 0.3]])
    d = compare_images(x, y)
    assert d.max_abs == pytest.approx(0.4) and d.position == (1, 0)
    nothing = compare_images(np.full((2, 2), np.nan), np.zeros((2, 2)))
    assert np.isnan(nothing.max_abs) and nothing.position is None
    with pytest.raises(ValueError, match="shapes"):
        compare_images(np.zeros((2, 2)), np.zeros((2, 3)))


def test_output_cdf():
    out = equalize(data.camera()[::4, ::4], "skimage")
    out[0, 0] = np.nan
    v, f = output_cdf(out)
    finite = out[np.isfinite(out)]
    assert_array_equal(v, np.unique(finite))
    assert_array_equal(f, [np.count_nonzero(finite <= x) / finite.size for x in v])
    assert f[-1] == 1.0
    assert output_cdf(np.full(3, np.nan))[0].size == 0


def test_diagonal_distance_is_the_ks_statistic():
    from scipy import stats
    rng = np.random.default_rng(5)
    for sample in (rng.random(200), rng.random(50) ** 2, np.repeat([0.1, 0.6, 0.9], 5)):
        v, f = output_cdf(sample)
        assert diagonal_distance(v, f) == pytest.approx(stats.kstest(sample, "uniform").statistic,
                                                        abs=1e-12)
    assert np.isnan(diagonal_distance([], []))


def test_equalize_again():
    image = data.camera()[::2, ::2]
    a = equalize_again(image, "skimage")
    # Written out: equalize, save as uint8 as the export does, equalize that.
    once = equalize(image, "skimage")
    saved = np.rint(once * 255).astype(np.uint8)
    assert_array_equal(a.once, once)
    assert_array_equal(a.first, saved / 255.0)
    assert_array_equal(a.twice, equalize(saved, "skimage"))
    assert a.difference.max_abs == np.abs(a.twice - saved / 255.0).max()
    # scikit-image's map is idempotent on the levels: no level moves by half a level or more.
    assert a.difference.max_abs < a.step / 2 and a.changed == 0
    assert a.levels_first == a.levels_twice == len(np.unique(saved))
    # The seed recipe's left edges shift levels again on every pass.
    b = equalize_again(image, "numpy")
    assert b.difference.max_abs > b.step and b.changed > 0
    f = equalize_again(image / 255.0, "numpy", bins=64)
    assert_array_equal(f.twice, equalize(equalize(image / 255.0, "numpy", 64), "numpy", 64))
    assert f.step == 1 / 63


def test_equalize_again_from_a_given_first_pass_and_a_mask():
    """The second pass starts from what was shown: a region's map, or the whole stack's."""
    stack = np.stack([data.camera()[::4, ::4], data.moon()[::4, ::4]])
    mask = np.zeros(stack.shape[1:], bool)
    mask[10:60, 20:90] = True
    m = equalize_again(stack[0], "skimage", mask=mask)
    assert_array_equal(m.once, equalize(stack[0], "skimage", mask=mask))
    assert not np.array_equal(m.once, equalize(stack[0], "skimage"))
    shown = equalize(stack, "skimage", scope="stack")[0]
    s = equalize_again(stack[0], "skimage", first=shown)
    saved = convert(shown, "same", np.uint8)
    assert_array_equal(s.once, shown)
    assert_array_equal(s.twice, equalize(saved, "skimage"))
    with pytest.raises(ValueError, match="the first pass has shape"):
        equalize_again(stack[0], "skimage", first=shown[:5])


# ------------------------------------------------------------------ colour


def test_ycbcr_round_trip_and_opencv():
    rgb = data.astronaut()[::4, ::4]
    unit = colour.as_unit_rgb(rgb)
    assert_allclose(colour.ycbcr_to_rgb(colour.rgb_to_ycbcr(unit)), unit, atol=1e-12)
    ycc = colour.rgb_to_ycbcr(unit)
    ref = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float64)   # Y, Cr, Cb (+128)
    assert np.abs(ycc[..., 0] * 255 - ref[..., 0]).max() <= 1
    assert np.abs(ycc[..., 2] * 255 + 128 - ref[..., 1]).max() <= 1
    assert np.abs(ycc[..., 1] * 255 + 128 - ref[..., 2]).max() <= 1


@pytest.mark.parametrize("method", GLOBAL)
def test_luminance_equalization_keeps_the_chroma(method):
    rgb = data.astronaut()[::2, ::2]
    out = colour.equalize_luminance(rgb, method, space="ycbcr")
    before = colour.rgb_to_ycbcr(colour.as_unit_rgb(rgb))
    after = colour.rgb_to_ycbcr(out)
    inside = np.all((out > 0) & (out < 1), axis=-1)            # not clipped
    assert inside.mean() > 0.5
    assert_allclose(after[inside][:, 1:], before[inside][:, 1:], atol=1e-12)
    # The luminance is the method's result on the image's own Y levels.
    y8 = np.clip(np.rint(before[..., 0] * 255), 0, 255).astype(np.uint8)
    assert_allclose(after[inside][:, 0], equalize(y8, method)[inside], atol=1e-12)
    # The lesson in numbers: per channel the hue turns; on the luminance it stays.
    per_channel = equalize(rgb, method, channel_axis=-1)
    unit = colour.as_unit_rgb(rgb)
    assert colour.hue_shift(unit, per_channel) > 10
    assert colour.hue_shift(unit, out) < 1


def test_hsv_value_equalization_keeps_hue_and_saturation_exactly():
    from skimage.color import rgb2hsv
    rgb = data.coffee()[::4, ::4]
    out = colour.equalize_luminance(rgb, "numpy", space="hsv")
    hsv0 = rgb2hsv(rgb)
    hsv1 = rgb2hsv(out)
    lit = (hsv0[..., 2] > 0) & (hsv0[..., 1] > 0)
    assert_allclose(hsv1[..., 0][lit], hsv0[..., 0][lit], atol=1e-9)
    assert_allclose(hsv1[..., 1][lit], hsv0[..., 1][lit], atol=1e-9)
    assert_allclose(hsv1[..., 2], equalize(rgb.max(axis=-1), "numpy"), atol=1e-12)


def test_colour_alpha_kept_and_errors():
    rgba = np.dstack([data.astronaut()[::8, ::8], np.full((64, 64), 128, np.uint8)])
    out = colour.equalize_luminance(rgba, "skimage")
    assert out.shape == (64, 64, 4)
    assert_allclose(out[..., 3], 128 / 255)
    channels_first = np.moveaxis(data.astronaut()[::8, ::8], -1, 0)
    assert_allclose(colour.equalize_luminance(channels_first, "numpy", channel_axis=0),
                    colour.equalize_luminance(data.astronaut()[::8, ::8], "numpy"))
    with pytest.raises(ValueError, match="3 \\(RGB\\) or 4"):
        colour.equalize_luminance(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="unknown colour space"):
        colour.equalize_luminance(rgba, space="lab")


# ------------------------------------------------------------------ the modules themselves


@pytest.mark.parametrize("module", [worked, colour])
def test_examples_in_docstrings(module):
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0


def test_worked_table_is_public():
    import histeq_gui
    assert histeq_gui.worked_table is worked_table and "worked_table" in histeq_gui.__all__


def test_teaching_core_imports_no_qt():
    code = ("import sys, histeq_gui.core.worked, histeq_gui.core.colour\n"
            "qt = [m for m in sys.modules if m.split('.')[0] in ('PyQt5', 'pyqtgraph')]\n"
            "sys.exit(1 if qt else 0)\n")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
