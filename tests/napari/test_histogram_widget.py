"""The Histogram widget in napari: the slice's histograms and map, the contrast limits both ways."""

from __future__ import annotations

import numpy as np
import pytest

napari = pytest.importorskip("napari", minversion="0.5")   # not tests/napari itself

from histeq_gui import equalize, histogram  # noqa: E402
from histeq_gui.gui.plots import MAX_BARS  # noqa: E402
from histeq_gui.napari.histogram_widget import HistogramWidget  # noqa: E402


def drawn_for(widget, index, method):
    result = widget.result
    return result is not None and result.index == index and result.method == method


def test_histograms_follow_the_slider_and_the_setting(make_napari_viewer, qtbot, moon16):
    viewer = make_napari_viewer()
    viewer.add_image(moon16, name="moon16")
    viewer.dims.set_current_step(0, 3)
    _, widget = viewer.window.add_plugin_dock_widget("histeq-gui", "Histogram")
    assert isinstance(widget, HistogramWidget)
    qtbot.waitUntil(lambda: drawn_for(widget, 3, "numpy"), timeout=60_000)
    expected = histogram(moon16[3], "numpy", 256)
    edges, counts = widget.original.bars()
    assert np.array_equal(counts, expected.counts) and np.array_equal(edges, expected.edges)
    assert np.allclose(widget.original.cdf_curve()[1], expected.cdf)
    after = histogram(equalize(moon16[3], "numpy", 256), "numpy", 256)
    assert np.array_equal(widget.equalized.bars()[1], after.counts)
    x, y = widget.transfer.curve()
    assert np.allclose(y[1:-1], expected.cdf) and np.allclose(x[1:-1], expected.cdf_x)

    # the shared setting (as the Equalize widget sets it) and the dims slider
    from histeq_gui.napari.session import session_for
    setting = session_for(viewer).setting
    setting.set_method("opencv")
    setting.set_scope("stack")
    viewer.dims.set_current_step(0, 8)
    qtbot.waitUntil(lambda: drawn_for(widget, 8, "opencv"), timeout=60_000)
    whole = histogram(moon16, "opencv", 256)       # 65536 value bins, drawn as 4096 bars
    assert np.array_equal(widget.original.bars()[1], whole.coarsened(MAX_BARS).counts)
    assert "whole stack" in widget.original.title()
    assert widget.equalized.bars()[1].sum() == moon16[8].size

    # CLAHE has no single map: no transfer curve, said in its title
    setting.set_method("clahe")
    qtbot.waitUntil(lambda: drawn_for(widget, 8, "clahe"), timeout=60_000)
    assert widget.transfer.curve_count() == 0
    assert "No single map" in widget.transfer.title()


def test_contrast_limits_drawn_and_draggable(make_napari_viewer, qtbot, moon16):
    viewer = make_napari_viewer()
    layer = viewer.add_image(moon16, name="moon16", contrast_limits=(0, 65535))
    widget = HistogramWidget(viewer)
    viewer.window.add_dock_widget(widget)
    assert widget.limits.getRegion() == (0.0, 65535.0)
    layer.contrast_limits = (1000, 40000)                  # napari -> plot
    assert widget.limits.getRegion() == (1000.0, 40000.0)
    widget.limits.setRegion((5000, 30000))                  # a drag -> napari
    assert tuple(layer.contrast_limits) == (5000.0, 30000.0)
    assert len(viewer.layers) == 1                          # no new layer, no copy of the data


def test_follows_the_theme(make_napari_viewer, qtbot, moon16):
    from napari.utils.theme import get_theme

    viewer = make_napari_viewer()
    viewer.add_image(moon16[:2])
    widget = HistogramWidget(viewer)
    viewer.theme = "light"
    light = get_theme("light")
    assert widget.original.text_colour == light.text.as_hex()
    from qtpy.QtGui import QColor
    assert widget.transfer.backgroundBrush().color().name() == \
        QColor(light.canvas.as_hex()).name()
