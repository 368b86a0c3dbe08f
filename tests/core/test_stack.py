"""Layouts: which axes are images, batch and colour."""

import numpy as np
import pytest

from histeq_gui.core.stack import as_channels_first, from_channels_first, guess_layout, image_at


@pytest.mark.parametrize("shape, channel_axis, name, n, channels", [
    ((1800, 1, 96, 96), None, "N×1×H×W", 1800, 1),
    ((10, 64, 48), None, "N×H×W", 10, 1),
    ((64, 48), None, "H×W", 1, 1),
    ((10, 64, 48, 3), "auto", "N×H×W×C", 10, 3),
    ((64, 48, 4), "auto", "H×W×C", 1, 4),
    ((10, 64, 48, 3), None, "N×N2×H×W", 640, 1),
    ((10, 3, 64, 48), 1, "N×C×H×W", 10, 3),
    ((5, 3, 3), "auto", "N×H×W", 5, 1),
])
def test_guess_layout(shape, channel_axis, name, n, channels):
    layout = guess_layout(shape, channel_axis)
    assert (layout.name, layout.n_images, layout.channels) == (name, n, channels)


def test_image_at_puts_colour_last_and_counts_over_batch_axes():
    stack = np.arange(2 * 3 * 4 * 5 * 6).reshape(2, 3, 4, 5, 6)
    layout = guess_layout(stack.shape, channel_axis=2)
    image = image_at(stack, layout, 4)
    assert image.shape == (5, 6, 4)
    np.testing.assert_array_equal(image, np.moveaxis(stack[1, 1], 0, -1))
    with pytest.raises(IndexError, match="6 images"):
        image_at(stack, layout, 6)


def test_channels_first_round_trip_is_a_view():
    stack = np.zeros((4, 8, 9, 3))
    layout = guess_layout(stack.shape, "auto")
    first = as_channels_first(stack, layout)
    assert first.shape == (3, 4, 8, 9) and np.shares_memory(first, stack)
    assert from_channels_first(first, layout).shape == stack.shape


def test_too_few_axes():
    with pytest.raises(ValueError, match="no 2-D image"):
        guess_layout((5,))
    with pytest.raises(ValueError, match="out of range"):
        guess_layout((5, 5), channel_axis=4)


def test_gray_with_alpha_is_colour_not_a_stack_of_thin_images():
    layout = guess_layout((60, 80, 2), "auto")
    assert (layout.n_images, layout.channels, layout.image_shape) == (1, 2, (60, 80))
