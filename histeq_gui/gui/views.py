"""Views: arrangements of the window for a task (``histeq-gui --view NAME``, View menu).

A view is one entry of :data:`VIEWS`, of one of two kinds:

- an *arrangement* keeps the images and brings the panels of a task to the
  front, giving the bottom one a share of the height: ``viewer`` (the window
  as it opens: histograms and transfer curve), ``stats`` (the statistics
  table and the column histogram) and ``montage`` (the thumbnail grid and
  the column histogram);
- a *whole-window* view gives one teaching panel the window: the images and
  the other docks are hidden (the navigation bar stays, to page through the
  stack): ``compare``, ``worked-table`` and ``not-flat``.

:class:`ViewSwitcher` switches between them (View menu, Ctrl+1..6).  Every
other view is the viewer's layout changed for a task: leaving the viewer
keeps its layout (``QMainWindow.saveState``: the docks, their sizes, tabs
and places), and coming back to it (Ctrl+1, or on the way to another view)
restores exactly that, so the images and plots are as big as they were.
:meth:`ViewSwitcher.reset` brings back the window's first layout (View >
Reset layout).
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt5.QtCore import QObject, Qt, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QActionGroup, QApplication

from .bindings import keys_of

__all__ = ["View", "VIEWS", "VIEW_NAMES", "KEPT_DOCKS", "ViewSwitcher"]


@dataclass(frozen=True)
class View:
    """One view of :data:`VIEWS`.

    Attributes
    ----------
    text : str
        Its entry in the View menu.
    front : tuple of str
        Panels brought to the front (an arrangement).
    share : float or None
        The bottom panel's share of the window's height (an arrangement).
    whole : str or None
        The panel that gets the whole window (a whole-window view).
    """

    text: str
    front: tuple = ()
    share: float | None = None
    whole: str | None = None

    def panels(self):
        """The panels the view needs."""
        return (self.whole,) if self.whole else self.front


#: View name (``--view``) -> :class:`View`.
VIEWS = {
    "viewer": View("&Viewer", front=("histograms", "transfer")),
    "stats": View("&Statistics table", front=("stats", "column_histogram"), share=0.55),
    "montage": View("&Thumbnail grid", front=("grid", "column_histogram"), share=0.62),
    "compare": View("&Compare two settings (whole window)", whole="compare"),
    "worked-table": View("&Worked table (whole window)", whole="worked_table"),
    "not-flat": View("Why it is &not flat (whole window)", whole="not_flat"),
}
VIEW_NAMES = tuple(VIEWS)
#: Docks that stay visible in a whole-window view.
KEPT_DOCKS = ("navigation",)


class ViewSwitcher(QObject):
    """Switches the main window between the views of :data:`VIEWS`.

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
        View name -> checkable QAction (exclusive), for the View menu; views
        whose panels the window lacks have none.
    """

    viewChanged = pyqtSignal(str)

    def __init__(self, window, docks, parent=None):
        super().__init__(parent if parent is not None else window)
        self.window = window
        self.docks = docks
        self._view = "viewer"
        self._viewer_layout = None      # the viewer's (size, saveState()), while another shows
        self.actions = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        for name, view in VIEWS.items():
            if name != "viewer" and not all(p in docks for p in view.panels()):
                continue
            action = QAction(view.text, window)
            action.setCheckable(True)
            action.setShortcut(QKeySequence(keys_of(f"view:{name}")[0]))
            action.setChecked(name == "viewer")
            action.triggered.connect(lambda checked=False, n=name: self.show_view(n))
            group.addAction(action)
            self.actions[name] = action

    @property
    def view(self):
        """The name of the view shown."""
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
        if self._view == "viewer":
            self._viewer_layout = (self.window.size(), self.window.saveState())
        else:
            self._back_to_viewer()
        view = VIEWS[name]
        if view.whole:
            self._show_whole(view.whole)
        elif name != "viewer":
            self._arrange(view)
        self._set_view(name)

    def reset(self, layout):
        """Show the viewer in ``layout`` (a saveState of the window), whatever shows now."""
        self._viewer_layout = None
        self._back_to_viewer()
        self.window.restoreState(layout)
        self._set_view("viewer")

    def _set_view(self, name):
        changed = name != self._view
        self._view = name
        self.actions[name].setChecked(True)
        if changed:
            self.viewChanged.emit(name)

    def _show_whole(self, target):
        central = self.window.centralWidget()
        if central is not None:
            central.hide()
        for pid, dock in self.docks.items():
            dock.setVisible(pid == target or pid in KEPT_DOCKS)
        self.docks[target].setFloating(False)
        self.docks[target].raise_()

    def _back_to_viewer(self):
        """The images and the viewer's docks, places and sizes, as the viewer left them."""
        central = self.window.centralWidget()
        if central is not None:
            central.show()
        if self._viewer_layout is not None:
            size, layout = self._viewer_layout
            self.window.restoreState(layout)
            if self.window.size() != size and not (self.window.isMaximized() or
                                                   self.window.isFullScreen()):
                # A view may have widened the window to its panel's minimum: the viewer's
                # size back (once that panel is hidden), then its docks' sizes in it.
                self.window.resize(size)
                self.window.restoreState(layout)

    def _arrange(self, view):
        docks = [self.docks[panel] for panel in view.front if panel in self.docks]
        for dock in docks:
            dock.show()
            dock.raise_()
        if view.share is not None:
            bottom = [d for d in docks
                      if self.window.dockWidgetArea(d) == Qt.BottomDockWidgetArea]
            if bottom:
                self.window.resizeDocks(bottom, [int(self.window.height() * view.share)],
                                        Qt.Vertical)
        app = QApplication.instance()
        if app is not None:
            app.processEvents()
