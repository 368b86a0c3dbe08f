"""Preparing the fast (compiled) kernels in the background, once per dtype and process.

After a fresh install numba compiles the engine's loops on their first use:
seconds per dtype.  The viewer never waits for that: it runs with the
engine's "ready" kernels (:mod:`histeq_gui.core.engine.backend`), the NumPy
loops until a dtype is prepared, and asks for the dtype of the stack it
shows to be prepared once its first image is on screen.  One daemon thread
per process runs :func:`histeq_gui.core.equalize.warm_up` for the dtypes
asked for, one after the other, and once every one asked for is ready,
:func:`histeq_gui.core.stats.warm_up` for the stack's dtype (the
statistics' loops, so that the first statistics after an install do not
wait for the compiler either) (the compiler cannot be interrupted, and
nothing must wait for it: not a window when it closes, nor the process when
it ends); when a dtype is done it is marked ready and the next computation
uses the compiled loops.  The results are the same bits either way, so
nothing shown needs redrawing.

Each window has its own :class:`KernelWarmUp`, which looks like a
:class:`~histeq_gui.gui.jobs.Runner` to the status bar's progress display
("Preparing fast kernels: uint8…", with Cancel, which stops after the method
being compiled; the viewer then stays on the NumPy loops for that dtype
until it is asked again).
"""

from __future__ import annotations

import logging
import threading
from collections import deque

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal

from ..core.engine import backend
from ..core.errors import Cancelled

__all__ = ["KernelWarmUp", "preparing", "wait_for_kernels"]

log = logging.getLogger(__name__)


class _Preparer:
    """The process's one preparing thread and its queue of dtypes (no Qt)."""

    def __init__(self):
        self.lock = threading.RLock()
        self.queue = deque()
        self.statistics = deque()   # dtypes whose statistics' loops come after the engine's
        self.statistics_done = set()
        self.thread = None
        self.current = None
        self.cancelled = threading.Event()
        self.listeners = set()
        self.warm_up = None         # the engine's warm-up; tests may put their own here

    def tell(self, *event):
        for listener in list(self.listeners):
            listener(*event)

    def needed(self, dtype):
        # Compared by their strings: a dtype equals None (np.dtype(None) is
        # float64), so comparing dtypes would take float64 for "nothing is being
        # prepared" and never ask for it.
        key = dtype.str
        with self.lock:
            return not backend.is_ready(dtype) and \
                all(key != queued.str for queued in self.queue) and \
                (self.current is None or key != self.current.str)

    def statistics_needed(self, dtype):
        with self.lock:
            return dtype.str not in self.statistics_done and \
                all(dtype.str != queued.str for queued in self.statistics)

    def request(self, dtype, statistics=False):
        with self.lock:
            engine = self.needed(dtype)
            statistics = statistics and self.statistics_needed(dtype)
            if not engine and not statistics:
                return False
            if engine:
                self.queue.append(dtype)
            if statistics:
                self.statistics.append(dtype)
            self.cancelled.clear()
            if self.thread is None:
                self.thread = threading.Thread(target=self.work, name="histeq-warm-up",
                                               daemon=True)
                self.tell("busy", True)
                self.thread.start()
            return True

    def cancel(self):
        with self.lock:
            self.queue.clear()
            self.statistics.clear()
            self.cancelled.set()

    def work(self):
        from ..core import stats
        from ..core.equalize import warm_up as engine_warm_up

        warm_up = self.warm_up or engine_warm_up
        while True:
            with self.lock:
                # The engine's dtypes first (the views need them), then the statistics'.
                statistics = not self.queue
                waiting = self.statistics if statistics else self.queue
                if not waiting:
                    self.thread = self.current = None
                    self.tell("busy", False)
                    return
                dtype = self.current = waiting.popleft()
            if statistics:
                self.tell("progress", f"{dtype.name} statistics", 0, 1)
                try:
                    stats.warm_up(dtype)
                except Exception:       # noqa: BLE001 - they compile when first used instead
                    log.exception("preparing the statistics' loops for %s failed", dtype.name)
                with self.lock:
                    self.statistics_done.add(dtype.str)
                continue

            def progress(done, total, name=dtype.name):
                if self.cancelled.is_set():
                    raise Cancelled()
                self.tell("progress", name, done, total)

            try:
                self.tell("progress", dtype.name, 0, 1)
                warm_up(dtype, progress=progress)
            except Cancelled:
                log.info("preparing the fast kernels for %s was cancelled", dtype.name)
                continue
            except Exception:       # noqa: BLE001 - the NumPy loops go on working
                log.exception("preparing the fast kernels for %s failed", dtype.name)
                continue
            self.tell("prepared", dtype.name)


