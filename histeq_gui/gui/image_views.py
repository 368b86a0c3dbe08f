"""Original | equalized: two linked image views with fixed display levels (a widget)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt.QtCore import QRectF, QSizeF, Qt, Signal
from pyqtgraph.Qt.QtGui import QColor, QPen
from pyqtgraph.Qt.QtWidgets import QGraphicsRectItem

__all__ = ["ImageViews", "ColumnTitle", "BACKGROUND", "NAN_COLOUR", "ROI_COLOUR"]

BACKGROUND = "#202124"
_TITLE_COLOUR = "#e8eaed"
_FRAME_COLOUR = "#5f6368"
NAN_COLOUR = "#c000c0"     # NaN pixels: pyqtgraph draws them transparent, over this
ROI_COLOUR = "#fbbc04"     # the region of interest
MARK_COLOUR = "#00e5ff"    # the pixel traced


def _displayable(image):
    """What a view draws: RGB of colour images, the gray of gray+alpha; alpha is not drawn."""
    if image.ndim == 3 and image.shape[-1] > 3:
        return image[..., :3]
    if image.ndim == 3 and image.shape[-1] == 2:
        return image[..., 0]
    return image


def _same_image(item, image, levels):
    """True when ``item`` already shows ``image`` (equal values, shape, dtype) with ``levels``."""
    shown = item.image
    if shown is None or shown.shape != image.shape or shown.dtype != image.dtype:
        return False
    if item.levels is None or tuple(np.ravel(item.levels)) != tuple(np.ravel(levels)):
        return False
    return shown is image or np.array_equal(shown, image, equal_nan=image.dtype.kind == "f")


class ColumnTitle(pg.LabelItem):
    """A label that takes its column's width instead of asking for its text's width.

    (A plain LabelItem sets its minimum width to the text, so a longer title
    would make its column, and so its view, wider than the other.)  A text
    longer than the column, such as the reason an image cannot be equalized,
    wraps onto more lines, centred.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        document = self.item.document()
        option = document.defaultTextOption()
        option.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        document.setDefaultTextOption(option)

    def setText(self, text, **args):
        """Set the text, keeping the minimum width 0 (LabelItem makes it the text's)."""
        super().setText(text, **args)
        self.setMinimumWidth(0)

    def resizeEvent(self, event):
        """Qt: wrap the text at the new width; keep the minimum width 0."""
        if self.width() > 1:
            self.item.setTextWidth(self.width())
        super().resizeEvent(event)
        self.setMinimumWidth(0)

    def sizeHint(self, which, constraint=QSizeF()):
        """Qt: as LabelItem's, but no width for the minimum and preferred sizes."""
        hint = super().sizeHint(which, constraint)
        if which in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
            return QSizeF(0, hint.height())
        return hint


