"""Histogram + CDF and transfer-curve plots, drawn from the core's arrays.

Nothing here computes a histogram: the bars are ``Histogram.counts`` over
``Histogram.edges`` and the CDF is ``Histogram.cdf`` at ``Histogram.cdf_x``,
exactly what the method maps with (pyqtgraph's subsampled ``getHistogram`` is
never used).  A histogram of more than :data:`MAX_BARS` bins (scikit-image
gives one per distinct value of a wide-range integer image: millions) is
drawn as ``Histogram.coarsened(MAX_BARS)``, the core's merge of adjacent
bins, so that drawing it stays quick.
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor, QFont

from .image_views import BACKGROUND

__all__ = ["HistogramPlot", "TransferPlot", "CountAxis", "channel_colours", "bins_text",
           "compact_counts", "MAX_BARS"]

MAX_BARS = 4096     # bars drawn per histogram at the most (the largest bin count one can pick)

_GRAY = ("#6fa8dc",)
_RGB = ("#e06666", "#6aa84f", "#5b8def", "#b7b7b7")
_GRAY_ALPHA = ("#6fa8dc", "#b7b7b7")
CDF_COLOUR = "#f6b26b"
_TEXT = "#e8eaed"


def channel_colours(n_channels):
    """Bar colours: blue for gray, red/green/blue for colour, grey for an alpha channel."""
    return {1: _GRAY, 2: _GRAY_ALPHA}.get(n_channels, _RGB[:n_channels])


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
    item.setTitle(title, color=_TEXT, size="9pt")
    item.setMenuEnabled(False)
    item.hideButtons()
    item.setMouseEnabled(x=True, y=False)
    item.showGrid(x=False, y=True, alpha=0.15)
    font = QFont()
    font.setPointSizeF(8)
    for name in ("left", "bottom", "right"):
        axis = item.getAxis(name)
        axis.enableAutoSIPrefix(False)      # no "(x0.001)" beside a title
        axis.setTextPen(_TEXT)
        axis.setPen("#80868b")
        axis.setStyle(tickFont=font, tickTextOffset=3)
        axis.label.setFont(font)
    return item


def compact_counts(values):
    """Pixel counts in at most 5 characters each, in one unit for all: 950, 9500, 12k, 1.25M.

    The unit (none, k, M, G) comes from the largest value, so the ticks of
    one axis read alike ("5k, 10k, 15k", not "5000, 10k, 15k").
    """
    values = [float(v) for v in values]
    top = max((abs(v) for v in values), default=0.0)
    for limit, unit, divisor in ((1e4, "", 1.0), (1e6, "k", 1e3), (1e9, "M", 1e6)):
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
        text = f"{scaled:.{digits}f}".rstrip("0").rstrip(".")
        texts.append("0" if text in ("0", "-0") else text + unit)
    return texts


class CountAxis(pg.AxisItem):
    """An axis of pixel counts: whole-number ticks only, short labels, no SI prefix.

    (pyqtgraph would put ticks at 0.5 for an image of a few pixels, and a
    six-digit count would run into the axis title.)
    """

    def __init__(self, orientation="left", **kwargs):
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickSpacing(self, minVal, maxVal, size):
        """pyqtgraph's spacings, at least 1 (no tick between two whole counts)."""
        levels = []
        for spacing, offset in super().tickSpacing(minVal, maxVal, size):
            level = (max(float(spacing), 1.0), offset)
            if level not in levels:
                levels.append(level)
        return levels

    def tickValues(self, minVal, maxVal, size):
        """The ticks, whole numbers only."""
        return [(spacing, [v for v in values if float(v).is_integer()])
                for spacing, values in super().tickValues(minVal, maxVal, size)]

    def tickStrings(self, values, scale, spacing):
        """Counts as :func:`compact_counts` writes them."""
        return compact_counts([v * scale for v in values])


class _OverlayBox(pg.ViewBox):
    """A ViewBox drawn over a plot that leaves every mouse event to the plot below."""

    def __init__(self):
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=False, y=False)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self.setAcceptHoverEvents(False)

    def wheelEvent(self, event, axis=None):
        event.ignore()


