"""The main window: it assembles the viewer and does nothing else.

It makes the :class:`~histeq_gui.gui.state.ViewerState`, the
:class:`~histeq_gui.gui.controller.ViewController` (what is computed, and
where), the :class:`~histeq_gui.gui.opener.Opener` (files), the player, the
status bar and the menus, and one dock per registered panel
(:data:`histeq_gui.gui.panels.PANELS`; the images panel sits in the middle).
Panels follow the state and the controller themselves; nothing here computes
or draws.
"""

from __future__ import annotations

import logging
import time

from PyQt5.QtCore import QEventLoop, QPoint, Qt, QThread
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QApplication, QMainWindow, QMenu, QMessageBox

from . import panels as registry
from .bindings import keys_of
from .controller import ViewController
from .docking import dock_panels, fitted_size, size_docks
from .help import APP_NAME, Help
from .inspection import Inspection
from .keys import TypingKeys
from .opener import Opener
from .panels import ViewerContext
from .player import Player
from .preferences import Preferences
from .state import ViewerState
from .statusbar import StatusBar
from .views import ViewSwitcher
from .write_dialog import WriteDialog, running_writes

__all__ = ["MainWindow", "APP_NAME"]

log = logging.getLogger(__name__)

CLOSE_WAIT_MS = 300         # closing waits this long for loads and computations to stop
LAYOUT_VERSION = 5          # saveState/restoreState: a layout of another version is ignored
                            # (one saved by a version whose views could leave it broken, too)


