"""The export dialog: pre-filled settings, the core pipeline in a worker, cancel, replace."""

from __future__ import annotations

import time

import numpy as np
import pytest

from histeq_gui import equalize, load_stack
from histeq_gui.cli import main as histeq_main
from histeq_gui.core.io import sidecar_path
from histeq_gui.gui.export_dialog import ExportDialog, default_output


@pytest.fixture
def stack_file(tmp_path):
    rng = np.random.default_rng(7)
    data = (rng.random((12, 1, 40, 48)) ** 3 * 255).astype(np.uint8)
    path = tmp_path / "input.npy"
    np.save(path, data)
    return path


@pytest.fixture
def loaded(window, stack_file, wait_idle):
    window.opener.open_path(stack_file)
    wait_idle(window)
    return window


def open_dialog(window):
    dialog = window.open_export_dialog()
    assert isinstance(dialog, ExportDialog) and dialog.isVisible()
    return dialog


def finish(qtbot, dialog):
    qtbot.waitUntil(lambda: not dialog.running, timeout=30000)


def leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_dialog_is_prefilled_from_the_state(loaded, stack_file):
    loaded.state.set_method("skimage")
    loaded.state.set_bins(64)
    loaded.state.set_scope("stack")
    dialog = open_dialog(loaded)
    s = dialog.settings()
    assert (s.method, s.bins, s.scope, s.dtype) == ("skimage", 64, "stack", "same")
    assert dialog.output_edit.text() == str(stack_file.with_name("input_equalized.npy"))
    assert "NumPy .npy" in dialog.format_label.text()
    assert dialog.bins_note.isVisible()          # skimage + uint8 ignores bins here too
    dialog.reject()


@pytest.mark.parametrize("method, bins, scope, dtype, suffix", [
    ("numpy", 256, "image", "same", ".npy"),
    ("numpy", 16, "stack", "float32", ".tif"),
    ("skimage", 100, "image", "uint16", ".npz"),
])
def test_export_equals_the_histeq_command(qtbot, loaded, stack_file, tmp_path,
                                          method, bins, scope, dtype, suffix):
    loaded.state.set_method(method)
    loaded.state.set_bins(bins)
    loaded.state.set_scope(scope)
    dialog = open_dialog(loaded)
    out_gui = tmp_path / f"gui{suffix}"
    dialog.output_edit.setText(str(out_gui))
    dialog.dtype_combo.setCurrentIndex(dialog.dtype_combo.findData(dtype))
    progress = []
    dialog.runner.progressed.connect(lambda *args: progress.append(args))
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        assert dialog.start_export()
    qtbot.waitUntil(lambda: loaded.export_dialog is None)    # closed after success
    assert progress and progress[-1][0] == "write"
    out_cli = tmp_path / f"cli{suffix}"
    assert histeq_main([str(stack_file), "-o", str(out_cli), "--method", method,
                        "--bins", str(bins), "--scope", scope, "--dtype", dtype, "-q"]) == 0
    assert out_gui.read_bytes() == out_cli.read_bytes()
    assert sidecar_path(out_gui).exists()
    assert loaded.status_bar.message_label.text() == f"Exported to {out_gui}"


def test_export_float64_is_the_api_result(qtbot, loaded, stack_file, tmp_path):
    dialog = open_dialog(loaded)
    out = tmp_path / "exact.npy"
    dialog.output_edit.setText(str(out))
    dialog.dtype_combo.setCurrentIndex(dialog.dtype_combo.findData("float64"))
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        dialog.start_export()
    np.testing.assert_array_equal(np.load(out), equalize(np.load(stack_file), "numpy", 256))


def open_big_stack(window, tmp_path, wait_idle, name, seed):
    """Open a float64 stack big enough that exporting it takes a while."""
    source = tmp_path / name
    np.save(source, np.random.default_rng(seed).random((48, 1, 512, 512)))
    window.opener.open_path(source)
    wait_idle(window)


