"""A whole-image method's ``images`` hook: blocks of images at once, the same bits as ``image``.

The engine hands ``Method.images`` ``(n, H, W)`` C-contiguous blocks of
whole images of one channel when no mask is given, and uses ``image`` one
image at a time otherwise; either way non-finite pixels come back NaN and an
image without a finite pixel comes back all NaN without reaching the hook.
Checked with the throwaway ``rank-test`` method against its ``image`` hook
applied image by image, written out here.
"""

import threading
from dataclasses import replace

import numpy as np
import pytest
from references import sample_stack
from skimage import data
from throwaway_methods import RANK, rank_image, registered

from histeq_gui import equalize
from histeq_gui.core.engine.blocks import BLOCK


class Spy:
    """``images`` and ``image`` hooks that record what the engine hands them."""

    def __init__(self):
        self.blocks, self.images, self.lock = [], [], threading.Lock()

    def images_hook(self, pixels, params, out):
        with self.lock:
            self.blocks.append((pixels.shape, pixels.dtype, pixels.flags.c_contiguous,
                                out.shape, out.dtype, params, pixels.copy()))
        RANK.images(pixels, params, out)

    def image_hook(self, pixels, mask, params):
        with self.lock:
            self.images.append(pixels.shape)
        return rank_image(pixels, mask, params)


def by_image(stack, power, mask=None, channel_axis=None):
    """``rank_image`` applied image by image (and channel by channel), NaN where not finite."""
    x = np.moveaxis(stack, channel_axis, 0) if channel_axis is not None else stack[np.newaxis]
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape[:-2]):
        image = x[index]
        finite = np.isfinite(image.astype(np.float64))
        chosen = finite if mask is None else finite & mask
        if not chosen.any():
            out[index] = np.nan
            continue
        out[index] = np.where(finite, rank_image(image, mask, {"power": power}), np.nan)
    return np.moveaxis(out, 0, channel_axis) if channel_axis is not None else out[0]


def faces(n):
    """``n`` of the bundled face photographs (uint8, (n, 1, 96, 96)), repeated as needed."""
    return np.resize(sample_stack(), (n, 1, 96, 96))


@pytest.fixture
def spy():
    s = Spy()
    with registered(replace(RANK, images=s.images_hook, image=s.image_hook)):
        yield s


def test_blocks_of_whole_images_give_what_the_image_hook_gives(spy):
    stack = faces(300)                                  # 300 images of 9216 pixels: 3 blocks
    out = equalize(stack, "rank-test", power=2.0)
    np.testing.assert_array_equal(out, by_image(stack, 2.0))
    assert spy.images == []                             # no mask: never one image at a time
    assert len(spy.blocks) == 3
    assert sum(shape[0] for shape, *_ in spy.blocks) == 300
    for shape, dtype, contiguous, out_shape, out_dtype, params, _ in spy.blocks:
        assert shape[1:] == (96, 96) and shape[0] * 96 * 96 <= BLOCK
        assert dtype == np.uint8 and contiguous
        assert out_shape == shape and out_dtype == np.float64
        assert params == {"power": 2.0}


def test_float_images_keep_nan_and_images_without_a_finite_pixel_never_reach_the_hook(spy):
    photos = [data.camera(), data.moon(), data.coins()]
    stack = np.stack([p[100:164, 100:164] for p in photos]).astype(np.float32) / 255
    stack[0, :3, :5] = np.nan
    stack[1, 10, 10] = np.inf
    stack = np.concatenate([stack, np.full((1, 64, 64), np.nan, np.float32), stack[:1]])
    out = equalize(stack, "rank-test", power=1.5)
    expected = by_image(stack, 1.5)
    np.testing.assert_array_equal(out, expected)
    assert np.isnan(out[3]).all() and np.isnan(out[0, :3, :5]).all() and np.isnan(out[1, 10, 10])
    handed = np.concatenate([b[-1] for b in spy.blocks])
    assert len(handed) == 4 and all(np.isfinite(image).any() for image in handed)


def test_colour_images_are_handed_over_one_channel_at_a_time(spy):
    rgb = np.resize(data.astronaut()[::4, ::4], (150, 128, 128, 3))  # 150 images, 3 channels
    rgb[..., 1] //= 2                   # the channels differ, so a mixed block would show
    out = equalize(rgb, "rank-test", channel_axis=-1, dtype="uint8", power=1.0)
    expected = by_image(rgb, 1.0, channel_axis=-1)
    np.testing.assert_array_equal(out, np.rint(expected * 255).astype(np.uint8))
    def channels_holding(image):
        return {c for c in range(3) if any(np.array_equal(image, other) for other in rgb[..., c])}
    for *_, pixels in spy.blocks:
        assert set.intersection(*map(channels_holding, pixels)), "a block mixes channels"
    assert sum(len(b[-1]) for b in spy.blocks) == 3 * 150


def test_with_a_mask_the_image_hook_runs_image_by_image(spy):
    stack = faces(5)
    mask = np.zeros((96, 96), bool)
    mask[20:70, 10:60] = True
    out = equalize(stack, "rank-test", mask=mask, power=0.5)
    np.testing.assert_array_equal(out, by_image(stack, 0.5, mask))
    assert spy.blocks == [] and spy.images == [(96, 96)] * 5
