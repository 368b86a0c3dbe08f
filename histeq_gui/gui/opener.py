"""Opening stacks: the Open dialogs, folders, drag and drop, recent files, the .npz chooser.

:class:`Opener` loads in a background job (:mod:`.jobs`) and, on success,
hands the stack to the :class:`~histeq_gui.gui.state.ViewerState`.  A file
that cannot be read leaves the current stack as it is.  A big folder (tree)
of images is shown from its listing and first image; the loader then reads
its other headers in the background (:func:`~.stack_file.probe_stack`), and
shows it again, at the image the user is on, when it turns out to hold
images of one size (read as one stack) or to mix gray and colour images
(shown in colour).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PyQt5.QtCore import QEvent, QObject, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QFileDialog, QInputDialog, QMenu, QMessageBox

from ..core.errors import KeyNeeded
from .jobs import Runner
from .stack_file import describe_array, open_sample, open_stack, probe_stack

__all__ = ["Opener", "OPEN_FILTER"]

OPEN_FILTER = ("Image stacks (*.npy *.npz *.tif *.tiff *.png *.jpg *.jpeg *.bmp *.gif *.webp);;"
               "All files (*)")


class Opener(QObject):
    """Everything that opens a stack in ``window``.

    Parameters
    ----------
    window : QMainWindow
        Parent of the dialogs; files dropped on it are opened.
    state : ViewerState
        Receives the loaded stack.
    preferences : Preferences
        Recent files and the folder to start in.

    Signals
    -------
    noted(str, int)
        A note for the status bar and how long to show it, in ms ("Opened
        x.npy", and any warning below).
    warned(str)
        Something the user asked for was not done as asked (an index past the
        end, dropped files left out): one line each.

    Attributes
    ----------
    loader : Runner
        The loading jobs (one at a time; a new one cancels the old), and
        the reading of a big folder's headers after it is shown.
    open_action, open_folder_action, sample_action : QAction
        For the File menu (Ctrl+O, Ctrl+Shift+O).
    recent_menu : QMenu
        File > Open recent, filled each time it opens.
    report_error : callable
        ``report_error(title, message)``: a warning box by default; scripts
        (``--screenshot``) and tests put their own here.
    ask_array : callable
        ``ask_array(path, error, problem=None) -> key or None``: which array
        of an .npz of several to open (a list dialog by default); ``error`` is
        the :class:`KeyNeeded` with the names (and ``arrays``: shapes and
        dtypes), ``problem`` why the last pick could not be opened.
    """

    noted = pyqtSignal(str, int)
    warned = pyqtSignal(str)

    def __init__(self, window, state, preferences):
        super().__init__(window)
        self.window = window
        self.state = state
        self.prefs = preferences
        self.loader = Runner("load", self)
        self.report_error = self._message_box
        self.ask_array = self._choose_array
        self.open_action = self._action("&Open…", self.choose_file, QKeySequence.Open,
                                        "Open a stack file")
        self.open_folder_action = self._action("Open &folder…", self.choose_folder,
                                               "Ctrl+Shift+O", "Open a folder of images")
        self.sample_action = self._action("Open the &sample stack", self.open_sample)
        self.recent_menu = QMenu("Open &recent", window)
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def _action(self, text, slot, shortcut=None, tip=None):
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda checked=False: slot())
        self.window.addAction(action)      # the shortcut works even without the menu bar
        return action

    @property
    def busy(self):
        """True while a stack loads (a big folder: until its headers are read)."""
        return self.loader.busy

    # ------------------------------------------------------------------ loading
    def open_path(self, path, index=0, key=None, chosen_from=None, warnings=()):
        """Load ``path`` in the background; on success it replaces the current stack.

        ``key`` names the array of an ``.npz`` file; for one of several arrays
        and no key, :attr:`ask_array` asks which one and the load runs again
        (and asks again, saying why, when the one picked cannot be opened:
        ``chosen_from`` is then the question it answered).  A file that
        cannot be read leaves the current stack as it is and goes to
        :attr:`report_error`.  ``warnings`` are told once it is open.
        Returns the loading job.
        """
        path = Path(path)
        return self.loader.start(lambda report: open_stack(path, report, key=key),
                                 on_done=partial(self._on_loaded, index=index,
                                                 warnings=tuple(warnings)),
                                 on_error=partial(self._on_load_error, path, index,
                                                  chosen_from, key),
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

    def _on_loaded(self, stack, index=0, remember=True, warnings=()):
        if remember and stack.path is not None:
            self.prefs.add_recent(stack.path)
            self.prefs.set_last_data_folder(stack.path.parent)
        self.state.set_stack(stack, index)
        warnings = list(warnings)
        if index != self.state.index:
            warnings.append(f"image {index} does not exist, showing image {self.state.index}, "
                            f"the last ({stack.n_images} images, numbered from 0)")
        for warning in warnings:
            self.warned.emit(warning)
        opened = f"Opened {stack.name}" + (f": {stack.summary}" if stack.summary else "")
        self.noted.emit("; ".join([opened, *warnings]), 15000 if warnings else 5000)
        if stack.headers_pending:
            self.loader.start(lambda report: probe_stack(stack, report),
                              on_done=partial(self._on_probed, stack),
                              on_error=lambda message, error: self._on_probe_failed(message),
                              name=f"headers of {stack.path.name}")

    def _on_probe_failed(self, message):
        self.warned.emit(message)
        self.noted.emit(message, 15000)

    def _on_probed(self, stack, probed):
        """Every header of ``stack``'s folder read: show it again if it is read otherwise now.

        Read otherwise: as colour, or as one stack of images of one size.
        """
        if probed is stack or self.state.stack is not stack:
            return
        self.state.set_stack(probed, self.state.index)
        if probed.channels != stack.channels:
            self.noted.emit(f"{stack.name} mixes gray and colour images: every image is shown "
                            "in colour (gray ones replicated into R, G and B)", 10000)

    def _on_load_error(self, path, index, chosen_from, key, message, error):
        problem = None
        if chosen_from is not None and not isinstance(error, KeyNeeded):
            error, problem = chosen_from, f"'{key}' cannot be opened: {message}"
        elif not isinstance(error, KeyNeeded):
            self.show_error("Cannot open", message)
            return
        key = self.ask_array(path, error, problem)
        if key is not None:
            self.open_path(path, index, key=key, chosen_from=error)

    def show_error(self, title, message):
        """Tell the user what went wrong in one line (via :attr:`report_error`)."""
        self.report_error(title, message)

    def _message_box(self, title, message):
        QMessageBox.warning(self.window, title, message)

    def _choose_array(self, path, error, problem=None):
        """Ask which array of the .npz file ``path`` to open; None if the user cancels.

        Each array is listed with its shape and dtype (read from its header).
        """
        arrays = {name: describe_array(shape, dtype)
                  for name, shape, dtype in (getattr(error, "arrays", None) or [])}
        items = [f"{key} — {arrays[key]}" if key in arrays else key for key in error.keys]
        question = f"'{path.name}' holds several arrays. Open which one?"
        if problem:
            question = f"{problem}\n\n{question}"
        item, ok = QInputDialog.getItem(self.window, "Choose an array", question, items, 0,
                                        False)
        if not ok or item not in items:
            return None
        return error.keys[items.index(item)]

    # ------------------------------------------------------------------ asking for a path
    def choose_file(self):
        """Ask for a stack file and open it."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open a stack",
                                              str(self.prefs.last_data_folder()), OPEN_FILTER)
        if path:
            self.open_path(path)

    def choose_folder(self):
        """Ask for a folder of images and open it."""
        path = QFileDialog.getExistingDirectory(self.window, "Open a folder of images",
                                                str(self.prefs.last_data_folder()))
        if path:
            self.open_path(path)

    def fill_recent_menu(self):
        """Rebuild File > Open recent from the preferences (done each time it opens)."""
        menu = self.recent_menu
        menu.clear()
        recent = self.prefs.recent_files()
        for i, path in enumerate(recent):
            action = menu.addAction(f"&{(i + 1) % 10} {Path(path).name}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(partial(self.open_path, path))
        if not recent:
            menu.addAction("(none)").setEnabled(False)
        menu.addSeparator()
        menu.addAction("Clear the list", self.prefs.clear_recent)

    # ------------------------------------------------------------------ drag and drop
    def eventFilter(self, watched, event):
        """Accept local files and folders dragged onto the window, and open a drop."""
        kind = event.type()
        if watched is not self.window or kind not in (QEvent.DragEnter, QEvent.Drop):
            return False
        mime = event.mimeData()
        local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] \
            if mime.hasUrls() else []
        if kind == QEvent.DragEnter:
            if mime.hasUrls() and mime.urls() and mime.urls()[0].isLocalFile():
                event.acceptProposedAction()
            else:
                event.ignore()
            return True
        if not local:
            event.ignore()
            return True
        event.acceptProposedAction()
        self.open_path(local[0], warnings=[_ignored(local[1:])] if local[1:] else [])
        return True


def _ignored(paths):
    """What is said about dropped files left out (only one stack is open at a time)."""
    names = [Path(p).name for p in paths]
    listed = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    files = "file was" if len(names) == 1 else "files were"
    return (f"{len(names)} other dropped {files} ignored ({listed}): drop one file, or a "
            "folder of images to open them all as one stack")