def test_cancel_leaves_no_output(qtbot, window, tmp_path, wait_idle):
    open_big_stack(window, tmp_path, wait_idle, "big.npy", 3)
    before = set(p.name for p in tmp_path.iterdir())
    dialog = open_dialog(window)
    out = tmp_path / "cancelled.npy"
    dialog.output_edit.setText(str(out))
    with qtbot.waitSignal(dialog.runner.progressed, timeout=30000):
        dialog.start_export()
    assert dialog.running
    assert dialog.cancel_button.text() == "Cancel"
    dialog.cancel_button.click()
    finish(qtbot, dialog)
    assert "cancelled" in dialog.stage_label.text()
    assert dialog.isVisible()                          # Cancel stops; the dialog stays
    assert not out.exists()
    assert leftovers(tmp_path, before) == []           # no temp files either
    dialog.reject()


def test_existing_output_asks_before_replacing(qtbot, loaded, tmp_path, message_boxes):
    out = tmp_path / "exists.npy"
    out.write_bytes(b"keep me")
    dialog = open_dialog(loaded)
    dialog.output_edit.setText(str(out))
    assert not dialog.start_export()
    assert message_boxes.texts("question") and out.read_bytes() == b"keep me"
    from PyQt5.QtWidgets import QMessageBox
    message_boxes.answer = QMessageBox.Yes
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        assert dialog.start_export()
    assert load_stack(out).shape == (12, 1, 40, 48)


def test_bad_output_gives_a_message(qtbot, loaded, tmp_path, message_boxes):
    dialog = open_dialog(loaded)
    dialog.output_edit.setText(str(tmp_path / "out.xyz"))
    assert "unsupported output type" in dialog.format_label.text()
    assert not dialog.start_export()
    assert "unsupported output type" in message_boxes.texts("warning")[0]
    dialog.output_edit.setText(str(tmp_path / "missing" / "out.npy"))
    assert not dialog.start_export()
    assert "does not exist" in message_boxes.texts("warning")[1]
    assert not dialog.running
    dialog.reject()


def test_output_onto_the_input_is_refused(loaded, stack_file, message_boxes):
    from PyQt5.QtWidgets import QMessageBox
    message_boxes.answer = QMessageBox.Yes
    dialog = open_dialog(loaded)
    dialog.output_edit.setText(str(stack_file))
    assert not dialog.start_export()
    assert "it is the input" in message_boxes.texts("warning")[0]
    assert np.load(stack_file).shape == (12, 1, 40, 48)
    dialog.reject()


def test_default_output_is_free_and_not_in_the_bundle(tmp_path):
    source = tmp_path / "a.tif"
    source.write_bytes(b"")
    assert default_output(source, tmp_path / "else") == tmp_path / "a_equalized.tif"
    (tmp_path / "a_equalized.tif").write_bytes(b"")
    assert default_output(source, tmp_path) == tmp_path / "a_equalized_2.tif"
    from histeq_gui.gui.resources import SAMPLE_STACK, resource_path
    home = tmp_path / "home"
    home.mkdir()
    assert default_output(resource_path(SAMPLE_STACK), home) == \
        home / "sample_stack_equalized.npy"


@pytest.mark.parametrize("name, expected", [("a.npz", "a_equalized.npz"),
                                            ("a.TIFF", "a_equalized.tiff"),
                                            ("a.png", "a_equalized.png"),
                                            ("frames", "frames_equalized")])
def test_default_output_keeps_a_writable_kind(tmp_path, name, expected):
    source = tmp_path / name
    if source.suffix:
        source.write_bytes(b"")
    else:
        source.mkdir()
    assert default_output(source, tmp_path / "else") == tmp_path / expected


def test_default_output_skips_a_dangling_link(tmp_path):
    source = tmp_path / "a.npy"
    source.write_bytes(b"")
    (tmp_path / "a_equalized.npy").symlink_to(tmp_path / "gone")
    assert default_output(source, tmp_path) == tmp_path / "a_equalized_2.npy"


