"""CleanVision's checks in the viewer: columns and filters, duplicate sets side by side, the range.

The stack is real LFW faces with planted odd images: a dark face, a copy of
face 3, a brighter twin of face 3 (the same perceptual hash: a near
duplicate), two copies of face 8 alone (an exact set, not a near set) and a
blurred face.  Every expected value comes from
:func:`histeq_gui.core.stats.image_stats` called here.
"""

from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import Qt
from skimage import data, transform

from histeq_gui.core.stats import image_stats
from histeq_gui.gui.inspection import FLAGS, flag_bits, image_set
from histeq_gui.gui.panels.stats_table import IMAGE_ROLE
from histeq_gui.gui.stack_file import LoadedStack
from histeq_gui.gui.thumbnails import ORIGINAL, Thumbnails

NEAR = (3, 21, 22)          # face 3, its copy, its brighter twin
PAIR = (8, 30)              # face 8 and its copy: an exact set only
BLURRED = 12


def checked_faces():
    faces = np.rint(data.lfw_subset()[:36] * 255).astype(np.uint8)
    faces[5] //= 6                                                     # dark
    faces[21] = faces[3]
    faces[22] = np.clip(faces[3].astype(np.int16) + 12, 0, 255)
    faces[30] = faces[8]
    small = transform.resize(faces[BLURRED] / 255, (6, 6), anti_aliasing=True)
    faces[BLURRED] = np.rint(transform.resize(small, (25, 25), order=3) * 255)
    return faces[:, None]


@pytest.fixture(scope="module")
def faces():
    return checked_faces()


@pytest.fixture
def checks_window(window, qtbot, faces, wait_idle):
    window.opener.set_stack(LoadedStack.from_array(faces))
    wait_idle(window)
    window.show_view("stats")
    qtbot.waitUntil(lambda: window.inspection.table is not None and not window.inspection.busy,
                    timeout=20000)
    return window


def rows_of(panel):
    model = panel.model
    return [model.data(model.index(r, 0), IMAGE_ROLE) for r in range(model.rowCount())]


def test_the_planted_images_are_what_the_checks_say(faces):
    table = image_stats(faces)
    assert table["near_duplicate_of"][list(NEAR)].tolist() == [3, 3, 3]
    assert table["is_duplicate"][PAIR[1]] and not table["is_near_duplicate"][list(PAIR)].any()
    assert table["is_blurry"][BLURRED] and table["is_dark"][5]
    assert image_set(table, 22)[0] == "near duplicate"
    assert image_set(table, 8)[0] == "duplicate" and image_set(table, 8)[1].tolist() == [8, 30]
    assert image_set(table, 0) is None


def test_every_check_has_its_column_and_filter(checks_window, faces):
    w = checks_window
    panel = w.panel("stats")
    expected = image_stats(faces)
    assert sorted(panel.model.columns) == sorted(expected)
    for column in ("is_blurry", "is_near_duplicate", "is_grayscale"):
        panel.filter_combo.setCurrentIndex(panel.filter_combo.findData(column))
        shown = rows_of(panel)
        assert sorted(shown) == np.flatnonzero(expected[column]).tolist(), column
    assert BLURRED in np.flatnonzero(expected["is_blurry"])
    blurry = panel.model.index(0, panel.model.column_of("blurry_score"))
    panel.filter_combo.setCurrentIndex(panel.filter_combo.findData("is_blurry"))
    tip = panel.model.data(blurry, Qt.ToolTipRole)
    assert "blurry" in tip and "< 0.29" in tip


def test_a_gray_stack_is_not_flagged_grayscale_everywhere(checks_window, faces):
    table = image_stats(faces)
    assert table["is_grayscale"].all()                 # CleanVision's flag: every image
    bits = flag_bits(table)
    assert not (bits & FLAGS["is_grayscale"][0]).any()
    panel = checks_window.panel("stats")
    panel.filter_combo.setCurrentIndex(panel.filter_combo.findData("flagged"))
    assert len(rows_of(panel)) < len(faces)
    mixed = image_stats([faces[0, 0], np.stack([faces[1, 0]] * 3, axis=-1)],
                        channel_axis="auto")
    gray_bit = FLAGS["is_grayscale"][0]
    assert (flag_bits(mixed) & gray_bit).tolist() == [gray_bit, 0]     # among colour: flagged


