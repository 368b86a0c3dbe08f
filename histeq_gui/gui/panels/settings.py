"""The settings panel: method, bins (spin box + slider, debounced), scope.

It only talks to the :class:`~histeq_gui.gui.state.ViewerState`: user input
goes to the state's setters, and the widgets follow the state's signals.
"""

from __future__ import annotations

import math

from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtWidgets import (QButtonGroup, QComboBox, QFormLayout, QHBoxLayout, QLabel,
                             QRadioButton, QSizePolicy, QSlider, QSpinBox, QVBoxLayout,
                             QWidget)

from ...core import methods as _methods
from ...core.methods import METHODS
from ..state import MAX_BINS, MIN_BINS

__all__ = ["SettingsPanel", "BINS_INTERVAL_MS", "slider_to_bins", "bins_to_slider"]

BINS_INTERVAL_MS = 100
_SLIDER_STEPS = 1000
_METHOD_TIPS = {
    "numpy": "The seed recipe: np.histogram with the chosen number of bins over the image's "
             "range, CDF interpolated at the LEFT bin edges.",
    "skimage": "skimage.exposure.equalize_hist: CDF interpolated at the bin CENTRES; integer "
               "images get one bin per integer value (the bin count is ignored).",
}
_SCOPES = (("image", "This image", "Each image is equalized with its own histogram."),
           ("stack", "Whole stack", "One histogram of the whole stack maps every image "
                                    "(ImageJ's \"use stack histogram\")."))


def method_tip(name):
    """What a method does, for its tooltip: the registry's summary when there is one."""
    get_method = getattr(_methods, "get_method", None)     # the method registry, once merged
    if get_method is not None:
        try:
            summary = getattr(get_method(name), "summary", "")
        except (KeyError, ValueError):
            summary = ""
        if summary:
            return summary
    return _METHOD_TIPS.get(name, "")


def slider_to_bins(position):
    """Bin count at a slider position: logarithmic, so 2..4096 fit one slider."""
    fraction = position / _SLIDER_STEPS
    return int(round(MIN_BINS * (MAX_BINS / MIN_BINS) ** fraction))


def bins_to_slider(bins):
    """Slider position of a bin count (inverse of :func:`slider_to_bins`)."""
    fraction = math.log(bins / MIN_BINS) / math.log(MAX_BINS / MIN_BINS)
    return int(round(fraction * _SLIDER_STEPS))


def value_bins_note(dtype):
    """The sentence shown when the method ignores the bin count."""
    return (f"skimage uses one bin per integer value for {dtype} images; "
            "the bin count is ignored.")


