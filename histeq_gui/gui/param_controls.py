"""One control per parameter of a method, generated from the method registry.

:func:`make_control` reads a :class:`~histeq_gui.core.methods.Param` (its
type, range, words such as ``'auto'``, default and help) and builds the
widget that fits: a spin box for numbers, a combo box for words, a text
field for anything else; ``match``'s ``reference`` gets its own control
(:class:`ReferenceControl`: the whole stack, an image of it, or an image
file).  A control shows a value (:meth:`ParamControl.show_value`) and says
what the user picked (``picked(value)``, or ``reset()`` for "the default");
it never writes a setting itself: the form it sits in
(:class:`~histeq_gui.gui.param_form.ParamForm`) hands the value on, so the
registry's own check decides what is valid.  Qt comes through
``pyqtgraph.Qt``, so that a napari plugin on another Qt binding can use the
controls too.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from pyqtgraph.Qt import QtCore, QtWidgets

__all__ = ["ParamControl", "make_control", "param_label", "param_tip", "ReferenceControl",
           "choose_reference_file", "INT_LIMIT", "FLOAT_DECIMALS"]

INT_LIMIT = 2 ** 31 - 1      # a QSpinBox holds C ints
FLOAT_DECIMALS = 4


def param_label(param):
    """The label of a parameter's control: ``clip_limit`` -> "Clip limit"."""
    text = param.name.replace("_", " ")
    return text[:1].upper() + text[1:]


def param_tip(param):
    """The tooltip of a parameter's control: its help, what a valid value is, its default."""
    return (f"{param.help}.\nValid: {param.describe()}; default {param.describe_default()}.\n"
            f"(histeq --{param.name.replace('_', '-')})")


def choose_reference_file(parent):
    """Ask for an image file to match to; its path, or "" when cancelled (tests replace it)."""
    path, _ = QtWidgets.QFileDialog.getOpenFileName(
        parent, "Reference image", "",
        "Images and stacks (*.png *.tif *.tiff *.npy *.npz *.jpg *.jpeg *.bmp *.gif);;"
        "All files (*)")
    return path


class ParamControl(QtWidgets.QWidget):
    """The control of one parameter.

    Signals
    -------
    picked(object)
        The user chose this value (not yet checked by the registry).
    reset()
        The user chose the default (for a default that depends on the images).
    """

    picked = QtCore.Signal(object)
    reset = QtCore.Signal()

    def __init__(self, param, parent=None):
        super().__init__(parent)
        self.param = param
        self.setToolTip(param_tip(param))
        self._row = QtWidgets.QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)

    def show_value(self, value):
        """Show ``value`` (the panel passes the parameter's default when none is set)."""
        raise NotImplementedError

    def set_stack(self, stack):
        """The stack shown changed (only the reference control cares)."""


class _IntControl(ParamControl):
    """A spin box; one slot below the range for a word ('auto') or an image-dependent default."""

    def __init__(self, param, parent=None):
        super().__init__(param, parent)
        low = -INT_LIMIT + 1 if param.low is None else int(np.ceil(param.low))
        if param.low_open and param.low is not None and low == param.low:
            low += 1
        high = INT_LIMIT if param.high is None else int(min(param.high, INT_LIMIT))
        self.word = param.choices[0] if param.choices else None
        self.by_default = self.word is None and callable(param.default)
        self.special = self.word is not None or self.by_default
        self.spin = QtWidgets.QSpinBox()
        self.spin.setKeyboardTracking(False)
        self.spin.setRange(low - 1 if self.special else low, high)
        if self.word is not None:
            self.spin.setSpecialValueText(self.word)
        elif self.by_default:
            self.spin.setSpecialValueText("default")       # the value once a stack is shown
        self.spin.setToolTip(self.toolTip())
        self._row.addWidget(self.spin, 1)
        self.spin.valueChanged.connect(self._changed)

    def set_stack(self, stack):
        """A default that depends on the images says its value for this stack: "default: 256"."""
        if not self.by_default:
            return
        dtype = None if stack is None else np.dtype(stack.dtype)
        text = "default"
        if dtype is not None and dtype.kind in "iub":      # floats: it depends on the bins
            text = f"default: {self.param.default_for(dtype):,}"
        self.spin.setSpecialValueText(text)

    def show_value(self, value):
        self.spin.blockSignals(True)
        if value is None or (isinstance(value, str) and value == self.word) or callable(value):
            self.spin.setValue(self.spin.minimum())
        else:
            self.spin.setValue(int(value))
        self.spin.blockSignals(False)

    def _changed(self, value):
        if self.special and value == self.spin.minimum():
            if self.word is not None:
                self.picked.emit(self.word)
            else:
                self.reset.emit()
        else:
            self.picked.emit(int(value))


