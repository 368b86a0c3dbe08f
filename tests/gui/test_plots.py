"""The histograms as a user sees them: every bin visible, log counts, x range, hover, links,
units, and saving plots and figures."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PyQt5.QtCore import QEvent, QPointF, QSize, Qt
from PyQt5.QtGui import QImage
from skimage import data

from histeq_gui import equalize
from histeq_gui.core.export import convert
from histeq_gui.gui.figure_export import FIGURE_SCALE, figure_rect, save_figure, save_plot
from histeq_gui.gui.main_window import MainWindow
from histeq_gui.gui.plots import CDF_COLOUR, MIN_BAR_PX, RUG_PX
from histeq_gui.gui.resources import SAMPLE_STACK, resource_path
from histeq_gui.gui.stack_file import LoadedStack


def sample_images(count=4):
    """The first images of the bundled sample (96x96 photos and faces), in [0, 1]."""
    return np.load(resource_path(SAMPLE_STACK))[:count, 0] / 255.0


def dark_faces():
    """Real images made dark, as scripts/make_hard_cases.py does: uint8 values 0..~75.

    96x96 pixels: the largest bin holds hundreds of pixels, so a bin of one
    pixel is a fraction of a screen pixel high on a linear axis.
    """
    return np.round(sample_images() ** 3.5 * 0.3 * 255).astype(np.uint8)


def bright_faces():
    return np.round((1 - (1 - sample_images()) ** 3 * 0.25) * 255).astype(np.uint8)


def camera12():
    """12-bit camera data in uint16 (values 200..4025)."""
    return (200 + data.camera()[::2, ::2].astype(np.uint32) * 15).astype(np.uint16)[None]


def show(window, array):
    window.opener.set_stack(LoadedStack.from_array(array))
    window.wait_until_idle()
    return window.controller.result


def bar_pixels(plot, channel=0):
    """For each non-empty bin shown: is there a bar-coloured pixel at its place?

    The plot is rendered as a user sees it (``grab``); each bin's centre is
    mapped to its screen column, and the rows just above and below the count
    axis' zero are looked at (one column either side).
    """
    image = plot.grab().toImage().convertToFormat(QImage.Format_RGB32)
    vb = plot.getPlotItem().vb
    edges, counts = plot.bars(channel)
    scale, offset = plot._x_map
    (x0, x1), _ = vb.viewRange()
    seen = []
    for k in np.flatnonzero(counts):
        centre = (edges[k] + edges[k + 1]) / 2 * scale + offset
        if not x0 <= centre <= x1:
            continue
        point = plot.mapFromScene(vb.mapViewToScene(QPointF(centre, plot.baseline())))
        found = False
        for dx in (-1, 0, 1):
            for dy in range(-RUG_PX + 1, MIN_BAR_PX + 1):
                colour = image.pixelColor(point.x() + dx, point.y() - dy)
                if colour.blue() >= 120 and colour.blue() - colour.red() >= 40:
                    found = True
        seen.append(found)
    return np.array(seen)


@pytest.fixture
def big_window(qtbot, prefs):
    w = MainWindow(prefs)
    qtbot.addWidget(w)       # closed and deleted by pytest-qt, in order
    w.fit(QSize(1400, 860))
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()
    w.deleteLater()


# ---------------------------------------------------------------------- item 9: every bin visible
@pytest.mark.parametrize("make, hist_range, bins", [
    (dark_faces, "dtype", 256),        # the case: a dark face over 0..255
    (dark_faces, "dtype", 4096),
    (bright_faces, "dtype", 256),
    (dark_faces, "data", 2048),
    (camera12, "dtype", 256),          # 12-bit data on a 0..65535 axis
    (camera12, "data", 4096),
])
def test_every_non_empty_bin_is_visible(big_window, make, hist_range, bins):
    w = big_window
    w.state.set_bins(bins)
    w.state.set_hist_range(hist_range)
    result = show(w, make())
    plot = w.panel("histograms").original
    edges, counts = plot.bars()
    np.testing.assert_array_equal(counts, result.histograms[0].counts)
    visible = bar_pixels(plot)
    assert len(visible) >= 10 and visible.all(), f"{(~visible).sum()} bins invisible"
    # what is drawn: columns at least one screen pixel wide
    x, heights = plot.drawn()
    vb = plot.getPlotItem().vb
    pixel = (vb.viewRange()[0][1] - vb.viewRange()[0][0]) / vb.width()
    assert np.diff(x).min() >= pixel * 0.999


def test_value_bins_of_16_bit_data_are_all_visible(big_window):
    w = big_window
    w.state.set_method("skimage")
    w.state.set_hist_range("dtype")
    result = show(w, camera12())
    assert result.histograms[0].value_bins and len(result.histograms[0].counts) > 3000
    assert bar_pixels(w.panel("histograms").original).all()


def test_the_equalized_histogram_is_visible_too(big_window):
    show(big_window, dark_faces())
    assert bar_pixels(big_window.panel("histograms").equalized).all()


def test_log_counts_for_every_histogram(big_window):
    w = big_window
    result = show(w, dark_faces())
    panel = w.panel("histograms")
    panel.log_check.setChecked(True)
    assert w.state.log_counts
    for plot, h in ((panel.original, result.histograms[0]),
                    (panel.equalized, result.equalized_histograms[0])):
        assert plot.log_counts and plot.getPlotItem().getAxis("left").log_counts
        x, heights = plot.drawn()
        _, counts = plot.drawn_counts()
        assert heights.max() == pytest.approx(np.log10(h.counts.max()))
        np.testing.assert_allclose(heights[counts > 0], np.log10(counts[counts > 0]))
        assert (heights[counts == 0] < plot.baseline()).all()      # empty: under the axis
    assert bar_pixels(panel.original).all()
    axis = panel.original.getPlotItem().getAxis("left")
    assert axis.tickStrings([0, 1, 2, 3], 1.0, 1.0) == ["1", "10", "100", "1000"]
    panel.log_check.setChecked(False)
    assert not panel.original.log_counts


def test_x_range_data_or_dtype_and_it_is_remembered(qtbot, big_window, prefs):
    w = big_window
    result = show(w, dark_faces())
    plot = w.panel("histograms").original
    h = result.histograms[0]
    x_range = plot.getPlotItem().vb.viewRange()[0]
    assert x_range[0] <= h.edges[0] and x_range[1] >= h.edges[-1] and x_range[1] < 100
    panel = w.panel("histograms")
    panel.range_combo.setCurrentIndex(panel.range_combo.findData("dtype"))
    assert w.state.hist_range == "dtype"
    x_range = plot.getPlotItem().vb.viewRange()[0]
    assert x_range[0] < 0 < 255 < x_range[1] < 260
    assert "full range" in plot.getPlotItem().getAxis("bottom").labelText
    again = MainWindow(prefs)
    qtbot.addWidget(again)       # closed and deleted by pytest-qt, in order
    try:
        assert again.state.hist_range == "dtype"
        assert again.panel("histograms").range_combo.currentData() == "dtype"
    finally:
        again.close()


def hover(plot, value):
    """Move the mouse over ``value`` (the plot's own x units), halfway up the plot."""
    vb = plot.getPlotItem().vb
    scale, offset = plot._x_map
    y = sum(vb.viewRange()[1]) / 2
    plot.scene().sigMouseMoved.emit(vb.mapViewToScene(QPointF(value * scale + offset, y)))


def test_hovering_a_bin_reads_out_its_range_count_and_cumulative_fraction(big_window):
    w = big_window
    w.state.set_bins(64)
    result = show(w, dark_faces())
    image = result.original
    counts, edges = np.histogram(image, 64)
    plot = w.panel("histograms").original
    k = int(np.argmax(counts))
    hover(plot, (edges[k] + edges[k + 1]) / 2)
    text = plot.readout.text()
    assert plot.readout.isVisible()
    fraction = counts[:k + 1].sum() / image.size
    assert f"<b>{counts[k]:,}</b> px" in text and f"{fraction:.4f}" in text
    assert f"{edges[k]:.4g}" in text and f"{edges[k + 1]:.4g}" in text
    assert w.state.probe == pytest.approx((edges[k] + edges[k + 1]) / 2)
    plot.leaveEvent(QEvent(QEvent.Leave))
    assert not plot.readout.isVisible() and w.state.probe is None


def test_linked_axes_share_counts_and_x_when_the_units_match(big_window):
    w = big_window
    result = show(w, (data.coins()[::4, ::4] / 255.0)[None])   # float: 256 bins of values
    panel = w.panel("histograms")
    original, equalized = panel.original, panel.equalized
    tops = (result.histograms[0].counts.max(), result.equalized_histograms[0].counts.max())
    assert tops[0] != tops[1] and (original.own_top, equalized.own_top) == tops
    assert original.getPlotItem().vb.viewRange()[1] != equalized.getPlotItem().vb.viewRange()[1]
    panel.link_check.setChecked(True)
    assert w.state.link_histograms
    assert original.getPlotItem().vb.viewRange()[1] == equalized.getPlotItem().vb.viewRange()[1]
    assert equalized.getPlotItem().vb.linkedView(0) is None     # the data's range, not 0..1
    w.state.set_hist_range("dtype")                  # both 0..1 (float export): linked
    assert equalized.getPlotItem().vb.linkedView(0) is original.getPlotItem().vb
    original.getPlotItem().setXRange(0.2, 0.4, padding=0)
    assert equalized.getPlotItem().vb.viewRange()[0] == pytest.approx([0.2, 0.4])
    panel.link_check.setChecked(False)
    assert equalized.getPlotItem().vb.linkedView(0) is None


# ---------------------------------------------------------------------- item 17: units
def test_units_are_labelled_and_the_equalized_axes_use_the_export_scale(big_window):
    w = big_window
    w.state.set_bins(32)
    result = show(w, dark_faces())
    panel, transfer = w.panel("histograms"), w.panel("transfer").plot
    assert panel.original.getPlotItem().getAxis("bottom").labelText == "value (uint8)"
    assert "uint8 export" in panel.equalized.getPlotItem().getAxis("bottom").labelText
    assert "uint8 export" in transfer.getPlotItem().getAxis("left").labelText
    assert panel.equalized.getPlotItem().vb.viewRange()[0][1] == pytest.approx(255, abs=4)
    eq = result.equalized_histograms[0]
    cdf_x, _ = panel.equalized.cdf_curve()
    np.testing.assert_allclose(cdf_x, eq.cdf_x * 255)
    panel.scale_combo.setCurrentIndex(panel.scale_combo.findData("unit"))
    assert w.state.eq_scale == "unit"
    np.testing.assert_allclose(panel.equalized.cdf_curve()[0], eq.cdf_x)
    assert panel.equalized.getPlotItem().getAxis("bottom").labelText == "equalized (0..1)"
    assert transfer.curve()[1].max() == pytest.approx(1.0)


def test_float_data_export_scale_is_0_to_1(big_window):
    show(big_window, data.lfw_subset()[:4].astype(np.float32))
    label = big_window.panel("histograms").equalized.getPlotItem().getAxis("bottom").labelText
    assert label == "equalized (float32 export)"
    assert big_window.panel("transfer").plot.getPlotItem().vb.viewRange()[1][1] < 1.1


def test_skimage_on_integers_counts_output_levels_as_its_note_says(big_window):
    w = big_window
    w.state.set_method("skimage")
    w.state.set_bins(16)                           # ignored on uint8, as the note says
    image = dark_faces()[0]
    result = show(w, dark_faces())
    assert w.panel("settings").bins_note.isVisible()
    eq_hist = result.equalized_histograms[0]
    assert eq_hist.value_bins and result.eq_units == (0.0, 255.0)
    levels = convert(equalize(image, "skimage"), "same", np.uint8)
    present = np.bincount(levels.ravel(), minlength=256)
    lo, hi = int(levels.min()), int(levels.max())
    np.testing.assert_array_equal(eq_hist.counts, present[lo:hi + 1])
    used = len(np.unique(levels))
    assert f"a bin per output level, {used} used" in w.panel("histograms").equalized.title()
    w.state.set_bins(200)                          # the equalized histogram ignores bins too
    np.testing.assert_array_equal(w.controller.result.equalized_histograms[0].counts,
                                  eq_hist.counts)


# ---------------------------------------------------------------------- saving plots and figures
def read_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    columns = {}
    for i, name in enumerate(header):
        columns[name] = np.array([float(r[i]) for r in body if i < len(r) and r[i] != ""])
    return columns


def test_every_plot_saves_png_svg_and_its_drawn_data_as_csv(big_window, tmp_path):
    w = big_window
    show(w, dark_faces())
    plots = {"original": w.panel("histograms").original,
             "equalized": w.panel("histograms").equalized,
             "transfer": w.panel("transfer").plot}
    for name, plot in plots.items():
        png, svg, table = (save_plot(plot, tmp_path / f"{name}.{kind}")
                           for kind in ("png", "svg", "csv"))
        image = QImage(str(png))
        assert not image.isNull() and image.width() >= 2 * plot.getPlotItem().width() - 2
        text = svg.read_text()
        assert text.lstrip().startswith("<?xml") and "<svg" in text and "<path" in text
        assert CDF_COLOUR in text.lower()                   # the curve (the CDF's own view too)
        columns = read_csv(table)
        if name == "transfer":
            x, y = plot.curve()
            np.testing.assert_allclose(columns["transfer_x"], x)
            np.testing.assert_allclose(columns["transfer_y"], y)
        else:
            x, counts = plot.drawn_counts()
            np.testing.assert_allclose(columns["pixels_x"], x)
            np.testing.assert_allclose(columns["pixels_y"], counts)
            assert counts.max() == plot.bars()[1].max()
            drawn_x, heights = plot.drawn()
            np.testing.assert_array_equal(drawn_x, x)
            assert (heights[counts > 0] >= counts[counts > 0]).all()
            cdf_x, cdf = plot.cdf_curve()
            np.testing.assert_allclose(columns["CDF_x"], cdf_x)
            np.testing.assert_allclose(columns["CDF_y"], cdf)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "settings") == sorted(
        f"{n}.{k}" for n in plots for k in ("png", "svg", "csv"))     # no temporaries left


