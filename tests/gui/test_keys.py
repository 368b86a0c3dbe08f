"""Keys reach the viewer wherever the focus is, except while a number is being typed."""

from __future__ import annotations

import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QApplication


def focused():
    return QApplication.focusWidget()


def press(qtbot, key, modifier=Qt.NoModifier):
    """A key press as the user makes it: to whatever has the focus."""
    qtbot.keyClick(focused(), key, modifier)


def type_into(qtbot, spin, text):
    spin.setFocus()
    assert focused() is spin
    spin.selectAll()
    qtbot.keyClicks(spin, text)


NAV_KEYS = [(Qt.Key_Right, 12, 13), (Qt.Key_Left, 12, 11), (Qt.Key_Home, 12, 0),
            (Qt.Key_End, 12, 99), (Qt.Key_PageDown, 12, 22), (Qt.Key_PageUp, 12, 2)]


@pytest.mark.parametrize("key, start, end", NAV_KEYS)
def test_keys_work_after_typing_in_the_index_box(qtbot, sample_window, key, start, end):
    w = sample_window
    spin = w.panel("navigation").spin
    type_into(qtbot, spin, str(start))
    assert w.state.index == 0                 # typing alone does not jump yet
    press(qtbot, Qt.Key_Return)
    assert w.state.index == start
    press(qtbot, key)
    assert w.state.index == end and spin.value() == end


def test_space_plays_after_typing_in_the_index_box(qtbot, sample_window):
    w = sample_window
    type_into(qtbot, w.panel("navigation").spin, "7")
    press(qtbot, Qt.Key_Enter)                # the keypad's Enter commits too
    assert w.state.index == 7
    press(qtbot, Qt.Key_Space)
    assert w.player.playing
    press(qtbot, Qt.Key_Space)
    assert not w.player.playing


def test_keys_work_after_typing_in_the_bins_box(qtbot, sample_window):
    w = sample_window
    w.state.set_index(4)
    type_into(qtbot, w.panel("settings").bins_spin, "64")
    press(qtbot, Qt.Key_Return)
    assert w.state.bins == 64
    press(qtbot, Qt.Key_Right)
    assert w.state.index == 5 and w.state.bins == 64
    press(qtbot, Qt.Key_Left)
    assert w.state.index == 4


def test_keys_edit_the_text_while_typing_and_escape_reverts(qtbot, sample_window):
    w = sample_window
    w.state.set_index(30)
    spin = w.panel("navigation").spin
    type_into(qtbot, spin, "45")
    press(qtbot, Qt.Key_Left)                 # moves the text cursor, not the image
    press(qtbot, Qt.Key_Home)
    press(qtbot, Qt.Key_Space)
    assert w.state.index == 30 and focused() is spin
    press(qtbot, Qt.Key_Escape)
    assert w.state.index == 30 and spin.value() == 30 and spin.text() == "30"
    assert focused() is w.panel("images").views       # back to the images
    press(qtbot, Qt.Key_Right)
    assert w.state.index == 31


def test_escape_in_the_bins_box_reverts(qtbot, sample_window):
    w = sample_window
    spin = w.panel("settings").bins_spin
    type_into(qtbot, spin, "12")
    press(qtbot, Qt.Key_Escape)
    assert spin.value() == 256 and spin.text() == "256" and w.state.bins == 256
    assert focused() is w.panel("images").views


def test_a_focused_box_that_is_not_being_edited_leaves_keys_to_the_viewer(qtbot, sample_window):
    w = sample_window
    w.state.set_index(3)
    spin = w.panel("navigation").spin
    spin.setFocus()                           # clicked into, nothing typed
    press(qtbot, Qt.Key_Right)
    assert w.state.index == 4
    press(qtbot, Qt.Key_Up)                   # the box's own keys still step it
    assert w.state.index == 5


def bound_shortcuts(window):
    """Every window-wide shortcut: key text -> the action's text (menus' and panels')."""
    from PyQt5.QtGui import QKeySequence
    from PyQt5.QtWidgets import QAction
    found = {}
    for action in window.findChildren(QAction):
        for sequence in action.shortcuts():
            if action.shortcutContext() != Qt.WidgetWithChildrenShortcut:
                found[sequence.toString(QKeySequence.PortableText)] = action.text()
    return found


def test_every_bound_key_is_in_the_table_and_every_table_key_is_bound(sample_window):
    from PyQt5.QtGui import QKeySequence

    from histeq_gui.gui.bindings import BINDINGS
    bound = bound_shortcuts(sample_window)
    table = {QKeySequence(key).toString(QKeySequence.PortableText): b
             for b in BINDINGS for key in b.keys}
    actions = {key for key, b in table.items() if b.action}
    assert set(bound) - set(table) == set(), "keys bound in the window but not in the table"
    assert actions - set(bound) == set(), "keys in the table that nothing binds"
    for key in ("Ctrl+1", "Ctrl+4", "Ctrl+6", "Ctrl+Shift+E", "Ctrl+E", "F1"):
        assert key in bound


def test_the_views_keys_are_the_tables(qtbot, sample_window):
    from histeq_gui.gui.bindings import keys_of
    for name, action in sample_window.views.actions.items():
        assert action.shortcut().toString() == keys_of(f"view:{name}")[0]
    qtbot.keyClick(sample_window, Qt.Key_5, Qt.ControlModifier)
    assert sample_window.views.view == "worked-table"
    qtbot.keyClick(sample_window, Qt.Key_1, Qt.ControlModifier)
    assert sample_window.views.view == "viewer"


def test_f1_lists_every_binding(qtbot, sample_window):
    import html
    import re

    from histeq_gui.gui.bindings import BINDINGS
    qtbot.keyClick(sample_window, Qt.Key_F1)
    box = sample_window.help.box
    qtbot.waitUntil(box.isVisible)
    text = html.unescape(re.sub("<[^>]+>", " ", sample_window.help.text.toHtml()))
    for b in BINDINGS:
        assert " / ".join(b.keys) in text and b.what in text
    for key in ("Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+4", "Ctrl+5", "Ctrl+6", "Ctrl+Shift+E"):
        assert key in text
    box.close()


def test_the_readme_keys_are_the_tables():
    import subprocess
    import sys
    from pathlib import Path

    from histeq_gui.gui.bindings import markdown_table
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- keys-table -->\n", "<!-- /keys-table -->"
    assert readme.count(start) == 1 and readme.count(end) == 1
    assert readme.split(start)[1].split(end)[0] == markdown_table(), \
        "run scripts/update_readme.py"
    check = subprocess.run([sys.executable, str(root / "scripts" / "update_readme.py"),
                            "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
