"""Issue 9: trace one value through the mapping, and a region of interest drives the histogram."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import QPointF

from histeq_gui import equalize, histogram
from histeq_gui.core.export import convert
from histeq_gui.core.methods import METHODS, get_method
from histeq_gui.gui.compute import roi_mask
from histeq_gui.gui.panels.transfer import TRACE_HINT

PIXELS = [(10, 20), (48, 48), (0, 0), (95, 3), (70, 81)]


def current_image(window):
    return window.state.stack.array[window.state.index, 0]


@pytest.mark.parametrize("method, bins", [("numpy", 256), ("numpy", 8), ("skimage", 256)])
def test_hovering_a_pixel_traces_its_value_with_the_cores_numbers(sample_window, method, bins):
    w = sample_window
    w.state.set_method(method)
    w.state.set_bins(bins)
    w.state.set_index(5)
    image = current_image(w)
    h = histogram(image, method, bins)
    out = equalize(image, method, bins)
    counts = h.counts
    for x, y in PIXELS:
        w.panel("images").views.hovered.emit(x, y)
        value = image[y, x]
        k = int(np.searchsorted(h.edges, value, side="right")) - 1
        k = min(k, len(counts) - 1)
        [t] = w.panel("transfer").current_traces()
        assert (t.bin, t.count, t.cumulative) == (k, counts[k], counts[:k + 1].sum())
        assert t.fraction == counts[:k + 1].sum() / image.size and t.output == out[y, x]
        text = w.panel("transfer").trace_label.text()
        exported = int(convert(np.array([out[y, x]]), "uint8", np.uint8)[0])
        assert f"Value {value}</b> at pixel x {x}, y {y}" in text
        assert f"<b>{counts[k]:,}</b> pixel" in text
        assert f"<b>{counts[:k + 1].sum():,}</b> of {image.size:,} pixels" in text
        assert f"<b>{t.fraction:.4f}</b> (the CDF)" in text
        assert f"<b>{out[y, x]:.4f}</b> in 0..1 = <b>{exported}</b> in the uint8 export" in text
        # the same point on the histogram, its CDF, the equalized histogram, the transfer curve
        line, dots = w.panel("histograms").original.marked()
        assert line == value and dots == [(float(value), pytest.approx(out[y, x]))]
        eq_line, _ = w.panel("histograms").equalized.marked()
        assert eq_line == pytest.approx(255 * out[y, x])
        xs, ys = w.panel("transfer").plot.marked()
        assert list(xs) == [value] and list(ys) == [pytest.approx(255 * out[y, x])]
    w.panel("images").views.hovered.emit(-1, -1)
    assert w.panel("transfer").trace_label.text() == TRACE_HINT
    assert w.panel("histograms").original.marked() is None


def test_hovering_a_histogram_bin_traces_that_value(sample_window):
    w = sample_window
    w.state.set_bins(32)
    image = current_image(w)
    h = histogram(image, "numpy", 32)
    plot = w.panel("histograms").original
    vb = plot.getPlotItem().vb
    k = 12
    value = (h.edges[k] + h.edges[k + 1]) / 2
    plot.scene().sigMouseMoved.emit(vb.mapViewToScene(QPointF(value, 1.0)))
    assert w.state.probe == pytest.approx(value)
    [t] = w.panel("transfer").current_traces()
    rounded = np.uint8(round(value))
    assert t.value == rounded and t.bin == k and t.count == h.counts[k]
    assert t.output == h.apply(np.array([[rounded]], np.uint8))[0, 0]
    assert "Value" in w.panel("transfer").trace_label.text()


def test_a_colour_pixel_is_traced_per_channel(window):
    from histeq_gui.gui.stack_file import LoadedStack
    rgb = np.random.default_rng(4).integers(0, 256, (2, 16, 20, 3), dtype=np.uint8)
    window.opener.set_stack(LoadedStack.from_array(rgb))
    window.panel("images").views.hovered.emit(5, 7)
    traces = window.panel("transfer").current_traces()
    expected = equalize(rgb[0], "numpy", 256, channel_axis=-1)[7, 5]
    assert [t.output for t in traces] == list(expected)
    text = window.panel("transfer").trace_label.text()
    assert text.startswith("<b>Pixel x 5, y 7</b>") and "red <b>" in text and "blue <b>" in text
    _, dots = window.panel("histograms").original.marked()
    assert [d[0] for d in dots] == [float(v) for v in rgb[0, 7, 5]]


# ---------------------------------------------------------------------- region of interest
@pytest.mark.parametrize("method", [m for m in METHODS if get_method(m).masks])
def test_a_region_drives_the_histogram_and_maps_the_whole_image(sample_window, method):
    w = sample_window
    w.state.set_method(method)
    w.state.set_index(7)
    image = current_image(w)
    whole = w.controller.result.equalized.copy()
    roi = (20, 10, 40, 30)
    w.state.set_roi(roi)
    mask = roi_mask(roi, image.shape)
    assert mask.sum() == 40 * 30
    # Stack-aware parameters (match's reference "stack") take the whole stack's region.
    from histeq_gui.core.equalize import channel_params, stack_params
    p = stack_params(w.state.stack.array, method, mask=mask)
    expected = equalize(image, method, 256, mask=mask, **p)
    np.testing.assert_array_equal(w.controller.result.equalized, expected)
    if get_method(method).stack_aware:          # the very image the API gives for the stack
        whole_stack = equalize(w.state.stack.array, method, 256, mask=mask)
        np.testing.assert_array_equal(expected, whole_stack[7].reshape(image.shape))
    assert not np.array_equal(expected, whole)
    region = histogram(image, method, 256, mask=mask, **channel_params(method, p, 0))
    np.testing.assert_array_equal(w.panel("histograms").original.bars()[1], region.counts)
    eq_region = w.controller.result.equalized_histograms[0]
    assert eq_region.counts.sum() == mask.sum()
    assert "Region 40×30" in w.panel("histograms").original.title()
    assert "of the region" in w.panel("images").views.equalized_title.text
    w.state.set_roi(None)                                   # cleared: the whole image again
    np.testing.assert_array_equal(w.controller.result.equalized, whole)
    assert w.panel("histograms").original.bars()[1].sum() == image.size


def test_the_region_action_and_dragging_the_rectangle(qtbot, sample_window):
    w = sample_window
    panel = w.panel("images")
    assert panel.roi_action in w.actions() and panel.roi_action.shortcut().toString() == "Ctrl+R"
    panel.roi_action.trigger()
    assert w.state.roi == (24, 24, 48, 48) and panel.views.roi is not None
    panel.views.roi.setPos((30, 12))                        # the user drags it
    panel.views.roi.setSize((20, 25))
    panel.views.roi.sigRegionChangeFinished.emit(panel.views.roi)
    assert w.state.roi == (30, 12, 20, 25)
    image = current_image(w)
    np.testing.assert_array_equal(
        w.controller.result.equalized,
        equalize(image, "numpy", 256, mask=roi_mask((30, 12, 20, 25), image.shape)))
    panel.roi_action.trigger()                              # off: cleared
    assert w.state.roi is None and panel.views.roi is None
    np.testing.assert_array_equal(w.controller.result.equalized, equalize(image, "numpy", 256))


def test_a_region_is_clipped_to_the_image_and_used_by_the_whole_stack_scope(sample_window):
    w = sample_window
    w.state.set_roi((80, 90, 50, 50))                      # partly outside 96x96
    assert w.state.roi == (80, 90, 16, 6)
    w.state.set_scope("stack")
    stack = w.state.stack.array
    mask = roi_mask(w.state.roi, stack.shape[-2:])
    expected = equalize(stack, "numpy", 256, scope="stack", mask=mask)
    np.testing.assert_array_equal(w.controller.result.equalized, expected[w.state.index, 0])
    w.state.set_index(3)
    np.testing.assert_array_equal(w.controller.result.equalized, expected[3, 0])
    assert w.state.set_roi((200, 200, 5, 5)) is None and w.state.roi is None


def test_leaving_the_image_for_the_histogram_traces_the_bin_not_the_old_pixel(sample_window):
    from PyQt5.QtCore import QEvent
    w = sample_window
    views = w.panel("images").views
    views.hovered.emit(10, 20)
    assert w.state.cursor == (10, 20)
    views.leaveEvent(QEvent(QEvent.Leave))
    assert w.state.cursor is None
    w.state.set_probe(100.0)
    [t] = w.panel("transfer").current_traces()
    assert t.value == 100
