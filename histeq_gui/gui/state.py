"""The viewer's state: which stack, which image, which method, bins and scope.

The state is the single source of truth.  Widgets write to it through its
setters and redraw themselves from its signals; nothing else keeps a copy.
Every setter validates its value and emits its signal only on a real change.

Three kinds of values live here:

- what decides the computed result (stack, index, method, its parameters,
  bins, scope, the colour axis and the region of interest): their setters
  emit ``changed``;
- how the result is displayed (display levels, the histograms' x range, log
  counts, linked axes, the equalized values' scale): ``levelsChanged`` and
  ``displayChanged``, never ``changed`` (nothing is recomputed for them);
- where the mouse is (the pixel under it, :attr:`ViewerState.cursor`, and
  the value under it on a histogram, :attr:`ViewerState.probe`), followed by
  the status bar and the trace.
"""

from __future__ import annotations

from PyQt5.QtCore import QObject, pyqtSignal

import math

from ..core.channels import parse_channel_axis
from ..core.display import DEFAULT_SATURATED, LEVEL_MODES, check_saturated
from ..core.equalize import check_scope
from ..core.histogram import MAX_BINS, MIN_BINS
from ..core.histogram import check_bins as _core_check_bins
from ..core.methods import check_method, get_method, uses_value_bins

__all__ = ["ViewerState", "MethodParams", "check_bins", "check_levels_mode", "check_roi", "check_params",
           "same_params", "MIN_BINS", "MAX_BINS", "LEVEL_MODES", "HIST_RANGES", "EQ_SCALES"]

def check_bins(bins):
    """``bins`` as an int if it is a valid number of bins, else a one-line ValueError.

    The core's own check and range (:data:`~histeq_gui.core.histogram.MIN_BINS`
    to :data:`~histeq_gui.core.histogram.MAX_BINS`): the viewer takes every
    bin count the API and ``histeq --bins`` take.
    """
    return _core_check_bins(bins)


HIST_RANGES = ("data", "dtype")
"""The original histogram's x axis: the histogram's own range, or the dtype's full range."""

EQ_SCALES = ("export", "unit")
"""Equalized values on the axes: in the export's scale (0..255 for uint8), or in [0, 1]."""


def check_params(method, params):
    """``params`` of ``method`` checked by the registry: a new dict, or a one-line ValueError.

    Every name must be one of the method's parameters other than ``bins``
    (the viewer's bins are a setting of their own); each value goes through
    :meth:`~histeq_gui.core.methods.Param.check` (its type and range), so
    ``equalize(..., method, **params)`` accepts them.  Stack-aware values
    (``match``'s reference index) are checked against the stack only when
    the image is computed.

    Examples
    --------
    >>> check_params("clahe", {"clip_limit": 0.05, "kernel_size": "auto"})
    {'clip_limit': 0.05, 'kernel_size': 'auto'}
    >>> check_params("clahe", {"clip_limit": 2})
    Traceback (most recent call last):
    ...
    ValueError: clahe: clip_limit must be a number above 0 and at most 1, got 2
    """
    m = get_method(method)
    out = {}
    for name, value in dict(params).items():
        param = m.param(name)
        if param is None or name == "bins":
            own = ", ".join(p.name for p in m.params if p.name != "bins") or "none"
            raise ValueError(f"the {m.name} method has no parameter {name!r} to set here; "
                             f"its parameters: {own}")
        out[name] = param.check(value, m.name)
    return out


def _same_value(a, b):
    if a is b:
        return True
    if type(a) is not type(b) or hasattr(a, "__array__") or hasattr(b, "__array__"):
        return False            # arrays (a reference image): only the same object
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def same_params(a, b):
    """True if two parameter dicts hold the same values (arrays: the same object)."""
    return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)


def check_levels_mode(mode):
    """``mode`` if it is one of :data:`LEVEL_MODES`, else a ValueError."""
    if mode not in LEVEL_MODES:
        raise ValueError(f"unknown display levels {mode!r}; choose one of: "
                         f"{', '.join(LEVEL_MODES)}")
    return mode


def _choice(value, choices, what):
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")
    return value