class FileDialogs:
    """Records QFileDialog calls; returns ``answer`` (a path, or "" for Cancel)."""

    def __init__(self):
        self.calls = []
        self.answer = ("", "")

    def get_save(self, parent, caption, start, filters, *args, **kwargs):
        self.calls.append(("save", start, filters))
        return self.answer

    def get_open(self, parent, caption, start, filters="", *args, **kwargs):
        self.calls.append(("open", start, filters))
        return self.answer


@pytest.fixture
def file_dialogs(monkeypatch):
    from PyQt5.QtWidgets import QFileDialog
    dialogs = FileDialogs()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialogs.get_save)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", dialogs.get_open)
    return dialogs


def test_enter_exports_and_does_not_browse(qtbot, loaded, tmp_path, file_dialogs):
    from PyQt5.QtCore import Qt
    dialog = open_dialog(loaded)
    out = tmp_path / "by_enter.npy"
    dialog.output_edit.setText(str(out))
    dialog.output_edit.setFocus()
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        qtbot.keyClick(dialog.output_edit, Qt.Key_Return)
    assert not file_dialogs.calls                       # "Browse…" was not opened
    assert out.exists()


def test_enter_in_the_bins_box_exports(qtbot, loaded, tmp_path, file_dialogs):
    from PyQt5.QtCore import Qt
    dialog = open_dialog(loaded)
    out = tmp_path / "by_enter_bins.npy"
    dialog.output_edit.setText(str(out))
    dialog.bins_spin.setFocus()
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        qtbot.keyClick(dialog.bins_spin, Qt.Key_Return)
    assert out.exists() and not file_dialogs.calls


