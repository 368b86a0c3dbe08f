"""The view controller: what the viewer shows for the state, computed now or in a job.

:class:`ViewController` follows the :class:`~histeq_gui.gui.state.ViewerState`
and keeps one current :class:`~histeq_gui.gui.compute.ViewResult`.  It decides
where the work runs: small images in the GUI thread, at once; big images, and
whole-stack histograms of big stacks, in :class:`~histeq_gui.gui.jobs.Runner`
jobs, where a new request cancels the one before it.  Panels never compute:
they draw the result it emits.

The whole-stack histograms are cached per ``(method, bins, roi, params)``
for the stack shown, and so are the method's stack-aware parameters
resolved against the whole stack (``match``'s reference "stack" or image
index, :func:`~histeq_gui.gui.compute.resolve_stack_params`); the cache goes
with the stack: a new stack starts an empty one.

Nothing waits on the compiler.  The viewer runs with the engine's "ready"
kernels (``histeq-gui`` sets them for its process, see
:mod:`histeq_gui.core.engine.backend`): plain NumPy until the compiled loops
of a dtype are prepared.  Once the first image of a stack is shown, the
controller asks :attr:`ViewController.warm_up` to prepare the loops of its
dtype (and of float64, the equalized images') in the background; the
status bar says "Preparing fast kernels" meanwhile, and later computations
use the compiled loops.  The results are the same bits either way.
"""

from __future__ import annotations

import logging

import numpy as np
from PyQt5.QtCore import QObject, QTimer, pyqtSignal

from ..core.engine import backend
from . import startup
from .compute import (
    HistogramCache,
    compute_view,
    failed_view,
    needs_stack,
    params_key,
    resolve_stack_params,
    stack_histograms,
)
from .jobs import Runner, log_if_unexpected, user_message
from .warmup import KernelWarmUp

__all__ = ["ViewController", "SYNC_IMAGE_VALUES", "SYNC_STACK_VALUES", "WARM_UP_DELAY_MS"]

log = logging.getLogger(__name__)

