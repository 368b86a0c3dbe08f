"""The teaching views: compare, worked table, why it is not flat, the method help, --view.

Every number a view shows is checked against the core's API (equalize,
worked_table, compare_images, equalize_again, equalize_luminance) on real
photographs (scikit-image's data) and on the textbook's and Wikipedia's
examples.
"""

from __future__ import annotations

import csv
import html
import io

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from PyQt5.QtCore import QItemSelectionModel, Qt
from PyQt5.QtWidgets import QApplication
from skimage import data

from histeq_gui import equalize
from histeq_gui.core import colour
from histeq_gui.core.methods import METHODS
from histeq_gui.core.worked import (
    diagonal_distance,
    equalize_again,
    output_cdf,
    worked_table,
    worked_table_to_csv,
)
from histeq_gui.gui import compare_model, teaching
from histeq_gui.gui.app import main
from histeq_gui.gui.method_help import MethodHelp, method_help_html, method_info
from histeq_gui.gui.stack_file import LoadedStack

BOOK_N = [790, 1023, 850, 656, 329, 245, 122, 81]
BOOK_S = [1, 3, 5, 6, 6, 7, 7, 7]


def photos(n=4, size=96):
    """Real photographs (camera, moon, coins, page) as one uint8 stack."""
    images = [data.camera(), data.moon(), data.coins(), data.page()]
    return np.stack([img[:size, :size] for img in images[:n]])


def open_stack(window, array, wait_idle, index=0):
    window.state.set_stack(LoadedStack.from_array(array), index=index)
    wait_idle(window)


def wait_for(qtbot, panel_busy, timeout=20000):
    qtbot.waitUntil(lambda: not panel_busy(), timeout=timeout)


# ------------------------------------------------------------------ views


def test_views_fill_the_window_and_come_back(qtbot, sample_window):
    w = sample_window
    before = {pid: dock.isVisible() for pid, dock in w.docks.items()}
    assert not any(before[pid] for pid in ("compare", "worked_table", "not_flat"))
    w.show_view("compare")
    assert not w.centralWidget().isVisible()
    assert w.docks["compare"].isVisible() and w.docks["navigation"].isVisible()
    assert not w.docks["histograms"].isVisible() and not w.docks["settings"].isVisible()
    assert w.views.actions["compare"].isChecked()
    w.views.actions["worked-table"].trigger()            # View > Worked table (Ctrl+5)
    assert w.docks["worked_table"].isVisible() and not w.docks["compare"].isVisible()
    w.show_view("viewer")
    assert w.centralWidget().isVisible()
    assert {pid: dock.isVisible() for pid, dock in w.docks.items()} == before
    with pytest.raises(ValueError, match="unknown view"):
        w.show_view("gallery")
    assert [a.shortcut().toString() for a in w.views.actions.values()] == \
        ["Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+4", "Ctrl+5", "Ctrl+6"]


def test_closing_in_a_view_remembers_the_viewer_layout(qtbot, prefs, settings_file):
    from histeq_gui.gui.main_window import MainWindow
    first = MainWindow(prefs)
    qtbot.addWidget(first)       # closed and deleted by pytest-qt, in order
    first.show()
    qtbot.waitExposed(first)
    first.docks["settings"].hide()              # the user's own layout of the viewer
    first.show_view("not-flat")
    first.close()
    again = MainWindow(type(prefs).from_file(settings_file))
    qtbot.addWidget(again)       # closed and deleted by pytest-qt, in order
    again.show()
    qtbot.waitExposed(again)
    try:
        assert again.centralWidget().isVisible() and again.views.view == "viewer"
        assert again.docks["histograms"].isVisible() and not again.docks["settings"].isVisible()
        assert not again.docks["not_flat"].isVisible()
    finally:
        again.close()


# ------------------------------------------------------------------ compare


