"""The window is assembled from registered panels: docks, the View menu, a remembered layout."""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QAction, QDockWidget, QLabel

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
