"""The view controller on its own: results for the state, the stack cache, where work runs."""

from __future__ import annotations

import numpy as np
import pytest

from histeq_gui import equalize, histogram
from histeq_gui.gui import controller as controller_module
from histeq_gui.gui.controller import ViewController
from histeq_gui.gui.stack_file import LoadedStack
from histeq_gui.gui.state import ViewerState


@pytest.fixture
def state():
    return ViewerState()


@pytest.fixture
def controller(state):
    c = ViewController(state)
    yield c
    c.shutdown()


def noisy_stack(seed, n=6, shape=(24, 20)):
    """A uint8 stack whose whole-stack histogram differs from stack to stack."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 3.0)
    return (rng.random((n, *shape)) ** scale * 255).astype(np.uint8)


def test_results_follow_the_state_and_are_emitted(state, controller):
    seen = []
    controller.resultChanged.connect(seen.append)
    data = noisy_stack(1)
    state.set_stack(LoadedStack.from_array(data), index=2)
    assert seen[0] is None                  # the old stack's result is dropped first
    assert seen[-1] is controller.result and controller.result.index == 2
    np.testing.assert_array_equal(controller.result.equalized, equalize(data[2], "numpy", 256))
    state.set_bins(16)
    assert controller.result.bins == 16
    np.testing.assert_array_equal(controller.result.equalized, equalize(data[2], "numpy", 16))
    assert controller.problem() is None


def test_the_equalized_histogram_is_the_histogram_of_the_equalized_image(state, controller):
    data = noisy_stack(2)
    state.set_stack(LoadedStack.from_array(data), index=1)
    state.set_bins(32)
    result = controller.result
    [eq_hist] = result.equalized_histograms
    expected = histogram(equalize(data[1], "numpy", 32), "numpy", 32)
    np.testing.assert_array_equal(eq_hist.counts, expected.counts)
    np.testing.assert_array_equal(eq_hist.edges, expected.edges)
    original = histogram(data[1], "numpy", 32)
    assert not np.array_equal(eq_hist.counts, original.counts)
    assert not np.array_equal(eq_hist.edges, original.edges)


@pytest.mark.parametrize("in_a_job", [False, True])
def test_a_new_stack_never_uses_the_old_stacks_histogram(qtbot, monkeypatch, state, controller,
                                                         in_a_job):
    """Whole-stack scope: the cached stack histogram belongs to the stack it was made from."""
    if in_a_job:
        monkeypatch.setattr(controller_module, "SYNC_STACK_VALUES", 10)
    first, second = noisy_stack(3), noisy_stack(4)
    assert first.shape == second.shape and first.dtype == second.dtype
    state.set_scope("stack")
    state.set_stack(LoadedStack.from_array(first), index=1)
    qtbot.waitUntil(lambda: controller.result is not None and not controller.busy)
    np.testing.assert_array_equal(controller.result.equalized,
                                  equalize(first, "numpy", 256, scope="stack")[1])
    state.set_stack(LoadedStack.from_array(second), index=1)    # same method, bins, scope
    qtbot.waitUntil(lambda: controller.result is not None and not controller.busy)
    expected = equalize(second, "numpy", 256, scope="stack")[1]
    assert not np.array_equal(expected, equalize(first, "numpy", 256, scope="stack")[1])
    np.testing.assert_array_equal(controller.result.equalized, expected)
    np.testing.assert_array_equal(controller.result.histograms[0].counts,
                                  histogram(second, "numpy", 256).counts)


def test_big_images_go_to_a_job_and_the_newest_request_wins(qtbot, monkeypatch, state,
                                                            controller):
    monkeypatch.setattr(controller_module, "SYNC_IMAGE_VALUES", 100)
    busy = []
    controller.busyChanged.connect(busy.append)
    data = noisy_stack(5, n=5, shape=(64, 64))
    state.set_stack(LoadedStack.from_array(data))
    assert controller.busy and controller.result is None
    for i in range(5):
        state.set_index(i)
    qtbot.waitUntil(lambda: not controller.busy)
    assert controller.result.index == 4
    np.testing.assert_array_equal(controller.result.equalized, equalize(data[4], "numpy", 256))
    assert busy[0] is True and busy[-1] is False


def test_a_problem_is_announced_once_and_cleared(state, controller):
    problems = []
    controller.problemChanged.connect(problems.append)
    data = np.random.default_rng(6).random((3, 32, 32)).astype(np.float16)
    state.set_stack(LoadedStack.from_array(data))
    state.set_bins(4096)
    state.set_bins(4000)
    assert len(problems) == 2 and "too many bins (4096)" in problems[0]
    assert "too many bins (4000)" in problems[1] and controller.result.equalized is None
    state.set_bins(64)
    assert problems[-1] == "" and controller.problem() is None
