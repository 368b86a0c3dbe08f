"""One worker abstraction for every long job: loading, stack histograms, export.

A *job* is a function ``fn(report)`` run in its own :class:`QThread`.  It
calls ``report(stage, done, total)`` now and then; ``report`` raises
:class:`~histeq_gui.core.errors.Cancelled` once the job is cancelled, which is
how the core's ``progress`` callbacks stop a computation midway.  A job may
instead *return a generator* that yields ``(stage, done, total)`` (as
:func:`histeq_gui.core.export.export_steps` does); the worker drives it and
cancels by closing it, which lets the generator clean up after itself.

A :class:`Runner` owns the jobs of one kind.  Starting a new job cancels the
one before it (whose result is then dropped), so only the latest request
ever reaches the screen.  Results, errors and cancellations come back to the
GUI thread as callbacks; errors arrive as one line for the user, and
unexpected ones are logged with their traceback.
"""

from __future__ import annotations

import inspect
import logging
import re
import threading
import time
import weakref

from PyQt5.QtCore import QObject, QThread, pyqtSignal

from ..core.errors import Cancelled, StackError

__all__ = ["Job", "Runner", "user_message", "log_if_unexpected", "live_jobs"]

log = logging.getLogger(__name__)

_PROGRESS_INTERVAL = 0.05   # seconds between progress signals of one job
_all_jobs = weakref.WeakSet()


def live_jobs():
    """Jobs whose thread is still running (tests check this is empty at teardown)."""
    return [job for job in list(_all_jobs) if job.isRunning()]


def user_message(error):
    """The one line shown to the user for ``error``.

    :class:`StackError` and :class:`ValueError` (the core's messages for bad
    input) are shown as they are; anything else is a bug and says so.
    """
    lines = str(error).strip().splitlines()
    first = re.sub(r"\x1b\[[0-9;]*m", "", lines[0]).strip() if lines else ""
    if len(first) > 200:
        first = first[:197] + "..."
    if isinstance(error, (StackError, ValueError)):
        return first or type(error).__name__
    detail = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return f"Unexpected error ({detail}); details are in the log."


def log_if_unexpected(error, doing):
    """Log ``error`` with its traceback unless it is a message for the user (a bug, then)."""
    if not isinstance(error, (StackError, ValueError)):
        log.error("unexpected error while %s", doing, exc_info=error)


class Job(QThread):
    """A function run in a thread, with progress, cancellation and an outcome.

    Attributes
    ----------
    outcome : {"running", "done", "failed", "cancelled"}
    result : object
        What the function returned (or the generator's return value).
    error : BaseException or None
    """

    progressed = pyqtSignal(str, int, int)
    ended = pyqtSignal(object)  # emitted with the job itself, from the job's thread

    def __init__(self, fn, name=""):
        super().__init__()
        self.name = name
        self._fn = fn
        self._cancel = threading.Event()
        self._last_emit = 0.0
        self.outcome = "running"
        self.result = None
        self.error = None
        self.user_cancelled = False
        self.superseded = False
        _all_jobs.add(self)

    def cancel(self):
        """Ask the job to stop at its next progress report."""
        self._cancel.set()

    @property
    def cancel_requested(self):
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def report(self, stage, done, total):
        """Progress callback handed to the function; raises Cancelled once cancelled."""
        if self._cancel.is_set():
            raise Cancelled()
        now = time.monotonic()
        if now - self._last_emit >= _PROGRESS_INTERVAL or done >= total:
            self._last_emit = now
            self.progressed.emit(str(stage), int(done), int(total))

    def _drive(self, steps):
        while True:
            if self._cancel.is_set():
                steps.close()
                raise Cancelled()
            try:
                stage, done, total = next(steps)
            except StopIteration as stop:
                return stop.value
            self.report(stage, done, total)

    def run(self):
        """Thread body: run the function and record how it ended."""
        try:
            result = self._fn(self.report)
            if inspect.isgenerator(result):
                result = self._drive(result)
            self.result, self.outcome = result, "done"
        except Cancelled:
            self.outcome = "cancelled"
        except BaseException as exc:  # noqa: BLE001 - reported to the GUI thread
            self.error, self.outcome = exc, "failed"
            log_if_unexpected(exc, f"running job {self.name!r}")
        finally:
            self._fn = None
            self.ended.emit(self)


