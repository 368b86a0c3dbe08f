"""The Statistics dock widget: ``image_stats`` of a layer's stack as a sortable table.

One row per image of the layer's stack (its leading axes, in C order), every
column of :func:`~histeq_gui.image_stats` (CleanVision's dark, light and
low-information flags, constant and duplicate images, the statistics, what
equalization with the viewer's shared setting does), shown as the viewer's
table shows them (:mod:`histeq_gui.gui.stats_format`); a raised flag is a
coloured cell whose tooltip names the threshold.  Clicking a column header
sorts (ties keep the image order, NaN last); clicking a row moves napari's
dims slider to that image.  The statistics are computed in a thread worker
with napari's progress bar and a Cancel button: at once for a layer in
memory, on "Compute" for a lazy (Dask) layer, which is read whole for them.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..core.engine.stages import stage_in_thread
from ..core.stats import COLUMNS, THRESHOLDS, image_stats
from ..gui.stats_format import TABLE_ORDER, format_cell, header_label, telling_flags
from .connections import Connections
from .jobs import Job
from .layer_picker import LayerPicker
from .layers import is_lazy, is_preview, layer_layout, layer_reader, show_image
from .session import session_for

__all__ = ["StatsWidget", "StatsModel", "sort_order", "FLAG_COLOUR"]

FLAG_COLOUR = "#f6b26b"
_FLAG_TEXT = "#202124"


def sort_order(values: np.ndarray, descending: bool = False) -> np.ndarray:
    """Row order sorting ``values``: stable (ties keep the image order), NaN last either way.

    Examples
    --------
    >>> sort_order(np.array([2.0, np.nan, 1.0, 2.0])).tolist()
    [2, 0, 3, 1]
    >>> sort_order(np.array([2.0, np.nan, 1.0, 2.0]), descending=True).tolist()
    [0, 3, 2, 1]
    """
    values = np.asarray(values)
    missing = np.isnan(values) if values.dtype.kind == "f" else np.zeros(len(values), bool)
    if descending:
        if values.dtype.kind in "fiub":
            key = -np.where(missing, 0, values.astype(np.float64))
        else:                                   # text: rank, then reverse the ranks
            key = -np.unique(values, return_inverse=True)[1]
    else:
        key = np.where(missing, 0, values) if values.dtype.kind == "f" else values
    return np.lexsort((np.arange(len(values)), key, missing))


class StatsModel(QAbstractTableModel):
    """A :class:`~histeq_gui.core.stats.StatsTable` as a Qt table: cells read from its columns."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.table = None
        self.rows = np.zeros(0, np.int64)
        self.columns = list(TABLE_ORDER)

    def set_table(self, table) -> None:
        """Show ``table`` (None: empty), rows in image order."""
        self.beginResetModel()
        self.table = table
        self.rows = np.arange(0 if table is None else len(table["index"]))
        self.endResetModel()

    def image_at(self, row: int) -> int:
        """The image shown in ``row``."""
        return int(self.rows[row])

    def rowCount(self, parent=QModelIndex()):  # noqa: B008 (Qt's own signature)
        """Qt: number of rows, one per image of the table."""
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: B008
        """Qt: number of columns, one per statistic."""
        return 0 if parent.isValid() else len(self.columns)

    def flagged(self, name: str, image: int) -> str | None:
        """The flag column that colours cell ``name`` of ``image``, or None.

        A flag (``is_dark``) colours itself and its score (``dark_score``).
        """
        flag = f"is_{name[:-len('_score')]}" if name.endswith("_score") else name
        if flag.startswith("is_") and flag in self.table and bool(self.table[flag][image]):
            return flag
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        """Qt: a cell's text, flag colours, or tooltip (the statistic, and why it is flagged)."""
        if not index.isValid() or self.table is None:
            return None
        image = int(self.rows[index.row()])
        name = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return format_cell(self.table[name][image])
        flag = self.flagged(name, image)
        if role == Qt.ItemDataRole.BackgroundRole and flag is not None:
            return QColor(FLAG_COLOUR)
        if role == Qt.ItemDataRole.ForegroundRole and flag is not None:
            return QColor(_FLAG_TEXT)
        if role == Qt.ItemDataRole.ToolTipRole:
            text = f"image {image} · {name}: {COLUMNS[name][1]}"
            threshold = THRESHOLDS.get((flag or "")[3:])
            if threshold is not None:
                score = flag[3:] + "_score"
                text += (f"\nflagged: {score} = {format_cell(self.table[score][image])} < "
                         f"{threshold} (CleanVision's default threshold)")
            return text
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        """Qt: a column's label and its meaning as a tooltip; a row's number."""
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return header_label(self.columns[section])
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{self.columns[section]}: {COLUMNS[self.columns[section]][1]}"
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return str(section)
        return None

    def sort(self, column, order=Qt.SortOrder.AscendingOrder):
        """Sort the rows by ``column`` (the view's header calls this)."""
        if self.table is None or not 0 <= column < len(self.columns):
            return
        self.layoutAboutToBeChanged.emit()
        self.rows = sort_order(self.table[self.columns[column]],
                               order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()


class StatsWidget(QWidget):
    """The Statistics dock widget (see the module docstring).

    Parameters
    ----------
    napari_viewer : napari.Viewer

    Attributes
    ----------
    picker : LayerPicker
    model : StatsModel
    view : QTableView
    compute_button, cancel_button : QPushButton
    status : QLabel
    """

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.picker = LayerPicker(napari_viewer, skip=is_preview)
        self.model = StatsModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicatorShown(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().setVisible(False)
        self.view.setMinimumWidth(420)
        self.compute_button = QPushButton("Compute")
        self.compute_button.setToolTip("Describe every image of the layer with the current "
                                       "setting (read whole for a lazy layer)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        top = QFormLayout()
        top.addRow("Layer", self.picker)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compute_button, 1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)

        self.job = Job(self._computed, self._failed, "Image statistics",
                       cancelled=self._cancelled)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._auto)
        self._of = None
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button.clicked.connect(self.job.cancel)
        self.view.clicked.connect(self._row_clicked)
        self.picker.layerChanged.connect(self._layer_changed)
        self.session.setting.changed.connect(self._timer.start)
        self.connections = Connections(self, lambda: self.job.cancel(quietly=True))
        self._layer_changed(self.picker.layer())

    def say(self, text: str) -> None:
        """Show ``text`` (one line) under the table; "" clears it."""
        self.status.setText(text)

    def _layer_changed(self, layer):
        self.model.set_table(None)
        self._timer.start()

    def _auto(self):
        layer = self.picker.layer()
        if layer is None:
            self.model.set_table(None)
            self.say("No image layer")
        elif is_lazy(layer.data):
            self.say("A lazy layer: its statistics read the whole stack; press Compute")
        else:
            self.compute()

    def compute(self) -> None:
        """Compute the statistics of the picked layer with the shared setting, in the background."""
        layer = self.picker.layer()
        if layer is None:
            return
        s = self.session.setting
        try:
            layout = layer_layout(layer.data, bool(layer.rgb))
        except ValueError as exc:
            self.say(str(exc))
            return
        reader = layer_reader(layer.data)

        def describe(progress):
            return image_stats(reader, s.method, s.bins, s.scope, layout.channel_axis,
                               progress=progress, **s.params)

        self._of = layer
        self.job.start(stage_in_thread("statistics", describe))
        self.compute_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.say(f"Describing {layer.name}…")

    def _idle(self):
        self.compute_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _computed(self, table):
        self._idle()
        self.model.set_table(table)
        for column in ("name", "label"):          # only for a folder (tree) of files
            named = bool(np.any(np.char.str_len(np.asarray(table[column], str)) > 0))
            self.view.setColumnHidden(self.model.columns.index(column), not named)
        self.view.resizeColumnsToContents()
        header = self.view.horizontalHeader()
        if header.sortIndicatorSection() >= 0:
            self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        telling = list(telling_flags(table).values())    # as the viewer counts them
        flagged = int(np.count_nonzero(np.any(telling, axis=0))) if telling else 0
        self.say(f"{len(table['index'])} images of {self._of.name}, {flagged} flagged "
                 f"({self.session.setting.method}, {self.session.setting.bins} bins)")

    def _failed(self, text):
        self._idle()
        self.say(text)

    def _cancelled(self):
        self._idle()
        self.say("Cancelled")

    def _row_clicked(self, index):
        if self._of is not None and self._of in self.viewer.layers:
            show_image(self.viewer.dims, self._of, self.model.image_at(index.row()))

    def closeEvent(self, event):
        """Qt: end the napari connections and cancel the statistics job."""
        self.connections.close()
        super().closeEvent(event)
