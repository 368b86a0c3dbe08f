"""The statistics table panel: one row per image, one column per statistic.

The table is a :class:`StatsTableModel` over the shared
:class:`~histeq_gui.gui.inspection.Inspection`: it serves each cell straight
from the NumPy columns (a view asks only for the cells it shows), and its
rows are the inspection's rows, so filtering and sorting 100,000 images is
a NumPy operation, not 100,000 items.  Flagged cells are coloured, with a
tooltip naming the threshold; the bar names the value range the brightness
scores run over.  Clicking a row shows that image (and, for a member of a
set of duplicates, makes the grid show its set side by side); paging
through the images selects and scrolls to their rows.  For a folder tree,
a :class:`~histeq_gui.gui.label_filter.LabelChooser` shows one label's
images and each label's count.
"""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QAbstractTableModel, QItemSelectionModel, QModelIndex, QSize, Qt
from PyQt5.QtGui import QColor, QKeySequence
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QAction,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.stats import COLUMNS, THRESHOLDS
from ...core.words import count
from ..inspection import (
    FILTERS,
    FLAGS,
    NUMERIC_COLUMNS,
    OUTLIER_COLOURS,
    describe_value_range,
    want_while_shown,
)
from ..label_filter import LabelChooser, label_text
from ..stats_format import TABLE_ORDER, format_cell, header_label

__all__ = ["StatsTablePanel", "StatsTableModel", "TABLE_ORDER", "format_cell", "header_label",
           "VALUE_ROLE", "IMAGE_ROLE"]

VALUE_ROLE = Qt.UserRole          # the cell's value as stored (a NumPy scalar)
IMAGE_ROLE = Qt.UserRole + 1      # the image index of the row
_AFTER = ("entropy_after", "distinct_after", "levels_lost", "mean_abs_change")
_STALE = QColor("#9aa0a6")
_CELL_COLOURS = {column: QColor(spec[3]) for column, spec in FLAGS.items()}
_CELL_COLOURS["outlier"] = QColor(OUTLIER_COLOURS[1])
_TEXT = QColor("#202124")
_SIDES = (("both", "both tails"), ("low", "low only"), ("high", "high only"))
_SIZE_SAMPLE = 64            # rows of each column measured for its width


def _header_tip(name):
    meaning = COLUMNS[name][1]
    for flag, (_, label, _, _, score) in FLAGS.items():
        if name in (flag, score) and flag[3:] in THRESHOLDS:
            meaning += (f". Flagged {label} when {score} < {THRESHOLDS[flag[3:]]} "
                        "(CleanVision's default threshold).")
    if name in ("is_near_duplicate", "near_duplicate_of", "is_duplicate", "duplicate_of"):
        meaning += ". Click a member: the grid shows its set side by side."
    return f"{name}: {meaning}"