def comparison(qtbot, window):
    panel = window.panel("compare")
    qtbot.waitUntil(lambda: not window.busy and panel.compare.result is not None
                    and panel.compare.result.index == window.state.index
                    and panel.compare.result.b.method == window.state.compare.method
                    and panel.compare.result.b.bins == window.state.compare.bins
                    and panel.compare.result.b.scope == window.state.compare.scope
                    and panel.compare.result.a.method == window.state.method
                    and panel.compare.result.a.bins == window.state.bins, timeout=20000)
    return panel, panel.compare.result


def check_difference(panel, result, a_expected, b_expected):
    """The shown numbers are the API's: max |A - B|, its pixel, the mark, the colour bar."""
    d = result.difference
    assert_array_equal(result.a.equalized, a_expected)
    assert_array_equal(result.b.equalized, b_expected)
    expected = np.nanmax(np.abs(a_expected - b_expected))
    assert d.max_abs == expected
    where = np.unravel_index(np.nanargmax(np.abs(a_expected - b_expected)), a_expected.shape)
    assert d.position == tuple(int(i) for i in where[:2])
    assert f"{expected:.6g}" in panel.difference_label.text()
    assert f"x = {d.position[1]}, y = {d.position[0]}" in panel.difference_label.text()
    assert panel.views.marked() == (d.position[1] + 0.5, d.position[0] + 0.5)
    if expected >= 1e-9:
        assert panel.views.colour_bar.levels() == pytest.approx((-expected, expected))
        assert panel.views.items[2].getLevels() == pytest.approx((-expected, expected))


def test_compare_shows_the_api_difference_and_follows_both_settings(qtbot, window, wait_idle):
    stack = photos()
    open_stack(window, stack, wait_idle, index=1)
    state = window.state
    state.set_bins(8)
    state.compare.set_method("skimage")
    window.show_view("compare")
    panel, result = comparison(qtbot, window)
    image = stack[1]
    check_difference(panel, result, equalize(image, "numpy", 8), equalize(image, "skimage", 256))
    # Setting A follows the state, in the panel's own controls too.
    panel.controls_a.method_combo.setCurrentIndex(panel.controls_a.method_combo.findData("skimage"))
    assert state.method == "skimage"
    state.set_bins(300)
    panel, result = comparison(qtbot, window)
    assert panel.controls_a.bins_spin.value() == 300
    check_difference(panel, result, equalize(image, "skimage", 300),
                     equalize(image, "skimage", 256))
    # Setting B: its controls write state.compare, and the view follows.
    state.set_method("numpy")
    panel.controls_b.method_combo.setCurrentIndex(panel.controls_b.method_combo.findData("numpy"))
    assert state.compare.method == "numpy"
    panel.controls_b.bins_spin.setValue(5)
    panel.controls_b.commit_bins()
    assert state.compare.bins == 5
    panel, result = comparison(qtbot, window)
    check_difference(panel, result, equalize(image, "numpy", 300), equalize(image, "numpy", 5))
    drawn = panel.b_curve()
    x, y = result.b.histograms[0].transfer_curve(x_range=state.stack.levels)
    assert_array_equal(drawn[0], x) and assert_array_equal(drawn[1], y)
    # Another image: both sides follow.
    state.set_index(3)
    panel, result = comparison(qtbot, window)
    check_difference(panel, result, equalize(stack[3], "numpy", 300),
                     equalize(stack[3], "numpy", 5))


def test_compare_image_against_stack_scope(qtbot, window, wait_idle):
    stack = photos()
    open_stack(window, stack, wait_idle, index=2)
    window.state.compare.set_method("numpy")
    window.state.compare.set_scope("stack")
    window.show_view("compare")
    panel, result = comparison(qtbot, window)
    check_difference(panel, result, equalize(stack[2], "numpy", 256),
                     equalize(stack, "numpy", 256, scope="stack")[2])
    assert result.b.scope == "stack" and "whole-stack" in panel.views.titles[1].text


