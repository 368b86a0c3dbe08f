"""The window is assembled from registered panels: docks, the View menu, a remembered layout."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import QSize, Qt
from PyQt5.QtWidgets import QAction, QApplication, QDockWidget, QLabel

from histeq_gui import equalize, histogram
from histeq_gui.gui import panels as panels_module
from histeq_gui.gui.main_window import MainWindow
from histeq_gui.gui.panels import PANELS, PanelSpec


def view_menu_entries(window):
    return {action.text(): action for action in window.view_menu.actions()
            if not action.isSeparator()}


def test_every_registered_panel_is_built(sample_window):
    w = sample_window
    assert list(w.panels) == [spec.id for spec in PANELS]
    assert w.centralWidget() is w.panel("images")
    entries = view_menu_entries(w)
    for spec in PANELS:
        if spec.area == "central":
            continue
        dock = w.findChild(QDockWidget, spec.id)
        assert dock is w.docks[spec.id] and dock.widget() is w.panel(spec.id)
        assert dock.windowTitle() == spec.title and spec.title in entries
        assert dock.features() & QDockWidget.DockWidgetMovable
        assert dock.isVisible() == spec.visible       # teaching panels start hidden


def test_the_transfer_curve_has_its_own_dock(sample_window):
    w = sample_window
    w.docks["settings"].hide()
    assert not w.panel("settings").isVisible()
    assert w.panel("transfer").isVisible() and w.panel("transfer").plot.curve_count() == 1


class CountingPanel(QLabel):
    """A throwaway panel: it follows the controller like the real ones, and offers a menu."""

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.results = []
        context.controller.resultChanged.connect(self.results.append)
        self.reset = QAction("&Reset the count", self)
        self.reset.setShortcut("Ctrl+Shift+K")
        self.reset.triggered.connect(self.results.clear)
        self.menu_actions = {"Count": [self.reset], "View": [None]}


def test_a_new_panel_is_one_registry_line(qtbot, monkeypatch, prefs, wait_idle):
    monkeypatch.setattr(panels_module, "PANELS",
                        [*PANELS, PanelSpec("counter", "Counter", "left", CountingPanel)])
    w = MainWindow(prefs)
    qtbot.addWidget(w)       # closed and deleted by pytest-qt, in order
    w.show()
    try:
        dock = w.findChild(QDockWidget, "counter")
        assert dock is not None and isinstance(dock.widget(), CountingPanel)
        assert w.dockWidgetArea(dock) == Qt.LeftDockWidgetArea and dock.isVisible()
        entry = view_menu_entries(w)["Counter"]
        assert entry.isChecked()
        entry.trigger()
        assert not dock.isVisible()
        entry.trigger()
        assert dock.isVisible()
        w.opener.open_sample()
        wait_idle(w)
        panel = w.panel("counter")
        assert panel.results and panel.results[-1] is w.controller.result
        titles = [a.text() for a in w.menuBar().actions()]
        assert titles == ["&File", "&Image", "&View", "&Count", "&Help"]
        qtbot.keyClick(w.panel("images").views, Qt.Key_K, Qt.ControlModifier | Qt.ShiftModifier)
        assert panel.results == []
    finally:
        w.close()


def test_the_layout_is_remembered(qtbot, prefs, settings_file):
    first = MainWindow(prefs)
    qtbot.addWidget(first)       # closed and deleted by pytest-qt, in order
    first.show()
    qtbot.waitExposed(first)
    first.docks["settings"].hide()
    first.addDockWidget(Qt.LeftDockWidgetArea, first.docks["transfer"])
    first.close()
    again = MainWindow(type(prefs).from_file(settings_file))
    qtbot.addWidget(again)       # closed and deleted by pytest-qt, in order
    again.show()
    qtbot.waitExposed(again)
    try:
        assert not again.docks["settings"].isVisible()
        assert not view_menu_entries(again)["Settings"].isChecked()
        assert again.dockWidgetArea(again.docks["transfer"]) == Qt.LeftDockWidgetArea
        assert again.docks["histograms"].isVisible()
    finally:
        again.close()


def test_the_equalized_histogram_plot_is_drawn_from_the_equalized_image(sample_window):
    w = sample_window
    w.state.set_index(5)          # the dark camera image: its equalized histogram differs
    w.state.set_bins(64)
    image = w.state.stack.array[5, 0]
    expected = histogram(equalize(image, "numpy", 64), "numpy", 64)
    edges, counts = w.panel("histograms").equalized.bars()
    np.testing.assert_array_equal(counts, expected.counts)
    np.testing.assert_array_equal(edges, expected.edges)
    original = histogram(image, "numpy", 64)
    assert not np.array_equal(counts, original.counts)


def layout_of(w):
    """What a user sees of the layout: the images' size, and each visible dock's place."""
    QApplication.processEvents()
    docks = {pid: (w.dockWidgetArea(d), d.geometry().getRect())
             for pid, d in w.docks.items() if d.isVisible() and not d.visibleRegion().isEmpty()}
    return w.centralWidget().geometry().getRect(), docks


@pytest.fixture
def fresh(qtbot, prefs):
    """A new window of a fixed size, shown, with no remembered layout."""
    w = MainWindow(prefs)
    qtbot.addWidget(w)
    w.fit(QSize(1350, 690))
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


@pytest.mark.parametrize("away", ["stats", "montage", "compare", "worked-table", "not-flat"])
def test_ctrl_1_brings_back_the_viewer_as_it_was(qtbot, fresh, away):
    first = layout_of(fresh)
    assert "column_histogram" not in first[1] and "histograms" in first[1]
    number = list(fresh.views.actions).index(away) + 1
    qtbot.keyClick(fresh, Qt.Key_0 + number, Qt.ControlModifier)      # Ctrl+2 .. Ctrl+6
    assert fresh.views.view == away and layout_of(fresh) != first
    qtbot.keyClick(fresh, Qt.Key_1, Qt.ControlModifier)
    assert fresh.views.view == "viewer"
    assert layout_of(fresh) == first
    hists = fresh.panel("histograms")
    assert hists.original.height() > 100 and hists.equalized.height() > 100     # not a strip


def test_views_one_after_another_come_back_to_the_viewer(qtbot, fresh):
    first = layout_of(fresh)
    for name in ("stats", "compare", "montage", "not-flat", "worked-table", "stats"):
        fresh.show_view(name)
    fresh.show_view("viewer")
    assert layout_of(fresh) == first


def test_a_layout_left_in_another_view_is_the_viewers_after_a_restart(qtbot, prefs,
                                                                      settings_file, fresh):
    first = layout_of(fresh)
    fresh.show_view("compare")
    fresh.close()
    again = MainWindow(type(prefs).from_file(settings_file))
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    try:
        assert again.size() == fresh.size() and layout_of(again) == first
    finally:
        again.close()


def test_reset_layout_brings_back_the_first_layout(qtbot, fresh, wait_idle):
    first = layout_of(fresh)
    assert fresh.reset_layout_action in fresh.view_menu.actions()
    fresh.opener.open_sample()          # panels showing a stack ask for other sizes
    wait_idle(fresh)
    fresh.docks["settings"].hide()
    fresh.addDockWidget(Qt.LeftDockWidgetArea, fresh.docks["transfer"])
    fresh.docks["column_histogram"].show()
    fresh.resizeDocks([fresh.docks["histograms"]], [60], Qt.Vertical)
    fresh.show_view("stats")
    assert layout_of(fresh) != first
    fresh.reset_layout_action.trigger()
    assert fresh.views.view == "viewer" and fresh.views.actions["viewer"].isChecked()
    assert layout_of(fresh) == first


def test_an_old_layout_is_not_restored(qtbot, prefs, fresh):
    """A layout saved by a version whose views could break it is dropped (LAYOUT_VERSION)."""
    from histeq_gui.gui import main_window
    first = layout_of(fresh)
    fresh.docks["settings"].hide()
    prefs.set_window_state(fresh.saveState(main_window.LAYOUT_VERSION - 1))
    again = MainWindow(prefs)
    qtbot.addWidget(again)
    again.fit(QSize(1350, 690))
    again.show()
    qtbot.waitExposed(again)
    try:
        assert again.docks["settings"].isVisible() and layout_of(again) == first
    finally:
        again.close()