def test_escape_closes_the_dialog(qtbot, loaded):
    from PyQt5.QtCore import Qt
    dialog = open_dialog(loaded)
    qtbot.keyClick(dialog.output_edit, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_escape_cancels_a_running_export_then_closes(qtbot, loaded, tmp_path, monkeypatch):
    import threading

    from PyQt5.QtCore import Qt

    from histeq_gui.gui import export_dialog as export_dialog_module
    closed = threading.Event()

    def endless(images, output, settings, **kwargs):
        try:
            while True:
                yield ("equalize", 0, 1)
                time.sleep(0.005)
        finally:
            closed.set()
    monkeypatch.setattr(export_dialog_module, "export_steps", endless)
    dialog = open_dialog(loaded)
    dialog.output_edit.setText(str(tmp_path / "never.npy"))
    with qtbot.waitSignal(dialog.runner.progressed, timeout=10000):
        assert dialog.start_export()
    qtbot.keyClick(dialog.output_edit, Qt.Key_Escape)
    qtbot.waitUntil(lambda: loaded.export_dialog is None, timeout=10000)    # closed
    assert closed.is_set() and not (tmp_path / "never.npy").exists()


def test_a_finished_export_says_where_and_opens_its_folder(qtbot, loaded, tmp_path,
                                                           monkeypatch):
    from PyQt5.QtGui import QDesktopServices
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    dialog = open_dialog(loaded)
    out = tmp_path / "where.tif"
    dialog.output_edit.setText(str(out))
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        dialog.start_export()
    bar = loaded.status_bar
    assert bar.message_label.text() == f"Exported to {out}"
    assert bar.action_button.isVisible() and bar.action_button.text() == "Open folder"
    bar.action_button.click()
    assert [url.toLocalFile() for url in opened] == [str(tmp_path)]


def test_a_png_folder_of_floats_names_the_dialogs_data_type(qtbot, loaded, tmp_path,
                                                             message_boxes):
    dialog = open_dialog(loaded)
    dialog.output_edit.setText(str(tmp_path / "frames"))
    dialog.dtype_combo.setCurrentIndex(dialog.dtype_combo.findData("float32"))
    dialog.start_export()
    qtbot.waitUntil(lambda: not dialog.running and bool(message_boxes.calls), timeout=30000)
    [text] = message_boxes.texts("warning")
    assert "PNG" in text and '"Data type"' in text and "--dtype" not in text
    assert not (tmp_path / "frames").exists()
    dialog.reject()


def test_browse_offers_every_writable_kind(loaded, file_dialogs):
    dialog = open_dialog(loaded)
    dialog.browse_button.click()
    [(kind, start, filters)] = file_dialogs.calls
    for pattern in ("*.npy", "*.npz", "*.tif", "*.tiff", "*.png", "PNG files"):
        assert pattern in filters
    dialog.reject()


@pytest.mark.parametrize("chosen, kind, expected", [
    ("out", "NumPy array (*.npy)", "out.npy"),
    ("out", "TIFF stack (*.tif *.tiff)", "out.tif"),
    ("frames", "Folder of PNG files (no extension) (*)", "frames"),
    ("out.npz", "NumPy array (*.npy)", "out.npz"),
])
def test_browse_adds_the_chosen_kinds_extension(loaded, file_dialogs, tmp_path, chosen, kind,
                                                expected):
    dialog = open_dialog(loaded)
    file_dialogs.answer = (str(tmp_path / chosen), kind)
    dialog.browse_button.click()
    assert dialog.output_edit.text() == str(tmp_path / expected)
    dialog.reject()


def test_open_starts_in_the_last_data_folder_not_the_export_folder(qtbot, window, tmp_path,
                                                                   file_dialogs, wait_idle):
    data, exports = tmp_path / "data", tmp_path / "exports"
    data.mkdir()
    exports.mkdir()
    np.save(data / "in.npy", np.arange(64, dtype=np.uint8).reshape(1, 8, 8))
    window.opener.open_path(data / "in.npy")
    wait_idle(window)
    dialog = open_dialog(window)
    dialog.output_edit.setText(str(exports / "out.npy"))
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        dialog.start_export()
    window.opener.choose_file()
    assert file_dialogs.calls[-1][:2] == ("open", str(data))
    again = open_dialog(window)             # exports go where the last one went
    assert again.output_edit.text() == str(exports / "in_equalized.npy")
    again.browse_button.click()
    again.reject()
    assert window.prefs.last_export_folder() == exports


@pytest.fixture
def held_export(monkeypatch):
    """The real export, held once it is equalizing (its temporary output on disk) until stopped.

    The steps of :func:`export_steps` are passed on; from the first "equalize"
    step on it is repeated every 10 ms, so only a cancel ends the job.
    """
    from histeq_gui.gui import export_dialog as export_dialog_module
    real = export_dialog_module.export_steps

    def held(*args, **kwargs):
        steps = real(*args, **kwargs)
        try:
            for step in steps:
                yield step
                while step[0] == "equalize":
                    time.sleep(0.01)
                    yield step
        finally:
            steps.close()               # the core's clean-up: its temporaries go
    monkeypatch.setattr(export_dialog_module, "export_steps", held)


@pytest.mark.parametrize("how", ["escape", "close button", "cancel"])
def test_escape_close_and_cancel_during_an_export_cancel_it_and_say_so(
        qtbot, window, tmp_path, wait_idle, held_export, how):
    from PyQt5.QtCore import Qt
    folder = tmp_path / "data"
    folder.mkdir()
    source = folder / "input.npy"
    np.save(source, np.random.default_rng(5).integers(0, 256, (12, 1, 40, 48), np.uint8))
    window.opener.open_path(source)
    wait_idle(window)
    window.status_bar.notify(f"Exported to {folder / 'earlier.npy'}")    # an older export
    dialog = open_dialog(window)
    out = folder / "out.npy"
    dialog.output_edit.setText(str(out))
    with qtbot.waitSignal(dialog.runner.progressed, timeout=30000,
                          check_params_cb=lambda stage, done, total: stage == "equalize"):
        assert dialog.start_export()
    assert leftovers(folder, {"input.npy"}), "the export stages a temporary output"
    with qtbot.waitSignal(dialog.finished, timeout=30000):
        if how == "escape":
            qtbot.keyClick(dialog, Qt.Key_Escape)
        elif how == "close button":
            dialog.close()                      # what the window's close button does
        else:
            with qtbot.waitSignal(dialog.cancelled, timeout=30000):
                dialog.cancel_button.click()
            assert dialog.isVisible() and not dialog.running     # Cancel stops; it stays
            assert dialog.stage_label.text() == "Export cancelled; nothing was written."
            dialog.cancel_button.click()        # now "Close"
    assert not dialog.isVisible() and not dialog.running
    assert not out.exists() and not sidecar_path(out).exists()
    assert leftovers(folder, {"input.npy"}) == []               # no temporary file either
    assert window.status_bar.message_label.text() == "Export cancelled; nothing was written."
    assert window.export_dialog is None


def test_a_statistics_csv_being_written_cannot_be_closed_half_way(qtbot, window, tmp_path,
                                                                  wait_idle, monkeypatch):
    """One CSV is written in one go: no Cancel, and Esc and close wait for it."""
    import threading

    from PyQt5.QtCore import Qt

    from histeq_gui.gui import stats_export
    source = tmp_path / "faces.npy"
    np.save(source, np.random.default_rng(6).integers(0, 256, (5, 24, 24), np.uint8))
    window.opener.open_path(source)
    wait_idle(window)
    window.docks["stats"].raise_()
    qtbot.waitUntil(lambda: window.inspection.table is not None, timeout=30000)
    release = threading.Event()
    real = stats_export.stats_to_csv

    def held(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)
    monkeypatch.setattr(stats_export, "stats_to_csv", held)
    dialog = window.panel("stats").open_export_dialog()
    out = tmp_path / "stats.csv"
    dialog.path_edit.setText(str(out))
    assert dialog.start_export()
    assert not dialog.cancel_button.isEnabled() and dialog.cancel_button.text() == "Close"
    qtbot.keyClick(dialog.path_edit, Qt.Key_Escape)
    dialog.close()
    assert dialog.isVisible() and dialog.running
    with qtbot.waitSignal(dialog.finished, timeout=30000):
        release.set()
    assert out.exists() and window.status_bar.message_label.text() == \
        f"Statistics written to {out}"


def open_held_export(qtbot, window, tmp_path, wait_idle):
    """The real export of a small stack, held while equalizing: (dialog, output, folder)."""
    folder = tmp_path / "data"
    folder.mkdir()
    source = folder / "input.npy"
    np.save(source, np.random.default_rng(5).integers(0, 256, (12, 1, 40, 48), np.uint8))
    window.opener.open_path(source)
    wait_idle(window)
    window.status_bar.notify(f"Exported to {folder / 'earlier.npy'}")    # an older export
    dialog = open_dialog(window)
    out = folder / "out.npy"
    dialog.output_edit.setText(str(out))
    with qtbot.waitSignal(dialog.runner.progressed, timeout=30000,
                          check_params_cb=lambda stage, done, total: stage == "equalize"):
        assert dialog.start_export()
    assert window.status_bar.message_label.text() == f"Exporting to {out}…"   # not "Exported"
    assert leftovers(folder, {"input.npy"}), "the export stages a temporary output"
    return dialog, out, folder


def quit_by(qtbot, window, dialog, how):
    from PyQt5.QtCore import Qt
    if how == "ctrl+q in the dialog":
        dialog.activateWindow()
        qtbot.keyClick(dialog.output_edit, Qt.Key_Q, Qt.ControlModifier)
    elif how == "ctrl+q in the window":
        qtbot.keyClick(window.panel("images"), Qt.Key_Q, Qt.ControlModifier)
    else:
        window.close()                  # what the window's close button does


@pytest.mark.parametrize("how", ["ctrl+q in the dialog", "ctrl+q in the window",
                                 "close the window"])
def test_quit_during_an_export_asks_and_yes_cancels_it(qtbot, window, tmp_path, wait_idle,
                                                       held_export, message_boxes, how):
    from PyQt5.QtWidgets import QMessageBox
    dialog, out, folder = open_held_export(qtbot, window, tmp_path, wait_idle)
    message_boxes.answer = QMessageBox.Yes
    quit_by(qtbot, window, dialog, how)
    [question] = message_boxes.texts("question")
    assert f"An export to '{out}' is running" in question and "Cancel it and quit?" in question
    assert not window.isVisible() and not dialog.running
    assert not out.exists() and not sidecar_path(out).exists()
    assert leftovers(folder, {"input.npy"}) == []               # nothing half-written
    assert window.status_bar.message_label.text() == "Export cancelled; nothing was written."


@pytest.mark.parametrize("how", ["ctrl+q in the dialog", "close the window"])
def test_quit_during_an_export_no_keeps_working(qtbot, window, tmp_path, wait_idle,
                                                held_export, message_boxes, how):
    from PyQt5.QtCore import Qt
    dialog, out, folder = open_held_export(qtbot, window, tmp_path, wait_idle)
    quit_by(qtbot, window, dialog, how)                         # answered No
    assert len(message_boxes.texts("question")) == 1
    assert window.isVisible() and dialog.isVisible() and dialog.running
    assert window.status_bar.message_label.text() == f"Exporting to {out}…"
    # The dialog is modeless: the viewer keeps working while the export runs.
    assert dialog.windowModality() == Qt.NonModal
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.panel("images"), Qt.Key_Right)
    qtbot.waitUntil(lambda: window.state.index == 1)
    with qtbot.waitSignal(dialog.finished, timeout=30000):
        qtbot.keyClick(dialog, Qt.Key_Escape)
    assert not out.exists() and leftovers(folder, {"input.npy"}) == []
    assert window.status_bar.message_label.text() == "Export cancelled; nothing was written."


