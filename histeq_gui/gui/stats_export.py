"""The dialog that writes the statistics table as CSV (with its JSON sidecar).

It writes with :func:`histeq_gui.core.stats_csv.stats_to_csv`, the function
``histeq --stats`` uses: atomically, never onto the stack it describes, and
never over an existing file unless the user agrees.  The rows are those the
table shows (filter and brush, in the table's order), all images, or the
selected ones.  Enter writes, Escape closes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (QButtonGroup, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                             QHBoxLayout, QLabel, QLineEdit, QMessageBox, QProgressBar,
                             QPushButton, QRadioButton, QVBoxLayout)

from ..core.io import exists
from ..core.stats_csv import check_stats_target, stats_to_csv
from .jobs import Runner
from .resources import SAMPLE_STACK, resource_path

__all__ = ["StatsExportDialog", "default_stats_path"]

_FILTER = "CSV table (*.csv);;All files (*)"


def default_stats_path(source, fallback_folder):
    """A free CSV path beside the stack: ``faces.npy`` gives ``faces_stats.csv`` (then ``_2``...).

    The bundled sample, a stack made in code and read-only folders use
    ``fallback_folder``.
    """
    folder, stem = Path(fallback_folder), "stack"
    if source is not None:
        source = Path(source)
        stem = source.name if source.is_dir() else source.stem
        try:
            bundled = source.parent.resolve() == resource_path(SAMPLE_STACK).parent.resolve()
        except FileNotFoundError:
            bundled = False
        if not bundled and os.access(source.parent, os.W_OK):
            folder = source.parent
    candidate = folder / f"{stem}_stats.csv"
    n = 2
    while exists(candidate):
        candidate = folder / f"{stem}_stats_{n}.csv"
        n += 1
    return candidate


class StatsExportDialog(QDialog):
    """Write the inspection's table (rows shown, all, or selected) as CSV.

    Parameters
    ----------
    inspection : Inspection
        The table, its rows, filter, brush and selection.
    preferences : Preferences or None
        The folder to start in; remembers the folder written to.
    parent : QWidget, optional

    Signals
    -------
    exported(str)
        The CSV was written; its path.

    Attributes
    ----------
    path_edit : QLineEdit
    shown_radio, all_radio, selected_radio : QRadioButton
        Which rows are written.
    export_button, close_button : QPushButton
    """

    exported = pyqtSignal(str)

    def __init__(self, inspection, preferences=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export the statistics")
        self.setModal(True)
        self.inspection = inspection
        self.prefs = preferences
        self.stack = inspection.state.stack
        self.runner = Runner("statistics CSV", self)
        self.output_path = None
        fallback = preferences.last_export_folder() if preferences is not None else Path.home()
        self.path_edit = QLineEdit(str(default_stats_path(self.stack.path, fallback)))
        self.path_edit.setMinimumWidth(380)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setAutoDefault(False)
        table = inspection.table
        shown, total, picked = len(inspection.rows), table.n_images, len(inspection.selected)
        what = [inspection.describe_filter()] if inspection.filter[0] != "all" else []
        if inspection.brush is not None:
            column, lo, hi = inspection.brush
            what.append(f"{column} in [{lo:.4g}, {hi:.4g}]")
        sort, descending = inspection.sort_key
        order = f", sorted by {sort}{' (descending)' if descending else ''}" if sort else ""
        self.shown_radio = QRadioButton(
            f"The {shown:,} images shown" + (f" ({'; '.join(what)})" if what else "") + order)
        self.all_radio = QRadioButton(f"All {total:,} images, in image order")
        self.selected_radio = QRadioButton(f"The {picked:,} selected images")
        self.selected_radio.setVisible(picked > 1)
        group = QButtonGroup(self)
        for radio in (self.shown_radio, self.all_radio, self.selected_radio):
            group.addButton(radio)
        (self.shown_radio if shown < total else self.all_radio).setChecked(True)
        self._note = ("Writes a CSV table (one row per image, the columns of the Statistics "
                      "panel) and a .json sidecar saying how it was made.")
        self.note = QLabel(self._note)
        self.note.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()

        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        rows = QVBoxLayout()
        for radio in (self.shown_radio, self.all_radio, self.selected_radio):
            rows.addWidget(radio)
        form = QFormLayout()
        form.addRow("Statistics of", QLabel(f"<b>{self.stack.name}</b> — method "
                                            f"{table.info.get('method')}, "
                                            f"{table.info.get('bins')} bins, scope "
                                            f"{table.info.get('scope')}"))
        form.addRow("Output", path_row)
        form.addRow("Rows", rows)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        self.close_button = self.buttons.addButton("Close", QDialogButtonBox.RejectRole)
        self.close_button.setAutoDefault(False)
        self.export_button.setDefault(True)          # Enter in any field; Escape closes
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.buttons)

        self.browse_button.clicked.connect(self._browse)
        self.export_button.clicked.connect(self.start_export)
        self.close_button.clicked.connect(self.reject)

    def rows(self):
        """The image indices the chosen option writes, in order."""
        inspection = self.inspection
        if self.all_radio.isChecked():
            return np.arange(inspection.table.n_images)
        if self.selected_radio.isChecked():
            return inspection.selected
        return inspection.rows

    def _browse(self):
        start = self.path_edit.text().strip()
        path, _ = QFileDialog.getSaveFileName(self, "Export the statistics to", start, _FILTER,
                                              options=QFileDialog.DontConfirmOverwrite)
        if path:
            path = Path(path)
            self.path_edit.setText(str(path if path.suffix else path.with_suffix(".csv")))

    @property
    def running(self):
        """True while the CSV is written."""
        return self.runner.busy

    def start_export(self):
        """Check the path (asking before replacing a file) and write in a job; True if started."""
        if self.running:
            return False
        text = self.path_edit.text().strip()
        if not text:
            self._error("Choose a file to write first.")
            return False
        path = Path(text).expanduser()
        source = self.stack.path
        overwrite = False
        try:
            if exists(path) and not path.is_dir():
                answer = QMessageBox.question(self, "Replace the file?",
                                              f"'{path}' exists. Replace it?",
                                              QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
                if answer != QMessageBox.Yes:
                    return False
                overwrite = True
            check_stats_target(path, source=source, overwrite=overwrite)
        except ValueError as exc:       # StackError is a ValueError
            self._error(str(exc))
            return False
        inspection = self.inspection
        subset = inspection.subset(self.rows())
        rows = "all" if self.all_radio.isChecked() else \
            "selected" if self.selected_radio.isChecked() else "shown"
        info = {"source": None if source is None else str(source), "rows": rows}
        if rows == "shown":
            info.update(filter=inspection.describe_filter(),
                        brush=None if inspection.brush is None else list(inspection.brush),
                        sort=list(inspection.sort_key))
        self.output_path = path
        self._set_running(True)
        self.runner.start(lambda report: stats_to_csv(subset, path, overwrite=overwrite,
                                                      info=info, source=source),
                          on_done=self._on_done, on_error=self._on_error,
                          name=f"statistics CSV {path.name}")
        return True

    def _set_running(self, running):
        for widget in (self.path_edit, self.browse_button, self.export_button,
                       self.close_button, self.shown_radio, self.all_radio,
                       self.selected_radio):
            widget.setEnabled(not running)
        self.progress_bar.setVisible(running)
        self.progress_bar.setRange(0, 0 if running else 1)
        self.note.setText("Writing…" if running else self._note)

    def _on_done(self, path):
        self._set_running(False)
        if self.prefs is not None:
            self.prefs.set_last_export_folder(Path(path).parent)
        self.exported.emit(str(path))
        self.accept()

    def _on_error(self, message, error):
        self._set_running(False)
        self._error(message)

    def _error(self, message):
        QMessageBox.warning(self, "Cannot export the statistics", message)

    def reject(self):
        """Close (Escape, Close); not while the file is being written (it takes seconds)."""
        if self.running:
            return
        super().reject()

    def keyPressEvent(self, event):
        if event.key() == Qt.Key_Escape and self.running:
            event.accept()
            return
        super().keyPressEvent(event)

    def shutdown(self):
        """Wait for the file being written (the main window is closing)."""
        return self.runner.shutdown()
