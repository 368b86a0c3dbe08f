"""A folder of images of different sizes in the viewer: open, page, statistics, grid, export."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
from skimage import data

from histeq_gui import equalize
from histeq_gui.cli import main as histeq_main
from histeq_gui.core.export import convert

NAMES = ["a camera.png", "b crop.png", "c coins.png", "d one.png"]


@pytest.fixture
def ragged(tmp_path):
    folder = tmp_path / "shots é"
    folder.mkdir()
    camera = data.camera()
    images = [camera, camera[100:300, 50:350], data.coins(), np.array([[77]], np.uint8)]
    for name, image in zip(NAMES, images):
        iio.imwrite(folder / name, image)
    return folder, images


def test_open_page_stats_grid_and_export(qtbot, window, wait_idle, ragged, tmp_path):
    folder, images = ragged
    window.opener.open_path(folder)
    wait_idle(window)
    stack = window.state.stack
    assert stack.ragged and stack.n_images == 4
    assert "4 images of different sizes" in stack.describe()
    for i, image in enumerate(images):          # each image at its own size, equalized alone
        window.state.set_index(i)
        wait_idle(window)
        result = window.controller.result
        np.testing.assert_array_equal(result.original, image)
        np.testing.assert_array_equal(result.equalized, equalize(image, "numpy", 256))
    # Statistics: one row per file, named.
    window.docks["stats"].raise_()
    qtbot.waitUntil(lambda: window.inspection.table is not None and not window.inspection.busy
                    and not window.inspection.stale, timeout=20000)
    assert list(window.inspection.table["name"]) == NAMES
    # The grid draws (letterboxed thumbnails: a 300x200 crop keeps its aspect).
    window.docks["grid"].raise_()
    grid = window.panel("grid").grid
    qtbot.waitUntil(lambda: grid.isVisible() and grid.viewport().width() > 200)
    shot = grid.viewport().grab().toImage()
    assert shot.width() > 200 and not shot.isNull()
    # Scope "stack" pools every pixel of every image.
    window.state.set_scope("stack")
    wait_idle(window)
    pooled = np.concatenate([im.ravel() for im in images])[np.newaxis]
    reference = equalize(pooled, "numpy", 256)[0]
    window.state.set_index(1)
    wait_idle(window)
    start = images[0].size
    np.testing.assert_allclose(window.controller.result.equalized,
                               reference[start:start + images[1].size].reshape(images[1].shape))
    # Export from the dialog == histeq's bytes, file by file, under the source names.
    dialog = window.open_export_dialog()
    assert dialog.output_edit.text().endswith("_equalized")        # a folder is proposed
    out_gui = tmp_path / "gui"
    dialog.output_edit.setText(str(out_gui))
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        assert dialog.start_export()
    out_cli = tmp_path / "cli"
    assert histeq_main([str(folder), "-o", str(out_cli), "--scope", "stack", "-q"]) == 0
    assert sorted(p.name for p in out_gui.iterdir()) == sorted(NAMES)
    for name in NAMES:
        assert (out_gui / name).read_bytes() == (out_cli / name).read_bytes()
    start = 0
    for name, image in zip(NAMES, images):
        expected = convert(reference[start:start + image.size], "same", np.uint8)
        np.testing.assert_array_equal(iio.imread(out_gui / name), expected.reshape(image.shape))
        start += image.size
    # The statistics the new scope asked for, done (their loops may compile first).
    qtbot.waitUntil(lambda: not window.inspection.busy and not window.inspection.stale,
                    timeout=120000)


def test_match_against_the_stack_of_a_ragged_folder_says_why_in_one_line(qtbot, window,
                                                                       wait_idle, ragged):
    """A reference "stack" needs images of one size: a one-line reason, the viewer goes on."""
    from histeq_gui.core.methods import get_method
    from histeq_gui.gui.compute import resolve_stack_params

    folder, images = ragged
    window.opener.open_path(folder)
    wait_idle(window)
    with pytest.raises(ValueError, match="reference .stack. needs images of one size") as error:
        resolve_stack_params(window.state.stack, get_method("match"), 256, {"reference": "stack"})
    assert "\n" not in str(error.value)
    window.state.set_method("match")
    qtbot.waitUntil(lambda: not window.busy, timeout=20000)
    assert window.isVisible()
    window.state.set_params({"reference": images[1]})               # an image array works
    window.state.set_index(2)
    qtbot.waitUntil(lambda: not window.busy and window.controller.result is not None
                    and window.controller.result.index == 2, timeout=20000)
    np.testing.assert_array_equal(window.controller.result.equalized,
                                  equalize(images[2], "match", reference=images[1]))
