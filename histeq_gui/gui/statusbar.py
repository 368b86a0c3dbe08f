"""The status bar: the pixel under the mouse, short notes, progress, and the stack's size."""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtGui import QPainter
from PyQt5.QtWidgets import QLabel, QPushButton, QStatusBar

from ..core.convert import convert, output_dtype
from .progress import ProgressIndicator

__all__ = ["StatusBar", "WordElidedLabel", "format_value"]

_NOTE_STYLE = "color: palette(dark);"
_PROBLEM_STYLE = "color: #d93025; font-weight: bold;"


def format_value(value):
    """A pixel value as shown: integers as they are, floats to 4 significant digits."""
    value = np.asarray(value)
    if value.ndim:
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    if value.dtype.kind in "iub":
        return str(int(value))
    return f"{float(value):.4g}"


class WordElidedLabel(QLabel):
    """A one-line label that, when too narrow, ends after its last whole word with "…".

    Qt's own elision (or none) cuts anywhere: "equalized 0." for
    "equalized 0.2010", a number that reads as another.
    """

    def shown_text(self):
        """The text as drawn at the label's width: whole, or whole words and "…"."""
        text, metrics = self.text(), self.fontMetrics()
        width = self.contentsRect().width()
        if metrics.horizontalAdvance(text) <= width:
            return text
        words = text.split(" ")
        while words:
            words.pop()
            shown = " ".join(words) + " …"
            if words and metrics.horizontalAdvance(shown) <= width:
                return shown
        return "…"

    def paintEvent(self, event):
        """Qt: draw :meth:`shown_text`, cut after its last whole word if too narrow."""
        painter = QPainter(self)
        painter.drawText(self.contentsRect(), int(self.alignment()), self.shown_text())


class StatusBar(QStatusBar):
    """The window's status bar, following the state and the view controller.

    Parameters
    ----------
    state : ViewerState
    controller : ViewController

    Attributes
    ----------
    pixel_label : WordElidedLabel
        "x 10, y 20 · original 37 · equalized 0.41 = 105 in the uint8 export" for the
        pixel under the mouse (the export's value too while the plots show its scale), cut
        after a whole word when the bar is narrow.
    message_label : QLabel
        Short notes (:meth:`notify`) and why the image cannot be equalized.
    action_button : QPushButton
        Shown with a note that offers something to do ("Open folder").
    info_label : QLabel
        Image number, shape, dtype and layout.
    progress : ProgressIndicator
        The running job, with Cancel.
    """

    def __init__(self, state, controller, parent=None):
        super().__init__(parent)
        self.state = state
        self.controller = controller
        self.pixel_label = WordElidedLabel()
        self.pixel_label.setMinimumWidth(1)     # a long colour readout never widens the window
        self.message_label = QLabel()
        self.message_label.setStyleSheet(_NOTE_STYLE)
        self.message_label.setContentsMargins(0, 0, 16, 0)
        self.message_label.setMinimumWidth(1)   # nor a long note (what a folder holds)
        self._problem_shown = False
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.clear_note)
        self.action_button = QPushButton()
        self.action_button.setFlat(True)
        self.action_button.setStyleSheet("color: palette(link); text-decoration: underline;")
        self.action_button.setFocusPolicy(Qt.NoFocus)
        self.action_button.clicked.connect(self._on_action)
        self.action_button.hide()
        self._action = None
        self.info_label = QLabel()
        self.progress = ProgressIndicator()
        for runner, title in ((controller.compute_runner, "Computing"),
                              (controller.stack_runner, "Whole-stack histogram"),
                              (controller.warm_up, "Preparing fast kernels")):
            self.progress.watch(runner, title)
        self.addWidget(self.pixel_label, 1)
        self.addWidget(self.message_label)
        self.addWidget(self.action_button)
        self.addPermanentWidget(self.progress)
        self.addPermanentWidget(self.info_label)

        state.changed.connect(self._show_info)
        state.cursorChanged.connect(self._show_pixel)
        state.displayChanged.connect(lambda: self._show_pixel(state.cursor))
        controller.resultChanged.connect(self._show_problem)
        controller.resultChanged.connect(self._show_pixel_again)
        controller.noted.connect(self.notify)
        self._show_info()

    def notify(self, text, timeout_ms=5000, problem=False, action=None):
        """A short note (it does not hide the pixel values).

        A ``problem`` (the image cannot be equalized) is shown in a warning
        colour and stays until the view shows a result again.  ``action``,
        ``(label, callable)``, adds a button beside the note while it shows.
        """
        self.message_label.setStyleSheet(_PROBLEM_STYLE if problem else _NOTE_STYLE)
        self.message_label.setText(text)
        self.message_label.setToolTip(text)       # all of it, when the bar is too narrow
        self._action = None if action is None or not text else action[1]
        if self._action is not None:
            self.action_button.setText(action[0])
        self.action_button.setVisible(self._action is not None)
        self._problem_shown = problem
        if problem:
            self._message_timer.stop()
        else:
            self._message_timer.start(timeout_ms)

    def clear_note(self):
        """Remove the note (and its button)."""
        self.notify("")

    def _on_action(self):
        if self._action is not None:
            self._action()

    def _show_problem(self, result):
        if result is None:
            return
        problem = self.controller.problem()
        if problem is not None:
            self.notify(f"Image {result.index}: {problem}", problem=True)
        elif self._problem_shown:
            self.notify("")

    def _show_info(self):
        stack = self.state.stack
        if stack is None:
            self.info_label.setText("no stack: open one with Ctrl+O, or drop a file or folder "
                                    "on the window")
            return
        # Images are numbered as the array indexes them: from 0.
        name = stack.image_name(self.state.index)
        self.info_label.setText(f"{name + ' · ' if name else ''}image {self.state.index} of "
                                f"{stack.n_images} · {stack.describe()}")

    def _show_pixel_again(self, _result):
        self._show_pixel(self.state.cursor)

    def _show_pixel(self, position):
        """The values at ``position`` in the result shown (also when the image changes)."""
        result = self.controller.result
        values = None if result is None else result.pixel(position)
        if values is None:
            self.pixel_label.clear()
            return
        original, equalized = values
        x, y = position
        text = f"x {x}, y {y} · original {format_value(original)}"
        if equalized is not None:
            text += f" · equalized {format_value(equalized)}"
            target = output_dtype("same", result.original.dtype)
            if self.state.eq_scale == "export" and target.kind in "iu":
                exported = convert(np.atleast_1d(np.asarray(equalized, np.float64)), "same",
                                   result.original.dtype)
                shown = exported[0] if np.ndim(equalized) == 0 else exported
                text += f" = {format_value(shown)} in the {target} export"
        self.pixel_label.setText(text)
