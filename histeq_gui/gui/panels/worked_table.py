"""The worked table panel: the textbook's table of equalization for the image shown.

It draws :func:`histeq_gui.core.worked.worked_table` for the current image
(its histogram, or the whole stack's with scope "stack"; the ROI's when the
viewer has one) and the current method, with ``L`` chosen here (kept in
``state.output_levels``).  Rows that merge into one output level share a
background, alternating from one output level to the next, and their ``s``
is bold; an ``s`` that differs from ``round((L - 1) cdf)`` (OpenCV's
``cdf_min`` shift, the seed recipe's left edges) is orange.  Ctrl+C copies
the selected rows (all rows without a selection) for a spreadsheet; "Export
CSV…" writes the table atomically.
"""

from __future__ import annotations

import csv
import io

import numpy as np
from PyQt5.QtCore import QAbstractTableModel, QModelIndex, QSize, Qt
from PyQt5.QtGui import QBrush, QColor, QFont, QKeySequence
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QAction,
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import StackError
from ...core.worked import MAX_LEVEL_ROWS, default_levels, worked_table, worked_table_to_csv
from ..compute import needs_stack
from ..method_help import show_method_help
from ..teaching import (
    CHANNEL_NAMES,
    WhenShown,
    Work,
    describe_params,
    method_params,
    own_levels,
    roi_mask,
    sample_pixels,
    table_levels,
)

__all__ = ["WorkedTablePanel", "WorkedTableModel", "COLUMN_TITLES", "table_text",
           "MAX_SPIN_LEVELS"]

MAX_SPIN_LEVELS = 1 << 16

#: Column -> (header, tooltip); the columns a table has are shown in this order.
COLUMN_TITLES = {
    "r": ("r\u2096", "Input level r\u2096 (for bins: the bin's lower edge)"),
    "r_end": ("bin end", "The bin's upper edge"),
    "x": ("read at", "Where the method reads its map for the bin (left edge or centre)"),
    "n": ("n\u2096", "Pixels at this level (in this bin)"),
    "p": ("p\u2096 = n\u2096/N", "Fraction of the pixels"),
    "cdf": ("cdf", "Cumulative fraction: pixels at or below this level, over all"),
    "scaled": ("(L\u22121)\u00b7cdf", "The textbook's s\u2096 before rounding"),
    "value": ("T(r\u2096)", "The method's equalized value, in [0, 1] (what equalize returns)"),
    "s": ("s\u2096", "Output level in 0..L\u22121 for the current method: "
                     "rint((L\u22121)\u00b7T(r\u2096)); orange where it is not "
                     "round((L\u22121)\u00b7cdf)"),
}
_GROUP_BACKGROUNDS = (QColor("#ffffff"), QColor("#e8f0fe"))
_EMPTY_TEXT = QColor("#9aa0a6")
_DIFFERENT = QColor("#c26401")


def _number(name, value, kind):
    """A cell's text: integers as they are, fractions with 4 decimals, edges with %g."""
    if name in ("n", "s"):
        return f"{int(value)}"
    if name == "r" and kind == "levels":
        return f"{int(value)}"
    if name in ("r", "r_end", "x"):
        return f"{float(value):.6g}"
    if name == "scaled":
        return f"{float(value):.3f}"
    value = float(value)
    if 0 < abs(value) < 1e-3:
        return f"{value:.2e}"       # a few pixels of a big image: not 0.0000
    return f"{value:.4f}"


def table_text(table, rows=None):
    """Rows of ``table`` as tab-separated text with a header (for the clipboard).

    The numbers are written as the CSV export writes them (exactly); ``rows``
    selects rows (default: all).
    """
    selected = {name: np.asarray(column) if rows is None else np.asarray(column)[rows]
                for name, column in table.items()}
    buffer = io.StringIO()
    worked_table_to_csv(selected, buffer)
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerows(csv.reader(io.StringIO(buffer.getvalue())))
    return out.getvalue()


_LEVELS_TIP = ("L, the number of output levels (s runs over 0..L\u22121); auto: 256 for 8-bit, "
               "65536 for 16-bit, the bins for floats")


