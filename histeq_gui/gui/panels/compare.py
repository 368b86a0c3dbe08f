"""The comparison panel: two settings side by side and their difference.

Setting A is the viewer's own (``state.setting``); setting B is
``state.compare``, a :class:`~histeq_gui.gui.setting.Setting` of its own.
Each has its rows of controls (the parameters' a
:class:`~histeq_gui.gui.param_form.ParamForm`), its equalized image and
its histogram with the map (the CDF) over it; the two transfer curves are
also drawn on one plot; the difference A - B is drawn on a diverging colour
map centred at 0 with a colour bar, its largest absolute value written out
and its pixel marked on all three images.  The numbers come from
:class:`~histeq_gui.gui.compare_model.CompareController` (the core's
``equalize``/``histogram`` through the viewer's own ``compute_view``, and
:func:`~histeq_gui.core.worked.compare_images`); nothing is computed here.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QSize, Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import (
    QAction,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.histogram import MAX_BINS, MIN_BINS
from ...core.methods import METHODS
from ..compare_model import CompareController, describe_setting
from ..image_views import BACKGROUND, ColumnTitle
from ..method_help import show_method_help
from ..param_form import ParamForm
from ..plots import CDF_COLOUR, HistogramPlot, TransferPlot, channel_colours
from .settings import scope_note
from .transfer import no_curve_note

__all__ = ["ComparePanel", "SettingControls", "CompareViews", "A_COLOUR", "B_COLOUR",
           "DIFF_COLOURMAP"]

A_COLOUR = CDF_COLOUR          # orange, as the viewer's own CDF
B_COLOUR = "#4dd0e1"           # cyan
MARK_COLOUR = "#ffd400"
DIFF_COLOURMAP = "CET-D1"      # blue - white - red, diverging, white at 0
_TEXT = "#e8eaed"
_SCOPES = (("image", "own histogram"), ("stack", "whole stack"))
BINS_INTERVAL_MS = 150
#: Differences below this are floating point rounding, not a difference of the settings.
ROUNDING = 1e-9


class SettingControls(QWidget):
    """Method, its parameters, bins and scope of one setting, bound both ways to ``target``.

    ``target`` is a :class:`~histeq_gui.gui.setting.Setting`: setting A
    (``state.setting``) or B (``state.compare``).  The method's parameters
    get one control each in a second row, the
    :class:`~histeq_gui.gui.param_form.ParamForm` of the settings panel;
    the scope "whole stack" is disabled, with the reason in its tooltip,
    for a method without it (CLAHE, matching).

    Attributes
    ----------
    params_form : ParamForm
        The method's parameters.
    notify : callable
        ``notify(text)``: where a value the registry refuses is said.
    """

    def __init__(self, name, colour, target, state, parent=None, notify=None):
        super().__init__(parent)
        self.target = target
        self.state = state
        self.name = name
        self.notify = notify or (lambda text: None)
        label = QLabel(f"<b style='color: {colour}'>{name}</b>")
        label.setMinimumWidth(14)
        self.method_combo = QComboBox()
        for method in METHODS:
            self.method_combo.addItem(method, method)
        self.method_combo.setToolTip(f"Setting {name}: equalization method")
        self.bins_spin = QSpinBox()
        self.bins_spin.setRange(MIN_BINS, MAX_BINS)
        self.bins_spin.setKeyboardTracking(False)
        self.bins_spin.setToolTip(f"Setting {name}: histogram bins")
        self.scope_combo = QComboBox()
        for scope, text in _SCOPES:
            self.scope_combo.addItem(text, scope)
        self.help_button = QToolButton()
        self.help_button.setText("?")
        self.help_button.setToolTip("How this method works")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(label)
        row.addWidget(self.method_combo, 1)
        row.addWidget(QLabel("bins"))
        row.addWidget(self.bins_spin)
        row.addWidget(self.scope_combo)
        row.addWidget(self.help_button)
        params_row = QHBoxLayout()
        params_row.setContentsMargins(18, 0, 0, 0)
        self.params_widget = QWidget()
        self.params_widget.setLayout(params_row)
        self.params_form = ParamForm(params_row, lambda: target.params, target.set_param,
                                     target.reset_param, notify=lambda text: self.notify(text),
                                     name=f"param_{name}",
                                     empty_text="{method} has no parameters besides bins")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.params_widget)
        self._bins_timer = QTimer(self)
        self._bins_timer.setSingleShot(True)
        self._bins_timer.setInterval(BINS_INTERVAL_MS)
        self._bins_timer.timeout.connect(lambda: target.set_bins(self.bins_spin.value()))
        self.method_combo.currentIndexChanged.connect(
            lambda i: target.set_method(self.method_combo.itemData(i)))
        self.bins_spin.valueChanged.connect(lambda _: self._bins_timer.start())
        self.bins_spin.editingFinished.connect(self.commit_bins)
        self.scope_combo.currentIndexChanged.connect(self._on_scope_picked)
        self.help_button.clicked.connect(lambda: show_method_help(self, target.method))
        target.changed.connect(self.sync)
        target.paramsChanged.connect(self.params_form.show_values)
        state.stackChanged.connect(lambda: self.params_form.set_stack(state.stack))
        state.stackChanged.connect(self.sync)
        self.params_form.set_stack(state.stack)
        self.sync()

    @property
    def param_controls(self):
        """Parameter name -> its control (the method's own parameters, not bins)."""
        return self.params_form.controls

    def commit_bins(self):
        """Write the bins shown to the setting now."""
        self._bins_timer.stop()
        self.target.set_bins(self.bins_spin.value())

    def _on_scope_picked(self, index):
        try:
            self.target.set_scope(self.scope_combo.itemData(index))
        except ValueError as exc:       # a scope the method lacks (the item is disabled)
            self.notify(str(exc))
            self.sync()

    def sync(self):
        """Show the setting's values (and whether its method uses the bins, has a stack scope)."""
        target = self.target
        self.params_form.set_method(target.method_spec)
        note = scope_note(target.method_spec)
        stack_item = self.scope_combo.model().item(self.scope_combo.findData("stack"))
        stack_item.setEnabled(note is None)
        stack_item.setText("whole stack" if note is None else "whole stack: n/a")
        self.scope_combo.setToolTip(
            f"Setting {self.name}: each image's own histogram, or one histogram of the whole "
            "stack" if note is None else f"Setting {self.name}: {note}")
        for widget, value in ((self.method_combo, target.method),
                              (self.scope_combo, target.scope)):
            index = widget.findData(value)
            if index != widget.currentIndex():
                widget.blockSignals(True)
                widget.setCurrentIndex(index)
                widget.blockSignals(False)
        if not self._bins_timer.isActive() and self.bins_spin.value() != target.bins:
            self.bins_spin.blockSignals(True)
            self.bins_spin.setValue(target.bins)
            self.bins_spin.blockSignals(False)
        stack = self.state.stack
        ignored = stack is not None and target.method_spec.ignores_bins(stack.dtype)
        self.bins_spin.setEnabled(not ignored)
        self.bins_spin.setToolTip("this method uses one bin per integer value here; bins is "
                                  "ignored" if ignored else "histogram bins")


class CompareViews(pg.GraphicsLayoutWidget):
    """Three linked image views: A, B and the difference A - B with its colour bar.

    Signals
    -------
    hovered(int, int)
        Pixel under the mouse, or ``(-1, -1)``.
    """

    hovered = pyqtSignal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.setAcceptDrops(False)
        self.ci.setContentsMargins(4, 4, 4, 4)
        self.ci.setSpacing(4)
        self.titles = [ColumnTitle("", color=_TEXT, size="9pt") for _ in range(3)]
        for col, title in enumerate(self.titles):
            self.addItem(title, row=0, col=col)
        self.views = []
        self.items = []
        self.marks = []
        for col in range(3):
            view = self.addViewBox(row=1, col=col, lockAspect=True, invertY=True,
                                   enableMenu=False)
            view.setBackgroundColor("#000000")
            view.setDefaultPadding(0.0)
            item = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
            view.addItem(item)
            mark = pg.ScatterPlotItem(size=20, symbol="o", pen=pg.mkPen(MARK_COLOUR, width=2),
                                      brush=None, pxMode=True)
            mark.setZValue(10)
            view.addItem(mark)
            if self.views:
                view.setXLink(self.views[0])
                view.setYLink(self.views[0])
            self.views.append(view)
            self.items.append(item)
            self.marks.append(mark)
            self.ci.layout.setColumnStretchFactor(col, 1)
        self.colour_map = pg.colormap.get(DIFF_COLOURMAP)
        self.items[2].setColorMap(self.colour_map)
        self.colour_bar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=self.colour_map,
                                          interactive=False, width=14, colorMapMenu=False)
        self.colour_bar.setImageItem(self.items[2])
        self.addItem(self.colour_bar, row=1, col=3)
        axis = self.colour_bar.getAxis("right")
        axis.setTextPen(_TEXT)
        self._shape = None
        self._fitted = True         # the image fills the views until the user zooms or pans
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.views[0].sigResized.connect(self._refit)
        for view in self.views:
            view.sigRangeChangedManually.connect(self._on_user_zoom)

    def set_images(self, a, b, difference, max_abs, position, levels=(0.0, 1.0)):
        """Draw A, B (values in [0, 1], or None) and the signed difference (or None).

        ``max_abs`` sets the colour bar to [-max_abs, max_abs] (white at 0);
        ``position`` ``(row, column)`` is marked on all three views.
        """
        shape = None
        for item, image in ((self.items[0], a), (self.items[1], b)):
            if image is None:
                item.clear()
                continue
            shape = image.shape[:2]
            shown = image[..., :3] if image.ndim == 3 and image.shape[-1] > 3 else image
            item.setImage(shown, autoLevels=False, levels=levels)
        if difference is None:
            self.items[2].clear()
        else:
            span = max_abs if max_abs is not None and math.isfinite(max_abs) and \
                max_abs >= ROUNDING else 1 / 255     # rounding only: drawn as white
            self.items[2].setImage(difference, autoLevels=False, levels=(-span, span))
            self.colour_bar.setLevels((-span, span))
            shape = difference.shape[:2]
        for mark in self.marks:
            if position is None:
                mark.clear()
            else:
                mark.setData([position[1] + 0.5], [position[0] + 0.5])
        if shape is not None and shape != self._shape:
            self._shape = shape
            self._fitted = True
            self._refit()

    def _refit(self):
        if self._fitted and self._shape is not None:
            height, width = self._shape
            self.views[0].setRange(xRange=(0, width), yRange=(0, height), padding=0.0)

    def _on_user_zoom(self, *_):
        self._fitted = False

    def set_titles(self, a, b, difference):
        """The three titles."""
        for title, text in zip(self.titles, (a, b, difference)):
            title.setText(text)

    def marked(self):
        """``(x, y)`` of the mark on the difference view (pixel centre), or None."""
        x, y = self.marks[2].getData()
        return None if len(x) == 0 else (float(x[0]), float(y[0]))

    def _on_mouse_moved(self, pos):
        for view in self.views:
            if self._shape is not None and view.sceneBoundingRect().contains(pos):
                point = view.mapSceneToView(pos)
                x, y = math.floor(point.x()), math.floor(point.y())
                if 0 <= y < self._shape[0] and 0 <= x < self._shape[1]:
                    self.hovered.emit(x, y)
                    return
        self.hovered.emit(-1, -1)


