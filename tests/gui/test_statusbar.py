"""The status bar's pixel readout, cut when the bar is narrow, is cut after a whole word."""

from __future__ import annotations

from PyQt5.QtCore import QSize

from histeq_gui.gui.main_window import MainWindow
from histeq_gui.gui.statusbar import WordElidedLabel


def _readout(qtbot, prefs, wait_idle):
    """The pixel readout of a real window on a 1024x600 screen."""
    w = MainWindow(prefs)
    qtbot.addWidget(w)
    w.fit(QSize(1024, 600))
    w.show()
    qtbot.waitExposed(w)
    try:
        w.opener.open_sample(5)
        wait_idle(w)
        w.state.set_cursor((52, 30))
        label = w.status_bar.pixel_label
        qtbot.waitUntil(lambda: "uint8 export" in label.text())
        return label.text(), label.shown_text(), label.contentsRect().width()
    finally:
        w.close()


def test_a_narrow_readout_ends_after_a_whole_word(qtbot, prefs, wait_idle):
    text, shown, width = _readout(qtbot, prefs, wait_idle)
    assert text.startswith("x 52, y 30 · original 7 · equalized 0.201 = 51 in the uint8 export")
    label = WordElidedLabel(text)
    qtbot.addWidget(label)
    metrics = label.fontMetrics()
    full = metrics.horizontalAdvance(text)
    assert shown == text if full <= width else shown.endswith(" …")
    for cut in range(metrics.horizontalAdvance("x 52, …"), full, 5):
        label.setFixedWidth(cut + label.contentsMargins().left() + label.contentsMargins().right())
        shown = label.shown_text()
        words = shown[:-2]
        assert shown.endswith(" …") and text.startswith(words + " "), (cut, shown)
        assert metrics.horizontalAdvance(shown) <= cut
    label.setFixedWidth(full + 2)
    assert label.shown_text() == text
