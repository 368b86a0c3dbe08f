"""The viewer's state: which stack, which image, the two settings, and how they are shown.

The state is the single source of truth.  Widgets write to it through its
setters and redraw themselves from its signals; nothing else keeps a copy.
Every setter validates its value and emits its signal only on a real change.

Three kinds of values live here:

- what decides the computed result (stack, index, setting A's method, its
  parameters, bins and scope, the colour axis and the region of interest):
  their setters emit ``changed``; setting B (``compare``) has its own;
- how the result is displayed (display levels, the histograms' x range, log
  counts, linked axes, the equalized values' scale): ``levelsChanged`` and
  ``displayChanged``, never ``changed`` (nothing is recomputed for them);
- where the mouse is (the pixel under it, :attr:`ViewerState.cursor`, and
  the value under it on a histogram, :attr:`ViewerState.probe`), followed by
  the status bar and the trace.
"""

from __future__ import annotations

import math

from PyQt5.QtCore import QObject, pyqtSignal

from ..core.channels import parse_channel_axis
from ..core.display import DEFAULT_SATURATED, EQ_LEVEL_MODES, LEVEL_MODES, check_saturated
from ..core.methods import Method
from .setting import Setting, other_method

__all__ = ["ViewerState", "check_levels_mode", "check_roi", "LEVEL_MODES", "HIST_RANGES",
           "EQ_SCALES"]

HIST_RANGES = ("data", "dtype")
"""The original histogram's x axis: the histogram's own range, or the dtype's full range."""

EQ_SCALES = ("export", "unit")
"""Equalized values on the axes: in the export's scale (0..255 for uint8), or in [0, 1]."""


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


class ViewerState(QObject):
    """Observable viewer state.

    Signals
    -------
    stackChanged()
        A new stack was set (the index was reset with it).
    indexChanged(int)
        Another image is shown.
    methodChanged(str), binsChanged(int), scopeChanged(str), paramsChanged(object)
        Setting A changed (the signals of :attr:`setting`, passed on).
    channelAxisChanged(object), roiChanged(object)
        The colour axis choice ("auto", None or an axis) or the region of
        interest (``(x, y, w, h)`` or None) changed.
    changed()
        After any of the above (the settings that decide what is computed).
    levelsChanged()
        The display levels' choice (mode, saturated percent, manual levels; the equalized
        image's mode).
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
    setting : Setting
        Setting A, what the viewer shows: method, its parameters, bins and
        scope.  The state's own ``method``, ``set_method``, ... are its.
    compare : Setting
        Setting B, the comparison view's second one, with its own signals.
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
        self.setting = Setting(method, bins, scope, self)
        self.compare = Setting(other_method(self.setting.method), bins, "image", self)
        for name in ("methodChanged", "binsChanged", "scopeChanged", "paramsChanged",
                     "changed"):
            getattr(self.setting, name).connect(getattr(self, name))
        self._stack = None
        self._index = 0
        self._cursor = None
        self._probe = None
        self._channel_axis = "auto"
        self._roi = None
        self._levels_mode = "auto"
        self._saturated = DEFAULT_SATURATED
        self._manual_levels = None
        self._eq_levels_mode = "auto"
        self._hist_range = "data"
        self._log_counts = False
        self._link_histograms = False
        self._eq_scale = "export"
        self._output_levels = None

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
    def method(self) -> str:
        """Setting A's method name (:attr:`Setting.method`)."""
        return self.setting.method

    @property
    def method_spec(self) -> Method:
        """Setting A's method (:attr:`Setting.method_spec`)."""
        return self.setting.method_spec

    @property
    def bins(self) -> int:
        """Setting A's bins."""
        return self.setting.bins

    @property
    def scope(self) -> str:
        """Setting A's scope, "image" or "stack"."""
        return self.setting.scope

    @property
    def params(self) -> dict:
        """Setting A's parameters (:attr:`Setting.params`)."""
        return self.setting.params

    def params_of(self, method: str) -> dict:
        """Setting A's parameters of ``method`` (:meth:`Setting.params_of`)."""
        return self.setting.params_of(method)

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
    def eq_levels_mode(self):
        """How the equalized image's display levels are chosen.

        One of ``EQ_LEVEL_MODES`` (see :func:`~histeq_gui.core.display.equalized_levels`).
        """
        return self._eq_levels_mode

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
        return self._stack is not None and self.method_spec.ignores_bins(self._stack.dtype)

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

    def set_method(self, method: str) -> None:
        """Pick setting A's method (:meth:`Setting.set_method`)."""
        self.setting.set_method(method)

    def set_bins(self, bins: int) -> None:
        """Set setting A's bins (:meth:`Setting.set_bins`)."""
        self.setting.set_bins(bins)

    def set_scope(self, scope: str) -> None:
        """Set setting A's scope (:meth:`Setting.set_scope`)."""
        self.setting.set_scope(scope)

    def set_param(self, name: str, value: object) -> None:
        """Set one of setting A's parameters (:meth:`Setting.set_param`)."""
        self.setting.set_param(name, value)

    def reset_param(self, name: str) -> None:
        """Give setting A's parameter ``name`` its default (:meth:`Setting.reset_param`)."""
        self.setting.reset_param(name)

    def set_params(self, params, method: str | None = None) -> None:
        """Set setting A's parameters of ``method`` (:meth:`Setting.set_params`)."""
        self.setting.set_params(params, method)

    # ------------------------------------------------------------------ display only
    def set_levels_mode(self, mode):
        """Choose how the original's display levels are set (see :data:`LEVEL_MODES`)."""
        mode = check_levels_mode(mode)
        if mode == "manual" and self._manual_levels is None:
            raise ValueError("manual levels need numbers; type the low and high levels")
        if mode != self._levels_mode:
            self._levels_mode = mode
            self.levelsChanged.emit()

    def set_eq_levels_mode(self, mode):
        """Choose the equalized image's display levels: "auto", "output" ([0, 1]), "percentile"."""
        mode = _choice(mode, EQ_LEVEL_MODES, "display levels of the equalized image")
        if mode != self._eq_levels_mode:
            self._eq_levels_mode = mode
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
