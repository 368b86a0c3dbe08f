"""The images panel: the original and the equalized image side by side, with titles.

It also holds the region of interest (a rectangle on the original whose
pixels make the histogram: Image > Histogram of a region, Ctrl+R; off, and
saying why, for a method that takes no mask such as CLAHE), marks the
pixel traced, and offers File > Save figure….
"""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QAction, QLabel, QStackedWidget, QVBoxLayout, QWidget

from ..bindings import keys_of
from ..figure_export import save_figure_action
from ..image_views import BACKGROUND, ImageViews
from ..levels import current_levels, describe_eq_levels, describe_mode, equalized_display_levels
from ..plots import bins_text

__all__ = ["ImagesPanel", "EMPTY_HINT", "no_mask_note"]

EMPTY_HINT = ("<p style='font-size: 15pt'>No stack is open</p>"
              "<p>Open one with <b>Ctrl+O</b> (File &gt; Open…), or <b>drop</b> a file or a "
              "folder of images on this window,<br>or try File &gt; Open the sample stack.</p>"
              "<p style='color: #9aa0a6'>.npy, .npz, .tif/.tiff, PNG/JPEG/GIF images, folders "
              "of images</p>")
_NOTE_STYLE = ("#imageNote { background: #fff4ce; color: #5c4400; border: 1px solid #e0c060; "
               "border-radius: 3px; padding: 3px 6px; }")


_ROI_TIP = ("Draw a rectangle on the original: its pixels make the histogram, whose mapping "
            "equalizes the whole image")


def no_mask_note(method):
    """Why the region tool is off for ``method`` (one line): it takes no mask."""
    return (f"No region with {method}: it takes no mask (it uses every pixel of each image); "
            "choose another method to use a region")


def equalized_title(result, problem, display=""):
    """The equalized view's title: the settings used (and ``display``), or why there is no image."""
    if problem is not None:
        return f"Equalized · {problem}"
    hists = result.histograms
    scope_text = "whole-stack histogram" if result.scope == "stack" else "own histogram"
    if result.roi is not None:
        scope_text += " of the region"
    return f"Equalized · {result.method}, {bins_text(hists[0])}, {scope_text}" + \
        (f" · {display}" if display else "")


