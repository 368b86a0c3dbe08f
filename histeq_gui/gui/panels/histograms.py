"""The histograms panel: the original's and the equalized image's histogram, each with its CDF."""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QSize, Qt
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...core.display import dtype_range
from ...core.export import output_dtype
from ...core.words import count
from ..plots import HistogramPlot, bins_text

__all__ = ["HistogramsPanel", "original_axis", "equalized_axis"]


def original_axis(state, histograms):
    """The original histogram's x range and axis title for the state's choice.

    "data": the histograms' own range (all channels); "dtype": the dtype's
    full range (for floats, [0, 1] widened to the data if it reaches beyond).
    """
    stack = state.stack
    dtype = stack.dtype
    lows = [h.edges[0] for h in histograms]
    highs = [h.edges[-1] for h in histograms]
    data = (float(min(lows)), float(max(highs))) if histograms else stack.levels
    if state.hist_range == "dtype":
        low, high = dtype_range(dtype)
        if dtype.kind == "f":
            low, high = min(low, data[0]), max(high, data[1])
        return (low, high), f"value ({dtype}, full range)"
    return data, f"value ({dtype})"


def equalized_axis(state, result):
    """The equalized values' axis: ``(x_range, (scale, offset), title)``.

    The equalized histograms count values in ``result.eq_units`` (what 0 and
    1 are); they are shown in [0, 1] or in the export's scale (the range of
    the dtype ``histeq`` writes by default: 0..255 for uint8, [0, 1] for
    floats).
    """
    dtype = state.stack.dtype
    u0, u1 = result.eq_units if result is not None else (0.0, 1.0)
    if state.eq_scale == "export":
        target = output_dtype("same", dtype)
        d0, d1 = dtype_range(target)
        title = f"equalized ({target} export)"
    else:
        d0, d1 = 0.0, 1.0
        title = "equalized (0..1)"
    scale = (d1 - d0) / (u1 - u0)
    return (d0, d1), (scale, d0 - u0 * scale), title


