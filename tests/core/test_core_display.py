"""core.display: display levels against NumPy, histograms at screen resolution."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from references import sample_stack
from skimage import data

from histeq_gui import histogram
from histeq_gui.core import display
from histeq_gui.core.display import (
    default_levels_mode,
    drawn_histogram,
    dtype_range,
    equalized_levels,
    finite_range,
    saturated_levels,
    widen,
)


def outlier_stack():
    """Faces in [0, 1] as float32, one hot pixel of 1e6 and one NaN (the issue's case)."""
    stack = (sample_stack()[:30, 0] / 255).astype(np.float32)
    stack[17, 40, 40] = 1e6
    stack[3, 10, 10] = np.nan
    return stack


@pytest.mark.parametrize("saturated", [0.0, 0.35, 1.0, 5.0, 50.0])
def test_saturated_levels_are_numpys_percentiles(saturated):
    stack = outlier_stack()
    finite = stack[np.isfinite(stack)]
    expected = np.percentile(finite, [saturated / 2, 100 - saturated / 2])
    assert saturated_levels(stack, saturated) == (expected[0], expected[1])


def test_one_outlier_does_not_decide_the_percentile_levels():
    stack = outlier_stack()
    low, high = saturated_levels(stack)
    assert 0.0 <= low < 0.1 and 0.9 < high <= 1.0          # the faces' range, not 1e6
    assert finite_range(stack) == (float(np.nanmin(stack)), 1e6)


def test_saturated_levels_of_16_bit_camera_data():
    camera = (200 + data.camera().astype(np.uint32) * 15).astype(np.uint16)   # 12-bit-like
    low, high = saturated_levels(camera, 0.35)
    expected = np.percentile(camera, [0.175, 99.825])
    assert (low, high) == (expected[0], expected[1]) and 200 <= low < high <= 4025


def test_saturated_levels_edge_cases():
    assert saturated_levels(np.full((4, 4), np.nan)) is None
    assert saturated_levels(np.full((3, 3), 7, np.uint8)) == (7.0, 7.0)
    assert saturated_levels(np.array([[np.inf, 2.0], [-np.inf, 4.0]]), 0) == (2.0, 4.0)
    for bad in (-1, 100, 250, "lots", None):
        with pytest.raises(ValueError, match="saturated"):
            saturated_levels(np.arange(4.0), bad)


def test_dtype_range_and_the_default_mode():
    assert dtype_range(np.uint8) == (0.0, 255.0)
    assert dtype_range(np.uint16) == (0.0, 65535.0)
    assert dtype_range(np.int8) == (-128.0, 127.0)
    assert dtype_range(np.float64) == (0.0, 1.0)
    assert [default_levels_mode(t) for t in (np.uint8, np.int8, np.uint16, np.float32)] == \
        ["dtype", "dtype", "percentile", "percentile"]
    with pytest.raises(ValueError, match="dtype"):
        dtype_range(np.complex64)


def test_finite_range_in_chunks_is_nanmin_nanmax(monkeypatch):
    monkeypatch.setattr(display, "_CHUNK", 1000)           # many chunks, a partial last one
    stack = outlier_stack()
    stack[29, -1, -1] = -3.0                                 # in the last chunk
    reports = []
    assert finite_range(stack, lambda done, total: reports.append((done, total))) == \
        (-3.0, 1e6)
    total = -(-stack.size // 1000)
    assert reports[-1] == (total, total) and len(reports) == total
    assert finite_range(np.array([[np.nan, np.inf]])) is None
    assert widen(None) == (0.0, 1.0) and widen((5.0, 5.0)) == (4.5, 5.5)


def _reference_columns(edges, counts, x_range, columns):
    """Per screen column, the largest count of the bins overlapping it (a plain loop)."""
    lo, hi = x_range
    step = (hi - lo) / columns
    heights = np.zeros(columns)
    for c in range(columns):
        a, b = lo + c * step, lo + (c + 1) * step
        for k in range(len(counts)):
            if counts[k] and edges[k] < b and edges[k + 1] > a:
                heights[c] = max(heights[c], counts[k])
            elif counts[k] and edges[k] == edges[k + 1] and a <= edges[k] < b:
                heights[c] = max(heights[c], counts[k])
    return heights


@pytest.mark.parametrize("bins", [64, 256, 1024, 4096])
def test_every_non_empty_bin_of_a_dark_image_is_drawn(bins):
    dark = (sample_stack()[5, 0] // 5).astype(np.uint8)           # values 0..51 of 0..255
    h = histogram(dark, "numpy", bins)
    columns = 300
    x, heights = drawn_histogram(h.edges, h.counts, (0.0, 255.0), columns)
    assert len(x) == columns + 1 and (x[0], x[-1]) == (0.0, 255.0)
    assert_array_equal(heights, _reference_columns(h.edges, h.counts, (0.0, 255.0), columns))
    # each non-empty bin lights a column at least as high as its count
    for k in np.flatnonzero(h.counts):
        column = min(int((h.edges[k] - 0.0) / (255.0 / columns)), columns - 1)
        assert heights[column] >= h.counts[k]


def test_value_bins_of_16_bit_data_on_a_full_range_axis():
    camera = (200 + data.camera().astype(np.uint32) * 15).astype(np.uint16)
    h = histogram(camera, "skimage")                              # one bin per value
    assert h.value_bins and len(h.counts) > 3000
    x, heights = drawn_histogram(h.edges, h.counts, (0.0, 65535.0), 400)
    assert_array_equal(heights, _reference_columns(h.edges, h.counts, (0.0, 65535.0), 400))
    assert (heights > 0).sum() >= 20 and heights.max() == h.counts.max()


def test_wide_bins_are_drawn_as_they_are_and_min_height_lifts_small_counts():
    edges, counts = np.array([0.0, 10, 20, 30]), np.array([1000, 1, 0])
    x, heights = drawn_histogram(edges, counts, (0, 30), 300)
    assert_array_equal(x, edges)
    assert_array_equal(heights, counts)
    x, heights = drawn_histogram(edges, counts, (0, 30), 300, min_height=20)
    assert_array_equal(heights, [1000, 20, 0])          # empty stays empty


def test_bins_outside_the_axis_are_left_out_and_zoom_is_exact():
    rng = np.random.default_rng(3)
    edges = np.sort(rng.uniform(0, 100, 2001))
    counts = rng.integers(0, 50, 2000)
    for x_range in [(0, 100), (20, 30), (99.5, 150), (-50, 0.5)]:
        x, heights = drawn_histogram(edges, counts, x_range, 97)
        assert_array_equal(heights, _reference_columns(edges, counts, x_range, 97))


def test_drawn_histogram_refuses_mismatched_arrays():
    with pytest.raises(ValueError, match="3 bins needs 4 edges"):
        drawn_histogram([0, 1, 2], [1, 2, 3], (0, 2), 10)


def _moon12():
    moon = data.moon().astype(np.float64) / 255
    return np.round(moon * 4095).astype(np.uint16)


def test_auto_levels_of_match_on_12_bit_data_are_its_percentiles():
    """match keeps the reference's units: 12-bit data in uint16 comes back in [0, 0.0625]."""
    from histeq_gui import equalize
    moon = _moon12()
    stack = np.stack([moon[:256, :256], moon[100:356, 200:456]])
    matched = equalize(stack, "match")[1]
    assert np.nanmax(matched) <= 4095 / 65535
    expected = tuple(np.percentile(matched, [0.175, 99.825]))
    assert equalized_levels(matched) == pytest.approx(expected, rel=0, abs=0)
    assert equalized_levels(matched, "percentile", 0.35) == equalized_levels(matched)
    assert equalized_levels(matched, "output") == (0.0, 1.0)
    assert equalized_levels(matched, "percentile", 2.0) == tuple(np.percentile(matched, [1, 99]))


@pytest.mark.parametrize("method", ["numpy", "skimage", "opencv", "imagej", "clahe"])
def test_auto_levels_of_a_result_that_fills_the_range_are_the_output_range(method):
    from histeq_gui import equalize
    for image in (data.camera(), _moon12()):
        assert equalized_levels(equalize(image, method)) == (0.0, 1.0)


def test_equalized_levels_leave_nan_out_and_widen_a_flat_image():
    x = np.full((8, 8), 0.01)
    x[0, 0] = np.nan
    assert equalized_levels(x) == (-0.49, 0.51)             # flat: widened, as widen() does
    assert equalized_levels(np.full((4, 4), np.nan)) == (0.0, 1.0)
    assert equalized_levels(np.full((4, 4), np.nan), "percentile") == (0.0, 1.0)
    with pytest.raises(ValueError, match="choose one of: auto, output, percentile"):
        equalized_levels(x, "dtype")


def test_the_levels_of_a_big_image_come_from_an_even_sample():
    rng = np.random.default_rng(3)
    big = rng.random((2048, 2048)) * 0.05                   # 4 Mi values, max below 1/4
    sample = big.reshape(-1)[::4]
    assert equalized_levels(big) == tuple(np.percentile(sample, [0.175, 99.825]))