def test_compare_colour_marks_the_channel(qtbot, window, wait_idle):
    rgb = data.astronaut()[::4, ::4][np.newaxis]
    open_stack(window, rgb, wait_idle)
    window.state.set_bins(16)
    window.show_view("compare")
    panel, result = comparison(qtbot, window)
    a = equalize(rgb[0], "numpy", 16, channel_axis=-1)
    b = equalize(rgb[0], "skimage", 256, channel_axis=-1)
    d = result.difference
    assert d.max_abs == np.nanmax(np.abs(a - b))
    assert np.abs(a - b)[(*d.position, d.channel)] == d.max_abs
    assert "channel" in panel.difference_label.text()


def test_compare_same_settings_say_so(qtbot, window, wait_idle):
    open_stack(window, photos(2), wait_idle)
    window.state.compare.set_method("numpy")
    window.show_view("compare")
    panel, result = comparison(qtbot, window)
    assert result.difference.max_abs == 0
    assert "same" in panel.difference_label.text()


def test_compare_computes_only_while_shown_and_big_images_in_a_job(qtbot, window, wait_idle,
                                                                   monkeypatch):
    stack = photos()
    open_stack(window, stack, wait_idle)
    panel = window.panel("compare")
    assert not panel.compare.active and panel.compare.result is None
    monkeypatch.setattr(compare_model, "SYNC_IMAGE_VALUES", 10)   # every image is "big"
    jobs = []
    panel.compare.runner.busyChanged.connect(jobs.append)
    window.state.compare.set_bins(12)
    window.state.compare.set_method("numpy")
    window.show_view("compare")
    panel, result = comparison(qtbot, window)
    assert True in jobs
    check_difference(panel, result, equalize(stack[0], "numpy", 256),
                     equalize(stack[0], "numpy", 12))
    window.show_view("viewer")
    assert not panel.compare.active


def test_swap_exchanges_the_settings(qtbot, window, wait_idle):
    open_stack(window, photos(2), wait_idle)
    state = window.state
    state.set_bins(32)
    state.compare.set_method("skimage")
    state.compare.set_bins(64)
    window.show_view("compare")
    window.panel("compare").swap_button.click()
    assert (state.method, state.bins, state.scope) == ("skimage", 64, "image")
    assert state.compare.as_tuple() == ("numpy", 32, "image")


# ------------------------------------------------------------------ worked table


def book_stack():
    image = np.repeat(np.arange(8, dtype=np.uint8), BOOK_N).reshape(64, 64)
    return np.stack([image, image[::-1]])


def table_panel(qtbot, window):
    panel = window.panel("worked_table")
    qtbot.waitUntil(lambda: not panel.busy and panel.table is not None, timeout=20000)
    return panel


def column(panel, name):
    model = panel.model
    c = model.columns.index(name)
    return [model.data(model.index(r, c)) for r in range(model.rowCount())]


def test_worked_table_reproduces_the_textbook(qtbot, window, wait_idle):
    open_stack(window, book_stack(), wait_idle)
    window.show_view("worked-table")
    panel = table_panel(qtbot, window)
    assert panel.levels_spin.text() == "auto" and panel.table.levels == 256
    panel.levels_spin.setValue(8)                 # L chosen by the user, kept in the state
    assert window.state.output_levels == 8
    qtbot.waitUntil(lambda: panel.table.levels == 8)
    assert column(panel, "n") == [str(n) for n in BOOK_N]
    assert column(panel, "s") == [str(s) for s in BOOK_S]
    text = panel.summary.text()
    assert "<b>8</b> levels hold pixels" in text and "<b>5</b> output levels" in text
    # Rows merged into one output level share a background; the next level's differs.
    model = panel.model
    s_col = model.columns.index("s")
    shade = [model.data(model.index(r, 0), Qt.BackgroundRole).color().name() for r in range(8)]
    assert shade[3] == shade[4] != shade[2] and shade[5] == shade[6] == shade[7] != shade[4]
    assert model.data(model.index(3, s_col), Qt.FontRole).bold()
    assert model.data(model.index(0, s_col), Qt.FontRole) is None
    # The state drives the spin box too.
    window.state.set_output_levels(None)
    assert panel.levels_spin.text() == "auto"
    qtbot.waitUntil(lambda: panel.table.levels == 256)