def test_a_failed_export_replaces_the_earlier_message(qtbot, loaded, tmp_path, message_boxes):
    loaded.status_bar.notify(f"Exported to {tmp_path / 'earlier.npy'}")
    dialog = open_dialog(loaded)
    dialog.output_edit.setText(str(tmp_path / "frames"))
    dialog.dtype_combo.setCurrentIndex(dialog.dtype_combo.findData("float32"))  # PNG: no floats
    with qtbot.waitSignal(dialog.noted, timeout=30000,
                          check_params_cb=lambda text: text.startswith("Export failed")):
        dialog.start_export()
    text = loaded.status_bar.message_label.text()
    assert text.startswith("Export failed; nothing was written.") and '"Data type"' in text
    dialog.reject()


def test_an_idle_dialog_closes_when_another_stack_opens(qtbot, loaded, tmp_path, wait_idle):
    dialog = open_dialog(loaded)
    other = tmp_path / "other.npy"
    np.save(other, np.zeros((2, 8, 8), np.uint8))
    loaded.opener.open_path(other)
    wait_idle(loaded)
    qtbot.waitUntil(lambda: loaded.export_dialog is None)
    from PyQt5 import sip
    assert sip.isdeleted(dialog) or not dialog.isVisible()


def test_quit_while_a_statistics_csv_is_written_waits_for_it(qtbot, window, tmp_path,
                                                             wait_idle, monkeypatch):
    """The CSV cannot be stopped half way: Yes quits once it is written, whole."""
    import threading

    from PyQt5.QtCore import Qt
    from PyQt5.QtWidgets import QMessageBox

    from histeq_gui.gui import stats_export
    source = tmp_path / "faces.npy"
    np.save(source, np.random.default_rng(6).integers(0, 256, (5, 24, 24), np.uint8))
    window.opener.open_path(source)
    wait_idle(window)
    window.docks["stats"].raise_()
    qtbot.waitUntil(lambda: window.inspection.table is not None, timeout=30000)
    release = threading.Event()
    real = stats_export.stats_to_csv

    def held(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)
    asked = []

    def answer(parent, title, text, *args, **kwargs):
        asked.append(text)
        release.set()                   # the CSV may finish while the window waits for it
        return QMessageBox.Yes
    monkeypatch.setattr(stats_export, "stats_to_csv", held)
    monkeypatch.setattr(QMessageBox, "question", answer)
    dialog = window.panel("stats").open_export_dialog()
    out = tmp_path / "stats.csv"
    dialog.path_edit.setText(str(out))
    assert dialog.start_export()
    assert window.status_bar.message_label.text() == f"Writing the statistics to {out}…"
    qtbot.keyClick(dialog.path_edit, Qt.Key_Q, Qt.ControlModifier)
    assert len(asked) == 1 and "cannot be stopped half way" in asked[0]
    assert not window.isVisible() and not dialog.running
    assert out.exists() and sidecar_path(out).exists()
    assert window.status_bar.message_label.text() == f"Statistics written to {out}"


