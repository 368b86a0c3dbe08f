"""core.trace: one value through the mapping, checked against np.histogram and equalize()."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from references import numpy_reference, sample_stack, skimage_reference

from histeq_gui import equalize, histogram
from histeq_gui.core.trace import trace_value

PIXELS = [(0, 0), (10, 47), (95, 95), (48, 3), (60, 70)]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("bins", [8, 256])
def test_numpy_trace_is_np_histogram_and_the_seed_recipe(dtype, bins):
    image = sample_stack()[5, 0].astype(dtype)
    counts, edges = np.histogram(image, bins)
    h = histogram(image, "numpy", bins)
    out = equalize(image, "numpy", bins)
    reference = numpy_reference(image, bins)
    for y, x in PIXELS:
        t = trace_value(h, image[y, x])
        k = t.bin
        assert edges[k] <= image[y, x] <= edges[k + 1]
        assert (t.low, t.high) == (edges[k], edges[k + 1])
        assert t.count == counts[k] and t.cumulative == counts[:k + 1].sum()
        assert t.total == image.size and t.fraction == counts[:k + 1].sum() / image.size
        assert t.output == out[y, x]
        assert t.output == pytest.approx(reference[y, x], abs=1e-12)


def test_every_pixel_lands_in_the_bin_np_histogram_counts_it_in():
    image = sample_stack()[7, 0].astype(np.float32) / 255
    h = histogram(image, "numpy", 100)
    bins = [trace_value(h, v).bin for v in image.ravel()]
    assert_array_equal(np.bincount(bins, minlength=100), np.histogram(image, 100)[0])


def test_skimage_trace_on_integers_uses_value_bins():
    image = sample_stack()[12, 0]
    h = histogram(image, "skimage", 256)
    out = equalize(image, "skimage", 256)
    reference = skimage_reference(image, 256)
    values = np.bincount(image.ravel())
    for y, x in PIXELS:
        v = int(image[y, x])
        t = trace_value(h, v)
        assert t.value_bins and (t.low, t.high) == (v - 0.5, v + 0.5)
        assert t.count == values[v] and t.cumulative == values[:v + 1].sum()
        assert t.output == out[y, x] == pytest.approx(reference[y, x], abs=1e-12)
        assert t.fraction == pytest.approx(t.output, abs=1e-12)   # centres: the CDF itself


def test_trace_with_a_mask_and_the_whole_stack():
    stack = sample_stack()[:10, 0]
    mask = np.zeros(stack.shape[1:], bool)
    mask[20:60, 30:70] = True
    image = stack[3]
    h = histogram(image, "numpy", 64, mask=mask)
    out = equalize(image, "numpy", 64, mask=mask)
    counts, edges = np.histogram(image[mask], 64)
    for y, x in [(25, 35), (0, 0), (95, 95)]:          # inside and outside the region
        t = trace_value(h, image[y, x])
        assert t.output == out[y, x] and t.total == mask.sum()
        if edges[0] <= image[y, x] <= edges[-1]:
            assert t.count == counts[t.bin]
        else:
            assert t.count == 0 and t.bin in (-1, 64)
            assert t.cumulative == (0 if t.bin == -1 else mask.sum())
    whole = histogram(stack, "numpy", 64)
    expected = equalize(stack, "numpy", 64, scope="stack")
    t = trace_value(whole, stack[4, 50, 50])
    assert t.output == expected[4, 50, 50] and t.total == stack.size


def test_values_off_the_pixels_grid_and_not_finite():
    image = sample_stack()[2, 0]
    h = histogram(image, "numpy", 32)
    t = trace_value(h, 100.4)                # an integer image: rounded to 100 first
    assert t.value == 100 and t.output == trace_value(h, 100).output
    t = trace_value(h, 1e9)                  # clipped to 255
    assert t.value == 255
    floats = image.astype(np.float64)
    hf = histogram(floats, "numpy", 32)
    t = trace_value(hf, np.nan)
    assert t.bin is None and np.isnan(t.output) and not t.inside
    t = trace_value(hf, float(floats.max()))             # the right edge: the last bin
    assert t.bin == 31 and t.cumulative == image.size and t.fraction == 1.0
    assert t.output == equalize(floats, "numpy", 32).max()      # the seed's 1 + 2e-16
