"""The settings panel: method, its parameters, bins, scope, display levels, colour.

The bins have a spin box and a slider (debounced).  The method's own
parameters get one row each (:class:`~histeq_gui.gui.param_form.ParamForm`,
generated from the registry and rebuilt when the method changes); a "How it
works" button opens the method's help page.

It only talks to the :class:`~histeq_gui.gui.state.ViewerState`: user input
goes to the state's setters, and the widgets follow the state's signals.  The
numbers of the display levels shown are :func:`histeq_gui.gui.levels.current_levels`
of the result shown.
"""

from __future__ import annotations

import math

from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtGui import QDoubleValidator
from PyQt5.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.channels import channel_axis_choices
from ...core.display import EQ_LEVEL_MODES, LEVEL_MODES
from ...core.histogram import MAX_BINS, MIN_BINS
from ...core.methods import Method, registered
from ..levels import (
    EQ_MODE_TEXT,
    EQ_MODE_TIPS,
    MODE_TEXT,
    MODE_TIPS,
    current_levels,
    describe_mode,
    effective_mode,
    equalized_display_levels,
)
from ..method_help import show_method_help
from ..param_form import ParamForm
from ..plots import format_number
from ..stack_file import COLOUR_SIZES

__all__ = ["SettingsPanel", "BINS_INTERVAL_MS", "slider_to_bins", "bins_to_slider",
           "SLIDER_STEPS", "colour_choices", "scope_note", "value_bins_note", "WrappedNote"]

BINS_INTERVAL_MS = 100
_PER_OCTAVE = 100                                    # slider steps per doubling of the bins
SLIDER_STEPS = _PER_OCTAVE * round(math.log2(MAX_BINS / MIN_BINS))
_SNAP = 3                                            # steps either side of a power of two
_SCOPES = (("image", "This image", "Each image is equalized with its own histogram."),
           ("stack", "Whole stack", "One histogram of the whole stack maps every image "
                                    "(ImageJ's \"use stack histogram\")."))


def scope_note(method: Method) -> str | None:
    """Why the "Whole stack" scope is not offered for ``method`` (or None when it is)."""
    if "stack" in method.scopes:
        return None
    return (f"{method.name} works on each image by itself: it has no whole-stack scope "
            f"(one histogram cannot map every image)")


def slider_to_bins(position):
    """Bin count at a slider position: logarithmic, 100 steps per doubling.

    Every power of two (1, 2, 4, ..., 256, 512, 1024, ..., 65536) is a slider
    position of its own, and positions within a few steps of one snap to it,
    so a drag lands on 256 or 1024 easily.

    Examples
    --------
    >>> [slider_to_bins(p) for p in (0, 800, 802, 850, 1100, 1600)]
    [1, 256, 256, 362, 2048, 65536]
    """
    position = int(position)
    nearest = round(position / _PER_OCTAVE) * _PER_OCTAVE
    if abs(position - nearest) <= _SNAP:
        position = nearest
    return int(round(MIN_BINS * 2.0 ** (position / _PER_OCTAVE)))


def bins_to_slider(bins):
    """Slider position of a bin count (inverse of :func:`slider_to_bins`)."""
    return int(round(_PER_OCTAVE * math.log2(bins / MIN_BINS)))


def colour_choices(stack):
    """The colour-axis choices offered for ``stack``: ``[(choice, text)]``.

    "auto" (the rule ``histeq --channel-axis auto`` uses), "none" (gray),
    and each axis of 2, 3 or 4 values; the axis the file declares says so.
    """
    if stack is None:
        return [("auto", "auto")]
    choices = []
    for choice, layout in channel_axis_choices(stack.shape):
        if choice == "auto":
            kind = "colour" if layout.channel_axis is not None else "gray"
            text = f"auto: {layout.name} ({kind})"
        elif choice is None:
            text = f"none: {layout.name} (gray)"
        elif layout.channels in COLOUR_SIZES:
            text = f"axis {choice}: {layout.name}"
            if choice == stack.declared_axis:
                text += " — RGB in the file"
        else:
            continue
        choices.append((choice, text))
    return choices


