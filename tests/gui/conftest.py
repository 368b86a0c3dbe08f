"""Fixtures for the viewer tests: a window with temporary settings, patched message boxes.

Every test checks at teardown that no worker thread is left running.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from PyQt5.QtCore import QEvent, QSize
from PyQt5.QtWidgets import QMessageBox

from histeq_gui.gui import jobs
from histeq_gui.gui.main_window import MainWindow
from histeq_gui.gui.preferences import Preferences


class MessageBoxes:
    """Records QMessageBox calls instead of showing them; ``answer`` is what question() returns."""

    def __init__(self):
        self.calls = []
        self.answer = QMessageBox.No

    def warning(self, parent, title, text, *args, **kwargs):
        self.calls.append(("warning", title, text))
        return QMessageBox.Ok

    def critical(self, parent, title, text, *args, **kwargs):
        self.calls.append(("critical", title, text))
        return QMessageBox.Ok

    def question(self, parent, title, text, *args, **kwargs):
        self.calls.append(("question", title, text))
        return self.answer

    def texts(self, kind=None):
        return [text for k, _, text in self.calls if kind is None or k == kind]


@pytest.fixture(autouse=True)
def collect_garbage_only_between_tests(qapp):
    """Python's cycle collector runs only here, after a test's windows are gone.

    Left to itself it runs at any allocation, and may free the Python side of
    Qt objects (graphics items of closed windows among them) while Qt still
    has events queued for them: the event loop then crashed, rarely and at
    random (seen in CI).  So it is switched off in the viewer's tests and run
    at teardown, once the deleted widgets' deferred deletions are done.
    """
    gc.disable()
    yield
    qapp.sendPostedEvents(None, QEvent.DeferredDelete)
    qapp.processEvents()
    gc.collect()
    qapp.processEvents()


@pytest.fixture(autouse=True)
def message_boxes(monkeypatch):
    """No test ever blocks on a modal message box."""
    boxes = MessageBoxes()
    monkeypatch.setattr(QMessageBox, "warning", boxes.warning)
    monkeypatch.setattr(QMessageBox, "critical", boxes.critical)
    monkeypatch.setattr(QMessageBox, "question", boxes.question)
    return boxes


@pytest.fixture(autouse=True)
def no_thread_left(qapp):
    """Fail a test that leaves a worker thread running."""
    yield
    qapp.processEvents()
    running = jobs.live_jobs()
    for job in running:
        job.cancel()
        job.wait(5000)
    assert not running, f"threads left running: {[job.name for job in running]}"


@pytest.fixture
def settings_file(tmp_path):
    return tmp_path / "settings" / "histeq-gui.ini"


@pytest.fixture
def prefs(settings_file):
    """Preferences in a temporary INI file: the user's settings are never touched."""
    settings_file.parent.mkdir()
    return Preferences.from_file(settings_file)


@pytest.fixture
def window(qtbot, prefs):
    """An empty main window, shown offscreen and active (so window shortcuts work)."""
    w = MainWindow(prefs)
    w.fit(QSize(1400, 860))        # the offscreen screen is only 800x600
    w.show()
    w.activateWindow()
    qtbot.waitExposed(w)
    yield w
    w.close()
    w.deleteLater()


@pytest.fixture
def wait_idle(qtbot):
    """``wait_idle(window)``: wait until a stack is shown and no job of the view runs."""
    def wait(window, timeout=20000):
        qtbot.waitUntil(lambda: not window.busy and window.state.stack is not None,
                        timeout=timeout)
    return wait


@pytest.fixture
def sample_window(window, wait_idle):
    """The main window showing the bundled sample stack."""
    window.opener.open_sample()
    wait_idle(window)
    return window


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
