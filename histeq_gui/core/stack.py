"""Stack layouts: which axes of an array are images, batch and colour.

An image stack is any array whose last two axes are one image ``(H, W)``;
every leading axis is a batch axis.  The seed's ``(1800, 1, 96, 96)``, a plain
``(N, H, W)`` and a single ``(H, W)`` image are all grayscale stacks.  Colour
stacks carry one more axis, the channel axis: channels last ``(..., H, W, C)``
as PNG and GIF files give them, or any axis named explicitly (``(N, C, H, W)``
with ``channel_axis=1``).

The functions here never copy pixels unless they say so; the maths lives in
:mod:`histeq_gui.core.methods`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Layout", "check_channel_axis", "guess_layout", "image_at", "as_channels_first",
           "from_channels_first"]


@dataclass(frozen=True)
class Layout:
    """Where the image, batch and channel axes of a stack are.

    Attributes
    ----------
    shape : tuple of int
        Shape of the array the layout describes.
    channel_axis : int or None
        Non-negative index of the colour axis, or None for grayscale.
    """

    shape: tuple
    channel_axis: int | None = None

    @property
    def ndim(self):
        """Number of axes of the array."""
        return len(self.shape)

    @property
    def image_axes(self):
        """The two axes ``(H, W)`` of one image, as non-negative indices."""
        axes = [a for a in range(self.ndim) if a != self.channel_axis]
        return tuple(axes[-2:])

    @property
    def batch_axes(self):
        """The leading axes that enumerate images."""
        axes = [a for a in range(self.ndim) if a != self.channel_axis]
        return tuple(axes[:-2])

    @property
    def image_shape(self):
        """``(H, W)`` of one image."""
        return tuple(self.shape[a] for a in self.image_axes)

    @property
    def channels(self):
        """Number of colour channels (1 for grayscale)."""
        return 1 if self.channel_axis is None else self.shape[self.channel_axis]

    @property
    def n_images(self):
        """Number of images (product of the batch axes; 1 for a single image)."""
        return int(np.prod([self.shape[a] for a in self.batch_axes], dtype=np.int64))

    @property
    def name(self):
        """Short description such as ``'N×1×H×W'`` or ``'N×H×W×C'``."""
        letters = []
        batch = self.batch_axes
        for a in range(self.ndim):
            if a == self.channel_axis:
                letters.append("C")
            elif a in batch:
                if self.shape[a] == 1:
                    letters.append("1")
                elif batch and a == batch[0]:
                    letters.append("N")
                else:
                    letters.append(f"N{batch.index(a) + 1}")
            else:
                letters.append("H" if a == self.image_axes[0] else "W")
        return "×".join(letters)


def check_channel_axis(channel_axis):
    """Return ``channel_axis`` if it is ``"auto"``, None or an axis number, else raise.

    Raises
    ------
    ValueError
        One line naming what was given and what to give.

    Examples
    --------
    >>> check_channel_axis(-1), check_channel_axis("auto"), check_channel_axis(None)
    (-1, 'auto', None)
    >>> check_channel_axis("x")
    Traceback (most recent call last):
    ...
    ValueError: channel_axis must be 'auto', None or an axis number, got 'x'; use None for \
grayscale stacks
    """
    if channel_axis is None or isinstance(channel_axis, str) and channel_axis == "auto" or \
            isinstance(channel_axis, (int, np.integer)) and \
            not isinstance(channel_axis, (bool, np.bool_)):
        return channel_axis
    raise ValueError(f"channel_axis must be 'auto', None or an axis number, got "
                     f"{channel_axis!r}; use None for grayscale stacks")


def _normalize_axis(axis, ndim):
    if not -ndim <= axis < ndim:
        raise ValueError(f"channel_axis {axis} is out of range for an array with {ndim} "
                         f"dimensions; pass an axis between {-ndim} and {ndim - 1}")
    return axis % ndim


def guess_layout(shape, channel_axis=None):
    """Describe the layout of an array of the given shape.

    Parameters
    ----------
    shape : tuple of int
        Shape of the stack.
    channel_axis : int, None or "auto", optional
        The colour axis.  None (default) means grayscale: the last two axes
        are one image.  ``"auto"`` recognises channels last of size 2, 3 or 4
        (gray + alpha, RGB, RGBA, as read from PNG or GIF files) when the
        array has at least three axes and the two axes before it look like an
        image.

    Returns
    -------
    Layout

    Raises
    ------
    ValueError
        If the array has fewer than two image axes.

    Examples
    --------
    >>> guess_layout((1800, 1, 96, 96)).name
    'N×1×H×W'
    >>> guess_layout((10, 64, 64, 3), channel_axis="auto").channels
    3
    """
    shape = tuple(int(s) for s in shape)
    ndim = len(shape)
    check_channel_axis(channel_axis)
    if channel_axis == "auto":
        channel_axis = None
        if ndim >= 3 and shape[-1] in (2, 3, 4) and min(shape[-3], shape[-2]) > 4:
            channel_axis = ndim - 1
    elif channel_axis is not None:
        channel_axis = _normalize_axis(int(channel_axis), ndim)
    spatial = ndim - (channel_axis is not None)
    if spatial < 2:
        raise ValueError(f"an array of shape {shape} holds no 2-D image; "
                         "images need at least two axes (height, width)")
    return Layout(shape, channel_axis)


def image_at(array, layout, index):
    """Return image ``index`` of a stack as ``(H, W)`` or ``(H, W, C)`` (a view).

    Parameters
    ----------
    array : ndarray
        The stack.
    layout : Layout
        Its layout (see :func:`guess_layout`).
    index : int
        Image number in ``range(layout.n_images)``, counted over the batch
        axes in C order.

    Returns
    -------
    ndarray
        One image, channels last when the stack has colour.
    """
    n = layout.n_images
    if not 0 <= index < n:
        raise IndexError(f"image {index} is out of range: the stack has {n} images")
    batch = layout.batch_axes
    position = np.unravel_index(index, [layout.shape[a] for a in batch]) if batch else ()
    key = [slice(None)] * layout.ndim
    for axis, i in zip(batch, position):
        key[axis] = int(i)
    image = array[tuple(key)]
    if layout.channel_axis is not None:
        # After integer indexing the remaining axes keep their order; put C last.
        remaining = [a for a in range(layout.ndim) if a not in batch]
        image = np.moveaxis(image, remaining.index(layout.channel_axis), -1)
    return image


def as_channels_first(array, layout):
    """Move the colour axis of a stack to the front: ``(C, ..., H, W)``.

    A grayscale stack gets a leading axis of length one, so the result always
    has the form *channels, then batch axes, then one image*.  This is a view.
    """
    if layout.channel_axis is None:
        return array[np.newaxis]
    return np.moveaxis(array, layout.channel_axis, 0)


def from_channels_first(array, layout):
    """Invert :func:`as_channels_first` (a view)."""
    if layout.channel_axis is None:
        return array[0]
    return np.moveaxis(array, 0, layout.channel_axis)
