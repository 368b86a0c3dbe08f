"""'Why it is not flat': the equalized image's CDF, its merged levels, a second pass, colour.

Three plots explain why an equalized histogram is not flat:

- the CDF of the equalized image against the diagonal a perfectly flat
  histogram would follow (with its Kolmogorov-Smirnov distance);
- how many input levels each output level received: levels merge, none is
  split, so the output has at most as many levels as the input, with gaps;
- "Equalize again": the result equalized a second time (as saved in the
  image's dtype), each level's new value against its old one, and the
  largest change (equalization is nearly idempotent on its own levels).

For colour images a row below shows the colour lesson: per-channel
equalization (what the viewer does) beside equalization of the luminance
only, with the mean hue shift of each.  All numbers come from
:mod:`histeq_gui.core.worked` and :mod:`histeq_gui.core.colour`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QSize, Qt
from PyQt5.QtGui import QFont
from PyQt5.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core import colour
from ...core.worked import diagonal_distance, equalize_again, output_cdf, worked_table
from ..compute import needs_stack
from ..image_views import BACKGROUND, ColumnTitle
from ..method_help import show_method_help
from ..plots import CDF_COLOUR
from ..teaching import (
    CHANNEL_NAMES,
    WhenShown,
    Work,
    method_params,
    roi_mask,
    sample_pixels,
    table_levels,
)

__all__ = ["NotFlatPanel", "NotFlat", "not_flat", "SPACE_TEXTS"]

_TEXT = "#e8eaed"
_AGAIN_COLOUR = "#4dd0e1"
_BAR_COLOUR = "#6fa8dc"
SPACE_TEXTS = {"ycbcr": "luminance Y (YCbCr, BT.601)", "hsv": "value V (HSV)"}


@dataclass(frozen=True, eq=False)
class NotFlat:
    """What the panel draws for one image (made by :func:`not_flat`, in a job if big).

    Attributes
    ----------
    index, method, bins, scope, channel
        What it was made for.
    table : WorkedTable or str
        The worked table of the pixels that map the image (groups: merged
        levels); for a method without one (CLAHE, matching), why (one line).
    cdf : tuple of ndarray
        ``(values, fraction)``: the equalized channel's CDF.
    distance : float
        Its distance from the diagonal.
    again : Again or None
        The second pass (when asked for).
    per_channel, luminance : ndarray or None
        Colour images: the per-channel result and the luminance-only result.
    shifts : tuple of float or None
        Mean hue shift in degrees of each.
    """

    index: int
    method: str
    bins: int
    scope: str
    channel: int
    table: object
    cdf: tuple
    distance: float
    again: object = None
    per_channel: np.ndarray | None = None
    luminance: np.ndarray | None = None
    shifts: tuple | None = None
    original: np.ndarray | None = None


def not_flat(result, pixels, channel, levels, mask, again, space, params=None, stack=None,
             roi=None):
    """The numbers of the panel for a :class:`ViewResult` (Qt-free; may run in a job).

    Parameters
    ----------
    result : ViewResult
        The viewer's result for the image (its equalized image is used).
    pixels : ndarray
        The pixels whose histogram maps the image (one channel).
    channel : int
    levels : int or None
        ``L`` of the worked table (None: the dtype's); a method with its own
        ``levels`` (textbook) uses those (:func:`~histeq_gui.gui.teaching.table_levels`).
    mask : ndarray or None
        The region of interest.
    again : bool
        Also equalize the result again.
    space : str
        The colour space of the luminance-only result.
    params : dict, optional
        The method's parameters (``state.params``); stack-aware ones are
        resolved against ``stack`` (with ``roi``) for ``channel``.
    stack : LoadedStack, optional
    roi : tuple, optional

    Notes
    -----
    A method without a worked table (CLAHE, matching) has no merged levels
    to count: ``table`` is then the core's one-line reason (a str); the CDF,
    the second pass and the colour lesson are still made.
    """
    params = {} if params is None else params
    original = result.original
    equalized = result.equalized
    colour_image = original.ndim == 3
    own = (params if stack is None else
           method_params(stack, result.method_spec, result.bins, params, roi, channel))
    levels, table_params = table_levels(levels, result.method_spec, own, original.dtype,
                                        result.bins)
    try:
        table = worked_table(pixels, result.method, result.bins, levels=levels, mask=mask,
                             **table_params)
    except ValueError as exc:
        table = str(exc)
    plane = equalized[..., channel] if colour_image else equalized
    values, fraction = output_cdf(plane)
    second = None
    if again:
        image = original[..., channel] if colour_image else original
        # From what the viewer shows (its scope and region), not a fresh per-image pass.
        second = equalize_again(image, result.method, result.bins, first=plane, **own)
    per_channel = luminance = shifts = None
    if colour_image and original.shape[-1] in (3, 4):
        per_channel = equalized[..., :3]
        aware = {p.name for p in result.method_spec.stack_aware}
        if aware:
            # One luminance plane has no resolved reference of its own: matched to the image's.
            lum_params = {k: v for k, v in params.items() if k not in aware}
        else:
            lum_params = params
        luminance = colour.equalize_luminance(original, result.method, result.bins, space,
                                              **lum_params)[..., :3]
        unit = colour.as_unit_rgb(original)[..., :3]
        shifts = (colour.hue_shift(unit, per_channel), colour.hue_shift(unit, luminance))
    return NotFlat(result.index, result.method, result.bins, result.scope, channel, table,
                   (values, fraction), diagonal_distance(values, fraction), second, per_channel,
                   luminance, shifts, original)


def _plot(title, x_label, y_label):
    plot = pg.PlotWidget()
    plot.setMinimumHeight(170)
    plot.setBackground(BACKGROUND)
    plot.setAcceptDrops(False)
    item = plot.getPlotItem()
    item.setTitle(title, color=_TEXT, size="9pt")
    item.setMenuEnabled(False)
    item.hideButtons()
    item.setMouseEnabled(x=False, y=False)
    item.showGrid(x=True, y=True, alpha=0.15)
    font = QFont()
    font.setPointSizeF(8)
    for name, label in (("left", y_label), ("bottom", x_label)):
        axis = item.getAxis(name)
        axis.enableAutoSIPrefix(False)
        axis.setTextPen(_TEXT)
        axis.setPen("#80868b")
        axis.setStyle(tickFont=font, tickTextOffset=3)
        axis.setLabel(label, color=_TEXT, **{"font-size": "8pt"})
    item.getAxis("left").setWidth(44)
    return plot


def _steps(values, fraction):
    """The step function of a CDF from (0, 0) to (1, 1), for drawing."""
    x = np.concatenate([[0.0], np.repeat(values, 2), [1.0]])
    y = np.concatenate([[0.0, 0.0], np.repeat(fraction, 2)[:-1], [fraction[-1]]]) \
        if len(values) else np.array([0.0, 0.0])
    return x, y


class NotFlatPanel(WhenShown, QWidget):
    """Why the equalized histogram is not flat, for the image shown.

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` (levels ``L``, the ROI hook) and ``controller`` (the
        current result) are used.

    Attributes
    ----------
    cdf_plot, merged_plot, again_plot : pyqtgraph.PlotWidget
    again_button : QPushButton
        Checkable: also equalize the result again (on by default).
    numbers : NotFlat or None
        What is drawn.
    colour_views : pyqtgraph.GraphicsLayoutWidget
        Original | per channel | luminance only (colour images).
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = state = context.state
        self.controller = context.controller
        self.numbers = None
        self.work = Work("why not flat", self)
        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("The colour channel the plots explain")
        self.again_button = QPushButton("Equalize again")
        self.again_button.setCheckable(True)
        self.again_button.setChecked(True)
        self.again_button.setToolTip("Equalize the equalized image (as saved in the image's "
                                     "dtype) once more, and show what changes")
        self.space_combo = QComboBox()
        for space, text in SPACE_TEXTS.items():
            self.space_combo.addItem(text, space)
        self.space_combo.setToolTip("Which brightness the colour lesson equalizes")
        self.help_button = QPushButton("How it works")
        self.cdf_plot = _plot("CDF of the equalized image", "equalized value",
                              "fraction of pixels")
        self.merged_plot = _plot("Input levels merged into each output level",
                                 "output level s", "input levels")
        self.again_plot = _plot("Second pass: each level's new value", "after one pass",
                                "after two passes")
        cdf_item = self.cdf_plot.getPlotItem()
        cdf_item.plot([0, 1], [0, 1], pen=pg.mkPen("#80868b", width=1, style=Qt.DashLine))
        self.cdf_curve = cdf_item.plot(pen=pg.mkPen(CDF_COLOUR, width=2))
        self.cdf_again = cdf_item.plot(pen=pg.mkPen(_AGAIN_COLOUR, width=1.5,
                                                    style=Qt.DashLine))
        cdf_item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
        self.bars = pg.BarGraphItem(x=[], height=[], width=1.0, brush=_BAR_COLOUR, pen=None)
        self.merged_plot.getPlotItem().addItem(self.bars)
        again_item = self.again_plot.getPlotItem()
        again_item.plot([0, 1], [0, 1], pen=pg.mkPen("#80868b", width=1, style=Qt.DashLine))
        self.again_points = pg.ScatterPlotItem(size=5, pen=None,
                                               brush=pg.mkBrush(_AGAIN_COLOUR))
        again_item.addItem(self.again_points)
        again_item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
        self.cdf_text, self.merged_text, self.again_text = (self._note() for _ in range(3))
        self.colour_views = pg.GraphicsLayoutWidget()
        self.colour_views.setBackground(BACKGROUND)
        self.colour_titles = []
        self.colour_items = []
        views = []
        for col in range(3):
            title = ColumnTitle("", color=_TEXT, size="9pt")
            self.colour_views.addItem(title, row=0, col=col)
            self.colour_views.ci.layout.setColumnStretchFactor(col, 1)
            view = self.colour_views.addViewBox(row=1, col=col, lockAspect=True, invertY=True,
                                                enableMenu=False)
            view.setBackgroundColor("#000000")
            view.setDefaultPadding(0.0)
            if views:
                view.setXLink(views[0])
                view.setYLink(views[0])
            item = pg.ImageItem(axisOrder="row-major")
            view.addItem(item)
            views.append(view)
            self.colour_titles.append(title)
            self.colour_items.append(item)
        self._colour_views = views
        self._colour_shape = None
        views[0].sigResized.connect(self._fit_colour)
        self.colour_note = QLabel()
        self.colour_note.setWordWrap(True)
        self.colour_note.setTextFormat(Qt.RichText)

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        self.channel_label = QLabel("Channel")
        controls.addWidget(self.channel_label)
        controls.addWidget(self.channel_combo)
        controls.addWidget(self.again_button)
        self.space_label = QLabel("Colour lesson: equalize the")
        controls.addWidget(self.space_label)
        controls.addWidget(self.space_combo)
        controls.addStretch(1)
        controls.addWidget(self.help_button)
        top = QWidget()
        grid = QGridLayout(top)
        grid.setContentsMargins(0, 0, 0, 0)
        for col, (plot, text) in enumerate(((self.cdf_plot, self.cdf_text),
                                            (self.merged_plot, self.merged_text),
                                            (self.again_plot, self.again_text))):
            grid.addWidget(plot, 0, col)
            grid.addWidget(text, 1, col)
            grid.setColumnStretch(col, 1)
        grid.setRowStretch(0, 1)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.colour_note)
        bottom_layout.addWidget(self.colour_views, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(top, 1)
        layout.addWidget(bottom)
        self._layout = layout
        self._bottom = bottom

        self.channel_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.again_button.toggled.connect(lambda _: self.refresh())
        self.space_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.help_button.clicked.connect(lambda: show_method_help(self, self.state.method))
        self.controller.resultChanged.connect(lambda _: self.refresh())
        state.outputLevelsChanged.connect(lambda _: self.refresh())
        state.stackChanged.connect(self._on_stack)
        self._on_stack()

    @staticmethod
    def _note():
        label = QLabel()
        label.setWordWrap(True)
        label.setTextFormat(Qt.RichText)
        label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        return label

    def sizeHint(self):
        """Qt: the preferred size, 900 × 560, as the Compare view's."""
        return QSize(900, 560)

    @property
    def busy(self):
        """True while the numbers of a big image are computed."""
        return self.work.busy

    def _on_stack(self):
        stack = self.state.stack
        channels = 1 if stack is None else stack.channels
        self.channel_combo.blockSignals(True)
        self.channel_combo.clear()
        for c in range(min(channels, 3) if channels > 2 else channels):
            self.channel_combo.addItem(CHANNEL_NAMES[c] if channels > 2 else f"channel {c}", c)
        self.channel_combo.blockSignals(False)
        coloured = stack is not None and channels >= 3
        for widget in (self.channel_label, self.channel_combo):
            widget.setVisible(channels > 1)
        for widget in (self.space_label, self.space_combo):
            widget.setVisible(coloured)
        self.colour_views.setVisible(coloured)
        self._layout.setStretchFactor(self._bottom, 1 if coloured else 0)
        self.refresh()

    def refresh(self):
        """Recompute for the controller's current result (only while shown)."""
        if not self.wanted():
            return
        result, stack = self.controller.result, self.state.stack
        if stack is None or result is None or result.equalized is None:
            self.work.abandon()
            why = "no stack" if stack is None else (
                "computing…" if result is None else "this image cannot be equalized")
            self._show(None, why)
            return
        channel = max(self.channel_combo.currentData() or 0, 0)
        pixels = sample_pixels(stack, result.index, result.scope, channel)
        mask = roi_mask(self.state, stack.layout.image_shape)
        args = (result, pixels, channel, self.state.output_levels, mask,
                self.again_button.isChecked(), self.space_combo.currentData() or "ycbcr",
                self.state.params, stack, self.state.roi)
        extra = stack.size if needs_stack(result.method_spec) else 0
        self.work.request(lambda report: not_flat(*args), lambda numbers: self._show(numbers),
                          lambda message: self._show(None, message),
                          pixels.size + 3 * result.original.size + extra)

    # ------------------------------------------------------------------ drawing
    def _show(self, numbers, why=""):
        self.numbers = numbers
        if numbers is None:
            self.cdf_curve.setData([], [])
            self.cdf_again.setData([], [])
            self.bars.setOpts(x=[], height=[])
            self.again_points.clear()
            for label in (self.merged_text, self.again_text):
                label.setText("")
            self.cdf_text.setText(why)
            self.colour_note.setText("")
            return
        self._show_cdf(numbers)
        self._show_merged(numbers)
        self._show_again(numbers)
        self._show_colour(numbers)

    def _show_cdf(self, numbers):
        values, fraction = numbers.cdf
        self.cdf_curve.setData(*_steps(values, fraction))
        if numbers.again is not None:
            twice = numbers.again.twice
            plane = twice[..., numbers.channel] if twice.ndim == 3 else twice
            self.cdf_again.setData(*_steps(*output_cdf(plane)))
        else:
            self.cdf_again.setData([], [])
        again = (f" <span style='color: {_AGAIN_COLOUR}'>Dashed</span>: after a second pass."
                 if numbers.again is not None else "")
        self.cdf_text.setText(
            f"Flat would be the diagonal; the CDF can only <b>step</b> (one output value per "
            f"input level). Distance from the diagonal: <b>{numbers.distance:.3f}</b> "
            f"(Kolmogorov\u2013Smirnov).{again}")

    def _show_merged(self, numbers):
        table = numbers.table
        if isinstance(table, str):          # no worked table for this method: say why
            self.bars.setOpts(x=[], height=[])
            self.merged_text.setText(f"No merged levels to count: {html.escape(table)}")
            return
        s, k = table.inputs_per_output
        self.bars.setOpts(x=s, height=k, width=max(1.0, table.levels / 400))
        item = self.merged_plot.getPlotItem()
        item.setRange(xRange=(-0.5, table.levels - 0.5), yRange=(0, max(int(k.max()), 1) + 0.5),
                      padding=0.02)
        rows = "levels" if table.info["kind"] == "levels" else "bins"
        merged = table.merged
        biggest = max((len(r) for _, r in merged), default=1)
        empty = table.levels - table.levels_after
        text = (f"<b>{table.levels_before}</b> input {rows} &rarr; "
                f"<b>{table.levels_after}</b> output levels (L = {table.levels}): ")
        if merged:
            text += f"{len(merged)} receive 2 or more (up to {biggest}), "
        text += f"{empty} stay empty. Levels merge; none is ever split."
        self.merged_text.setText(text)

    def _show_again(self, numbers):
        again = numbers.again
        if again is None:
            self.again_points.clear()
            self.again_text.setText("Press <b>Equalize again</b> to equalize the result once "
                                    "more and see what changes.")
            return
        first = again.first if again.first.ndim == 2 else again.first[..., numbers.channel]
        twice = again.twice if again.twice.ndim == 2 else again.twice[..., numbers.channel]
        finite = np.isfinite(first) & np.isfinite(twice)
        pairs = np.unique(np.stack([first[finite], twice[finite]], axis=-1), axis=0)
        self.again_points.setData(pairs[:, 0], pairs[:, 1])
        d = again.difference
        levels = d.max_abs / again.step if again.step else float("nan")
        if again.changed == 0:
            verdict = "nothing moves by half a level: <b>idempotent</b> on its levels."
        else:
            verdict = (f"{again.changed:,} values move by half a level or more: not "
                       "idempotent.")
        self.again_text.setText(
            f"Largest change <b>{d.max_abs:.4g}</b> ({levels:.2f} levels); levels "
            f"{again.levels_first} &rarr; {again.levels_twice}; {verdict}")

    def _show_colour(self, numbers):
        if numbers.per_channel is None:
            stack = self.state.stack
            gray = stack is None or stack.channels < 3
            self.colour_note.setText("The colour lesson needs a colour (RGB) image."
                                     if gray else "")
            for item in self.colour_items:
                item.clear()
            return
        per, lum = numbers.shifts
        space = SPACE_TEXTS[self.space_combo.currentData() or "ycbcr"]
        self.colour_note.setText(
            f"<b>Colour</b>: R, G and B each with its own map change their proportions: the "
            f"hue shifts by <b>{per:.1f}\u00b0</b> on average; equalizing only the {space} "
            f"keeps it (<b>{lum:.1f}\u00b0</b>).")
        levels = self.state.stack.levels
        original = numbers.original[..., :3]
        images = ((original, levels), (numbers.per_channel, (0.0, 1.0)),
                  (numbers.luminance, (0.0, 1.0)))
        for item, (image, lv) in zip(self.colour_items, images):
            item.setImage(image, autoLevels=False, levels=lv)
        titles = ("Original", f"Per channel (R, G, B) · hue shift {per:.1f}\u00b0",
                  f"Luminance only · hue shift {lum:.1f}\u00b0")
        for title, text in zip(self.colour_titles, titles):
            title.setText(text)
        self._colour_shape = original.shape[:2]
        self._fit_colour()

    def _fit_colour(self):
        """Fit the colour images in their views (again after every resize)."""
        if self._colour_shape is not None:
            h, w = self._colour_shape
            self._colour_views[0].setRange(xRange=(0, w), yRange=(0, h), padding=0.0)

    def shutdown(self, timeout_ms=None):
        """Stop the panel's job (the window calls this when it closes)."""
        return self.work.shutdown(timeout_ms)
