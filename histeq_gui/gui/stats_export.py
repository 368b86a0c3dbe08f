"""The dialog that writes the statistics table as CSV (with its JSON sidecar).

It writes with :func:`histeq_gui.core.stats_csv.stats_to_csv`, the function
``histeq --stats`` uses: atomically, never onto the stack it describes, and
never over an existing file unless the user agrees.  The rows are those the
table shows (filter and brush, in the table's order), all images, or the
selected ones.  Enter writes, Escape closes; the file is written in one go,
which cannot be stopped part way, so while it is written Escape and the
close button wait for it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt5.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from ..core.io import exists
from ..core.stats_csv import check_stats_target, stats_to_csv
from ..core.words import count
from .write_dialog import WriteDialog, free_output_path

__all__ = ["StatsExportDialog", "default_stats_path"]

_FILTER = "CSV table (*.csv);;All files (*)"


def default_stats_path(source, fallback_folder, folder=None):
    """A free CSV path in ``folder`` (the last export's) or beside the stack.

    ``faces.npy`` gives ``faces_stats.csv`` (then ``_2``...).  The bundled
    sample, a stack made in code and read-only folders use
    ``fallback_folder`` (see :func:`~histeq_gui.gui.write_dialog.free_output_path`).
    """
    return free_output_path(source, fallback_folder, "stats", ".csv", folder)


class StatsExportDialog(WriteDialog):
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
    """

    ERROR_TITLE = "Cannot export the statistics"
    WRITING = "Writing the statistics to"

    def __init__(self, inspection, preferences=None, parent=None):
        # One CSV written atomically in one call: it cannot be stopped part way.
        super().__init__("Export the statistics", "Statistics export", preferences, parent,
                         cancellable=False)
        self.inspection = inspection
        self.stack = inspection.state.stack
        self.close_when(inspection.state.stackChanged)
        fallback = preferences.last_export_folder() if preferences is not None else Path.home()
        folder = preferences.export_folder() if preferences is not None else None
        self.path_edit = QLineEdit(str(default_stats_path(self.stack.path, fallback, folder)))
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
            f"The {count(shown, 'image')} shown" + (f" ({'; '.join(what)})" if what else "") +
            order)
        self.all_radio = QRadioButton(f"All {count(total, 'image')}, in image order")
        self.selected_radio = QRadioButton(f"The {picked:,} selected images")
        self.selected_radio.setVisible(picked > 1)
        group = QButtonGroup(self)
        for radio in (self.shown_radio, self.all_radio, self.selected_radio):
            group.addButton(radio)
        (self.shown_radio if shown < total else self.all_radio).setChecked(True)
        self.stage_label.setText("Writes a CSV table (one row per image, the columns of the "
                                 "Statistics panel) and a .json sidecar saying how it was made.")

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
        self.lay_out(form)
        self.browse_button.clicked.connect(self._browse)

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

    def set_fields_enabled(self, enabled):
        """Enable or disable the path, its Browse button and the choice of rows."""
        for widget in (self.path_edit, self.browse_button, self.shown_radio, self.all_radio,
                       self.selected_radio):
            widget.setEnabled(enabled)

    def start_export(self):
        """Check the path (asking before replacing a file) and write in a job; True if started."""
        if self.running:
            return False
        text = self.path_edit.text().strip()
        if not text:
            self.show_error("Choose a file to write first.")
            return False
        path = Path(text).expanduser()
        source = self.stack.path
        try:
            overwrite = exists(path) and not path.is_dir()
            if overwrite and not self.confirm_replace(path):
                return False
            check_stats_target(path, source=source, overwrite=overwrite)
        except ValueError as exc:       # StackError is a ValueError
            self.show_error(str(exc))
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
        self.run_write(lambda report: stats_to_csv(subset, path, overwrite=overwrite,
                                                   info=info, source=source),
                       path, starting="Writing…")
        return True
