"""Long work in napari's thread workers: napari's progress bar, a cancel, the newest request wins.

A :class:`Job` runs a generator of progress steps ``(stage, done, total)``
(:mod:`.stack_work`, :meth:`.session.Session.view_steps`) in a
:func:`napari.qt.threading.create_worker` thread, so napari's window never
waits for it; its steps move napari's progress bar.  Starting a job again
cancels the run before it (its result is dropped); :meth:`Job.cancel` (or
napari's own cancel of the task) stops a run at its next step, closing the
generator (whose helper threads stop at their next progress report).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator

from napari.qt.threading import create_worker

from ..core.errors import Cancelled, first_line

__all__ = ["Job"]


def _guarded(steps: Generator, cancel: threading.Event):
    """``steps`` step by step, raising Cancelled after a step once ``cancel`` is set."""
    try:
        while True:
            if cancel.is_set():
                raise Cancelled("cancelled")
            try:
                step = next(steps)
            except StopIteration as stop:
                return stop.value
            yield step
    finally:
        steps.close()


class Job:
    """One kind of background work of a widget (see the module docstring).

    Parameters
    ----------
    done : callable
        ``done(result)`` in the main thread when a run finishes.
    failed : callable
        ``failed(text)`` in the main thread with the one-line reason a run
        failed (a cancelled run is not a failure: ``cancelled()`` is called).
    description : str, optional
        Shown on napari's progress bar (in its activity dock, where napari
        also offers to cancel the task); without it no bar is shown (short
        work, such as one slice's preview).
    cancelled : callable, optional
        ``cancelled()`` when a run was cancelled (:meth:`cancel`, or napari's
        own cancel of the task).
    """

    def __init__(self, done: Callable[[object], None], failed: Callable[[str], None],
                 description: str | None = None,
                 cancelled: Callable[[], None] | None = None) -> None:
        self._done = done
        self._failed = failed
        self._cancelled = cancelled or (lambda: None)
        self.description = description
        self.worker = None
        self._cancel = None

    @property
    def running(self) -> bool:
        """True while a run is going."""
        return self.worker is not None

    def start(self, steps: Generator) -> None:
        """Run ``steps`` (a generator of progress steps returning the result), ending any run."""
        self.cancel(quietly=True)
        cancel = threading.Event()
        bar = {"total": 0, "desc": self.description} if self.description else None
        worker = create_worker(_guarded, steps, cancel, _start_thread=False,
                               _ignore_errors=True, _progress=bar)
        self.worker, self._cancel = worker, cancel
        worker.yielded.connect(lambda step, w=worker: self._step(w, step))
        worker.returned.connect(lambda result, w=worker: self._returned(w, result))
        worker.errored.connect(lambda exc, w=worker: self._errored(w, exc))
        # napari's cancel (worker.quit) stops the worker between steps: the steps end here
        worker.aborted.connect(lambda w=worker: self._aborted(w, steps))
        worker.start()

    def cancel(self, quietly: bool = False) -> None:
        """Stop the current run at its next step (``cancelled()`` unless ``quietly``)."""
        if self._cancel is not None:
            self._cancel.set()
        if self.worker is not None:
            self.worker.quit()
            self._finish(None)
            if not quietly:
                self._cancelled()

    def wait(self, timeout: float = 30.0) -> None:
        """Block until no worker thread of this job runs (for closing and tests)."""
        from qtpy.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(int(timeout * 1000))

    def _finish(self, worker):
        if worker is None or worker is self.worker:
            self.worker, self._cancel = None, None

    def _step(self, worker, step):
        bar = getattr(worker, "pbar", None)
        if worker is not self.worker or bar is None:
            return
        stage, done, total = step
        bar.total = int(total)
        bar.set_description(f"{self.description}: {stage}")
        bar.update(int(done) - bar.n)

    def _returned(self, worker, result):
        if worker is self.worker:
            self._finish(worker)
            self._done(result)

    def _aborted(self, worker, steps):
        steps.close()           # suspended between steps: its helper threads stop now
        if worker is self.worker:
            self._finish(worker)
            self._cancelled()

    def _errored(self, worker, exc):
        if worker is not self.worker:
            return
        self._finish(worker)
        if isinstance(exc, Cancelled):
            self._cancelled()
        elif isinstance(exc, (ValueError, OSError)):     # StackError is a ValueError
            self._failed(first_line(exc))
        else:
            self._failed(f"{type(exc).__name__}: {first_line(exc)} (a bug: please report it)")