class ImageViews(pg.GraphicsLayoutWidget):
    """Two image views side by side, zoom and pan linked.

    The original is drawn with the display levels given (fixed while paging
    unless they are "this image's range") and the equalized image with its
    own (default [0, 1]).  NaN pixels are drawn in :data:`NAN_COLOUR`, not black.  Arrays
    are row-major ``(H, W)`` or ``(H, W, C)``.

    A region of interest (:meth:`set_roi`) is a rectangle the user can move
    and resize on the original (snapped to whole pixels, kept inside the
    image), outlined on the equalized view too; the pixel traced is outlined
    on both (:meth:`mark_pixel`).

    Signals
    -------
    hovered(int, int)
        Pixel column and row under the mouse, or ``(-1, -1)`` off the image.
    roiChanged(object)
        The user moved or resized the region: ``(x, y, width, height)``.
    """

    hovered = Signal(int, int)
    roiChanged = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.setAcceptDrops(False)   # let drops reach the main window
        self.ci.setContentsMargins(4, 4, 4, 4)
        self.ci.setSpacing(4)
        self.original_title = ColumnTitle("Original", color=_TITLE_COLOUR, size="10pt")
        self.equalized_title = ColumnTitle("Equalized", color=_TITLE_COLOUR, size="10pt")
        self.addItem(self.original_title, row=0, col=0)
        self.addItem(self.equalized_title, row=0, col=1)
        self.original_view = self._add_view(1, 0)
        self.equalized_view = self._add_view(1, 1)
        self.equalized_view.setXLink(self.original_view)
        self.equalized_view.setYLink(self.original_view)
        for col in (0, 1):          # equal columns, so linked views show the same region
            self.ci.layout.setColumnStretchFactor(col, 1)
        self.original_item, *original_rects = self._add_image(self.original_view)
        self.equalized_item, *equalized_rects = self._add_image(self.equalized_view)
        self._frames = (*original_rects, *equalized_rects)
        self._shape = None
        self._fitted = True         # the image fills the views until the user zooms or pans
        self.roi = None             # the pg.RectROI on the original, while there is a region
        self._roi_outline = self._outline(self.equalized_view, ROI_COLOUR, Qt.PenStyle.DashLine)
        self._marks = [self._outline(view, MARK_COLOUR, Qt.PenStyle.SolidLine)
                       for view in (self.original_view, self.equalized_view)]
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.original_view.sigResized.connect(self._refit)
        for view in (self.original_view, self.equalized_view):
            view.sigRangeChangedManually.connect(self._on_user_zoom)

    def _add_view(self, row, col):
        view = self.addViewBox(row=row, col=col, lockAspect=True, invertY=True,
                               enableMenu=False)
        view.setBackgroundColor("#000000")
        view.setDefaultPadding(0.0)
        return view

    @staticmethod
    def _add_image(view):
        """An image item, the NaN colour behind it, and a frame around it."""
        item = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
        view.addItem(item)
        backdrop = QGraphicsRectItem(0, 0, 0, 0)  # shows through NaN (transparent) pixels
        backdrop.setPen(QPen(Qt.PenStyle.NoPen))
        backdrop.setBrush(QColor(NAN_COLOUR))
        backdrop.setZValue(-1)
        view.addItem(backdrop, ignoreBounds=True)
        frame = QGraphicsRectItem(0, 0, 0, 0)     # the image's edge, visible on black images
        pen = pg.mkPen(_FRAME_COLOUR, width=1)
        pen.setCosmetic(True)
        frame.setPen(pen)
        frame.setZValue(1)
        view.addItem(frame, ignoreBounds=True)
        return item, backdrop, frame

    @staticmethod
    def _outline(view, colour, style):
        rect = QGraphicsRectItem(0, 0, 0, 0)
        pen = pg.mkPen(colour, width=1.5, style=style)
        pen.setCosmetic(True)
        rect.setPen(pen)
        rect.setZValue(5)
        rect.hide()
        view.addItem(rect, ignoreBounds=True)
        return rect

    # ------------------------------------------------------------------ region of interest
    def set_roi(self, roi):
        """Show the region ``(x, y, width, height)`` (None: remove it); emits nothing."""
        if roi is None:
            if self.roi is not None:
                self.original_view.removeItem(self.roi)
                self.roi = None
            self._roi_outline.hide()
            return
        x, y, w, h = roi
        if self.roi is None:
            self.roi = pg.RectROI((x, y), (w, h), pen=pg.mkPen(ROI_COLOUR, width=2),
                                  snapSize=1.0, translateSnap=True, scaleSnap=True,
                                  removable=False)
            self.roi.setZValue(10)
            self.roi.sigRegionChangeFinished.connect(self._on_roi_moved)
            self.original_view.addItem(self.roi)
        else:
            self.roi.blockSignals(True)
            self.roi.setPos((x, y), update=False)
            self.roi.setSize((w, h))
            self.roi.blockSignals(False)
        if self._shape is not None:
            self.roi.maxBounds = QRectF(0, 0, self._shape[1], self._shape[0])
        self._roi_outline.setRect(x, y, w, h)
        self._roi_outline.show()

    def roi_rect(self):
        """The region shown ``(x, y, width, height)``, in whole pixels, or None."""
        if self.roi is None:
            return None
        pos, size = self.roi.pos(), self.roi.size()
        return (round(pos.x()), round(pos.y()), round(size.x()), round(size.y()))

    def _on_roi_moved(self, *_):
        rect = self.roi_rect()
        if rect is not None:
            self._roi_outline.setRect(*rect)
            self.roiChanged.emit(rect)

    def mark_pixel(self, position):
        """Outline the pixel ``(x, y)`` in both views (None: no outline)."""
        for mark in self._marks:
            if position is None or self._shape is None:
                mark.hide()
            else:
                mark.setRect(position[0], position[1], 1, 1)
                mark.show()

    def set_levels(self, levels, eq_levels=None):
        """Draw the original (and the equalized image) with other display levels."""
        if self.original_item.image is not None:
            self.original_item.setLevels(tuple(levels))
        if eq_levels is not None and self.equalized_item.image is not None:
            self.equalized_item.setLevels(tuple(eq_levels))

    def set_titles(self, original, equalized):
        """Text above the two views."""
        self.original_title.setText(original)
        self.equalized_title.setText(equalized)

    def set_images(self, original, equalized, levels, eq_levels=(0.0, 1.0)):
        """Show a new pair of images.

        Parameters
        ----------
        original : ndarray
            ``(H, W)`` or ``(H, W, C)``.
        equalized : ndarray or None
            Same shape, values in [0, 1]; None leaves the equalized view empty
            (the image could not be equalized).
        levels : tuple of float
            Fixed display levels of the original.
        eq_levels : tuple of float
            Display levels of the equalized image (its output range [0, 1]
            unless said otherwise).
        """
        shown = _displayable(original)
        if not _same_image(self.original_item, shown, levels):
            # Only a new original is drawn again: pyqtgraph downsamples a
            # large image on every setImage (some 20 ms at 2048x2048), and a
            # change of method, bins or scope keeps the original.
            self.original_item.setImage(shown, autoLevels=False, levels=tuple(levels))
        if equalized is None:
            self.equalized_item.clear()
        else:
            self.equalized_item.setImage(_displayable(equalized), autoLevels=False,
                                         levels=tuple(eq_levels))
        shape = original.shape[:2]
        if shape != self._shape:
            self._shape = shape
            for frame in self._frames:
                frame.setRect(0, 0, shape[1], shape[0])
            if self.roi is not None:
                self.roi.maxBounds = QRectF(0, 0, shape[1], shape[0])
            self.reset_zoom()

    def clear_images(self):
        """Show nothing.

        (Not ``clear``: GraphicsLayoutWidget binds ``clear`` to its layout on
        each instance, which would remove the views themselves.)
        """
        self.original_item.clear()
        self.equalized_item.clear()
        for frame in self._frames:
            frame.setRect(0, 0, 0, 0)
        self._shape = None

    def reset_zoom(self):
        """Fit the whole image in the views, and keep it fitted until the user zooms."""
        self._fitted = True
        self._refit()

    def _refit(self):
        if self._fitted and self._shape is not None:
            height, width = self._shape
            self.original_view.setRange(xRange=(0, width), yRange=(0, height), padding=0.0)

    def _on_user_zoom(self, *_):
        self._fitted = False

    def leaveEvent(self, event):
        """The mouse left the views: no pixel is under it any more."""
        super().leaveEvent(event)
        self.hovered.emit(-1, -1)

    def _on_mouse_moved(self, pos):
        for view in (self.original_view, self.equalized_view):
            if self._shape is not None and view.sceneBoundingRect().contains(pos):
                point = view.mapSceneToView(pos)
                x, y = math.floor(point.x()), math.floor(point.y())
                if 0 <= y < self._shape[0] and 0 <= x < self._shape[1]:
                    self.hovered.emit(x, y)
                    return
        self.hovered.emit(-1, -1)
