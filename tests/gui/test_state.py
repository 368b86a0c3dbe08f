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


def test_index_is_clamped(state):
    state.set_index(50)
    assert state.index == 9
    state.step(-100)
    assert state.index == 0


@pytest.mark.parametrize("setter, value", [("set_method", "cv2"), ("set_scope", "all"),
                                           ("set_bins", 1), ("set_bins", 4097)])
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