SYNC_IMAGE_VALUES = 1 << 19    # images up to this many values are computed in the GUI thread
SYNC_STACK_VALUES = 1 << 24    # stacks up to this many values get their histogram at once
WARM_UP_DELAY_MS = 300         # from a stack's first image shown to preparing its kernels


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
    warm_up : KernelWarmUp
        The compiled kernels being prepared in the background (for the
        status bar); not one of :attr:`runners`: nothing waits for it.
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
        self.warm_up = KernelWarmUp(self)
        self._warm_up_timer = QTimer(self)
        self._warm_up_timer.setSingleShot(True)
        self._warm_up_timer.timeout.connect(self._prepare_kernels)
        self._kernels_asked_for = None      # the stack whose kernels were asked for
        for runner in self.runners:
            runner.busyChanged.connect(self._on_runner_busy)
        state.stackChanged.connect(self._on_stack_changed)
        state.scopeChanged.connect(self._on_scope_changed)
        state.changed.connect(self.refresh)
        self.start_report = startup.follow(self)

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
        params = state.params
        if needs_stack(state.method_spec):
            params = self._stack_wide("params")
            if params is None:
                return              # a job resolves them and calls refresh again
        request = (stack, state.index, state.method_spec, state.bins, state.scope, hists)
        roi = state.roi
        if stack.pixels_per_image <= SYNC_IMAGE_VALUES:
            self.compute_runner.abandon()
            try:
                result = compute_view(*request, roi=roi, params=params)
            except Exception as exc:  # noqa: BLE001 - a bug: shown to the user, and logged
                log_if_unexpected(exc, f"equalizing image {state.index}")
                self._show_failure(exc)
                return
            self._on_computed(result)
        else:
            self.compute_runner.start(lambda report: compute_view(*request, progress=report,
                                                                  roi=roi, params=params),
                                      on_done=self._on_computed,
                                      on_error=lambda message, error: self._show_failure(error),
                                      name=f"image {state.index}")

    def _stack_histograms(self):
        """The whole-stack histograms for the state's settings, or None (:meth:`_stack_wide`)."""
        return self._stack_wide("hists")

    def _stack_wide(self, what):
        """The whole-stack histograms (``what`` "hists") or resolved parameters ("params").

        None while a job makes them (it calls :meth:`refresh` when done), and
        when making them failed: then the failure is shown, and remembered
        so that paging through the images does not try again each time.
        """
        state, stack = self.state, self.state.stack
        method, bins, roi, params = state.method_spec, state.bins, state.roi, state.params
        if what == "hists":
            get, put = self._cache.get, self._cache.put

            def make(report=None):
                return stack_histograms(stack, method, bins, report, roi=roi, params=params)
            doing = "computing the whole-stack histogram"
        else:
            def get(m, b, r, p):
                return self._cache.get_params(m, b, r, p)

            def put(m, b, value, r, p):
                self._cache.put_params(m, b, r, p, value)

            def make(report=None):
                return resolve_stack_params(stack, method, bins, params, roi=roi,
                                            progress=report)
            doing = "resolving the method's parameters against the stack"
        value = get(method, bins, roi, params)
        if value is None and stack.size <= SYNC_STACK_VALUES:
            try:
                value = make()
            except Exception as exc:  # noqa: BLE001 - shown to the user, logged if a bug
                log_if_unexpected(exc, doing)
                value = exc
            put(method, bins, value, roi, params)
        if isinstance(value, Exception):
            self._show_failure(value)
            return None
        key = (what, stack, method, bins, roi, params_key(params))
        if value is None and (self._stack_job_key != key or not self.stack_runner.busy):
            self._stack_job_key = key

            def done(result):
                self._stack_job_key = None
                if stack is self.state.stack:
                    put(method, bins, result, roi, params)
                    self.refresh()
            self.stack_runner.start(make, on_done=done, on_error=lambda message, error: done(error),
                                    on_cancel=self._on_stack_cancelled,
                                    name="stack histogram" if what == "hists" else "reference")
        return value

    def _on_stack_cancelled(self):
        what = (self._stack_job_key or ("hists",))[0]
        self._stack_job_key = None
        if what == "hists":
            self.state.set_scope("image")
            self.noted.emit("Whole-stack histogram cancelled; showing each image's own histogram")
        else:
            self.noted.emit("Resolving the reference against the stack was cancelled")

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
        self._set_result(failed_view(state.stack, state.index, state.method_spec, state.bins,
                                     state.scope, error, state.roi))

    def _set_result(self, result):
        self._result = result
        self.resultChanged.emit(result)
        problem = "" if result is None else (self.problem() or "")
        if problem != self._problem:
            self._problem = problem
            self.problemChanged.emit(problem)
        if result is not None:
            self._ask_for_kernels()

    # ------------------------------------------------------------------ fast kernels
    def kernel_dtypes(self):
        """The dtypes whose compiled kernels the stack shown needs: its own and float64."""
        stack = self.state.stack
        if stack is None:
            return []
        return list(dict.fromkeys([np.dtype(stack.dtype), np.dtype(np.float64)]))

    def _ask_for_kernels(self):
        """After the first image of a stack is shown, have its kernels prepared soon.

        Only with the "ready" kernels (the viewer's): elsewhere the engine
        compiles when it needs to, as the API does.
        """
        stack = self.state.stack
        if stack is None or stack is self._kernels_asked_for or backend.current() != "ready":
            return
        self._kernels_asked_for = stack
        if any(self.warm_up.needed(dtype) for dtype in self.kernel_dtypes()) or \
                self.warm_up.statistics_needed(stack.dtype):
            self._warm_up_timer.start(WARM_UP_DELAY_MS)

    def _prepare_kernels(self):
        stack = self.state.stack
        for dtype in self.kernel_dtypes():
            # The statistics describe the stack's own pixels: their loops for its dtype only.
            self.warm_up.request(dtype, statistics=stack is not None and dtype == stack.dtype)

    # ------------------------------------------------------------------ closing
    def shutdown(self, timeout_ms=None):
        """Cancel every job and wait for the threads, at most ``timeout_ms`` each.

        Returns True if they all ended (see :meth:`Runner.shutdown`).  The
        kernels being prepared are not waited for (nothing can stop the
        compiler; the process does not wait for it either).
        """
        self._warm_up_timer.stop()
        self.warm_up.detach()
        return all([runner.shutdown(timeout_ms) for runner in self.runners])
