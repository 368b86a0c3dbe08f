"""The transfer-curve panel: input value -> equalized value, and one value traced in words.

A method without one map for the whole image (CLAHE: each pixel by its
neighbourhood; ``get_method(m).kind(dtype) == "image"`` and no ``curve``)
has no transfer curve: the panel hides the plot and says why in one line,
and the trace gives the pixel's own equalized value instead of a map.
"""

from __future__ import annotations

import html

import numpy as np
from PyQt5.QtCore import QSize, Qt
from PyQt5.QtGui import QFontMetrics
from PyQt5.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from ...core.convert import convert, output_dtype
from ..plots import TransferPlot, channel_names, format_number
from .histograms import equalized_axis, original_axis

__all__ = ["TransferPanel", "trace_text", "local_trace_text", "no_curve_note", "TRACE_HINT"]

TRACE_HINT = ("<span style='color:#9aa0a6'>Hover a pixel of the original (or a bin of its "
              "histogram) to trace its value through the mapping.</span>")


def no_curve_note(result):
    """Why ``result`` has no transfer curve (one line), or None when it has one.

    That is when its histograms have no single map (``Histogram.global_map``
    False: the method's ``kind`` is "image" for these pixels and it has no
    ``curve``, as CLAHE).
    """
    hists = result.histograms if result is not None else ()
    if not hists or hists[0].global_map:
        return None
    label = {"clahe": "CLAHE"}.get(result.method, result.method)
    return (f"{label} maps each pixel by its neighbourhood: no single transfer curve. "
            "The histograms show what it did.")


def local_trace_text(result, position):
    """The pixel at ``position`` of a result without a single map: its value in and out."""
    pixel = result.pixel(position)
    if pixel is None:
        return TRACE_HINT
    original, equalized = pixel
    if equalized is None:
        return TRACE_HINT
    original, equalized = np.atleast_1d(original), np.atleast_1d(equalized)
    names = channel_names(len(original))
    parts = [f"{name}<b>{format_number(o)}</b> → <b>{e:.4f}</b>"
             for name, o, e in zip(names, original, equalized)]
    return (f"<b>Pixel x {position[0]}, y {position[1]}</b>: " + ", ".join(parts) +
            f"<br>{html.escape(result.method)} maps each pixel by its neighbourhood: the same "
            "value elsewhere maps to another output.")


def _bin_line(t):
    if t.bin is None:
        return "not a finite number: left out of the histogram, it stays NaN"
    if t.bin < 0:
        return "below the histogram's first bin: no counted pixel is darker"
    if t.bin >= t.n_bins:
        return "above the histogram's last bin: no counted pixel is brighter"
    if t.value_bins:
        where = f"its own bin (one per value, {t.n_bins:,} bins)"
    else:
        where = (f"bin {t.bin} of {t.n_bins:,}, [{format_number(t.low)}, "
                 f"{format_number(t.high)})")
    return f"{where}: <b>{t.count:,}</b> pixel{'' if t.count == 1 else 's'}"


def _method_words(method, t):
    if method == "numpy":
        return "numpy interpolates the CDF between left edges"
    if method == "skimage" and t.value_bins:
        return "skimage takes the CDF at this value"
    if method == "skimage":
        return "skimage interpolates the CDF between bin centres"
    return f"{html.escape(method)} maps it"


def trace_text(traces, method, dtype, position=None):
    r"""The trace of one value, in plain words and numbers (rich text, a few short lines).

    Parameters
    ----------
    traces : list of Trace
        One per channel (see :meth:`ViewResult.trace`).
    method : str
    dtype : numpy.dtype
        The original's dtype (the export's scale is ``histeq``'s default
        output for it).
    position : tuple, optional
        ``(x, y)`` of the pixel traced (None: a value picked on the histogram).

    Examples
    --------
    >>> import numpy as np
    >>> from histeq_gui import histogram
    >>> from histeq_gui.core.trace import trace_value
    >>> h = histogram(np.array([[0, 1], [2, 3]], np.uint8), "numpy", bins=4)
    >>> text = trace_text([trace_value(h, 1)], "numpy", np.dtype(np.uint8), (1, 0))
    >>> print(text.replace("<br>", "\n").replace("<b>", "").replace("</b>", ""))
    Value 1 at pixel x 1, y 0
    bin 1 of 4, [0.75, 1.5): 1 pixel
    this bin and below: 2 of 4 pixels = 0.5000 (the CDF)
    numpy interpolates the CDF between left edges
    → 0.5833 in 0..1 = 149 in the uint8 export
    """
    target = output_dtype("same", dtype)

    def exported(t):
        value = convert(np.array([t.output]), "same", dtype)[0]
        return f"{int(value)}" if target.kind in "iu" else format_number(value)

    if len(traces) > 1:                     # colour: one line per channel
        lines = [f"<b>Pixel x {position[0]}, y {position[1]}</b>" if position is not None
                 else "<b>Value traced in every channel</b>"]
        for name, t in zip(channel_names(len(traces)), traces):
            if t.bin is None:
                lines.append(f"{name}NaN: stays NaN")
                continue
            out = f" = {exported(t)}" if target.kind in "iu" else ""
            lines.append(f"{name}<b>{format_number(t.value)}</b>: {t.count:,} px in its bin, "
                         f"CDF {t.fraction:.4f} → <b>{t.output:.4f}</b>{out}")
        last = f"; = {target} export" if target.kind in "iu" else ""
        lines.append(f"({_method_words(method, traces[0])}{last})")
        return "<br>".join(lines)
    t = traces[0]
    head = f"<b>Value {format_number(t.value)}</b>"
    if position is not None:
        head += f" at pixel x {position[0]}, y {position[1]}"
    lines = [head, _bin_line(t)]
    if t.bin is not None:
        lines.append(f"this bin and below: <b>{t.cumulative:,}</b> of {t.total:,} pixels "
                     f"= <b>{t.fraction:.4f}</b> (the CDF)")
        lines.append(_method_words(method, t))
        lines.append(f"→ <b>{t.output:.4f}</b> in 0..1 = <b>{exported(t)}</b> in the {target} "
                     "export")
    return "<br>".join(lines)


