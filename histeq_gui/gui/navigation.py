"""Moving through the stack: the image slider, spin box and play/pause."""

from __future__ import annotations

from PyQt5.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import (QHBoxLayout, QLabel, QSlider, QSpinBox, QStyle, QToolButton,
                             QWidget)

__all__ = ["Player", "NavigationBar", "PLAY_INTERVAL_MS"]

PLAY_INTERVAL_MS = 120


class Player(QObject):
    """Steps through the stack on a timer, looping at the end.

    A tick is skipped while ``busy()`` says the previous image is still being
    computed, so playback never piles up work.

    Signals
    -------
    playingChanged(bool)
    """

    playingChanged = pyqtSignal(bool)

    def __init__(self, state, busy=None, parent=None):
        super().__init__(parent)
        self.state = state
        self._busy = busy or (lambda: False)
        self._timer = QTimer(self)
        self._timer.setInterval(PLAY_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        state.stackChanged.connect(self.stop)

    @property
    def playing(self):
        """True while the timer steps through the stack."""
        return self._timer.isActive()

    def play(self):
        """Start stepping (only for stacks of more than one image)."""
        if not self.playing and self.state.n_images > 1:
            self._timer.start()
            self.playingChanged.emit(True)

    def stop(self):
        """Stop stepping."""
        if self.playing:
            self._timer.stop()
            self.playingChanged.emit(False)

    def toggle(self):
        """Play if paused, pause if playing."""
        if self.playing:
            self.stop()
        else:
            self.play()

    def _tick(self):
        if self._busy():
            return
        n = self.state.n_images
        if n > 1:
            self.state.set_index((self.state.index + 1) % n)


class NavigationBar(QWidget):
    """Play/pause, first/previous/next/last, an image slider and an index spin box."""

    def __init__(self, state, player, parent=None):
        super().__init__(parent)
        self.state = state
        self.player = player
        style = self.style()
        self.first_button = self._button(style.standardIcon(QStyle.SP_MediaSkipBackward),
                                         "First image (Home)", lambda: state.set_index(0))
        self.previous_button = self._button(style.standardIcon(QStyle.SP_MediaSeekBackward),
                                            "Previous image (Left)", lambda: state.step(-1))
        self.play_button = self._button(style.standardIcon(QStyle.SP_MediaPlay),
                                        "Play / pause (Space)", player.toggle)
        self.next_button = self._button(style.standardIcon(QStyle.SP_MediaSeekForward),
                                        "Next image (Right)", lambda: state.step(1))
        self.last_button = self._button(style.standardIcon(QStyle.SP_MediaSkipForward),
                                        "Last image (End)",
                                        lambda: state.set_index(state.n_images - 1))
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setToolTip("Image index (Left/Right, PgUp/PgDn by 10)")
        self.slider.setFocusPolicy(Qt.NoFocus)
        self.spin = QSpinBox()
        self.spin.setToolTip("Image index, counted from 0")
        self.count_label = QLabel()
        self.caption = QLabel()
        self.caption.setMinimumWidth(220)
        self.caption.setStyleSheet("color: palette(dark);")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for button in (self.first_button, self.previous_button, self.play_button,
                       self.next_button, self.last_button):
            layout.addWidget(button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(QLabel("Index"))
        layout.addWidget(self.spin)
        layout.addWidget(self.count_label)
        layout.addWidget(self.caption)

        self.slider.valueChanged.connect(state.set_index)
        self.spin.valueChanged.connect(state.set_index)
        state.stackChanged.connect(self.sync_from_state)
        state.indexChanged.connect(self._show_index)
        player.playingChanged.connect(self._show_playing)
        self.sync_from_state()

    def _button(self, icon, tip, slot):
        button = QToolButton()
        button.setIcon(icon)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.NoFocus)
        button.clicked.connect(slot)
        return button

    def sync_from_state(self):
        """Show the stack's size and the current index."""
        last = max(self.state.n_images - 1, 0)
        for widget in (self.slider, self.spin):
            widget.blockSignals(True)
            widget.setRange(0, last)
            widget.blockSignals(False)
        self.count_label.setText(f"of {self.state.n_images}")
        enabled = self.state.n_images > 1
        for widget in (self.slider, self.spin, self.first_button, self.previous_button,
                       self.play_button, self.next_button, self.last_button):
            widget.setEnabled(enabled)
        self._show_index(self.state.index)

    def _show_index(self, index):
        for widget in (self.slider, self.spin):
            if widget.value() != index:
                widget.blockSignals(True)
                widget.setValue(index)
                widget.blockSignals(False)
        stack = self.state.stack
        self.caption.setText(stack.label(index) if stack is not None else "")

    def _show_playing(self, playing):
        icon = QStyle.SP_MediaPause if playing else QStyle.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
