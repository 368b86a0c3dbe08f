"""The main window driven as a user would: bins, method, scope, keys, drops, bad files."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PyQt5.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PyQt5.QtGui import QDragEnterEvent, QDropEvent
from PyQt5.QtWidgets import QApplication

from histeq_gui import equalize, histogram
from histeq_gui.core.methods import METHODS, get_method
from histeq_gui.core.stack import image_at
from histeq_gui.gui import controller as controller_module
from histeq_gui.gui import opener as opener_module
from histeq_gui.gui.jobs import left_running
from histeq_gui.gui.main_window import MainWindow
from histeq_gui.gui.stack_file import LoadedStack


def current_image(window):
    stack = window.state.stack
    return np.asarray(image_at(stack.array, stack.layout, window.state.index))


def shown_equalized(window):
    return np.asarray(window.panel("images").views.equalized_item.image)


def test_sample_opens_with_title_and_status(sample_window):
    w = sample_window
    assert w.windowTitle() == "sample_stack.npy — histeq-gui"
    assert w.state.stack.array.shape == (100, 1, 96, 96)
    info = w.status_bar.info_label.text()
    assert "image 0 of 100" in info and "100×1×96×96" in info and "uint8" in info
    assert "N×1×H×W" in info
    assert w.panel("navigation").caption.text()      # the sample's per-image label
    assert w.panel("histograms").original.bar_count() == 256


@pytest.mark.parametrize("bins", [2, 8, 100, 1000, 4096])
def test_bins_change_the_bars_and_the_equalized_image(sample_window, bins):
    w = sample_window
    w.state.set_index(5)
    w.state.set_bins(bins)
    assert w.panel("histograms").original.bar_count() == bins
    assert w.panel("histograms").equalized.bar_count() == bins
    expected = equalize(current_image(w), "numpy", bins)
    np.testing.assert_array_equal(shown_equalized(w), expected)
    np.testing.assert_array_equal(w.controller.result.equalized, expected)
    assert f"{bins} bins" in w.panel("histograms").original.title()


def test_histogram_bars_are_the_core_counts(sample_window):
    w = sample_window
    w.state.set_bins(16)
    h = histogram(current_image(w), "numpy", 16)
    edges, counts = w.panel("histograms").original.bars()
    np.testing.assert_array_equal(counts, h.counts)
    np.testing.assert_array_equal(edges, h.edges)
    cdf_x, cdf = w.panel("histograms").original.cdf_curve()
    np.testing.assert_array_equal(cdf_x, h.cdf_x)
    np.testing.assert_array_equal(cdf, h.cdf)


def test_switching_method(sample_window):
    w = sample_window
    w.state.set_index(12)
    w.state.set_method("skimage")
    image = current_image(w)
    np.testing.assert_array_equal(shown_equalized(w), equalize(image, "skimage", 256))
    # skimage on uint8: one bar per integer value present, whatever the bin count
    h = histogram(image, "skimage", 256)
    assert h.value_bins
    assert w.panel("histograms").original.bar_count() == len(h.counts)
    w.state.set_bins(8)
    assert w.panel("histograms").original.bar_count() == len(h.counts)
    w.state.set_method("numpy")
    assert w.panel("histograms").original.bar_count() == 8
    np.testing.assert_array_equal(shown_equalized(w), equalize(image, "numpy", 8))


@pytest.mark.parametrize("method", [m for m in METHODS if "stack" in get_method(m).scopes])
def test_switching_scope_uses_the_stack_histogram(sample_window, method):
    w = sample_window
    w.state.set_method(method)
    w.state.set_bins(64)
    w.state.set_index(30)
    image_scope = shown_equalized(w).copy()
    w.state.set_scope("stack")
    stack = w.state.stack.array
    expected = equalize(stack, method, 64, scope="stack")[30, 0]
    np.testing.assert_array_equal(shown_equalized(w), expected)
    assert not np.array_equal(image_scope, expected)
    assert "whole stack" in w.panel("histograms").original.title().lower()
    w.state.set_index(31)
    np.testing.assert_array_equal(shown_equalized(w),
                                  equalize(stack, method, 64, scope="stack")[31, 0])
    w.state.set_scope("image")
    np.testing.assert_array_equal(shown_equalized(w), equalize(stack[31, 0], method, 64))


@pytest.mark.parametrize("hist_range", ["data", "dtype"])
def test_transfer_curve_is_the_histograms_map_over_the_whole_axis(sample_window, hist_range):
    w = sample_window
    w.state.set_bins(32)
    w.state.set_hist_range(hist_range)
    h = histogram(current_image(w), "numpy", 32)
    x_range = (h.edges[0], h.edges[-1]) if hist_range == "data" else (0.0, 255.0)
    x, y = h.transfer_curve(x_range=x_range)
    curve_x, curve_y = w.panel("transfer").plot.curve()
    np.testing.assert_array_equal(curve_x, x)
    np.testing.assert_array_equal(curve_y, 255 * y)          # the uint8 export's scale
    assert (curve_x[0], curve_x[-1]) == x_range
    w.state.set_eq_scale("unit")
    np.testing.assert_array_equal(w.panel("transfer").plot.curve()[1], y)


def test_millions_of_value_bins_are_drawn_as_at_most_max_bars(qtbot, window, wait_idle):
    from histeq_gui.gui.plots import MAX_BARS
    data = np.random.default_rng(5).integers(0, 2**32 - 1, (2, 512, 512), dtype=np.uint32)
    window.state.set_method("skimage")
    window.opener.set_stack(LoadedStack.from_array(data))
    wait_idle(window)
    h = window.controller.result.histograms[0]
    assert h.value_bins and len(h.counts) > 10 * MAX_BARS       # one bin per distinct value
    edges, counts = window.panel("histograms").original.bars()
    assert 0 < len(counts) <= MAX_BARS and len(edges) == len(counts) + 1
    assert counts.sum() == data[0].size
    assert (edges[0], edges[-1]) == (h.edges[0], h.edges[-1])
    assert len(window.panel("transfer").plot.curve()[0]) <= MAX_BARS + 2
    title = window.panel("histograms").original.title()
    assert f"{len(h.counts):,} value bins, drawn as {len(counts)} bars" in title


def test_levels_are_fixed_while_paging(sample_window):
    w = sample_window
    levels = []
    for i in (0, 1, 50, 99):
        w.state.set_index(i)
        levels.append((tuple(w.panel("images").views.original_item.levels),
                       tuple(w.panel("images").views.equalized_item.levels)))
    assert set(levels) == {((0.0, 255.0), (0.0, 1.0))}


def test_views_are_linked(sample_window):
    panel = sample_window.panel("images").views
    panel.original_view.setRange(xRange=(10, 30), yRange=(20, 40), padding=0)
    np.testing.assert_allclose(panel.equalized_view.viewRange(),
                               panel.original_view.viewRange())


KEYS = [
    (Qt.Key_Right, 0, 1), (Qt.Key_Left, 5, 4), (Qt.Key_Left, 0, 0), (Qt.Key_Home, 50, 0),
    (Qt.Key_End, 3, 99), (Qt.Key_PageDown, 3, 13), (Qt.Key_PageUp, 15, 5),
    (Qt.Key_PageUp, 4, 0), (Qt.Key_PageDown, 95, 99), (Qt.Key_Right, 99, 99),
]


@pytest.mark.parametrize("key, start, end", KEYS)
def test_keyboard_navigation(qtbot, sample_window, key, start, end):
    w = sample_window
    w.state.set_index(start)
    qtbot.keyClick(w.panel("images").views, key)
    assert w.state.index == end
    assert w.panel("navigation").slider.value() == end
    assert w.panel("navigation").spin.value() == end
    np.testing.assert_array_equal(np.asarray(w.panel("images").views.original_item.image),
                                  w.state.stack.array[end, 0])


def test_space_plays_and_pauses(qtbot, sample_window):
    w = sample_window
    qtbot.keyClick(w.panel("images").views, Qt.Key_Space)
    assert w.player.playing
    qtbot.waitUntil(lambda: w.state.index >= 2, timeout=5000)
    qtbot.keyClick(w.panel("images").views, Qt.Key_Space)
    assert not w.player.playing             # its timer is stopped: nothing steps the index
    stopped_at = w.state.index
    QApplication.processEvents()            # what was queued before the pause
    assert w.state.index == stopped_at


def test_shortcuts_are_bound(sample_window):
    w = sample_window
    assert w.opener.open_action.shortcut().toString() == "Ctrl+O"
    assert w.export_action.shortcut().toString() == "Ctrl+E"
    assert w.quit_action.shortcut().toString() == "Ctrl+Q"
    assert w.help_action.shortcut().toString() == "F1"


def test_f1_shows_help_and_ctrl_q_quits(qtbot, sample_window):
    w = sample_window
    qtbot.keyClick(w.panel("images").views, Qt.Key_F1)
    assert w.help.box is not None and w.help.box.isVisible()
    w.help.box.close()
    qtbot.keyClick(w.panel("images").views, Qt.Key_Q, Qt.ControlModifier)
    qtbot.waitUntil(lambda: not w.isVisible())


def test_ctrl_e_opens_export_dialog(qtbot, sample_window):
    w = sample_window
    qtbot.keyClick(w.panel("images").views, Qt.Key_E, Qt.ControlModifier)
    assert w.export_dialog is not None and w.export_dialog.isVisible()
    w.export_dialog.reject()


def test_hover_shows_pixel_values(sample_window):
    w = sample_window
    w.state.set_index(7)
    w.panel("images").views.hovered.emit(10, 20)
    image = current_image(w)
    text = w.status_bar.pixel_label.text()
    assert "x 10, y 20" in text
    assert f"original {image[20, 10]}" in text
    value = w.controller.result.equalized[20, 10]
    # The plots show the uint8 export's scale: the readout says that value too, as exported.
    exported = int(np.round(value * 255))                   # histeq's uint8: round half even
    assert f"equalized {value:.4g} = {exported} in the uint8 export" in text
    w.state.set_eq_scale("unit")                            # plots in 0..1: the value alone
    assert w.status_bar.pixel_label.text().endswith(f"equalized {value:.4g}")
    w.panel("images").views.hovered.emit(-1, -1)
    assert w.status_bar.pixel_label.text() == ""


def test_mouse_over_the_image_reports_the_pixel(qtbot, sample_window):
    w = sample_window
    seen = []
    w.panel("images").views.hovered.connect(lambda x, y: seen.append((x, y)))
    view = w.panel("images").views.original_view
    scene_pos = view.mapViewToScene(QPointF(40.5, 12.5))
    w.panel("images").views.scene().sigMouseMoved.emit(scene_pos)
    assert seen[-1] == (40, 12)


def drop(window, *paths):
    """Drag ``paths`` onto the window and drop them, through Qt's event dispatch."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    event = QDropEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, event)
    return enter.isAccepted(), event.isAccepted()