class SettingsPanel(QWidget):
    """Method, bins and scope controls bound to a :class:`ViewerState`.

    Dragging the bins slider or stepping the spin box updates the number at
    once; the state (and so the recomputation) follows at most every
    :data:`BINS_INTERVAL_MS`, with the latest value, and at once when the slider
    is released.  A drag thus redraws about ten times a second instead of
    queueing one recomputation per pixel of mouse movement.

    Parameters
    ----------
    context : ViewerContext
        Only its ``state`` is used.
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = state = context.state
        self.method_combo = QComboBox()
        for method in METHODS:
            self.method_combo.addItem(method, method)
            self.method_combo.setItemData(self.method_combo.count() - 1, method_tip(method),
                                          Qt.ToolTipRole)
        self.method_combo.setToolTip("Equalization method (same names as the histeq command "
                                     "and the Python API)")
        self.bins_spin = QSpinBox()
        self.bins_spin.setRange(MIN_BINS, MAX_BINS)
        self.bins_spin.setKeyboardTracking(False)
        self.bins_spin.setToolTip(f"Number of histogram bins ({MIN_BINS}..{MAX_BINS})")
        self.bins_slider = QSlider(Qt.Horizontal)
        self.bins_slider.setRange(0, _SLIDER_STEPS)
        self.bins_slider.setToolTip("Number of bins (logarithmic scale)")
        self.bins_note = QLabel()
        self.bins_note.setWordWrap(True)
        self.bins_note.setObjectName("binsNote")
        self.bins_note.setStyleSheet("#binsNote { background: #fff4ce; color: #5c4400; "
                                     "border: 1px solid #e0c060; border-radius: 3px; "
                                     "padding: 3px 5px; }")
        self.bins_note.hide()
        self.scope_group = QButtonGroup(self)
        self.scope_buttons = {}
        scope_row = QHBoxLayout()
        scope_row.setContentsMargins(0, 0, 0, 0)
        for i, (scope, text, tip) in enumerate(_SCOPES):
            button = QRadioButton(text)
            button.setToolTip(tip)
            self.scope_group.addButton(button, i)
            self.scope_buttons[scope] = button
            scope_row.addWidget(button)
        scope_row.addStretch(1)

        bins_row = QHBoxLayout()
        bins_row.setContentsMargins(0, 0, 0, 0)
        bins_row.addWidget(self.bins_spin)
        bins_row.addWidget(self.bins_slider, 1)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Method", self.method_combo)
        form.addRow("Bins", bins_row)
        form.addRow("", self.bins_note)
        form.addRow("Scope", scope_row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)   # no empty space below

        self._bins_timer = QTimer(self)
        self._bins_timer.setSingleShot(True)
        self._bins_timer.setInterval(BINS_INTERVAL_MS)
        self._bins_timer.timeout.connect(self.commit_bins)

        self.method_combo.currentIndexChanged.connect(self._on_method_picked)
        self.bins_spin.valueChanged.connect(self._on_spin)
        self.bins_slider.valueChanged.connect(self._on_slider)
        self.bins_slider.sliderReleased.connect(self.commit_bins)
        self.bins_spin.editingFinished.connect(self.commit_bins)     # Enter: no wait
        self.scope_group.buttonClicked.connect(self._on_scope_picked)
        state.methodChanged.connect(self._show_method)
        state.binsChanged.connect(self._show_bins)
        state.scopeChanged.connect(self._show_scope)
        state.stackChanged.connect(self._show_note)
        state.methodChanged.connect(self._show_note)
        self.sync_from_state()

    # ------------------------------------------------------------------ state -> widgets
    def sync_from_state(self):
        """Show every value of the state."""
        self._show_method(self.state.method)
        self._show_bins(self.state.bins)
        self._show_scope(self.state.scope)
        self._show_note()

    def _show_method(self, method):
        index = self.method_combo.findData(method)
        if index != self.method_combo.currentIndex():
            self.method_combo.blockSignals(True)
            self.method_combo.setCurrentIndex(index)
            self.method_combo.blockSignals(False)

    def _show_bins(self, bins):
        self._bins_timer.stop()
        self._set_bins_widgets(bins)

    def _set_bins_widgets(self, bins, slider=True):
        self.bins_spin.blockSignals(True)
        self.bins_spin.setValue(bins)
        self.bins_spin.blockSignals(False)
        if slider and not self.bins_slider.isSliderDown():
            self.bins_slider.blockSignals(True)
            self.bins_slider.setValue(bins_to_slider(bins))
            self.bins_slider.blockSignals(False)

    def _show_scope(self, scope):
        button = self.scope_buttons[scope]
        if not button.isChecked():
            button.setChecked(True)

    def _show_note(self, *_):
        ignored = self.state.value_bins
        if ignored:
            self.bins_note.setText(value_bins_note(self.state.stack.dtype))
        self.bins_note.setVisible(ignored)
        self.bins_spin.setEnabled(not ignored)
        self.bins_slider.setEnabled(not ignored)

    # ------------------------------------------------------------------ widgets -> state
    def _on_method_picked(self, index):
        self.state.set_method(self.method_combo.itemData(index))

    def _on_spin(self, bins):
        self._set_bins_widgets(bins)
        self._schedule_bins()

    def _on_slider(self, position):
        self._set_bins_widgets(slider_to_bins(position), slider=False)
        self._schedule_bins()

    def _schedule_bins(self):
        if not self._bins_timer.isActive():     # a running timer will take the latest value
            self._bins_timer.start()

    def commit_bins(self):
        """Write the bins shown to the state now (ends a pending wait)."""
        self._bins_timer.stop()
        self.state.set_bins(self.bins_spin.value())

    def _on_scope_picked(self, button):
        for scope, candidate in self.scope_buttons.items():
            if candidate is button:
                self.state.set_scope(scope)
