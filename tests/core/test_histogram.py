"""histogram(): the arrays the viewer plots, made by the code equalize() uses."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from references import params, sample_stack, seed_recipe
from skimage import exposure

from histeq_gui import equalize, histogram
from histeq_gui.core.methods import METHODS, get_method


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("bins", [2, 40, 256, 1000])
def test_numpy_histogram_is_the_seed_recipes(dtype, bins):
    image = sample_stack()[7, 0].astype(dtype)
    h = histogram(image, "numpy", bins)
    counts, edges = np.histogram(image, bins)
    assert_array_equal(h.counts, counts)
    assert_array_equal(h.edges, edges.astype(np.float64))
    assert_array_equal(h.cdf_x, edges[:-1].astype(np.float64))   # left edges
    assert_array_equal(h.cdf, seed_recipe(image, bins)[1] / 255)
    assert not h.value_bins and h.bins == bins


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_skimage_histogram_is_cumulative_distribution(dtype):
    image = sample_stack()[3, 0].astype(dtype) / 255
    h = histogram(image, "skimage", 64)
    cdf, centres = exposure.cumulative_distribution(image, 64)
    assert_array_equal(h.cdf_x, centres.astype(np.float64))        # bin centres
    assert_array_equal(h.cdf, cdf.astype(np.float64))
    assert_array_equal(h.counts, np.histogram(image, 64)[0])
    assert not h.value_bins


def test_skimage_bins_integers_one_value_each_and_says_so():
    image = sample_stack()[12, 0]
    h = histogram(image, "skimage", 8)
    lo, hi = int(image.min()), int(image.max())
    assert h.value_bins and get_method("skimage").ignores_bins(image.dtype)
    assert not get_method("numpy").ignores_bins(image.dtype)
    assert not get_method("skimage").ignores_bins(np.float32)
    assert_array_equal(h.cdf_x, np.arange(lo, hi + 1))
    assert_array_equal(h.counts, np.bincount(image.ravel())[lo:hi + 1])
    cdf, _ = exposure.cumulative_distribution(image, 8)
    assert_array_equal(h.cdf, cdf)
    assert_array_equal(h.edges, np.arange(lo, hi + 2) - 0.5)


@pytest.mark.parametrize("method", METHODS)
def test_apply_is_equalize(method):
    stack = sample_stack()[:30]
    image = stack[4, 0]
    p = params(method)
    assert_array_equal(histogram(image, method, 99, **p).apply(image),
                       equalize(image, method, 99, **p))
    if "stack" not in get_method(method).scopes:
        return
    whole = histogram(stack, method, 99)
    expected = equalize(stack, method, 99, scope="stack")
    assert_array_equal(whole.apply(stack), expected)
    assert_array_equal(whole.apply(stack[4]), expected[4])


def test_apply_beyond_the_histograms_range_gives_its_end_values():
    image = np.linspace(100, 200, 400).reshape(20, 20)
    h = histogram(image, "numpy", 10)
    out = h.apply(np.array([[0.0, 150.0, 1000.0, np.nan]]))
    assert out[0, 0] == h.cdf[0] and out[0, 2] == h.cdf[-1] and np.isnan(out[0, 3])
    ints = histogram(np.arange(100, 200, dtype=np.uint8).reshape(10, 10), "skimage")
    assert_array_equal(ints.apply(np.array([[0, 255]], np.uint8)), [[ints.cdf[0], 1.0]])


def test_transfer_curve_runs_flat_to_the_outer_edges():
    h = histogram(sample_stack()[0, 0], "numpy", 16)
    x, y = h.transfer_curve()
    assert x[0] == h.edges[0] and x[-1] == h.edges[-1]
    assert y[0] == h.cdf[0] and y[-1] == h.cdf[-1] and (np.diff(y) >= 0).all()


def test_a_mask_and_nan_in_the_histogram():
    image = sample_stack()[9, 0].astype(np.float64)
    image[0, :10] = np.nan
    mask = np.zeros(image.shape, bool)
    mask[20:60, 20:60] = True
    h = histogram(image, "numpy", 32, mask=mask)
    chosen = image[mask & np.isfinite(image)]
    assert_array_equal(h.counts, np.histogram(chosen, 32)[0])
    assert_allclose(h.counts.sum(), chosen.size)


def test_coarsened_merges_bins_for_drawing_and_keeps_the_map():
    image = np.random.default_rng(2).integers(0, 60000, (60, 60)).astype(np.uint16)
    h = histogram(image, "skimage")
    assert len(h.counts) > 3000                       # one bin per value present
    small = h.coarsened(100)
    assert len(small.counts) <= 100 and small.counts.sum() == h.counts.sum()
    assert len(small.edges) == len(small.counts) + 1
    assert small.edges[0] == h.edges[0] and small.edges[-1] == h.edges[-1]
    assert small.cdf[-1] == h.cdf[-1] and (np.diff(small.cdf) >= 0).all()
    assert_array_equal(small.apply(image), h.apply(image))
    assert h.coarsened(len(h.counts)) is h


def test_transfer_curve_reaches_a_wider_display_range():
    h = histogram(np.arange(40, 90, dtype=np.uint8).reshape(5, 10), "numpy", 8)
    x, y = h.transfer_curve((0, 255))
    assert (x[0], x[-1]) == (0, 255) and (y[0], y[-1]) == (h.cdf[0], h.cdf[-1])
