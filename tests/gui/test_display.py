"""What the window shows in the cases a new user meets first: no stack, a new stack still
computing, NaN pixels, constant images, tiny and huge counts, small screens."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PyQt5.QtCore import QPointF, QRect, QSize, Qt
from PyQt5.QtGui import QColor, QFontMetrics

from histeq_gui import equalize
from histeq_gui.gui import controller as controller_module
from histeq_gui.gui.docking import fitted_size
from histeq_gui.gui.image_views import NAN_COLOUR
from histeq_gui.gui.main_window import MainWindow
from histeq_gui.gui.panels import PANELS
from histeq_gui.gui.plots import CountAxis, HistogramPlot, TransferPlot
from histeq_gui.gui.stack_file import LoadedStack


def images(window):
    return window.panel("images")


# ---------------------------------------------------------------------- no stack
def test_a_failed_open_leaves_a_clear_hint_not_black_views(qtbot, window, tmp_path,
                                                           message_boxes):
    bad = tmp_path / "bad.npy"
    bad.write_text("not numpy")
    window.opener.open_path(bad)
    qtbot.waitUntil(lambda: bool(message_boxes.calls) and not window.busy)
    panel = images(window)
    assert panel.hint.isVisible() and not panel.views.isVisible()
    assert "Ctrl+O" in panel.hint.text() and "drop" in panel.hint.text()
    histograms = window.panel("histograms")
    assert histograms.original.bar_count() == 0 and "no stack" in histograms.original.title()
    window.export_action.trigger()                          # Ctrl+E
    assert window.export_dialog is None
    assert "Nothing to export" in window.status_bar.message_label.text()
    window.opener.open_sample()
    qtbot.waitUntil(lambda: window.state.stack is not None and not window.busy)
    assert panel.views.isVisible() and not panel.hint.isVisible()


def test_ctrl_e_without_a_stack_says_so(qtbot, window):
    qtbot.keyClick(images(window), Qt.Key_E, Qt.ControlModifier)
    assert window.export_dialog is None
    assert "Nothing to export" in window.status_bar.message_label.text()


# ---------------------------------------------------------------------- a new stack computing
def test_the_old_stacks_pictures_go_while_a_new_stack_computes(qtbot, sample_window,
                                                               monkeypatch):
    w = sample_window
    w.panel("images").views.hovered.emit(10, 10)
    monkeypatch.setattr(controller_module, "SYNC_IMAGE_VALUES", 100)
    release = threading.Event()
    compute_view = controller_module.compute_view

    def slow(*args, progress=None, **kwargs):
        release.wait(10)
        return compute_view(*args, progress=progress, **kwargs)
    monkeypatch.setattr(controller_module, "compute_view", slow)
    data = np.random.default_rng(3).integers(0, 256, (3, 40, 50), dtype=np.uint8)
    w.opener.set_stack(LoadedStack.from_array(data))
    views, histograms = w.panel("images").views, w.panel("histograms")
    try:
        assert w.busy
        assert views.original_item.image is None and views.equalized_item.image is None
        assert "computing" in views.original_title.text and "image 0" in views.original_title.text
        assert "computing" in views.equalized_title.text
        assert histograms.original.bar_count() == 0 and histograms.equalized.bar_count() == 0
        assert "computing" in histograms.original.title()
        assert w.panel("transfer").plot.curve_count() == 0
        assert w.panel("transfer").plot.marked()[0].size == 0
        assert w.status_bar.pixel_label.text() == ""
    finally:
        release.set()
    qtbot.waitUntil(lambda: not w.busy)
    np.testing.assert_array_equal(w.controller.result.equalized, equalize(data[0], "numpy", 256))
    assert "computing" not in views.original_title.text


def test_a_slow_new_image_is_marked_as_updating(qtbot, window, monkeypatch):
    monkeypatch.setattr(controller_module, "SYNC_IMAGE_VALUES", 100)
    data = np.random.default_rng(4).integers(0, 256, (3, 40, 50), dtype=np.uint8)
    window.opener.set_stack(LoadedStack.from_array(data))
    qtbot.waitUntil(lambda: not window.busy)
    release = threading.Event()
    compute_view = controller_module.compute_view

    def slow(*args, progress=None, **kwargs):
        release.wait(10)
        return compute_view(*args, progress=progress, **kwargs)
    monkeypatch.setattr(controller_module, "compute_view", slow)
    views = window.panel("images").views
    window.state.set_index(2)
    try:
        assert "image 0" in views.original_title.text and "updating" in views.original_title.text
    finally:
        release.set()
    qtbot.waitUntil(lambda: not window.busy)
    assert "image 2" in views.original_title.text and "updating" not in views.original_title.text


# ---------------------------------------------------------------------- NaN pixels
def colour_at(views, view, x, y):
    """The colour drawn at image pixel (x, y) of ``view``."""
    picture = views.grab().toImage()
    point = views.mapFromScene(view.mapViewToScene(QPointF(x + 0.5, y + 0.5)))
    return picture.pixelColor(point.x(), point.y())


def test_nan_pixels_have_their_own_colour_in_both_views(qtbot, window):
    data = np.random.default_rng(5).uniform(0.2, 0.8, (2, 12, 16))
    data[0, 3, 4] = np.nan
    window.opener.set_stack(LoadedStack.from_array(data))
    views = window.panel("images").views
    qtbot.waitUntil(lambda: views.original_item.image is not None)
    nan = QColor(NAN_COLOUR)
    for view in (views.original_view, views.equalized_view):
        drawn = colour_at(views, view, 4, 3)
        assert drawn == nan, (drawn.name(), nan.name())
        neighbour = colour_at(views, view, 5, 3)
        assert neighbour.red() == neighbour.green() == neighbour.blue()   # gray, not NaN
        assert neighbour != nan


# ---------------------------------------------------------------------- notes
@pytest.mark.parametrize("value, words", [(0, ["every pixel is 0", "white"]),
                                          (77, ["every pixel is 77"])])
def test_a_constant_image_gets_a_note(window, value, words):
    data = np.full((2, 10, 10), value, np.uint8)
    data[1] = np.arange(100, dtype=np.uint8).reshape(10, 10)
    window.opener.set_stack(LoadedStack.from_array(data))
    panel = window.panel("images")
    assert panel.note.isVisible()
    text = panel.note.text()
    for word in words:
        assert word in text
    out = float(np.unique(window.controller.result.equalized)[0])
    assert f"{out:g}" in text
    window.state.set_index(1)                   # an ordinary image: no note
    assert not panel.note.isVisible()


def test_nan_pixels_are_counted_in_a_note(window):
    data = np.random.default_rng(6).random((2, 10, 12))
    data[0, :2, :3] = np.nan
    data[0, 5, 5] = np.inf
    window.opener.set_stack(LoadedStack.from_array(data))
    note = window.panel("images").note
    assert note.isVisible() and "7 of 120 values are NaN or inf" in note.text()
    window.state.set_index(1)
    assert not note.isVisible()


def test_an_image_without_finite_pixels_gets_a_note(window):
    data = np.full((2, 6, 6), np.nan)
    data[1] = 1.0
    window.opener.set_stack(LoadedStack.from_array(data))
    note = window.panel("images").note
    assert note.isVisible() and "no finite pixel" in note.text()


# ---------------------------------------------------------------------- axes
def test_count_ticks_are_whole_numbers_for_tiny_images(qtbot):
    plot = HistogramPlot()
    qtbot.addWidget(plot)
    axis = plot.getPlotItem().getAxis("left")
    assert isinstance(axis, CountAxis)
    for top in (1, 2, 3, 5):
        for spacing, values in axis.tickValues(0, top, 200):
            assert spacing >= 1 and all(float(v).is_integer() for v in values)


@pytest.mark.parametrize("top", [999, 123_456, 999_999, 12_345_678])
def test_count_labels_fit_beside_the_axis_title(qtbot, top):
    plot = HistogramPlot()
    qtbot.addWidget(plot)
    axis = plot.getPlotItem().getAxis("left")
    strings = []
    for spacing, values in axis.tickValues(0, top, 200):
        strings += axis.tickStrings(values, 1.0, spacing)
    assert strings and all(len(s) <= 5 for s in strings)
    metrics = QFontMetrics(axis.style["tickFont"])
    widest = max(metrics.horizontalAdvance(s) for s in strings)
    title_height = QFontMetrics(axis.label.font()).height()
    assert widest + axis.style["tickTextOffset"][0] + title_height + 5 <= axis.maximumWidth()


def test_no_si_prefix_on_the_transfer_curve(qtbot):
    from histeq_gui import histogram
    plot = TransferPlot()
    qtbot.addWidget(plot)
    values = np.linspace(0, 0.002, 400).reshape(20, 20)
    plot.set_curves([histogram(values, "numpy", 64)], (0.0, 0.002))
    plot.show()
    qtbot.waitExposed(plot)
    for name in ("bottom", "left"):
        axis = plot.getPlotItem().getAxis(name)
        assert "x0.001" not in axis.labelString() and "(x" not in axis.labelString()
        assert axis.autoSIPrefixScale == 1.0


# ---------------------------------------------------------------------- window size
@pytest.mark.parametrize("screen", [QRect(0, 0, 1366, 728), QRect(0, 0, 1280, 680),
                                    QRect(0, 24, 1920, 1056)])
def test_the_default_size_fits_the_screen(screen):
    size = fitted_size(screen)
    assert size.width() <= screen.width() - 10 and size.height() <= screen.height() - 30
    assert size.width() <= 1400 and size.height() <= 860


def test_the_window_is_usable_on_a_1366x768_screen(qtbot, prefs, wait_idle):
    w = MainWindow(prefs)
    qtbot.addWidget(w)       # closed and deleted by pytest-qt, in order
    size = fitted_size(QRect(0, 0, 1366, 728))
    w.fit(size)
    w.show()
    qtbot.waitExposed(w)
    try:
        w.opener.open_sample()
        wait_idle(w)
        assert w.minimumSizeHint().width() <= size.width()
        assert w.minimumSizeHint().height() <= size.height()
        assert w.size() == size
        views = w.panel("images").views
        assert views.original_view.height() > 200 and views.original_view.width() > 200
        shown_at_start = {spec.id for spec in PANELS if spec.visible}     # not the teaching ones
        for panel_id, dock in w.docks.items():
            assert dock.isVisible() == (panel_id in shown_at_start)
            assert dock.width() > 100 or panel_id not in shown_at_start
        assert w.panel("histograms").original.height() > 120
        assert w.panel("transfer").plot.height() > 200
        navigation = w.panel("navigation")
        assert navigation.spin.isVisible() and navigation.spin.width() > 30
        assert w.panel("settings").scope_buttons["stack"].isVisible()
        w.state.set_method("skimage")             # the bins note appears: all of it shows
        note = w.panel("settings").bins_note
        qtbot.waitUntil(lambda: note.height() >= note.heightForWidth(note.width()) > 0)
        assert w.panel("transfer").plot.height() > 200
    finally:
        w.close()


def test_a_new_window_is_sized_to_its_screen(qtbot, monkeypatch, prefs):
    from PyQt5.QtGui import QScreen
    monkeypatch.setattr(QScreen, "availableGeometry", lambda self: QRect(0, 0, 1366, 728))
    w = MainWindow(prefs)
    qtbot.addWidget(w)                  # closed and deleted by pytest-qt, in order
    try:
        assert w.size() == fitted_size(QRect(0, 0, 1366, 728)) != QSize(1400, 860)
    finally:
        w.close()
