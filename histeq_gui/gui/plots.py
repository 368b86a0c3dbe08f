"""Histogram + CDF and transfer-curve plots, drawn from the core's arrays.

Nothing here computes a histogram: the bins are ``Histogram.counts`` over
``Histogram.edges`` and the CDF is ``Histogram.cdf`` at ``Histogram.cdf_x``,
exactly what the method maps with (pyqtgraph's subsampled ``getHistogram`` is
never used).  A histogram of more than :data:`MAX_BARS` bins (scikit-image
gives one per distinct value of a wide-range integer image: millions) is kept
as ``Histogram.coarsened(MAX_BARS)``, the core's merge of adjacent bins.

What is drawn is that histogram at screen resolution
(:func:`histeq_gui.core.display.drawn_histogram`): bins narrower than a
screen pixel give each pixel column the largest count among them; with linear
counts a non-empty bin is at least :data:`MIN_BAR_PX` pixels high; and every
non-empty column also fills a strip :data:`RUG_PX` pixels high under the
count axis' zero, where the CDF never runs.  So every non-empty bin stays
visible at any bin count, zoom and plot size, even where the CDF line lies
over it.  The drawing follows the plot's width, height and x range.

Each plot has a small menu (the "⋮" button in its corner) to save it as PNG
or SVG and its drawn data as CSV (:mod:`.figure_export`); panels add their
own entries to it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt.QtCore import QPoint, Qt, Signal
from pyqtgraph.Qt.QtGui import QColor, QFont
from pyqtgraph.Qt.QtWidgets import QLabel, QMenu, QToolButton

from ..core.display import drawn_histogram
from .image_views import BACKGROUND

__all__ = ["HistogramPlot", "TransferPlot", "CountAxis", "channel_colours", "bins_text",
           "compact_counts", "MAX_BARS", "MIN_BAR_PX", "RUG_PX", "LOG_BASELINE"]

MAX_BARS = 4096     # bins kept per histogram at the most (the largest bin count one can pick)
MIN_BAR_PX = 2      # a non-empty bin is drawn at least this many pixels high (linear counts)
RUG_PX = 4          # the strip under the zero line where every non-empty bin shows
LOG_BASELINE = -0.3  # log10 counts: where the bars start (a count of 1 is 0.3 decades high)
_CDF_GAP_PX = 2     # the CDF's 0 sits this far above the count axis' zero

_GRAY = ("#6fa8dc",)
_RGB = ("#e06666", "#6aa84f", "#5b8def", "#b7b7b7")
_GRAY_ALPHA = ("#6fa8dc", "#b7b7b7")
CDF_COLOUR = "#f6b26b"
MARK_COLOUR = "#ffffff"
_TEXT = "#e8eaed"
_CHANNEL_NAMES = {1: ("",), 2: ("gray ", "alpha "), 3: ("red ", "green ", "blue "),
                  4: ("red ", "green ", "blue ", "alpha ")}


def channel_colours(n_channels):
    """Bar colours: blue for gray, red/green/blue for colour, grey for an alpha channel."""
    return {1: _GRAY, 2: _GRAY_ALPHA}.get(n_channels, _RGB[:n_channels])


def channel_names(n_channels):
    """Prefixes naming each channel ("" for gray, "red ", ...)."""
    return _CHANNEL_NAMES.get(n_channels, tuple(f"channel {c} " for c in range(n_channels)))


def bins_text(histogram, drawn=False):
    """How many bins ``histogram`` has ("256 bins", "4,190,000 value bins").

    With ``drawn``, also how many bars draw them when that is fewer
    ("4,190,000 value bins, drawn as 4096 bars").
    """
    n = len(histogram.counts)
    text = f"{n:,} value bins" if histogram.value_bins else f"{n} bins"
    if drawn:
        bars = len(histogram.coarsened(MAX_BARS).counts)
        if bars < n:
            text += f", drawn as {bars} bars"
    return text


def _cdf_colour(n_channels, channel):
    return CDF_COLOUR if n_channels == 1 else channel_colours(n_channels)[channel]


def _style(plot, title):
    plot.setBackground(BACKGROUND)
    plot.setAcceptDrops(False)
    item = plot.getPlotItem()
    item.setTitle(title, color=plot.text_colour, size="9pt")
    item.setMenuEnabled(False)
    item.hideButtons()
    item.setMouseEnabled(x=True, y=False)
    item.showGrid(x=False, y=True, alpha=0.15)
    font = QFont()
    font.setPointSizeF(8)
    for name in ("left", "bottom", "right"):
        axis = item.getAxis(name)
        axis.enableAutoSIPrefix(False)      # no "(x0.001)" beside a title
        axis.setTextPen(plot.text_colour)
        axis.setPen("#80868b")
        axis.setStyle(tickFont=font, tickTextOffset=3)
        axis.label.setFont(font)
    return item


def _set_title(item, title, colour=_TEXT):
    """Set a plot's title without letting its length widen the plot (it is elided instead)."""
    item.setTitle(title, color=colour, size="9pt")
    item.titleLabel.setMinimumWidth(0)
    item.titleLabel.setToolTip(title)