def test_the_near_duplicate_filter_shows_each_set_together(checks_window, faces):
    w = checks_window
    panel = w.panel("stats")
    panel.filter_combo.setCurrentIndex(panel.filter_combo.findData("is_near_duplicate"))
    rows = rows_of(panel)
    table = image_stats(faces)
    sets = table["near_duplicate_of"][rows]
    assert sorted(rows) == np.flatnonzero(table["is_near_duplicate"]).tolist()
    changes = np.flatnonzero(sets[1:] != sets[:-1])
    assert len(changes) == len(set(sets)) - 1          # each set's members in a row
    assert w.panel("grid").grid._rows.tolist() == rows


def test_clicking_a_member_in_the_table_shows_its_set_in_the_grid(qtbot, checks_window):
    w = checks_window
    panel, grid_panel = w.panel("stats"), w.panel("grid")
    view = panel.view
    cell = panel.model.index(22, panel.model.column_of("mean"))
    view.scrollTo(cell)
    rect = view.visualRect(cell)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=rect.center())
    assert w.state.index == 22
    assert grid_panel.grid._rows.tolist() == list(NEAR)
    assert w.inspection.focus[0] == "near duplicate"
    assert "near duplicate set of image 22: 3 images" in grid_panel.set_label.text()
    assert grid_panel.show_all_button.isVisibleTo(grid_panel)
    # a plain image: the grid shows the table's rows again
    rect = view.visualRect(panel.model.index(1, 2))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=rect.center())
    assert w.inspection.focus is None
    assert grid_panel.grid._rows.tolist() == list(range(len(w.inspection.rows)))
    assert not grid_panel.show_all_button.isVisibleTo(grid_panel)


def test_clicking_a_member_in_the_grid_shows_its_set_until_show_all(qtbot, checks_window):
    w = checks_window
    w.docks["grid"].raise_()
    grid_panel = w.panel("grid")
    grid = grid_panel.grid
    qtbot.waitUntil(lambda: grid.isVisible() and grid.viewport().width() > 200)
    rect = grid._cell_rect(PAIR[0])                     # image order: position = index
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=rect.center())
    assert w.state.index == PAIR[0]
    assert grid._rows.tolist() == list(PAIR)
    assert "duplicate set of image 8: 2 images" in grid_panel.set_label.text()
    qtbot.mouseClick(grid_panel.show_all_button, Qt.LeftButton)
    assert w.inspection.focus is None and len(grid._rows) == len(w.inspection.rows)
    # Escape in the grid leaves a set too
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=grid._cell_rect(NEAR[0]).center())
    assert grid._rows.tolist() == list(NEAR)
    qtbot.keyClick(grid, Qt.Key_Escape)
    assert w.inspection.focus is None


def test_the_caption_names_the_value_range(qtbot, window, wait_idle):
    photos = [data.camera(), data.moon(), data.coins()[:, :384]]
    twelve = np.stack([np.rint(200 + p[:128, :128] / 255 * 3895) for p in photos])
    window.opener.set_stack(LoadedStack.from_array(twelve.astype(np.uint16)))
    wait_idle(window)
    window.show_view("stats")
    qtbot.waitUntil(lambda: window.inspection.table is not None and not window.inspection.busy,
                    timeout=20000)
    label = window.panel("stats").range_label
    assert label.isVisibleTo(window.panel("stats"))
    assert "12-bit range 0..4095" in label.text() and "CleanVision 0.3.7" in label.text()
    assert not window.inspection.table["is_dark"].any()


def test_one_outlier_turns_no_other_original_thumbnail_black():
    """The originals are drawn with the stack's saturated percentiles, not its extremes.

    One value among 7,500 moves those percentiles by one rank at most: a
    thumbnail may change by one gray level, never go black.
    """
    from test_thumbnails import pixels

    faces = data.lfw_subset()[:12].astype(np.float32) * 2.0            # floats beyond [0, 1]
    outlier, neighbour = faces.copy(), faces.copy()
    outlier[3, 10, 10] = 1e30
    neighbour[3, 10, 10] = faces[3, 10, 11]
    stacks = [LoadedStack.from_array(s) for s in (outlier, neighbour)]
    made = [Thumbnails(stack, size=25).make(ORIGINAL, range(12)) for stack in stacks]
    assert stacks[0].levels[1] > 1e29                   # the stack's range: all else black
    for i in range(12):
        if i != 3:
            a, b = pixels(made[0][i]), pixels(made[1][i])
            assert np.abs(a - b).max() <= 1 and a.max() > 100, i