def test_drop_a_file(qtbot, sample_window, tmp_path, rng):
    w = sample_window
    data = rng.integers(0, 4000, (5, 40, 30), dtype=np.uint16)
    path = tmp_path / "dropped.npy"
    np.save(path, data)
    assert drop(w, path) == (True, True)
    qtbot.waitUntil(lambda: w.state.stack.name == "dropped.npy" and not w.busy)
    assert w.windowTitle() == "dropped.npy — histeq-gui"
    np.testing.assert_array_equal(shown_equalized(w), equalize(data[0], "numpy", w.state.bins))
    assert str(path.resolve()) in w.prefs.recent_files()


def test_drop_a_folder(qtbot, sample_window, tmp_path, rng):
    import imageio.v3 as iio
    w = sample_window
    folder = tmp_path / "frames"
    folder.mkdir()
    frames = rng.integers(0, 256, (3, 20, 24), dtype=np.uint8)
    for i, frame in enumerate(frames):
        iio.imwrite(folder / f"f{i}.png", frame)
    drop(w, folder)
    qtbot.waitUntil(lambda: w.state.stack.name == "frames" and not w.busy)
    assert w.state.n_images == 3
    w.state.set_index(2)
    np.testing.assert_array_equal(np.asarray(w.panel("images").views.original_item.image),
                                  frames[2])


