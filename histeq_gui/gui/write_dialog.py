"""What the dialogs that write a file share: a free default path, and the write in a job.

:func:`free_output_path` is the default output of the export dialog and of
the statistics export: beside the stack, numbered if taken.
:class:`WriteDialog` is the frame both are built in: a status line, a
progress bar with the time left, Export and Close buttons, and the write run
in a :class:`~histeq_gui.gui.jobs.Runner` job.  The dialog is modeless: the
viewer stays usable while it is open and while it writes, and the main
window's Quit (Ctrl+Q, also from the dialog) and close button reach the
window, which asks before stopping a write (:func:`running_writes`).  While
a write runs, Close becomes Cancel, and Esc or the dialog's close button do
what Cancel does: the job is cancelled (a cancelled write leaves nothing
behind, the core's export removes its temporary files), the status bar is
told "... cancelled; nothing was written." (:attr:`WriteDialog.noted`), and
then the dialog closes.  A write that cannot be stopped part way
(``cancellable=False``: one CSV file) offers no Cancel, and Esc and the
close button wait for it.  Whatever the status bar last heard from the
dialog is true: "Exporting to ...", then written, cancelled or failed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from PyQt5.QtCore import QEventLoop, Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLayout,
    QMessageBox,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from ..core.io import exists
from .jobs import Runner
from .resources import SAMPLE_STACK, resource_path

__all__ = ["WriteDialog", "free_output_path", "running_writes", "time_left_text"]


def _is_bundled(path):
    try:
        return path.parent.resolve() == resource_path(SAMPLE_STACK).parent.resolve()
    except FileNotFoundError:
        return False


def free_output_path(source: str | os.PathLike | None, fallback_folder: str | os.PathLike,
                     tag: str, suffix: str, folder: str | os.PathLike | None = None) -> Path:
    """A free path ``<stem>_<tag><suffix>`` in ``folder`` or beside ``source`` (then ``_2``, ...).

    Parameters
    ----------
    source : path or None
        The stack's file or folder (a folder's stem is its name); None for a
        stack made in code (stem "stack").
    fallback_folder : path
        Used instead of the source's folder for the bundled sample, a
        folder that cannot be written and a stack made in code.
    tag : str
        What the output is: "equalized", "stats".
    suffix : str
        Its extension (with the dot), or "" for a folder.
    folder : path, optional
        Where to propose it (the folder the last export went to), if it can
        be written; default beside ``source``.

    Returns
    -------
    pathlib.Path
        A path where nothing exists, not even a dangling link.

    Examples
    --------
    >>> free_output_path(None, "/nonexistent", "stats", ".csv")
    PosixPath('/nonexistent/stack_stats.csv')
    """
    chosen, stem = folder, "stack"
    folder = Path(fallback_folder)
    if source is not None:
        source = Path(source)
        stem = source.name if source.is_dir() else source.stem
        if not _is_bundled(source) and os.access(source.parent, os.W_OK):
            folder = source.parent
    if chosen is not None and os.access(chosen, os.W_OK):
        folder = Path(chosen)
    candidate = folder / f"{stem}_{tag}{suffix}"
    n = 2
    while exists(candidate):
        candidate = folder / f"{stem}_{tag}_{n}{suffix}"
        n += 1
    return candidate


def time_left_text(seconds: float) -> str:
    """A rough remaining time, as a progress line says it.

    Examples
    --------
    >>> [time_left_text(s) for s in (0.4, 12.3, 75, 3600 * 2.5)]
    ['less than a second left', 'about 12 s left', 'about 1 min 15 s left', 'about 2 h 30 min left']
    """
    seconds = max(0.0, float(seconds))
    if seconds < 1:
        return "less than a second left"
    whole = round(seconds)
    if whole < 60:
        return f"about {whole} s left"
    if whole < 3600:
        return f"about {whole // 60} min {whole % 60} s left"
    return f"about {whole // 3600} h {whole % 3600 // 60} min left"


def running_writes(window: QWidget) -> list:
    """The :class:`WriteDialog` children of ``window`` that are writing now."""
    return [dialog for dialog in window.findChildren(WriteDialog) if dialog.running]


class WriteDialog(QDialog):
    """A modeless dialog that writes one output in a job, with progress, Cancel and close.

    A subclass builds its fields, passes them to :meth:`lay_out`, and
    starts the write with :meth:`run_write` from its ``start_export`` (the
    Export button and Enter call it).  It may override
    :meth:`set_fields_enabled` (its fields are disabled while writing) and
    :meth:`for_user` (how a message of the core is put to the user).

    Parameters
    ----------
    title : str
        The window's title.
    noun : str
        What is written, for the status line: "Export" gives "Export
        cancelled; nothing was written.".
    preferences : Preferences or None
        Remembers the folder written to.
    parent : QWidget, optional
    cancellable : bool
        Whether the write can be stopped part way (see the module docstring).

    Signals
    -------
    exported(str)
        The output was written; its path.  The dialog then closes.
    cancelled(str)
        The write was cancelled (Cancel, Esc, the close button, or Quit);
        the sentence saying so, for the status bar.
    noted(str)
        A sentence for the status bar whenever a write starts ("Exporting to
        ...…"), is cancelled or fails, so that it never shows what an earlier
        write did.

    Attributes
    ----------
    runner : Runner
    stage_label : QLabel
        What is being done, or how the last write ended.
    progress_bar : QProgressBar
    export_button, cancel_button : QPushButton
        Export; Close (Cancel while a cancellable write runs).
    output_path : pathlib.Path or None
        Where the running or last write goes.
    ended_text : str
        How the last write ended ("Written to ...", "... cancelled; nothing
        was written."), "" before the first.
    clock : callable
        Seconds, for the time left (``time.monotonic``; tests give their own).
    """

    exported = pyqtSignal(str)
    cancelled = pyqtSignal(str)
    noted = pyqtSignal(str)

    #: Stage names of the job's progress -> what the status line says.
    STAGES: dict = {}
    #: The title of the message box of a failed write.
    ERROR_TITLE = "Cannot write"
    #: The status bar's words while writing, before the path.
    WRITING = "Writing to"

    def __init__(self, title: str, noun: str, preferences=None, parent: QWidget | None = None,
                 cancellable: bool = True) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.NonModal)
        self.noun = noun
        self.prefs = preferences
        self.cancellable = cancellable
        self.runner = Runner(noun, self)
        self.output_path = None
        self._close_when_stopped = False
        self._stage_started = None          # (stage, monotonic time, done) for the time left
        self.ended_text = ""                # how the last write ended
        self.clock = time.monotonic
        self.stage_label = QLabel()
        self.stage_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(False)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        self.cancel_button = self.buttons.addButton("Close", QDialogButtonBox.RejectRole)
        self.cancel_button.setAutoDefault(False)
        self.export_button.setDefault(True)          # Enter in any field exports
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self._on_cancel_button)
        self.runner.progressed.connect(self._on_progress)

    def open(self) -> None:
        """Show the dialog, modeless (QDialog.open would make it block the main window)."""
        self.setResult(0)
        self.show()

    def close_when(self, signal) -> None:
        """Close the dialog when ``signal`` fires, unless it is writing.

        The stack it was made for is replaced: an idle dialog would write the
        old one.
        """
        signal.connect(self._close_if_idle)

    def _close_if_idle(self, *_):
        if not self.running and self.isVisible():
            self.reject()

    def lay_out(self, *parts: QLayout | QWidget) -> None:
        """Lay out ``parts`` (the fields) above the status line, progress bar and buttons."""
        layout = QVBoxLayout(self)
        for part in parts:
            if isinstance(part, QLayout):
                layout.addLayout(part)
            else:
                layout.addWidget(part)
        for widget in (self.stage_label, self.progress_bar, self.buttons):
            layout.addWidget(widget)

    # ------------------------------------------------------------------ for subclasses
    def start_export(self) -> bool:
        """Check the fields and start the write (:meth:`run_write`); True if it started."""
        raise NotImplementedError

    def set_fields_enabled(self, enabled: bool) -> None:
        """Enable or disable the subclass's fields (disabled while writing)."""

    def for_user(self, message: str) -> str:
        """A core message as the dialog says it (the export names its own controls)."""
        return message

    def confirm_replace(self, path: Path) -> bool:
        """Ask whether the existing ``path`` may be replaced; True for Yes."""
        answer = QMessageBox.question(self, "Replace it?",
                                      f"'{path}' exists. Replace it with the new file?",
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    def show_error(self, message: str) -> None:
        """Say in a message box why nothing can be written."""
        QMessageBox.warning(self, self.ERROR_TITLE, self.for_user(message))

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        """True while the write runs."""
        return self.runner.busy

    def run_write(self, fn: Callable, output: Path, starting: str = "Starting…") -> None:
        """Write in a job: ``fn(report)`` returns the path written (or a generator of steps).

        ``starting`` is the status line until the first progress report.
        """
        self.output_path = output
        self._close_when_stopped = False
        self._stage_started = None
        self._set_running(True)
        self.stage_label.setText(starting)
        self.progress_bar.setRange(0, 0)
        self.noted.emit(f"{self.WRITING} {output}…")
        self.runner.start(fn, on_done=self._on_done, on_error=self._on_error,
                          on_cancel=self._on_cancelled, name=f"{self.noun} {output.name}")

    def _set_running(self, running):
        self.set_fields_enabled(not running)
        self.export_button.setEnabled(not running)
        self.cancel_button.setText("Cancel" if running and self.cancellable else "Close")
        self.cancel_button.setEnabled(self.cancellable or not running)

    def _on_progress(self, stage, done, total):
        now = self.clock()
        if self._stage_started is None or self._stage_started[0] != stage:
            self._stage_started = (stage, now, done)
        text = f"{self.STAGES.get(stage, stage)}: {done:,} of {total:,}"
        _, started, first = self._stage_started
        if total > done > first and now - started >= 1.0:     # a rate worth trusting
            text += f" · {time_left_text((now - started) / (done - first) * (total - done))}"
        self.stage_label.setText(text)
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(min(done, total))

    def _on_done(self, path):
        self._set_running(False)
        if self.prefs is not None:
            self.prefs.set_last_export_folder(Path(path).parent)
        self.ended_text = f"Written to {path}"
        self.stage_label.setText(self.ended_text)
        self.exported.emit(str(path))
        self.accept()

    def _stopped(self, text):
        """The write ended without output: say so, and close if the user asked to."""
        self._set_running(False)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.ended_text = text
        self.stage_label.setText(text)
        if self._close_when_stopped:
            super().reject()
        return self._close_when_stopped

    def _on_error(self, message, error):
        text = f"{self.noun} failed; nothing was written."
        self.noted.emit(f"{text} {self.for_user(message)}")
        if not self._stopped(text):
            self.show_error(message)

    def _on_cancelled(self):
        text = f"{self.noun} cancelled; nothing was written."
        self.cancelled.emit(text)
        self.noted.emit(text)
        self._stopped(text)

    def cancel(self) -> None:
        """Stop the running write (if it can be stopped); nothing is left behind."""
        if self.running and self.cancellable:
            self.stage_label.setText("Cancelling…")
            self.runner.cancel()

    def _on_cancel_button(self):
        if self.running:
            self.cancel()
        else:
            self.reject()

    def reject(self) -> None:
        """Close (Esc, Close, the window's close button); while writing, cancel, then close.

        A write that cannot be stopped part way is waited for: the dialog
        stays until it ends.
        """
        if self.running:
            if self.cancellable:
                self._close_when_stopped = True
                self.cancel()
            return
        super().reject()

    def stop_and_wait(self) -> str:
        """Cancel the write (if it can be stopped) and wait for its end; the status line then.

        Unlike :meth:`shutdown`, the end is delivered as usual (cancelled,
        written or failed: the signals, the status line), so the status bar
        says how it ended.
        """
        if self.running and self.cancellable:
            self.cancel()
        self.runner.wait()
        while self.running:         # the job's end arrives as a queued signal
            QApplication.processEvents(QEventLoop.ExcludeUserInputEvents, 50)
        return self.ended_text      # the dialog itself may be gone by now

    def shutdown(self) -> bool:
        """Cancel and wait for the write (the main window is closing); True once it ended."""
        return self.runner.shutdown()