def test_the_progress_says_how_long_is_left(qtbot, loaded):
    dialog = open_dialog(loaded)
    now = [100.0]
    dialog.clock = lambda: now[0]
    dialog._on_progress("equalize", 0, 1000)
    assert dialog.stage_label.text() == "Equalizing: 0 of 1,000"
    now[0] = 110.0
    dialog._on_progress("equalize", 250, 1000)          # 250 images in 10 s: 30 s for 750
    assert dialog.stage_label.text() == "Equalizing: 250 of 1,000 · about 30 s left"
    dialog._on_progress("write", 0, 4)                  # a new stage starts its own clock
    assert dialog.stage_label.text() == "Writing and verifying: 0 of 4"
    dialog.reject()


@pytest.mark.parametrize("scope", ["image", "stack"])
def test_the_region_shown_is_the_region_exported(qtbot, loaded, stack_file, tmp_path, scope):
    """A region drawn in the viewer is the export's mask: the file holds what is shown, and the
    bytes of ``histeq --region``."""
    from histeq_gui.core.convert import convert
    from histeq_gui.core.io import read_sidecar
    from histeq_gui.core.region import region_mask
    loaded.state.set_scope(scope)
    loaded.state.set_index(3)
    loaded.state.set_roi((8, 4, 20, 16))                      # x, y, width, height
    qtbot.waitUntil(lambda: not loaded.busy and loaded.controller.result is not None
                    and loaded.controller.result.roi == (8, 4, 20, 16), timeout=30000)
    shown = loaded.controller.result.equalized
    dialog = open_dialog(loaded)
    assert dialog.region_check.isChecked() and dialog.region_check.isEnabled()
    assert "rows 4:20, columns 8:28 from the viewer" in dialog.region_check.text()
    assert dialog.settings().region == (4, 20, 8, 28)
    out_gui = tmp_path / "gui.npy"
    dialog.output_edit.setText(str(out_gui))
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        assert dialog.start_export()
    written = np.load(out_gui)
    assert np.array_equal(written[3, 0], convert(shown, "same", np.uint8))    # what is shown
    stack = np.load(stack_file)
    expected = convert(equalize(stack, "numpy", 256, scope,
                                mask=region_mask((4, 20, 8, 28), (40, 48))), "same", np.uint8)
    assert np.array_equal(written, expected)
    out_cli = tmp_path / "cli.npy"
    assert histeq_main([str(stack_file), "-o", str(out_cli), "--scope", scope,
                        "--region", "4:20,8:28", "--quiet"]) == 0
    assert out_gui.read_bytes() == out_cli.read_bytes()
    assert read_sidecar(out_gui)["region"] == "4:20,8:28"