class StatsTableModel(QAbstractTableModel):
    """The inspection's rows as a Qt table model (cells read from the NumPy columns).

    Columns are those of :data:`histeq_gui.core.stats.COLUMNS`, in order.
    Sorting a column (:meth:`sort`, called by the view's header) sorts the
    inspection, which the grid follows too.
    """

    def __init__(self, inspection, parent=None):
        super().__init__(parent)
        self.inspection = inspection
        self.columns = list(TABLE_ORDER)
        self._numeric = [COLUMNS[c][0] in ("int64", "float64") for c in self.columns]
        self._headers = [header_label(c) for c in self.columns]
        self._tips = [_header_tip(c) for c in self.columns]
        inspection.rowsChanged.connect(self._reset)
        inspection.tableChanged.connect(self._reset)

    def _reset(self):
        self.beginResetModel()
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        """Qt: number of rows, the inspection's rows (none before its table)."""
        if parent.isValid() or self.inspection.table is None:
            return 0
        return len(self.inspection.rows)

    def columnCount(self, parent=QModelIndex()):
        """Qt: number of columns, one per statistic."""
        return 0 if parent.isValid() else len(self.columns)

    def image_at(self, row):
        """The image index shown in ``row``."""
        return int(self.inspection.rows[row])

    def column_of(self, name):
        """The column number of statistic ``name``."""
        return self.columns.index(name)

    def data(self, index, role=Qt.DisplayRole):
        """Qt: a cell's text, alignment, flag colours, tooltip, value or image index."""
        if not index.isValid():
            return None
        inspection = self.inspection
        table = inspection.table
        if table is None or index.row() >= len(inspection.rows):
            return None
        image = int(inspection.rows[index.row()])
        name = self.columns[index.column()]
        if role == Qt.DisplayRole:
            return format_cell(table[name][image])
        if role == Qt.TextAlignmentRole:
            if name in ("name", "label"):
                return Qt.AlignLeft | Qt.AlignVCenter
            return (Qt.AlignRight if self._numeric[index.column()] else Qt.AlignHCenter) \
                | Qt.AlignVCenter
        if role == Qt.BackgroundRole:
            flag = inspection.cell_flag(name, image)
            return None if flag is None else _CELL_COLOURS[flag]
        if role == Qt.ForegroundRole:
            if name in _AFTER and inspection.stale:
                return _STALE
            return _TEXT if inspection.cell_flag(name, image) is not None else None
        if role == Qt.ToolTipRole:
            return self._tooltip(name, image)
        if role == VALUE_ROLE:
            return table[name][image]
        if role == IMAGE_ROLE:
            return image
        return None

    def _tooltip(self, name, image):
        inspection = self.inspection
        value = inspection.value(name, image)
        text = f"image {image} · {name} = {value!r}" if isinstance(value, float) else \
            f"image {image} · {name} = {format_cell(value) or 'no'}"
        flag = inspection.cell_flag(name, image)
        if flag is not None:
            reasons = inspection.reasons(image)
            key = "outlier" if flag == "outlier" else FLAGS[flag][1]
            text += "\n" + "\n".join(r for r in reasons if r.startswith(key + ":"))
        if name in _AFTER and inspection.stale:
            text += "\n(computed with the previous settings; being updated)"
        return text

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        """Qt: a column's label and its meaning as a tooltip; a row's number."""
        if orientation == Qt.Horizontal:
            if role == Qt.DisplayRole:
                return self._headers[section]
            if role == Qt.ToolTipRole:
                return self._tips[section]
            return None
        if role == Qt.DisplayRole:
            return str(section)
        return None

    def sort(self, column, order=Qt.AscendingOrder):
        """Sort the rows by ``column`` (the view's header calls this)."""
        if 0 <= column < len(self.columns):
            self.inspection.sort(self.columns[column], order == Qt.DescendingOrder)


