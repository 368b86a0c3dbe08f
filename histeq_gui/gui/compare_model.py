"""The comparison view's model: the second setting, and the pair of results it compares.

Setting A is the viewer's own (the :class:`~histeq_gui.gui.state.ViewerState`'s
method, bins and scope, whose result the
:class:`~histeq_gui.gui.controller.ViewController` computes); setting B is a
:class:`CompareSettings` (``state.compare``).  :class:`CompareController`
computes B's :class:`~histeq_gui.gui.compute.ViewResult` for the image shown
with the very function the viewer uses for A (:func:`compute_view`), now for
small images or in a :class:`~histeq_gui.gui.jobs.Runner` job (newest
request wins), pairs it with A's result for the same image and emits a
:class:`Comparison` whose difference comes from
:func:`histeq_gui.core.worked.compare_images`.  It works only while a view
shows it (:meth:`CompareController.set_active`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PyQt5.QtCore import QObject, pyqtSignal

from ..core.equalize import check_scope
from ..core.errors import Cancelled
from ..core.methods import METHODS, check_method
from ..core.worked import compare_images
from .compute import HistogramCache, compute_view, failed_view, stack_histograms
from .controller import SYNC_IMAGE_VALUES, SYNC_STACK_VALUES
from .jobs import Runner, log_if_unexpected

__all__ = ["CompareSettings", "CompareController", "Comparison", "describe_setting",
           "other_method"]

log = logging.getLogger(__name__)


def other_method(method):
    """A method other than ``method`` (the next registered one), to compare with by default."""
    names = list(METHODS)
    if method not in names or len(names) < 2:
        return names[0] if names else method
    return names[(names.index(method) + 1) % len(names)]


def describe_setting(method, bins, scope, value_bins=False):
    """One short line for a setting: "numpy · 256 bins · own histogram"."""
    bins_text = "one bin per value" if value_bins else f"{bins} bins"
    scope_text = "whole-stack histogram" if scope == "stack" else "own histogram"
    return f"{method} · {bins_text} · {scope_text}"


class CompareSettings(QObject):
    """The second setting of the comparison view: method, bins and scope.

    Same setters and checks as the state's (:meth:`set_method`,
    :meth:`set_bins`, :meth:`set_scope`); each emits ``changed`` on a real
    change only.

    Signals
    -------
    changed()
        Any of the three changed.
    """

    changed = pyqtSignal()

    def __init__(self, method="skimage", bins=256, scope="image", parent=None):
        from .state import check_bins
        super().__init__(parent)
        self._method = check_method(method)
        self._bins = check_bins(bins)
        self._scope = check_scope(scope)

    @property
    def method(self):
        """The second method."""
        return self._method

    @property
    def bins(self):
        """The second bin count."""
        return self._bins

    @property
    def scope(self):
        """The second scope, "image" or "stack"."""
        return self._scope

    def set_method(self, method):
        """Set the method; an unknown name raises ValueError."""
        method = check_method(method)
        if method != self._method:
            self._method = method
            self.changed.emit()

    def set_bins(self, bins):
        """Set the bin count (1..65536, else ValueError)."""
        from .state import check_bins
        bins = check_bins(bins)
        if bins != self._bins:
            self._bins = bins
            self.changed.emit()

    def set_scope(self, scope):
        """Set the scope; anything but "image" or "stack" raises ValueError."""
        scope = check_scope(scope)
        if scope != self._scope:
            self._scope = scope
            self.changed.emit()

    def as_tuple(self):
        """``(method, bins, scope)``."""
        return self._method, self._bins, self._scope


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
        state = self.state
        return (state.stack, state.index, *self.settings.as_tuple())

    def refresh(self):
        """Bring B's result up to date (now for small images, else in a job)."""
        stack = self.state.stack
        if not self._active or stack is None:
            return
        key = self._key()
        if key == self._b_key and self._b is not None:
            self._pair()
            return
        _, index, method, bins, scope = key
        cached = self._cache.get(method, bins) if scope == "stack" else None
        small = stack.pixels_per_image <= SYNC_IMAGE_VALUES and (
            scope == "image" or cached is not None or stack.size <= SYNC_STACK_VALUES)
        if small:
            self.runner.abandon()
            self._on_computed(key, self._compute(stack, index, method, bins, scope, cached))
            return
        self.runner.start(
            lambda report: self._compute(stack, index, method, bins, scope, cached, report),
            on_done=lambda outcome: self._on_computed(key, outcome),
            on_error=lambda message, error: self._on_computed(
                key, (failed_view(stack, index, method, bins, scope, error), None)),
            name=f"compare image {index}")

    @staticmethod
    def _compute(stack, index, method, bins, scope, hists=None, report=None):
        """B's ViewResult and its whole-stack histograms (made first for scope "stack").

        Runs in a job for big images: it touches nothing but its arguments.
        """
        if scope == "stack" and hists is None:
            try:
                hists = stack_histograms(stack, method, bins, report)
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - shown in the view, logged if a bug
                log_if_unexpected(exc, "computing the compared whole-stack histogram")
                return failed_view(stack, index, method, bins, scope, exc), None
        return compute_view(stack, index, method, bins, scope, hists, progress=report), hists

    def _on_computed(self, key, outcome):
        result, hists = outcome
        if hists is not None:
            self._cache.put(key[2], key[3], hists)
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