class ComparePanel(QWidget):
    """Two settings of one image side by side, and their difference.

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` (setting A and ``state.compare``, setting B) and
        ``controller`` (A's result) are used.

    Attributes
    ----------
    compare : CompareController
        B's computation and the pairing (active while the panel is shown).
    controls_a, controls_b : SettingControls
    views : CompareViews
    histogram_a, histogram_b : HistogramPlot
        Each setting's histogram of the image (its own bins) with its map.
    transfer : TransferPlot
        A's transfer curve with B's drawn over it.
    difference_label : QLabel
        The largest absolute difference and where it is.
    menu_actions : dict
        Help > How the methods work.
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = state = context.state
        self.controller = context.controller
        self.compare = CompareController(state, context.controller, self)
        self.controls_a = SettingControls("A", A_COLOUR, state.setting, state,
                                          notify=context.notify)
        self.controls_b = SettingControls("B", B_COLOUR, state.compare, state,
                                          notify=context.notify)
        self.swap_button = QPushButton("Swap A \u2194 B")
        self.swap_button.setToolTip("Exchange the two settings")
        self.difference_label = QLabel()
        self.difference_label.setTextFormat(Qt.RichText)
        self.difference_label.setWordWrap(True)
        self.hover_label = QLabel()
        self.hover_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.hover_label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        self.views = CompareViews()
        self.histogram_a = HistogramPlot("A · histogram + map")
        self.histogram_b = HistogramPlot("B · histogram + map")
        self.transfer = TransferPlot()
        self._b_curves = []

        controls = QGridLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.controls_a, 0, 0)
        controls.addWidget(self.controls_b, 0, 1)
        controls.addWidget(self.swap_button, 0, 2)
        controls.setColumnStretch(0, 1)
        controls.setColumnStretch(1, 1)
        info = QHBoxLayout()
        info.setContentsMargins(0, 0, 0, 0)
        info.addWidget(self.difference_label, 3)
        info.addWidget(self.hover_label, 2)
        plots = QSplitter(Qt.Horizontal)
        for plot in (self.histogram_a, self.histogram_b, self.transfer):
            plots.addWidget(plot)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.views)
        splitter.addWidget(plots)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(controls)
        layout.addLayout(info)
        layout.addWidget(splitter, 1)

        help_action = QAction("How the &methods work…", self)
        help_action.triggered.connect(lambda: show_method_help(self, self.state.method))
        self.menu_actions = {"Help": [help_action]}

        self.swap_button.clicked.connect(self.swap)
        self.views.hovered.connect(self._on_hover)
        self.compare.resultChanged.connect(self.show_comparison)
        self.compare.busyChanged.connect(lambda busy: self._show_busy(busy))
        state.stackChanged.connect(lambda: self.show_comparison(None))
        self.show_comparison(None)

    def sizeHint(self):
        """Qt: the preferred size, 900 × 560, room for A and B side by side."""
        return QSize(900, 560)

    @property
    def busy(self):
        """True while B is computed in a job."""
        return self.compare.busy

    def showEvent(self, event):
        """Qt: follow the viewer again while shown (B is brought up to date)."""
        super().showEvent(event)
        self.compare.set_active(True)

    def hideEvent(self, event):
        """Qt: stop following the viewer while hidden (B is not computed)."""
        super().hideEvent(event)
        self.compare.set_active(False)

    def swap(self):
        """Exchange settings A and B (methods, their parameters, bins and scopes)."""
        state, other = self.state.setting, self.state.compare
        a = (state.method, state.bins, state.scope, state.params)
        b = (other.method, other.bins, other.scope, other.params)
        for target, (method, bins, scope, params) in ((other, a), (state, b)):
            target.set_method(method)
            target.set_params(params)
            target.set_bins(bins)
            target.set_scope(scope)

    # ------------------------------------------------------------------ drawing
    def _titles(self, comparison):
        def title(name, colour, result, params):
            value_bins = bool(result.histograms) and result.histograms[0].value_bins
            text = describe_setting(result.method, result.bins, result.scope, value_bins,
                                    params)
            if result.equalized is None:
                text += " · cannot equalize"
            elif result.roi is None and self.state.roi is not None:
                text += f" · region ignored ({result.method} takes no mask)"
            return f"<span style='color: {colour}'><b>{name}</b></span> · {text}"
        return (title("A", A_COLOUR, comparison.a, self.state.params),
                title("B", B_COLOUR, comparison.b, self.state.compare.params),
                "<b>A \u2212 B</b> (blue: B brighter, red: A brighter)")

    def _show_busy(self, busy):
        if busy:
            self.difference_label.setText("computing setting B…")

    def show_comparison(self, comparison):
        """Draw a :class:`~histeq_gui.gui.compare_model.Comparison` (None: empty, saying why)."""
        self.comparison = comparison
        stack = self.state.stack
        if comparison is None:
            self.views.set_images(None, None, None, None, None)
            why = "no stack" if stack is None else "computing…"
            self.views.set_titles(f"A · {why}", f"B · {why}", "A \u2212 B")
            self.difference_label.setText("Open a stack to compare two settings."
                                          if stack is None else "computing…")
            for plot in (self.histogram_a, self.histogram_b):
                plot.set_histograms([], (0.0, 1.0))
            self.transfer.set_curves([], (0.0, 1.0), "Transfer curves A and B")
            self._set_b_curves([], (0.0, 1.0))
            return
        a, b, d = comparison.a, comparison.b, comparison.difference
        self.views.set_titles(*self._titles(comparison))
        self.views.set_images(a.equalized, b.equalized, None if d is None else d.image,
                              None if d is None else d.max_abs,
                              None if d is None else d.position)
        self.difference_label.setText(self._difference_text(comparison))
        levels = stack.levels
        self.histogram_a.set_histograms(a.histograms, levels,
                                        f"A · {a.method}: histogram of the image + its map")
        self.histogram_b.set_histograms(b.histograms, levels,
                                        f"B · {b.method}: histogram of the image + its map")
        self._recolour_cdf(self.histogram_b, B_COLOUR, len(b.histograms))
        curves = []
        for name, colour, result in (("A", A_COLOUR, a), ("B", B_COLOUR, b)):
            if no_curve_note(result) is None:
                curves.append(f"<span style='color: {colour}'>{name}</span>")
            else:
                curves.append(f"no curve for {name} ({result.method}: no single map)")
        self.transfer.set_curves(a.histograms if no_curve_note(a) is None else [], levels,
                                 "Transfer curves: " + " and ".join(curves))
        self._set_b_curves(b.histograms if no_curve_note(b) is None else [], levels)

    def _difference_text(self, comparison):
        d = comparison.difference
        if d is None:
            failed = [name for name, r in (("A", comparison.a), ("B", comparison.b))
                      if r.equalized is None]
            return f"No difference: setting {' and '.join(failed)} cannot equalize this image."
        if d.position is None:
            return "No pixel has a value in both results."
        row, col = d.position
        where = f"x = {col}, y = {row}"
        if d.channel is not None:
            where += f", {('red', 'green', 'blue', 'alpha')[min(d.channel, 3)]} channel"
        if d.max_abs < ROUNDING:
            return (f"A and B give the <b>same</b> image here: largest |A \u2212 B| = "
                    f"{d.max_abs:.6g} (floating point rounding) at {where}.")
        return (f"Largest |A \u2212 B| = <b>{d.max_abs:.6g}</b>{self._in_levels(d.max_abs)} "
                f"at {where} "
                f"(<span style='color: {MARK_COLOUR}'>\u25ef</span>); "
                f"mean |A \u2212 B| = {d.mean_abs:.4g}.")

    def _in_levels(self, value):
        """`` (5.2 of 255 levels)``: a difference in the export's integer levels ("" for floats)."""
        stack = self.state.stack
        if stack is None or stack.dtype.kind not in "iu":
            return ""
        info = np.iinfo(stack.dtype)
        span = float(info.max) - float(info.min)
        return f" ({value * span:.3g} of {span:.0f} levels)"

    @staticmethod
    def _recolour_cdf(plot, colour, n_channels):
        """Draw a gray image's CDF in the setting's colour (colour images keep theirs)."""
        if n_channels != 1:
            return
        plot.getPlotItem().setLabel("right", "CDF", color=colour)
        for item in plot.cdf_box.addedItems:
            if isinstance(item, pg.PlotDataItem):
                item.setPen(pg.mkPen(colour, width=2))

    def _set_b_curves(self, histograms, levels):
        item = self.transfer.getPlotItem()
        while len(self._b_curves) < len(histograms):
            self._b_curves.append(item.plot())
        while len(self._b_curves) > len(histograms):
            item.removeItem(self._b_curves.pop())
        n = len(histograms)
        for c, (h, curve) in enumerate(zip(histograms, self._b_curves)):
            x, y = h.coarsened(4096).transfer_curve(x_range=levels)
            colour = B_COLOUR if n == 1 else channel_colours(n)[c]
            curve.setData(x, y, pen=pg.mkPen(colour, width=2, style=Qt.DashLine))

    def b_curve(self, channel=0):
        """``(x, y)`` of B's transfer curve as drawn (for tests)."""
        return self._b_curves[channel].getOriginalDataset()

    def _on_hover(self, x, y):
        comparison = getattr(self, "comparison", None)
        if x < 0 or comparison is None or comparison.difference is None:
            self.hover_label.setText("")
            return
        a = comparison.a.equalized[y, x]
        b = comparison.b.equalized[y, x]
        d = comparison.difference.image[y, x]
        self.hover_label.setText(f"x = {x}, y = {y}: A {np.round(a, 4)}, B {np.round(b, 4)}, "
                                 f"A \u2212 B {d:+.4f}")

    def shutdown(self, timeout_ms=None):
        """Stop B's job (the window calls this when it closes)."""
        return self.compare.shutdown(timeout_ms)
