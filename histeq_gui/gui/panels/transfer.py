"""The transfer-curve panel: input value -> equalized value, with the pixel under the mouse."""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QSize
from PyQt5.QtWidgets import QVBoxLayout, QWidget

from ..plots import TransferPlot

__all__ = ["TransferPanel"]


class TransferPanel(QWidget):
    """The transfer curve of the current result, and a dot for the pixel under the mouse.

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` (stack levels, cursor) and ``controller`` are used.

    Attributes
    ----------
    plot : TransferPlot
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = context.state
        self.controller = context.controller
        self.plot = TransferPlot()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.controller.resultChanged.connect(self.show_result)
        self.state.cursorChanged.connect(self.show_cursor)
        self.show_result(self.controller.result)

    def sizeHint(self):
        return QSize(380, 420)

    def show_result(self, result):
        """Draw the transfer curve of ``result``; None: none, saying why."""
        stack = self.state.stack
        if result is None or stack is None:
            why = "no stack" if stack is None else "computing…"
            self.plot.set_curves([], (0.0, 1.0), f"Transfer curve · {why}")
            return
        hists = result.histograms
        if not hists:
            title = "Transfer curve · not available"
        else:
            title = (f"Transfer curve · {result.method}"
                     f"{' · value bins' if hists[0].value_bins else ''}")
        self.plot.set_curves(hists, stack.levels, title)
        self.show_cursor(self.state.cursor)         # the same pixel, in the new result

    def show_cursor(self, position):
        """Mark the pixel at ``position`` on the curve (one dot per channel)."""
        result = self.controller.result
        values = None if result is None else result.pixel(position)
        if values is None or values[1] is None:
            self.plot.mark([])
            return
        original, equalized = values
        self.plot.mark(list(zip(np.atleast_1d(original).astype(float),
                                np.atleast_1d(equalized))))
