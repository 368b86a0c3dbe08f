"""The viewer's keys work wherever the focus is, except while a number is being typed.

A spin box (the image index, the bins) with the focus takes Left/Right,
Home/End, PgUp/PgDn and Space for its text, so after typing a number those
keys stopped paging through the stack.  :class:`TypingKeys` watches the spin
boxes of the window: while their text is the value they hold (nothing typed
since), the window's shortcuts get those keys; while the user is typing, the
text gets them, until Enter (commit) or Escape (revert) ends the typing and
gives the focus back to the images.
"""

from __future__ import annotations

from PyQt5 import sip
from PyQt5.QtCore import QEvent, QObject, Qt
from PyQt5.QtWidgets import QAbstractSpinBox

__all__ = ["TypingKeys", "VIEWER_KEYS"]

VIEWER_KEYS = frozenset({Qt.Key_Left, Qt.Key_Right, Qt.Key_Home, Qt.Key_End, Qt.Key_PageUp,
                         Qt.Key_PageDown, Qt.Key_Space})
_ENTER = (Qt.Key_Return, Qt.Key_Enter)


def is_editing(spin):
    """True while the spin box shows typed text that is not its value yet."""
    return spin.cleanText() != spin.textFromValue(spin.value())


class TypingKeys(QObject):
    """Routes the viewer's keys past spin boxes that are not being typed in.

    Parameters
    ----------
    home : QWidget
        Gets the focus when Enter or Escape ends the typing (the images).
    """

    def __init__(self, home, parent=None):
        super().__init__(parent)
        self.home = home

    def watch_all(self, widget):
        """Watch every spin box inside ``widget``."""
        for spin in widget.findChildren(QAbstractSpinBox):
            self.watch(spin)

    def watch(self, spin):
        """Watch one spin box."""
        spin.installEventFilter(self)
        self.__dict__.setdefault("_watched", []).append(spin)

    def unwatch_all(self):
        """Stop watching (the window closes: no Python filter runs while Qt destroys it)."""
        for spin in self.__dict__.pop("_watched", []):
            if not sip.isdeleted(spin):
                spin.removeEventFilter(self)

    def eventFilter(self, spin, event):
        """Let the viewer's keys through, commit on Enter, revert on Escape."""
        kind = event.type()
        if kind not in (QEvent.ShortcutOverride, QEvent.KeyPress):
            return False
        key = event.key()
        plain = not (event.modifiers() & ~Qt.KeypadModifier)
        if kind == QEvent.ShortcutOverride:
            # Not accepted here: the window's shortcut gets the key, not the text.
            return key in VIEWER_KEYS and plain and not is_editing(spin)
        if key in _ENTER:
            spin.interpretText()            # the typed number becomes the value
            spin.editingFinished.emit()
            self.home.setFocus(Qt.OtherFocusReason)
            return True
        if key == Qt.Key_Escape:
            spin.lineEdit().setText(spin.textFromValue(spin.value()))
            self.home.setFocus(Qt.OtherFocusReason)
            return True
        return False