class Runner(QObject):
    """Runs jobs of one kind, one at a time as far as the user can tell.

    Signals
    -------
    busyChanged(bool)
        A job started, or the last one ended.
    progressed(str, int, int)
        Stage, done and total of the current job.
    """

    busyChanged = pyqtSignal(bool)
    progressed = pyqtSignal(str, int, int)

    def __init__(self, name="", parent=None):
        super().__init__(parent)
        self.name = name
        self._current = None
        self._jobs = set()         # every job whose thread may still run
        self._callbacks = {}

    @property
    def busy(self):
        """True while the current job runs."""
        return self._current is not None

    @property
    def current(self):
        """The job whose result will be delivered, or None."""
        return self._current

    def start(self, fn, *, on_done=None, on_error=None, on_cancel=None, name=None):
        """Run ``fn(report)`` in a new thread, cancelling the current job first.

        Parameters
        ----------
        fn : callable
            ``fn(report)``; may return a generator of ``(stage, done, total)``.
        on_done : callable, optional
            ``on_done(result)`` in the GUI thread.
        on_error : callable, optional
            ``on_error(message, error)`` in the GUI thread.
        on_cancel : callable, optional
            Called when the user cancelled this job with :meth:`cancel`
            (not when a newer job replaced it).
        name : str, optional
            For logs.

        Returns
        -------
        Job
        """
        was_busy = self.busy
        self.abandon(quiet=True)
        job = Job(fn, name or self.name)
        job.progressed.connect(self._on_progress)
        job.ended.connect(self._on_ended)
        self._callbacks[job] = (on_done, on_error, on_cancel)
        self._jobs.add(job)
        self._current = job
        job.start()
        if not was_busy:
            self.busyChanged.emit(True)
        return job

    def abandon(self, quiet=False):
        """Cancel the current job and drop its result, without any callback.

        Used when a newer request makes the job pointless (a new stack, a new
        scope).  ``busyChanged(False)`` is emitted unless ``quiet``.
        """
        job = self._current
        if job is not None:
            job.superseded = True
            job.cancel()
            self._current = None
            if not quiet:
                self.busyChanged.emit(False)

    def cancel(self):
        """Cancel the current job on behalf of the user (its ``on_cancel`` will run)."""
        job = self._current
        if job is not None:
            job.user_cancelled = True
            job.cancel()

    def _on_progress(self, stage, done, total):
        if self.sender() is self._current:
            self.progressed.emit(stage, done, total)

    def _on_ended(self, job):
        job.wait()                                   # the thread is about to exit; let it
        self._jobs.discard(job)
        on_done, on_error, on_cancel = self._callbacks.pop(job, (None, None, None))
        if job is not self._current or job.superseded:
            return
        self._current = None
        self.busyChanged.emit(False)
        if job.outcome == "done" and on_done is not None:
            on_done(job.result)
        elif job.outcome == "failed" and on_error is not None:
            on_error(user_message(job.error), job.error)
        elif job.outcome == "cancelled" and job.user_cancelled and on_cancel is not None:
            on_cancel()

    def wait(self, timeout_ms=None):
        """Block until every thread of this runner has ended; True if they all did."""
        deadline = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000
        for job in list(self._jobs):
            if deadline is None:
                job.wait()
            elif not job.wait(max(0, int((deadline - time.monotonic()) * 1000))):
                return False
        return True

    def shutdown(self):
        """Cancel everything and wait for the threads (call before the window closes)."""
        self.abandon()
        for job in list(self._jobs):
            job.cancel()
        self.wait()
        for job in list(self._jobs):
            self._jobs.discard(job)
            self._callbacks.pop(job, None)
