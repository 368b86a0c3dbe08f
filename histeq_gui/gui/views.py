"""Whole-window views: the viewer, or one teaching panel filling the window.

A teaching panel (comparison, worked table, "why it is not flat") is a dock
like any other: the View menu shows it beside the images.  A *view* gives
it the whole window instead: :meth:`ViewSwitcher.show_view` hides the images
and the other docks (the navigation bar stays, to page through the stack),
shows the panel's dock, and going back to the viewer restores the docks as
they were.  ``histeq-gui --view compare`` starts in such a view; View >
Viewer / Compare / Worked table / Why it is not flat (Ctrl+1..4) switches.
"""

from __future__ import annotations

from PyQt5.QtCore import QObject, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QActionGroup

__all__ = ["ViewSwitcher", "VIEWS", "VIEW_NAMES", "KEPT_DOCKS"]

#: View name (``--view``) -> (panel id, menu text); "viewer" is the images and their docks.
VIEWS = {
    "viewer": (None, "&Viewer"),
    "compare": ("compare", "&Compare two settings (whole window)"),
    "worked-table": ("worked_table", "&Worked table (whole window)"),
    "not-flat": ("not_flat", "Why it is &not flat (whole window)"),
}
VIEW_NAMES = tuple(VIEWS)
#: Docks that stay visible in a teaching view.
KEPT_DOCKS = ("navigation",)


class ViewSwitcher(QObject):
    """Switches the main window between the viewer and the teaching views.

    Parameters
    ----------
    window : QMainWindow
    docks : dict
        Panel id -> QDockWidget (the window's).

    Signals
    -------
    viewChanged(str)
        The new view's name.

    Attributes
    ----------
    actions : dict
        View name -> checkable QAction (exclusive), for the View menu.
    """

    viewChanged = pyqtSignal(str)

    def __init__(self, window, docks, parent=None):
        super().__init__(parent if parent is not None else window)
        self.window = window
        self.docks = docks
        self._view = "viewer"
        self._viewer_docks = None     # dock id -> visible, remembered while another view shows
        self.actions = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        for number, (name, (panel_id, text)) in enumerate(VIEWS.items(), start=1):
            if panel_id is not None and panel_id not in docks:
                continue
            action = QAction(text, window)
            action.setCheckable(True)
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.setChecked(name == "viewer")
            action.triggered.connect(lambda checked=False, n=name: self.show_view(n))
            group.addAction(action)
            self.actions[name] = action

    @property
    def view(self):
        """The view shown: "viewer", "compare", "worked-table" or "not-flat"."""
        return self._view

    def available(self):
        """The views this window can show."""
        return tuple(self.actions)

    def show_view(self, name):
        """Show view ``name``; an unknown or unavailable name raises ValueError."""
        if name not in self.actions:
            raise ValueError(f"unknown view {name!r}; choose one of: "
                             f"{', '.join(self.available())}")
        if name == self._view:
            return
        central = self.window.centralWidget()
        if self._view == "viewer":
            self._viewer_docks = {pid: not dock.isHidden() for pid, dock in self.docks.items()}
        target = VIEWS[name][0]
        if target is None:
            for pid, dock in self.docks.items():
                dock.setVisible((self._viewer_docks or {}).get(pid, not dock.isHidden()))
            if central is not None:
                central.show()
        else:
            if central is not None:
                central.hide()
            for pid, dock in self.docks.items():
                dock.setVisible(pid == target or pid in KEPT_DOCKS)
            self.docks[target].setFloating(False)
            self.docks[target].raise_()
        self._view = name
        self.actions[name].setChecked(True)
        self.viewChanged.emit(name)
