"""Save what the viewer shows: one plot as PNG, SVG or CSV, or the whole view for slides.

Each plot is saved with pyqtgraph's own exporters (``ImageExporter`` for PNG
at twice the plot's size, ``SVGExporter``, ``CSVExporter`` for the data drawn:
a histogram's screen columns with their counts and its CDF, the transfer
curves).  :func:`save_figure`
renders the middle of the window (the images and every dock shown, without
menu and status bar) at :data:`FIGURE_SCALE` times its size.

Every file is written under a hidden temporary name in the target's folder,
checked to be non-empty, then moved into place
(:func:`histeq_gui.core.io.staged`), so a failed save leaves nothing behind
and never half a file.
"""

from __future__ import annotations

from pathlib import Path

from pyqtgraph.Qt.QtCore import QPoint, QRect, Qt
from pyqtgraph.Qt.QtGui import QAction, QImage, QPainter, QRegion
from pyqtgraph.Qt.QtWidgets import QFileDialog, QMessageBox, QWidget

from ..core.errors import StackError
from ..core.io import staged
from .bindings import keys_of

__all__ = ["PLOT_KINDS", "FIGURE_SCALE", "save_plot", "save_figure", "figure_rect",
           "add_save_actions", "save_figure_action"]

PLOT_KINDS = {".png": "PNG image (*.png)", ".svg": "SVG drawing (*.svg)",
              ".csv": "CSV data (*.csv)"}
FIGURE_SCALE = 2
PLOT_SCALE = 2


def _exporters():
    import pyqtgraph.exporters as exporters  # registers them; loaded on first use
    return exporters


def _plot_csv_exporter(item, chosen):
    """The CSVExporter of pyqtgraph for the data items ``chosen`` (the plot's :meth:`csv_items`).

    The plot's own list of items is swapped for them while it writes: the
    columns a histogram draws (their counts) and its CDF, which lives in a
    view of its own, rather than every item of the plot.
    """
    exporters = _exporters()

    class PlotCSV(exporters.CSVExporter):
        def export(self, fileName=None):
            items, self.item.items = self.item.items, list(chosen)
            try:
                return super().export(fileName)
            finally:
                self.item.items = items

    return PlotCSV(item)


def _write(path, write):
    """Write ``path`` with ``write(temporary_path)``; moved into place only if it is not empty."""
    path = Path(path)
    with staged([path], overwrite=True) as (temporary,):
        write(temporary)
        if not temporary.exists() or temporary.stat().st_size == 0:
            raise StackError(f"cannot write '{path}': nothing was written; check the "
                             "folder's permissions and free space")
    return path