def test_the_region_can_be_left_out_and_clahe_takes_none(qtbot, loaded, tmp_path):
    loaded.state.set_roi((8, 4, 20, 16))
    dialog = open_dialog(loaded)
    dialog.region_check.setChecked(False)
    assert dialog.settings().region is None
    dialog.region_check.setChecked(True)
    dialog.method_combo.setCurrentIndex(dialog.method_combo.findData("clahe"))
    assert not dialog.region_check.isEnabled() and dialog.settings().region is None
    assert "clahe takes no region" in dialog.region_check.text()
    loaded.state.set_roi(None)
    dialog.method_combo.setCurrentIndex(dialog.method_combo.findData("numpy"))
    assert not dialog.region_check.isEnabled() and dialog.settings().region is None
    assert dialog.region_check.text().startswith("none: every pixel")
    assert not dialog.region_check.isChecked()              # ticked only when it is used
    loaded.state.set_roi((8, 4, 20, 16))                    # drawn again: used again
    assert dialog.region_check.isChecked() and dialog.settings().region == (4, 20, 8, 28)
    dialog.reject()


def test_a_folder_that_cannot_be_replaced_is_refused_before_asking(qtbot, loaded, tmp_path,
                                                                   message_boxes):
    out = tmp_path / "frames"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    dialog = open_dialog(loaded)
    dialog.output_edit.setText(str(out))
    label = dialog.format_label.text()          # said as it is typed, Export off
    assert "holds files other than numbered PNGs (e.g. 'notes.txt')" in label
    assert not dialog.export_button.isEnabled()
    assert not dialog.start_export()
    assert message_boxes.texts("question") == []                     # not asked first
    [warning] = message_boxes.texts("warning")
    assert "notes.txt" in warning and (out / "notes.txt").read_text() == "mine"
    dialog.output_edit.setText(str(tmp_path / "new_frames"))
    assert dialog.export_button.isEnabled()
    assert "numbered from 00000.png" in dialog.format_label.text()   # a stack file's images
    dialog.reject()