def test_worked_table_follows_method_image_rows_and_roi(qtbot, window, wait_idle):
    stack = photos()
    open_stack(window, stack, wait_idle, index=1)
    window.show_view("worked-table")
    panel = table_panel(qtbot, window)
    state = window.state
    state.set_method("skimage")
    state.set_index(2)
    qtbot.waitUntil(lambda: panel.table.info["method"] == "skimage")
    expected = worked_table(stack[2], "skimage")
    for name in expected:
        assert_array_equal(panel.table[name], expected[name])
    panel.rows_combo.setCurrentIndex(panel.rows_combo.findData("present"))
    qtbot.waitUntil(lambda: panel.table.info["rows"] == "present")
    assert panel.model.rowCount() == len(np.unique(stack[2]))
    # The ROI (x, y, width, height) of the state: only its pixels count.
    state.set_roi((10, 20, 30, 15))
    qtbot.waitUntil(lambda: panel.table.info["total"] == 30 * 15)
    mask = np.zeros(stack[2].shape, bool)
    mask[20:35, 10:40] = True
    assert_array_equal(panel.table["n"], worked_table(stack[2], "skimage", mask=mask,
                                                      rows="present")["n"])
    assert "region of interest" in panel.summary.text()


class Clipboard:
    """The clipboard, in the process (the platform's may be shared or asynchronous)."""

    def __init__(self):
        self._text = ""

    def setText(self, text):
        self._text = text

    def text(self):
        return self._text


def test_worked_table_copy_and_csv(qtbot, window, wait_idle, tmp_path, monkeypatch):
    clipboard = Clipboard()
    monkeypatch.setattr(QApplication, "clipboard", staticmethod(lambda: clipboard))
    open_stack(window, book_stack(), wait_idle)
    window.state.set_output_levels(8)
    window.show_view("worked-table")
    panel = table_panel(qtbot, window)
    # The table of this stack with L = 8, not one made before the change reached the panel.
    qtbot.waitUntil(lambda: not panel.busy and panel.table is not None
                    and panel.table.levels == 8 and panel.table.n_rows == 8, timeout=20000)
    panel.copy()
    lines = QApplication.clipboard().text().splitlines()
    assert lines[0].split("\t") == list(panel.table)
    assert len(lines) == 9 and lines[1].split("\t")[list(panel.table).index("s")] == "1"
    # Select row 3 through the selection model: QTableView.selectRow picks the column at the
    # viewport's left edge, which is no column until the header has been laid out (under load
    # that can come later), and then it selects nothing.
    model = panel.view.model()
    panel.view.selectionModel().select(
        model.index(3, 0), QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
    assert [i.row() for i in panel.view.selectionModel().selectedRows()] == [3]
    panel.copy_action.trigger()                   # Ctrl+C in the table
    lines = QApplication.clipboard().text().splitlines()
    assert len(lines) == 2 and lines[1].split("\t")[0] == "3"
    out = tmp_path / "out"
    out.mkdir()
    path = panel.export_csv(out / "book.csv")
    buffer = io.StringIO()
    worked_table_to_csv(panel.table, buffer)
    assert path.read_text(encoding="utf-8") == buffer.getvalue()
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["s"]) for r in rows] == BOOK_S
    assert sorted(p.name for p in out.iterdir()) == ["book.csv"]       # no temporary left


def test_worked_table_wikipedia_under_opencv(qtbot, window, wait_idle):
    from histeq_gui.gui.method_help import WIKI_IMAGE
    open_stack(window, WIKI_IMAGE[np.newaxis], wait_idle)
    window.state.set_method("opencv")
    window.show_view("worked-table")
    panel = table_panel(qtbot, window)
    s = dict(zip(column(panel, "r"), column(panel, "s")))
    assert (s["52"], s["78"], s["154"]) == ("0", "182", "255")
    assert "s &ne; round" in panel.summary.text()


