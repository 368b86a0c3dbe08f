"""A folder tree in the viewer: opened with its names, filtered by label in every inspection panel.

The tree is ``tests/photo_tree.py``'s (scikit-image photographs in two levels of subfolders,
gray and colour, with a hidden file, a text file and a link loop).  Expected rows, counts and
histograms are computed here from the tree's labels and from the statistics table with NumPy,
never read back from the panel under test.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from photo_tree import LABELS, ORDER, SUMMARY, by_pillow, write_tree

from histeq_gui.gui import opener as opener_module
from histeq_gui.gui import stack_file
from histeq_gui.gui.panels.column_histogram import column_bins
from histeq_gui.gui.panels.stats_table import IMAGE_ROLE, VALUE_ROLE


@pytest.fixture
def tree(tmp_path):
    return write_tree(tmp_path / "tree", extras=True)


def _hold_the_headers(monkeypatch):
    """Have the viewer's reading of a big folder's headers wait for the Event returned."""
    release = threading.Event()
    probe = opener_module.probe_stack

    def held(stack, progress=None):
        release.wait(20)
        return probe(stack, progress)
    monkeypatch.setattr(opener_module, "probe_stack", held)
    return release


def _table_rows(panel):
    model = panel.model
    return [model.data(model.index(r, 0), IMAGE_ROLE) for r in range(model.rowCount())]


def _wait_for_table(qtbot, window):
    qtbot.waitUntil(lambda: window.inspection.table is not None and not window.inspection.busy,
                    timeout=30000)


def test_a_tree_opens_with_its_names_and_says_what_it_holds(qtbot, window, tree, wait_idle):
    notes = []
    window.opener.noted.connect(lambda text, ms: notes.append(text))
    window.opener.open_path(tree)
    wait_idle(window)
    stack = window.state.stack
    assert stack.names == tuple(ORDER) and stack.summary == SUMMARY
    assert f"Opened tree: {SUMMARY}" in notes
    for i, image in enumerate(by_pillow(tree)):
        np.testing.assert_array_equal(stack.image(i), image)
    window.state.set_index(3)
    assert "cat/img10.png" in window.windowTitle()


def test_the_label_filter_is_shared_by_the_table_the_grid_and_the_histogram(qtbot, window, tree,
                                                                           wait_idle):
    window.opener.open_path(tree)
    wait_idle(window)
    window.show_view("stats")
    _wait_for_table(qtbot, window)
    table_panel, grid, histogram = (window.panel(name) for name in
                                    ("stats", "grid", "column_histogram"))
    combo = table_panel.label_combo
    assert combo.isVisible()
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "All labels · 6", "(top folder) · 1", "cat · 3", "dog · 2"]
    table = window.inspection.table
    assert table["label"].tolist() == LABELS
    assert not table_panel.view.isColumnHidden(table_panel.model.column_of("label"))

    combo.choose("cat")
    cats = [i for i, label in enumerate(LABELS) if label == "cat"]
    assert window.inspection.rows.tolist() == cats
    assert _table_rows(table_panel) == cats
    label_column = table_panel.model.column_of("label")
    assert [table_panel.model.data(table_panel.model.index(r, label_column), VALUE_ROLE)
            for r in range(3)] == ["cat"] * 3
    assert table_panel.count_label.text() == "3 of 6 images · cat"
    assert grid.label_combo.currentData() == "cat"          # one filter, both panels
    assert grid.count_label.text() == "3 of 6 images · cat"
    assert grid.grid._rows.tolist() == cats

    window.inspection.set_filter("all")
    grid.label_combo.choose("")                              # the top folder's images
    assert window.inspection.rows.tolist() == [0]
    assert combo.currentData() == ""
    grid.label_combo.choose(None)
    assert window.inspection.rows.tolist() == list(range(6))


def test_the_column_histogram_draws_one_outline_per_label(qtbot, window, tree, wait_idle):
    window.opener.open_path(tree)
    wait_idle(window)
    window.show_view("stats")
    _wait_for_table(qtbot, window)
    histogram = window.panel("column_histogram")
    assert histogram.label_check.isVisible() and not histogram.label_curves
    histogram.label_check.setChecked(True)
    values = np.asarray(window.inspection.table["mean"], np.float64)
    edges = column_bins(values)
    names = {"": "(top folder) · 1", "cat": "cat · 3", "dog": "dog · 2"}
    assert len(histogram.label_curves) == 3
    for curve in histogram.label_curves:
        label = next(k for k, text in names.items() if curve.name() == text)
        rows = [i for i, lab in enumerate(LABELS) if lab == label]
        np.testing.assert_array_equal(curve.yData, np.histogram(values[rows], edges)[0])
    window.inspection.set_label("dog")
    assert [curve.name() for curve in histogram.label_curves] == ["dog · 2"]


def test_a_big_tree_is_shown_from_its_listing_then_in_colour_at_the_same_image(
        qtbot, window, tree, wait_idle, monkeypatch):
    """More images than EAGER_FILES: shown from the listing and the first (gray) image (no
    other header read at once, so the colour ones are not seen); a colour image asked for
    meanwhile is refused in one line; once the headers are read, the tree is shown again in
    colour."""
    from histeq_gui.core.io import folders

    monkeypatch.setattr(stack_file, "EAGER_FILES", 2)
    monkeypatch.setattr(folders, "_SAMPLE_FILES", 1)
    release = _hold_the_headers(monkeypatch)
    window.opener.open_path(tree)
    qtbot.waitUntil(lambda: window.state.stack is not None, timeout=20000)
    first = window.state.stack
    assert first.headers_pending and first.channels == 1 and first.names == tuple(ORDER)
    assert "(sizes being read)" in first.describe()
    np.testing.assert_array_equal(first.image(0), np.asarray(by_pillow(tree)[0])[..., 0])
    try:
        window.state.set_index(4)                      # coffee.png, in colour
        qtbot.waitUntil(lambda: window.controller.result is not None
                        and window.controller.result.index == 4, timeout=20000)
        assert "'dog/puppies/coffee.png' is RGB but the folder is read as gray" in \
            str(window.controller.result.error)
        assert window.opener.busy                      # the headers are being read
    finally:
        release.set()
    wait_idle(window)
    stack = window.state.stack
    assert stack is not first and not stack.headers_pending and stack.channels == 3
    assert window.state.index == 4
    for i, image in enumerate(by_pillow(tree)):
        np.testing.assert_array_equal(stack.image(i), image)
    qtbot.waitUntil(lambda: window.controller.result is not None
                    and window.controller.result.error is None, timeout=20000)
    np.testing.assert_array_equal(window.controller.result.original, by_pillow(tree)[4])


def test_a_big_tree_whose_first_headers_show_colour_opens_in_colour(qtbot, window, tree,
                                                                   wait_idle, monkeypatch):
    monkeypatch.setattr(stack_file, "EAGER_FILES", 2)
    window.opener.open_path(tree)
    qtbot.waitUntil(lambda: window.state.stack is not None, timeout=20000)
    first = window.state.stack
    assert first.channels == 3
    wait_idle(window)
    assert window.state.stack is first and not first.headers_pending


def test_a_big_tree_of_one_size_is_read_as_one_stack_once_its_headers_are_read(
        qtbot, window, tmp_path, wait_idle, monkeypatch):
    from photo_tree import FILES

    monkeypatch.setattr(stack_file, "EAGER_FILES", 2)
    files = {name: (photo, (40, 30), gray) for name, (photo, _, gray) in FILES.items()}
    tree = write_tree(tmp_path / "tree", files)
    release = _hold_the_headers(monkeypatch)
    window.opener.open_path(tree)
    qtbot.waitUntil(lambda: window.state.stack is not None, timeout=20000)
    first = window.state.stack
    release.set()
    assert first.ragged and first.headers_pending
    wait_idle(window)
    stack = window.state.stack
    assert not stack.ragged and stack.in_memory and stack.shape == (6, 30, 40, 3)
    assert stack.names == tuple(ORDER) and stack.summary == first.summary
    np.testing.assert_array_equal(stack.array, np.stack(by_pillow(tree)))
