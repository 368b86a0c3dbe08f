"""Playback: stepping through the stack on a timer."""

from __future__ import annotations

from PyQt5.QtCore import QObject, QTimer, pyqtSignal

__all__ = ["Player", "PLAY_INTERVAL_MS"]

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