def test_dropping_several_files_opens_the_first_and_says_so(qtbot, sample_window, tmp_path,
                                                           rng):
    w = sample_window
    paths = [tmp_path / f"{name}.npy" for name in ("a", "b", "c")]
    for path in paths:
        np.save(path, rng.integers(0, 255, (2, 8, 8), dtype=np.uint8))
    assert drop(w, *paths) == (True, True)
    qtbot.waitUntil(lambda: w.state.stack.name == "a.npy" and not w.busy)
    note = w.status_bar.message_label.text()
    assert "2 other dropped files were ignored (b.npy, c.npy)" in note
    assert "folder" in note


def test_an_index_past_the_end_is_shown_as_the_last_and_said(qtbot, window, tmp_path, rng,
                                                             wait_idle):
    path = tmp_path / "four.npy"
    np.save(path, rng.integers(0, 255, (4, 8, 8), dtype=np.uint8))
    window.opener.open_path(path, index=5000)
    wait_idle(window)
    assert window.state.index == 3
    note = window.status_bar.message_label.text()
    assert "image 5000 does not exist" in note and "showing image 3, the last" in note
    window.opener.open_path(path, index=2)
    wait_idle(window)
    assert "does not exist" not in window.status_bar.message_label.text()


def test_drag_without_files_is_refused(sample_window):
    mime = QMimeData()
    mime.setText("not a file")
    enter = QDragEnterEvent(QPoint(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(sample_window, enter)
    assert not enter.isAccepted()


BAD_FILES = {
    "pickled.npy": lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
    "truncated.npy": lambda p: p.write_bytes(_npy_bytes()[:-100]),
    "junk.tif": lambda p: p.write_bytes(b"this is not a tiff file at all" * 10),
    "notes.txt": lambda p: p.write_text("hello"),
    "flags.npy": lambda p: np.save(p, np.zeros((3, 8, 8), bool)),
}


def _npy_bytes():
    import io
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((4, 16, 16), np.uint8))
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_gives_a_message_and_keeps_the_stack(qtbot, sample_window, tmp_path,
                                                      message_boxes, name):
    w = sample_window
    w.state.set_index(42)
    before = w.state.stack
    path = tmp_path / name
    BAD_FILES[name](path)
    w.opener.open_path(path)
    qtbot.waitUntil(lambda: not w.busy and bool(message_boxes.calls), timeout=10000)
    [(kind, title, text)] = message_boxes.calls
    assert kind == "warning" and title == "Cannot open"
    assert "\n" not in text and "Traceback" not in text
    assert name in text
    assert w.state.stack is before and w.state.index == 42
    assert w.windowTitle() == "sample_stack.npy — histeq-gui"


def test_missing_file_message(qtbot, sample_window, tmp_path, message_boxes):
    sample_window.opener.open_path(tmp_path / "nope.npy")
    qtbot.waitUntil(lambda: bool(message_boxes.calls))
    assert "no such file" in message_boxes.texts()[0]


def test_a_new_open_cancels_the_previous_one(qtbot, sample_window, tmp_path, rng, monkeypatch):
    w = sample_window
    first, second = tmp_path / "first.npy", tmp_path / "second.npy"
    np.save(first, rng.integers(0, 255, (2, 8, 8), dtype=np.uint8))
    np.save(second, rng.integers(0, 255, (3, 8, 8), dtype=np.uint8))
    open_stack = opener_module.open_stack
    reading, release = threading.Event(), threading.Event()

    def slow_first(path, progress=None, key=None):
        if path == first:           # still reading when the second request comes
            reading.set()
            release.wait(10)
            progress("Reading", 1, 1)       # raises Cancelled once cancelled
        return open_stack(path, progress, key=key)
    monkeypatch.setattr(opener_module, "open_stack", slow_first)
    shown = []
    w.state.stackChanged.connect(lambda: shown.append(w.state.stack.name))
    first_job = w.opener.open_path(first)
    assert reading.wait(5)
    w.opener.open_path(second)
    assert first_job.cancel_requested       # the second request cancelled the first
    qtbot.waitUntil(lambda: shown == ["second.npy"] and not w.busy)
    with qtbot.waitSignal(first_job.finished, timeout=10000):   # its end, in the GUI thread
        release.set()
    assert first_job.outcome == "cancelled"
    assert shown == ["second.npy"] and w.state.stack.name == "second.npy"


@pytest.fixture
def several_arrays(tmp_path, rng):
    path = tmp_path / "several.npz"
    arrays = {"first": rng.integers(0, 255, (2, 8, 8), dtype=np.uint8),
              "labels": np.arange(3),
              "second": rng.integers(0, 255, (3, 8, 8), dtype=np.uint16)}
    np.savez(path, **arrays)
    return path, arrays


@pytest.fixture
def get_item(monkeypatch):
    """QInputDialog.getItem patched: records what is offered, picks ``answers`` in turn.

    An answer is an array name; the item offered for it is picked.  With no
    answer left, the dialog is cancelled.
    """
    from PyQt5.QtWidgets import QInputDialog

    class GetItem:
        def __init__(self):
            self.answers = []
            self.offered = []
            self.labels = []

        def __call__(self, parent, title, label, items, current=0, editable=True, *args):
            self.offered.append(list(items))
            self.labels.append(label)
            if not self.answers:
                return "", False
            name = self.answers.pop(0)
            [item] = [i for i in items if i.split(" ")[0] == name]
            return item, True
    patched = GetItem()
    monkeypatch.setattr(QInputDialog, "getItem", patched)
    return patched


def test_an_npz_of_several_arrays_asks_which_one(qtbot, sample_window, several_arrays,
                                                 get_item, message_boxes):
    w = sample_window
    path, arrays = several_arrays
    get_item.answers = ["second"]
    w.opener.open_path(path, index=1)
    qtbot.waitUntil(lambda: w.state.stack.path == path and not w.busy)
    [offered] = get_item.offered
    assert offered == ["first — 2×8×8 uint8", "labels — 3 int64", "second — 3×8×8 uint16"]
    np.testing.assert_array_equal(w.state.stack.array, arrays["second"])
    assert w.state.index == 1
    assert w.windowTitle() == "several.npz [second] — histeq-gui"
    assert not message_boxes.calls


def test_a_wrong_pick_is_offered_again_with_the_reason(qtbot, sample_window, several_arrays,
                                                       get_item, message_boxes):
    w = sample_window
    path, arrays = several_arrays
    get_item.answers = ["labels", "first"]
    w.opener.open_path(path)
    qtbot.waitUntil(lambda: w.state.stack.path == path and not w.busy)
    assert len(get_item.offered) == 2 and get_item.offered[0] == get_item.offered[1]
    assert "labels" in get_item.labels[1] and "cannot" in get_item.labels[1]
    np.testing.assert_array_equal(w.state.stack.array, arrays["first"])
    assert not message_boxes.calls


def test_cancelling_the_choice_of_array_keeps_the_stack(qtbot, sample_window, several_arrays,
                                                        get_item, message_boxes):
    w = sample_window
    before = w.state.stack
    w.opener.open_path(several_arrays[0])
    qtbot.waitUntil(lambda: bool(get_item.offered) and not w.busy)
    assert w.state.stack is before and not message_boxes.calls


def test_the_npz_headers_are_read_without_loading(tmp_path, monkeypatch):
    from histeq_gui.gui.stack_file import npz_arrays
    path = tmp_path / "mixed.npz"
    np.savez_compressed(path, big=np.zeros((50, 1, 40, 30), np.float32),
                        objects=np.array([{"a": 1}], dtype=object))
    monkeypatch.setattr(np, "load", None)                      # nothing is loaded
    monkeypatch.setattr(np.lib.format, "read_array", None)
    arrays = dict((name, (shape, dtype)) for name, shape, dtype in npz_arrays(path))
    assert arrays == {"big": ((50, 1, 40, 30), np.dtype(np.float32)),
                      "objects": ((1,), np.dtype(object))}


def test_colour_stack_per_channel(qtbot, window, rng):
    data = rng.integers(0, 256, (4, 32, 40, 3), dtype=np.uint8)
    window.opener.set_stack(LoadedStack.from_array(data))
    window.state.set_index(2)
    assert window.state.stack.layout.channels == 3
    np.testing.assert_array_equal(window.controller.result.equalized,
                                  equalize(data[2], "numpy", 256, channel_axis=-1))
    assert window.panel("transfer").plot.curve_count() == 3
    assert window.panel("histograms").original.channel_count() == 3
    window.state.set_scope("stack")
    np.testing.assert_array_equal(window.controller.result.equalized,
                                  equalize(data, "numpy", 256, scope="stack", channel_axis=-1)[2])


def test_gray_alpha_stack_shows_the_gray_channel(window, rng):
    from histeq_gui.gui.plots import channel_colours
    data = rng.integers(0, 256, (3, 24, 20, 2), dtype=np.uint8)
    window.opener.set_stack(LoadedStack.from_array(data))
    window.state.set_index(1)
    assert window.state.stack.channels == 2
    expected = equalize(data[1], "numpy", 256, channel_axis=-1)
    np.testing.assert_array_equal(window.controller.result.equalized, expected)
    np.testing.assert_array_equal(np.asarray(window.panel("images").views.original_item.image),
                                  data[1, ..., 0])
    np.testing.assert_array_equal(np.asarray(window.panel("images").views.equalized_item.image),
                                  expected[..., 0])
    assert window.panel("histograms").original.channel_count() == 2
    assert channel_colours(2) == (channel_colours(1)[0], channel_colours(4)[3])  # gray, alpha
    window.panel("images").views.hovered.emit(5, 6)
    pixel = window.status_bar.pixel_label.text()
    assert f"original ({data[1, 6, 5, 0]}, {data[1, 6, 5, 1]})" in pixel


def test_float_stack_levels_can_be_the_stack_range(window, rng):
    data = rng.normal(10.0, 3.0, (6, 20, 20))
    data[2, 3, 4] = np.nan
    window.state.set_levels_mode("stack")
    window.opener.set_stack(LoadedStack.from_array(data))
    lo, hi = np.nanmin(data), np.nanmax(data)
    assert tuple(window.panel("images").views.original_item.levels) == (lo, hi)
    window.state.set_index(2)
    assert tuple(window.panel("images").views.original_item.levels) == (lo, hi)
    expected = equalize(data[2], "numpy", 256)
    np.testing.assert_array_equal(window.controller.result.equalized, expected)


def test_big_images_are_computed_in_a_worker(qtbot, window, monkeypatch, rng, wait_idle):
    monkeypatch.setattr(controller_module, "SYNC_IMAGE_VALUES", 100)
    monkeypatch.setattr(controller_module, "SYNC_STACK_VALUES", 100)
    data = rng.integers(0, 256, (5, 64, 64), dtype=np.uint8)
    window.opener.set_stack(LoadedStack.from_array(data))
    wait_idle(window)
    np.testing.assert_array_equal(window.controller.result.equalized, equalize(data[0], "numpy",
                                  256))
    for i in range(5):                      # quick requests: only the last one counts
        window.state.set_index(i)
    wait_idle(window)
    assert window.controller.result.index == 4
    np.testing.assert_array_equal(window.controller.result.equalized, equalize(data[4], "numpy",
                                  256))
    window.state.set_scope("stack")
    wait_idle(window)
    np.testing.assert_array_equal(window.controller.result.equalized,
                                  equalize(data, "numpy", 256, scope="stack")[4])
    assert window.controller.result.scope == "stack"


def test_cancelling_the_stack_histogram_goes_back_to_image_scope(qtbot, window, monkeypatch,
                                                                 rng):
    monkeypatch.setattr(controller_module, "SYNC_STACK_VALUES", 100)
    data = rng.integers(0, 256, (3, 16, 16), dtype=np.uint8)
    window.opener.set_stack(LoadedStack.from_array(data))
    release = threading.Event()

    def slow(stack, method, bins, progress=None, roi=None, params=None):
        while not release.wait(0.01):
            progress("Stack histogram", 0, 1)     # raises Cancelled once cancelled

    monkeypatch.setattr(controller_module, "stack_histograms", slow)
    window.state.set_scope("stack")
    assert window.controller.stack_runner.busy
    window.status_bar.progress.cancel_button.click()
    qtbot.waitUntil(lambda: not window.controller.stack_runner.busy)
    assert window.state.scope == "image"
    assert window.panel("settings").scope_buttons["image"].isChecked()
    release.set()


def test_preferences_remember_method_bins_scope_and_folder(qtbot, prefs, settings_file, tmp_path,
                                                          wait_idle):
    w = MainWindow(prefs)
    qtbot.addWidget(w)       # closed and deleted by pytest-qt, in order
    w.show()
    path = tmp_path / "remember.npy"
    np.save(path, np.zeros((2, 8, 8), np.uint8))
    w.opener.open_path(path)
    wait_idle(w)
    w.state.set_method("skimage")
    w.state.set_bins(77)
    w.state.set_scope("stack")
    w.close()
    assert settings_file.exists()
    again = MainWindow(type(prefs).from_file(settings_file))
    qtbot.addWidget(again)       # closed and deleted by pytest-qt, in order
    try:
        assert again.state.method == "skimage"
        assert again.state.bins == 77
        assert again.state.scope == "stack"
        assert again.panel("settings").scope_buttons["stack"].isChecked()
        assert again.prefs.last_data_folder() == tmp_path
        assert again.prefs.recent_files()[0] == str(path.resolve())
    finally:
        again.close()


def test_recent_menu_lists_and_opens(qtbot, window, tmp_path, wait_idle):
    path = tmp_path / "recent.npy"
    np.save(path, np.ones((2, 8, 8), np.uint8))
    window.prefs.add_recent(path)
    window.opener.fill_recent_menu()
    actions = [a for a in window.opener.recent_menu.actions() if a.text().endswith("recent.npy")]
    assert len(actions) == 1
    actions[0].trigger()
    wait_idle(window)
    assert window.state.stack.name == "recent.npy"


def shown_problem(window):
    """The equalized view's title and the status bar note (both say why nothing is shown)."""
    return window.panel("images").views.equalized_title.text, window.status_bar.message_label.text()


def test_unexpected_error_is_shown_and_logged(sample_window, monkeypatch, message_boxes,
                                              caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("kaboom")
    monkeypatch.setattr(controller_module, "compute_view", broken)
    with caplog.at_level("ERROR"):
        sample_window.state.set_index(3)
    text = "Unexpected error (RuntimeError: kaboom); details are in the log."
    assert all(text in shown for shown in shown_problem(sample_window))
    assert not message_boxes.calls
    assert "Traceback" in caplog.text and "kaboom" in caplog.text
    assert sample_window.state.stack is not None      # the viewer keeps running


def test_an_image_that_cannot_be_equalized_shows_its_original_and_why(window, message_boxes,
                                                                      caplog):
    data = np.random.default_rng(6).random((3, 32, 32)).astype(np.float16)
    window.opener.set_stack(LoadedStack.from_array(data))
    assert window.controller.problem() is None
    with caplog.at_level("WARNING"):
        for bins in (4096, 4000, 3000):         # a drag of the bins slider, throttled
            window.state.set_bins(bins)
    assert not message_boxes.calls
    np.testing.assert_array_equal(np.asarray(window.panel("images").views.original_item.image),
                                  data[0])
    assert window.panel("images").views.equalized_item.image is None
    title, note = shown_problem(window)
    assert "too many bins (3000)" in title and "use fewer bins" in title
    assert "too many bins (3000)" in note and "\n" not in note
    assert "too many bins (3000)" in window.controller.problem()
    # the long title wraps in its column, views stay equal
    panel = window.panel("images").views
    assert panel.equalized_title.item.boundingRect().width() <= panel.equalized_title.width() + 1
    assert abs(panel.original_view.width() - panel.equalized_view.width()) < 2
    assert window.panel("histograms").original.bar_count() == 0
    assert "not available" in window.panel("histograms").original.title()
    assert "not available" in window.panel("histograms").equalized.title()
    [logged] = [r for r in caplog.records if r.exc_info]      # once for the drag, traced
    assert logged.levelname == "WARNING" and "too many bins (4096)" in str(logged.exc_info[1])
    window.panel("images").views.hovered.emit(3, 4)
    assert window.status_bar.pixel_label.text().startswith("x 3, y 4 · original ")
    window.state.set_bins(256)
    assert window.controller.problem() is None and window.status_bar.message_label.text() == ""
    np.testing.assert_array_equal(window.controller.result.equalized, equalize(data[0], "numpy",
                                  256))


def test_a_failure_in_the_worker_is_shown_the_same_way(window, monkeypatch, message_boxes,
                                                       wait_idle):
    monkeypatch.setattr(controller_module, "SYNC_IMAGE_VALUES", 100)
    data = np.random.default_rng(6).random((3, 32, 32)).astype(np.float16)
    window.state.set_bins(4096)
    window.opener.set_stack(LoadedStack.from_array(data))
    wait_idle(window)
    assert all("too many bins (4096)" in shown for shown in shown_problem(window))
    assert window.panel("images").views.equalized_item.image is None and not message_boxes.calls


def test_the_histogram_is_drawn_when_only_equalizing_fails(window, monkeypatch, message_boxes):
    from histeq_gui.core.equalize import Histogram

    def broken(self, images, progress=None):
        raise ValueError("cannot map these values")
    data = np.random.default_rng(8).integers(0, 256, (2, 16, 16), dtype=np.uint8)
    monkeypatch.setattr(Histogram, "apply", broken)
    window.opener.set_stack(LoadedStack.from_array(data))
    assert "cannot map these values" in window.controller.problem()
    np.testing.assert_array_equal(window.panel("histograms").original.bars()[1],
                                  histogram(data[0], "numpy", 256).counts)
    assert window.panel("transfer").plot.curve_count() == 1
    assert window.panel("histograms").equalized.bar_count() == 0 and not message_boxes.calls


def test_a_whole_stack_histogram_that_fails_is_shown_and_not_retried(window, monkeypatch,
                                                                    message_boxes):
    made = []

    def counted(*args, **kwargs):
        made.append(args)
        return stack_histograms(*args, **kwargs)
    stack_histograms = controller_module.stack_histograms
    monkeypatch.setattr(controller_module, "stack_histograms", counted)
    data = np.random.default_rng(6).random((3, 32, 32)).astype(np.float16)
    window.opener.set_stack(LoadedStack.from_array(data))
    window.state.set_bins(4096)
    window.state.set_scope("stack")
    window.state.set_index(1)
    window.state.set_index(2)
    assert len(made) == 1 and not message_boxes.calls
    assert window.state.scope == "stack"
    assert window.panel("images").views.equalized_item.image is None
    assert all("too many bins (4096)" in shown for shown in shown_problem(window))
    np.testing.assert_array_equal(np.asarray(window.panel("images").views.original_item.image),
                                  data[2])
    window.state.set_bins(64)
    np.testing.assert_array_equal(window.controller.result.equalized,
                                  equalize(data, "numpy", 64, scope="stack")[2])


def test_a_big_endian_file_is_made_native_once_and_a_small_one_is_read_whole(tmp_path, rng):
    from histeq_gui.gui.stack_file import open_stack
    data = rng.integers(0, 4000, (3, 16, 16), dtype=np.uint16)
    np.save(tmp_path / "big.npy", data.astype(">u2"))
    np.save(tmp_path / "native.npy", data)
    big, native = open_stack(tmp_path / "big.npy"), open_stack(tmp_path / "native.npy")
    assert big.dtype == np.uint16 and big.dtype.isnative
    np.testing.assert_array_equal(big.array, data)
    assert native.in_memory and not isinstance(native.array, np.memmap)   # small: read whole
    assert big.levels == native.levels


def test_wide_integer_levels_can_be_the_stack_range(window, rng):
    data = rng.integers(100, 4096, (3, 20, 20), dtype=np.uint16)   # 12-bit camera data
    window.state.set_levels_mode("stack")
    window.opener.set_stack(LoadedStack.from_array(data))
    levels = (float(data.min()), float(data.max()))
    assert tuple(window.panel("images").views.original_item.levels) == levels
    for i in range(3):
        window.state.set_index(i)
        assert tuple(window.panel("images").views.original_item.levels) == levels


def test_user_settings_are_never_touched():
    import os

    from histeq_gui.gui.preferences import Preferences
    user = Preferences.for_user()       # what a normal run uses: redirected by tests/conftest.py
    assert user.location().startswith(os.environ["XDG_CONFIG_HOME"])
    assert Preferences().location() is None


def test_loading_reports_progress_off_the_gui_thread(qtbot, window, tmp_path, rng,
                                                     wait_idle):
    import imageio.v3 as iio
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        iio.imwrite(folder / f"im{i:02d}.png", rng.integers(0, 256, (16, 16), dtype=np.uint8))
    seen = []
    window.opener.loader.progressed.connect(lambda stage, done, total: seen.append((stage, done,
                                                                              total)))
    window.opener.open_path(folder)
    assert window.opener.loader.busy                 # the GUI thread is free while it reads
    wait_idle(window)
    assert ("Reading", 12, 12) in seen
    assert window.state.n_images == 12


def test_cancelling_a_load_keeps_the_stack(qtbot, sample_window, monkeypatch, message_boxes):
    w = sample_window
    before = w.state.stack
    release = threading.Event()

    def slow(path, progress=None, key=None):
        while not release.wait(0.01):
            progress("Reading", 0, 1)
    monkeypatch.setattr(opener_module, "open_stack", slow)
    w.opener.open_path("whatever.npy")
    w.status_bar.progress.cancel_button.click()
    qtbot.waitUntil(lambda: not w.opener.loader.busy)
    release.set()
    assert w.state.stack is before and not message_boxes.calls


def test_unexpected_error_while_loading(qtbot, sample_window, monkeypatch, message_boxes,
                                        caplog):
    def broken(path, progress=None, key=None):
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(opener_module, "open_stack", broken)
    with caplog.at_level("ERROR"):
        sample_window.opener.open_path("x.npy")
        qtbot.waitUntil(lambda: bool(message_boxes.calls))
    [text] = message_boxes.texts("warning")
    assert text.startswith("Unexpected error (OSError") and "\n" not in text
    assert "Traceback" in caplog.text
    assert sample_window.state.stack.name == "sample_stack.npy"


def marked(window):
    """The points marked on the transfer curve, the equalized value in [0, 1]."""
    x, y = window.panel("transfer").plot.marked()
    return list(zip(np.asarray(x).tolist(), (np.asarray(y) / 255).tolist()))   # uint8 scale


def test_the_pixel_readout_follows_a_new_image_under_a_still_cursor(sample_window):
    w = sample_window
    w.state.set_index(3)
    w.panel("images").views.hovered.emit(10, 20)          # the mouse stops over a pixel
    before = current_image(w)[20, 10]
    assert f"original {before}" in w.status_bar.pixel_label.text()
    for index in (7, 8):                                   # paged with the keyboard
        w.state.set_index(index)
        image, equalized = current_image(w), w.controller.result.equalized
        assert image[20, 10] != before
        text = w.status_bar.pixel_label.text()
        assert f"x 10, y 20 · original {image[20, 10]}" in text
        assert f"equalized {equalized[20, 10]:.4g}" in text
        assert marked(w) == [(float(image[20, 10]), float(equalized[20, 10]))]
        before = image[20, 10]
    w.state.set_bins(8)                                     # a new mapping, same image
    assert marked(w) == [(float(before), float(w.controller.result.equalized[20, 10]))]
    w.panel("images").views.hovered.emit(-1, -1)
    assert w.status_bar.pixel_label.text() == "" and marked(w) == []


@pytest.mark.parametrize("key", [Qt.Key_Escape, Qt.Key_Return])
def test_the_help_window_closes_with_escape_or_enter(qtbot, sample_window, key):
    box = sample_window.help.show()
    assert box.isVisible()
    qtbot.keyClick(box, key)
    assert not box.isVisible()


def test_closing_does_not_wait_for_a_load_that_cannot_stop(qtbot, window, monkeypatch,
                                                          message_boxes):
    started, release = threading.Event(), threading.Event()

    def compiling(path, progress=None, key=None):     # deaf to Cancel, like a compiler
        started.set()
        release.wait(10)
        raise RuntimeError("finished after the window closed")
    monkeypatch.setattr(opener_module, "open_stack", compiling)
    job = window.opener.open_path("x.npy")
    assert started.wait(5)
    window.close()
    assert not window.isVisible() and job.isRunning()    # closed without waiting for it
    assert job in left_running()         # main() will not wait for it either
    with qtbot.waitSignal(job.finished, timeout=10000):  # its end, in the GUI thread
        release.set()
    assert not message_boxes.calls                       # nothing reported after closing
