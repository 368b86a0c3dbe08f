"""The Statistics widget in napari: image_stats, sortable; a row click moves the slider."""

from __future__ import annotations

import numpy as np
import pytest

napari = pytest.importorskip("napari", minversion="0.5")   # not tests/napari itself

from qtpy.QtCore import Qt  # noqa: E402

from histeq_gui import image_stats  # noqa: E402
from histeq_gui.napari.stats_widget import FLAG_COLOUR, StatsWidget  # noqa: E402


def test_table_sort_flags_and_row_click(make_napari_viewer, qtbot, faces):
    stack = faces[:, 0].copy()
    stack[7] = 0                                    # a black image: dark, constant
    stack[9] = stack[4]                             # a duplicate of image 4
    viewer = make_napari_viewer()
    viewer.add_image(stack, name="faces")
    _, widget = viewer.window.add_plugin_dock_widget("histeq-gui", "Statistics")
    assert isinstance(widget, StatsWidget)
    qtbot.waitUntil(lambda: widget.model.table is not None, timeout=60_000)
    expected = image_stats(stack)
    model = widget.model
    assert model.rowCount() == 100
    for name in ("mean", "entropy", "dark_score", "is_dark", "duplicate_of", "entropy_after"):
        assert np.array_equal(model.table[name], expected[name], equal_nan=True), name

    column = model.columns.index("mean")
    widget.view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    shown = [float(model.data(model.index(r, column))) for r in range(5)]
    assert shown == sorted(expected["mean"], reverse=True)[:5] or \
        np.allclose(shown, np.sort(expected["mean"])[::-1][:5], rtol=1e-3)
    assert model.image_at(0) == int(np.argmax(expected["mean"]))

    dark = model.columns.index("is_dark")
    row = int(np.flatnonzero(model.rows == 7)[0])
    assert model.data(model.index(row, dark)) == "yes"
    assert model.data(model.index(row, dark), Qt.ItemDataRole.BackgroundRole).name() == \
        FLAG_COLOUR
    assert "CleanVision" in model.data(model.index(row, dark), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(int(np.flatnonzero(model.rows == 9)[0]),
                                  model.columns.index("duplicate_of"))) == "4"

    widget.view.clicked.emit(model.index(row, 0))
    assert viewer.dims.current_step[0] == 7
    # Counted as the viewer counts: grayscale, on every image of a gray stack, tells nothing.
    assert expected["is_grayscale"].all()
    telling = [expected[c] for c in model.columns if c.startswith("is_") and c != "is_grayscale"]
    flagged = int(np.count_nonzero(np.any(telling, axis=0)))
    assert 0 < flagged < 100 and f", {flagged} flagged" in widget.status.text()


def test_the_setting_changes_the_after_columns(make_napari_viewer, qtbot, moon16):
    viewer = make_napari_viewer()
    viewer.add_image(moon16, name="moon16")
    widget = StatsWidget(viewer)
    viewer.window.add_dock_widget(widget)
    qtbot.waitUntil(lambda: widget.model.table is not None, timeout=60_000)
    from histeq_gui.napari.session import session_for
    session_for(viewer).setting.set_method("textbook")
    session_for(viewer).setting.set_param("levels", 4)
    expected = image_stats(moon16, "textbook", levels=4)
    qtbot.waitUntil(lambda: widget.model.table is not None and np.array_equal(
        widget.model.table["distinct_after"], expected["distinct_after"]), timeout=60_000)
    assert (widget.model.table["distinct_after"] <= 4).all()
