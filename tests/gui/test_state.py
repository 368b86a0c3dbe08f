"""The viewer state: validation and change signals."""

from __future__ import annotations

import numpy as np
import pytest

from histeq_gui.gui.stack_file import LoadedStack
from histeq_gui.gui.state import ViewerState


@pytest.fixture
def state():
    s = ViewerState()
    s.set_stack(LoadedStack.from_array(np.zeros((10, 4, 4), np.uint8)))
    return s


def test_signals_only_on_change(state):
    seen = []
    state.changed.connect(lambda: seen.append("changed"))
    state.binsChanged.connect(lambda b: seen.append(("bins", b)))
    state.set_bins(256)
    assert seen == []
    state.set_bins(8)
    assert seen == [("bins", 8), "changed"]


@pytest.mark.parametrize("which", ["a", "b"])
def test_settings_a_and_b_are_one_model_with_the_same_signals(state, which):
    from histeq_gui.core.methods import get_method
    from histeq_gui.gui.setting import Setting
    setting = state.setting if which == "a" else state.compare
    assert type(setting) is Setting and state.setting is not state.compare
    seen = []
    for name in ("methodChanged", "scopeChanged", "paramsChanged", "changed"):
        getattr(setting, name).connect(lambda *args, name=name: seen.append((name, *args)))
    setting.set_method("numpy")
    setting.set_scope("stack")
    seen.clear()
    setting.set_method("clahe")              # no whole-stack scope: back to "image"
    assert seen == [("methodChanged", "clahe"), ("scopeChanged", "image"),
                    ("paramsChanged", {}), ("changed",)]
    assert setting.method_spec is get_method("clahe")
    setting.set_param("clip_limit", 0.05)
    setting.set_method("numpy")              # the scope asked for comes back
    assert setting.scope == "stack" and setting.params_of("clahe") == {"clip_limit": 0.05}
    other = state.compare if which == "a" else state.setting
    assert other.params_of("clahe") == {}    # A and B keep their own parameters


def test_the_states_signals_are_setting_as(state):
    seen = []
    for name in ("methodChanged", "scopeChanged", "paramsChanged", "changed"):
        getattr(state, name).connect(lambda *args, name=name: seen.append((name, *args)))
    state.compare.set_method("clahe")           # B: not the state's
    assert seen == []
    state.set_scope("stack")
    state.setting.set_method("match")           # A, through the setting itself
    assert seen == [("scopeChanged", "stack"), ("changed",), ("methodChanged", "match"),
                    ("scopeChanged", "image"), ("paramsChanged", {}), ("changed",)]


def test_index_is_clamped(state):
    state.set_index(50)
    assert state.index == 9
    state.step(-100)
    assert state.index == 0


@pytest.mark.parametrize("setter, value", [("set_method", "cv2"), ("set_scope", "all"),
                                           ("set_bins", 0), ("set_bins", 65537)])
def test_invalid_values_raise(state, setter, value):
    with pytest.raises(ValueError):
        getattr(state, setter)(value)


def test_value_bins(state):
    assert not state.value_bins
    state.set_method("skimage")
    assert state.value_bins
    state.set_stack(LoadedStack.from_array(np.zeros((2, 4, 4), np.float32)))
    assert not state.value_bins


def test_new_stack_resets_index(state):
    state.set_index(5)
    state.set_stack(LoadedStack.from_array(np.zeros((3, 4, 4), np.uint8)))
    assert state.index == 0


# ---------------------------------------------------------------------- display-only settings
def test_display_settings_never_ask_for_a_recomputation():
    s = ViewerState()
    changed, display, levels = [], [], []
    s.changed.connect(lambda: changed.append(1))
    s.displayChanged.connect(lambda: display.append(1))
    s.levelsChanged.connect(lambda: levels.append(1))
    s.set_levels_mode("percentile")
    s.set_saturated(1.0)
    s.set_manual_levels(0, 10)
    s.set_hist_range("dtype")
    s.set_log_counts(True)
    s.set_link_histograms(True)
    s.set_eq_scale("unit")
    s.set_probe(3.5)
    assert changed == [] and len(levels) == 3 and len(display) == 4
    assert s.levels_mode == "manual" and s.manual_levels == (0.0, 10.0)
    s.set_log_counts(True)                      # no change, no signal
    assert len(display) == 4


def test_display_settings_are_checked():
    s = ViewerState()
    for setter, bad in ((s.set_levels_mode, "bright"), (s.set_saturated, 100),
                        (s.set_hist_range, "all"), (s.set_eq_scale, "uint8")):
        with pytest.raises(ValueError):
            setter(bad)
    with pytest.raises(ValueError, match="below the high level"):
        s.set_manual_levels(5, 5)
    with pytest.raises(ValueError, match="need numbers"):
        s.set_levels_mode("manual")


def test_the_region_is_a_setting_and_follows_the_stack():
    s = ViewerState()
    changed = []
    s.changed.connect(lambda: changed.append(1))
    s.set_roi((2.4, 3.6, 10, 10))                 # whole pixels, before any stack
    assert s.roi == (2, 4, 10, 10) and changed == [1]
    s.set_stack(LoadedStack.from_array(np.zeros((3, 8, 8), np.uint8)))
    assert s.roi == (2, 4, 6, 4)                   # clipped to 8x8
    s.set_stack(LoadedStack.from_array(np.zeros((3, 3, 3), np.uint8)))
    assert s.roi is None                           # none of it left
    with pytest.raises(ValueError, match="x, y, width, height"):
        s.set_roi((1, 2, 3))
