"""The viewer never waits on the compiler (issue 6 item 16).

The viewer runs with the engine's "ready" kernels: the NumPy twins until the
compiled loops of a dtype are prepared in a background thread.  Here the
preparing function is replaced by one that blocks on an Event (then runs the
real ``warm_up``), so the tests decide when the compiler "finishes".
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from histeq_gui.core.engine import backend
from histeq_gui.core.equalize import warm_up
from histeq_gui.core.methods import METHODS
from histeq_gui.gui import controller as controller_module
from histeq_gui.gui import warmup
from histeq_gui.gui.stack_file import LoadedStack

ROOT = Path(__file__).resolve().parents[2]


class BlockedWarmUp:
    """A warm_up that waits for :attr:`go`, records its dtypes, then runs the real one."""

    def __init__(self):
        self.go = threading.Event()
        self.started = threading.Event()
        self.dtypes = []

    def __call__(self, dtype, progress=None):
        self.dtypes.append(np.dtype(dtype).name)
        self.started.set()
        if not self.go.wait(60):
            raise RuntimeError("the test never let the warm-up go on")
        warm_up(dtype, progress=progress)


@pytest.fixture
def blocked(monkeypatch):
    """The viewer's kernels ("ready"), nothing prepared yet, warm-up blocked until go.set()."""
    assert warmup.wait_for_kernels(30), "a warm-up of another test still runs"
    monkeypatch.setattr(backend, "_ready", set())           # as in a fresh process
    old = backend.set_default("ready")
    monkeypatch.setattr(controller_module, "WARM_UP_DELAY_MS", 0)
    fake = BlockedWarmUp()
    monkeypatch.setattr(warmup._preparer, "warm_up", fake)
    yield fake
    fake.go.set()
    assert warmup.wait_for_kernels(60)
    backend.set_default(old)


def kernels_used(monkeypatch):
    """Record the kernels module the engine picks, call by call."""
    used = []
    real = backend.kernels_for

    def spy(dtype):
        module = real(dtype)
        used.append((module.__name__.rsplit(".", 1)[-1], np.dtype(dtype).name))
        return module
    monkeypatch.setattr(backend, "kernels_for", spy)
    return used


def test_first_image_is_shown_with_numpy_before_the_kernels_are_ready(
        window, qtbot, blocked, monkeypatch, rng):
    used = kernels_used(monkeypatch)
    data = (rng.random((4, 40, 30)) ** 2 * 255).astype(np.uint8)
    window.state.set_stack(LoadedStack.from_array(data), index=1)
    result = window.controller.result
    # Shown at once, computed by the NumPy twins: the compiler has not run.
    assert result is not None and result.equalized is not None
    assert used and {module for module, _ in used} == {"numpy_kernels"}
    qtbot.waitUntil(blocked.started.is_set, timeout=5000)
    assert warmup.preparing() and not backend.is_ready(np.uint8)
    # The status bar says what runs, while it runs (the GUI thread is free).
    progress = window.status_bar.progress
    qtbot.waitUntil(lambda: progress.isVisible(), timeout=5000)
    assert progress.label.text().startswith("Preparing fast kernels")
    first = result.equalized.copy()
    window.state.set_index(2)                  # paging still works, with NumPy
    window.state.set_index(1)
    np.testing.assert_array_equal(window.controller.result.equalized, first)
    assert {module for module, _ in used} == {"numpy_kernels"}

    blocked.go.set()
    qtbot.waitUntil(lambda: not warmup.preparing(), timeout=60000)
    assert sorted(blocked.dtypes) == ["float64", "uint8"]
    assert backend.is_ready(np.uint8) and backend.is_ready(np.float64)
    qtbot.waitUntil(lambda: not progress.isVisible(), timeout=5000)

    # Now the compiled loops: the same bits as the NumPy ones shown first.
    used.clear()
    window.state.set_index(2)
    window.state.set_index(1)
    assert {module for module, _ in used} == {"kernels"}
    again = window.controller.result
    assert again.equalized.dtype == first.dtype
    assert again.equalized.tobytes() == first.tobytes()
    for a, b in zip(again.equalized_histograms, result.equalized_histograms):
        assert a.counts.tobytes() == b.counts.tobytes()
        assert a.edges.tobytes() == b.edges.tobytes()


def test_a_new_dtype_is_shown_at_once_and_prepared_in_the_background(
        window, qtbot, blocked, monkeypatch, rng):
    blocked.go.set()
    window.state.set_stack(LoadedStack.from_array(rng.integers(0, 255, (3, 16, 16),
                                                               dtype=np.uint8)))
    qtbot.waitUntil(lambda: backend.is_ready(np.uint8) and not warmup.preparing(),
                    timeout=60000)
    blocked.go.clear()
    used = kernels_used(monkeypatch)
    data = rng.normal(1000, 300, (3, 20, 20)).astype(np.int16)
    window.state.set_stack(LoadedStack.from_array(data))
    assert window.controller.result.equalized is not None
    # int16 is not prepared yet: NumPy; its equalized float64 images: compiled.
    assert ("numpy_kernels", "int16") in used and ("kernels", "int16") not in used
    qtbot.waitUntil(lambda: "int16" in blocked.dtypes, timeout=5000)
    assert not backend.is_ready(np.int16)
    blocked.go.set()
    qtbot.waitUntil(lambda: backend.is_ready(np.int16), timeout=60000)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32", "float64"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scope", ["image", "stack"])
