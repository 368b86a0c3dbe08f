"""The Histogram dock widget: the slice's histogram with its CDF, before and after, and the map.

The viewer's own plots (:class:`~histeq_gui.gui.plots.HistogramPlot`,
:class:`~histeq_gui.gui.plots.TransferPlot`, pyqtgraph on napari's Qt
binding) draw what :meth:`.session.Session.view_steps` computes for the
slice on screen with the viewer's shared setting: the histogram that maps it
(the slice's own, or the whole stack's) with its CDF, the histogram of the
equalized slice, and the transfer curve.  They follow napari's dims slider,
the layer's data and the setting, and napari's theme.  The layer's contrast
limits are a shaded range on the first plot: dragging its edges sets them,
and setting them anywhere in napari moves the edges.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QFormLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from ..gui.plots import HistogramPlot, TransferPlot, bins_text
from .connections import Connections
from .jobs import Job
from .layer_picker import LayerPicker
from .layers import image_index, is_preview
from .session import session_for

__all__ = ["HistogramWidget", "LIMITS_BRUSH"]

LIMITS_BRUSH = (255, 255, 255, 28)
_DELAY_MS = 30


class HistogramWidget(QWidget):
    """The Histogram dock widget (see the module docstring).

    Parameters
    ----------
    napari_viewer : napari.Viewer

    Attributes
    ----------
    picker : LayerPicker
    original, equalized : HistogramPlot
    transfer : TransferPlot
    limits : pyqtgraph.LinearRegionItem
        The layer's contrast limits on :attr:`original`.
    result : ViewResult or None
        What is drawn.
    """

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.result = None
        self.picker = LayerPicker(napari_viewer, skip=is_preview)
        self.original = HistogramPlot("Histogram of the slice")
        self.equalized = HistogramPlot("Histogram of the equalized slice")
        self.transfer = TransferPlot()
        self.limits = pg.LinearRegionItem(values=(0, 1), orientation="vertical",
                                          brush=LIMITS_BRUSH, movable=True)
        self.limits.setZValue(10)
        self.limits.setToolTip("The layer's contrast limits: drag an edge to set them")
        self.original.getPlotItem().addItem(self.limits, ignoreBounds=True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        top = QFormLayout()
        top.addRow("Layer", self.picker)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for plot in (self.original, self.equalized, self.transfer):
            plot.setMinimumHeight(140)
            splitter.addWidget(plot)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

        self.job = Job(self.show_result, self.say)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(_DELAY_MS)
        self._timer.timeout.connect(self.update_plots)
        self._watched = None
        self.limits.sigRegionChanged.connect(self._limits_dragged)
        self.session.setting.changed.connect(self.schedule)
        self.picker.layerChanged.connect(self._layer_changed)
        self.connections = Connections(self, lambda: self.job.cancel(quietly=True))
        self.connections.connect(napari_viewer.dims.events.current_step, self.schedule)
        self.connections.connect(napari_viewer.events.theme, self._apply_theme)
        self._apply_theme()
        self._layer_changed(self.picker.layer())

    def sizeHint(self):
        """Qt: the preferred size, at least 620 pixels high for its three plots."""
        hint = super().sizeHint()
        hint.setHeight(max(hint.height(), 620))
        return hint

    def say(self, text: str) -> None:
        """Show ``text`` (one line) under the plots; "" clears it."""
        self.status.setText(text)

    def _apply_theme(self, event=None):
        from napari.utils.theme import get_theme

        theme = get_theme(self.viewer.theme)
        for plot in (self.original, self.equalized, self.transfer):
            plot.set_theme(theme.canvas.as_hex(), theme.text.as_hex())

    # ------------------------------------------------------------------ following napari
    def _layer_changed(self, layer):
        if self._watched is not None:
            self.connections.disconnect(self._watched.events.data, self.schedule)
            self.connections.disconnect(self._watched.events.contrast_limits, self.show_limits)
        self._watched = layer
        if layer is not None:
            self.connections.connect(layer.events.data, self.schedule)
            self.connections.connect(layer.events.contrast_limits, self.show_limits)
        self.show_limits()
        self.schedule()

    def schedule(self, event=None) -> None:
        """Recompute soon (requests in quick succession are merged)."""
        self._timer.start()

    def update_plots(self) -> None:
        """Compute the slice on screen with the setting, in a thread worker."""
        layer = self.picker.layer()
        if layer is None:
            self.result = None
            self.original.set_histograms([], (0.0, 1.0), "Histogram · no image layer")
            self.equalized.set_histograms([], (0.0, 1.0), "Equalized · no image layer")
            self.transfer.set_curves([], (0.0, 1.0))
            return
        try:
            steps = self.session.view_steps(layer, image_index(layer, self.viewer.dims.point))
        except ValueError as exc:
            self.say(str(exc))
            return
        self.job.start(steps)

    # ------------------------------------------------------------------ drawing
    def show_result(self, result) -> None:
        """Draw ``result`` (a :class:`~histeq_gui.gui.compute.ViewResult`)."""
        self.result = result
        hists, eq_hists = result.histograms, result.equalized_histograms
        dtype = result.original.dtype
        if hists:
            low = min(float(h.edges[0]) for h in hists)
            high = max(float(h.edges[-1]) for h in hists)
        else:
            low, high = result.image_range or (0.0, 1.0)
        layer = self.picker.layer()
        if layer is not None:
            low = min(low, float(layer.contrast_limits[0]))
            high = max(high, float(layer.contrast_limits[1]))
        of = "the whole stack" if result.scope == "stack" else f"image {result.index}"
        drawn = bins_text(hists[0], drawn=True) if hists else "not available"
        self.original.set_histograms(hists, (low, high), f"{result.method}: {of} ({drawn}) + CDF",
                                     x_label=f"value ({dtype})")
        u0, u1 = result.eq_units
        scale = 1.0 / (u1 - u0)
        eq_drawn = bins_text(eq_hists[0], drawn=True) if eq_hists else "not available"
        self.equalized.set_histograms(eq_hists, (0.0, 1.0), f"Equalized ({eq_drawn}) + CDF",
                                      x_map=(scale, -u0 * scale), x_label="equalized (0..1)")
        if hists and hists[0].global_map:
            self.transfer.set_curves(hists, (low, high), f"Transfer curve ({result.method})",
                                     x_label=f"input value ({dtype})",
                                     y_label="equalized (0..1)")
        else:
            self.transfer.set_curves([], (low, high), "No single map: each pixel by its "
                                     "neighbourhood")
        self.say("" if result.error is None else f"Cannot equalize this slice: {result.error}")

    # ------------------------------------------------------------------ contrast limits
    def show_limits(self, event=None) -> None:
        """Move the shaded range to the layer's contrast limits."""
        layer = self.picker.layer()
        self.limits.setVisible(layer is not None)
        if layer is None:
            return
        self.limits.blockSignals(True)
        self.limits.setRegion(tuple(float(v) for v in layer.contrast_limits))
        self.limits.blockSignals(False)

    def _limits_dragged(self):
        layer = self.picker.layer()
        low, high = (float(v) for v in self.limits.getRegion())
        if layer is None or not high > low or np.allclose((low, high), layer.contrast_limits):
            return
        range_low, range_high = (float(v) for v in layer.contrast_limits_range)
        if low < range_low or high > range_high:
            layer.contrast_limits_range = (min(low, range_low), max(high, range_high))
        layer.contrast_limits = (low, high)

    def closeEvent(self, event):
        """Qt: end the napari connections and cancel the histogram job."""
        self.connections.close()
        super().closeEvent(event)
