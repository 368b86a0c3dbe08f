"""The inspection panels working together: statistics table, column histogram, thumbnail grid.

The stack is made here from scikit-image's LFW faces with planted odd images
(dark, bright, two constant, an exact duplicate); every expected value comes
from :func:`histeq_gui.core.stats.image_stats` or :func:`histeq_gui.equalize`
called in the test, never from the panels.
"""

from __future__ import annotations

import csv
import json
import threading
import time

import numpy as np
import pytest
from PyQt5.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt5.QtGui import QMouseEvent
from PyQt5.QtWidgets import QApplication
from skimage import data

from histeq_gui.core.stats import image_stats
from histeq_gui.gui import inspection as inspection_module
from histeq_gui.gui import jobs
from histeq_gui.gui.panels.stats_table import IMAGE_ROLE, VALUE_ROLE
from histeq_gui.gui.stack_file import LoadedStack

FLAG_COLUMNS = ("is_dark", "is_light", "is_low_information", "is_constant", "is_duplicate")
PLANTED = {"dark": 5, "bright": 10, "black": 15, "gray": 20, "duplicate": 25}


def planted_faces(n=40):
    """``n`` LFW faces (25x25 uint8) with the odd images of :data:`PLANTED` below ``n``."""
    faces = data.lfw_subset()[:n].astype(np.float64)
    planted = {name: i for name, i in PLANTED.items() if i < n}
    if "dark" in planted:
        faces[planted["dark"]] = faces[planted["dark"]] ** 4 * 0.25
    if "bright" in planted:
        faces[planted["bright"]] = 1 - (1 - faces[planted["bright"]]) * 0.04   # all >= 0.96
    if "black" in planted:
        faces[planted["black"]] = 0.0
    if "gray" in planted:
        faces[planted["gray"]] = 0.5
    stack = np.round(faces * 255).astype(np.uint8)[:, np.newaxis]
    if "duplicate" in planted:
        stack[planted["duplicate"]] = stack[3]
    return stack


@pytest.fixture(scope="module")
def faces():
    return planted_faces()


def rows_of(panel):
    """Image indices of the table's rows, read through the Qt model."""
    model = panel.model
    return [model.data(model.index(r, 0), IMAGE_ROLE) for r in range(model.rowCount())]


def column_values(panel, name):
    model = panel.model
    c = model.column_of(name)
    return [model.data(model.index(r, c), VALUE_ROLE) for r in range(model.rowCount())]


def wait_for_table(qtbot, window, timeout=20000):
    qtbot.waitUntil(lambda: window.inspection.table is not None and not window.inspection.busy
                    and not window.inspection.stale, timeout=timeout)


@pytest.fixture
def inspect_window(window, qtbot, faces, wait_idle):
    """The window on the planted faces, statistics table and column histogram in front."""
    window.opener.set_stack(LoadedStack.from_array(faces))
    wait_idle(window)
    window.show_view("stats")
    wait_for_table(qtbot, window)
    return window


def click_row(qtbot, panel, row):
    view = panel.view
    rect = view.visualRect(panel.model.index(row, panel.model.column_of("is_dark")))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=rect.center())


# ---------------------------------------------------------------------- the statistics job
def test_no_statistics_while_their_panels_are_behind_other_tabs(qtbot, sample_window):
    w = sample_window
    assert not w.inspection.wanted          # histograms in front: no panel asks for the table
    assert w.inspection.table is None and not w.inspection.busy
    w.docks["stats"].raise_()
    wait_for_table(qtbot, w)
    expected = image_stats(w.state.stack.array)
    np.testing.assert_array_equal(w.inspection.table["mean"], expected["mean"])
    assert len(rows_of(w.panel("stats"))) == w.state.n_images == 100