class _FloatControl(ParamControl):
    """A spin box of decimal numbers over the parameter's range."""

    def __init__(self, param, parent=None):
        super().__init__(param, parent)
        step = 10.0 ** -FLOAT_DECIMALS
        low = -1e9 if param.low is None else float(param.low) + (step if param.low_open else 0)
        high = 1e9 if param.high is None else float(param.high)
        self.spin = QtWidgets.QDoubleSpinBox()
        self.spin.setKeyboardTracking(False)
        self.spin.setDecimals(FLOAT_DECIMALS)
        self.spin.setRange(low, high)
        span = high - low
        self.spin.setSingleStep(0.01 if span <= 1 else 0.1 if span <= 100 else 1.0)
        self.spin.setToolTip(self.toolTip())
        self._row.addWidget(self.spin, 1)
        self.spin.valueChanged.connect(lambda v: self.picked.emit(float(v)))

    def show_value(self, value):
        self.spin.blockSignals(True)
        self.spin.setValue(float(value))
        self.spin.blockSignals(False)


class _ChoiceControl(ParamControl):
    """A combo box of the words of a ``str`` parameter."""

    def __init__(self, param, parent=None):
        super().__init__(param, parent)
        self.combo = QtWidgets.QComboBox()
        for choice in param.choices:
            self.combo.addItem(str(choice), choice)
        self.combo.setToolTip(self.toolTip())
        self._row.addWidget(self.combo, 1)
        self.combo.activated.connect(lambda i: self.picked.emit(self.combo.itemData(i)))

    def show_value(self, value):
        self.combo.setCurrentIndex(max(self.combo.findData(value), 0))


class _TextControl(ParamControl):
    """A text field for any other parameter: numbers and words read as ``histeq`` reads them."""

    def __init__(self, param, parent=None):
        super().__init__(param, parent)
        self.edit = QtWidgets.QLineEdit()
        self.edit.setToolTip(self.toolTip())
        self._row.addWidget(self.edit, 1)
        self.edit.editingFinished.connect(self._typed)

    def show_value(self, value):
        self.edit.setText("" if value is None or callable(value) else str(value))
        self.edit.setModified(False)

    def _typed(self):
        if not self.edit.isModified():
            return
        self.edit.setModified(False)
        text = self.edit.text().strip()
        if not text and callable(self.param.default):
            self.reset.emit()
            return
        value = text
        if self.param.type in (int, float) and text not in (self.param.choices or ()):
            try:
                value = self.param.type(text)
            except ValueError:
                pass                    # the registry's check names what is valid
        self.picked.emit(value)