def check_roi(roi, image_shape=None):
    """A rectangle ``(x, y, width, height)`` of whole pixels, clipped to ``image_shape``.

    Returns None for None, and for a rectangle that holds no pixel of the
    image; raises ValueError for anything that is not four numbers.
    """
    if roi is None:
        return None
    try:
        x, y, w, h = (float(v) for v in roi)
    except (TypeError, ValueError):
        raise ValueError(f"a region must be x, y, width, height; got {roi!r}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"a region must be four finite numbers; got {roi!r}")
    x0, y0 = round(x), round(y)
    x1, y1 = round(x + w), round(y + h)
    if image_shape is not None:
        height, width = image_shape
        x0, x1 = max(0, min(x0, width)), max(0, min(x1, width))
        y0, y1 = max(0, min(y0, height)), max(0, min(y1, height))
    if x1 <= x0 or y1 <= y0:
        return None
    return (int(x0), int(y0), int(x1 - x0), int(y1 - y0))


class MethodParams:
    """Each method's own parameters, kept per method: what a setting of method and bins needs.

    For a QObject with ``_method`` (the current method), ``_params`` (method
    -> dict of the values set) and the signals ``paramsChanged(object)`` and
    ``changed()``: the viewer's state and the comparison's setting B.
    """

    @property
    def params(self):
        """The current method's parameters set by the user (a new dict; ``bins`` is not one).

        The others take their defaults.  Pass them on as
        ``equalize(..., method=state.method, bins=state.bins, **state.params)``.
        Each method keeps its own: changing the method and back restores them.
        """
        return dict(self._params.get(self._method, {}))

    def params_of(self, method):
        """The parameters set for ``method`` (a new dict), current or not."""
        return dict(self._params.get(check_method(method), {}))

    def set_param(self, name, value):
        """Set one parameter of the current method (checked by the registry).

        Raises ValueError (one line) for a name the method does not have, or
        a value of the wrong type or out of range; nothing changes then.
        """
        params = self.params
        params.update(check_params(self._method, {name: value}))
        self._store_params(self._method, params)

    def reset_param(self, name):
        """Give parameter ``name`` of the current method its default again."""
        params = self.params
        if name in params:
            del params[name]
            self._store_params(self._method, params)

    def set_params(self, params, method=None):
        """Set all the parameters of ``method`` (default: the current one); others: default.

        Raises ValueError (one line) for an unknown name or a bad value;
        nothing changes then.
        """
        method = self._method if method is None else check_method(method)
        self._store_params(method, check_params(method, params))

    def _store_params(self, method, params):
        if same_params(params, self._params.get(method, {})):
            return
        self._params[method] = params
        if method == self._method:
            self.paramsChanged.emit(self.params)
            self.changed.emit()


class ViewerState(MethodParams, QObject):
    """Observable viewer state.

    Signals
    -------
    stackChanged()
        A new stack was set (the index was reset with it).
    indexChanged(int), methodChanged(str), binsChanged(int), scopeChanged(str)
        One setting changed.
    paramsChanged(object)
        The current method's parameters (:attr:`ViewerState.params`, a
        dict) changed, or the method changed (to its own remembered ones).
    channelAxisChanged(object), roiChanged(object)
        The colour axis choice ("auto", None or an axis) or the region of
        interest (``(x, y, w, h)`` or None) changed.
    changed()
        After any of the above (the settings that decide what is computed).
    levelsChanged()
        The display levels' choice (mode, saturated percent, manual levels).
    displayChanged()
        How the plots show the result: x range, log counts, linked axes,
        equalized scale.
    cursorChanged(object)
        The pixel under the mouse, ``(x, y)``, or None off the image.
    probeChanged(object)
        The value under the mouse on the original histogram, or None.
    outputLevelsChanged(object)
        The worked table's number of levels ``L`` (an int, or None for the
        dtype's default); not a setting of the view, so no ``changed``.

    Attributes
    ----------
    compare : CompareSettings
        The comparison view's second setting (method, bins, scope), with its
        own ``changed`` signal; the viewer's own settings are setting A.
    """

    stackChanged = pyqtSignal()
    indexChanged = pyqtSignal(int)
    methodChanged = pyqtSignal(str)
    binsChanged = pyqtSignal(int)
    scopeChanged = pyqtSignal(str)
    paramsChanged = pyqtSignal(object)
    changed = pyqtSignal()
    cursorChanged = pyqtSignal(object)
    channelAxisChanged = pyqtSignal(object)
    roiChanged = pyqtSignal(object)
    levelsChanged = pyqtSignal()
    displayChanged = pyqtSignal()
    probeChanged = pyqtSignal(object)
    outputLevelsChanged = pyqtSignal(object)

    def __init__(self, method="numpy", bins=256, scope="image", parent=None):
        super().__init__(parent)
        self._stack = None
        self._index = 0
        self._method = check_method(method)
        self._bins = check_bins(bins)
        self._scope = get_method(self._method).check_scope(check_scope(scope))
        self._wanted_scope = self._scope
        self._params = {}               # method -> {name: value} set by the user
        self._cursor = None
        self._probe = None
        self._channel_axis = "auto"
        self._roi = None
        self._levels_mode = "auto"
        self._saturated = DEFAULT_SATURATED
        self._manual_levels = None
        self._hist_range = "data"
        self._log_counts = False
        self._link_histograms = False
        self._eq_scale = "export"
        self._output_levels = None
        from .compare_model import CompareSettings, other_method
        self.compare = CompareSettings(other_method(self._method), self._bins, "image", self)

    # ------------------------------------------------------------------ properties
    @property
    def stack(self):
        """The :class:`~histeq_gui.gui.stack_file.LoadedStack` shown, or None."""
        return self._stack

    @property
    def index(self):
        """The image shown, counted from 0."""
        return self._index

    @property
    def method(self):
        """The equalization method."""
        return self._method

    @property
    def bins(self):
        """The requested number of bins."""
        return self._bins

    @property
    def scope(self):
        """"image" or "stack"."""
        return self._scope

    @property
    def cursor(self):
        """The pixel ``(x, y)`` under the mouse (column, row of the image), or None."""
        return self._cursor

    @property
    def probe(self):
        """The value under the mouse on the original histogram, or None."""
        return self._probe

    @property
    def channel_axis(self):
        """The colour axis chosen: "auto" (the shared rule), None (gray) or an axis."""
        return self._channel_axis

    @property
    def roi(self):
        """The region of interest ``(x, y, width, height)`` that drives the histogram, or None."""
        return self._roi

    @property
    def levels_mode(self):
        """How the original's display levels are chosen (one of :data:`LEVEL_MODES`)."""
        return self._levels_mode

    @property
    def saturated(self):
        """Percent of pixels left saturated by the "percentile" levels."""
        return self._saturated

    @property
    def manual_levels(self):
        """``(low, high)`` typed by the user ("manual" levels), or None."""
        return self._manual_levels

    @property
    def hist_range(self):
        """The original histogram's x axis: "data" or "dtype"."""
        return self._hist_range

    @property
    def log_counts(self):
        """True: every histogram's counts on a log scale."""
        return self._log_counts

    @property
    def link_histograms(self):
        """True: the original and equalized histograms share their axes."""
        return self._link_histograms

    @property
    def eq_scale(self):
        """Equalized values on the axes: "export" (the export's scale) or "unit" ([0, 1])."""
        return self._eq_scale

    @property
    def output_levels(self):
        """``L`` of the worked table, or None for the default (the dtype's levels, or bins)."""
        return self._output_levels

    @property
    def n_images(self):
        """Images in the stack (0 without one)."""
        return 0 if self._stack is None else self._stack.n_images

    @property
    def value_bins(self):
        """True when the method ignores the bin count for this stack (skimage on integers)."""
        return self._stack is not None and uses_value_bins(self._method, self._stack.dtype)

    # ------------------------------------------------------------------ setters
    def set_stack(self, stack, index=0):
        """Show ``stack``, starting at image ``index`` (clamped into range).

        The colour axis chosen is applied to it when it fits (else the
        choice goes back to "auto"), and the region of interest is clipped
        to its images (dropped when none of it is left).
        """
        axis = self._channel_axis
        if stack is not None and axis != stack.channel_choice:
            try:
                stack = stack.with_channel_axis(axis)
            except ValueError:
                axis = stack.channel_choice
        self._stack = stack
        self._index = min(max(int(index), 0), max(stack.n_images - 1, 0)) if stack else 0
        if axis != self._channel_axis:
            self._channel_axis = axis
            self.channelAxisChanged.emit(axis)
        if stack is not None and self._roi is not None:
            roi = check_roi(self._roi, stack.layout.image_shape)
            if roi != self._roi:
                self._roi = roi
                self.roiChanged.emit(roi)
        self.stackChanged.emit()
        self.changed.emit()

    def set_channel_axis(self, axis):
        """Choose the colour axis: "auto", None (grayscale), or an axis of size 2, 3 or 4.

        The stack shown is laid out anew (a new stack for the view: the
        index is kept when it still exists).  Raises ValueError (one line)
        for an axis that does not fit the stack; nothing changes then.
        """
        axis = parse_channel_axis(axis)
        if self._stack is None:
            if axis != self._channel_axis:
                self._channel_axis = axis
                self.channelAxisChanged.emit(axis)
            return
        stack = self._stack.with_channel_axis(axis)        # raises if it does not fit
        if axis == self._channel_axis and stack.layout == self._stack.layout:
            return
        self._channel_axis = axis
        self.channelAxisChanged.emit(axis)
        self.set_stack(stack, self._index)

    def set_roi(self, roi):
        """Set the region of interest ``(x, y, width, height)`` (pixels; None: the whole image).

        It is clipped to the images; one that holds no pixel of them is None.
        """
        shape = None if self._stack is None else self._stack.layout.image_shape
        roi = check_roi(roi, shape)
        if roi != self._roi:
            self._roi = roi
            self.roiChanged.emit(roi)
            self.changed.emit()

    def set_index(self, index):
        """Go to image ``index``, clamped to the stack."""
        if self._stack is None:
            return
        index = min(max(int(index), 0), self._stack.n_images - 1)
        if index != self._index:
            self._index = index
            self.indexChanged.emit(index)
            self.changed.emit()

    def step(self, delta):
        """Move ``delta`` images forward (negative: back), stopping at the ends."""
        self.set_index(self._index + int(delta))

    def set_method(self, method):
        """Set the method; an unknown name raises ValueError.

        Its parameters are the ones last set for it (:attr:`params`).  A
        method without the current scope (CLAHE and matching work on each
        image by itself: no "stack") switches the scope to "image"; the scope
        asked for comes back with a method that has it.
        """
        method = check_method(method)
        if method != self._method:
            self._method = method
            scopes = get_method(method).scopes
            scope = self._wanted_scope if self._wanted_scope in scopes else scopes[0]
            self.methodChanged.emit(method)
            if scope != self._scope:
                self._scope = scope
                self.scopeChanged.emit(scope)
            self.paramsChanged.emit(self.params)
            self.changed.emit()

    def set_bins(self, bins):
        """Set the bin count; values outside 1..65536 raise ValueError (the core's range)."""
        bins = check_bins(bins)
        if bins != self._bins:
            self._bins = bins
            self.binsChanged.emit(bins)
            self.changed.emit()

    def set_scope(self, scope):
        """Set the scope ("image" or "stack"); anything else raises ValueError.

        A scope the current method does not have raises ValueError too (one
        line: CLAHE has no "stack" scope).
        """
        scope = get_method(self._method).check_scope(check_scope(scope))
        self._wanted_scope = scope
        if scope != self._scope:
            self._scope = scope
            self.scopeChanged.emit(scope)
            self.changed.emit()

    # ------------------------------------------------------------------ display only
    def set_levels_mode(self, mode):
        """Choose how the original's display levels are set (see :data:`LEVEL_MODES`)."""
        mode = check_levels_mode(mode)
        if mode == "manual" and self._manual_levels is None:
            raise ValueError("manual levels need numbers; type the low and high levels")
        if mode != self._levels_mode:
            self._levels_mode = mode
            self.levelsChanged.emit()

    def set_saturated(self, percent):
        """Percent of pixels saturated by the "percentile" levels (0 <= percent < 100)."""
        percent = check_saturated(percent)
        if percent != self._saturated:
            self._saturated = percent
            self.levelsChanged.emit()

    def set_manual_levels(self, low, high):
        """Show the original between ``low`` and ``high`` (mode "manual"); low < high."""
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise ValueError(f"the low level must be below the high level, got {low:g} and "
                             f"{high:g}")
        if (low, high) != self._manual_levels or self._levels_mode != "manual":
            self._manual_levels = (low, high)
            self._levels_mode = "manual"
            self.levelsChanged.emit()

    def _set_display(self, name, value):
        if getattr(self, name) != value:
            setattr(self, name, value)
            self.displayChanged.emit()

    def set_hist_range(self, choice):
        """The original histogram's x axis: "data" (its own range) or "dtype" (full range)."""
        self._set_display("_hist_range", _choice(choice, HIST_RANGES, "histogram range"))

    def set_log_counts(self, on):
        """Counts on a log scale in every histogram."""
        self._set_display("_log_counts", bool(on))

    def set_link_histograms(self, on):
        """Give the original and equalized histograms the same axes."""
        self._set_display("_link_histograms", bool(on))

    def set_eq_scale(self, scale):
        """Equalized values on the axes: "export" (the export's scale) or "unit" ([0, 1])."""
        self._set_display("_eq_scale", _choice(scale, EQ_SCALES, "equalized scale"))

    def set_probe(self, value):
        """The value under the mouse on the original histogram (None: off it)."""
        value = None if value is None else float(value)
        if value != self._probe:
            self._probe = value
            self.probeChanged.emit(value)

    def set_cursor(self, position):
        """Set the pixel under the mouse: ``(x, y)``, or None when it is off the image."""
        position = None if position is None else (int(position[0]), int(position[1]))
        if position != self._cursor:
            self._cursor = position
            self.cursorChanged.emit(position)

    def set_output_levels(self, levels):
        """Set ``L`` for the worked table (2..2**32), or None for the default."""
        if levels is not None:
            from ..core.worked import check_levels
            levels = check_levels(levels)
        if levels != self._output_levels:
            self._output_levels = levels
            self.outputLevelsChanged.emit(levels)
