"""Thumbnails and the virtual grid: right pixels, one equalize call a page, only what is seen."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PyQt5.QtCore import QSize
from PyQt5.QtGui import QColor, QImage
from skimage import data

from histeq_gui import equalize
from histeq_gui.gui import thumbnails as thumbnails_module
from histeq_gui.gui.image_views import NAN_COLOUR
from histeq_gui.gui.inspection import Inspection
from histeq_gui.gui.panels import ViewerContext
from histeq_gui.gui.panels.grid import GridPanel
from histeq_gui.gui.stack_file import LoadedStack
from histeq_gui.gui.state import ViewerState
from histeq_gui.gui.thumbnails import ORIGINAL, Thumbnails, Variant, reduce_images, thumbnail_shape


def pixels(image):
    """A QImage as a NumPy array: (h, w) gray or (h, w, 3) RGB."""
    image = image.convertToFormat(QImage.Format_RGB32)
    h, w = image.height(), image.width()
    buffer = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    bgra = buffer.reshape(h, image.bytesPerLine() // 4, 4)[:, :w]
    rgb = bgra[..., [2, 1, 0]]
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
        return rgb[..., 0].astype(np.int64)
    return rgb.astype(np.int64)


@pytest.fixture(scope="module")
def faces96():
    """Twelve LFW faces enlarged to 96x96 (uint8), as the seed's stack."""
    from skimage.transform import resize
    base = data.lfw_subset()[:12]
    return np.round(np.stack([resize(f, (96, 96), order=1) for f in base]) * 255
                    ).astype(np.uint8)[:, None]


def test_original_thumbnails_are_the_pixels(faces96):
    thumbs = Thumbnails(LoadedStack.from_array(faces96))
    made = thumbs.make(ORIGINAL, [0, 5, 11])
    for i in (0, 5, 11):
        np.testing.assert_array_equal(pixels(made[i]), faces96[i, 0])


def test_equalized_thumbnails_come_from_one_equalize_call(monkeypatch, faces96):
    calls = []
    real = thumbnails_module.equalize

    def counting(images, **kwargs):
        calls.append(np.shape(images))
        return real(images, **kwargs)
    monkeypatch.setattr(thumbnails_module, "equalize", counting)
    thumbs = Thumbnails(LoadedStack.from_array(faces96))
    page = list(range(12))
    made = thumbs.make(Variant.equalized("numpy", 64, "image"), page)
    assert calls == [(12, 96, 96)]                   # one call for the page
    expected = equalize(faces96[:, 0], "numpy", 64) * 255
    for i in page:
        assert np.abs(pixels(made[i]) - expected[i]).max() <= 0.5 + 1e-4   # rounded
    assert not np.array_equal(pixels(made[3]), faces96[3, 0])


def test_whole_stack_scope_maps_with_the_stack_histogram(faces96):
    thumbs = Thumbnails(LoadedStack.from_array(faces96))
    assert not thumbs.ready(Variant.equalized("skimage", 256, "stack"))
    made = thumbs.make(Variant.equalized("skimage", 256, "stack"), [2, 7])
    expected = equalize(faces96, "skimage", 256, scope="stack")[:, 0] * 255
    for i in (2, 7):
        assert np.abs(pixels(made[i]) - expected[i]).max() <= 0.5 + 1e-4
    own = equalize(faces96[7, 0], "skimage", 256) * 255
    assert np.abs(pixels(made[7]) - own).max() > 1          # not the image's own histogram
    assert thumbs.ready(Variant.equalized("skimage", 256, "stack"))


def test_float_levels_and_nan_colour():
    stack = np.linspace(-2.0, 6.0, 2 * 16 * 16).reshape(2, 16, 16)
    stack[1, 3, 4] = np.nan
    loaded = LoadedStack.from_array(stack)
    lo, hi = loaded.levels
    made = Thumbnails(loaded, size=16).make(ORIGINAL, [0, 1])
    expected = (stack[0] - lo) / (hi - lo) * 255
    assert np.abs(pixels(made[0]) - expected).max() <= 0.5 + 1e-3
    rgb = pixels(made[1])
    assert tuple(rgb[3, 4]) == QColor(NAN_COLOUR).getRgb()[:3]
    assert rgb[3, 5, 0] == rgb[3, 5, 1] == rgb[3, 5, 2]     # the others stay gray


def test_colour_thumbnails_keep_the_channels():
    rgb = data.astronaut()[::4, ::4][None]           # (1, 128, 128, 3)
    loaded = LoadedStack.from_array(rgb)
    assert loaded.channels == 3
    made = Thumbnails(loaded, size=64).make(ORIGINAL, [0])
    blocks = rgb[0].reshape(64, 2, 64, 2, 3).mean(axis=(1, 3))
    assert np.abs(pixels(made[0]) - blocks).max() <= 0.5 + 1e-4


class RaggedStack:
    """Images of different shapes (a folder of photos, as ragged stacks will be)."""

    levels = (0.0, 255.0)

    def __init__(self, images):
        self.images = images
        self.pixels_per_image = max(im.size for im in images)
        self.n_images = len(images)

    def image(self, index):
        return self.images[index]


def test_each_image_keeps_its_own_shape_and_aspect():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, shape, dtype=np.uint8)
              for shape in ((50, 200), (300, 30), (8, 8), (96, 96), (50, 200), (192, 192),
                            (1099, 10000))]
    made = Thumbnails(RaggedStack(images), size=96).make(ORIGINAL, range(7))
    sizes = [(made[i].height(), made[i].width()) for i in range(7)]
    assert sizes == [thumbnail_shape(im.shape, 96) for im in images]
    assert sizes[0] == (24, 96) and sizes[1] == (96, 10) and sizes[2] == (96, 96)
    assert sizes[6] == (11, 96)                  # the blocks' rounding down is scaled back
    np.testing.assert_array_equal(pixels(made[3]), images[3])
    halves = images[5].reshape(96, 2, 96, 2).mean(axis=(1, 3))       # block means, no scaling
    assert np.abs(pixels(made[5]) - halves).max() <= 0.5 + 1e-4
    np.testing.assert_array_equal(pixels(made[2]), np.kron(images[2], np.ones((12, 12))))