class WorkedTableModel(QAbstractTableModel):
    """A read-only Qt model over a :class:`~histeq_gui.core.worked.WorkedTable`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = None
        self.columns = []
        self._merged = np.zeros(0, bool)
        self._different = np.zeros(0, bool)

    def set_table(self, table):
        """Show ``table`` (None: nothing)."""
        self.beginResetModel()
        self.table = table
        self.columns = [] if table is None else [c for c in COLUMN_TITLES if c in table]
        if table is not None:
            merged = np.zeros(table.n_rows, bool)
            for _, rows in table.merged:
                merged[rows] = True
            self._merged = merged
            self._different = table["s"] != np.rint(table["scaled"])
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        """Qt: number of rows, the table's (none without one)."""
        return 0 if self.table is None or parent.isValid() else self.table.n_rows

    def columnCount(self, parent=QModelIndex()):
        """Qt: number of columns, those of the table that have a title."""
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        """Qt: a column's title and its meaning as a tooltip; a row's number."""
        if orientation == Qt.Horizontal and 0 <= section < len(self.columns):
            title, tip = COLUMN_TITLES[self.columns[section]]
            if role == Qt.DisplayRole:
                return title
            if role == Qt.ToolTipRole:
                return tip
        if orientation == Qt.Vertical and role == Qt.DisplayRole:
            return str(section)
        return None

    def data(self, index, role=Qt.DisplayRole):
        """Qt: a cell's text, alignment, group shade, colours and font, and the tooltip of ``s``."""
        if not index.isValid() or self.table is None:
            return None
        name = self.columns[index.column()]
        row = index.row()
        if role == Qt.DisplayRole:
            return _number(name, self.table[name][row], self.table.info["kind"])
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.BackgroundRole:
            return QBrush(_GROUP_BACKGROUNDS[int(self.table["group"][row]) % 2])
        if role == Qt.ForegroundRole:
            if name == "s" and self._different[row]:
                return QBrush(_DIFFERENT)
            if self.table["n"][row] == 0:
                return QBrush(_EMPTY_TEXT)
            return QBrush(QColor("#202124"))
        if role == Qt.FontRole and name == "s" and self._merged[row]:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ToolTipRole and name == "s":
            s = int(self.table["s"][row])
            members = [rows for level, rows in self.table.groups if level == s]
            count = len(members[0]) if members else 0
            text = f"output level {s} receives {count} input level(s) holding pixels"
            if self._different[row]:
                text += f"; the textbook's rule gives {int(np.rint(self.table['scaled'][row]))}"
            return text
        return None


