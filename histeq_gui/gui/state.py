"""The viewer's state: which stack, which image, which method, bins and scope.

The state is the single source of truth.  Widgets write to it through its
setters and redraw themselves from its signals; nothing else keeps a copy.
Every setter validates its value and emits its signal only on a real change.
The pixel under the mouse (:attr:`ViewerState.cursor`) is kept here too, so
that every panel can follow it, but it is not a setting: it does not emit
``changed`` (nothing is recomputed for it).
"""

from __future__ import annotations

from PyQt5.QtCore import QObject, pyqtSignal

from ..core.equalize import check_scope
from ..core.histogram import check_bins as _core_check_bins
from ..core.methods import check_method, uses_value_bins

__all__ = ["ViewerState", "check_bins", "MIN_BINS", "MAX_BINS"]

MIN_BINS = 2
MAX_BINS = 4096


def check_bins(bins):
    """``bins`` as an int if the viewer offers it, else a ValueError.

    The core's check (a whole number, at least 1), then the viewer's range
    (2..4096): the one check for the state, the controls and ``--bins``.
    """
    bins = _core_check_bins(bins)
    if not MIN_BINS <= bins <= MAX_BINS:
        raise ValueError(f"bins must be between {MIN_BINS} and {MAX_BINS}, got {bins}")
    return bins


class ViewerState(QObject):
    """Observable viewer state.

    Signals
    -------
    stackChanged()
        A new stack was set (the index was reset with it).
    indexChanged(int), methodChanged(str), binsChanged(int), scopeChanged(str)
        One setting changed.
    changed()
        After any of the above (the settings that decide what is computed).
    cursorChanged(object)
        The pixel under the mouse, ``(x, y)``, or None off the image.
    levelsChanged(object)
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
    changed = pyqtSignal()
    cursorChanged = pyqtSignal(object)
    levelsChanged = pyqtSignal(object)

    def __init__(self, method="numpy", bins=256, scope="image", parent=None):
        super().__init__(parent)
        self._stack = None
        self._index = 0
        self._method = check_method(method)
        self._bins = check_bins(bins)
        self._scope = check_scope(scope)
        self._cursor = None
        self._levels = None
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
    def levels(self):
        """``L`` of the worked table, or None for the default (the dtype's levels, or bins)."""
        return self._levels

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
        """Show ``stack``, starting at image ``index`` (clamped into range)."""
        self._stack = stack
        self._index = min(max(int(index), 0), max(stack.n_images - 1, 0)) if stack else 0
        self.stackChanged.emit()
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
        """Set the method; an unknown name raises ValueError."""
        method = check_method(method)
        if method != self._method:
            self._method = method
            self.methodChanged.emit(method)
            self.changed.emit()

    def set_bins(self, bins):
        """Set the bin count; values outside 2..4096 raise ValueError."""
        bins = check_bins(bins)
        if bins != self._bins:
            self._bins = bins
            self.binsChanged.emit(bins)
            self.changed.emit()

    def set_scope(self, scope):
        """Set the scope ("image" or "stack"); anything else raises ValueError."""
        scope = check_scope(scope)
        if scope != self._scope:
            self._scope = scope
            self.scopeChanged.emit(scope)
            self.changed.emit()

    def set_cursor(self, position):
        """Set the pixel under the mouse: ``(x, y)``, or None when it is off the image."""
        position = None if position is None else (int(position[0]), int(position[1]))
        if position != self._cursor:
            self._cursor = position
            self.cursorChanged.emit(position)

    def set_levels(self, levels):
        """Set ``L`` for the worked table (2..2**32), or None for the default."""
        if levels is not None:
            from ..core.worked import check_levels
            levels = check_levels(levels)
        if levels != self._levels:
            self._levels = levels
            self.levelsChanged.emit(levels)
