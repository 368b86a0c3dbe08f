"""Each panel and the state, both ways: widget -> state and state -> widget."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import Qt

from histeq_gui.gui.panels import ViewerContext
from histeq_gui.gui.panels.navigation import NavigationPanel
from histeq_gui.gui.panels.settings import (
    BINS_INTERVAL_MS,
    SLIDER_STEPS,
    SettingsPanel,
    bins_to_slider,
    slider_to_bins,
)
from histeq_gui.gui.player import Player
from histeq_gui.gui.stack_file import LoadedStack
from histeq_gui.gui.state import ViewerState


@pytest.fixture
def state():
    s = ViewerState()
    s.set_stack(LoadedStack.from_array(np.zeros((30, 8, 8), np.uint8)))
    return s


@pytest.fixture
def panel(qtbot, state):
    widget = SettingsPanel(ViewerContext(state))
    qtbot.addWidget(widget)
    widget.show()
    return widget


@pytest.fixture
def navigation(qtbot, state):
    player = Player(state)
    bar = NavigationPanel(ViewerContext(state, player=player))
    qtbot.addWidget(bar)
    bar.show()
    yield bar
    player.stop()


# ---------------------------------------------------------------------- method
def test_method_widget_to_state(panel, state):
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("skimage"))
    assert state.method == "skimage"
    assert panel.method_combo.currentText() == "skimage"   # the API's name, as is


def test_method_state_to_widget(panel, state):
    state.set_method("skimage")
    assert panel.method_combo.currentData() == "skimage"
    state.set_method("numpy")
    assert panel.method_combo.currentData() == "numpy"


# ---------------------------------------------------------------------- bins
def test_bins_spin_to_state_is_throttled(qtbot, panel, state):
    changes = []
    state.binsChanged.connect(changes.append)
    for value in (300, 301, 302, 303):
        panel.bins_spin.setValue(value)
    assert state.bins == 256                   # not yet: still typing / stepping
    qtbot.waitUntil(lambda: state.bins == 303, timeout=BINS_INTERVAL_MS * 20)
    assert changes == [303]                    # one recomputation, not four
    assert panel.bins_slider.value() == bins_to_slider(303)


def test_bins_slider_to_state(qtbot, panel, state):
    panel.bins_slider.setSliderDown(True)
    panel.bins_slider.setValue(bins_to_slider(8))
    assert panel.bins_spin.value() == 8        # the number follows the drag at once
    panel.bins_slider.setSliderDown(False)     # releasing commits without waiting
    panel.bins_slider.sliderReleased.emit()
    assert state.bins == 8


def test_bins_state_to_widgets(panel, state):
    state.set_bins(1000)
    assert panel.bins_spin.value() == 1000
    assert panel.bins_slider.value() == bins_to_slider(1000)


def test_commit_bins_now(panel, state):
    panel.bins_spin.setValue(64)
    panel.commit_bins()
    assert state.bins == 64


@pytest.mark.parametrize("bins", [3, 11, 100, 181, 362, 1200, 1448, 2900])
def test_slider_mapping_round_trips_between_powers_of_two(bins):
    assert slider_to_bins(0) == 1 and slider_to_bins(SLIDER_STEPS) == 65536
    assert abs(slider_to_bins(bins_to_slider(bins)) - bins) <= max(1, bins * 0.004)


@pytest.mark.parametrize("power", range(0, 17))
def test_the_slider_lands_on_every_power_of_two(qtbot, panel, state, power):
    bins = 2 ** power
    position = bins_to_slider(bins)
    assert slider_to_bins(position) == bins
    for near in range(-3, 4):               # a drag that stops close by snaps onto it
        if 0 <= position + near <= SLIDER_STEPS:
            assert slider_to_bins(position + near) == bins
    panel.bins_slider.setValue(position + 2 if position < SLIDER_STEPS else position - 2)
    panel.commit_bins()
    assert state.bins == bins and panel.bins_spin.value() == bins
    if power < 16:
        panel.bins_slider.setValue(position)
        qtbot.keyClick(panel.bins_slider, Qt.Key_PageUp)
        panel.commit_bins()
        assert state.bins == 2 * bins           # PgUp doubles


def test_the_spin_box_still_takes_any_bin_count(panel, state):
    panel.bins_spin.setValue(300)
    panel.commit_bins()
    assert state.bins == 300 and panel.bins_slider.value() == bins_to_slider(300)


def test_bins_limits(panel):
    assert (panel.bins_spin.minimum(), panel.bins_spin.maximum()) == (1, 65536)   # as histeq


# ---------------------------------------------------------------------- value-bins note
def test_value_bins_note_for_skimage_on_uint8(panel, state):
    assert not panel.bins_note.isVisible()
    state.set_method("skimage")
    assert panel.bins_note.isVisible()
    assert panel.bins_note.text() == ("skimage uses one bin per integer value for uint8 "
                                      "images; the bin count is ignored.")
    assert not panel.bins_spin.isEnabled() and not panel.bins_slider.isEnabled()
    state.set_method("opencv")                          # the note names the method
    assert panel.bins_note.text().startswith("opencv uses one bin per integer value")
    state.set_method("numpy")
    assert not panel.bins_note.isVisible()
    assert panel.bins_spin.isEnabled() and panel.bins_slider.isEnabled()


def test_clahe_on_16_bit_images_says_how_it_fills_its_bins(panel, state):
    state.set_stack(LoadedStack.from_array(np.full((3, 8, 8), 4000, np.uint16)))
    state.set_method("clahe")
    assert panel.bins_note.isVisible() and panel.bins_spin.isEnabled()
    assert panel.bins_note.text().startswith("CLAHE stretches each image's own min..max to 14 "
                                             "bits (scikit-image) before its 253 bins of 65")
    state.set_bins(1024)
    assert "its 964 bins of 17 levels" in panel.bins_note.text()        # 1 + 16384 // 1024
    state.set_param("value_range", "0,4095")
    assert panel.bins_note.text() == ("CLAHE bins the values 0..4095 (value_range) into 964 "
                                      "bins of 17 14-bit levels; values outside are clipped "
                                      "to them.")
    state.set_stack(LoadedStack.from_array(np.zeros((3, 8, 8), np.uint8)))   # 8-bit: no note
    assert not panel.bins_note.isVisible()


def test_no_value_bins_note_for_float_images(panel, state):
    state.set_stack(LoadedStack.from_array(np.zeros((3, 8, 8), np.float32)))
    state.set_method("skimage")
    assert not panel.bins_note.isVisible()
    assert panel.bins_spin.isEnabled()


def test_value_bins_note_follows_the_stack(panel, state):
    state.set_method("skimage")
    state.set_stack(LoadedStack.from_array(np.zeros((3, 8, 8), np.float64)))
    assert not panel.bins_note.isVisible()
    state.set_stack(LoadedStack.from_array(np.zeros((3, 8, 8), np.uint16)))
    assert panel.bins_note.isVisible() and "uint16" in panel.bins_note.text()


def test_value_bins_note_in_the_window(sample_window):
    w = sample_window
    w.state.set_method("skimage")
    assert w.panel("settings").bins_note.isVisible()
    assert "value bins" in w.panel("histograms").original.title()


# ---------------------------------------------------------------------- scope
def test_scope_widget_to_state(panel, state):
    panel.scope_buttons["stack"].click()
    assert state.scope == "stack"
    panel.scope_buttons["image"].click()
    assert state.scope == "image"


def test_scope_state_to_widget(panel, state):
    state.set_scope("stack")
    assert panel.scope_buttons["stack"].isChecked()
    state.set_scope("image")
    assert panel.scope_buttons["image"].isChecked()


# ---------------------------------------------------------------------- index
def test_index_slider_to_state(navigation, state):
    navigation.slider.setValue(12)
    assert state.index == 12
    assert navigation.spin.value() == 12


def test_index_spin_to_state(navigation, state):
    navigation.spin.setValue(7)
    assert state.index == 7
    assert navigation.slider.value() == 7


def test_index_state_to_widgets(navigation, state):
    state.set_index(29)
    assert navigation.slider.value() == 29 and navigation.spin.value() == 29
    assert navigation.slider.maximum() == 29 and navigation.spin.maximum() == 29


def test_index_range_follows_the_stack(navigation, state):
    state.set_stack(LoadedStack.from_array(np.zeros((5, 8, 8), np.uint8)), index=3)
    assert navigation.slider.maximum() == 4
    assert navigation.spin.value() == 3


def test_navigation_buttons(navigation, state):
    navigation.last_button.click()
    assert state.index == 29
    navigation.previous_button.click()
    assert state.index == 28
    navigation.first_button.click()
    assert state.index == 0
    navigation.next_button.click()
    assert state.index == 1


def test_play_button_and_loop(qtbot, navigation, state):
    state.set_index(28)
    navigation.play_button.click()
    assert navigation.player.playing
    qtbot.waitUntil(lambda: state.index == 0, timeout=3000)   # loops at the end
    navigation.play_button.click()
    assert not navigation.player.playing


def test_single_image_disables_navigation(navigation, state):
    state.set_stack(LoadedStack.from_array(np.zeros((8, 8), np.uint8)))
    assert not navigation.slider.isEnabled() and not navigation.play_button.isEnabled()
    navigation.player.play()
    assert not navigation.player.playing


def test_keyboard_on_the_bins_spin_box_edits_it(qtbot, panel, state):
    panel.bins_spin.setFocus()
    qtbot.keyClick(panel.bins_spin, Qt.Key_Up)
    assert panel.bins_spin.value() == 257
    panel.commit_bins()
    assert state.bins == 257


def test_dragging_the_bins_slider_updates_while_dragging(qtbot, panel, state):
    seen = []
    state.binsChanged.connect(seen.append)
    panel.bins_slider.setSliderDown(True)
    for position in range(200, 800, 10):          # a long drag, ~0.6 s
        panel.bins_slider.setValue(position)
        qtbot.wait(10)
    assert 2 <= len(seen) < 30                    # live, but not once per mouse move
    panel.bins_slider.setSliderDown(False)
    panel.bins_slider.sliderReleased.emit()
    assert state.bins == slider_to_bins(790)


def test_the_panel_contract_names_the_type_of_every_field():
    """ViewerContext's fields carry their real types (no Any), resolvable at run time."""
    import typing

    from histeq_gui.gui.controller import ViewController
    from histeq_gui.gui.inspection import Inspection
    from histeq_gui.gui.preferences import Preferences
    hints = typing.get_type_hints(ViewerContext)
    assert hints["state"] is ViewerState
    for name, kind in (("controller", ViewController), ("player", Player),
                       ("preferences", Preferences), ("inspection", Inspection)):
        assert hints[name] == kind | None
    assert typing.get_args(hints["notify"]) == ([str], None)
    assert typing.Any not in hints.values()
