"""Playback: stepping through the stack on a timer, at a speed the user sets (frames per second)."""

from __future__ import annotations

from PyQt5.QtCore import QObject, QTimer, pyqtSignal

__all__ = ["Player", "DEFAULT_FPS", "MAX_FPS", "check_fps"]

DEFAULT_FPS = 8
MAX_FPS = 60


def check_fps(fps):
    """``fps`` as an int from 1 to :data:`MAX_FPS`, else a one-line ValueError."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or fps != int(fps) or \
            not 1 <= fps <= MAX_FPS:
        raise ValueError(f"the playback speed must be a whole number of frames per second from "
                         f"1 to {MAX_FPS}, got {fps!r}")
    return int(fps)


class Player(QObject):
    """Steps through the stack on a timer, looping at the end.

    A tick is skipped while ``busy()`` says the previous image is still being
    computed, so playback never piles up work (a big image plays slower than
    asked, never behind).

    Signals
    -------
    playingChanged(bool)
    fpsChanged(int)
    """

    playingChanged = pyqtSignal(bool)
    fpsChanged = pyqtSignal(int)

    def __init__(self, state, busy=None, parent=None):
        super().__init__(parent)
        self.state = state
        self._busy = busy or (lambda: False)
        self._fps = DEFAULT_FPS
        self._timer = QTimer(self)
        self._timer.setInterval(round(1000 / DEFAULT_FPS))
        self._timer.timeout.connect(self._tick)
        state.stackChanged.connect(self.stop)

    @property
    def fps(self):
        """Images per second while playing."""
        return self._fps

    def set_fps(self, fps):
        """Play at ``fps`` images per second (1 to :data:`MAX_FPS`), also while playing."""
        fps = check_fps(fps)
        if fps != self._fps:
            self._fps = fps
            self._timer.setInterval(round(1000 / fps))
            self.fpsChanged.emit(fps)

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
