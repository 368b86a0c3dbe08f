"""Playback speed: the fps box beside the slider sets it, the player keeps to it, it is kept."""

from __future__ import annotations

import pytest
from PyQt5.QtCore import Qt

from histeq_gui.gui.main_window import MainWindow
from histeq_gui.gui.player import DEFAULT_FPS, MAX_FPS, check_fps


def test_the_fps_box_sets_the_speed_and_it_is_remembered(qtbot, sample_window, prefs):
    w = sample_window
    nav, player = w.panel("navigation"), w.player
    assert nav.fps_spin.value() == player.fps == DEFAULT_FPS
    nav.fps_spin.setValue(25)
    assert player.fps == 25 and player._timer.interval() == 40
    qtbot.keyClick(w.panel("images"), Qt.Key_Space)
    assert player.playing
    with qtbot.waitSignal(w.state.indexChanged, timeout=5000):
        pass                                    # it steps, at the new speed's interval
    qtbot.keyClick(w.panel("images"), Qt.Key_Space)
    assert not player.playing
    player.set_fps(3)                           # the box follows the player
    assert nav.fps_spin.value() == 3 and player._timer.interval() == 333
    again = MainWindow(prefs)
    qtbot.addWidget(again)
    try:
        assert again.player.fps == 3 and again.panel("navigation").fps_spin.value() == 3
    finally:
        again.close()


@pytest.mark.parametrize("fps", [0, MAX_FPS + 1, 2.5, True, "8"])
def test_a_speed_out_of_range_is_refused_in_one_line(fps):
    with pytest.raises(ValueError, match=f"from 1 to {MAX_FPS}"):
        check_fps(fps)


def test_a_remembered_speed_that_is_not_valid_is_ignored(qtbot, prefs):
    prefs.set_fps(500)
    w = MainWindow(prefs)
    qtbot.addWidget(w)
    try:
        assert w.player.fps == DEFAULT_FPS
    finally:
        w.close()
