"""The main window: menus, shortcuts, docks, status bar, and the wiring between them.

Data flow: widgets write to the :class:`~histeq_gui.gui.state.ViewerState`;
every state change calls :meth:`MainWindow.refresh`, which asks
:mod:`histeq_gui.gui.compute` (the core) for the current image's result and
hands it to the image panel and the plots.  Small images are computed at
once in the GUI thread; big images, whole-stack histograms of big stacks and
file loading run in :class:`~histeq_gui.gui.workers.Runner` jobs, and a new
request cancels the one before it.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QEventLoop, Qt, QThread, QTimer, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (QAction, QApplication, QDialog, QDialogButtonBox, QDockWidget,
                             QFileDialog, QInputDialog, QLabel, QLayout, QMainWindow,
                             QMessageBox, QSplitter, QVBoxLayout, QWidget)

from ..core.errors import KeyNeeded
from .compute import HistogramCache, compute_view, failed_view, stack_histograms
from .controls import SettingsPanel
from .image_panel import ImagePanel
from .navigation import NavigationBar, Player
from .plots import HistogramPlot, TransferPlot, bins_text
from .preferences import Preferences
from .progress import ProgressIndicator
from .stack_file import open_sample, open_stack
from .state import ViewerState
from .workers import Runner, log_if_unexpected, user_message

__all__ = ["MainWindow", "APP_NAME", "SYNC_IMAGE_VALUES", "SYNC_STACK_VALUES"]

log = logging.getLogger(__name__)

APP_NAME = "histeq-gui"
SYNC_IMAGE_VALUES = 1 << 19    # images up to this many values are computed in the GUI thread
SYNC_STACK_VALUES = 1 << 24    # stacks up to this many values get their histogram at once
DEFAULT_SIZE = (1400, 860)
_NOTE_STYLE = "color: palette(dark);"
_PROBLEM_STYLE = "color: #d93025; font-weight: bold;"
OPEN_FILTER = ("Image stacks (*.npy *.npz *.tif *.tiff *.png *.jpg *.jpeg *.bmp *.gif *.webp);;"
               "All files (*)")

HELP_TEXT = """
<h3>histeq-gui</h3>
<p>Left: the original image with its histogram; right: the equalized image with the histogram of
the result. The orange curve over a histogram is its cumulative distribution (CDF, right axis): the
map from input value to equalized value, also drawn as the transfer curve.</p>
<table cellspacing="4">
<tr><td><b>Left / Right</b></td><td>previous / next image</td></tr>
<tr><td><b>Home / End</b></td><td>first / last image</td></tr>
<tr><td><b>PgUp / PgDn</b></td><td>10 images back / forward</td></tr>
<tr><td><b>Space</b></td><td>play / pause</td></tr>
<tr><td><b>Ctrl+O</b></td><td>open a stack (or drop a file or folder on the window)</td></tr>
<tr><td><b>Ctrl+E</b></td><td>export the equalized stack</td></tr>
<tr><td><b>Ctrl+Q</b></td><td>quit</td></tr>
<tr><td><b>F1</b></td><td>this help</td></tr>
</table>
<p>Mouse: drag to pan, wheel to zoom (both views move together; Ctrl+0 fits the image again).
Point at a pixel to see its original and equalized values in the status bar and as a dot on the
transfer curve. Images are numbered from 0, as the array indexes them: image 5 is
<tt>stack[5]</tt>.</p>
<p><b>Methods</b>: <i>numpy</i> interpolates the CDF at the left bin edges (the seed recipe);
<i>skimage</i> at the bin centres, and uses one bin per integer value for integer images.
<b>Scope</b>: <i>this image</i> equalizes each image with its own histogram; <i>whole stack</i>
maps every image with one histogram of the whole stack.</p>
"""


def _format_value(value):
    value = np.asarray(value)
    if value.ndim:
        return "(" + ", ".join(_format_value(v) for v in value) + ")"
    if value.dtype.kind in "iub":
        return str(int(value))
    return f"{float(value):.4g}"


class MainWindow(QMainWindow):
    """The viewer window.

    Parameters
    ----------
    preferences : Preferences, optional
        Where geometry, folders, method, bins and recent files are kept
        (default: in memory only).
    state : ViewerState, optional
        Default: a new state with the remembered method and bins.

    Signals
    -------
    viewUpdated()
        The images and plots now show the current state.
    """

    viewUpdated = pyqtSignal()

    def __init__(self, preferences=None, state=None, parent=None):
        super().__init__(parent)
        self.prefs = preferences if preferences is not None else Preferences()
        if state is None:
            state = ViewerState()
            self._restore_view_settings(state)
        self.state = state
        self.result = None
        self.export_dialog = None
        self._cache = HistogramCache()
        self._stack_job_key = None
        self.help_box = None
        self.report_error = self._message_box
        self.ask_array = self._choose_array

        self.loader = Runner("load", self)
        self.stack_runner = Runner("stack histogram", self)
        self.compute_runner = Runner("compute", self)
        self.player = Player(state, busy=lambda: self.busy, parent=self)

        self._build_widgets()
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self.setAcceptDrops(True)
        self.resize(*DEFAULT_SIZE)
        self._restore_geometry()
        self._update_title()

        state.changed.connect(self.refresh)
        state.stackChanged.connect(self._on_stack_changed)
        state.methodChanged.connect(self.prefs.set_method)
        state.binsChanged.connect(self.prefs.set_bins)
        state.scopeChanged.connect(self._on_scope_changed)

    # ------------------------------------------------------------------ construction
    def _restore_view_settings(self, state):
        """Set the remembered method and bins (the only place they are restored)."""
        for setter, remembered in ((state.set_method, self.prefs.method),
                                   (state.set_bins, self.prefs.bins)):
            try:
                setter(remembered())
            except ValueError:
                log.warning("ignoring a remembered setting that is no longer valid")

    def _build_widgets(self):
        self.image_panel = ImagePanel()
        self.original_histogram = HistogramPlot("Histogram of the original")
        self.equalized_histogram = HistogramPlot("Histogram of the equalized image")
        self.transfer_plot = TransferPlot()
        self.settings_panel = SettingsPanel(self.state)
        self.navigation = NavigationBar(self.state, self.player)

        plots = QSplitter(Qt.Horizontal)
        plots.addWidget(self.original_histogram)
        plots.addWidget(self.equalized_histogram)
        views = QSplitter(Qt.Vertical)
        views.addWidget(self.image_panel)
        views.addWidget(plots)
        views.setStretchFactor(0, 3)
        views.setStretchFactor(1, 2)
        views.setSizes([520, 300])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(views, 1)
        layout.addWidget(self.navigation)
        self.setCentralWidget(central)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.settings_panel)
        side_layout.addWidget(self.transfer_plot, 1)
        self.settings_dock = QDockWidget("Settings", self)
        self.settings_dock.setObjectName("settingsDock")
        self.settings_dock.setFeatures(QDockWidget.DockWidgetMovable |
                                       QDockWidget.DockWidgetClosable)
        self.settings_dock.setWidget(side)
        self.settings_dock.setMinimumWidth(330)
        self.addDockWidget(Qt.RightDockWidgetArea, self.settings_dock)
        self.resizeDocks([self.settings_dock], [380], Qt.Horizontal)
        self.image_panel.hovered.connect(self._on_hover)
        self.image_panel.setFocusPolicy(Qt.StrongFocus)
        self.image_panel.setFocus()

    def _action(self, text, slot, shortcut=None, tip=None):
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda checked=False: slot())
        self.addAction(action)      # shortcuts work even when the menu bar is hidden
        return action

    def _build_actions(self):
        s = self.state
        self.open_action = self._action("&Open…", self.choose_file, QKeySequence.Open,
                                        "Open a stack file")
        self.open_folder_action = self._action("Open &folder…", self.choose_folder,
                                               "Ctrl+Shift+O", "Open a folder of images")
        self.sample_action = self._action("Open the &sample stack", self.open_sample)
        self.export_action = self._action("&Export…", self.open_export_dialog, "Ctrl+E",
                                          "Export the equalized stack")
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q")
        self.previous_action = self._action("&Previous image", lambda: s.step(-1), Qt.Key_Left)
        self.next_action = self._action("&Next image", lambda: s.step(1), Qt.Key_Right)
        self.first_action = self._action("&First image", lambda: s.set_index(0), Qt.Key_Home)
        self.last_action = self._action("&Last image", lambda: s.set_index(s.n_images - 1),
                                        Qt.Key_End)
        self.back10_action = self._action("10 images &back", lambda: s.step(-10), Qt.Key_PageUp)
        self.forward10_action = self._action("10 images f&orward", lambda: s.step(10),
                                             Qt.Key_PageDown)
        self.play_action = self._action("Play / &pause", self.player.toggle, Qt.Key_Space)
        self.zoom_action = self._action("&Reset zoom", self.image_panel.reset_zoom, "Ctrl+0")
        self.help_action = self._action("&Keyboard and help", self.show_help, Qt.Key_F1)
        self.about_action = self._action("&About histeq-gui", self._about)

    def _build_menus(self):
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.open_folder_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        file_menu.addAction(self.sample_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        image_menu = bar.addMenu("&Image")
        for action in (self.previous_action, self.next_action, self.first_action,
                       self.last_action, self.back10_action, self.forward10_action):
            image_menu.addAction(action)
        image_menu.addSeparator()
        image_menu.addAction(self.play_action)
        image_menu.addAction(self.zoom_action)
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.settings_dock.toggleViewAction())
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.help_action)
        help_menu.addAction(self.about_action)

    def _build_status_bar(self):
        status = self.statusBar()
        self.pixel_label = QLabel()
        self.message_label = QLabel()
        self.message_label.setStyleSheet(_NOTE_STYLE)
        self._problem_shown = False
        self.message_label.setContentsMargins(0, 0, 16, 0)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.message_label.clear)
        self.info_label = QLabel()
        self.progress = ProgressIndicator()
        self.progress.watch(self.loader, "Loading")
        self.progress.watch(self.stack_runner, "Whole-stack histogram")
        self.progress.watch(self.compute_runner, "Computing")
        status.addWidget(self.pixel_label, 1)
        status.addWidget(self.message_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.info_label)

    def _restore_geometry(self):
        geometry = self.prefs.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.prefs.window_state()
        if state is not None:
            self.restoreState(state)

    # ------------------------------------------------------------------ opening stacks
    @property
    def busy(self):
        """True while a load or a computation for the view is running."""
        return self.loader.busy or self.stack_runner.busy or self.compute_runner.busy

    def open_path(self, path, index=0, key=None):
        """Load ``path`` in the background; on success it replaces the current stack.

        ``key`` names the array of an ``.npz`` file; for one of several arrays
        and no key, :attr:`ask_array` asks which one and the load runs again.
        A file that cannot be read leaves the current stack as it is and
        shows a message box.  Returns the loading job.
        """
        path = Path(path)
        return self.loader.start(lambda report: open_stack(path, report, key=key),
                                 on_done=partial(self._on_loaded, index=index),
                                 on_error=partial(self._on_load_error, path, index),
                                 name=f"load {path.name}")

    def open_sample(self, index=0):
        """Load the bundled sample stack."""
        return self.loader.start(lambda report: open_sample(report),
                                 on_done=partial(self._on_loaded, index=index, remember=False),
                                 on_error=lambda message, error: self.show_error("Cannot open",
                                                                                 message),
                                 name="load sample")

    def set_stack(self, stack, index=0):
        """Show an already loaded stack (see :func:`~histeq_gui.gui.stack_file.open_stack`)."""
        self._on_loaded(stack, index=index, remember=False)

    def _on_loaded(self, stack, index=0, remember=True):
        if remember and stack.path is not None:
            self.prefs.add_recent(stack.path)
            self.prefs.set_last_folder(stack.path.parent)
        self.state.set_stack(stack, index)
        self.notify(f"Opened {stack.name}")

    def _on_load_error(self, path, index, message, error):
        if not isinstance(error, KeyNeeded):
            self.show_error("Cannot open", message)
            return
        key = self.ask_array(path, error)
        if key is not None:
            self.open_path(path, index, key=key)

    def _choose_array(self, path, error):
        """Ask which array of the .npz file ``path`` to open; None if the user cancels."""
        key, ok = QInputDialog.getItem(self, "Choose an array",
                                       f"'{path.name}' holds several arrays. Open which one?",
                                       error.keys, 0, False)
        return key if ok and key else None

    def choose_file(self):
        """Ask for a stack file and open it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open a stack", str(self.prefs.last_folder()),
                                              OPEN_FILTER)
        if path:
            self.open_path(path)

    def choose_folder(self):
        """Ask for a folder of images and open it."""
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images",
                                                str(self.prefs.last_folder()))
        if path:
            self.open_path(path)

    def fill_recent_menu(self):
        """Rebuild File > Open recent from the preferences (done each time it opens)."""
        self.recent_menu.clear()
        recent = self.prefs.recent_files()
        for i, path in enumerate(recent):
            action = self.recent_menu.addAction(f"&{(i + 1) % 10} {Path(path).name}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(partial(self.open_path, path))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear the list", self.prefs.clear_recent)

    def dragEnterEvent(self, event):
        """Accept a dragged local file or folder."""
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event):
        """Open the first dropped file or folder."""
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        local = [u.toLocalFile() for u in urls if u.isLocalFile()]
        if not local:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_path(local[0])

    # ------------------------------------------------------------------ updating the view
    def _on_stack_changed(self):
        self.compute_runner.abandon()
        self.stack_runner.abandon()
        self._stack_job_key = None
        self._cache.clear()
        self.result = None
        self.image_panel.clear_images()
        self._update_title()

    def _on_scope_changed(self, scope):
        if scope == "image":
            self.stack_runner.abandon()
            self._stack_job_key = None

    def refresh(self):
        """Bring images and plots up to date with the state (now, or via a job)."""
        state, stack = self.state, self.state.stack
        self._update_info()
        if stack is None:
            return
        hists = None
        if state.scope == "stack":
            hists = self._stack_histograms()
            if hists is None:
                return              # a job computes them and calls refresh again
        request = (stack, state.index, state.method, state.bins, state.scope, hists)
        if stack.pixels_per_image <= SYNC_IMAGE_VALUES:
            self.compute_runner.abandon()
            try:
                result = compute_view(*request)
            except Exception as exc:  # noqa: BLE001 - a bug: shown to the user, and logged
                log_if_unexpected(exc, f"equalizing image {state.index}")
                self._show_failure(exc)
                return
            self._on_computed(result)
        else:
            self.compute_runner.start(lambda report: compute_view(*request, progress=report),
                                      on_done=self._on_computed,
                                      on_error=lambda message, error: self._show_failure(error),
                                      name=f"image {state.index}")

    def _stack_histograms(self):
        """The whole-stack histograms for the state's method and bins, or None.

        None while a job makes them (it calls :meth:`refresh` when done), and
        when making them failed: then the failure is shown, and remembered
        so that paging through the images does not try again each time.
        """
        state, stack = self.state, self.state.stack
        method, bins = state.method, state.bins
        hists = self._cache.get(method, bins)
        if hists is None and stack.array.size <= SYNC_STACK_VALUES:
            try:
                hists = stack_histograms(stack, method, bins)
            except Exception as exc:  # noqa: BLE001 - shown to the user, logged if a bug
                log_if_unexpected(exc, "computing the whole-stack histogram")
                hists = exc
            self._cache.put(method, bins, hists)
        if isinstance(hists, Exception):
            self._show_failure(hists)
            return None
        if hists is None and (self._stack_job_key != (stack, method, bins)
                              or not self.stack_runner.busy):
            self._stack_job_key = (stack, method, bins)
            done = partial(self._on_stack_histograms, stack, method, bins)
            self.stack_runner.start(
                lambda report: stack_histograms(stack, method, bins, report),
                on_done=done, on_error=lambda message, error: done(error),
                on_cancel=self._on_stack_cancelled, name="stack histogram")
        return hists

    def _on_stack_histograms(self, stack, method, bins, hists):
        """The stack job's histograms, or the exception it failed with: keep it, redraw."""
        self._stack_job_key = None
        if stack is self.state.stack:
            self._cache.put(method, bins, hists)
            self.refresh()

    def _on_stack_cancelled(self):
        self._stack_job_key = None
        self.state.set_scope("image")
        self.notify("Whole-stack histogram cancelled; showing each image's own histogram")

    def _on_computed(self, result):
        """Show a result of compute_view; log its failure unless one like it is shown already.

        (Dragging the bins slider through counts that all fail logs once.)
        """
        shown = self.result.error if self.result is not None else None
        if result.error is not None and type(result.error) is not type(shown):
            log_if_unexpected(result.error, f"equalizing image {result.index}")
        self._show_result(result)

    def _show_failure(self, error):
        """Show the current image's original and why it cannot be equalized."""
        state = self.state
        self._show_result(failed_view(state.stack, state.index, state.method, state.bins,
                                      state.scope, error))

    def _show_result(self, result):
        """Draw ``result``: both images and all plots, or the original and why not.

        A failure is told in the equalized view's title and in the status bar,
        not in a message box: a throttled bins change may repeat it many
        times a second.
        """
        stack = self.state.stack
        if stack is None:
            return
        self.result = result
        levels = stack.levels
        self.image_panel.set_images(result.original, result.equalized, levels)
        hists, eq_hists = result.histograms, result.equalized_histograms
        h = hists[0] if hists else None
        problem = self.view_problem()
        if problem is None:
            scope_text = "whole-stack histogram" if result.scope == "stack" else "own histogram"
            equalized_title = f"Equalized · {result.method}, {bins_text(h)}, {scope_text}"
            if self._problem_shown:
                self.notify("")
        else:
            self.player.stop()
            equalized_title = f"Equalized · {problem}"
            self.notify(f"Image {result.index}: {problem}", problem=True)
        self.image_panel.set_titles(f"Original · image {result.index} · {stack.dtype}",
                                    equalized_title)
        drawn = "not available" if h is None else bins_text(h, drawn=True)
        if result.scope == "stack":
            title = f"Histogram of the whole stack ({stack.n_images} images, {drawn}) + CDF"
        else:
            title = f"Histogram of this image ({drawn}) + CDF"
        self.original_histogram.set_histograms(hists, levels, title)
        if h is None:
            transfer_title = "Transfer curve · not available"
        else:
            transfer_title = (f"Transfer curve · {result.method}"
                              f"{' · value bins' if h.value_bins else ''}")
        self.transfer_plot.set_curves(hists, levels, transfer_title)
        eq_drawn = bins_text(eq_hists[0], drawn=True) if eq_hists else "not available"
        self.equalized_histogram.set_histograms(
            eq_hists, (0.0, 1.0), f"Histogram of the equalized image ({eq_drawn}) + CDF")
        self.viewUpdated.emit()

    def view_problem(self):
        """Why the window shows no equalized image (one line), or None when it shows one."""
        if self.result is None:
            return "nothing is equalized yet" if self.state.stack is not None else "no stack"
        if self.result.error is not None:
            return f"cannot equalize: {user_message(self.result.error)}"
        return None

    def _update_title(self):
        stack = self.state.stack
        self.setWindowTitle(f"{stack.name} — {APP_NAME}" if stack is not None else APP_NAME)

    def _update_info(self):
        stack = self.state.stack
        if stack is None:
            self.info_label.setText("no stack: open one with Ctrl+O, or drop a file or folder "
                                    "on the window")
            return
        # Images are numbered as the array indexes them: from 0.
        self.info_label.setText(f"image {self.state.index} of {stack.n_images} · "
                                f"{stack.describe()}")

    def _on_hover(self, x, y):
        result = self.result
        if result is None or x < 0 or y >= result.original.shape[0] \
                or x >= result.original.shape[1]:
            self.pixel_label.clear()
            self.transfer_plot.mark([])
            return
        original = result.original[y, x]
        text = f"x {x}, y {y} · original {_format_value(original)}"
        if result.equalized is None:
            self.pixel_label.setText(text)
            self.transfer_plot.mark([])
            return
        equalized = result.equalized[y, x]
        self.pixel_label.setText(f"{text} · equalized {_format_value(equalized)}")
        self.transfer_plot.mark(list(zip(np.atleast_1d(original).astype(float),
                                         np.atleast_1d(equalized))))

    # ------------------------------------------------------------------ dialogs
    def notify(self, text, timeout_ms=5000, problem=False):
        """A short note in the status bar (it does not hide the pixel values).

        A ``problem`` (the image cannot be equalized) is shown in a warning
        colour and stays until the view shows a result again.
        """
        self.message_label.setStyleSheet(_PROBLEM_STYLE if problem else _NOTE_STYLE)
        self.message_label.setText(text)
        self.message_label.setToolTip(text)       # all of it, when the bar is too narrow
        self._problem_shown = problem
        if problem:
            self._message_timer.stop()
        else:
            self._message_timer.start(timeout_ms)

    def show_error(self, title, message):
        """Tell the user what went wrong in one line (never a traceback).

        Goes to :attr:`report_error`: a warning box, or whatever a script
        (``--screenshot``) put there instead.
        """
        self.report_error(title, message)

    def _message_box(self, title, message):
        QMessageBox.warning(self, title, message)

    def show_help(self):
        """The short help: keys, mouse, methods and scope (non-modal)."""
        if self.help_box is None:
            self.help_box = QDialog(self)
            self.help_box.setWindowTitle(f"{APP_NAME} help")
            text = QLabel(HELP_TEXT)
            text.setTextFormat(Qt.RichText)
            text.setWordWrap(True)
            text.setMinimumWidth(560)
            buttons = QDialogButtonBox(QDialogButtonBox.Close)
            buttons.rejected.connect(self.help_box.close)
            layout = QVBoxLayout(self.help_box)
            layout.setSizeConstraint(QLayout.SetFixedSize)   # fit the wrapped text
            layout.addWidget(text)
            layout.addWidget(buttons)
        self.help_box.show()
        self.help_box.raise_()
        return self.help_box

    def _about(self):
        from .. import __version__
        QMessageBox.about(self, f"About {APP_NAME}",
                          f"<b>{APP_NAME}</b> {__version__}<br>Histogram equalization of image "
                          "stacks: look, compare, export.")

    def open_export_dialog(self):
        """Show the export dialog for the current stack and settings (non-blocking)."""
        from .export_dialog import ExportDialog
        if self.state.stack is None:
            return None
        if self.export_dialog is None or not self.export_dialog.isVisible():
            self.export_dialog = ExportDialog(self.state, self.prefs, self)
            self.export_dialog.finished.connect(self._on_export_dialog_closed)
            self.export_dialog.exported.connect(
                lambda path: self.notify(f"Exported to {path}", 10000))
            self.export_dialog.open()
        self.export_dialog.raise_()
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

    def closeEvent(self, event):
        """Stop playback and every job, remember the window, then close."""
        self.player.stop()
        if self.export_dialog is not None:
            self.export_dialog.shutdown()
        for runner in (self.loader, self.stack_runner, self.compute_runner):
            runner.shutdown()
        self.prefs.set_geometry(self.saveGeometry())
        self.prefs.set_window_state(self.saveState())
        self.prefs.sync()
        super().closeEvent(event)
