"""The thumbnail grid panel: the whole stack as a montage, original or equalized.

:class:`ThumbnailGrid` is a scroll area that paints only the cells in view,
so it costs the same for 60 images or 100,000.  The thumbnails of a page
are made together (:class:`~histeq_gui.gui.thumbnails.Thumbnails`: one
``equalize`` call per page) in the paint when they are cheap (small images),
else in a background job while the cells show a placeholder; the next page
is made ahead while the grid is idle.  The grid shows the inspection's rows
(filtered, brushed and sorted as the table), marks flagged images with a
coloured square per flag, frames the current image, and opens an image when
it is clicked.  Clicking a member of a set of near (or exact) duplicates,
here or in the table, shows that set side by side until *Show all*
(:attr:`~histeq_gui.gui.inspection.Inspection.focus`); for a folder tree, a
:class:`~histeq_gui.gui.label_filter.LabelChooser` shows one label's images
(shared with the table).
"""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QEvent, QRect, QSize, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QPainter, QPen
from PyQt5.QtWidgets import (
    QAbstractScrollArea,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ...core.words import count
from ..image_views import BACKGROUND
from ..inspection import FLAGS, OUTLIER_BIT, OUTLIER_COLOURS, want_while_shown
from ..jobs import Runner
from ..label_filter import LabelChooser, label_text
from ..thumbnails import DEFAULT_SIZE, ORIGINAL, SYNC_VALUES, Thumbnails, Variant

__all__ = ["ThumbnailGrid", "GridPanel", "SIZES"]

SIZES = (64, 96, 128, 192)
_PAD = 5
_CELL_BACK = "#303134"         # the square a thumbnail is letterboxed in
_SET_BACK = "#4a4d51"          # the cells of every other set, when sets are shown in a row
_CURRENT = "#8ab4f8"
_CAPTION = "#bdc1c6"
_MARK = 9                      # side of a flag's square
_FLAG_MARKS = [(bit, QColor(colour)) for bit, _, colour, _, _ in FLAGS.values()]
_FLAG_MARKS.append((OUTLIER_BIT, QColor(OUTLIER_COLOURS[0])))
# made once, not for every cell drawn
_BACK_COLOUR, _CAPTION_COLOUR, _MARK_EDGE = QColor(_CELL_BACK), QColor(_CAPTION), QColor("#000")
_SET_COLOUR = QColor(_SET_BACK)
_CURRENT_PEN, _SELECTED_PEN = QPen(QColor(_CURRENT), 3), QPen(QColor(_CURRENT), 1)
_CURRENT_TEXT = QColor("#ffffff")


class ThumbnailGrid(QAbstractScrollArea):
    """A virtual grid of thumbnails of the inspection's rows.

    Parameters
    ----------
    inspection : Inspection
        Gives the rows shown (:attr:`Inspection.rows`), the flags and the
        current image (``inspection.state.index``).

    Signals
    -------
    clicked(int)
        The image index of a clicked thumbnail.
    escaped()
        Escape was pressed (back from a set to all the rows).

    Attributes
    ----------
    runner : Runner
        Jobs that make thumbnails too slow to make in the paint.
    """

    clicked = pyqtSignal(int)
    escaped = pyqtSignal()

    def __init__(self, inspection, parent=None):
        super().__init__(parent)
        self.inspection = inspection
        self.runner = Runner("thumbnails", self)
        self.thumbnails = None
        self.variant = ORIGINAL
        self._size = DEFAULT_SIZE
        self._rows = np.zeros(0, np.int64)
        self._shade = None              # per position: True for the cells of every other set
        self._selected = None           # per image: selected in the table (when several are)
        self._current = -1
        self._job_key = None
        self._caption_font = QFont(self.font())
        self._caption_font.setPointSizeF(max(self.font().pointSizeF() * 0.85, 6.5))
        self._caption_height = self.fontMetrics().height()
        self._prefetch_timer = QTimer(self)
        self._prefetch_timer.setSingleShot(True)
        self._prefetch_timer.setInterval(30)
        self._prefetch_timer.timeout.connect(self._prefetch)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOn)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.StrongFocus)
        self.viewport().setMouseTracking(False)
        self.viewport().setAutoFillBackground(False)

    # ------------------------------------------------------------------ what is shown
    def set_stack(self, stack):
        """Show thumbnails of ``stack`` (None: nothing); the cache starts empty."""
        self.runner.abandon()
        self._job_key = None
        self.thumbnails = None if stack is None else Thumbnails(stack, self._size)
        self.verticalScrollBar().setValue(0)
        self.viewport().update()

    def set_rows(self, rows, sets=None):
        """The image indices to show, in order.

        ``sets`` (one set number per row, optional): rows of consecutive
        sets are told apart by the shade of their cells.
        """
        self._rows = np.asarray(rows, np.int64)
        self._shade = None
        if sets is not None and len(self._rows):
            sets = np.asarray(sets)
            starts = np.concatenate([[0], np.flatnonzero(sets[1:] != sets[:-1]) + 1])
            run = np.zeros(len(sets), np.int64)
            run[starts[1:]] = 1
            self._shade = np.cumsum(run) % 2 == 1
        self._update_scroll_range()
        self.viewport().update()

    def set_variant(self, variant):
        """Draw this :class:`~histeq_gui.gui.thumbnails.Variant` of the images."""
        if variant != self.variant:
            self.variant = variant
            self.runner.abandon()
            self._job_key = None
            self.viewport().update()

    def set_thumbnail_size(self, size):
        """Longest side of a thumbnail, in pixels (the cache starts again)."""
        size = int(size)
        if size != self._size:
            first = self.first_visible()
            self._size = size
            if self.thumbnails is not None:
                self.set_stack(self.thumbnails.stack)
            self._update_scroll_range()
            if first >= 0:
                self.ensure_visible(first, top=True)

    @property
    def thumbnail_size(self):
        """Longest side of a thumbnail, in pixels."""
        return self._size

    def set_selected(self, indices, n_images):
        """Mark these images as selected (nothing is marked for one or none)."""
        if len(indices) > 1:
            self._selected = np.zeros(n_images, bool)
            self._selected[indices] = True
        else:
            self._selected = None
        self.viewport().update()

    def set_current(self, index):
        """Frame image ``index`` as the one shown."""
        if index != self._current:
            self._current = index
            self.viewport().update()

    # ------------------------------------------------------------------ geometry
    def cell_size(self):
        """``(width, height)`` of one cell: the thumbnail's square, a margin, a caption."""
        return self._size + 2 * _PAD, self._size + 2 * _PAD + self._caption_height

    def columns(self):
        """Cells per row at the current width."""
        return max(1, self.viewport().width() // self.cell_size()[0])

    def _origin_x(self):
        width = self.cell_size()[0]
        return max(0, (self.viewport().width() - self.columns() * width) // 2)

    def _update_scroll_range(self):
        _, height = self.cell_size()
        lines = -(-len(self._rows) // self.columns())
        bar = self.verticalScrollBar()
        bar.setRange(0, max(0, lines * height - self.viewport().height()))
        bar.setPageStep(max(self.viewport().height(), 1))
        bar.setSingleStep(max(height // 3, 1))

    def resizeEvent(self, event):
        """Qt: set the scroll range for the number of columns at the new width."""
        super().resizeEvent(event)
        self._update_scroll_range()

    def _cell_rect(self, position, geometry=None):
        """The cell of ``position`` in viewport coordinates (``geometry``: :meth:`_geometry`)."""
        width, height, columns, left, top = geometry or self._geometry()
        line, column = divmod(int(position), columns)
        return QRect(left + column * width, line * height - top, width, height)

    def _geometry(self):
        """``(cell width, cell height, columns, left margin, scroll)``, once per paint."""
        width, height = self.cell_size()
        return width, height, self.columns(), self._origin_x(), self.verticalScrollBar().value()

    def visible_positions(self):
        """``range`` of the positions in :attr:`rows` whose cells are (partly) in view."""
        _, height = self.cell_size()
        top = self.verticalScrollBar().value()
        columns = self.columns()
        first_line = top // height
        last_line = (top + self.viewport().height() - 1) // height
        start = first_line * columns
        return range(min(start, len(self._rows)),
                     min((last_line + 1) * columns, len(self._rows)))

    def visible_indices(self):
        """Image indices in view, in order."""
        span = self.visible_positions()
        return self._rows[span.start:span.stop]

    def first_visible(self):
        """The first image index in view, or -1."""
        indices = self.visible_indices()
        return int(indices[0]) if len(indices) else -1

    def position_at(self, point):
        """Position in :attr:`rows` of the cell at ``point`` (viewport coordinates), or -1."""
        width, height = self.cell_size()
        x = point.x() - self._origin_x()
        y = point.y() + self.verticalScrollBar().value()
        columns = self.columns()
        if x < 0 or x >= columns * width or y < 0:
            return -1
        position = (y // height) * columns + x // width
        return int(position) if position < len(self._rows) else -1

    def index_at(self, point):
        """Image index of the cell at ``point`` (viewport coordinates), or -1."""
        position = self.position_at(point)
        return -1 if position < 0 else int(self._rows[position])

    def ensure_visible(self, index, top=False):
        """Scroll so that image ``index`` is in view (at the top if ``top``)."""
        position = self.inspection.row_of(index) if self._rows is self.inspection.rows \
            else _find(self._rows, index)
        if position < 0:
            return
        _, height = self.cell_size()
        line_top = (position // self.columns()) * height
        bar = self.verticalScrollBar()
        if top or line_top < bar.value():
            bar.setValue(line_top)
        elif line_top + height > bar.value() + self.viewport().height():
            bar.setValue(line_top + height - self.viewport().height())

    # ------------------------------------------------------------------ making thumbnails
    def _ensure(self, indices):
        """Make the missing thumbnails of ``indices``: now if cheap, else in a job.

        Returns True if they are all there now.
        """
        thumbs, variant = self.thumbnails, self.variant
        if thumbs is None:
            return True
        missing = thumbs.missing(variant, indices)
        if not missing:
            return True
        if thumbs.ready(variant) and thumbs.values(missing) <= SYNC_VALUES:
            thumbs.store(variant, thumbs.make(variant, missing))
            return True
        self._start_job(thumbs, variant, missing)
        return False

    def _start_job(self, thumbs, variant, missing):
        key = (id(thumbs), variant, tuple(missing))
        if key == self._job_key and self.runner.busy:
            return
        self._job_key = key

        def done(made):
            self._job_key = None
            if thumbs is self.thumbnails:
                thumbs.store(variant, made)
                self.viewport().update()

        def failed(message, error):
            done({i: None for i in missing})

        self.runner.start(lambda report: thumbs.make(
            variant, missing, lambda d, t: report("Thumbnails", d, t)),
            on_done=done, on_error=failed, name="thumbnails")

    def _prefetch(self):
        """Make the page below (then above) the view ahead, while nothing else is made."""
        if self.thumbnails is None or self.runner.busy:
            return
        span = self.visible_positions()
        count = max(len(span), self.columns())
        below = self._rows[span.stop:span.stop + count]
        above = self._rows[max(span.start - count, 0):span.start]
        for indices in (below, above):
            if len(indices) and not self._ensure(indices):
                return          # a job makes them; it prefetches further when it is done

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event):
        """Qt: draw the visible thumbnails with their marks and captions (or "No stack")."""
        painter = QPainter(self.viewport())
        painter.fillRect(event.rect(), QColor(BACKGROUND))
        if self.thumbnails is None or not len(self._rows):
            painter.setPen(QColor(_CAPTION))
            painter.drawText(self.viewport().rect(), Qt.AlignCenter,
                             "No images to show" if self.thumbnails is not None else "No stack")
            painter.end()
            return
        span = self.visible_positions()
        indices = self._rows[span.start:span.stop]
        complete = self._ensure(indices)
        inspection = self.inspection
        selected = self._selected
        geometry = self._geometry()
        painter.setFont(self._caption_font)
        for position, index in zip(span, indices):
            rect = self._cell_rect(position, geometry)
            if not rect.intersects(event.rect()):
                continue
            index = int(index)
            if self._shade is not None and self._shade[position]:
                painter.fillRect(rect.adjusted(1, 1, -1, -1), _SET_COLOUR)
            self._paint_cell(painter, rect, index, inspection.flags(index),
                             selected is not None and index < len(selected) and selected[index])
        painter.end()
        if complete:
            self._prefetch_timer.start()

    def _paint_cell(self, painter, rect, index, bits, selected):
        size = self._size
        square = QRect(rect.x() + _PAD, rect.y() + _PAD, size, size)
        painter.fillRect(square, _BACK_COLOUR)
        found, image = self.thumbnails.get(self.variant, index)
        if found and image is not None:
            x = square.x() + (size - image.width()) // 2          # letterboxed
            y = square.y() + (size - image.height()) // 2
            painter.drawImage(x, y, image)
        else:
            painter.setPen(_CAPTION_COLOUR)
            painter.drawText(square, Qt.AlignCenter, "…" if not found else "cannot\nequalize")
        if bits:
            x = square.x() + 2
            for bit, colour in _FLAG_MARKS:
                if bits & bit:
                    mark = QRect(x, square.y() + 2, _MARK, _MARK)
                    painter.fillRect(mark.adjusted(-1, -1, 1, 1), _MARK_EDGE)
                    painter.fillRect(mark, colour)
                    x += _MARK + 3
        if index == self._current:
            painter.setPen(_CURRENT_PEN)
            painter.drawRect(square.adjusted(-2, -2, 1, 1))
        elif selected:
            painter.setPen(_SELECTED_PEN)
            painter.drawRect(square.adjusted(-1, -1, 0, 0))
        painter.setPen(_CURRENT_TEXT if index == self._current else _CAPTION_COLOUR)
        caption = QRect(rect.x(), square.bottom() + 2, rect.width(), self._caption_height)
        text, label = str(index), self.inspection.label_of(index)
        if label is not None:               # a folder tree: the image's label too
            text = painter.fontMetrics().elidedText(f"{text} · {label_text(label)}",
                                                    Qt.ElideRight, rect.width())
        painter.drawText(caption, Qt.AlignHCenter | Qt.AlignTop, text)

    def scrollContentsBy(self, dx, dy):
        """Qt: repaint the cells at the new scroll position (they are drawn, not scrolled)."""
        self.viewport().update()

    # ------------------------------------------------------------------ input
    def mousePressEvent(self, event):
        """Qt: a left click on a thumbnail emits :attr:`clicked` with its image."""
        if event.button() == Qt.LeftButton:
            index = self.index_at(event.pos())
            if index >= 0:
                self.clicked.emit(index)
                event.accept()
                return
        super().mousePressEvent(event)

    def viewportEvent(self, event):
        """Qt: a thumbnail's tooltip, its image number and why it is flagged."""
        if event.type() == QEvent.ToolTip:
            index = self.index_at(event.pos())
            if index >= 0:
                lines = [f"image {index}"] + self.inspection.reasons(index)
                QToolTip.showText(event.globalPos(), "\n".join(lines), self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def keyPressEvent(self, event):
        """Up/Down move the current image a line of the grid (in the grid's order)."""
        if event.key() == Qt.Key_Escape:
            self.escaped.emit()
            event.accept()
            return
        step = {Qt.Key_Up: -1, Qt.Key_Down: 1}.get(event.key())
        position = self.inspection.row_of(self._current)
        if step is None or position < 0 or self._rows is not self.inspection.rows:
            super().keyPressEvent(event)
            return
        target = position + step * self.columns()
        if 0 <= target < len(self._rows):
            self.clicked.emit(int(self._rows[target]))
        event.accept()

    def shutdown(self, timeout_ms=None):
        """Stop the thumbnail job and wait for its thread."""
        self._prefetch_timer.stop()
        return self.runner.shutdown(timeout_ms)

    def sizeHint(self):
        """Qt: the preferred size, six cells wide and two high."""
        width, height = self.cell_size()
        return QSize(width * 6 + 20, height * 2)


def _find(rows, index):
    hits = np.flatnonzero(rows == index)
    return int(hits[0]) if len(hits) else -1


class GridPanel(QWidget):
    """The thumbnail grid with its controls: original / equalized, size, what is shown.

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` and ``inspection`` are used.

    Attributes
    ----------
    grid : ThumbnailGrid
    original_button, equalized_button : QToolButton
        Which picture of each image the grid shows.
    size_combo : QComboBox
    label_combo : LabelChooser
        Which label of a folder tree to show, with each label's count
        (hidden for a stack without labels).
    count_label : QLabel
        How many images are shown, and why not all.
    set_label : QLabel
        The set of duplicates shown side by side, when one is.
    show_all_button : QToolButton
        Back from a set to the rows of the table.
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = state = context.state
        self.inspection = inspection = context.inspection
        self.grid = ThumbnailGrid(inspection)
        self.original_button = self._toggle("Original", "Thumbnails of the original images, "
                                            "with the stack's display levels")
        self.equalized_button = self._toggle("Equalized", "Thumbnails equalized with the "
                                             "method, bins and scope of the settings")
        self.original_button.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.original_button)
        group.addButton(self.equalized_button)
        self.size_combo = QComboBox()
        for size in SIZES:
            self.size_combo.addItem(f"{size} px", size)
        self.size_combo.setCurrentIndex(SIZES.index(DEFAULT_SIZE))
        self.size_combo.setToolTip("Thumbnail size")
        self.label_combo = LabelChooser(inspection)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: palette(dark);")
        self.set_label = QLabel()
        self.set_label.setStyleSheet("color: #e37400;")
        self.show_all_button = QToolButton()
        self.show_all_button.setText("Show all")
        self.show_all_button.setToolTip("Back to every image the table shows (Escape)")
        self.show_all_button.setAutoRaise(True)
        legend = QLabel(" ".join(
            f"<span style='color:{colour}'>■</span>&nbsp;{label.replace('information', 'info')}"
            for _, label, colour, _, _ in FLAGS.values())
            + f" <span style='color:{OUTLIER_COLOURS[0]}'>■</span>&nbsp;outlier")
        legend.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        legend.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        legend.setToolTip("Flagged images carry a coloured square per flag (CleanVision's "
                          "default thresholds; outliers of the table's outlier filter)")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.original_button)
        bar.addWidget(self.equalized_button)
        bar.addWidget(self.size_combo)
        bar.addWidget(self.label_combo)
        bar.addWidget(self.count_label)
        bar.addWidget(self.set_label)
        bar.addWidget(self.show_all_button)
        bar.addWidget(legend, 1)                    # shrinks (clipped) in a narrow dock
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.grid, 1)

        self.grid.clicked.connect(self._on_click)
        self.grid.escaped.connect(inspection.clear_focus)
        self.show_all_button.clicked.connect(inspection.clear_focus)
        group.buttonToggled.connect(lambda *_: self._show_variant())
        self.size_combo.currentIndexChanged.connect(
            lambda _: self.grid.set_thumbnail_size(self.size_combo.currentData()))
        state.stackChanged.connect(self._on_stack)
        state.indexChanged.connect(self._on_index)
        state.changed.connect(self._show_variant)
        inspection.rowsChanged.connect(self._on_rows)
        inspection.focusChanged.connect(self._on_rows)
        inspection.tableChanged.connect(self.grid.viewport().update)
        inspection.selectionChanged.connect(
            lambda: self.grid.set_selected(inspection.selected, state.n_images))
        want_while_shown(self, inspection)      # the flags come from the statistics
        self._on_stack()

    def _toggle(self, text, tip):
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setCheckable(True)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.NoFocus)
        return button

    @property
    def equalized(self):
        """True when the grid shows equalized thumbnails."""
        return self.equalized_button.isChecked()

    def set_equalized(self, equalized):
        """Show equalized (True) or original (False) thumbnails."""
        (self.equalized_button if equalized else self.original_button).setChecked(True)

    def variant(self):
        """The :class:`Variant` the buttons and the state ask for."""
        state = self.state
        if not self.equalized or state.stack is None:
            return ORIGINAL
        bins = None if state.method_spec.ignores_bins(state.stack.dtype) else state.bins
        return Variant.equalized(state.method_spec, bins, state.scope, state.params)

    def _show_variant(self):
        self.grid.set_variant(self.variant())

    def _on_stack(self):
        self.grid.set_stack(self.state.stack)
        self._show_variant()
        self._on_rows()
        self._on_index(self.state.index)

    def _on_click(self, index):
        """A thumbnail clicked: show the image, and its set of duplicates side by side."""
        self.inspection.show_set(index)
        self.state.set_index(index)

    def _on_rows(self):
        focus = self.inspection.focus
        rows = self.inspection.rows if focus is None else focus[2]
        self.grid.set_rows(rows, None if focus is not None else self.inspection.row_sets())
        shown, total = len(rows), self.state.n_images
        if self.state.stack is None:
            text = ""
        elif focus is not None:
            text = ""
        elif shown == total:
            text = count(total, "image")
        else:
            text = f"{shown:,} of {count(total, 'image')}"
        if self.state.stack is not None and self.inspection.label is not None:
            text += f" · {label_text(self.inspection.label)}"
        self.count_label.setText(text)
        self.count_label.setVisible(focus is None)
        if focus is not None:
            kind, index, members = focus
            self.set_label.setText(f"{kind} set of image {index}: {len(members)} images "
                                   "side by side")
        self.set_label.setVisible(focus is not None)
        self.show_all_button.setVisible(focus is not None)
        self.grid.ensure_visible(self.state.index)

    def _on_index(self, index):
        self.grid.set_current(index)
        self.grid.ensure_visible(index)

    def sizeHint(self):
        """Qt: the preferred size, that of the histograms it shares the dock with."""
        return QSize(700, 290)          # as the histograms it shares the dock with

    def shutdown(self, timeout_ms=None):
        """Stop making thumbnails and wait for the job's thread (the window is closing)."""
        return self.grid.shutdown(timeout_ms)
