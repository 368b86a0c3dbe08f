"""Counts in the window are said in words: '1 image', never '1 images'."""

from __future__ import annotations

import numpy as np
from skimage import data

from histeq_gui.gui.stack_file import LoadedStack


def test_a_stack_of_one_image_is_one_image(qtbot, window):
    window.opener.set_stack(LoadedStack.from_array(data.camera()[::8, ::8][np.newaxis]))
    window.state.set_scope("stack")
    window.wait_until_idle()
    hists = window.panel("histograms")
    qtbot.waitUntil(lambda: "Whole stack" in hists.original.title(), timeout=20000)
    assert "(1 image," in hists.original.title()
    window.show_view("stats")
    qtbot.waitUntil(lambda: window.inspection.table is not None, timeout=30000)
    stats = window.panel("stats")
    qtbot.waitUntil(lambda: stats.count_label.text().startswith("1 image"))
    assert "1 images" not in stats.count_label.text()
    column = window.panel("column_histogram")
    qtbot.waitUntil(lambda: "of 1 image" in column.plot.getPlotItem().titleLabel.text,
                    timeout=20000)
    window.show_view("montage")
    grid = window.panel("grid")
    qtbot.waitUntil(lambda: grid.count_label.text() == "1 image", timeout=20000)