def test_worked_table_big_images_in_a_job(qtbot, window, wait_idle, monkeypatch):
    monkeypatch.setattr(teaching, "SYNC_IMAGE_VALUES", 10)
    stack = photos(2)
    open_stack(window, stack, wait_idle)
    window.show_view("worked-table")
    panel = window.panel("worked_table")
    qtbot.waitUntil(lambda: panel.table is not None and not panel.busy, timeout=20000)
    assert_array_equal(panel.table["s"], worked_table(stack[0], "numpy")["s"])


def test_worked_table_error_is_one_line(qtbot, window, wait_idle):
    open_stack(window, np.full((2, 8, 8), np.nan), wait_idle)
    window.show_view("worked-table")
    panel = window.panel("worked_table")
    qtbot.waitUntil(lambda: "no table" in panel.summary.text(), timeout=20000)
    assert panel.table is None and "\n" not in panel.summary.text()


# ------------------------------------------------------------------ why it is not flat


def not_flat_panel(qtbot, window):
    panel = window.panel("not_flat")
    qtbot.waitUntil(lambda: not window.busy and panel.numbers is not None
                    and panel.numbers.index == window.state.index
                    and panel.numbers.method == window.state.method, timeout=30000)
    return panel


def test_not_flat_numbers_are_the_core(qtbot, window, wait_idle):
    stack = photos()
    open_stack(window, stack, wait_idle, index=1)
    window.show_view("not-flat")
    panel = not_flat_panel(qtbot, window)
    image = stack[1]
    eq = equalize(image, "numpy")
    v, f = output_cdf(eq)
    assert panel.numbers.distance == diagonal_distance(v, f)
    assert f"{diagonal_distance(v, f):.3f}" in panel.cdf_text.text()
    x, y = panel.cdf_curve.getData()
    assert x[0] == 0 and y[-1] == 1.0 and len(x) == 2 * len(v) + 2
    table = worked_table(image, "numpy")
    s, k = table.inputs_per_output
    bars = panel.bars.opts
    assert_array_equal(bars["x"], s) and assert_array_equal(bars["height"], k)
    assert f"<b>{table.levels_before}</b>" in panel.merged_text.text()
    again = equalize_again(image, "numpy")
    assert panel.numbers.again.difference.max_abs == again.difference.max_abs
    assert f"{again.difference.max_abs:.4g}" in panel.again_text.text()
    assert "not idempotent" in panel.again_text.text()          # the seed recipe's left edges
    window.state.set_method("skimage")
    panel = not_flat_panel(qtbot, window)
    assert "idempotent" in panel.again_text.text() and "not idempotent" not in \
        panel.again_text.text()
    panel.again_button.setChecked(False)
    qtbot.waitUntil(lambda: panel.numbers.again is None)
    assert "Equalize again" in panel.again_text.text()
    assert panel.again_points.getData()[0].size == 0
    assert "colour" in panel.colour_note.text().lower() and not panel.colour_views.isVisible()


def test_not_flat_colour_lesson(qtbot, window, wait_idle):
    rgb = data.astronaut()[::4, ::4][np.newaxis]
    open_stack(window, rgb, wait_idle)
    window.show_view("not-flat")
    panel = not_flat_panel(qtbot, window)
    assert panel.colour_views.isVisible()
    numbers = panel.numbers
    lum = colour.equalize_luminance(rgb[0], "numpy", 256, "ycbcr")
    assert_array_equal(numbers.luminance, lum)
    assert_array_equal(numbers.per_channel, equalize(rgb[0], "numpy", channel_axis=-1))
    per, keep = numbers.shifts
    unit = colour.as_unit_rgb(rgb[0])
    assert per == colour.hue_shift(unit, numbers.per_channel) and per > 10
    assert keep == colour.hue_shift(unit, lum) and keep < 1
    assert f"{per:.1f}" in panel.colour_note.text()
    assert_array_equal(panel.colour_items[2].image, lum)
    panel.space_combo.setCurrentIndex(panel.space_combo.findData("hsv"))
    qtbot.waitUntil(lambda: not panel.busy and np.array_equal(
        panel.numbers.luminance, colour.equalize_luminance(rgb[0], "numpy", 256, "hsv")))
    assert panel.numbers.shifts[1] < 1e-6


