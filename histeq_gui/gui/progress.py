"""A compact progress display for the status bar: what runs, how far, and Cancel."""

from __future__ import annotations

from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

__all__ = ["ProgressIndicator"]

_SHOW_AFTER_MS = 150   # short jobs finish before the indicator would flash


class ProgressIndicator(QWidget):
    """Shows the progress of the most recently started job of the watched runners.

    Cancel cancels that job through its runner.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(160)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this job; the view keeps what it showed")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._busy = []          # (runner, title), newest last
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.setInterval(_SHOW_AFTER_MS)
        self._show_timer.timeout.connect(self._update_visibility)
        self.cancel_button.clicked.connect(self._cancel)
        self.hide()

    def watch(self, runner, title):
        """Follow ``runner``'s jobs, labelled ``title`` (e.g. "Loading")."""
        runner.busyChanged.connect(lambda busy: self._on_busy(runner, title, busy))
        runner.progressed.connect(lambda stage, done, total: self._on_progress(runner, stage,
                                                                               done, total))

    def _on_busy(self, runner, title, busy):
        self._busy = [(r, t) for r, t in self._busy if r is not runner]
        if busy:
            self._busy.append((runner, title))
            self.label.setText(f"{title}…")
            self.bar.setRange(0, 0)
            self._show_timer.start()
        else:
            self._update_visibility()

    def _on_progress(self, runner, stage, done, total):
        if self._busy and self._busy[-1][0] is runner:
            title = self._busy[-1][1]
            self.label.setText(f"{title}: {stage}…" if stage and stage != title else f"{title}…")
            self.bar.setRange(0, max(total, 1))
            self.bar.setValue(min(done, total))

    def _update_visibility(self):
        self.setVisible(bool(self._busy))

    def _cancel(self):
        if self._busy:
            self._busy[-1][0].cancel()
