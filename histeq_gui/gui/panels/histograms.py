"""The histograms panel: the original's and the equalized image's histogram, each with its CDF."""

from __future__ import annotations

from PyQt5.QtCore import QSize, Qt
from PyQt5.QtWidgets import QSplitter, QVBoxLayout, QWidget

from ..plots import HistogramPlot, bins_text

__all__ = ["HistogramsPanel"]


class HistogramsPanel(QWidget):
    """Two histogram plots side by side, drawn from the controller's current result.

    The left one is the histogram that maps the image (its own, or the whole
    stack's), over the display levels; the right one is the histogram of the
    equalized values over [0, 1].

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` and ``controller`` are used.

    Attributes
    ----------
    original, equalized : HistogramPlot
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = context.state
        self.original = HistogramPlot("Histogram of the original")
        self.equalized = HistogramPlot("Histogram of the equalized image")
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.original)
        splitter.addWidget(self.equalized)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        context.controller.resultChanged.connect(self.show_result)
        self.show_result(context.controller.result)

    def sizeHint(self):
        return QSize(700, 290)

    def show_result(self, result):
        """Draw the histograms of ``result`` (a ViewResult); None: empty, saying why."""
        stack = self.state.stack
        if result is None or stack is None:
            why = "no stack" if stack is None else "computing…"
            self.original.set_histograms([], (0.0, 1.0), f"Histogram · {why}")
            self.equalized.set_histograms([], (0.0, 1.0), f"Histogram of the equalized image · "
                                                          f"{why}")
            return
        hists, eq_hists = result.histograms, result.equalized_histograms
        drawn = bins_text(hists[0], drawn=True) if hists else "not available"
        if result.scope == "stack":
            title = f"Histogram of the whole stack ({stack.n_images} images, {drawn}) + CDF"
        else:
            title = f"Histogram of this image ({drawn}) + CDF"
        self.original.set_histograms(hists, stack.levels, title)
        eq_drawn = bins_text(eq_hists[0], drawn=True) if eq_hists else "not available"
        self.equalized.set_histograms(
            eq_hists, (0.0, 1.0), f"Histogram of the equalized image ({eq_drawn}) + CDF")