class WorkedTablePanel(WhenShown, QWidget):
    """The worked table of the image shown, with ``L``, rows, channel, copy and CSV export.

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` (stack, index, method, bins, scope, ``levels``, the ROI
        hook) and ``notify`` are used; the controller's result is not: the
        table is computed by the core from the same settings.

    Attributes
    ----------
    table : WorkedTable or None
        The table shown.
    model : WorkedTableModel
    view : QTableView
    levels_spin : QSpinBox
        ``L``; its lowest value (1) means "auto" (the dtype's levels).
    summary : QLabel
        Levels before and after, merged groups, the pixels counted.
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = state = context.state
        self.notify = context.notify
        self.table = None
        self._problem = ""
        self.work = Work("worked table", self)
        self.levels_spin = QSpinBox()
        self.levels_spin.setRange(1, MAX_SPIN_LEVELS)
        self.levels_spin.setSpecialValueText("auto")
        self.levels_spin.setKeyboardTracking(False)
        self.levels_spin.setToolTip(_LEVELS_TIP)
        self.rows_combo = QComboBox()
        self.rows_combo.addItem("every level of the range", "range")
        self.rows_combo.addItem("levels with pixels", "present")
        self.rows_combo.setToolTip("Show every level between the smallest and largest value "
                                   "(empty ones show where the map is flat), or only those "
                                   "holding pixels (Wikipedia's table)")
        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("The colour channel whose table is shown")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the selected rows, or all rows, as tab-separated text "
                                    "(Ctrl+C)")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save the table as a CSV file")
        self.help_button = QPushButton("How it works")
        self.help_button.setToolTip("How the current method maps levels, with its formula")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.model = WorkedTableModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setAlternatingRowColors(False)
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.view.setStyleSheet("QTableView { gridline-color: #dadce0; }")

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(QLabel("L"))
        controls.addWidget(self.levels_spin)
        controls.addWidget(QLabel("Rows"))
        controls.addWidget(self.rows_combo)
        self.channel_label = QLabel("Channel")
        controls.addWidget(self.channel_label)
        controls.addWidget(self.channel_combo)
        controls.addStretch(1)
        controls.addWidget(self.help_button)
        controls.addWidget(self.copy_button)
        controls.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)

        self.copy_action = QAction("Copy table rows", self)
        self.copy_action.setShortcut(QKeySequence.Copy)
        self.copy_action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        self.copy_action.triggered.connect(self.copy)
        self.addAction(self.copy_action)

        self.levels_spin.valueChanged.connect(self._on_levels_picked)
        self.rows_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.channel_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.copy_button.clicked.connect(self.copy)
        self.export_button.clicked.connect(self.export_csv)
        self.help_button.clicked.connect(lambda: show_method_help(self, self.state.method))
        state.stackChanged.connect(self._on_stack)
        state.changed.connect(self.refresh)
        state.outputLevelsChanged.connect(self._show_levels)
        state.roiChanged.connect(lambda *_: self.refresh())
        self._on_stack()

    def sizeHint(self):
        """Qt: the preferred size, 640 × 300, as a teaching view in the top dock."""
        return QSize(640, 300)

    @property
    def busy(self):
        """True while a big table is computed."""
        return self.work.busy

    # ------------------------------------------------------------------ state -> widgets
    def _show_levels(self, levels):
        self.levels_spin.blockSignals(True)
        self.levels_spin.setValue(1 if levels is None else min(levels, MAX_SPIN_LEVELS))
        self.levels_spin.blockSignals(False)
        self.refresh()

    def _on_stack(self):
        stack = self.state.stack
        channels = 1 if stack is None else stack.channels
        self.channel_combo.blockSignals(True)
        self.channel_combo.clear()
        for c in range(channels):
            self.channel_combo.addItem(CHANNEL_NAMES[c] if channels > 2 else f"channel {c}", c)
        self.channel_combo.blockSignals(False)
        self.channel_label.setVisible(channels > 1)
        self.channel_combo.setVisible(channels > 1)
        self._show_levels(self.state.output_levels)

    def _show_levels_control(self, method, levels):
        """L is the method's own ``levels`` for textbook: the control shows it, disabled."""
        own = own_levels(method)
        self.levels_spin.setEnabled(not own)
        shown = self.state.output_levels if not own else levels
        self.levels_spin.blockSignals(True)
        self.levels_spin.setValue(1 if shown is None else min(shown, MAX_SPIN_LEVELS))
        self.levels_spin.blockSignals(False)
        self.levels_spin.setToolTip(
            f"{method.name} maps to its own levels parameter (set it in Settings): the table's L "
            "is that, so that s is what the viewer shows" if own else _LEVELS_TIP)

    def _on_levels_picked(self, value):
        self.state.set_output_levels(None if value <= 1 else value)

    # ------------------------------------------------------------------ computing
    def _request(self):
        """What to compute: pixels, method, bins, levels, mask, rows, scope, index, channel."""
        state, stack = self.state, self.state.stack
        channel = max(self.channel_combo.currentData() or 0, 0)
        pixels = sample_pixels(stack, state.index, state.scope, channel)
        mask = roi_mask(state, stack.layout.image_shape)
        return (pixels, state.method_spec, state.bins, state.output_levels, mask,
                self.rows_combo.currentData() or "range", state.scope, state.index, channel,
                state.params)

    def refresh(self):
        """Recompute the table for the state (at once, or in a job for big images).

        Only while the panel is shown; a hidden panel catches up when shown.
        """
        if not self.wanted():
            return
        if self.state.stack is None:
            self.work.abandon()
            self._show(None, "no stack: open one to see its worked table")
            return
        request = self._request()
        pixels, method, bins, levels, mask, rows, _, _, channel, params = request
        stack, roi = self.state.stack, self.state.roi
        levels, table_params = table_levels(levels, method, params, stack.dtype, bins)
        self._show_levels_control(method, levels)

        def make(report):
            own = method_params(stack, method, bins, table_params, roi, channel, report)
            return request, worked_table(pixels, method.name, bins, levels=levels, mask=mask,
                                         rows=rows, **own)
        values = stack.size if needs_stack(method) else pixels.size
        self.work.request(make, lambda done: self._show(*done),
                          lambda message: self._show(None, f"no table: {message}"), values)

    # ------------------------------------------------------------------ drawing
    def _show(self, request, table=None):
        """Show ``table`` made for ``request``; a string instead says why there is none."""
        if isinstance(table, str) or table is None:
            self.table = None
            self.model.set_table(None)
            self.summary.setText(table or "")
            return
        self.table = table
        self.model.set_table(table)
        self.summary.setText(self._summary(request, table))

    def _summary(self, request, table):
        _, method, bins, _, mask, _, scope, index, channel, params = request
        info = table.info
        where = "the whole stack" if scope == "stack" else f"image {index}"
        if self.state.stack is not None and self.state.stack.channels > 1:
            where += f", {self.channel_combo.currentText()} channel"
        if mask is not None:
            where += ", region of interest"
        rows = "levels" if info["kind"] == "levels" else f"bins of {bins}"
        merged = table.merged
        biggest = max((len(r) for _, r in merged), default=1)
        different = int(np.count_nonzero(table["s"] != np.rint(table["scaled"])))
        excluded = (f" ({info['excluded']:,} left out: NaN, inf or outside the region)"
                    if info["excluded"] else "")
        set_params = describe_params(params)
        if own_levels(method):
            auto = f" ({method.name}'s own levels: Settings)"
        else:
            auto = " (auto)" if self.state.output_levels is None else ""
        text = (f"<b>{method.name}</b>{f' ({set_params})' if set_params else ''} on {where}: "
                f"{info['total']:,} pixels{excluded}, L = {table.levels}{auto}, "
                f"one row per {'level' if info['kind'] == 'levels' else 'bin'}. "
                f"<b>{table.levels_before}</b> {rows} hold pixels &rarr; "
                f"<b>{table.levels_after}</b> output levels")
        if merged:
            text += (f"; {len(merged)} output levels receive 2 or more input {rows} "
                     f"(up to {biggest}; bold s)")
        if different:
            text += (f". <span style='color: #c26401'>s &ne; round((L&minus;1)&middot;cdf) on "
                     f"{different} row{'s' if different > 1 else ''}</span>")
        if info["kind"] == "bins" and info["dtype"][0] in "iu":
            text += f" (more than {MAX_LEVEL_ROWS:,} levels: one row per bin)"
        return text + "."

    # ------------------------------------------------------------------ copy and export
    def selected_rows(self):
        """The rows selected in the view, in order (all rows when none is selected)."""
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        if not rows and self.table is not None:
            rows = list(range(self.table.n_rows))
        return rows

    def copy(self):
        """Put the selected rows (or all) on the clipboard as tab-separated text."""
        if self.table is None:
            return
        rows = self.selected_rows()
        QApplication.clipboard().setText(table_text(self.table, rows))
        self.notify(f"Copied {len(rows)} rows of the worked table")

    def default_csv_name(self):
        """A file name for the export: "<stack>_image<i>_<method>_L<L>_worked_table.csv"."""
        stack = self.state.stack
        stem = "table" if stack is None or stack.path is None else stack.path.stem
        levels = self.table.levels if self.table is not None else default_levels("uint8")
        return (f"{stem}_image{self.state.index}_{self.state.method}_L{levels}_"
                f"worked_table.csv")

    def export_csv(self, path=None):
        """Save the table as CSV (asks for a file without ``path``); returns the path or None."""
        if self.table is None:
            self.notify("No worked table to export")
            return None
        if path is None:
            folder = "" if self.state.stack is None or self.state.stack.path is None else \
                str(self.state.stack.path.parent / self.default_csv_name())
            path, _ = QFileDialog.getSaveFileName(self, "Export the worked table",
                                                  folder or self.default_csv_name(),
                                                  "CSV files (*.csv)")
            if not path:
                return None
        try:
            written = worked_table_to_csv(self.table, path, overwrite=True)
        except StackError as exc:
            QMessageBox.warning(self, "Export the worked table", str(exc))
            return None
        self.notify(f"Saved the worked table to {written}")
        return written

    def shutdown(self, timeout_ms=None):
        """Stop the table's job (the window calls this when it closes)."""
        return self.work.shutdown(timeout_ms)
