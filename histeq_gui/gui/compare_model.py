"""The comparison view's model: the pair of results it compares, and their difference.

Setting A is the viewer's own (``state.setting``, whose result the
:class:`~histeq_gui.gui.controller.ViewController` computes); setting B is
``state.compare``, a :class:`~histeq_gui.gui.setting.Setting` of its own.
:class:`CompareController` computes B's
:class:`~histeq_gui.gui.compute.ViewResult` for the image shown with the very
functions the viewer uses for A: B's stack-aware parameters (``match``'s
reference "stack" or an image index) are resolved against the whole stack
(:func:`~histeq_gui.gui.compute.resolve_stack_params`, cached per stack,
method, bins, region and parameters), and :func:`compute_view` equalizes;
so each side equals ``equalize(stack, method, bins, **params)[index]``.  It
runs now for small images and stacks, or in a
:class:`~histeq_gui.gui.jobs.Runner` job (newest request wins), pairs B with
A's result for the same image and emits a :class:`Comparison` whose
difference comes from :func:`histeq_gui.core.worked.compare_images`.  The
region of interest drives both sides, except a method that takes no mask
(CLAHE), which then uses the whole image (its title says so).  It works only
while a view shows it (:meth:`CompareController.set_active`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PyQt5.QtCore import QObject, pyqtSignal

from ..core.errors import Cancelled
from ..core.worked import compare_images
from .compute import (
    HistogramCache,
    compute_view,
    failed_view,
    needs_stack,
    params_dict,
    params_key,
    resolve_stack_params,
    stack_histograms,
)
from .controller import SYNC_IMAGE_VALUES, SYNC_STACK_VALUES
from .jobs import Runner, log_if_unexpected

__all__ = ["CompareController", "Comparison", "describe_setting"]

log = logging.getLogger(__name__)


def describe_setting(method, bins, scope, value_bins=False, params=None):
    """One short line for a setting: "numpy · 256 bins · own histogram".

    The parameters set (``params``, defaults left out) follow:
    "clahe · 256 bins · own histogram · clip_limit=0.05".
    """
    bins_text = "one bin per value" if value_bins else f"{bins} bins"
    scope_text = "whole-stack histogram" if scope == "stack" else "own histogram"
    text = f"{method} · {bins_text} · {scope_text}"
    for name, value in sorted((params or {}).items()):
        shown = (value.name if hasattr(value, "name") and not hasattr(value, "__array__")
                 else "an array" if hasattr(value, "__array__") else repr(value))
        text += f" · {name}={shown}"
    return text


@dataclass(frozen=True, eq=False)
class Comparison:
    """Two results of one image and their difference.

    Attributes
    ----------
    a, b : ViewResult
        Setting A's (the viewer's) and setting B's result for the image.
    difference : Difference or None
        ``a.equalized - b.equalized`` (see
        :func:`~histeq_gui.core.worked.compare_images`); None when either
        could not be equalized.
    """

    a: object
    b: object
    difference: object = None

    @property
    def index(self):
        """The image compared."""
        return self.a.index


class CompareController(QObject):
    """Computes setting B's result for the image shown and pairs it with A's.

    Parameters
    ----------
    state : ViewerState
        Followed for the stack, the image, and ``state.compare`` (setting B).
    controller : ViewController
        Gives setting A's result.

    Signals
    -------
    resultChanged(object)
        The new :class:`Comparison`, or None (nothing to compare yet).
    busyChanged(bool)
        B's job started, or ended.

    Attributes
    ----------
    runner : Runner
        B's jobs (big images, whole-stack histograms).
    """

    resultChanged = pyqtSignal(object)
    busyChanged = pyqtSignal(bool)

    def __init__(self, state, controller, parent=None):
        super().__init__(parent)
        self.state = state
        self.controller = controller
        self.settings = state.compare
        self.runner = Runner("compare", self)
        self.runner.busyChanged.connect(self.busyChanged)
        self._active = False
        self._b = None
        self._b_key = None
        self._result = None
        self._cache = HistogramCache()
        state.stackChanged.connect(self._on_stack_changed)
        state.changed.connect(self.refresh)
        self.settings.changed.connect(self.refresh)
        controller.resultChanged.connect(self._pair)

    @property
    def result(self):
        """The :class:`Comparison` shown, or None."""
        return self._result

    @property
    def busy(self):
        """True while B's job runs."""
        return self.runner.busy

    @property
    def active(self):
        """True while a view shows the comparison (only then is B computed)."""
        return self._active

    def set_active(self, active):
        """Start (True) or stop (False) following; starting brings B up to date."""
        active = bool(active)
        if active == self._active:
            return
        self._active = active
        if active:
            self.refresh()
        else:
            self.runner.abandon()

    def _on_stack_changed(self):
        self.runner.abandon()
        self._cache = HistogramCache()
        self._b = self._b_key = None
        self._set_result(None)

    def _key(self):
        state, settings = self.state, self.settings
        method = settings.method_spec
        roi = state.roi if method.masks else None
        return (state.stack, state.index, method, settings.bins, settings.scope,
                params_key(settings.params), roi)

    def refresh(self):
        """Bring B's result up to date (now for small images and stacks, else in a job)."""
        stack = self.state.stack
        if not self._active or stack is None:
            return
        key = self._key()
        if key == self._b_key and self._b is not None:
            self._pair()
            return
        _, index, method, bins, scope, pkey, roi = key
        params = params_dict(pkey)
        hists = self._cache.get(method, bins, roi, params) if scope == "stack" else None
        resolved = (self._cache.get_params(method, bins, roi, params) if needs_stack(method)
                    else params)
        stack_small = stack.size <= SYNC_STACK_VALUES
        small = stack.pixels_per_image <= SYNC_IMAGE_VALUES and (
            scope == "image" or hists is not None or stack_small) and (
            resolved is not None or stack_small)
        args = (stack, index, method, bins, scope, params, roi, hists, resolved)
        if small:
            self.runner.abandon()
            self._on_computed(key, self._compute(*args))
            return
        self.runner.start(
            lambda report: self._compute(*args, report=report),
            on_done=lambda outcome: self._on_computed(key, outcome),
            on_error=lambda message, error: self._on_computed(
                key, (failed_view(stack, index, method, bins, scope, error, roi), None, None)),
            name=f"compare image {index}")

    @staticmethod
    def _compute(stack, index, method, bins, scope, params, roi, hists=None, resolved=None,
                 report=None):
        """B's ViewResult, its whole-stack histograms and its resolved parameters.

        The stack-aware parameters (``match``'s reference) are resolved
        against the whole stack first, and the whole-stack histograms made
        for scope "stack", each unless given (cached).  Runs in a job for big
        images and stacks: it touches nothing but its arguments.
        """
        try:
            if resolved is None:
                resolved = resolve_stack_params(stack, method, bins, params, roi=roi,
                                                progress=report)
            if scope == "stack" and hists is None:
                hists = stack_histograms(stack, method, bins, report, roi=roi, params=params)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - shown in the view, logged if a bug
            log_if_unexpected(exc, "resolving setting B against the whole stack")
            return failed_view(stack, index, method, bins, scope, exc, roi), None, None
        result = compute_view(stack, index, method, bins, scope, hists, progress=report,
                              roi=roi, params=resolved)
        return result, hists, resolved

    def _on_computed(self, key, outcome):
        result, hists, resolved = outcome
        _, _, method, bins, _, pkey, roi = key
        params = params_dict(pkey)
        if hists is not None:
            self._cache.put(method, bins, hists, roi, params)
        if resolved is not None and needs_stack(method):
            self._cache.put_params(method, bins, roi, params, resolved)
        if key != self._key():
            return                  # the settings moved on meanwhile
        self._b, self._b_key = result, key
        self._pair()

    def _pair(self, *_):
        """Pair B with A's result for the same image, and emit the comparison."""
        if not self._active:
            return
        a, b = self.controller.result, self._b
        if a is None or b is None or self._b_key != self._key() or a.index != b.index:
            return              # one side is not ready for this image yet
        difference = None
        if a.equalized is not None and b.equalized is not None:
            colour = a.equalized.ndim == 3
            difference = compare_images(a.equalized, b.equalized, -1 if colour else None)
        self._set_result(Comparison(a, b, difference))

    def _set_result(self, result):
        self._result = result
        self.resultChanged.emit(result)

    def shutdown(self, timeout_ms=None):
        """Cancel B's job and wait for its thread (see :meth:`Runner.shutdown`)."""
        return self.runner.shutdown(timeout_ms)