def test_a_plot_cannot_be_saved_as_anything_else_or_into_a_missing_folder(big_window,
                                                                           tmp_path):
    show(big_window, dark_faces())
    plot = big_window.panel("histograms").original
    with pytest.raises(ValueError, match="use .png, .svg or .csv"):
        save_plot(plot, tmp_path / "plot.jpg")
    with pytest.raises(ValueError) as info:
        save_plot(plot, tmp_path / "missing" / "plot.png")
    assert "\n" not in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == ["settings"]


def test_save_figure_renders_the_whole_view_at_twice_its_size(big_window, tmp_path):
    w = big_window
    show(w, dark_faces())
    path, size = save_figure(w, tmp_path / "figure.png")
    rect = figure_rect(w)
    image = QImage(str(path))
    assert (image.width(), image.height()) == size == (rect.width() * FIGURE_SCALE,
                                                       rect.height() * FIGURE_SCALE)
    assert rect.top() >= w.menuBar().height() and rect.bottom() < w.statusBar().y()
    # it is what the window shows: the same picture as a plain grab, at twice the size
    shown = w.grab(rect).toImage().convertToFormat(QImage.Format_Grayscale8)
    small = image.scaled(rect.width(), rect.height(), Qt.IgnoreAspectRatio,
                         Qt.SmoothTransformation).convertToFormat(QImage.Format_Grayscale8)
    a, b = gray_array(shown), gray_array(small)
    assert a.shape == b.shape and a.std() > 20
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 8
    menus = [action.menu() for action in w.menuBar().actions()]
    assert any(w.panel("images").figure_action in menu.actions() for menu in menus)