def test_a_thumbnail_fills_its_cell_when_the_image_is_larger():
    camera = data.camera()[::4, ::4]                   # 128 x 128: a real photograph
    made = Thumbnails(RaggedStack([camera, camera[:, :100]]), size=96).make(ORIGINAL, [0, 1])
    assert (made[0].height(), made[0].width()) == (96, 96)       # not 64 x 64 in a 96 cell
    assert (made[1].height(), made[1].width()) == (96, 75)
    expected = np.asarray(Image.fromarray(camera).resize((96, 96), Image.BILINEAR), float)
    assert np.abs(pixels(made[0]) - expected).mean() < 4     # the photograph, smoothly scaled


def test_reduce_images_sample_a_thin_strip():
    strip = np.arange(2 * 300, dtype=np.uint8).reshape(1, 2, 300)
    out = reduce_images(strip, 96)
    assert out.shape[1:] == (1, 100)                     # blocks of 3: sampled, not averaged
    np.testing.assert_array_equal(out[0, 0], strip[0, 0, ::3])
    assert thumbnail_shape((2, 300), 96) == (1, 96)      # then scaled to fill the cell


def test_a_failed_equalization_is_none_not_a_crash():
    stack = np.zeros((2, 8, 8))
    stack[0] = np.linspace(0, 1, 64).reshape(8, 8)
    stack[1] = 1.0 + np.linspace(0, 1e-13, 64).reshape(8, 8)     # too narrow for 4096 bins
    made = Thumbnails(LoadedStack.from_array(stack), size=8).make(
        Variant.equalized("numpy", 4096, "image"), [0, 1])
    assert made[0] is not None and made[1] is None


def test_the_cache_is_bounded_and_least_recently_used(faces96):
    thumbs = Thumbnails(LoadedStack.from_array(faces96), cache_bytes=5 * 96 * 96)
    thumbs.store(ORIGINAL, thumbs.make(ORIGINAL, range(12)))
    assert len(thumbs) == 5 and thumbs.nbytes <= 5 * 96 * 96
    assert thumbs.missing(ORIGINAL, range(12)) == list(range(7))


# ---------------------------------------------------------------------- the grid widget
@pytest.fixture
def grid_panel(qtbot):
    """``make(array)``: a grid panel alone on a stack, shown (its jobs stopped at the end)."""
    made = []

    def make(array):
        state = ViewerState()
        inspection = Inspection(state)
        panel = GridPanel(ViewerContext(state, inspection=inspection))
        qtbot.addWidget(panel)
        panel.resize(QSize(900, 600))
        state.set_stack(LoadedStack.from_array(array))
        panel.show()
        qtbot.waitExposed(panel)
        made.append((inspection, panel))
        return state, inspection, panel
    yield make
    for inspection, panel in made:
        inspection.shutdown()
        panel.shutdown()


def test_a_grid_of_100000_images_makes_only_what_is_seen(qtbot, grid_panel):
    stack = np.random.default_rng(1).integers(0, 256, (100_000, 8, 8), dtype=np.uint8)
    state, inspection, panel = grid_panel(stack)
    grid = panel.grid
    grid.viewport().grab()
    seen = grid.visible_indices()
    assert 0 < len(seen) < 100 and seen[0] == 0
    assert len(grid.thumbnails) <= 3 * len(seen) + grid.columns()   # the view, pages ahead
    state.set_index(99_999)                           # paging: the grid scrolls there
    grid.viewport().grab()
    seen = grid.visible_indices()
    assert 99_999 in seen.tolist()
    found, image = grid.thumbnails.get(ORIGINAL, 99_999)
    assert found
    np.testing.assert_array_equal(pixels(image), np.kron(stack[99_999], np.ones((12, 12))))
    assert len(grid.thumbnails) <= 6 * len(seen) + 2 * grid.columns()


def test_big_images_are_made_in_a_job(qtbot, grid_panel):
    stack = np.random.default_rng(2).integers(0, 256, (6, 1100, 1100), dtype=np.uint8)
    state, inspection, panel = grid_panel(stack)
    grid = panel.grid
    grid.viewport().grab()                        # too big to make in the paint
    assert grid.runner.busy and len(grid.thumbnails) == 0
    qtbot.waitUntil(lambda: not grid.thumbnails.missing(ORIGINAL, grid.visible_indices()),
                    timeout=20000)
    found, image = grid.thumbnails.get(ORIGINAL, 4)
    assert found and (image.width(), image.height()) == (96, 96)      # fills its cell


def test_the_toggle_draws_equalized_thumbnails_for_the_settings(qtbot, grid_panel, faces96):
    state, inspection, panel = grid_panel(faces96)
    panel.set_equalized(True)
    state.set_method("skimage")
    assert panel.grid.variant == Variant.equalized("skimage", None, "image")   # bins ignored
    panel.grid.viewport().grab()
    found, image = panel.grid.thumbnails.get(panel.grid.variant, 0)
    assert found
    expected = equalize(faces96[0, 0], "skimage") * 255
    assert np.abs(pixels(image) - expected).max() <= 0.5 + 1e-4
    panel.set_equalized(False)
    assert panel.grid.variant == ORIGINAL
