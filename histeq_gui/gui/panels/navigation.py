"""The navigation panel: the image slider, index spin box, play/pause and its speed."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStyle,
    QToolButton,
    QWidget,
)

from ..bindings import keys_of
from ..player import MAX_FPS

__all__ = ["NavigationPanel"]


class NavigationPanel(QWidget):
    """Play/pause, first/previous/next/last, an image slider, an index spin box, the speed.

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` and ``player`` are used.

    Attributes
    ----------
    menu_actions : dict
        The Image menu's actions, with their keys (Left/Right, Home/End,
        PgUp/PgDn, Space); the window adds them, so the keys work also while
        this panel is hidden.
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = state = context.state
        self.player = player = context.player
        (back, forward), (first, last), (page_back, page_forward) = (
            keys_of(name) for name in ("step", "ends", "jump"))
        self.menu_actions = {"Image": [
            self._action("&Previous image", lambda: state.step(-1), back),
            self._action("&Next image", lambda: state.step(1), forward),
            self._action("&First image", lambda: state.set_index(0), first),
            self._action("&Last image", lambda: state.set_index(state.n_images - 1), last),
            self._action("10 images &back", lambda: state.step(-10), page_back),
            self._action("10 images f&orward", lambda: state.step(10), page_forward),
            None,
            self._action("Play / &pause", player.toggle, keys_of("play")[0])]}
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
        self.spin.setToolTip("Image index, counted from 0 (type a number, then Enter)")
        self.spin.setKeyboardTracking(False)    # typing "12" does not visit image 1 first
        self.count_label = QLabel()
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, MAX_FPS)
        self.fps_spin.setSuffix(" fps")
        self.fps_spin.setValue(player.fps)
        self.fps_spin.setKeyboardTracking(False)
        self.fps_spin.setToolTip("Playback speed: images per second while playing (Space); a "
                                 "big image that takes longer to compute plays slower")
        self.caption = QLabel()
        self.caption.setMinimumWidth(1)     # takes what is left; a narrow window cuts it
        self.caption.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        self.caption.setStyleSheet("color: palette(dark);")

        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)   # one row, any width
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for button in (self.first_button, self.previous_button, self.play_button,
                       self.next_button, self.last_button):
            layout.addWidget(button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(QLabel("Index"))
        layout.addWidget(self.spin)
        layout.addWidget(self.count_label)
        layout.addWidget(self.fps_spin)
        layout.addWidget(self.caption)

        self.slider.valueChanged.connect(state.set_index)
        self.spin.valueChanged.connect(state.set_index)
        state.stackChanged.connect(self.sync_from_state)
        state.indexChanged.connect(self._show_index)
        player.playingChanged.connect(self._show_playing)
        self.fps_spin.valueChanged.connect(player.set_fps)
        player.fpsChanged.connect(self._show_fps)
        self.sync_from_state()

    def _action(self, text, slot, key):
        action = QAction(text, self)
        action.setShortcut(QKeySequence(key))
        action.triggered.connect(lambda checked=False: slot())
        return action

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
                       self.play_button, self.next_button, self.last_button, self.fps_spin):
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

    def _show_fps(self, fps):
        if self.fps_spin.value() != fps:
            self.fps_spin.blockSignals(True)
            self.fps_spin.setValue(fps)
            self.fps_spin.blockSignals(False)

    def _show_playing(self, playing):
        icon = QStyle.SP_MediaPause if playing else QStyle.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