def gray_array(image):
    pointer = image.constBits()
    pointer.setsize(image.bytesPerLine() * image.height())
    rows = np.frombuffer(pointer, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, :image.width()].copy()


@pytest.mark.parametrize("top", [40, 9_999, 357_903, 2_500_000, 4_000_000_000])
def test_count_labels_read_back_as_their_values(qtbot, top):
    from histeq_gui.gui.plots import HistogramPlot
    plot = HistogramPlot()
    qtbot.addWidget(plot)
    axis = plot.getPlotItem().getAxis("left")
    units = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}
    for spacing, values in axis.tickValues(-0.03 * top, top, 150):
        assert all(v >= 0 for v in values)                    # nothing under the zero line
        for value, text in zip(values, axis.tickStrings(values, 1.0, spacing)):
            number, unit = (text[:-1], text[-1]) if text[-1] in "kMG" else (text, "")
            assert float(number) * units[unit] == pytest.approx(value, rel=0.01), text


def test_the_plot_menu_saves_where_the_user_chooses(big_window, tmp_path, monkeypatch):
    from PyQt5.QtWidgets import QFileDialog
    show(big_window, dark_faces())
    plot = big_window.panel("histograms").original
    asked = []

    def choose(parent, title, start, filters):
        asked.append((start, filters))
        return str(tmp_path / "chosen"), filters            # no extension typed
    monkeypatch.setattr(QFileDialog, "getSaveFileName", choose)
    texts = [a.text() for a in plot.menu.actions()]
    assert texts[:3] == ["Save plot as &PNG…", "Save plot as &SVG…", "Save plot &data as CSV…"]
    plot.menu.actions()[2].trigger()
    assert (tmp_path / "chosen.csv").stat().st_size > 0
    assert asked[0][0].startswith(str(big_window.prefs.last_export_folder()))
    assert asked[0][1] == "CSV data (*.csv)"


@pytest.mark.parametrize("method", ["numpy", "match"])
def test_the_cdf_drawn_is_the_images_own_cumulative_fraction(sample_window, method):
    """match keeps its map to the reference where the CDF methods keep their CDF: the plot
    draws the image's own cumulative fraction for every method."""
    w = sample_window
    w.state.set_method(method)
    w.state.set_index(5)
    plot = w.panel("histograms").original
    _, y = plot._cdfs[0].getData()
    image = w.state.stack.image(5)
    values, counts = np.unique(image, return_counts=True)
    expected = np.cumsum(counts) / counts.sum()
    if method == "match":                   # one cell per value, empty ones included
        cells = np.bincount(image.ravel().astype(np.int64) - int(image.min()))
        expected = np.cumsum(cells) / cells.sum()
    assert y[-1] == pytest.approx(1.0) and np.all(np.diff(y) >= 0)
    if method == "match":
        np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12)