class StatsTablePanel(QWidget):
    """The statistics of every image: a sortable, filterable table, with export to CSV.

    Parameters
    ----------
    context : ViewerContext
        Its ``state``, ``inspection``, ``preferences`` and ``notify`` are used.

    Attributes
    ----------
    model : StatsTableModel
    view : QTableView
    filter_combo : QComboBox
        What rows to show (:data:`~histeq_gui.gui.inspection.FILTERS`).
    label_combo : LabelChooser
        Which label of a folder tree to show, with each label's count
        (hidden for a stack without labels).
    outlier_column, outlier_threshold, outlier_side
        The outlier filter's column, cut on the robust z and tails.
    count_label, brush_label : QLabel
    range_label : QLabel
        The table's caption: the value range of the brightness scores
        (:func:`~histeq_gui.gui.inspection.describe_value_range`).
    clear_brush_button, export_button, compute_button : QPushButton or QToolButton
    message_label : QLabel
        Computing, cancelled or failed statistics.
    export_action : QAction
        File > Export statistics (CSV)…
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.state = state = context.state
        self.inspection = inspection = context.inspection
        self.model = StatsTableModel(inspection, self)
        self._syncing = False
        self._sorted = False
        self._sized_for = None
        self.export_dialog = None

        self.filter_combo = QComboBox()
        for mode, text in FILTERS.items():
            self.filter_combo.addItem(text, mode)
        self.filter_combo.setToolTip("Which images the table and the grid show")
        self.filter_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLength)
        self.filter_combo.setMinimumContentsLength(14)
        self.label_combo = LabelChooser(inspection)
        self.outlier_column = QComboBox()
        for name in NUMERIC_COLUMNS:
            self.outlier_column.addItem(name, name)
        self.outlier_column.setCurrentIndex(NUMERIC_COLUMNS.index("mean"))
        self.outlier_column.setToolTip("The column whose unusual values are shown")
        self.outlier_column.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLength)
        self.outlier_column.setMinimumContentsLength(8)
        self.outlier_threshold = QDoubleSpinBox()
        self.outlier_threshold.setRange(0.5, 100.0)
        self.outlier_threshold.setSingleStep(0.5)
        self.outlier_threshold.setValue(3.5)
        self.outlier_threshold.setPrefix("|z| > ")
        self.outlier_threshold.setToolTip(
            "Robust z-score cut: (x - median) / (1.4826 × MAD); 3.5 is Iglewicz and "
            "Hoaglin's recommendation")
        self.outlier_side = QComboBox()
        for side, text in _SIDES:
            self.outlier_side.addItem(text, side)
        self.count_label = QLabel()
        self.brush_label = QLabel()
        self.brush_label.setStyleSheet("color: #1a73e8;")
        self.brush_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.brush_label.setContentsMargins(8, 0, 0, 0)
        self.clear_brush_button = QToolButton()
        self.clear_brush_button.setText("Clear brush")
        self.clear_brush_button.setToolTip("Show the images outside the brushed range again")
        self.clear_brush_button.setAutoRaise(True)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Write the table (the rows shown, or all) as CSV with "
                                      "a .json sidecar")
        self.range_label = QLabel()          # the table's caption, under it
        self.range_label.setStyleSheet("color: palette(dark);")
        self.range_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.range_label.setContentsMargins(6, 1, 6, 1)
        self.range_label.setToolTip(
            "The values the dark and light scores (and the 8-bit copy the blur and hash checks "
            "see) run over: 0..255 for 8-bit images as CleanVision; the data's bit depth for "
            "wider integers (12-bit data in 16-bit files: 0..4095); floats 0..1, or their "
            "0.35% saturated range when they leave it. `histeq --value-range` chooses another")
        self.message_label = QLabel()
        self.message_label.setStyleSheet("color: palette(dark);")
        self.message_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.message_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.compute_button = QPushButton("Compute")
        self.compute_button.setToolTip("Compute the statistics for the current settings")

        self.view = QTableView()
        self.view.setModel(self.model)
        # Image order until a header is clicked (no sort indicator before sorting is on:
        # turning it on sorts by the indicator's column at once).
        self.view.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollPerPixel)
        rows = self.view.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.view.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsMovable(True)
        header.setDefaultAlignment(Qt.AlignCenter)
        header.setMinimumSectionSize(36)

        self.export_action = QAction("Export &statistics (CSV)…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.export_action.triggered.connect(lambda checked=False: self.open_export_dialog())
        self.menu_actions = {"File": [self.export_action]}

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.filter_combo)
        bar.addWidget(self.label_combo)
        bar.addWidget(self.outlier_column)
        bar.addWidget(self.outlier_threshold)
        bar.addWidget(self.outlier_side)
        bar.addWidget(self.count_label)
        bar.addWidget(self.brush_label, 1)         # these two shrink (clipped) in a
        bar.addWidget(self.clear_brush_button)
        bar.addWidget(self.message_label, 1)       # narrow dock
        bar.addWidget(self.compute_button)
        bar.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.range_label)

        self.filter_combo.currentIndexChanged.connect(self._on_filter_widgets)
        self.outlier_column.currentIndexChanged.connect(self._on_filter_widgets)
        self.outlier_threshold.valueChanged.connect(self._on_filter_widgets)
        self.outlier_side.currentIndexChanged.connect(self._on_filter_widgets)
        self.clear_brush_button.clicked.connect(inspection.clear_brush)
        self.export_button.clicked.connect(self.open_export_dialog)
        self.compute_button.clicked.connect(lambda: inspection.refresh(force=True))
        self.view.selectionModel().currentRowChanged.connect(self._on_current_row)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.model.modelReset.connect(self._after_reset)
        inspection.filterChanged.connect(self._show_filter)
        inspection.brushChanged.connect(self._show_brush)
        inspection.sortChanged.connect(self._show_sort)
        inspection.tableChanged.connect(self._on_table)
        inspection.busyChanged.connect(lambda busy: self._show_message())
        inspection.problemChanged.connect(lambda problem: self._show_message())
        state.indexChanged.connect(self.select_image)
        state.changed.connect(self._show_message)
        want_while_shown(self, inspection)
        self._show_filter()
        self._show_brush(inspection.brush)
        self._after_reset()
        self._show_message()

    # ------------------------------------------------------------------ filter and brush
    def _on_filter_widgets(self):
        mode = self.filter_combo.currentData()
        self.inspection.set_filter(mode, self.outlier_column.currentData(),
                                   self.outlier_threshold.value(),
                                   self.outlier_side.currentData())

    def _show_filter(self):
        mode, column, threshold, side = self.inspection.filter
        for combo, data in ((self.filter_combo, mode), (self.outlier_column, column),
                            (self.outlier_side, side)):
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(data))
            combo.blockSignals(False)
        self.outlier_threshold.blockSignals(True)
        self.outlier_threshold.setValue(threshold)
        self.outlier_threshold.blockSignals(False)
        outliers = mode == "outliers"
        for widget in (self.outlier_column, self.outlier_threshold, self.outlier_side):
            widget.setVisible(outliers)

    def _show_brush(self, brush):
        if brush is None:
            self.brush_label.setText("")
        else:
            column, lo, hi = brush
            self.brush_label.setText(f"brush: {column} in [{format_cell(lo)}, "
                                     f"{format_cell(hi)}]")
        self.brush_label.setVisible(brush is not None)
        self.clear_brush_button.setEnabled(brush is not None)   # no jump in the layout

    def _show_sort(self, column, descending):
        self._sorted = True            # the new order is shown from its top (_after_reset)
        header = self.view.horizontalHeader()
        section = self.model.column_of(column) if column else -1
        order = Qt.DescendingOrder if descending else Qt.AscendingOrder
        if (header.sortIndicatorSection(), header.sortIndicatorOrder()) != (section, order):
            header.blockSignals(True)
            header.setSortIndicator(section, order)
            header.blockSignals(False)

    def _show_count(self):
        inspection = self.inspection
        if inspection.table is None:
            self.count_label.setText("")
            return
        shown, total = len(inspection.rows), inspection.table.n_images
        text = count(total, "image") if shown == total else f"{shown:,} of {count(total, 'image')}"
        if inspection.label is not None:
            text += f" · {label_text(inspection.label)}"
        column, descending = inspection.sort_key
        if column:
            # In words: the header's arrow points the way the style draws it.
            text += f", by {column}, {'descending' if descending else 'ascending'}"
        self.count_label.setText(text)

    def _show_message(self):
        inspection = self.inspection
        problem = inspection.problem
        if self.state.stack is None:
            text = "No stack"
        elif problem:
            text = problem
        elif inspection.busy:
            text = ("Updating the statistics for the new settings…" if inspection.table
                    is not None else "Computing the statistics…")
        elif inspection.table is None or inspection.stale:
            text = "Statistics are computed while this table is shown"
        else:
            text = ""
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))
        self.compute_button.setVisible(bool(problem) and not inspection.busy)
        self.export_button.setEnabled(inspection.table is not None)
        self.export_action.setEnabled(inspection.table is not None)

    def _on_table(self):
        table = self.inspection.table
        self.range_label.setText("" if table is None else describe_value_range(table))
        self.range_label.setVisible(bool(self.range_label.text()))
        if table is not None and self._sized_for is not self.state.stack:
            self._sized_for = self.state.stack       # new magnitudes: new widths
            self._size_columns()
        self._show_names()
        self._show_message()

    # ------------------------------------------------------------------ rows and the image
    def _after_reset(self):
        """After new rows: the count, the current image's row selected, and in view.

        After a new sort the table shows the top of the new order instead
        (the current row stays selected).
        """
        self._show_count()
        sorted_now, self._sorted = self._sorted, False
        self.select_image(self.state.index, scroll=not sorted_now)
        if sorted_now:
            self.view.scrollToTop()

    def _size_columns(self):
        """Columns as wide as their header and their values (once per stack).

        Measured on a sample of each column (its first rows, rows spread over
        the table, its smallest, largest and smallest non-zero magnitude,
        which has the longest decimals), not every row: Qt's own
        resize-to-contents asks a thousand rows of every column and takes
        seconds.
        """
        table = self.inspection.table
        header = self.view.horizontalHeader()
        cells = self.view.fontMetrics()
        titles = header.fontMetrics()
        for column, name in enumerate(self.model.columns):
            values = table[name]
            step = max(1, len(values) // _SIZE_SAMPLE)
            sample = [*values[:_SIZE_SAMPLE], *values[::step]]
            if values.dtype.kind in "iuf" and len(values):
                pick = values[np.isfinite(values)] if values.dtype.kind == "f" else values
                if pick.size:
                    sample += [pick.min(), pick.max()]
                    small = pick[pick != 0]
                    if small.size:
                        sample.append(small[np.argmin(np.abs(small))])
            text = max((cells.horizontalAdvance(format_cell(v)) for v in sample), default=0)
            title = max(titles.horizontalAdvance(line)
                        for line in self.model.headerData(column, Qt.Horizontal).split("\n"))
            width = max(text + 14, title + 26)            # room for the sort arrow
            header.resizeSection(column, min(max(width, 40), 220))

    def _show_names(self):
        """The name and label columns only when the stack has them (a folder, a tree)."""
        table = self.inspection.table
        for name in ("name", "label"):
            empty = table is None or not np.any(np.char.str_len(table[name]) > 0)
            self.view.setColumnHidden(self.model.column_of(name), bool(empty))

    def select_image(self, index, scroll=True):
        """Select the row of image ``index`` (none if filtered out); ``scroll``: into view."""
        row = self.inspection.row_of(index) if self.inspection.table is not None else -1
        selection = self.view.selectionModel()
        self._syncing = True
        try:
            if row < 0:
                selection.clearSelection()
                return
            cell = self.model.index(row, max(self.view.currentIndex().column(), 0))
            if selection.currentIndex().row() != row or not selection.isRowSelected(row):
                selection.setCurrentIndex(cell, QItemSelectionModel.ClearAndSelect |
                                          QItemSelectionModel.Rows)
            if scroll:
                self.view.scrollTo(cell, QAbstractItemView.EnsureVisible)
        finally:
            self._syncing = False

    def _on_current_row(self, current, _previous):
        if self._syncing or not current.isValid():
            return
        image = self.model.image_at(current.row())
        if not self.inspection.show_set(image):
            self.inspection.clear_focus()
        self.state.set_index(image)

    def _on_selection(self, *_):
        rows = self.inspection.rows
        picked = [rows[r.top():r.bottom() + 1] for r in self.view.selectionModel().selection()]
        self.inspection.set_selected(np.concatenate(picked) if picked else [])

    def sizeHint(self):
        """Qt: the preferred size, that of the histograms it shares the dock with."""
        return QSize(700, 290)          # as the histograms it shares the dock with

    # ------------------------------------------------------------------ export
    def open_export_dialog(self):
        """Show the dialog that writes the table as CSV (non-blocking); None without a table."""
        from ..stats_export import StatsExportDialog
        if self.inspection.table is None:
            self.context.notify("No statistics yet: show the Statistics table and wait for "
                                "them")
            return None
        if self.export_dialog is None or not self.export_dialog.isVisible():
            self.export_dialog = StatsExportDialog(self.inspection, self.context.preferences,
                                                   self.window())
            self.export_dialog.exported.connect(
                lambda path: self.context.notify(f"Statistics written to {path}", 60000))
            self.export_dialog.noted.connect(lambda text: self.context.notify(text, 60000))
            self.export_dialog.finished.connect(self._on_export_closed)
            self.export_dialog.open()
        self.export_dialog.raise_()
        return self.export_dialog

    def _on_export_closed(self, _result):
        dialog, self.export_dialog = self.export_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def shutdown(self, timeout_ms=None):
        """Wait for a CSV being written (the window is closing)."""
        if self.export_dialog is not None:
            return self.export_dialog.shutdown()
        return True