_preparer = _Preparer()


class _Bridge(QObject):
    """The preparing thread's events, as one queued signal into the GUI thread."""

    event = pyqtSignal(object)              # (kind, *args)


_the_bridge = None


def _bridge():
    """The process's bridge (made in the GUI thread by the first window; never deleted)."""
    global _the_bridge
    if _the_bridge is None:
        _the_bridge = _Bridge()
        _preparer.listeners.add(lambda *event: _the_bridge.event.emit(event))
    return _the_bridge


def preparing():
    """True while the process prepares kernels (the viewer's exit does not wait for it)."""
    with _preparer.lock:
        return _preparer.thread is not None


def wait_for_kernels(timeout=None):
    """Block until the preparing thread has ended (tests, scripts); True if it has."""
    thread = _preparer.thread
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True


class KernelWarmUp(QObject):
    """A window's view of the preparing thread: ask for dtypes, follow the progress.

    Signals
    -------
    busyChanged(bool)
        Preparing started, or the last dtype asked for is done.
    progressed(str, int, int)
        The dtype being prepared (its name), methods done and their number.
    prepared(str)
        A dtype is ready: the engine's "ready" kernels use the compiled loops
        for it from now on.
    """

    busyChanged = pyqtSignal(bool)
    progressed = pyqtSignal(str, int, int)
    prepared = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        # The preparing thread never touches this object: it emits on the one
        # bridge of the process (made here, in the GUI thread, and never
        # deleted), whose queued signal reaches this window in the GUI thread
        # and is disconnected by Qt when the window is destroyed.  (Emitting on
        # a window's own object from the thread raced with its deletion.)
        _bridge().event.connect(self._on_event)

    _SIGNALS = {"busy": "busyChanged", "progress": "progressed", "prepared": "prepared"}

    def _on_event(self, event):
        kind, *args = event
        getattr(self, self._SIGNALS[kind]).emit(*args)

    @property
    def busy(self):
        """True while kernels are being prepared (for any window)."""
        return preparing()

    def needed(self, dtype):
        """True if the kernels of ``dtype`` are neither ready nor on the way."""
        return _preparer.needed(np.dtype(dtype).newbyteorder("="))

    def statistics_needed(self, dtype):
        """True if the statistics' loops for ``dtype`` are neither prepared nor on the way."""
        return _preparer.statistics_needed(np.dtype(dtype).newbyteorder("="))

    def request(self, dtype, statistics=False):
        """Prepare the kernels of ``dtype`` in the background, unless ready or on the way.

        With ``statistics``, the statistics' loops for ``dtype`` too, once
        every engine dtype asked for is ready.  Returns True if anything was
        queued.
        """
        return _preparer.request(np.dtype(dtype).newbyteorder("="), statistics)

    def cancel(self):
        """Stop after the method being compiled, and forget the dtypes waiting."""
        _preparer.cancel()

    def detach(self):
        """Stop following the preparing thread (the window closes)."""
        try:
            _bridge().event.disconnect(self._on_event)
        except TypeError:                   # not connected (any more)
            pass
