"""The form of a method's own parameters: one row per parameter, built from the registry.

:class:`ParamForm` builds a row for each parameter of a
:class:`~histeq_gui.core.methods.Method` but ``bins`` (a setting of its
own), with the control :func:`~histeq_gui.gui.param_controls.make_control`
makes for it; it shows the current values and hands what the user picks to
a callback.  It knows nothing else: values come in (``values()``, or the
dict given to :meth:`ParamForm.show_values`), changes go out
(``pick(name, value)``, ``reset(name)``), and a value the callback refuses
(a one-line ValueError of the registry) is said through ``notify`` while
the values shown go back.  The settings panel lays the rows in its form,
the comparison panel in one line.

Qt comes through ``pyqtgraph.Qt``, so that a napari plugin, on whichever Qt
binding napari runs, can build the very same form.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping

from pyqtgraph.Qt import QtWidgets

from ..core.methods import Method
from .param_controls import ParamControl, make_control, param_label

__all__ = ["ParamForm"]


class ParamForm:
    """The rows of one method's parameters in a layout, following a setting through callbacks.

    Parameters
    ----------
    layout : QFormLayout or QBoxLayout
        Where the rows go.  In a form layout, a row (label, control) per
        parameter, after the row of ``after`` (at the end without it); the
        form's other rows are left alone.  A box layout is the form's own:
        label and control side by side, then a stretch.
    values : callable
        ``values()``: the parameters set (a dict; a parameter not in it
        shows its default).
    pick : callable
        ``pick(name, value)``: the user chose ``value``; raises ValueError
        (one line) for a value the registry refuses.
    reset : callable
        ``reset(name)``: the user chose the default.
    notify : callable, optional
        ``notify(text)``: where a refused value is said.
    after : QWidget, optional
        In a form layout, the field of the row the parameters follow.
    name : str
        The controls' object names: ``f"{name}_{parameter}"``.
    empty_text : str, optional
        Shown (in a box layout) for a method with no parameter besides bins;
        ``{method}`` stands for its name.

    Attributes
    ----------
    controls : dict
        Parameter name -> :class:`~histeq_gui.gui.param_controls.ParamControl`.
    method : Method or None
        The method whose rows are shown.
    """

    def __init__(self, layout: QtWidgets.QLayout, values: Callable[[], Mapping[str, object]],
                 pick: Callable[[str, object], None], reset: Callable[[str], None],
                 notify: Callable[[str], None] | None = None,
                 after: QtWidgets.QWidget | None = None, name: str = "param",
                 empty_text: str | None = None) -> None:
        self.layout = layout
        self.values = values
        self.notify = notify or (lambda text: None)
        self.controls: dict[str, ParamControl] = {}
        self.method: Method | None = None
        self._pick = pick
        self._reset = reset
        self._after = after
        self._name = name
        self._empty_text = empty_text
        self._stack = None

    def set_method(self, method: Method) -> None:
        """Show the rows of ``method`` (built anew for another method), with the values set."""
        if method is self.method:
            return
        self._clear()
        self.method = method
        is_form = isinstance(self.layout, QtWidgets.QFormLayout)
        if is_form:
            row = (self.layout.getWidgetPosition(self._after)[0] + 1 if self._after is not None
                   else self.layout.rowCount())
        for param in method.params:
            if param.name == "bins":
                continue
            control = make_control(param)
            control.setObjectName(f"{self._name}_{param.name}")
            control.set_stack(self._stack)
            control.picked.connect(lambda value, n=param.name: self.pick(n, value))
            control.reset.connect(lambda n=param.name: self._reset(n))
            label = QtWidgets.QLabel(param_label(param))
            label.setToolTip(control.toolTip())
            if is_form:
                self.layout.insertRow(row, label, control)
                row += 1
            else:
                self.layout.addWidget(label)
                self.layout.addWidget(control, 1)
            self.controls[param.name] = control
        if not is_form:
            if not self.controls and self._empty_text:
                text = self._empty_text.format(method=method.name)
                empty = QtWidgets.QLabel(f"<i>{html.escape(text)}</i>")
                empty.setStyleSheet("color: #9aa0a6")
                self.layout.addWidget(empty)
            self.layout.addStretch(0)
        self.show_values()

    def _clear(self):
        if isinstance(self.layout, QtWidgets.QFormLayout):
            for control in self.controls.values():
                self.layout.removeRow(control)          # deletes the label and the control
        else:
            while self.layout.count():
                item = self.layout.takeAt(0)
                if item.widget() is not None:
                    item.widget().deleteLater()
        self.controls = {}

    def show_values(self, values: Mapping[str, object] | None = None) -> None:
        """Show ``values`` (default: ``values()``); a parameter not in them shows its default."""
        values = self.values() if values is None else values
        for name, control in self.controls.items():
            control.show_value(values.get(name, control.param.default))

    def set_stack(self, stack: object) -> None:
        """The stack shown changed (the controls of stack-aware parameters follow it)."""
        self._stack = stack
        for control in self.controls.values():
            control.set_stack(stack)
        self.show_values()

    def pick(self, name: str, value: object) -> None:
        """Hand ``value`` of ``name`` to ``pick``; a refused one is said, the values go back."""
        try:
            self._pick(name, value)
        except ValueError as exc:
            self.notify(str(exc))
            self.show_values()
