"""The parameter form on its own: the registry in, values in, picks out; Qt via pyqtgraph.Qt."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from PyQt5.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QWidget

from histeq_gui.core.methods import get_method
from histeq_gui.gui import param_controls, param_form
from histeq_gui.gui.param_form import ParamForm


class Values:
    """A setting reduced to the form's interface: a dict, checked by the registry on pick."""

    def __init__(self, method):
        self.method = get_method(method)
        self.values = {}
        self.notes = []

    def pick(self, name, value):
        self.values[name] = self.method.param(name).check(value, self.method.name)

    def reset(self, name):
        self.values.pop(name, None)


def labels(form):
    return [form.itemAt(row, QFormLayout.LabelRole).widget().text()
            for row in range(form.rowCount())]


def test_rows_in_a_form_follow_the_method_values_in_picks_out(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    form = QFormLayout(widget)
    anchor = QLabel("anchor")
    form.addRow("Method", QLabel("m"))
    form.addRow("Bins", anchor)
    form.addRow("Scope", QLabel("s"))
    setting = Values("clahe")
    rows = ParamForm(form, lambda: setting.values, setting.pick, setting.reset,
                     notify=setting.notes.append, after=anchor)
    rows.set_method(setting.method)
    clahe = [p for p in setting.method.params if p.name != "bins"]
    assert labels(form) == ["Method", "Bins", *[param_controls.param_label(p) for p in clahe],
                            "Scope"]
    clip = rows.controls["clip_limit"]
    assert clip.objectName() == "param_clip_limit"
    assert clip.spin.value() == pytest.approx(setting.method.param("clip_limit").default)
    clip.spin.setValue(0.05)                              # widget -> callback
    assert setting.values == {"clip_limit": 0.05}
    rows.show_values({"clip_limit": 0.2})                 # values in -> widget
    assert clip.spin.value() == pytest.approx(0.2)
    rows.pick("clip_limit", 7.0)                          # refused: said, shown values back
    assert setting.values == {"clip_limit": 0.05} and "clip_limit" in setting.notes[0]
    assert clip.spin.value() == pytest.approx(0.05)
    setting.method = get_method("textbook")
    rows.set_method(setting.method)                       # rebuilt: clahe's rows are gone
    assert labels(form) == ["Method", "Bins", "Levels", "Scope"]
    assert set(rows.controls) == {"levels"}


def test_rows_in_a_line_say_when_a_method_has_none(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    line = QHBoxLayout(widget)
    setting = Values("numpy")
    rows = ParamForm(line, lambda: setting.values, setting.pick, setting.reset, name="param_B",
                     empty_text="{method} has no parameters besides bins")
    rows.set_method(setting.method)
    texts = [line.itemAt(i).widget().text() for i in range(line.count())
             if line.itemAt(i).widget() is not None]
    assert rows.controls == {} and texts == ["<i>numpy has no parameters besides bins</i>"]
    rows.set_method(get_method("match"))
    assert set(rows.controls) == {"reference"}
    assert rows.controls["reference"].objectName() == "param_B_reference"
    assert "numpy has no parameters" not in " ".join(
        line.itemAt(i).widget().text() for i in range(line.count())
        if isinstance(line.itemAt(i).widget(), QLabel))


@pytest.mark.parametrize("module", [param_form, param_controls])
def test_the_form_takes_qt_from_pyqtgraph(module):
    """A napari plugin on another Qt binding can build the same form: no PyQt5 import."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert "pyqtgraph.Qt" in imported
    assert not {name for name in imported if name.split(".")[0] in
                ("PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy")}