class ImagesPanel(QWidget):
    """Two linked image views drawing the controller's current result.

    Without a stack it shows how to open one instead of empty views.  While
    a new stack's first image is computed, the views are empty and the titles
    say so; while a new image is computed in a job, the old one's titles say
    "updating".  A note above the views says why a surprising result (a flat
    image turned white) looks as it does.  The pixel under the mouse goes to
    the state (``state.set_cursor``), where the status bar and the transfer
    curve follow it.

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` and ``controller`` are used.

    Attributes
    ----------
    views : ImageViews
        The two views (their image items hold what is drawn).
    hint : QLabel
        Shown instead of the views when no stack is open.
    note : QLabel
        The result's note, when it has one.
    roi_action : QAction
        Checkable: a rectangle on the original drives the histogram
        (``state.roi``); unchecked, the whole image does.
    figure_action : QAction
        Save figure… (the images and plots as one PNG at twice their size).
    menu_actions : dict
        "Reset zoom" (Ctrl+0) for the View menu; the region action for the
        Image menu; Save figure… for the File menu.
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = context.state
        self.controller = context.controller
        preferences = context.preferences
        self.views = ImageViews()
        self.views.setFocusPolicy(Qt.StrongFocus)
        self.setFocusProxy(self.views)
        self.hint = QLabel(EMPTY_HINT)
        self.hint.setAlignment(Qt.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"background: {BACKGROUND}; color: #e8eaed; padding: 24px;")
        self.note = QLabel()
        self.note.setObjectName("imageNote")
        self.note.setStyleSheet(_NOTE_STYLE)
        self.note.setWordWrap(True)
        self.note.hide()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.hint)
        self.pages.addWidget(self.views)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.note)
        layout.addWidget(self.pages, 1)
        zoom = QAction("&Reset zoom", self)
        zoom.setShortcut(keys_of("zoom")[0])
        zoom.triggered.connect(self.reset_zoom)
        self.roi_action = QAction("Histogram of a &region", self)
        self.roi_action.setCheckable(True)
        self.roi_action.setShortcut(keys_of("region")[0])
        self.roi_action.setToolTip(_ROI_TIP)
        self.roi_action.toggled.connect(self._on_roi_toggled)
        self.notify = context.notify
        self._set_aside = None      # the region kept while the method takes no mask
        folder = None if preferences is None else preferences.last_export_folder
        self.figure_action = save_figure_action(self, context.notify, folder)
        self.menu_actions = {"View": [zoom, None], "Image": [None, self.roi_action],
                             "File": [self.figure_action]}

        self.views.hovered.connect(self._on_hover)
        self.views.roiChanged.connect(self.state.set_roi)
        self.state.roiChanged.connect(self._show_roi)
        self.state.methodChanged.connect(lambda: self._follow_method(self.state.method_spec))
        self.state.stackChanged.connect(self._forget_set_aside)
        self.state.levelsChanged.connect(self._show_levels)
        self.state.cursorChanged.connect(self.views.mark_pixel)
        self.controller.resultChanged.connect(self.show_result)
        self.controller.busyChanged.connect(self._show_busy)
        self.show_result(self.controller.result)
        self._show_roi(self.state.roi)
        self._follow_method(self.state.method_spec)

    def reset_zoom(self):
        """Fit the whole image in the views again."""
        self.views.reset_zoom()

    def _on_hover(self, x, y):
        self.state.set_cursor(None if x < 0 else (x, y))

    def _on_roi_toggled(self, on):
        if on and self.state.roi is None:
            stack = self.state.stack
            if stack is None:
                self.roi_action.setChecked(False)
                return
            height, width = stack.image_shape(self.state.index)
            self.state.set_roi((width // 4, height // 4, max(1, width // 2),
                                max(1, height // 2)))
        elif not on:
            self.state.set_roi(None)

    def _follow_method(self, method):
        """A method (a Method) that takes no mask (CLAHE): the region tool is off, and says why.

        A region drawn before is set aside (the status bar says so) and comes
        back with the next method that takes a mask, on the same stack.
        """
        takes_mask = method.masks
        self.roi_action.setEnabled(takes_mask)
        self.roi_action.setToolTip(_ROI_TIP if takes_mask else no_mask_note(method.name))
        state = self.state
        if not takes_mask and state.roi is not None:
            self._set_aside = state.roi
            state.set_roi(None)
            self.notify(f"{no_mask_note(method.name)}: the region is set aside and comes back "
                        "with a method that takes one")
        elif takes_mask and self._set_aside is not None:
            roi, self._set_aside = self._set_aside, None
            if state.roi is None:
                state.set_roi(roi)

    def _forget_set_aside(self):
        self._set_aside = None

    def _show_roi(self, roi):
        """Show the state's region on the views (or none), and the action's check."""
        self.views.set_roi(roi)
        self.roi_action.blockSignals(True)
        self.roi_action.setChecked(roi is not None)
        self.roi_action.blockSignals(False)

    def _show_levels(self):
        result = self.controller.result
        if result is not None and self.state.stack is not None:
            self.views.set_levels(current_levels(self.state, result),
                                  equalized_display_levels(self.state, result))
            self.views.set_titles(*self._titles(result))

    def _titles(self, result):
        stack = self.state.stack
        name = stack.image_name(result.index)
        name = f" · {name}" if name else ""
        return (f"Original · image {result.index}{name} · {stack.dtype} · "
                f"{describe_mode(self.state)}",
                equalized_title(result, self.controller.problem(),
                                describe_eq_levels(self.state, result)))

    def show_result(self, result):
        """Draw ``result`` (a ViewResult); None: the hint, or empty views while computing."""
        stack = self.state.stack
        self.pages.setCurrentWidget(self.hint if stack is None else self.views)
        self.note.setVisible(result is not None and bool(result.note))
        if result is None or stack is None:
            self.views.clear_images()
            if stack is not None:
                self.views.set_titles(f"Original · image {self.state.index} · computing…",
                                      "Equalized · computing…")
            return
        self.note.setText(result.note or "")
        self.views.set_images(result.original, result.equalized,
                              current_levels(self.state, result),
                              equalized_display_levels(self.state, result))
        self.views.set_titles(*self._titles(result))
        self.views.mark_pixel(self.state.cursor)

    def _show_busy(self, busy):
        """Mark the titles of the image shown while a newer one is computed."""
        result = self.controller.result
        if result is None or self.state.stack is None:
            return
        titles = self._titles(result)
        if busy:
            titles = tuple(f"{title} · updating…" for title in titles)
        self.views.set_titles(*titles)