def compact_counts(values):
    """Pixel counts in at most 5 characters each, in one unit for all: 950, 9500, 12k, 1.25M.

    The unit (none, k, M, G) comes from the largest value, so the ticks of
    one axis read alike ("5k, 10k, 15k", not "5000, 10k, 15k").

    Examples
    --------
    >>> compact_counts([0, 5000, 10000, 15000])
    ['0', '5k', '10k', '15k']
    >>> compact_counts([0, 1250000, 2500000])
    ['0', '1.25M', '2.5M']
    >>> compact_counts([100000, 250000, 300000])
    ['100k', '250k', '300k']
    """
    values = [float(v) for v in values]
    top = max((abs(v) for v in values), default=0.0)
    for limit, unit, divisor in ((1e4, "", 1.0), (1e6, "k", 1e3), (1e9, "M", 1e6)):  # noqa: B007
        if top < limit:
            break
    else:
        unit, divisor = "G", 1e9
    if not unit:
        return [str(int(round(v))) for v in values]
    texts = []
    for v in values:
        scaled = v / divisor
        digits = 2 if abs(scaled) < 10 else (1 if abs(scaled) < 100 else 0)
        text = f"{scaled:.{digits}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        texts.append("0" if text in ("0", "-0") else text + unit)
    return texts


