"""The column histogram panel: how one statistic is spread over the stack, and brushing.

A histogram of any numeric column of the statistics (the mean brightness of
1800 images, say): grey for every image, blue for the images the table's
filter lets through, an orange line at the current image's value.  Dragging
across the plot with the left button brushes a range
(:class:`pyqtgraph.LinearRegionItem`): the table and the grid then show only
the images inside it; the range can be moved and resized, and a double
click, Escape or "Clear" removes it.  For a folder tree, "by label" draws
one outline per label (the :data:`LABEL_COLOURS` of the most frequent
labels, the others together), to compare how a statistic is spread in
each folder.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QSize, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QKeySequence
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QShortcut,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.stats import COLUMNS
from ...core.words import count
from ..image_views import BACKGROUND
from ..inspection import NUMERIC_COLUMNS, want_while_shown
from ..label_filter import label_text
from .stats_table import format_cell

__all__ = ["ColumnHistogramPanel", "BrushViewBox", "column_bins", "MAX_BARS", "LABEL_COLOURS"]

#: Outline colours of the labels drawn one by one (the most frequent first); the
#: labels beyond them are drawn together, in :data:`_OTHER_LABELS`.
LABEL_COLOURS = ("#f28b82", "#fdd663", "#81c995", "#78d9ec", "#c58af9", "#ff8bcb", "#fcad70",
                 "#a7ffeb")
_OTHER_LABELS = "#dadce0"

MAX_BARS = 200
_ALL = "#80868b"
_SHOWN = "#6fa8dc"
_CURRENT = "#f6b26b"
_TEXT = "#e8eaed"
_BRUSH_INTERVAL_MS = 40


def column_bins(values, integer=False):
    """Bin edges for a histogram of ``values`` (their finite part), or None if none.

    Integers with a small range get one bin per value; otherwise NumPy's
    ``"auto"`` rule, between 10 and :data:`MAX_BARS` equal bins.
    """
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size == 0:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    if integer and hi - lo <= MAX_BARS:
        return np.arange(lo - 0.5, hi + 1.5)
    if lo == hi:
        return np.array([lo - 0.5, hi + 0.5])
    n = len(np.histogram_bin_edges(finite, bins="auto")) - 1
    return np.linspace(lo, hi, int(np.clip(n, 10, MAX_BARS)) + 1)


class BrushViewBox(pg.ViewBox):
    """A view box where a left drag brushes a range of x (other buttons as usual).

    Signals
    -------
    brushed(float, float, bool)
        The range dragged so far, and whether the drag is over.
    cleared()
        A double click: remove the brush.
    """

    brushed = pyqtSignal(float, float, bool)
    cleared = pyqtSignal()

    def mouseDragEvent(self, ev, axis=None):
        """Qt: a left drag emits :attr:`brushed` with its x range; other drags as usual."""
        if ev.button() != Qt.LeftButton or axis is not None:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        start = self.mapSceneToView(ev.buttonDownScenePos()).x()
        end = self.mapSceneToView(ev.scenePos()).x()
        self.brushed.emit(min(start, end), max(start, end), ev.isFinish())

    def mouseClickEvent(self, ev):
        """Qt: a left double click emits :attr:`cleared`; other clicks as usual."""
        if ev.button() == Qt.LeftButton and ev.double():
            ev.accept()
            self.cleared.emit()
            return
        super().mouseClickEvent(ev)


class ColumnHistogramPanel(QWidget):
    """A histogram of one statistic over the stack, with a brush that filters the rows.

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` and ``inspection`` are used.

    Attributes
    ----------
    column_combo : QComboBox
        The column shown.
    log_check : QCheckBox
        Counts on a logarithmic scale (single odd images stay visible).
    plot : pyqtgraph.PlotWidget
    view : BrushViewBox
    region : pyqtgraph.LinearRegionItem
        The brush, shown while there is one on this column.
    all_curve, shown_curve : pyqtgraph.PlotDataItem
        Every image; the images the filter lets through.
    label_check : QCheckBox
        One outline per label (shown for a folder tree only).
    label_curves : list of pyqtgraph.PlotDataItem
        The outlines drawn "by label", in the order of the legend.
    current_line : pyqtgraph.InfiniteLine
        The current image's value.
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = state = context.state
        self.inspection = inspection = context.inspection
        self.column_combo = QComboBox()
        for name in NUMERIC_COLUMNS:
            self.column_combo.addItem(name, name)
        self.column_combo.setCurrentIndex(NUMERIC_COLUMNS.index("mean"))
        self.column_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLength)
        self.column_combo.setMinimumContentsLength(10)
        self.log_check = QCheckBox("log")
        self.log_check.setToolTip("Counts on a logarithmic scale: a bin of one image stays "
                                  "visible beside bins of thousands")
        self.label_check = QCheckBox("by label")
        self.label_check.setToolTip("One outline per label (folder of the tree), coloured, "
                                    "to compare how the column is spread in each")
        self.label_curves = []
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setAutoRaise(True)
        self.clear_button.setToolTip("Clear the brush: show every image again (also: double "
                                     "click, Escape)")

        self.view = BrushViewBox(enableMenu=False)
        self.view.setMouseEnabled(x=True, y=False)
        self.plot = pg.PlotWidget(viewBox=self.view)
        self.plot.setBackground(BACKGROUND)
        self.plot.setAcceptDrops(False)
        item = self.plot.getPlotItem()
        item.hideButtons()
        item.showGrid(x=False, y=True, alpha=0.15)
        font = QFont()
        font.setPointSizeF(8)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.enableAutoSIPrefix(False)
            axis.setTextPen(_TEXT)
            axis.setPen("#5f6368")
            axis.setStyle(tickFont=font, tickTextOffset=3)
        item.setLabel("left", "images", color=_TEXT, size="8pt")
        self.all_curve = pg.PlotDataItem(stepMode="center", fillLevel=0,
                                         brush=pg.mkBrush(QColor(_ALL)), pen=pg.mkPen(_ALL))
        self.shown_curve = pg.PlotDataItem(stepMode="center", fillLevel=0,
                                           brush=pg.mkBrush(QColor(_SHOWN)),
                                           pen=pg.mkPen(_SHOWN))
        self.current_line = pg.InfiniteLine(angle=90, movable=False,
                                            pen=pg.mkPen(_CURRENT, width=2))
        self.region = pg.LinearRegionItem(brush=pg.mkBrush(138, 180, 248, 60),
                                          pen=pg.mkPen("#8ab4f8", width=2))
        self.region.setZValue(10)
        for thing in (self.all_curve, self.shown_curve, self.current_line, self.region):
            item.addItem(thing)
        self.legend = item.addLegend(offset=(-8, 8), labelTextColor=_TEXT, labelTextSize="8pt")
        self.region.hide()
        self.current_line.hide()
        self._edges = None
        self._setting_region = False
        self._pending = None
        self._brush_timer = QTimer(self)
        self._brush_timer.setSingleShot(True)
        self._brush_timer.setInterval(_BRUSH_INTERVAL_MS)
        self._brush_timer.timeout.connect(self._apply_pending)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("Column"))
        bar.addWidget(self.column_combo)
        bar.addWidget(self.log_check)
        bar.addWidget(self.label_check)
        bar.addStretch(1)
        bar.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.plot, 1)

        self.column_combo.currentIndexChanged.connect(self._on_column)
        self.log_check.toggled.connect(lambda _: self.redraw())
        self.label_check.toggled.connect(lambda _: self.redraw())
        inspection.labelChanged.connect(lambda _label: self.redraw())
        self.clear_button.clicked.connect(inspection.clear_brush)
        escape = QShortcut(QKeySequence(Qt.Key_Escape), self, inspection.clear_brush)
        escape.setContext(Qt.WidgetWithChildrenShortcut)     # while the plot has the focus
        self.view.brushed.connect(self._on_dragged)
        self.view.cleared.connect(inspection.clear_brush)
        self.region.sigRegionChanged.connect(self._on_region_moved)
        self.region.sigRegionChangeFinished.connect(self._on_region_done)
        inspection.tableChanged.connect(self.redraw)
        inspection.rowsChanged.connect(self._draw_shown)
        inspection.brushChanged.connect(self._show_brush)
        state.indexChanged.connect(self._draw_current)
        want_while_shown(self, inspection)
        self.redraw()

    # ------------------------------------------------------------------ what is drawn
    @property
    def column(self):
        """The column shown."""
        return self.column_combo.currentData()

    def set_column(self, name):
        """Show column ``name`` (a brush on another column is cleared)."""
        self.column_combo.setCurrentIndex(self.column_combo.findData(name))

    def _on_column(self):
        brush = self.inspection.brush
        if brush is not None and brush[0] != self.column:
            self.inspection.clear_brush()
        self.redraw()

    def _counts(self, mask=None):
        values = np.asarray(self.inspection.table[self.column], np.float64)
        if mask is not None:
            values = values[mask]
        counts, _ = np.histogram(values[np.isfinite(values)], self._edges)
        if self.log_check.isChecked():
            return np.log10(counts + 1.0)
        return counts.astype(np.float64)

    def redraw(self):
        """Draw the column's histogram for the current table (empty without one)."""
        table = self.inspection.table
        item = self.plot.getPlotItem()
        self.label_check.setVisible(bool(self.inspection.label_counts()))
        if table is None:
            self._edges = None
            self.all_curve.setData([], [])
            self.shown_curve.setData([], [])
            self._draw_labels()
            self.current_line.hide()
            self._title("no statistics yet")
            self._show_brush(self.inspection.brush)
            return
        values = np.asarray(table[self.column])
        self._edges = column_bins(values, COLUMNS[self.column][0] == "int64")
        if self._edges is None:
            self.all_curve.setData([], [])
            self.shown_curve.setData([], [])
        else:
            self.all_curve.setData(self._edges, self._counts(), stepMode="center",
                                   fillLevel=0)
            self._set_count_ticks()
        self._draw_labels()
        item.setLabel("bottom", self.column, color=_TEXT, size="8pt")
        self._draw_shown()
        self._draw_current(self.state.index)
        self._show_brush(self.inspection.brush)
        self.view.enableAutoRange()

    def label_groups(self):
        """``[(text, mask)]`` drawn "by label": the most frequent labels, then the others.

        Empty unless "by label" is on and the stack has labels.  A label
        chosen in the label filter is drawn alone.
        """
        inspection = self.inspection
        counts = inspection.label_counts()
        if not (self.label_check.isChecked() and counts and inspection.labels is not None):
            return []
        codes = inspection.labels
        chosen = inspection.label
        ranked = sorted(range(len(counts)), key=lambda k: -counts[k][1])
        if chosen is not None:
            ranked = [next(k for k, (label, _) in enumerate(counts) if label == chosen)]
        groups = [(f"{label_text(counts[k][0])} · {counts[k][1]:,}", codes == k)
                  for k in ranked[:len(LABEL_COLOURS)]]
        rest = ranked[len(LABEL_COLOURS):]
        if rest:
            groups.append((f"{len(rest)} other labels · {sum(counts[k][1] for k in rest):,}",
                           np.isin(codes, rest)))
        return groups

    def _draw_labels(self):
        item = self.plot.getPlotItem()
        for curve in self.label_curves:
            item.removeItem(curve)
        self.legend.clear()
        self.label_curves = []
        if self._edges is None:
            return
        for k, (text, mask) in enumerate(self.label_groups()):
            colour = LABEL_COLOURS[k] if k < len(LABEL_COLOURS) else _OTHER_LABELS
            curve = pg.PlotDataItem(self._edges, self._counts(mask), stepMode="center",
                                    pen=pg.mkPen(colour, width=2), name=text)
            curve.setZValue(5)
            item.addItem(curve)
            self.label_curves.append(curve)
        self.legend.setVisible(bool(self.label_curves))

    def _set_count_ticks(self):
        axis = self.plot.getPlotItem().getAxis("left")
        if not self.log_check.isChecked():
            axis.setTicks(None)
            return
        total = self.inspection.table.n_images
        ticks = [(np.log10(v + 1.0), f"{v:,}") for v in (0, 1, 10, 100, 1000, 10_000, 100_000,
                                                         1_000_000) if v <= max(total, 1)]
        axis.setTicks([ticks, []])

    def _draw_shown(self):
        """The blue part: the images the filter lets through (the brush is the region)."""
        if self.inspection.table is None or self._edges is None:
            self.shown_curve.setData([], [])
            return
        mask = self.inspection.filter_mask()
        if mask is None:
            self.shown_curve.setData([], [])
        else:
            self.shown_curve.setData(self._edges, self._counts(mask), stepMode="center",
                                     fillLevel=0)
        self._show_info()

    def _show_info(self):
        inspection = self.inspection
        table = inspection.table
        if table is None:
            return
        values = np.asarray(table[self.column], np.float64)
        missing = int(np.count_nonzero(~np.isfinite(values)))
        text = f"{self.column} of {count(table.n_images, 'image')}"
        if inspection.filter_mask() is not None:
            text += f" · blue: {inspection.describe_filter()}"
        if inspection.brush is not None:
            text += f" · {len(inspection.rows):,} shown"
        if missing:
            text += f" · {missing:,} without a value"
        self._title(text)

    def _title(self, text):
        self.plot.getPlotItem().setTitle(text, color=_TEXT, size="9pt")

    def title(self):
        """The text above the plot: images, what is blue, how many are shown."""
        return self.plot.getPlotItem().titleLabel.text

    def _draw_current(self, index):
        table = self.inspection.table
        if table is None or not 0 <= index < table.n_images:
            self.current_line.hide()
            return
        value = float(table[self.column][index])
        self.current_line.setVisible(bool(np.isfinite(value)))
        if np.isfinite(value):
            self.current_line.setValue(value)
            self.current_line.setToolTip(f"image {index}: {self.column} = {format_cell(value)}")

    # ------------------------------------------------------------------ brushing
    def _show_brush(self, brush):
        shown = brush is not None and brush[0] == self.column and self._edges is not None
        # enabled, never shown or hidden: the dock must not change width under a drag
        self.clear_button.setEnabled(brush is not None)
        self.region.setVisible(shown)
        if shown:
            self._setting_region = True
            try:
                self.region.setRegion((brush[1], brush[2]))
            finally:
                self._setting_region = False
        self._show_info()

    def _on_dragged(self, lo, hi, finished):
        if self.inspection.table is None or self._edges is None:
            return
        self._setting_region = True
        try:
            self.region.setRegion((lo, hi))
            self.region.show()
        finally:
            self._setting_region = False
        self._queue_brush(lo, hi, finished)

    def _on_region_moved(self):
        if not self._setting_region:
            self._queue_brush(*self.region.getRegion(), False)

    def _on_region_done(self):
        if not self._setting_region:
            self._queue_brush(*self.region.getRegion(), True)

    def _queue_brush(self, lo, hi, now):
        """Apply the brush at most every few tens of ms while dragging, and at the end."""
        self._pending = (lo, hi)
        if now:
            self._brush_timer.stop()
            self._apply_pending()
        elif not self._brush_timer.isActive():
            self._brush_timer.start()

    def _apply_pending(self):
        if self._pending is None:
            return
        lo, hi = self._pending
        self._pending = None
        self.inspection.set_brush(self.column, lo, hi)

    def brush(self, lo, hi):
        """Brush ``[lo, hi]`` of the column shown (as a drag does)."""
        self.inspection.set_brush(self.column, lo, hi)


    def sizeHint(self):
        """Qt: the preferred size, about the transfer curve's (they share the right dock)."""
        return QSize(380, 420)          # as the transfer curve it shares the dock with