def test_numpy_and_compiled_kernels_give_the_viewer_the_same_bits(dtype, method, scope):
    """What the viewer shows before and after the switch: bit for bit the same."""
    from skimage import data as photos

    from histeq_gui.core.methods import get_method
    from histeq_gui.gui.compute import compute_view, stack_histograms

    image = photos.camera()[::4, ::4]
    if np.dtype(dtype).kind == "f":
        stack = (image / 255.0).astype(dtype)[None] ** 1.5
    else:
        stack = (image.astype(np.int64) * (np.iinfo(dtype).max // 255)).astype(dtype)[None]
    if not get_method(method).supports(stack.dtype):
        pytest.skip(f"{method} does not take {dtype}")
    if scope not in get_method(method).scopes:
        pytest.skip(f"{method} has no {scope!r} scope")
    loaded = LoadedStack.from_array(np.concatenate([stack, stack[:, ::-1]]))
    views = {}
    for choice in ("numpy", "compiled"):
        with backend.use(choice):
            m = get_method(method)
            hists = stack_histograms(loaded, m, 64) if scope == "stack" else None
            views[choice] = compute_view(loaded, 1, m, 64, scope, hists)
    a, b = views["numpy"], views["compiled"]
    assert a.error is None and b.error is None
    assert a.equalized.tobytes() == b.equalized.tobytes()
    for ha, hb in zip(a.equalized_histograms, b.equalized_histograms):
        assert ha.counts.tobytes() == hb.counts.tobytes()
        assert ha.edges.tobytes() == hb.edges.tobytes()


def test_closing_the_window_while_the_kernels_are_prepared_ends_the_process(tmp_path):
    """A warm-up that would take ten minutes does not keep the closed viewer alive."""
    script = textwrap.dedent("""
        import sys, time
        from PyQt5.QtCore import QTimer
        from PyQt5.QtWidgets import QApplication
        from histeq_gui.gui import app, warmup

        def forever(dtype, progress=None):
            print("warming", flush=True)
            time.sleep(600)
        warmup._preparer.warm_up = forever

        def close_when_warming():
            if warmup.preparing():
                QApplication.instance().closeAllWindows()
            else:
                QTimer.singleShot(50, close_when_warming)

        real = app._arrange
        def arrange(window, args):
            real(window, args)
            QTimer.singleShot(50, close_when_warming)
        app._arrange = arrange
        sys.exit(app.main(["--settings", sys.argv[1]]))
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    env.pop("HISTEQ_GUI_REPORT_START", None)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "s.ini")], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "warming" in done.stdout
    assert "not waiting for the fast kernels" in done.stderr


def test_the_statistics_loops_are_prepared_after_every_engine_dtype(monkeypatch):
    """The views' kernels first (the stack's dtype, then float64), then the statistics' loops."""
    from histeq_gui.core import stats

    assert warmup.wait_for_kernels(30), "a warm-up of another test still runs"
    monkeypatch.setattr(backend, "_ready", set())           # as in a fresh process
    monkeypatch.setattr(warmup._preparer, "statistics_done", set())
    calls = []
    gate = threading.Event()

    def engine(dtype, progress=None):
        gate.wait(30)                   # both requests are queued before anything runs
        calls.append(("engine", dtype.name))
        backend.mark_ready(dtype)
    monkeypatch.setattr(warmup._preparer, "warm_up", engine)
    monkeypatch.setattr(stats, "warm_up", lambda dtype: calls.append(("stats", dtype.name)))
    assert warmup._preparer.request(np.dtype(np.uint8), statistics=True)
    assert warmup._preparer.request(np.dtype(np.float64))
    assert not warmup._preparer.request(np.dtype(np.uint8), statistics=True)   # on the way
    gate.set()
    assert warmup.wait_for_kernels(30)
    assert calls == [("engine", "uint8"), ("engine", "float64"), ("stats", "uint8")]
    assert not warmup._preparer.statistics_needed(np.dtype(np.uint8))


def test_the_statistics_warm_up_describes_a_tiny_image_of_the_dtype(monkeypatch):
    from histeq_gui.core import stats

    seen = []
    real = stats.image_stats
    monkeypatch.setattr(stats, "image_stats", lambda images, **kw: seen.append(
        np.asarray(images).dtype) or real(images, **kw))
    stats.warm_up(np.float32)
    assert seen and all(d == np.float32 for d in seen)