def test_the_table_holds_image_stats(inspect_window, faces):
    w = inspect_window
    panel = w.panel("stats")
    expected = image_stats(faces)
    assert rows_of(panel) == list(range(len(faces)))
    for name in ("mean", "std", "entropy", "dark_score", "is_dark", "duplicate_of",
                 "entropy_after", "mean_abs_change"):
        np.testing.assert_array_equal(column_values(panel, name), expected[name])
    assert sorted(panel.model.columns) == sorted(expected)     # every column of image_stats


# ---------------------------------------------------------------------- rows and images
def test_a_row_click_shows_that_image(qtbot, inspect_window, faces):
    w = inspect_window
    panel = w.panel("stats")
    w.inspection.sort("mean", descending=True)        # rows no longer in image order
    target_row = 7
    image = rows_of(panel)[target_row]
    assert image != target_row
    click_row(qtbot, panel, target_row)
    assert w.state.index == image
    np.testing.assert_array_equal(w.controller.result.original, faces[image, 0])


def test_paging_selects_and_scrolls_to_the_row(qtbot, inspect_window):
    w = inspect_window
    panel = w.panel("stats")
    w.inspection.sort("mean")
    w.activateWindow()
    for _ in range(3):
        qtbot.keyClick(w.panel("images").views, Qt.Key_Right)
    assert w.state.index == 3
    current = panel.view.selectionModel().currentIndex()
    assert panel.model.data(current, IMAGE_ROLE) == 3
    assert [panel.model.data(i, IMAGE_ROLE)
            for i in panel.view.selectionModel().selectedRows()] == [3]
    w.state.set_index(len(rows_of(panel)) - 1)
    row = w.inspection.row_of(w.state.index)
    rect = panel.view.visualRect(panel.model.index(row, 0))
    assert panel.view.viewport().rect().contains(rect.center())     # scrolled into view


def test_sorting_by_a_column_orders_the_rows(qtbot, inspect_window, faces):
    w = inspect_window
    panel = w.panel("stats")
    mean = image_stats(faces)["mean"]
    header = panel.view.horizontalHeader()
    section = panel.model.column_of("mean")
    qtbot.mouseClick(header.viewport(), Qt.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(section) + 5, 5))
    ascending = rows_of(panel)
    assert ascending == np.argsort(mean, kind="stable").tolist()
    assert np.all(np.diff(column_values(panel, "mean")) >= 0)
    qtbot.mouseClick(header.viewport(), Qt.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(section) + 5, 5))
    descending = column_values(panel, "mean")
    assert np.all(np.diff(descending) <= 0) and descending[0] == mean.max()
    assert w.panel("grid").grid._rows.tolist() == rows_of(panel)     # the grid follows