# ------------------------------------------------------------------ how it works


@pytest.mark.parametrize("method", list(METHODS))
def test_method_help_pages(qtbot, method):
    """Every registered method's page shows its declaration and its own computed example."""
    from histeq_gui.core.methods import get_method

    m = get_method(method)
    page = method_help_html(method)
    info = method_info(method)
    assert info["label"] == m.label and info["formula"] == m.formula and m.formula in page
    assert html.escape(m.source) in page and [p[0] for p in info["params"]] == \
        [p.name for p in m.params]
    book = np.repeat(np.arange(8, dtype=np.uint8), BOOK_N).reshape(64, 64)
    if m.image is None:
        t = worked_table(book, method, levels=8)
        row = "".join(f"<td align='right'>{s}</td>" for s in t["s"].tolist())
        assert row in page                              # the method's own s_k, computed
    else:
        with pytest.raises(ValueError) as why:
            worked_table(book, method, levels=8)
        assert "No worked example: " + html.escape(str(why.value)) in page
    box = MethodHelp(method)
    qtbot.addWidget(box)
    assert box.combo.currentData() == method and m.label in box.text()


def test_method_help_of_an_unknown_method_is_one_line():
    with pytest.raises(ValueError, match="unknown method 'opencv2'") as error:
        method_info("opencv2")
    assert "\n" not in str(error.value)


def test_help_menu_and_buttons_open_the_method_help(qtbot, sample_window):
    w = sample_window
    entries = [a for menu in w.menuBar().actions() if menu.menu() is not None
               for a in menu.menu().actions() if "methods work" in a.text()]
    assert entries
    entries[0].trigger()
    box = w._method_help                                # one help window per main window
    assert box.isVisible() and box.combo.currentData() == w.state.method
    w.show_view("worked-table")
    w.state.set_method("skimage")
    w.panel("worked_table").help_button.click()
    qtbot.waitUntil(lambda: any(b.isVisible() and b.combo.currentData() == "skimage"
                                for b in w.findChildren(MethodHelp)))


# ------------------------------------------------------------------ the command line


@pytest.mark.parametrize("view, extra", [
    ("compare", ["--method", "numpy", "--compare", "skimage", "--compare-bins", "16"]),
    ("worked-table", []),
    ("not-flat", []),
])
def test_screenshot_of_each_view(tmp_path, view, extra):
    stack = photos(2)
    path = tmp_path / "photos.npy"
    np.save(path, stack)
    out = tmp_path / f"{view}.png"
    assert main([str(path), "--view", view, *extra, "--screenshot", str(out)]) == 0
    assert out.stat().st_size > 10000


def test_compare_options_set_setting_b():
    from histeq_gui.gui.app import build_parser
    args = build_parser().parse_args(["--view", "compare", "--compare", "skimage",
                                      "--compare-bins", "16", "--compare-scope", "stack"])
    assert (args.view, args.compare, args.compare_bins, args.compare_scope) == \
        ("compare", "skimage", 16, "stack")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--view", "gallery"])


def test_state_levels_and_compare_settings_validate():
    from histeq_gui.gui.state import ViewerState
    state = ViewerState(method="numpy")
    assert state.compare.method == "skimage" and state.output_levels is None
    seen = []
    state.outputLevelsChanged.connect(seen.append)
    state.set_output_levels(8)
    state.set_output_levels(8)
    assert seen == [8]
    for bad in (1, 2.5, "8"):
        with pytest.raises(ValueError):
            state.set_output_levels(bad)
    changes = []
    state.compare.changed.connect(lambda: changes.append(state.compare.as_tuple()))
    state.compare.set_bins(16)
    state.compare.set_bins(16)
    assert changes == [("skimage", 16, "image")]
    with pytest.raises(ValueError):
        state.compare.set_method("nope")
    with pytest.raises(ValueError):
        state.compare.set_scope("everything")
