"""The view controller: what the viewer shows for the state, computed now or in a job.

:class:`ViewController` follows the :class:`~histeq_gui.gui.state.ViewerState`
and keeps one current :class:`~histeq_gui.gui.compute.ViewResult`.  It decides
where the work runs: small images in the GUI thread, at once; big images, and
whole-stack histograms of big stacks, in :class:`~histeq_gui.gui.jobs.Runner`
jobs, where a new request cancels the one before it.  Panels never compute:
they draw the result it emits.

The whole-stack histograms are cached per ``(method, bins, roi)`` for the
stack shown, and the cache goes with the stack: a new stack starts an empty
one.
"""

from __future__ import annotations

import logging
from functools import partial

from PyQt5.QtCore import QObject, pyqtSignal

from .compute import HistogramCache, compute_view, failed_view, stack_histograms
from .jobs import Runner, log_if_unexpected, user_message

__all__ = ["ViewController", "SYNC_IMAGE_VALUES", "SYNC_STACK_VALUES"]

log = logging.getLogger(__name__)

SYNC_IMAGE_VALUES = 1 << 19    # images up to this many values are computed in the GUI thread
SYNC_STACK_VALUES = 1 << 24    # stacks up to this many values get their histogram at once


class ViewController(QObject):
    """Computes the current image's :class:`ViewResult` and tells the panels.

    Parameters
    ----------
    state : ViewerState
        Followed: every change of a setting asks for a new result.

    Signals
    -------
    resultChanged(object)
        The new :class:`ViewResult`, or None when there is nothing to show
        (no stack, or a new stack whose first result is not ready).
    busyChanged(bool)
        A job for the view started, or the last one ended.
    problemChanged(str)
        Why no equalized image is shown (one line), or "" once one is.
    noted(str)
        A short note for the status bar (e.g. a cancelled stack histogram).

    Attributes
    ----------
    compute_runner, stack_runner : Runner
        The jobs of big images and of whole-stack histograms.
    """

    resultChanged = pyqtSignal(object)
    busyChanged = pyqtSignal(bool)
    problemChanged = pyqtSignal(str)
    noted = pyqtSignal(str)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self._result = None
        self._problem = ""
        self._busy = False
        self._cache = HistogramCache()
        self._stack_job_key = None
        self.compute_runner = Runner("compute", self)
        self.stack_runner = Runner("stack histogram", self)
        for runner in self.runners:
            runner.busyChanged.connect(self._on_runner_busy)
        state.stackChanged.connect(self._on_stack_changed)
        state.scopeChanged.connect(self._on_scope_changed)
        state.changed.connect(self.refresh)

    # ------------------------------------------------------------------ what is shown
    @property
    def result(self):
        """The :class:`ViewResult` shown, or None."""
        return self._result

    @property
    def runners(self):
        """The runners of this controller's jobs (for a progress display)."""
        return (self.compute_runner, self.stack_runner)

    @property
    def busy(self):
        """True while a job for the view runs."""
        return any(runner.busy for runner in self.runners)

    def problem(self):
        """Why no equalized image is shown (one line), or None when one is."""
        if self._result is None:
            return "nothing is equalized yet" if self.state.stack is not None else "no stack"
        if self._result.error is not None:
            return f"cannot equalize: {user_message(self._result.error)}"
        return None

    # ------------------------------------------------------------------ following the state
    def _on_runner_busy(self, _busy):
        busy = self.busy
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    def _on_stack_changed(self):
        for runner in self.runners:
            runner.abandon()
        self._stack_job_key = None
        self._cache = HistogramCache()      # whole-stack histograms belong to one stack
        self._set_result(None)

    def _on_scope_changed(self, scope):
        if scope == "image":
            self.stack_runner.abandon()
            self._stack_job_key = None

    def refresh(self):
        """Bring the result up to date with the state (now, or via a job)."""
        state, stack = self.state, self.state.stack
        if stack is None:
            return
        hists = None
        if state.scope == "stack":
            hists = self._stack_histograms()
            if hists is None:
                return              # a job computes them and calls refresh again
        request = (stack, state.index, state.method, state.bins, state.scope, hists)
        roi = state.roi
        if stack.pixels_per_image <= SYNC_IMAGE_VALUES:
            self.compute_runner.abandon()
            try:
                result = compute_view(*request, roi=roi)
            except Exception as exc:  # noqa: BLE001 - a bug: shown to the user, and logged
                log_if_unexpected(exc, f"equalizing image {state.index}")
                self._show_failure(exc)
                return
            self._on_computed(result)
        else:
            self.compute_runner.start(lambda report: compute_view(*request, progress=report,
                                                                  roi=roi),
                                      on_done=self._on_computed,
                                      on_error=lambda message, error: self._show_failure(error),
                                      name=f"image {state.index}")

    def _stack_histograms(self):
        """The whole-stack histograms for the state's method and bins, or None.

        None while a job makes them (it calls :meth:`refresh` when done), and
        when making them failed: then the failure is shown, and remembered
        so that paging through the images does not try again each time.
        """
        state, stack = self.state, self.state.stack
        method, bins, roi = state.method, state.bins, state.roi
        hists = self._cache.get(method, bins, roi)
        if hists is None and stack.size <= SYNC_STACK_VALUES:
            try:
                hists = stack_histograms(stack, method, bins, roi=roi)
            except Exception as exc:  # noqa: BLE001 - shown to the user, logged if a bug
                log_if_unexpected(exc, "computing the whole-stack histogram")
                hists = exc
            self._cache.put(method, bins, hists, roi)
        if isinstance(hists, Exception):
            self._show_failure(hists)
            return None
        if hists is None and (self._stack_job_key != (stack, method, bins, roi)
                              or not self.stack_runner.busy):
            self._stack_job_key = (stack, method, bins, roi)
            done = partial(self._on_stack_histograms, stack, method, bins, roi)
            self.stack_runner.start(
                lambda report: stack_histograms(stack, method, bins, report, roi=roi),
                on_done=done, on_error=lambda message, error: done(error),
                on_cancel=self._on_stack_cancelled, name="stack histogram")
        return hists

    def _on_stack_histograms(self, stack, method, bins, roi, hists):
        """The stack job's histograms, or the exception it failed with: keep it, redraw."""
        self._stack_job_key = None
        if stack is self.state.stack:
            self._cache.put(method, bins, hists, roi)
            self.refresh()

    def _on_stack_cancelled(self):
        self._stack_job_key = None
        self.state.set_scope("image")
        self.noted.emit("Whole-stack histogram cancelled; showing each image's own histogram")

    def _on_computed(self, result):
        """Show a result of compute_view; log its failure unless one like it is shown already.

        (Dragging the bins slider through counts that all fail logs once.)
        """
        shown = self._result.error if self._result is not None else None
        if result.error is not None and type(result.error) is not type(shown):
            log_if_unexpected(result.error, f"equalizing image {result.index}")
        self._set_result(result)

    def _show_failure(self, error):
        """Show the current image's original and why it cannot be equalized."""
        state = self.state
        self._set_result(failed_view(state.stack, state.index, state.method, state.bins,
                                     state.scope, error, state.roi))

    def _set_result(self, result):
        self._result = result
        self.resultChanged.emit(result)
        problem = "" if result is None else (self.problem() or "")
        if problem != self._problem:
            self._problem = problem
            self.problemChanged.emit(problem)

    # ------------------------------------------------------------------ closing
    def shutdown(self, timeout_ms=None):
        """Cancel every job and wait for the threads, at most ``timeout_ms`` each.

        Returns True if they all ended (see :meth:`Runner.shutdown`).
        """
        return all([runner.shutdown(timeout_ms) for runner in self.runners])
