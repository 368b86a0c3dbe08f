"""The images panel: the original and the equalized image side by side, with titles."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QAction, QVBoxLayout, QWidget

from ..image_views import ImageViews
from ..plots import bins_text

__all__ = ["ImagesPanel"]


def equalized_title(result, problem):
    """The equalized view's title: the settings used, or why there is no image."""
    if problem is not None:
        return f"Equalized · {problem}"
    hists = result.histograms
    scope_text = "whole-stack histogram" if result.scope == "stack" else "own histogram"
    return f"Equalized · {result.method}, {bins_text(hists[0])}, {scope_text}"


class ImagesPanel(QWidget):
    """Two linked image views drawing the controller's current result.

    The pixel under the mouse goes to the state (``state.set_cursor``), where
    the status bar and the transfer curve follow it.

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` and ``controller`` are used.

    Attributes
    ----------
    views : ImageViews
        The two views (their image items hold what is drawn).
    zoom_action : QAction
        "Reset zoom" (Ctrl+0), for the Image menu.
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = context.state
        self.controller = context.controller
        self.views = ImageViews()
        self.views.setFocusPolicy(Qt.StrongFocus)
        self.setFocusProxy(self.views)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.views)
        self.zoom_action = QAction("&Reset zoom", self)
        self.zoom_action.setShortcut("Ctrl+0")
        self.zoom_action.triggered.connect(self.reset_zoom)

        self.views.hovered.connect(self._on_hover)
        self.controller.resultChanged.connect(self.show_result)
        self.show_result(self.controller.result)

    def reset_zoom(self):
        """Fit the whole image in the views again."""
        self.views.reset_zoom()

    def _on_hover(self, x, y):
        self.state.set_cursor(None if x < 0 else (x, y))

    def show_result(self, result):
        """Draw ``result`` (a ViewResult), or nothing for None."""
        stack = self.state.stack
        if result is None or stack is None:
            self.views.clear_images()
            return
        self.views.set_images(result.original, result.equalized, stack.levels)
        self.views.set_titles(f"Original · image {result.index} · {stack.dtype}",
                              equalized_title(result, self.controller.problem()))