class TransferPanel(QWidget):
    """The transfer curve of the current result, and the value under the mouse traced.

    The pixel under the mouse (``state.cursor``), or the value hovered on
    the original histogram (``state.probe``), is marked on the curve with
    guide lines to both axes, and below the plot its bin, the bin's count,
    the cumulative count and fraction and its output value (in [0, 1] and in
    the export's scale) are said in words; the numbers are the core's
    (:func:`histeq_gui.core.trace.trace_value`).

    Parameters
    ----------
    context : ViewerContext
        Its ``state`` (stack, cursor, probe, axes) and ``controller`` are used.

    Attributes
    ----------
    plot : TransferPlot
    trace_label : QLabel
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.state = context.state
        self.controller = context.controller
        self.plot = TransferPlot()
        if context.preferences is not None:
            self.plot.save_folder = context.preferences.last_export_folder
        self.note_label = QLabel()
        self.note_label.setObjectName("noCurveNote")
        self.note_label.setWordWrap(True)
        self.note_label.setAlignment(Qt.AlignCenter)
        self.note_label.setStyleSheet("#noCurveNote { background: #202124; color: #e8eaed; "
                                      "padding: 12px; }")
        self.note_label.hide()
        self.trace_label = QLabel(TRACE_HINT)
        self.trace_label.setObjectName("traceText")
        self.trace_label.setWordWrap(True)
        self.trace_label.setTextFormat(Qt.RichText)
        self.trace_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.trace_label.setStyleSheet("#traceText { background: #202124; color: #e8eaed; "
                                       "padding: 3px 6px; font-size: 8pt; }")
        self.trace_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.trace_label.setFixedHeight(self._trace_height())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note_label, 1)
        layout.addWidget(self.trace_label)
        self.controller.resultChanged.connect(self.show_result)
        self.state.displayChanged.connect(self._redraw)
        self.state.cursorChanged.connect(self.show_trace)
        self.state.probeChanged.connect(self.show_trace)
        self.show_result(self.controller.result)

    def sizeHint(self):
        """Qt: the preferred size, narrow and tall for the right dock."""
        return QSize(380, 480)

    def _trace_height(self):
        """Five lines of the trace's 8 pt text, whatever is shown (the plot does not jump)."""
        font = self.trace_label.font()
        font.setPointSizeF(8)
        return QFontMetrics(font).lineSpacing() * 5 + 8

    def trace_text_height(self, width):
        """The height the trace's text takes wrapped at ``width`` (its padding included)."""
        self.trace_label.ensurePolished()                   # its 8 pt font and padding
        return self.trace_label.heightForWidth(max(1, width))

    def _fit_trace(self):
        """At least five lines, more when a narrow dock wraps the trace onto more: never cut."""
        height = max(self._trace_height(), self.trace_text_height(self.width()))
        if height != self.trace_label.height():
            self.trace_label.setFixedHeight(height)

    def resizeEvent(self, event):
        """Qt: give the trace the height its text needs at the new width."""
        super().resizeEvent(event)
        self._fit_trace()

    def _redraw(self):
        self.show_result(self.controller.result)

    def show_result(self, result):
        """Draw the transfer curve of ``result``; None: none, saying why."""
        stack = self.state.stack
        if result is None or stack is None:
            self.note_label.hide()
            self.plot.show()
            why = "no stack" if stack is None else "computing…"
            self.plot.set_curves([], (0.0, 1.0), f"Transfer curve · {why}")
            self.show_trace()
            return
        hists = result.histograms
        note = no_curve_note(result)
        self.note_label.setText(note or "")
        self.note_label.setVisible(note is not None)
        self.plot.setVisible(note is None)
        if note is not None:
            self.plot.set_curves([], (0.0, 1.0), f"Transfer curve · {result.method} · none")
            self.show_trace()
            return
        if not hists:
            title = "Transfer curve · not available"
        else:
            title = (f"Transfer curve · {result.method}"
                     f"{' · value bins' if hists[0].value_bins else ''}")
        x_range, x_label = original_axis(self.state, hists)
        (d0, d1), _, y_label = equalized_axis(self.state, None)
        self.plot.set_curves(hists, x_range, title, y_map=(d1 - d0, d0),
                             x_label="input " + x_label, y_label=y_label)
        self.show_trace()                 # the same pixel, in the new result

    def current_traces(self):
        """The traces shown (one per channel), or None."""
        result = self.controller.result
        state = self.state
        if result is None or state.stack is None:
            return None
        if state.cursor is not None:
            return result.trace(position=state.cursor)
        if state.probe is not None:
            return result.trace(value=state.probe)
        return None

    def show_trace(self, *_):
        """Mark the traced value on the curve and say how it is mapped."""
        result = self.controller.result
        if result is not None and no_curve_note(result) is not None:
            self.plot.mark([])
            cursor = self.state.cursor
            self.trace_label.setText(TRACE_HINT if cursor is None
                                     else local_trace_text(result, cursor))
            self._fit_trace()
            return
        traces = self.current_traces()
        if not traces:
            self.plot.mark([])
            self.trace_label.setText(TRACE_HINT)
            self._fit_trace()
            return
        result = self.controller.result
        self.plot.mark([(float(t.value), t.output) for t in traces])
        position = self.state.cursor
        self.trace_label.setText(trace_text(traces, result.method, result.original.dtype,
                                            position))
        self._fit_trace()
