"""A stack read in pieces: how every driver cuts it, reads it and equalizes each piece.

The export streams a stack larger than memory, on this process's pool or as
Dask tasks: both cut the stack the same way along its image axis
(:func:`pieces`, :func:`read_piece`), split a piece into its colour
channels (:func:`channel_pieces`) and equalize a piece straight into the
output dtype (:func:`equalize_piece`).  The export, the viewer and the
statistics resolve a method's stack-aware parameters against the whole
stack read piece by piece through a reader (:func:`stack_stream`).
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from ..convert import output_dtype
from ..io import CHUNK_BYTES, stack_axis
from ..methods import Method, StackStream, get_method
from .driver import equalize_stack
from .stages import call_with_stack_errors

__all__ = ["pieces", "read_piece", "channel_pieces", "equalize_piece", "stack_stream"]


def _channel_key(layout, channel):
    key = [slice(None)] * layout.ndim
    if layout.channel_axis is not None:
        key[layout.channel_axis] = channel
    return tuple(key)


def pieces(layout, axis: int | None, chunk_images: int) -> Iterator[tuple]:
    """``(start, stop, images)``: the stack cut along ``axis`` into about ``chunk_images``.

    ``axis`` None: the whole stack as one piece ``(0, 1, n_images)``.  Every
    engine cuts the stack this way.

    Examples
    --------
    >>> from histeq_gui.core.stack import guess_layout
    >>> list(pieces(guess_layout((5, 1, 8, 8)), 0, 2))
    [(0, 2, 2), (2, 4, 2), (4, 5, 1)]
    """
    if axis is None:
        yield 0, 1, layout.n_images
        return
    length = layout.shape[axis]
    per_index = layout.n_images / length    # images per index (a fraction along channels)
    step = max(1, int(chunk_images // max(per_index, 1)))
    for start in range(0, length, step):
        stop = min(start + step, length)
        yield start, stop, round(stop * per_index) - round(start * per_index)


def read_piece(reader, axis: int | None, start: int, stop: int) -> np.ndarray:
    """The piece ``start:stop`` along ``axis`` of :func:`pieces` (axis None: everything)."""
    return reader.read(0, reader.shape[0]) if axis is None else reader.read(start, stop, axis)


def channel_pieces(chunk: np.ndarray, layout) -> list:
    """The channels of a chunk of whole images, one array per channel (what is fitted)."""
    return [chunk[_channel_key(layout, c)] for c in range(layout.channels)]


def _piece_params(method: Method, params: dict, first: int, channels: int) -> dict:
    """``params`` for a piece holding channels ``first .. first + channels - 1`` of ``method``."""
    if not params:
        return {}
    out = dict(params)
    for p in method.stack_aware:
        value = params.get(p.name)
        if isinstance(value, tuple) and len(value) > 1:
            out[p.name] = value[first:first + channels]
    return out


def equalize_piece(chunk: np.ndarray, settings, layout, maps, axis: int | None, start: int,
                   input_dtype, params: dict | None = None,
                   mask: np.ndarray | None = None) -> np.ndarray:
    """Equalize one piece of the stack straight into the output dtype.

    Parameters
    ----------
    chunk : ndarray
        The piece, as :func:`read_piece` gives it.
    settings : ExportSettings
        Method, bins, output dtype and parameters
        (:class:`~histeq_gui.core.export.ExportSettings`).
    layout : Layout
        The whole stack's layout.
    maps : sequence of Histogram or None
        None for scope "image" (each image its own histogram), else the
        fitted histogram of each channel.
    axis, start : int
        Where the piece was cut (:func:`pieces`): a piece cut along the
        channel axis (``axis == layout.channel_axis``) holds channels
        ``start, start + 1, ...``.
    input_dtype : dtype-like
        The stack's dtype (for ``settings.dtype == "same"``).
    params : dict, optional
        Scope "image": the method's parameters with the stack-aware ones
        resolved for the whole stack
        (:func:`~histeq_gui.core.equalize.stack_params`), or None for
        ``settings.params`` as given.
    mask : ndarray of bool, optional
        Scope "image": the ``(H, W)`` pixels of each image whose histogram
        maps it (a region of interest, :func:`~histeq_gui.core.region.region_mask`).

    Returns
    -------
    ndarray
        The piece equalized, in the output dtype.

    Notes
    -----
    Every engine equalizes its pieces with this function, through the
    engine's own output path (``equalize(..., dtype=)``,
    ``Histogram.apply(..., dtype=)``): integer images are looked up straight
    into the output dtype, the very bytes of
    :func:`~histeq_gui.core.convert.convert` of the float64 result.
    """
    channels = 1 if layout.channel_axis is None else chunk.shape[layout.channel_axis]
    first = start if axis is not None and axis == layout.channel_axis else 0
    # The settings carry the method's name, which travels to other processes (Dask workers):
    # each piece, where the work is done, looks it up once.
    method = get_method(settings.method)
    params = _piece_params(method, settings.params if params is None else params, first,
                           channels)
    if maps is None:
        return call_with_stack_errors(equalize_stack, chunk, method, settings.bins,
                                      "image", mask, layout.channel_axis, None, settings.dtype,
                                      params)
    out = np.empty(chunk.shape, output_dtype(settings.dtype, input_dtype))
    for c in range(channels):
        channel = _channel_key(layout, c)
        out[channel] = call_with_stack_errors(maps[first + c].apply, chunk[channel],
                                              dtype=settings.dtype)
    return out


def stack_stream(reader, layout, chunk_images: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 mask: np.ndarray | None = None) -> StackStream:
    """The stack of ``reader`` read piece by piece, as a method's stack-aware parameters take it.

    Parameters
    ----------
    reader : Reader
        The stack (:func:`~histeq_gui.core.io.open_reader`, or
        :func:`~histeq_gui.core.io.reader_for` of an array).
    layout : Layout
        Its layout (shape ``reader.shape``, with its colour axis).
    chunk_images : int, optional
        Images per piece (:func:`pieces` along the image axis, every
        channel); default about :data:`~histeq_gui.core.io.CHUNK_BYTES`
        of pixels.
    progress : callable, optional
        ``progress(done, total)`` after each piece, in images.
    mask : ndarray of bool, optional
        ``(H, W)``: the rows hold only the pixels it selects (a region of
        interest), which is what a reference resolved against the stack
        with this mask counts (``stack_params(stack, mask=mask)``).

    Returns
    -------
    StackStream
        Its pieces are read when they are reached (memory holds one); image
        ``i`` is read alone (``reader.image``).  Each holds every channel,
        one array of rows ``(images, H * W)`` per channel (``(images,
        mask.sum())`` with a mask), in the native byte order.

    Examples
    --------
    >>> from histeq_gui.core.io import reader_for
    >>> from histeq_gui.core.stack import guess_layout
    >>> rgb = np.arange(4 * 2 * 2 * 3, dtype=np.uint8).reshape(4, 2, 2, 3)
    >>> stream = stack_stream(reader_for(rgb), guess_layout(rgb.shape, -1), chunk_images=3)
    >>> [[rows.shape for rows in piece] for piece in stream.read_pieces()]
    [[(3, 4), (3, 4), (3, 4)], [(1, 4), (1, 4), (1, 4)]]
    >>> stream.read_image(1)[2].tolist()                # image 1, channel 2
    [14, 17, 20, 23]
    """
    axis = stack_axis(layout)
    native = np.dtype(reader.dtype).newbyteorder("=")
    pixels = layout.image_shape[0] * layout.image_shape[1]
    if chunk_images is None:
        per_image = pixels * layout.channels * native.itemsize
        chunk_images = max(1, CHUNK_BYTES // max(per_image, 1))

    selected = None if mask is None else np.asarray(mask, bool).reshape(-1)

    def rows(array):
        flat = np.asarray(array, native).reshape(-1, pixels)
        return flat if selected is None else flat[:, selected]

    def read_pieces():
        done = 0
        for start, stop, n in pieces(layout, axis, chunk_images):
            yield [rows(c) for c in channel_pieces(read_piece(reader, axis, start, stop), layout)]
            done += n
            if progress is not None:
                progress(done, layout.n_images)

    def read_image(i):
        image = reader.image(i, layout)         # (H, W), or (H, W, C) with colour
        if layout.channel_axis is None:
            return [rows(image)[0]]
        return [rows(image[..., c])[0] for c in range(layout.channels)]

    return StackStream(layout.n_images, layout.channels, layout, native, read_pieces,
                       read_image)