class ReferenceControl(ParamControl):
    """``match``'s reference: the whole stack, an image of the stack (its index), or a file.

    Choosing "file…" asks for an image file and reads it with the loader of
    :func:`~histeq_gui.core.param_files.read_file_param`; a file that cannot
    be used is said in a message box and the choice goes back.
    """

    KINDS = (("stack", "whole stack"), ("index", "image #"), ("file", "file…"))

    def __init__(self, param, parent=None):
        super().__init__(param, parent)
        self.combo = QtWidgets.QComboBox()
        for kind, text in self.KINDS:
            self.combo.addItem(text, kind)
        self.combo.setToolTip(self.toolTip())
        self.index_spin = QtWidgets.QSpinBox()
        self.index_spin.setKeyboardTracking(False)
        self.index_spin.setRange(0, 0)
        self.index_spin.setToolTip("The image of this stack whose histogram every image is "
                                   "matched to (counted from 0)")
        self.file_label = QtWidgets.QLabel()
        self.file_label.setMinimumWidth(40)
        self.file_button = QtWidgets.QPushButton("…")
        self.file_button.setToolTip("Choose another reference image file")
        self.file_button.setAutoDefault(False)
        self.file_button.setFixedWidth(28)
        self._row.addWidget(self.combo)
        self._row.addWidget(self.index_spin, 1)
        self._row.addWidget(self.file_label, 1)
        self._row.addWidget(self.file_button)
        self._value = "stack"
        self.combo.activated.connect(self._kind_picked)
        self.index_spin.valueChanged.connect(lambda i: self.picked.emit(int(i)))
        self.file_button.clicked.connect(self.choose_file)
        self._show_parts("stack")

    def set_stack(self, stack):
        """Let the index spin box run over the images of ``stack`` (keeping the index set)."""
        n = 0 if stack is None else stack.n_images
        current = self._value if isinstance(self._value, int) else 0
        self.index_spin.blockSignals(True)
        self.index_spin.setRange(0, max(n - 1, current, 0))
        self.index_spin.blockSignals(False)

    def _show_parts(self, kind):
        self.index_spin.setVisible(kind == "index")
        self.file_label.setVisible(kind == "file")
        self.file_button.setVisible(kind == "file")

    def show_value(self, value):
        """Show ``value``: "stack", an image index, a file path or an array given in code."""
        self._value = value
        if isinstance(value, str):
            kind = "stack"
        elif isinstance(value, (int, np.integer)):
            kind = "index"
            self.index_spin.blockSignals(True)
            if value > self.index_spin.maximum():
                self.index_spin.setMaximum(int(value))
            self.index_spin.setValue(int(value))
            self.index_spin.blockSignals(False)
        else:
            kind = "file"
            if isinstance(value, Path):
                self.file_label.setText(html.escape(value.name))
                self.file_label.setToolTip(str(value))
            else:                       # an array given in code
                shape = "×".join(str(s) for s in np.shape(value))
                self.file_label.setText(f"an image array ({shape})")
                self.file_label.setToolTip("")
        self.combo.setCurrentIndex(self.combo.findData(kind))
        self._show_parts(kind)

    def _kind_picked(self, index):
        kind = self.combo.itemData(index)
        if kind == "stack":
            self.picked.emit("stack")
        elif kind == "index":
            self._show_parts("index")
            self.picked.emit(int(self.index_spin.value()))
        elif not self.choose_file():
            self.show_value(self._value)        # cancelled or refused: back as it was

    def choose_file(self):
        """Ask for a reference file and pick it; True if one was chosen and could be read."""
        from ..core.param_files import read_file_param

        path = choose_reference_file(self)
        if not path:
            return False
        try:
            read_file_param(self.param, path)
        except (ValueError, OSError) as exc:       # StackError is a ValueError
            QtWidgets.QMessageBox.warning(self, "Cannot use this reference", str(exc))
            return False
        self.picked.emit(Path(path))
        return True


def make_control(param, parent=None):
    """The control that fits ``param`` (see the module docstring).

    Parameters
    ----------
    param : Param

    Returns
    -------
    ParamControl
    """
    if param.resolve is not None and param.files:       # the stack, an image of it, or a file
        return ReferenceControl(param, parent)
    if param.type is int and (not param.choices or len(param.choices) == 1):
        return _IntControl(param, parent)
    if param.type is float and not param.choices:
        return _FloatControl(param, parent)
    if param.type is str and param.choices:
        return _ChoiceControl(param, parent)
    return _TextControl(param, parent)
