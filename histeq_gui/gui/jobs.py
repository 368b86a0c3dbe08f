"""The one helper for background work: loading, computing the view, stack histograms, export.

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
GUI thread as callbacks, once the job's thread has finished; errors arrive
as one line for the user, and all but :class:`StackError` are also logged
with their traceback.

Every background job of the viewer goes through a :class:`Runner`: the
file opener (loading), the view controller (big images, whole-stack
histograms) and the export dialog.  :func:`live_jobs` lists the threads still
running, which the tests check is empty after each test.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import weakref

from PyQt5.QtCore import QObject, QThread, pyqtSignal

from ..core.errors import Cancelled, StackError, first_line

__all__ = ["Job", "Runner", "user_message", "log_if_unexpected", "live_jobs", "left_running"]

log = logging.getLogger(__name__)

_PROGRESS_INTERVAL = 0.05   # seconds between progress signals of one job
_all_jobs = weakref.WeakSet()
_left_running = set()       # jobs a shutdown stopped waiting for: kept until the process ends


def live_jobs():
    """Jobs whose thread is still running (tests check this is empty at teardown)."""
    return [job for job in list(_all_jobs) if job.isRunning()]


def left_running():
    """Jobs a :meth:`Runner.shutdown` stopped waiting for that still run."""
    return [job for job in list(_left_running) if job.isRunning()]


def user_message(error):
    """The one line shown to the user for ``error``.

    :class:`StackError` and :class:`ValueError` (the core's messages for bad
    input) are shown as they are; anything else is a bug and says so.
    """
    if isinstance(error, (StackError, ValueError)):
        return first_line(error)
    detail = first_line(error)
    if detail != type(error).__name__:
        detail = f"{type(error).__name__}: {detail}"
    return f"Unexpected error ({detail}); details are in the log."


def log_if_unexpected(error, doing):
    """Log ``error`` with its traceback unless it is a message for the user.

    A :class:`StackError` is only a message.  Another :class:`ValueError` is
    shown to the user as it is too (the core's checks raise them), but may
    also come from a bug, so it is logged at WARNING with its traceback;
    anything else is a bug, logged at ERROR.
    """
    if isinstance(error, StackError):
        return
    if isinstance(error, ValueError):
        log.warning("error while %s", doing, exc_info=error)
    else:
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
        """Run the generator ``steps`` to its end and close it, however the job ends.

        Closing it here, in the job's thread, runs its clean-up (its
        ``finally`` blocks: removing temporary files) before the job ends,
        also when :meth:`report` raises Cancelled after a step, instead of
        whenever the generator happens to be garbage collected.
        """
        try:
            while True:
                if self._cancel.is_set():
                    raise Cancelled()
                try:
                    stage, done, total = next(steps)
                except StopIteration as stop:
                    return stop.value
                self.report(stage, done, total)
        finally:
            steps.close()

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
        job.finished.connect(self._on_finished)
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

    def _on_finished(self):
        # QThread.finished comes after run() has returned: the job's Python
        # code, a generator's clean-up included, is over, so this wait for the
        # thread's own exit returns at once and the GUI thread never blocks.
        job = self.sender()
        if job is None or job not in self._jobs:    # left behind by shutdown(): nothing to do
            return
        job.wait()
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

    def shutdown(self, timeout_ms=None):
        """Cancel everything and wait for the threads (call before the window closes).

        Parameters
        ----------
        timeout_ms : int, optional
            Wait at most this long (default: until every thread has ended).
            A job that has not stopped by then (one that cannot see the
            cancel, such as the compiler warming up) is left to end on its
            own: nothing of it is delivered, and it is kept alive meanwhile
            (a running QThread must not be destroyed).

        Returns
        -------
        bool
            True if every thread of this runner has ended.
        """
        self.abandon()
        for job in list(self._jobs):
            job.cancel()
        ended = self.wait(timeout_ms)
        for job in list(self._jobs):
            self._jobs.discard(job)
            self._callbacks.pop(job, None)
            if job.isRunning():
                _left_running.add(job)
        return ended