def save_plot(plot, path):
    """Save ``plot`` (a plot of :mod:`.plots`) as PNG, SVG or CSV, by ``path``'s extension.

    Parameters
    ----------
    plot : HistogramPlot or TransferPlot
    path : str or path-like
        Ends in ``.png`` (the plot at twice its size on screen), ``.svg`` or
        ``.csv`` (the data drawn: one x and one y column per curve).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        For another extension; StackError when the file cannot be written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_KINDS:
        raise ValueError(f"cannot save a plot as '{path.suffix}'; use .png, .svg or .csv")
    item = plot.export_item()
    readout = plot.readout.isVisible()
    plot.readout.hide()
    try:
        if suffix == ".png":
            exporter = _exporters().ImageExporter(item)
            exporter.parameters()["width"] = int(item.sceneBoundingRect().width() * PLOT_SCALE)
            _write(path, lambda target: exporter.export(str(target)))
        elif suffix == ".svg":
            exporter = _exporters().SVGExporter(item)
            _write(path, lambda target: exporter.export(str(target)))
        else:
            exporter = _plot_csv_exporter(item, plot.csv_items())
            _write(path, lambda target: exporter.export(str(target)))
    finally:
        plot.readout.setVisible(readout)
    return path


def figure_rect(window):
    """The part of ``window`` a figure shows: its central widget and visible docks."""
    rect = QRect()
    parts = [window.centralWidget()] + [d for d in window.findChildren(QWidget)
                                        if d.metaObject().className() == "QDockWidget"
                                        and d.isVisible() and not d.isFloating()]
    for part in parts:
        # A dock behind another's tab is "visible" to Qt, but off the window.
        if part is not None and part.isVisible() and not part.visibleRegion().isEmpty():
            rect = rect.united(QRect(part.mapTo(window, QPoint(0, 0)), part.size()))
    return rect if rect.isValid() else window.rect()


def save_figure(window, path, scale=FIGURE_SCALE):
    """Render the images and docks of ``window`` at ``scale`` times their size to a PNG.

    Returns the path written and the image's size ``(width, height)``.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"a figure is saved as .png, not '{path.suffix}'; add .png")
    rect = figure_rect(window)
    image = QImage(rect.width() * scale, rect.height() * scale, QImage.Format.Format_ARGB32)
    image.fill(window.palette().window().color())
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.scale(scale, scale)
    window.render(painter, QPoint(0, 0), QRegion(rect),
                  QWidget.RenderFlag.DrawWindowBackground | QWidget.RenderFlag.DrawChildren)
    painter.end()
    _write(path, lambda target: image.save(str(target), "PNG"))
    return path, (image.width(), image.height())


def _ask_path(parent, title, kinds, start):
    filters = ";;".join(kinds.values())
    chosen, selected = QFileDialog.getSaveFileName(parent, title, str(start), filters)
    if not chosen:
        return None
    path = Path(chosen)
    if path.suffix.lower() not in kinds:
        for suffix, text in kinds.items():
            if text == selected:
                path = path.with_name(path.name + suffix)
    return path


def _report(parent, error):
    QMessageBox.warning(parent, "Cannot save", str(error))


def _default_name(plot, suffix):
    words = "".join(ch if ch.isalnum() else "_" for ch in plot.title().split("·")[0].lower())
    return "_".join(part for part in words.split("_") if part)[:40] + suffix


def add_save_actions(menu, plot, folder=None):
    """Put "Save plot as PNG/SVG…" and "Save plot data as CSV…" into ``menu``.

    ``folder`` (a callable giving a folder, or None: the current folder) is
    where the file dialog starts.
    """
    for suffix, text in ((".png", "Save plot as &PNG…"), (".svg", "Save plot as &SVG…"),
                         (".csv", "Save plot &data as CSV…")):
        action = QAction(text, menu)

        def save(checked=False, suffix=suffix):
            start = Path((folder() if folder else None) or Path.cwd()) / _default_name(plot,
                                                                                   suffix)
            path = _ask_path(plot, "Save plot", {suffix: PLOT_KINDS[suffix]}, start)
            if path is not None:
                try:
                    save_plot(plot, path)
                except (ValueError, OSError) as exc:
                    _report(plot, exc)
        action.triggered.connect(save)
        menu.addAction(action)
    menu.addSeparator()


def save_figure_action(widget, notify=None, folder=None):
    """A "Save figure…" action (Ctrl+Shift+S) that saves ``widget``'s window as a PNG."""
    action = QAction("Save &figure…", widget)
    action.setShortcut(keys_of("figure")[0])
    action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
    action.setToolTip(f"Save the images and plots as one PNG at {FIGURE_SCALE}x, for slides")

    def save(checked=False):
        window = widget.window()
        start = Path(folder() if folder else Path.cwd()) / "histeq_figure.png"
        path = _ask_path(window, "Save figure", {".png": PLOT_KINDS[".png"]}, start)
        if path is None:
            return
        try:
            written, size = save_figure(window, path)
        except (ValueError, OSError) as exc:
            _report(window, exc)
            return
        if notify is not None:
            notify(f"Figure saved to {written} ({size[0]}×{size[1]})")
    action.triggered.connect(save)
    return action