class MainWindow(QMainWindow):
    """The viewer window.

    Parameters
    ----------
    preferences : Preferences, optional
        Where geometry, layout, folders, method, bins and recent files are
        kept (default: in memory only).
    state : ViewerState, optional
        Default: a new state with the remembered method, bins and scope.
    panels : sequence of PanelSpec, optional
        The panels to build (default: the registry,
        :data:`histeq_gui.gui.panels.PANELS`, read when the window is made).

    Attributes
    ----------
    state, controller, opener, player, status_bar, help
        The parts it assembles.
    views : ViewSwitcher
        The viewer or one teaching panel filling the window (:meth:`show_view`).
    panels : dict
        Panel id -> panel widget.
    docks : dict
        Panel id -> its QDockWidget (not for the central panel).
    """

    def __init__(self, preferences=None, state=None, panels=None, parent=None):
        super().__init__(parent)
        self.prefs = preferences if preferences is not None else Preferences()
        if state is None:
            state = ViewerState()
            self.prefs.restore_view(state)
        self.state = state
        self.export_dialog = None
        self.controller = ViewController(state, self)
        self.inspection = Inspection(state, self)       # the statistics the panels share
        self.player = Player(state, busy=lambda: self.busy, parent=self)
        remembered_fps = self.prefs.fps()
        if remembered_fps is not None:
            try:
                self.player.set_fps(remembered_fps)
            except ValueError:
                log.warning("ignoring a remembered playback speed that is not valid")
        self.player.fpsChanged.connect(self.prefs.set_fps)
        self.opener = Opener(self, state, self.prefs)
        self.status_bar = StatusBar(state, self.controller)
        self.status_bar.progress.watch(self.opener.loader, "Loading")
        self.status_bar.progress.watch(self.inspection.runner, "Statistics")
        self.setStatusBar(self.status_bar)
        self.help = Help(self)
        context = ViewerContext(state, self.controller, self.player, self.prefs,
                                self.status_bar.notify, inspection=self.inspection)
        self.panels, self.docks = dock_panels(self, registry.PANELS if panels is None else panels,
                                              context)
        self.views = ViewSwitcher(self, self.docks)
        self._build_menus()
        self.keys = TypingKeys(self.panels.get("images", self), self)
        self.keys.watch_all(self)           # Left/Right/Space... work after typing a number
        self.fit()
        self._restore_geometry()
        self._update_title()
        if "images" in self.panels:
            self.panels["images"].setFocus()

        self.opener.noted.connect(self.status_bar.notify)
        self.controller.problemChanged.connect(self._on_problem)
        state.stackChanged.connect(self._update_title)
        state.indexChanged.connect(self._update_title)        # a folder's file name
        self.prefs.follow(state)

    # ------------------------------------------------------------------ construction
    def panel(self, panel_id):
        """The panel widget registered as ``panel_id``."""
        return self.panels[panel_id]

    def _action(self, text, slot, shortcut=None):
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda checked=False: slot())
        self.addAction(action)      # shortcuts work even when the menu bar is hidden
        return action

    def _build_menus(self):
        opener = self.opener
        self.export_action = self._action("&Export…", self.open_export_dialog,
                                          keys_of("export")[0])
        self.quit_action = self._action("&Quit", self.close, keys_of("quit")[0])
        # Quit works from the modeless dialogs too (an export running in one of them).
        self.quit_action.setShortcutContext(Qt.ApplicationShortcut)
        self.help_action = self._action("&Keyboard and help", self.help.show,
                                        keys_of("help")[0])
        menus = {name: self.menuBar().addMenu(f"&{name}")
                 for name in ("File", "Image", "View", "Help")}
        menus["File"].addActions([opener.open_action, opener.open_folder_action])
        menus["File"].addMenu(opener.recent_menu)
        menus["File"].addAction(opener.sample_action)
        menus["File"].addSeparator()
        menus["File"].addAction(self.export_action)
        before_quit = menus["File"].addSeparator()
        menus["File"].addAction(self.quit_action)
        for panel in self.panels.values():      # what panels offer, e.g. Image > Next image
            for name, actions in getattr(panel, "menu_actions", {}).items():
                if name not in menus:
                    menus[name] = QMenu(f"&{name}", self)
                    self.menuBar().insertMenu(menus["Help"].menuAction(), menus[name])
                menu = menus[name]
                for action in actions:
                    if action is None:
                        menu.addSeparator()
                    else:
                        self.addAction(action)      # the key works wherever the focus is
                        if name == "File":          # with the other exports, before Quit
                            menu.insertAction(before_quit, action)
                        else:
                            menu.addAction(action)
        self.view_menu = menus["View"]
        self.view_menu.addActions(list(self.views.actions.values()))
        self.reset_layout_action = QAction("&Reset layout", self)
        self.reset_layout_action.setToolTip("The viewer as it first opens: every panel in its "
                                            "place and size")
        self.reset_layout_action.triggered.connect(lambda checked=False: self.reset_layout())
        self.view_menu.addAction(self.reset_layout_action)
        self.view_menu.addSeparator()
        for dock in self.docks.values():
            self.view_menu.addAction(dock.toggleViewAction())
        menus["Help"].addAction(self.help_action)
        menus["Help"].addAction("&About histeq-gui", self.help.about)

    def show_view(self, name):
        """Show the viewer ("viewer") or a teaching view ("compare", "worked-table", "not-flat")."""
        self.views.show_view(name)

    def reset_layout(self):
        """The viewer as it first opens, in the window's size: docks in their places and sizes."""
        size, layout = self.first_layout
        self.views.reset(layout)
        if self.size() != size:         # the sizes a new window of this size would give
            size_docks(self, self.docks, self.size())

    def fit(self, size=None):
        """Resize to ``size`` (a QSize; default: :func:`fitted_size` of the screen), docks too.

        The docks get the sizes their panels ask for, scaled down in a window
        smaller than the default, so the images keep most of the room.  Before
        the window is shown, this is the layout View > Reset layout restores.
        """
        available = (self.screen() or QApplication.primaryScreen()).availableGeometry()
        if size is None:
            size = fitted_size(available)
            self.move(available.center() - QPoint(size.width() // 2, size.height() // 2))
        self.resize(size)
        size_docks(self, self.docks, size)
        if not self.isVisible():
            self.first_layout = (self.size(), self.saveState())

    def _restore_geometry(self):
        geometry = self.prefs.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        layout = self.prefs.window_state()
        if layout is not None:
            self.restoreState(layout, LAYOUT_VERSION)

    def _on_problem(self, problem):
        if problem:
            self.player.stop()          # do not play on through images that fail

    def _update_title(self, *_):
        stack = self.state.stack
        self.setWindowTitle(f"{stack.title(self.state.index)} — {APP_NAME}" if stack is not None
                            else APP_NAME)

    # ------------------------------------------------------------------ exporting
    @property
    def busy(self):
        """True while a load or a computation for the view (or a panel) is running."""
        return self.opener.busy or self.controller.busy or \
            any(getattr(panel, "busy", False) for panel in self.panels.values())

    def open_export_dialog(self):
        """Show the export dialog for the current stack and settings (non-blocking)."""
        from .export_dialog import ExportDialog, show_folder
        if self.state.stack is None:
            self.status_bar.notify("Nothing to export: open a stack first (Ctrl+O)")
            return None
        if self.export_dialog is None or not self.export_dialog.isVisible():
            self.export_dialog = ExportDialog(self.state, self.prefs, self)
            self.export_dialog.finished.connect(self._on_export_dialog_closed)
            self.export_dialog.exported.connect(lambda path: self.status_bar.notify(
                f"Exported to {path}", 60000, action=("Open folder", lambda: show_folder(path))))
            self.export_dialog.noted.connect(lambda text: self.status_bar.notify(text, 60000))
            self.export_dialog.open()
        self.export_dialog.raise_()
        self.export_dialog.activateWindow()
        return self.export_dialog

    def _on_export_dialog_closed(self, _result):
        dialog, self.export_dialog = self.export_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    # ------------------------------------------------------------------ waiting and closing
    def wait_until_idle(self, timeout_ms=60000):
        """Process events until no job of the view runs (for scripts and tests)."""
        app = QApplication.instance()
        deadline = time.monotonic() + timeout_ms / 1000
        while self.busy and time.monotonic() < deadline:
            app.processEvents(QEventLoop.AllEvents, 20)
            QThread.msleep(2)
        app.processEvents()
        return not self.busy

    def confirm_quit(self):
        """Ask before quitting while a file is written; True to quit (the writes then stop).

        An export is cancelled (nothing of it is written, and the status
        bar and the log say so); a statistics CSV, which cannot be stopped
        half way, is waited for.  No keeps the window and the writes going.
        """
        writes = running_writes(self)
        if not writes:
            return True
        dialog = writes[0]
        what = (f"An export to '{dialog.output_path}' is running." if dialog.cancellable else
                f"'{dialog.output_path}' is being written; it cannot be stopped half way.")
        question = ("Cancel it and quit? Nothing of it is written." if dialog.cancellable else
                    "Quit as soon as it is written?")
        dialog.raise_()
        answer = QMessageBox.question(self, "Quit while writing?",
                                      f"{what}\n\n{question}\n(No: keep working; it goes on.)",
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        if answer != QMessageBox.Yes:
            return False
        for dialog in writes:
            log.info("quitting: %s", dialog.stop_and_wait())
        return True

    def closeEvent(self, event):
        """Ask before stopping a write; stop playback and every job, remember the window, close.

        A running export is cancelled (it removes what it wrote) after the
        user agreed (:meth:`confirm_quit`); a load or computation is waited
        for only briefly: one that cannot stop at once (the compiler warming
        up) is left behind, and ``main()`` does not wait for it either.
        """
        if not self.confirm_quit():
            event.ignore()
            return
        self.player.stop()
        for dialog in self.findChildren(WriteDialog):   # idle ones: nothing runs any more
            dialog.reject()
        self.opener.loader.shutdown(CLOSE_WAIT_MS)
        self.controller.shutdown(CLOSE_WAIT_MS)
        self.inspection.shutdown(CLOSE_WAIT_MS)
        for panel in self.panels.values():          # panels with jobs of their own
            if hasattr(panel, "shutdown"):
                panel.shutdown(CLOSE_WAIT_MS)
        # No Python event filter may run while Qt destroys the window's widgets.
        self.keys.unwatch_all()
        self.removeEventFilter(self.opener)
        self.views.show_view("viewer")              # the layout remembered is the viewer's
        self.prefs.set_geometry(self.saveGeometry())
        self.prefs.set_window_state(self.saveState(LAYOUT_VERSION))
        self.prefs.sync()
        super().closeEvent(event)