def test_a_new_sort_shows_the_top_of_the_new_order(qtbot, inspect_window, faces):
    w = inspect_window
    panel = w.panel("stats")
    mean = image_stats(faces)["mean"]
    order = np.argsort(mean, kind="stable")
    middle = int(order[len(order) * 2 // 3])            # well below the top either way
    w.inspection.sort("mean")
    w.state.set_index(middle)
    bar = panel.view.verticalScrollBar()
    assert bar.value() > 0                               # its row scrolled into view
    header = panel.view.horizontalHeader()
    section = panel.model.column_of("mean")
    qtbot.mouseClick(header.viewport(), Qt.LeftButton,     # the header: now descending
                     pos=QPoint(header.sectionViewportPosition(section) + 5, 5))
    if w.inspection.sort_key != ("mean", True):
        qtbot.mouseClick(header.viewport(), Qt.LeftButton,
                         pos=QPoint(header.sectionViewportPosition(section) + 5, 5))
    assert w.inspection.sort_key == ("mean", True)
    assert bar.value() == 0                              # the top of the new order
    assert panel.model.image_at(0) == int(np.argmax(mean))
    row = w.inspection.row_of(middle)
    assert row > 0 and panel.view.selectionModel().isRowSelected(row)   # still selected
    assert panel.count_label.text().endswith("by mean, descending")

def test_sorting_puts_nan_last_both_ways(qtbot, window, wait_idle):
    stack = np.random.default_rng(5).random((6, 8, 8))
    stack[2] = np.nan                      # no finite value: NaN statistics
    window.opener.set_stack(LoadedStack.from_array(stack))
    wait_idle(window)
    window.docks["stats"].raise_()
    wait_for_table(qtbot, window)
    panel = window.panel("stats")
    for descending in (False, True):
        window.inspection.sort("mean", descending)
        rows = rows_of(panel)
        assert rows[-1] == 2
        values = np.asarray(column_values(panel, "mean"))[:-1]
        assert np.all(np.diff(values) <= 0 if descending else np.diff(values) >= 0)


# ---------------------------------------------------------------------- filters
def test_only_flagged_shows_exactly_the_flagged_images(qtbot, inspect_window, faces):
    w = inspect_window
    panel = w.panel("stats")
    expected = image_stats(faces)
    flagged = np.zeros(len(faces), bool)
    for column in FLAG_COLUMNS:
        flagged |= expected[column]
    panel.filter_combo.setCurrentIndex(panel.filter_combo.findData("flagged"))
    assert rows_of(panel) == np.flatnonzero(flagged).tolist()
    assert set(PLANTED.values()) <= set(rows_of(panel))
    assert w.panel("grid").grid._rows.tolist() == rows_of(panel)
    assert panel.count_label.text() == f"{flagged.sum()} of {len(faces)} images"
    # each flag on its own, and the planted image of each
    for column, planted in (("is_dark", "dark"), ("is_light", "bright"),
                            ("is_constant", "black"), ("is_constant", "gray"),
                            ("is_duplicate", "duplicate")):
        panel.filter_combo.setCurrentIndex(panel.filter_combo.findData(column))
        assert rows_of(panel) == np.flatnonzero(expected[column]).tolist()
        assert PLANTED[planted] in rows_of(panel)
    panel.filter_combo.setCurrentIndex(panel.filter_combo.findData("all"))
    assert rows_of(panel) == list(range(len(faces)))


def test_flagged_cells_are_coloured_and_say_which_threshold(inspect_window):
    w = inspect_window
    model = w.panel("stats").model
    dark = PLANTED["dark"]
    score = model.index(dark, model.column_of("dark_score"))
    assert model.data(score, Qt.BackgroundRole) is not None
    tip = model.data(score, Qt.ToolTipRole)
    assert "dark" in tip and "< 0.32" in tip and "CleanVision" in tip
    assert model.data(model.index(dark, model.column_of("is_dark")), Qt.DisplayRole) == "yes"
    plain = model.index(0, model.column_of("dark_score"))
    assert not w.inspection.table["is_dark"][0]
    assert model.data(plain, Qt.BackgroundRole) is None
    dup = model.index(PLANTED["duplicate"], model.column_of("duplicate_of"))
    assert "image 3" in model.data(dup, Qt.ToolTipRole)


def test_outlier_filter_is_the_robust_z_of_a_column(inspect_window, faces):
    from histeq_gui.core.stats import outliers
    w = inspect_window
    panel = w.panel("stats")
    panel.filter_combo.setCurrentIndex(panel.filter_combo.findData("outliers"))
    assert panel.outlier_column.isVisibleTo(panel)
    panel.outlier_column.setCurrentIndex(panel.outlier_column.findData("std"))
    panel.outlier_threshold.setValue(2.5)
    expected = outliers(image_stats(faces), "std", 2.5)
    assert expected.any() and not expected.all()
    assert rows_of(panel) == np.flatnonzero(expected).tolist()
    cell = panel.model.index(0, panel.model.column_of("std"))
    assert "robust z" in panel.model.data(cell, Qt.ToolTipRole)


# ---------------------------------------------------------------------- the grid
def test_a_grid_click_opens_the_image(qtbot, inspect_window, faces):
    w = inspect_window
    w.docks["grid"].raise_()
    grid = w.panel("grid").grid
    w.inspection.sort("entropy")
    qtbot.waitUntil(lambda: grid.isVisible() and grid.viewport().width() > 200)
    position = grid.columns() + 1                    # second line, second cell
    image = int(w.inspection.rows[position])
    assert image != position
    rect = grid._cell_rect(position)
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=rect.center())
    assert w.state.index == image
    np.testing.assert_array_equal(w.controller.result.original, faces[image, 0])
    assert grid._current == image


def test_the_grid_marks_flags_and_scrolls_to_the_current_image(qtbot, window, wait_idle):
    stack = planted_faces(200)
    window.opener.set_stack(LoadedStack.from_array(stack))
    wait_idle(window)
    window.docks["grid"].raise_()
    wait_for_table(qtbot, window)
    grid = window.panel("grid").grid
    window.state.set_index(190)
    assert 190 in grid.visible_indices().tolist()
    assert window.inspection.flags(PLANTED["dark"]) & 1
    assert window.inspection.flags(0) == 0 or window.inspection.reasons(0)


# ---------------------------------------------------------------------- brushing
def _send(widget, kind, pos, button, buttons):
    event = QMouseEvent(kind, QPointF(pos), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(qtbot, widget, start, end, steps=8):
    """A real left-button drag (press, moves with the button held, release)."""
    _send(widget, QEvent.MouseButtonPress, start, Qt.LeftButton, Qt.LeftButton)
    for k in range(1, steps + 1):
        point = start + (end - start) * k / steps
        qtbot.wait(5)
        _send(widget, QEvent.MouseMove, point.toPoint(), Qt.NoButton, Qt.LeftButton)
    _send(widget, QEvent.MouseButtonRelease, end, Qt.LeftButton, Qt.NoButton)


def test_brushing_the_column_histogram_filters_table_and_grid(qtbot, inspect_window, faces):
    w = inspect_window
    hist = w.panel("column_histogram")
    assert hist.column == "mean"
    mean = image_stats(faces)["mean"]
    lo_value, hi_value = np.percentile(mean, [25, 60])
    plot = hist.plot

    def point(x):
        y = np.mean(hist.view.viewRange()[1])
        return plot.mapFromScene(hist.view.mapViewToScene(QPointF(x, y)))

    width = plot.width()
    drag(qtbot, plot.viewport(), QPointF(point(lo_value)), QPointF(point(hi_value)))
    assert plot.width() == width              # nothing moved under the mouse
    qtbot.waitUntil(lambda: w.inspection.brush is not None)
    column, lo, hi = w.inspection.brush
    assert column == "mean"
    assert lo == pytest.approx(lo_value, abs=2) and hi == pytest.approx(hi_value, abs=2)
    assert hist.region.isVisible() and hist.region.getRegion() == pytest.approx((lo, hi))
    expected = np.flatnonzero((mean >= lo) & (mean <= hi)).tolist()
    assert 0 < len(expected) < len(faces)
    panel = w.panel("stats")
    assert rows_of(panel) == expected
    assert w.panel("grid").grid._rows.tolist() == expected
    assert "brush: mean in" in panel.brush_label.text()
    # clearing restores every image
    qtbot.mouseClick(hist.clear_button, Qt.LeftButton)
    assert w.inspection.brush is None and not hist.region.isVisible()
    assert not hist.clear_button.isEnabled()
    assert rows_of(panel) == list(range(len(faces)))
    assert w.panel("grid").grid._rows.tolist() == list(range(len(faces)))


def test_a_brush_and_a_filter_combine(inspect_window, faces):
    w = inspect_window
    stats = image_stats(faces)
    w.inspection.set_filter("is_low_information")
    w.inspection.set_brush("mean", 0, 60)
    expected = np.flatnonzero(stats["is_low_information"] & (stats["mean"] <= 60)).tolist()
    assert rows_of(w.panel("stats")) == expected
    assert PLANTED["black"] in expected


def test_the_histogram_draws_the_column_counts(inspect_window, faces):
    w = inspect_window
    hist = w.panel("column_histogram")
    hist.set_column("entropy")
    x, y = hist.all_curve.getData()
    counts, edges = np.histogram(image_stats(faces)["entropy"], x)
    np.testing.assert_array_equal(y, counts)
    assert hist.current_line.value() == pytest.approx(w.inspection.table["entropy"][0])


# ---------------------------------------------------------------------- settings
def test_switching_the_method_updates_the_after_columns(qtbot, inspect_window, faces):
    w = inspect_window
    panel = w.panel("stats")
    before = np.array(column_values(panel, "entropy_after"))
    np.testing.assert_array_equal(before, image_stats(faces, method="numpy")["entropy_after"])
    w.state.set_bins(16)
    wait_for_table(qtbot, w)
    expected = image_stats(faces, method="numpy", bins=16)
    np.testing.assert_array_equal(column_values(panel, "entropy_after"),
                                  expected["entropy_after"])
    assert not np.array_equal(before, expected["entropy_after"])
    w.state.set_method("skimage")
    wait_for_table(qtbot, w)
    expected = image_stats(faces, method="skimage", bins=16)
    np.testing.assert_array_equal(column_values(panel, "entropy_after"),
                                  expected["entropy_after"])
    np.testing.assert_array_equal(column_values(panel, "mean_abs_change"),
                                  expected["mean_abs_change"])


def test_a_new_stack_replaces_the_table(qtbot, inspect_window):
    w = inspect_window
    other = planted_faces(12)[::-1].copy()
    w.opener.set_stack(LoadedStack.from_array(other))
    panel = w.panel("stats")
    assert panel.model.rowCount() == 0             # no stale rows, at once
    assert w.inspection.table is None
    wait_for_table(qtbot, w)
    assert rows_of(panel) == list(range(12))
    np.testing.assert_array_equal(column_values(panel, "mean"), image_stats(other)["mean"])
    assert w.panel("grid").grid._rows.tolist() == list(range(12))


def test_cancelling_the_statistics_leaves_no_thread(qtbot, window, monkeypatch, wait_idle):
    started = threading.Event()

    def slow(images, progress=None, **kwargs):
        started.set()
        for done in range(10_000):
            progress(done, 10_000)          # raises Cancelled once cancelled
            time.sleep(0.005)
        raise AssertionError("never cancelled")
    monkeypatch.setattr(inspection_module, "image_stats", slow)
    window.opener.set_stack(LoadedStack.from_array(planted_faces(8)))
    wait_idle(window)
    window.docks["stats"].raise_()
    qtbot.waitUntil(lambda: window.inspection.busy and started.is_set())
    progress = window.status_bar.progress
    qtbot.waitUntil(progress.isVisible)
    assert progress.label.text().startswith("Statistics")
    qtbot.mouseClick(progress.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.inspection.busy)
    qtbot.waitUntil(lambda: not jobs.live_jobs())
    assert window.inspection.table is None
    assert window.inspection.problem == "Statistics cancelled"
    panel = window.panel("stats")
    assert panel.compute_button.isVisible() and "cancelled" in panel.message_label.text()
    started = []
    window.inspection.busyChanged.connect(started.append)
    window.state.set_index(1)                       # paging does not start it again
    assert started == [] and not window.inspection.busy     # the state's change is handled
    assert window.inspection.problem == "Statistics cancelled"


def test_a_newer_request_wins(qtbot, inspect_window, faces):
    w = inspect_window
    for bins in (8, 16, 32, 64):
        w.state.set_bins(bins)
    wait_for_table(qtbot, w)
    assert w.inspection.table.info["bins"] == 64
    np.testing.assert_array_equal(w.inspection.table["entropy_after"],
                                  image_stats(faces, bins=64)["entropy_after"])


# ---------------------------------------------------------------------- export
def test_export_the_shown_rows_to_csv(qtbot, inspect_window, tmp_path, faces):
    w = inspect_window
    w.inspection.set_filter("flagged")
    w.inspection.sort("mean", descending=True)
    dialog = w.panel("stats").open_export_dialog()
    assert dialog is not None and dialog.shown_radio.isChecked()
    target = tmp_path / "faces_stats.csv"
    dialog.path_edit.setText(str(target))
    qtbot.keyClick(dialog.path_edit, Qt.Key_Return)        # Enter exports
    qtbot.waitUntil(lambda: w.panel("stats").export_dialog is None, timeout=10000)
    with open(target, newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    shown = w.inspection.rows.tolist()
    assert [int(r["index"]) for r in records] == shown
    means = image_stats(faces)["mean"]
    assert [float(r["mean"]) for r in records] == means[shown].tolist()
    sidecar = json.loads(target.with_name(target.name + ".json").read_text())
    assert sidecar["rows"] == "shown" and "flagged" in sidecar["filter"]


def test_export_dialog_escape_closes_and_all_rows(qtbot, inspect_window, tmp_path):
    w = inspect_window
    dialog = w.panel("stats").open_export_dialog()
    qtbot.keyClick(dialog, Qt.Key_Escape)
    assert w.panel("stats").export_dialog is None
    action = w.panel("stats").export_action
    assert action in [a for a in w.menuBar().actions()[0].menu().actions()]   # File menu
    action.trigger()
    dialog = w.panel("stats").export_dialog
    dialog.all_radio.setChecked(True)
    target = tmp_path / "all.csv"
    dialog.path_edit.setText(str(target))
    qtbot.mouseClick(dialog.export_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.panel("stats").export_dialog is None, timeout=10000)
    with open(target, newline="", encoding="utf-8") as fh:
        assert [int(r["index"]) for r in csv.DictReader(fh)] == list(range(40))


def test_export_refuses_the_input_file(qtbot, window, tmp_path, wait_idle, message_boxes):
    source = tmp_path / "faces.npy"
    np.save(source, planted_faces(6))
    window.opener.open_path(source)
    wait_idle(window)
    window.docks["stats"].raise_()
    wait_for_table(qtbot, window)
    dialog = window.panel("stats").open_export_dialog()
    assert dialog.path_edit.text() == str(tmp_path / "faces_stats.csv")
    message_boxes.answer = QMessageBoxYes()
    dialog.path_edit.setText(str(source))
    assert not dialog.start_export()
    assert message_boxes.texts("warning")
    assert np.array_equal(np.load(source), planted_faces(6))
    dialog.reject()


def QMessageBoxYes():
    from PyQt5.QtWidgets import QMessageBox
    return QMessageBox.Yes


# ---------------------------------------------------------------------- window and command line
def test_the_panels_are_tabs_and_export_is_in_the_file_menu(sample_window):
    w = sample_window
    assert w.tabifiedDockWidgets(w.docks["histograms"]) == [w.docks["stats"], w.docks["grid"]]
    assert not w.docks["column_histogram"].isVisible()     # the stats and montage views show it
    file_menu = [a.text() for a in w.menuBar().actions()[0].menu().actions()]
    export = file_menu.index("&Export…")
    assert export < file_menu.index("Export &statistics (CSV)…") < file_menu.index("&Quit")
    assert file_menu[-1] == "&Quit"


def test_up_and_down_in_the_grid_move_a_line(qtbot, inspect_window):
    w = inspect_window
    w.docks["grid"].raise_()
    grid = w.panel("grid").grid
    qtbot.waitUntil(lambda: grid.isVisible() and grid.viewport().width() > 200)
    w.inspection.sort("mean")
    rows = w.inspection.rows.tolist()
    w.state.set_index(rows[1])
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key_Down)
    assert w.state.index == rows[1 + grid.columns()]
    qtbot.keyClick(grid, Qt.Key_Up)
    assert w.state.index == rows[1]


def test_view_screenshots(tmp_path, capsys):
    from histeq_gui.gui.app import main
    path = tmp_path / "faces.npy"
    np.save(path, planted_faces(60))
    for view in ("stats", "montage"):
        out = tmp_path / f"{view}.png"
        assert main([str(path), "--view", view, "--inspect", "sort=mean,brush=mean:0:90",
                     "--screenshot", str(out)]) == 0
        assert out.stat().st_size > 10_000
    assert "stats.png (1400x860)" in capsys.readouterr().out


@pytest.mark.parametrize("spec", ["sort=nope", "filter=bright", "brush=mean:0", "brush=name:0:1",
                                  "thumbnails=big", "colour=red"])
def test_bad_inspect_settings_are_usage_errors(spec, capsys):
    from histeq_gui.gui.app import main
    with pytest.raises(SystemExit) as exit_info:
        main(["--inspect", spec, "--screenshot", "x.png"])
    assert exit_info.value.code == 2
    assert "--inspect" in capsys.readouterr().err


def test_a_view_brings_its_panels_to_the_front(qtbot, sample_window):
    w = sample_window
    w.show_view("montage")
    assert not w.panel("grid").visibleRegion().isEmpty()
    assert not w.panel("column_histogram").visibleRegion().isEmpty()
    assert w.panel("histograms").visibleRegion().isEmpty()
    assert w.docks["grid"].height() > w.height() // 2
    wait_for_table(qtbot, w)                       # a panel on screen wants the table
    w.show_view("viewer")
    assert not w.panel("histograms").visibleRegion().isEmpty()
    assert w.panel("grid").visibleRegion().isEmpty()


def test_a_layout_saved_before_the_inspection_panels_is_not_restored(qtbot, prefs,
                                                                     settings_file):
    from histeq_gui.gui import panels
    from histeq_gui.gui.main_window import MainWindow
    old = [p for p in panels.PANELS if p.id not in ("stats", "column_histogram", "grid")]
    first = MainWindow(prefs, panels=old)
    qtbot.addWidget(first)       # closed and deleted by pytest-qt, in order
    first.show()
    qtbot.waitExposed(first)
    first.prefs.set_window_state(first.saveState(2))      # what the previous version kept
    first.prefs.sync()
    first.hide()
    first.deleteLater()
    again = MainWindow(type(prefs).from_file(settings_file))
    qtbot.addWidget(again)       # closed and deleted by pytest-qt, in order
    again.show()
    qtbot.waitExposed(again)
    try:
        assert again.docks["stats"] in again.tabifiedDockWidgets(again.docks["histograms"])
        assert again.panel("stats").visibleRegion().isEmpty()       # behind the histograms
    finally:
        again.close()


def test_escape_and_double_click_clear_the_brush(qtbot, inspect_window):
    w = inspect_window
    hist = w.panel("column_histogram")
    w.inspection.set_brush("mean", 0, 90)
    assert hist.region.isVisible() and len(w.inspection.rows) < 40
    hist.plot.setFocus()
    qtbot.keyClick(hist.plot, Qt.Key_Escape)
    assert w.inspection.brush is None and len(w.inspection.rows) == 40
    w.inspection.set_brush("mean", 0, 90)
    centre = QPointF(hist.plot.viewport().rect().center())
    viewport = hist.plot.viewport()
    for kind, buttons in ((QEvent.MouseButtonPress, Qt.LeftButton),
                          (QEvent.MouseButtonRelease, Qt.NoButton),
                          (QEvent.MouseButtonDblClick, Qt.LeftButton),
                          (QEvent.MouseButtonRelease, Qt.NoButton)):
        _send(viewport, kind, centre, Qt.LeftButton, buttons)
    qtbot.waitUntil(lambda: w.inspection.brush is None, timeout=2000)
    assert len(w.inspection.rows) == 40