def format_number(value):
    """A value for a readout: whole numbers as they are, others to 4 significant digits."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


class CountAxis(pg.AxisItem):
    """An axis of pixel counts: whole-number ticks only, short labels, no SI prefix.

    (pyqtgraph would put ticks at 0.5 for an image of a few pixels, and a
    six-digit count would run into the axis title.)  With :attr:`log_counts`
    the values are log10 of the counts: ticks at whole decades, labelled as
    counts (1, 10, 100, 1k).
    """

    def __init__(self, orientation="left", **kwargs):
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self.log_counts = False

    def tickSpacing(self, minVal, maxVal, size):
        """The spacings pyqtgraph picks, at least 1 (no tick between whole counts or decades)."""
        levels = []
        for spacing, offset in super().tickSpacing(minVal, maxVal, size):
            level = (max(float(spacing), 1.0), offset)
            if level not in levels:
                levels.append(level)
        return levels

    def tickValues(self, minVal, maxVal, size):
        """The ticks, whole numbers from 0 up (whole decades from 1 with log counts)."""
        return [(spacing, [v for v in values if float(v).is_integer() and v >= 0])
                for spacing, values in super().tickValues(minVal, maxVal, size)]

    def tickStrings(self, values, scale, spacing):
        """Counts as :func:`compact_counts` writes them."""
        if self.log_counts:
            return compact_counts([10.0 ** (v * scale) for v in values])
        return compact_counts([v * scale for v in values])


class _OverlayBox(pg.ViewBox):
    """A ViewBox drawn over a plot that leaves every mouse event to the plot below."""

    def __init__(self):
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=False, y=False)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    def wheelEvent(self, event, axis=None):
        event.ignore()


class _PlotWidget(pg.PlotWidget):
    """A styled plot with a "⋮" menu button in its top-right corner and a readout label.

    Attributes
    ----------
    menu : QMenu
        The plot's menu: Save as PNG/SVG, data as CSV; panels add entries.
    readout : QLabel
        A note over the plot's top-left corner (what is under the mouse).
    save_folder : callable or None
        Gives the folder the Save dialogs start in (panels set it from the
        preferences); None: the current folder.
    """

    def __init__(self, parent=None, **kwargs):
        super().__init__(parent, **kwargs)
        self.menu = QMenu(self)
        self.menu_button = QToolButton(self)
        self.menu_button.setText("⋮")
        self.menu_button.setToolTip("Save this plot (PNG, SVG) or its data (CSV), and its "
                                    "options")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setMenu(self.menu)
        self.menu_button.setAutoRaise(True)
        self.menu_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.menu_button.setStyleSheet(
            "QToolButton { color: #e8eaed; font-weight: bold; padding: 0 4px; border: none; }"
            "QToolButton::menu-indicator { image: none; width: 0; }"
            "QToolButton:hover { background: #3c4043; }")
        self.readout = QLabel(self)
        self.readout.setStyleSheet("background: rgba(32, 33, 36, 215); color: #e8eaed; "
                                   "border: 1px solid #5f6368; padding: 2px 4px;")
        self.readout.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.readout.hide()
        self.save_folder = None     # a callable giving the folder Save… starts in (default: cwd)
        self.text_colour = _TEXT
        from .figure_export import add_save_actions
        add_save_actions(self.menu, self, lambda: self.save_folder() if self.save_folder
                         else None)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if "menu_button" not in self.__dict__:      # pyqtgraph resizes during __init__
            return
        self.menu_button.adjustSize()
        self.menu_button.move(self.width() - self.menu_button.width() - 2, 2)
        self._place_readout()

    def _place_readout(self):
        item = self.getPlotItem()
        if item is None:                              # being closed
            return
        rect = item.vb.sceneBoundingRect()
        top_left = self.mapFromScene(rect.topLeft())
        self.readout.move(top_left + QPoint(4, 4))

    def show_readout(self, text):
        """Show ``text`` (rich text) over the plot; "" hides it."""
        if not text:
            self.readout.hide()
            return
        self.readout.setText(text)
        self.readout.adjustSize()
        self._place_readout()
        self.readout.show()
        self.readout.raise_()

    def set_theme(self, background, text):
        """Draw on ``background`` with ``text`` for the title, ticks and axis titles.

        For a host with its own theme (napari); the data's colours stay.
        """
        self.text_colour = text
        self.setBackground(background)
        item = self.getPlotItem()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setTextPen(text)
            if axis.labelText:
                item.setLabel(name, axis.labelText, color=text)
        item.getAxis("right").setTextPen(text)
        _set_title(item, item.titleLabel.text, text)

    def export_item(self):
        """The item the exporters save (the plot with everything drawn in it)."""
        return self.getPlotItem()

    def csv_items(self):
        """The data items a CSV export holds, in order."""
        return [item for item in self.getPlotItem().items
                if hasattr(item, "implements") and item.implements("plotData")]

    def title(self):
        """The plot title as shown."""
        return self.getPlotItem().titleLabel.text


class HistogramPlot(_PlotWidget):
    """Histogram bars (left axis: pixels) with the CDF over them (right axis: 0..1).

    The CDF lives in a second ViewBox, a child of the plot (so it is saved
    with it), that shares the plot's x axis.  The histograms are given in
    their own x units with a map to the axis' units (``shown = x * scale +
    offset``): the equalized histogram is kept in [0, 1] (or in output
    levels) and shown in the export's scale.

    Signals
    -------
    hovered(object)
        The x value (in the histogram's own units) under the mouse, or None
        when the mouse leaves the plot.
    """

    hovered = Signal(object)

    def __init__(self, title="Histogram", parent=None):
        super().__init__(parent, axisItems={"left": CountAxis("left")})
        self._title = title
        item = _style(self, title)
        item.setLabel("left", "pixels", color=self.text_colour)
        item.showAxis("right")
        item.setLabel("right", "CDF", color=CDF_COLOUR)
        item.getAxis("left").setWidth(60)
        item.getAxis("right").setWidth(44)
        self.cdf_box = _OverlayBox()
        self.cdf_box.setParentItem(item)
        self.cdf_box.setZValue(item.vb.zValue() + 1)      # the CDF over the bars
        item.getAxis("right").linkToView(self.cdf_box)
        self.cdf_box.setXLink(item)
        self.cdf_box.enableAutoRange(enable=False)
        item.vb.sigResized.connect(self._sync_cdf_box)
        item.vb.enableAutoRange(enable=False)
        item.vb.sigXRangeChanged.connect(self._redraw)
        item.vb.sigResized.connect(self._apply_y_range)
        self._bars = []
        self._cdfs = []
        self._hists = []
        self._columns = {}
        self._full = []
        self._x_map = (1.0, 0.0)
        self._log = False
        self._top = None
        self._own_top = 1
        self._mark_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(MARK_COLOUR, width=1,
                                                                 style=Qt.PenStyle.DashLine))
        self._mark_line.setZValue(20)
        self._mark_line.hide()
        item.addItem(self._mark_line, ignoreBounds=True)
        self._mark_dots = pg.ScatterPlotItem(size=8, pen=pg.mkPen(MARK_COLOUR),
                                             brush=pg.mkBrush(CDF_COLOUR))
        self._mark_dots.setZValue(20)
        self.cdf_box.addItem(self._mark_dots)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # ------------------------------------------------------------------ layout
    def _sync_cdf_box(self):
        vb = self.getPlotItem().vb
        self.cdf_box.setGeometry(vb.geometry())
        self.cdf_box.linkedViewChanged(vb, self.cdf_box.XAxis)

    def _ensure_items(self, n):
        item = self.getPlotItem()
        names = channel_names(n)
        while len(self._bars) < n:
            bars = pg.PlotDataItem(stepMode="center", fillLevel=0)
            item.addItem(bars)
            self._bars.append(bars)
            cdf = pg.PlotDataItem()
            self.cdf_box.addItem(cdf)
            self._cdfs.append(cdf)
        while len(self._bars) > n:
            item.removeItem(self._bars.pop())
            self.cdf_box.removeItem(self._cdfs.pop())
        for c in range(n):
            self._bars[c].opts["name"] = f"{names[c]}pixels".strip()
            self._cdfs[c].opts["name"] = f"{names[c]}CDF".strip()

    # ------------------------------------------------------------------ data
    def set_histograms(self, histograms, x_range, title=None, x_map=(1.0, 0.0), x_label=None):
        """Draw one histogram per channel (kept coarsened to at most MAX_BARS bins).

        Parameters
        ----------
        histograms : sequence of Histogram
        x_range : tuple of float
            The x axis' range, in its own (shown) units.
        title : str, optional
        x_map : tuple of float, optional
            ``(scale, offset)``: a histogram's x value ``v`` is shown at
            ``v * scale + offset``.
        x_label : str, optional
            The x axis' title (its units).
        """
        self._hists = [h.coarsened(MAX_BARS) for h in histograms]
        self._full = list(histograms)
        self._x_map = (float(x_map[0]), float(x_map[1]))
        n = len(self._hists)
        self._ensure_items(n)
        scale, offset = self._x_map
        top = 1
        for c, (h, cdf) in enumerate(zip(self._hists, self._cdfs)):
            cdf.setData(h.cdf_x * scale + offset, _cumulative(h),
                        pen=pg.mkPen(_cdf_colour(n, c), width=2))
            if len(h.counts):
                top = max(top, int(h.counts.max()))
        self._own_top = top
        item = self.getPlotItem()
        if x_label is not None:
            item.setLabel("bottom", x_label, color=self.text_colour)
        if title is not None:
            _set_title(item, title, self.text_colour)
        self.mark(None)
        self._sync_cdf_box()
        item.setXRange(*x_range, padding=0.01)
        self._apply_y_range()

    def set_log(self, on):
        """Counts on a log10 scale (every bin of one pixel still shows)."""
        on = bool(on)
        if on != self._log:
            self._log = on
            axis = self.getPlotItem().getAxis("left")
            axis.log_counts = on
            self.getPlotItem().setLabel("left", "pixels (log)" if on else "pixels",
                                        color=self.text_colour)
            self._apply_y_range()
            axis.picture = None
            axis.update()

    @property
    def log_counts(self):
        """True when the counts are on a log scale."""
        return self._log

    @property
    def own_top(self):
        """The largest count of the histograms shown (at least 1)."""
        return self._own_top

    def set_top(self, top):
        """Make the count axis reach ``top`` (to match another plot); None: its own largest."""
        self._top = None if top is None else max(1, int(top))
        self._apply_y_range()

    def baseline(self):
        """The count axis' zero in its own units (0, or :data:`LOG_BASELINE` with log counts)."""
        return LOG_BASELINE if self._log else 0.0

    def _apply_y_range(self, *_):
        """Counts from the rug under zero to the top; the CDF from just above zero to 1."""
        top = self._top or self._own_top
        base = self.baseline()
        high = (max(np.log10(top), 0.5) if self._log else top)
        high = base + (high - base) * 1.03
        item = self.getPlotItem()
        height = max(float(item.vb.height()), 4.0 * (RUG_PX + _CDF_GAP_PX))
        below = RUG_PX + 1                                  # pixels under the zero line
        per_px = (high - base) / (height - below)
        item.setYRange(base - below * per_px, high, padding=0)
        cdf_px = 1.0 / (height * 0.97 - below - _CDF_GAP_PX)  # CDF units per pixel
        low = -(below + _CDF_GAP_PX) * cdf_px
        self.cdf_box.setYRange(low, low + height * cdf_px, padding=0)
        self._redraw()

    def _redraw(self, *_):
        """Draw the kept histograms at the plot's current width, x range and scale."""
        if not self._bars:
            return
        vb = self.getPlotItem().vb
        (x0, x1), (y0, y1) = vb.viewRange()
        width = max(1, int(round(vb.width())))
        per_px = (y1 - y0) / max(1.0, vb.height())
        base = self.baseline()
        bottom = base - RUG_PX * per_px                 # the rug's lower edge
        scale, offset = self._x_map
        n = len(self._hists)
        colours = channel_colours(n)
        for c, (h, bars) in enumerate(zip(self._hists, self._bars)):
            shown = h.edges * scale + offset
            if self._log:
                x, counts = drawn_histogram(shown, h.counts, (x0, x1), width)
                heights = np.log10(np.maximum(counts, 1))
            else:
                x, counts = drawn_histogram(shown, h.counts, (x0, x1), width,
                                            MIN_BAR_PX * per_px)
                heights = counts
            self._columns[c] = (x, counts)
            heights = np.where(counts > 0, heights, bottom)
            fill = QColor(colours[c])
            fill.setAlpha(210 if n == 1 else 120)
            bars.setData(x, heights, stepMode="center", fillLevel=bottom, brush=fill, pen=None,
                         antialias=False)

    # ------------------------------------------------------------------ what is shown
    def bar_count(self):
        """Number of bins of the first channel's histogram (0 when empty)."""
        return len(self._hists[0].counts) if self._hists else 0

    def bars(self, channel=0):
        """``(edges, counts)`` of the histogram shown for ``channel`` (its own x units)."""
        h = self._hists[channel]
        return h.edges, h.counts

    def drawn(self, channel=0):
        """``(x, heights)`` of the step curve on screen for ``channel`` (axis units).

        Empty columns are at the rug's lower edge, below :meth:`baseline`.
        """
        return self._bars[channel].getOriginalDataset()

    def cdf_curve(self, channel=0):
        """``(x, cdf)`` drawn for ``channel`` (axis units)."""
        return self._cdfs[channel].getOriginalDataset()

    def channel_count(self):
        """Number of channels drawn."""
        return len(self._bars)

    def drawn_counts(self, channel=0):
        """``(x, counts)`` of the screen columns drawn for ``channel``: each column's count.

        The largest count among the bins a column shows (or the bins
        themselves when they are wider than a pixel), before the minimum
        height and the log scale: what a CSV export holds.
        """
        return self._columns[channel]

    def csv_items(self):
        """The screen columns' counts of every channel (before the log scale), then the CDFs."""
        names = channel_names(len(self._hists))
        items = []
        for c in range(len(self._hists)):
            x, counts = self._columns.get(c, (np.zeros(1), np.zeros(0)))
            items.append(pg.PlotDataItem(x, counts, stepMode="center",
                                         name=f"{names[c]}pixels".strip()))
        return items + list(self._cdfs)

    # ------------------------------------------------------------------ marks and hover
    def mark(self, x, points=()):
        """Mark the value ``x`` (own units) with a line and ``(x, y)`` points on the CDF.

        None clears the marks.
        """
        if x is None or not np.isfinite(x):
            self._mark_line.hide()
            self._mark_dots.setData([], [])
            return
        scale, offset = self._x_map
        self._mark_line.setValue(float(x) * scale + offset)
        self._mark_line.show()
        points = [(float(px) * scale + offset, float(py)) for px, py in points
                  if np.isfinite(px) and np.isfinite(py)]
        self._mark_dots.setData([p[0] for p in points], [p[1] for p in points])

    def marked(self):
        """``(x, [(x, y) on the CDF])`` marked (axis units), or None."""
        if not self._mark_line.isVisible():
            return None
        xs, ys = self._mark_dots.getData()
        return self._mark_line.value(), list(zip(np.asarray(xs).tolist(),
                                                 np.asarray(ys).tolist()))

    def value_at(self, scene_pos):
        """The x value (own units) at a scene position inside the plot, or None."""
        vb = self.getPlotItem().vb
        if not self._hists or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        scale, offset = self._x_map
        return (vb.mapSceneToView(scene_pos).x() - offset) / scale

    def readout_text(self, x):
        """What is under the mouse at ``x`` (own units): bin range, count, cumulative fraction."""
        if not self._full:
            return ""
        lines = []
        n = len(self._full)
        names = channel_names(n)
        scale, offset = self._x_map
        for c, h in enumerate(self._full):
            edges = h.edges
            k = int(np.searchsorted(edges, x, side="right")) - 1
            if x == edges[-1]:
                k = len(h.counts) - 1
            if not 0 <= k < len(h.counts):
                lines.append(f"{names[c]}outside the bins")
                continue
            total = int(h.counts.sum())
            cumulative = int(h.counts[:k + 1].sum())
            low, high = edges[k] * scale + offset, edges[k + 1] * scale + offset
            span = (f"value {format_number((low + high) / 2)}" if h.value_bins
                    else f"bin [{format_number(low)}, {format_number(high)})")
            fraction = cumulative / total if total else float("nan")
            lines.append(f"{names[c]}{span}: <b>{int(h.counts[k]):,}</b> px · cumulative "
                         f"{cumulative:,} = {fraction:.4f}")
        return "<br>".join(lines)

    def _on_mouse_moved(self, pos):
        x = self.value_at(pos)
        self.show_readout("" if x is None else self.readout_text(x))
        self.hovered.emit(x)

    def leaveEvent(self, event):
        """Qt: hide the readout and emit :attr:`hovered` with None."""
        super().leaveEvent(event)
        self.show_readout("")
        self.hovered.emit(None)


class TransferPlot(_PlotWidget):
    """The input -> output map of the current image and method.

    Draws ``Histogram.transfer_curve()`` per channel (coarsened to at most
    MAX_BARS nodes), its flat ends reaching the whole x range, and, dashed,
    the identity-like diagonal from the lowest to the highest input value for
    comparison.  The equalized values are shown on the y axis as ``y * scale
    + offset`` (the export's scale).
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        item = _style(self, "Transfer curve")
        item.setMouseEnabled(x=False, y=False)
        item.setLabel("bottom", "input value", color=self.text_colour)
        item.setLabel("left", "equalized value", color=self.text_colour)
        item.getAxis("left").setWidth(54)
        item.showGrid(x=True, y=True, alpha=0.15)
        self._diagonal = item.plot(pen=pg.mkPen("#80868b", width=1, style=Qt.PenStyle.DashLine),
                                   name="diagonal")
        self._curves = []
        self._guide = item.plot(pen=pg.mkPen(MARK_COLOUR, width=1, style=Qt.PenStyle.DotLine),
                                name="trace")
        self._marker = pg.ScatterPlotItem(size=9, pen=pg.mkPen(MARK_COLOUR), brush=None)
        item.addItem(self._marker)
        self._y_map = (1.0, 0.0)
        self._x_range = (0.0, 1.0)

    def set_curves(self, histograms, x_range, title=None, y_map=(1.0, 0.0), x_label=None,
                   y_label=None):
        """Draw the transfer curve of each channel's histogram over ``x_range``.

        ``y_map`` ``(scale, offset)`` shows an equalized value ``v`` at ``v *
        scale + offset``.
        """
        item = self.getPlotItem()
        self._y_map = (float(y_map[0]), float(y_map[1]))
        self._x_range = (float(x_range[0]), float(x_range[1]))
        scale, offset = self._y_map
        n = len(histograms)
        names = channel_names(n)
        while len(self._curves) < n:
            self._curves.append(item.plot())
        while len(self._curves) > n:
            item.removeItem(self._curves.pop())
        for c, (h, curve) in enumerate(zip(histograms, self._curves)):
            x, y = h.coarsened(MAX_BARS).transfer_curve(x_range=x_range)
            curve.opts["name"] = f"{names[c]}transfer".strip()
            curve.setData(x, y * scale + offset, pen=pg.mkPen(_cdf_colour(n, c), width=2))
        if n:
            self._diagonal.setData(list(x_range), [offset, scale + offset])
        else:
            self._diagonal.setData([], [])
        item.setXRange(*x_range, padding=0.02)
        item.setYRange(offset, scale + offset, padding=0.02)
        if x_label is not None:
            item.setLabel("bottom", x_label, color=self.text_colour)
        if y_label is not None:
            item.setLabel("left", y_label, color=self.text_colour)
        if title is not None:
            _set_title(item, title, self.text_colour)
        self.mark([])

    def mark(self, points):
        """Mark ``(input, output)`` points (output in [0, 1]); empty to clear.

        The first point also gets guide lines from the x axis up to the
        curve and across to the y axis, as a value is read off a map.
        """
        scale, offset = self._y_map
        points = [(float(x), float(y) * scale + offset) for x, y in points
                  if np.isfinite(x) and np.isfinite(y)]
        self._marker.setData([p[0] for p in points], [p[1] for p in points])
        if points:
            x, y = points[0]
            self._guide.setData([x, x, self._x_range[0]], [offset, y, y])
        else:
            self._guide.setData([], [])

    def marked(self):
        """``(x, y)`` of the marked points (axis units)."""
        return self._marker.getData()

    def csv_items(self):
        """The transfer curves (not the diagonal, the marks or the guide lines)."""
        return list(self._curves)

    def curve_count(self):
        """Number of transfer curves drawn."""
        return len(self._curves)

    def curve(self, channel=0):
        """``(x, y)`` drawn for ``channel`` (y in axis units)."""
        return self._curves[channel].getOriginalDataset()


def _cumulative(h):
    """The CDF drawn for histogram ``h``: its own cumulative fraction of pixels.

    For the histogram-equalization methods ``h.cdf`` is their CDF (as each
    convention anchors it); a whole-image method's histogram (``match``)
    holds its map to the reference there instead, so its counts are
    accumulated.
    """
    from ..core.methods import get_method

    counts = np.asarray(h.counts, np.float64)
    if get_method(h.method).image is not None and counts.shape == np.shape(h.cdf_x) \
            and counts.sum() > 0:
        return np.cumsum(counts) / counts.sum()
    return h.cdf