def value_bins_note(method: Method, dtype) -> str:
    """The sentence shown when ``method`` ignores the bin count for ``dtype`` images.

    Examples
    --------
    >>> from histeq_gui.core.methods import get_method
    >>> value_bins_note(get_method("opencv"), "uint8")
    'opencv uses one bin per integer value for uint8 images; the bin count is ignored.'
    >>> value_bins_note(get_method("match"), "float32")
    'match takes no bin count: it counts each distinct value of the float32 images.'
    """
    if method.param("bins") is None:
        return (f"{method.name} takes no bin count: it counts each distinct value of the "
                f"{dtype} images.")
    return (f"{method.name} uses one bin per integer value for {dtype} images; "
            "the bin count is ignored.")


class WrappedNote(QLabel):
    """A word-wrapped label that asks for the height its text needs at its width.

    (A form layout sizes a wrapped label for a guessed width; in a narrow
    dock the last line would be cut off.)
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)

    def resizeEvent(self, event):
        """Qt: make the minimum height what the wrapped text needs at the new width."""
        super().resizeEvent(event)
        needed = self.heightForWidth(self.width())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)


class SettingsPanel(QWidget):
    """Method, bins, scope, display levels and colour axis, bound to a :class:`ViewerState`.

    Dragging the bins slider or stepping the spin box updates the number at
    once; the state (and so the recomputation) follows at most every
    :data:`BINS_INTERVAL_MS`, with the latest value, and at once when the slider
    is released.  A drag thus redraws about ten times a second instead of
    queueing one recomputation per pixel of mouse movement.

    The display levels are a choice (automatic, dtype range, stack range,
    this image's range, saturated percentiles, manual) with the numbers in
    use shown; typing numbers makes them manual.  The colour axis offers the
    choices of ``histeq --channel-axis`` that the viewer can draw.

    Parameters
    ----------
    context : ViewerContext
        Its ``state``, ``controller`` (for the numbers of this image's levels,
        optional) and ``notify`` are used.
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = state = context.state
        self.controller = context.controller
        self.notify = context.notify
        self.method_combo = QComboBox()
        for method in registered():
            self.method_combo.addItem(method.name, method.name)
            self.method_combo.setItemData(self.method_combo.count() - 1, method.summary,
                                          Qt.ToolTipRole)
        self.method_combo.setToolTip("Equalization method (same names as the histeq command "
                                     "and the Python API)")
        self.help_button = QPushButton("How it works")
        self.help_button.setAutoDefault(False)
        self.help_button.setToolTip("The method's formula, the reference it reproduces and its "
                                    "parameters, with worked examples")
        self.bins_spin = QSpinBox()
        self.bins_spin.setRange(MIN_BINS, MAX_BINS)
        self.bins_spin.setKeyboardTracking(False)
        self.bins_spin.setToolTip(f"Number of histogram bins ({MIN_BINS}..{MAX_BINS})")
        self.bins_slider = QSlider(Qt.Horizontal)
        self.bins_slider.setRange(0, SLIDER_STEPS)
        self.bins_slider.setPageStep(_PER_OCTAVE)
        self.bins_slider.setTickInterval(_PER_OCTAVE)
        self.bins_slider.setTickPosition(QSlider.TicksBelow)
        self.bins_slider.setToolTip("Number of bins, logarithmic: the ticks are the powers of "
                                    "two (2 … 256, 512, 1024, 2048, 4096), which the slider "
                                    "snaps to; PgUp/PgDn double or halve")
        self.bins_note = WrappedNote()
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

        self.levels_combo = QComboBox()
        for mode in LEVEL_MODES:
            self.levels_combo.addItem(MODE_TEXT[mode], mode)
            self.levels_combo.setItemData(self.levels_combo.count() - 1, MODE_TIPS[mode],
                                          Qt.ToolTipRole)
        self.levels_combo.setToolTip("How the original is displayed: the values shown as "
                                     "black and white (nothing is recomputed)")
        self.low_edit = QLineEdit()
        self.high_edit = QLineEdit()
        for edit, which in ((self.low_edit, "black"), (self.high_edit, "white")):
            edit.setValidator(QDoubleValidator())
            edit.setToolTip(f"The value shown as {which}; type a number and press Enter for "
                            "manual levels")
            edit.setMinimumWidth(60)
        self.saturated_spin = QDoubleSpinBox()
        self.saturated_spin.setRange(0.0, 50.0)
        self.saturated_spin.setDecimals(2)
        self.saturated_spin.setSingleStep(0.05)
        self.saturated_spin.setSuffix(" %")
        self.saturated_spin.setKeyboardTracking(False)
        self.saturated_spin.setToolTip("Percent of the stack's pixels left saturated, half at "
                                       "each end (ImageJ's default: 0.35 %)")
        self.eq_levels_combo = QComboBox()
        for mode in EQ_LEVEL_MODES:
            self.eq_levels_combo.addItem(EQ_MODE_TEXT[mode], mode)
            self.eq_levels_combo.setItemData(self.eq_levels_combo.count() - 1,
                                             EQ_MODE_TIPS[mode], Qt.ToolTipRole)
        self.eq_levels_combo.setToolTip("How the equalized image is displayed (nothing is "
                                        "recomputed; the export is not changed)")
        self.colour_combo = QComboBox()
        for combo in (self.colour_combo, self.levels_combo):    # long items do not widen it
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
        for combo, chars in ((self.levels_combo, 7), (self.eq_levels_combo, 4)):
            # As wide as their text, but a narrow window (1024 pixels) may cut it.
            combo.setMinimumWidth(combo.fontMetrics().averageCharWidth() * chars + 30)
        self.colour_combo.setToolTip("The colour axis, as histeq --channel-axis: auto "
                                     "(channels last of 2-4 values), none (gray), or an axis")
        self.colour_note = WrappedNote()
        self.colour_note.setObjectName("colourNote")
        self.colour_note.setStyleSheet("#colourNote { color: palette(dark); }")
        self.colour_note.hide()

        bins_row = QHBoxLayout()
        bins_row.setContentsMargins(0, 0, 0, 0)
        bins_row.addWidget(self.bins_spin)
        bins_row.addWidget(self.bins_slider, 1)
        levels_row = QHBoxLayout()
        levels_row.setContentsMargins(0, 0, 0, 0)
        levels_row.addWidget(self.low_edit, 1)
        levels_row.addWidget(QLabel("to"))
        levels_row.addWidget(self.high_edit, 1)
        levels_row.addWidget(self.saturated_spin)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        method_row = QHBoxLayout()
        method_row.setContentsMargins(0, 0, 0, 0)
        method_row.addWidget(self.method_combo, 1)
        method_row.addWidget(self.help_button)
        form.addRow("Method", method_row)
        form.addRow("Bins", bins_row)
        form.addRow("", self.bins_note)
        form.addRow("Scope", scope_row)
        display_row = QHBoxLayout()             # the original's levels, then the result's
        display_row.setContentsMargins(0, 0, 0, 0)
        display_row.addWidget(self.levels_combo, 1)
        display_row.addWidget(QLabel("result"))
        display_row.addWidget(self.eq_levels_combo)
        form.addRow("Display", display_row)
        form.addRow("Range", levels_row)         # display range (not textbook's levels)
        form.addRow("Colour", self.colour_combo)
        form.addRow("", self.colour_note)
        self.form = form
        self.params_form = ParamForm(form, lambda: self.state.params, state.set_param,
                                     state.reset_param, notify=lambda text: self.notify(text),
                                     after=self.bins_note)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)   # the curve takes the rest

        self._bins_timer = QTimer(self)
        self._bins_timer.setSingleShot(True)
        self._bins_timer.setInterval(BINS_INTERVAL_MS)
        self._bins_timer.timeout.connect(self.commit_bins)

        self.method_combo.currentIndexChanged.connect(self._on_method_picked)
        self.help_button.clicked.connect(lambda: show_method_help(self, self.state.method))
        self.bins_spin.valueChanged.connect(self._on_spin)
        self.bins_slider.valueChanged.connect(self._on_slider)
        self.bins_slider.sliderReleased.connect(self.commit_bins)
        self.bins_spin.editingFinished.connect(self.commit_bins)     # Enter: no wait
        self.scope_group.buttonClicked.connect(self._on_scope_picked)
        self.levels_combo.currentIndexChanged.connect(self._on_levels_picked)
        self.eq_levels_combo.currentIndexChanged.connect(
            lambda i: self.state.set_eq_levels_mode(self.eq_levels_combo.itemData(i)))
        self.low_edit.editingFinished.connect(self._on_levels_typed)
        self.high_edit.editingFinished.connect(self._on_levels_typed)
        self.saturated_spin.valueChanged.connect(self._on_saturated)
        self.colour_combo.activated.connect(self._on_colour_picked)
        state.methodChanged.connect(self._show_method)
        state.methodChanged.connect(lambda: self.params_form.set_method(state.method_spec))
        state.paramsChanged.connect(self.params_form.show_values)
        state.stackChanged.connect(lambda: self.params_form.set_stack(state.stack))
        state.binsChanged.connect(self._show_bins)
        state.scopeChanged.connect(self._show_scope)
        state.methodChanged.connect(self._show_scope)
        state.stackChanged.connect(self._show_note)
        state.methodChanged.connect(self._show_note)
        state.binsChanged.connect(self._show_note)
        state.paramsChanged.connect(self._show_note)
        state.levelsChanged.connect(self._show_levels)
        state.stackChanged.connect(self._show_levels)
        state.indexChanged.connect(self._show_levels)
        state.stackChanged.connect(self._show_colour)
        state.channelAxisChanged.connect(self._show_colour)
        if self.controller is not None:
            self.controller.resultChanged.connect(self._show_levels)
        self.sync_from_state()

    @property
    def param_controls(self):
        """Parameter name -> its control (the method's own parameters, not bins)."""
        return self.params_form.controls

    # ------------------------------------------------------------------ state -> widgets
    def sync_from_state(self):
        """Show every value of the state."""
        self._show_method(self.state.method)
        self.params_form.set_stack(self.state.stack)
        self.params_form.set_method(self.state.method_spec)
        self._show_bins(self.state.bins)
        self._show_scope(self.state.scope)
        self._show_note()
        self._show_levels()
        self._show_colour()

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

    def _show_scope(self, *_):
        button = self.scope_buttons[self.state.scope]
        if not button.isChecked():
            button.setChecked(True)
        stack_button = self.scope_buttons["stack"]
        note = scope_note(self.state.method_spec)
        stack_button.setEnabled(note is None)
        stack_button.setText("Whole stack" if note is None else "Whole stack: n/a")
        stack_button.setToolTip(_SCOPES[1][2] if note is None else note)

    def _show_note(self, *_):
        state = self.state
        ignored = state.value_bins
        note = value_bins_note(state.method_spec, state.stack.dtype) if ignored else None
        own = state.method_spec.bins_note
        if not ignored and own is not None and state.stack is not None:
            try:
                note = own(state.stack.dtype, state.bins, state.params)
            except ValueError:          # parameters being typed: the form says what is wrong
                note = None
        if note:
            self.bins_note.setText(note)
        self.bins_note.setVisible(bool(note))
        self.bins_spin.setEnabled(not ignored)
        self.bins_slider.setEnabled(not ignored)

    def _show_levels(self, *_):
        state = self.state
        index = self.levels_combo.findData(state.levels_mode)
        self.levels_combo.blockSignals(True)
        self.levels_combo.setCurrentIndex(index)
        self.levels_combo.setItemText(self.levels_combo.findData("auto"),
                                      f"Auto: {describe_mode(state)}" if state.stack else
                                      "Automatic")
        self.levels_combo.blockSignals(False)
        result = None if self.controller is None else self.controller.result
        low, high = current_levels(state, result)
        for edit, value in ((self.low_edit, low), (self.high_edit, high)):
            if not edit.hasFocus() or not edit.isModified():
                edit.setText(format_number(value))
                edit.setModified(False)
        self.saturated_spin.blockSignals(True)
        self.saturated_spin.setValue(state.saturated)
        self.saturated_spin.blockSignals(False)
        self.saturated_spin.setVisible(effective_mode(state) == "percentile" or
                                       state.eq_levels_mode == "percentile")
        self._show_eq_levels(result)
        enabled = state.stack is not None
        for widget in (self.levels_combo, self.low_edit, self.high_edit, self.saturated_spin,
                       self.eq_levels_combo):
            widget.setEnabled(enabled)

    def _show_eq_levels(self, result):
        """The equalized image's choice, "Auto" saying what it gives for the result shown."""
        combo, state = self.eq_levels_combo, self.state
        combo.blockSignals(True)
        combo.setCurrentIndex(combo.findData(state.eq_levels_mode))
        low, high = equalized_display_levels(state, result, "auto")
        combo.setItemText(combo.findData("auto"), "Auto" if (low, high) == (0.0, 1.0) else
                          "Auto: %")
        combo.setToolTip(f"How the equalized image is displayed: now {format_number(low)} to "
                         f"{format_number(high)} (nothing is recomputed; the export is not "
                         "changed)")
        combo.blockSignals(False)

    def _show_colour(self, *_):
        stack = self.state.stack
        self.colour_combo.blockSignals(True)
        self.colour_combo.clear()
        for choice, text in colour_choices(stack):
            self.colour_combo.addItem(text, choice)
        index = next((i for i in range(self.colour_combo.count())
                      if self.colour_combo.itemData(i) == self.state.channel_axis), 0)
        self.colour_combo.setCurrentIndex(index)
        self.colour_combo.blockSignals(False)
        self.colour_combo.setEnabled(stack is not None and self.colour_combo.count() > 2)
        declared = None if stack is None else stack.declared_axis
        hint = (declared is not None and stack.layout.channel_axis != declared)
        if hint:
            self.colour_note.setText(f"The file tags axis {declared} as RGB: pick "
                                     f"\"axis {declared}\" for colour")
        self.colour_note.setVisible(bool(hint))

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

    def _on_levels_picked(self, index):
        mode = self.levels_combo.itemData(index)
        if mode == "manual" and self.state.manual_levels is None:
            self._on_levels_typed(force=True)       # manual from the numbers shown
            return
        self.state.set_levels_mode(mode)

    def _on_levels_typed(self, force=False):
        try:
            low, high = float(self.low_edit.text()), float(self.high_edit.text())
        except ValueError:
            self._show_levels()
            return
        if not force and not (self.low_edit.isModified() or self.high_edit.isModified()):
            return                                  # nothing was typed
        self.low_edit.setModified(False)
        self.high_edit.setModified(False)
        try:
            self.state.set_manual_levels(low, high)
        except ValueError as exc:
            self.notify(str(exc))
            self._show_levels()

    def _on_saturated(self, value):
        try:
            self.state.set_saturated(value)
        except ValueError as exc:
            self.notify(str(exc))

    def _on_colour_picked(self, index):
        choice = self.colour_combo.itemData(index)
        try:
            self.state.set_channel_axis(choice)
        except ValueError as exc:
            self.notify(str(exc))
            self._show_colour()

    def _on_scope_picked(self, button):
        for scope, candidate in self.scope_buttons.items():
            if candidate is button:
                self.state.set_scope(scope)