class HistogramsPanel(QWidget):
    """Two histogram plots side by side, drawn from the controller's current result.

    The left one is the histogram that maps the image (its own, the whole
    stack's, or its region's), over the data range or the dtype's full range;
    the right one is the histogram of the equalized values, in [0, 1] or the
    export's scale.  A row of controls above them sets log counts, the x
    range, the equalized scale and whether the two plots share their axes
    (all kept in the state, and remembered).  Hovering the left plot reads out
    the bin under the mouse and traces that value (``state.set_probe``); the
    value traced (a pixel under the mouse, or a bin) is marked on both plots
    and on the CDF.

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` and ``controller`` are used.

    Attributes
    ----------
    original, equalized : HistogramPlot
    log_check, link_check : QCheckBox
    range_combo, scale_combo : QComboBox
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = state = context.state
        self.controller = context.controller
        self.original = HistogramPlot("Histogram of the original")
        self.equalized = HistogramPlot("Histogram of the equalized image")
        if context.preferences is not None:
            for plot in (self.original, self.equalized):
                plot.save_folder = context.preferences.last_export_folder
        self.log_check = QCheckBox("Log counts")
        self.log_check.setToolTip("Counts on a log scale in both histograms (a bin of one "
                                  "pixel beside one of thousands)")
        self.range_combo = QComboBox()
        self.range_combo.addItem("data range", "data")
        self.range_combo.addItem("full dtype range", "dtype")
        self.range_combo.setToolTip("The original histogram's x axis: the values present, or "
                                    "the dtype's whole range (0..255, 0..65535)")
        self.scale_combo = QComboBox()
        self.scale_combo.addItem("export scale", "export")
        self.scale_combo.addItem("0..1", "unit")
        self.scale_combo.setToolTip("Equalized values in the scale the export writes by "
                                    "default (0..255 for uint8), or in [0, 1] as computed")
        self.link_check = QCheckBox("Link axes")
        self.link_check.setToolTip("The same count axis for both histograms (and the same x "
                                   "axis when both show the same range)")
        controls = QHBoxLayout()
        controls.setContentsMargins(4, 2, 4, 0)
        controls.addWidget(self.log_check)
        controls.addSpacing(8)
        controls.addWidget(QLabel("Original:"))
        for combo in (self.range_combo, self.scale_combo):     # whole, but a narrow window
            combo.setMinimumWidth(combo.fontMetrics().averageCharWidth() * 6 + 30)  # may cut
        controls.addWidget(self.range_combo)
        controls.addSpacing(8)
        controls.addWidget(QLabel("Equalized:"))
        controls.addWidget(self.scale_combo)
        controls.addSpacing(8)
        controls.addWidget(self.link_check)
        controls.addStretch(1)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.original)
        splitter.addWidget(self.equalized)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)

        self.log_check.toggled.connect(state.set_log_counts)
        self.link_check.toggled.connect(state.set_link_histograms)
        self.range_combo.currentIndexChanged.connect(
            lambda i: state.set_hist_range(self.range_combo.itemData(i)))
        self.scale_combo.currentIndexChanged.connect(
            lambda i: state.set_eq_scale(self.scale_combo.itemData(i)))
        self.original.hovered.connect(state.set_probe)
        state.displayChanged.connect(self._on_display_changed)
        state.cursorChanged.connect(self.show_trace)
        state.probeChanged.connect(self.show_trace)
        self.controller.resultChanged.connect(self.show_result)
        self._show_controls()
        self.show_result(self.controller.result)

    def sizeHint(self):
        """Qt: the preferred size, wide and low for the bottom dock."""
        return QSize(700, 300)

    def _show_controls(self):
        state = self.state
        for widget, value in ((self.log_check, state.log_counts),
                              (self.link_check, state.link_histograms)):
            widget.blockSignals(True)
            widget.setChecked(value)
            widget.blockSignals(False)
        for combo, value in ((self.range_combo, state.hist_range),
                             (self.scale_combo, state.eq_scale)):
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(value))
            combo.blockSignals(False)

    def _on_display_changed(self):
        self._show_controls()
        self.show_result(self.controller.result)

    def show_result(self, result):
        """Draw the histograms of ``result`` (a ViewResult); None: empty, saying why."""
        stack = self.state.stack
        for plot in (self.original, self.equalized):
            plot.set_log(self.state.log_counts)
        if result is None or stack is None:
            why = "no stack" if stack is None else "computing…"
            self.original.set_histograms([], (0.0, 1.0), f"Histogram · {why}")
            self.equalized.set_histograms([], (0.0, 1.0), f"Equalized · {why}")
            self._link(None, None)
            return
        hists, eq_hists = result.histograms, result.equalized_histograms
        drawn = bins_text(hists[0], drawn=True) if hists else "not available"
        region = f", region {result.roi[2]}×{result.roi[3]}" if result.roi else ""
        if result.scope == "stack":
            title = f"Whole stack ({count(stack.n_images, 'image')}{region}, {drawn}) + CDF"
        elif result.roi:
            title = f"Region {result.roi[2]}×{result.roi[3]} ({drawn}) + CDF"
        else:
            title = f"This image ({drawn}) + CDF"
        x_range, x_label = original_axis(self.state, hists)
        self.original.set_histograms(hists, x_range, title, x_label=x_label)
        if eq_hists:
            if result.eq_levels_bins:
                used = int(np.count_nonzero(eq_hists[0].counts))
                eq_drawn = f"a bin per output level, {used:,} used"
            else:
                eq_drawn = bins_text(eq_hists[0], drawn=True)
        else:
            eq_drawn = "not available"
        of = "Equalized region" if result.roi else "Equalized"
        eq_range, eq_map, eq_label = equalized_axis(self.state, result)
        self.equalized.set_histograms(eq_hists, eq_range, f"{of} ({eq_drawn}) + CDF",
                                      x_map=eq_map, x_label=eq_label)
        self._link(x_range, eq_range)
        self.show_trace()

    def _link(self, x_range, eq_range):
        """Share the count axis (and the x axis when both show the same range), or not."""
        linked = self.state.link_histograms and x_range is not None
        top = max(self.original.own_top, self.equalized.own_top) if linked else None
        self.original.set_top(top)
        self.equalized.set_top(top)
        same_x = linked and np.allclose(x_range, eq_range)
        self.equalized.getPlotItem().setXLink(self.original.getPlotItem() if same_x else None)

    def show_trace(self, *_):
        """Mark the value traced (the pixel under the mouse, or the bin hovered) on both plots."""
        result = self.controller.result
        state = self.state
        traces = None
        if result is not None and state.stack is not None:
            if state.cursor is not None:
                traces = result.trace(position=state.cursor)
            elif state.probe is not None:
                traces = result.trace(value=state.probe)
        if not traces:
            self.original.mark(None)
            self.equalized.mark(None)
            return
        self.original.mark(float(traces[0].value), [(float(t.value), t.output) for t in traces])
        u0, u1 = result.eq_units
        output = traces[0].output
        self.equalized.mark(None if not np.isfinite(output) else u0 + output * (u1 - u0))