def test_an_earlier_export_is_replaced_after_asking(qtbot, loaded, tmp_path, message_boxes):
    from PyQt5.QtWidgets import QMessageBox
    out = tmp_path / "frames"
    dialog = open_dialog(loaded)
    dialog.output_edit.setText(str(out))
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        assert dialog.start_export()
    first = sorted(p.name for p in out.iterdir())
    assert first[0] == "00000.png" and len(first) == 12
    again = open_dialog(loaded)
    again.output_edit.setText(str(out))
    assert "It exists: Export asks before replacing it." in again.format_label.text()
    assert again.export_button.isEnabled()
    message_boxes.answer = QMessageBox.Yes
    with qtbot.waitSignal(again.exported, timeout=30000):
        assert again.start_export()
    assert len(message_boxes.texts("question")) == 1
    assert sorted(p.name for p in out.iterdir()) == first


def test_images_of_different_sizes_into_one_file_are_refused_as_typed(qtbot, window, tmp_path,
                                                                      wait_idle):
    from skimage import data

    from histeq_gui.core.io import save_stack
    folder = tmp_path / "shots"
    folder.mkdir()
    save_stack(folder / "a.png", data.camera()[::4, ::4])
    save_stack(folder / "b.png", data.coins()[:60, :50])
    window.opener.open_path(folder)
    wait_idle(window)
    assert window.state.stack.ragged
    dialog = open_dialog(window)
    assert "named after the source files (a.png → a.png, …)" in dialog.format_label.text()
    dialog.output_edit.setText(str(tmp_path / "shots.npy"))
    label = dialog.format_label.text()
    assert "images of different sizes can only be exported to a folder" in label
    assert not dialog.export_button.isEnabled()
    dialog.output_edit.setText(str(tmp_path / "shots_eq"))
    assert dialog.export_button.isEnabled()
    dialog.reject()