class HistogramPlot(pg.PlotWidget):
    """Histogram bars (left axis: pixels) with the CDF over them (right axis: 0..1).

    The CDF lives in a second ViewBox that shares the x axis of the plot.
    """

    def __init__(self, title="Histogram", parent=None):
        super().__init__(parent, axisItems={"left": CountAxis("left")})
        self._title = title
        item = _style(self, title)
        item.setLabel("left", "pixels", color=_TEXT)
        item.showAxis("right")
        item.setLabel("right", "CDF", color=CDF_COLOUR)
        item.getAxis("left").setWidth(60)
        item.getAxis("right").setWidth(44)
        self.cdf_box = _OverlayBox()
        self.cdf_box.setZValue(item.zValue() + 1)      # the CDF over the bars
        item.scene().addItem(self.cdf_box)
        item.getAxis("right").linkToView(self.cdf_box)
        self.cdf_box.setXLink(item)
        self.cdf_box.setYRange(0.0, 1.0, padding=0.04)
        self.cdf_box.enableAutoRange(enable=False)
        item.vb.sigResized.connect(self._sync_cdf_box)
        item.vb.enableAutoRange(enable=False)
        self._bars = []
        self._cdfs = []

    def _sync_cdf_box(self):
        vb = self.getPlotItem().vb
        self.cdf_box.setGeometry(vb.sceneBoundingRect())
        self.cdf_box.linkedViewChanged(vb, self.cdf_box.XAxis)

    def _ensure_items(self, n):
        item = self.getPlotItem()
        while len(self._bars) < n:
            self._bars.append(item.plot(stepMode="center", fillLevel=0, pen=None))
            cdf = pg.PlotDataItem()
            self.cdf_box.addItem(cdf)
            self._cdfs.append(cdf)
        while len(self._bars) > n:
            item.removeItem(self._bars.pop())
            self.cdf_box.removeItem(self._cdfs.pop())

    def set_histograms(self, histograms, x_range, title=None):
        """Draw one histogram per channel (coarsened to at most MAX_BARS bars).

        Parameters
        ----------
        histograms : sequence of Histogram
        x_range : tuple of float
            Fixed x range (the display levels), so the axis does not jump.
        title : str, optional
        """
        n = len(histograms)
        self._ensure_items(n)
        colours = channel_colours(n)
        top = 1
        for c, (h, bars, cdf) in enumerate(zip(histograms, self._bars, self._cdfs)):
            h = h.coarsened(MAX_BARS)
            fill = QColor(colours[c])
            fill.setAlpha(200 if n == 1 else 110)
            bars.setData(h.edges, h.counts, stepMode="center", fillLevel=0, brush=fill,
                         pen=None)
            cdf.setData(h.cdf_x, h.cdf, pen=pg.mkPen(_cdf_colour(n, c), width=2))
            if len(h.counts):
                top = max(top, int(h.counts.max()))
        item = self.getPlotItem()
        item.setXRange(*x_range, padding=0.01)
        item.setYRange(0, top, padding=0.03)
        if title is not None:
            item.setTitle(title, color=_TEXT, size="9pt")
        self._sync_cdf_box()

    def bar_count(self):
        """Number of bars of the first channel (0 when empty)."""
        if not self._bars:
            return 0
        y = self._bars[0].getOriginalDataset()[1]
        return 0 if y is None else len(y)

    def bars(self, channel=0):
        """``(edges, counts)`` drawn for ``channel`` (pyqtgraph does not downsample them)."""
        return self._bars[channel].getOriginalDataset()

    def cdf_curve(self, channel=0):
        """``(x, cdf)`` drawn for ``channel``."""
        return self._cdfs[channel].getOriginalDataset()

    def channel_count(self):
        """Number of channels drawn."""
        return len(self._bars)

    def title(self):
        """The plot title as shown."""
        return self.getPlotItem().titleLabel.text


class TransferPlot(pg.PlotWidget):
    """The input -> output map of the current image and method.

    Draws ``Histogram.transfer_curve()`` per channel (coarsened to at most
    MAX_BARS nodes), its flat ends reaching the whole x range, and, dashed,
    the identity-like diagonal from the lowest to the highest input value for
    comparison.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        item = _style(self, "Transfer curve")
        item.setMouseEnabled(x=False, y=False)
        item.setLabel("bottom", "input value", color=_TEXT)
        item.setLabel("left", "equalized value", color=_TEXT)
        item.getAxis("left").setWidth(48)
        item.showGrid(x=True, y=True, alpha=0.15)
        self._diagonal = item.plot(pen=pg.mkPen("#80868b", width=1, style=Qt.DashLine))
        self._curves = []
        self._marker = pg.ScatterPlotItem(size=9, pen=pg.mkPen("#ffffff"), brush=None)
        item.addItem(self._marker)

    def set_curves(self, histograms, x_range, title=None):
        """Draw the transfer curve of each channel's histogram over ``x_range`` (the levels)."""
        item = self.getPlotItem()
        n = len(histograms)
        while len(self._curves) < n:
            self._curves.append(item.plot())
        while len(self._curves) > n:
            item.removeItem(self._curves.pop())
        for c, (h, curve) in enumerate(zip(histograms, self._curves)):
            x, y = h.coarsened(MAX_BARS).transfer_curve(x_range=x_range)
            curve.setData(x, y, pen=pg.mkPen(_cdf_colour(n, c), width=2))
        if n:
            self._diagonal.setData(list(x_range), [0.0, 1.0])
        else:
            self._diagonal.setData([], [])
        item.setXRange(*x_range, padding=0.02)
        item.setYRange(0.0, 1.0, padding=0.02)
        if title is not None:
            item.setTitle(title, color=_TEXT, size="9pt")
        self._marker.clear()

    def mark(self, points):
        """Mark ``(input, output)`` points (the pixel under the mouse); empty to clear."""
        self._marker.setData([p[0] for p in points], [p[1] for p in points])

    def marked(self):
        """``(x, y)`` of the marked points."""
        return self._marker.getData()

    def curve_count(self):
        """Number of transfer curves drawn."""
        return len(self._curves)

    def curve(self, channel=0):
        """``(x, y)`` drawn for ``channel``."""
        return self._curves[channel].getOriginalDataset()
