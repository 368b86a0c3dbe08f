"""Display levels (issue 6 item 10), the colour axis (item 14) and folders' names (item 15)."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from skimage import data

from histeq_gui import equalize
from histeq_gui.cli import main as histeq_main
from histeq_gui.gui.main_window import MainWindow
from histeq_gui.gui.stack_file import LoadedStack, open_stack

MULTIPAGE_RGB = Path(data.__file__).parent / "multipage_rgb.tif"


def outlier_stack():
    """30 float32 faces in [0, 1], ONE hot pixel of 1e6 in image 17 and a NaN in image 3."""
    faces = data.lfw_subset()[:30].astype(np.float32)
    faces[17, 12, 12] = 1e6
    faces[3, 2, 2] = np.nan
    return faces


def shown_levels(window):
    return tuple(window.panel("images").views.original_item.levels)


def show(window, array):
    window.opener.set_stack(LoadedStack.from_array(array))
    window.wait_until_idle()


# ---------------------------------------------------------------------- item 10: levels
def test_one_outlier_no_longer_blacks_out_the_stack(window):
    stack = outlier_stack()
    show(window, stack)
    finite = stack[np.isfinite(stack)]
    expected = tuple(np.percentile(finite, [0.175, 99.825]))
    assert window.state.levels_mode == "auto"
    assert shown_levels(window) == expected and expected[1] < 1.01      # not 1e6
    assert window.panel("settings").levels_combo.currentText() == "Auto: saturated 0.35%"
    for index in (0, 17, 29):                          # the choice persists while paging
        window.state.set_index(index)
        assert shown_levels(window) == expected
    assert "saturated 0.35%" in window.panel("images").views.original_title.text


def test_every_level_choice(window):
    stack = outlier_stack()
    show(window, stack)
    settings = window.panel("settings")

    def pick(mode):
        settings.levels_combo.setCurrentIndex(settings.levels_combo.findData(mode))
        assert window.state.levels_mode == mode
        return shown_levels(window)

    assert pick("stack") == (float(np.nanmin(stack)), 1e6)            # what blacked it out
    assert pick("dtype") == (0.0, 1.0)
    window.state.set_index(17)
    image = stack[17]
    assert pick("image") == (float(image.min()), 1e6)
    window.state.set_index(4)
    assert shown_levels(window) == (float(stack[4].min()), float(stack[4].max()))
    assert pick("percentile") == tuple(np.percentile(stack[np.isfinite(stack)],
                                                     [0.175, 99.825]))
    settings.saturated_spin.setValue(2.0)
    assert window.state.saturated == 2.0
    assert shown_levels(window) == tuple(np.percentile(stack[np.isfinite(stack)], [1, 99]))
    assert settings.low_edit.text() == f"{shown_levels(window)[0]:.4g}"


def test_typed_levels_are_manual_and_checked(window, message_boxes):
    show(window, outlier_stack())
    settings = window.panel("settings")
    settings.low_edit.setText("0.2")
    settings.low_edit.setModified(True)
    settings.high_edit.setText("0.6")
    settings.high_edit.setModified(True)
    settings.high_edit.editingFinished.emit()
    assert window.state.levels_mode == "manual" and window.state.manual_levels == (0.2, 0.6)
    assert shown_levels(window) == (0.2, 0.6)
    assert settings.levels_combo.currentData() == "manual"
    settings.low_edit.setText("0.9")                   # above the high level: refused
    settings.low_edit.setModified(True)
    settings.low_edit.editingFinished.emit()
    assert window.state.manual_levels == (0.2, 0.6)
    assert "below the high level" in window.status_bar.message_label.text()
    assert settings.low_edit.text() == "0.2"


def test_8_bit_keeps_the_dtype_range_and_16_bit_gets_percentiles(window):
    faces = (data.lfw_subset()[:5] * 200).astype(np.uint8)
    show(window, faces)
    assert shown_levels(window) == (0.0, 255.0)
    camera = (200 + data.camera()[None, ::4, ::4].astype(np.uint32) * 15).astype(np.uint16)
    show(window, camera)
    assert shown_levels(window) == tuple(np.percentile(camera, [0.175, 99.825]))


def test_the_level_choice_is_remembered(qtbot, window, prefs):
    window.state.set_levels_mode("image")
    window.state.set_saturated(1.5)
    again = MainWindow(prefs)
    qtbot.addWidget(again)
    try:
        assert again.state.levels_mode == "image" and again.state.saturated == 1.5
    finally:
        again.close()


def test_the_levels_do_not_recompute_the_equalization(window):
    show(window, outlier_stack())
    result = window.controller.result
    window.state.set_levels_mode("stack")
    assert window.controller.result is result


# ---------------------------------------------------------------------- item 14: colour axis
def test_multipage_rgb_is_offered_in_colour_and_shown_so(qtbot, window, wait_idle):
    window.opener.open_path(MULTIPAGE_RGB)
    wait_idle(window)
    array = tifffile.imread(MULTIPAGE_RGB)
    settings = window.panel("settings")
    assert window.state.stack.n_images == 6 and window.state.stack.channels == 1   # auto
    assert settings.colour_combo.currentText().startswith("auto: N×N2×H×W (gray)")
    assert settings.colour_note.isVisible() and "axis 1" in settings.colour_note.text()
    index = settings.colour_combo.findData(1)
    assert "RGB in the file" in settings.colour_combo.itemText(index)
    settings.colour_combo.setCurrentIndex(index)
    settings.colour_combo.activated.emit(index)
    stack = window.state.stack
    assert window.state.channel_axis == 1 and stack.n_images == 2 and stack.channels == 3
    assert stack.layout.name == "N×C×H×W" and not settings.colour_note.isVisible()
    assert "N×C×H×W (colour axis 1)" in window.status_bar.info_label.text()
    window.state.set_index(1)
    expected = np.moveaxis(equalize(array, "numpy", 256, channel_axis=1)[1], 0, -1)
    np.testing.assert_array_equal(window.controller.result.equalized, expected)
    shown = np.asarray(window.panel("images").views.equalized_item.image)
    assert shown.shape == (10, 10, 3)
    assert window.panel("histograms").original.channel_count() == 3


def test_an_axis_that_is_not_colour_is_refused_in_one_line(window):
    show(window, np.zeros((5, 3, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="a colour axis has 2, 3 or 4") as info:
        window.state.set_channel_axis(0)
    assert "\n" not in str(info.value) and window.state.channel_axis == "auto"
    window.state.set_channel_axis("1")
    assert window.state.stack.channels == 3 and window.state.stack.n_images == 5
    window.state.set_channel_axis("none")
    assert window.state.stack.channels == 1 and window.state.stack.n_images == 15


@pytest.mark.parametrize("suffix, scope", [(".tif", "stack"), (".npy", "stack"),
                                           (".tif", "image")])
def test_the_viewers_colour_export_equals_histeq_channel_axis_1(qtbot, window, wait_idle,
                                                                tmp_path, suffix, scope):
    source = tmp_path / "multipage_rgb.tif"
    source.write_bytes(MULTIPAGE_RGB.read_bytes())
    window.opener.open_path(source)
    wait_idle(window)
    window.state.set_channel_axis(1)
    window.state.set_scope(scope)
    dialog = window.open_export_dialog()
    assert dialog.settings().channel_axis == 1
    assert dialog.channel_combo.currentText().startswith("axis 1: N×C×H×W")
    out_gui = tmp_path / f"gui{suffix}"
    dialog.output_edit.setText(str(out_gui))
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        assert dialog.start_export()
    out_cli = tmp_path / f"cli{suffix}"
    assert histeq_main([str(source), "-o", str(out_cli), "--channel-axis", "1",
                        "--scope", scope, "-q"]) == 0
    assert out_gui.read_bytes() == out_cli.read_bytes()
    if scope == "stack":        # one histogram per colour, not one for all six planes
        auto = tmp_path / f"auto{suffix}"
        assert histeq_main([str(source), "-o", str(auto), "--scope", scope, "-q"]) == 0
        assert auto.read_bytes() != out_cli.read_bytes()


def test_the_command_line_colour_axis_applies_when_the_stack_arrives(window, wait_idle):
    window.state.set_channel_axis(1)                   # as --channel-axis 1 does
    window.opener.open_path(MULTIPAGE_RGB)
    wait_idle(window)
    assert window.state.stack.channels == 3
    show(window, np.zeros((4, 8, 8), np.uint8))        # it does not fit: back to auto
    assert window.state.channel_axis == "auto" and window.state.stack.channels == 1


# ---------------------------------------------------------------------- item 15: folders
@pytest.fixture
def folder(tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir()
    rng = np.random.default_rng(2)
    for name in ("img10.png", "img2.png", "img1.png"):
        iio.imwrite(shots / name, rng.integers(0, 256, (12, 16), dtype=np.uint8),
                    extension=".png")
    return shots


def test_a_folder_shows_each_files_name(window, wait_idle, folder):
    window.opener.open_path(folder)
    wait_idle(window)
    assert window.state.stack.names == ("img1.png", "img2.png", "img10.png")
    assert window.windowTitle() == "shots — img1.png — histeq-gui"
    assert window.status_bar.info_label.text().startswith("img1.png · image 0 of 3")
    window.state.set_index(2)
    assert window.windowTitle() == "shots — img10.png — histeq-gui"
    assert window.status_bar.info_label.text().startswith("img10.png · image 2 of 3")
    assert "img10.png" in window.panel("images").views.original_title.text
    np.testing.assert_array_equal(window.controller.result.original,
                                  iio.imread(folder / "img10.png"))


def test_a_folder_input_proposes_a_folder_output(window, wait_idle, folder):
    window.opener.open_path(folder)
    wait_idle(window)
    dialog = window.open_export_dialog()
    assert dialog.output_edit.text() == str(folder.parent / "shots_equalized")
    names = window.state.stack.names
    text = dialog.format_label.text()       # the names are kept, and said so
    assert "folder of PNG files, named after the source files" in text and "numbered" not in text
    assert f"({names[0]} → {Path(names[0]).stem}.png, …)" in text
    dialog.reject()


def test_a_file_has_no_image_names(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((2, 4, 4), np.uint8))
    stack = open_stack(path)
    assert stack.names is None and stack.image_name(0) == "" and stack.title(1) == "x.npy"


def test_percentiles_of_a_huge_stack_come_from_evenly_spaced_images(monkeypatch):
    from histeq_gui.gui import stack_file
    stack = outlier_stack()                                 # 30 images of 625 values
    monkeypatch.setattr(stack_file, "PERCENTILE_VALUES", 625 * 10)
    loaded = LoadedStack.from_array(stack)
    sample = stack[::3]                                     # 10 images: every third
    assert loaded.percentile_levels(1.0) == tuple(np.nanpercentile(sample, [0.5, 99.5]))
    assert loaded.percentile_levels(1.0) is loaded.percentile_levels(1.0)   # kept


# ---------------------------------------------------------------------- the result's levels
def shown_eq_levels(window):
    return tuple(window.panel("images").views.equalized_item.levels)


def test_match_on_12_bit_data_is_not_shown_black(window, prefs):
    """match keeps the 12-bit units (at most 4095/65535): the equalized view's automatic
    levels are then its percentiles, as ImageJ's Brightness & Contrast would set them."""
    from histeq_gui.core.display import equalized_levels
    moon = np.round(data.moon().astype(np.float64) / 255 * 4095).astype(np.uint16)
    stack = np.stack([moon[:200, :200], moon[150:350, 100:300], moon[300:500, 250:450]])
    window.state.set_method("match")
    show(window, stack)
    window.state.set_index(1)
    window.wait_until_idle()
    result = window.controller.result
    expected = equalize(stack, "match")[1]
    assert np.array_equal(result.equalized, expected) and np.nanmax(expected) < 0.0625
    low, high = shown_eq_levels(window)
    assert (low, high) == equalized_levels(expected) and high < 0.07
    assert "shown" in window.panel("images").views.equalized_title.text
    settings = window.panel("settings")
    assert settings.eq_levels_combo.currentText() == "Auto: %"
    settings.eq_levels_combo.setCurrentIndex(settings.eq_levels_combo.findData("output"))
    assert window.state.eq_levels_mode == "output" and shown_eq_levels(window) == (0.0, 1.0)
    assert window.controller.result is result                   # nothing was recomputed
    assert prefs._get("display/eq_levels") == "output"           # remembered
    settings.eq_levels_combo.setCurrentIndex(settings.eq_levels_combo.findData("percentile"))
    window.state.set_saturated(2.0)
    assert shown_eq_levels(window) == tuple(np.percentile(expected, [1, 99]))
    window.state.set_method("numpy")                             # fills 0..1: auto is 0..1
    window.state.set_eq_levels_mode("auto")
    window.wait_until_idle()
    assert shown_eq_levels(window) == (0.0, 1.0)
    assert "shown" not in window.panel("images").views.equalized_title.text
