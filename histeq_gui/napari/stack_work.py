"""The equalized stack of a layer, as ``equalize`` gives it: computed now, or lazily with Dask.

:func:`equalized_stack` is a generator of progress steps ``(stage, done,
total)`` that returns the equalized stack (float64 in [0, 1], the layer's
shape), equal to ``equalize(data, method, bins, scope, channel_axis, **params)``:

- scope ``"stack"`` first fits the one histogram per channel over the stack
  read piece by piece (:func:`~histeq_gui.core.fit.fit_each`), and
  stack-aware parameters (``match``'s reference) are resolved once for the
  whole stack (:func:`~histeq_gui.core.equalize.stack_params`), as the
  export does;
- then every piece of whole images is equalized by the export's own
  :func:`~histeq_gui.core.engine.chunks.equalize_piece`: all of them now
  for a NumPy layer that fits in memory, or, for a Dask or Zarr layer or a
  result larger than :func:`lazy_limit`, as the blocks of a Dask array that
  napari computes one slice at a time, never the whole stack.

The long stages run through :func:`~histeq_gui.core.engine.stages.stage_in_thread`,
so closing the generator stops them at their next progress report.  No Qt
here; Dask is imported only for a lazy result.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ..core import fit
from ..core.engine.chunks import channel_pieces, equalize_piece, pieces, read_piece, stack_stream
from ..core.engine.stages import call_with_stack_errors, stage_in_thread
from ..core.equalize import stack_params
from ..core.export import ExportSettings
from ..core.io import CHUNK_BYTES, memory, stack_axis
from ..core.methods import get_method
from .layers import is_lazy, layer_layout, layer_reader

__all__ = ["equalized_stack", "lazy_limit", "block_images", "BLOCK_BYTES"]

BLOCK_BYTES = 4 << 20       # input bytes per block of a lazy result (at least one image)


def lazy_limit() -> int:
    """Bytes of float64 result above which a NumPy layer is equalized lazily.

    A quarter of the memory still free (1 GiB when that is unknown).
    """
    free = memory.available()
    return (1 << 30) if free is None else free // 4


def block_images(layout, itemsize: int, nbytes: int = BLOCK_BYTES) -> int:
    """Images per block: about ``nbytes`` of input, at least one.

    A lazy result's blocks are small (:data:`BLOCK_BYTES`) so that napari's
    slice stays quick: showing one image computes its block only.
    """
    per_image = layout.image_shape[0] * layout.image_shape[1] * layout.channels * itemsize
    return max(1, nbytes // max(per_image, 1))


def _settings(method, bins, scope, params, layout):
    return ExportSettings(method=method, bins=bins, scope=scope, dtype="float64",
                          channel_axis=layout.channel_axis, params=dict(params)).validate()


def equalized_stack(data, method: str = "numpy", bins: int = 256, scope: str = "image",
                    params: dict | None = None, rgb: bool = False, lazy: bool | None = None):
    """Equalize layer data: a generator of ``(stage, done, total)`` returning the result.

    Parameters
    ----------
    data : array_like
        The layer's data (NumPy, Dask, Zarr): ``(..., H, W)``, or
        ``(..., H, W, C)`` with ``rgb``.
    method, bins, scope, params
        As for :func:`histeq_gui.equalize`.
    rgb : bool
        The last axis is colour (napari's ``layer.rgb``), equalized channel by
        channel.
    lazy : bool, optional
        Return a Dask array; default: for data that is not a NumPy array, or
        a result larger than :func:`lazy_limit`.

    Returns
    -------
    ndarray or dask.array.Array
        float64 in [0, 1], the shape of ``data``: ``equalize(data, method,
        bins, scope, channel_axis=-1 if rgb else None, **params)``.

    Raises
    ------
    StackError
        One line, for settings or data the core refuses (checked before
        anything is computed where no pixel is needed).
    """
    layout = layer_layout(data, rgb)
    settings = _settings(method, bins, scope, params or {}, layout)
    reader = layer_reader(data)
    axis = stack_axis(layout)
    maps, resolved = None, None
    if scope == "stack":
        def chunks():
            per_piece = block_images(layout, reader.dtype.itemsize, CHUNK_BYTES)
            for start, stop, _ in pieces(layout, axis, per_piece):
                yield channel_pieces(read_piece(reader, axis, start, stop), layout)

        maps = yield from stage_in_thread("histogram", lambda progress: call_with_stack_errors(
            fit.fit_each, chunks, layout.channels, method, bins, progress=progress,
            **settings.params))
    elif get_method(method).stack_aware:
        resolved = yield from stage_in_thread("reference", lambda progress: call_with_stack_errors(
            stack_params, stack_stream(reader, layout, progress=progress), method, bins=bins,
            **settings.params))
    if lazy is None:
        lazy = is_lazy(data) or reader.size * 8 > lazy_limit()
    per_block = block_images(layout, reader.dtype.itemsize)
    equalize = partial(_equalize_block, settings=settings, layout=layout, maps=maps,
                       params=resolved, input_dtype=reader.dtype)
    if lazy:
        return _lazy(data, layout, axis, per_block, equalize)
    out = np.empty(reader.shape, np.float64)
    n = layout.n_images
    for start, stop, done in _cuts(layout, axis, per_block):
        key = (slice(None),) * axis + (slice(start, stop),) if axis is not None else ()
        out[key] = equalize(read_piece(reader, axis, start, stop))
        yield "equalize", done, n
    return out


def _cuts(layout, axis, per_block):
    """``(start, stop, images done)`` of the pieces along ``axis``."""
    done = 0
    for start, stop, images in pieces(layout, axis, per_block):
        done += images
        yield start, stop, done


def _equalize_block(block, settings, layout, maps, params, input_dtype):
    """One block of whole images equalized (the export's own piece function)."""
    return equalize_piece(np.asarray(block), settings, layout, maps, None, 0, input_dtype,
                          params)


def _lazy(data, layout, axis, per_block, equalize):
    """A Dask array whose blocks (whole images along ``axis``) are equalized when computed."""
    import dask.array as da

    if isinstance(data, da.Array):      # its own blocks along the image axis, whole images
        source = data.rechunk(tuple(data.chunks[a] if a == axis else -1
                                    for a in range(data.ndim)))
    else:
        source = da.from_array(data, chunks=tuple(per_block if a == axis else -1
                                                  for a in range(data.ndim)), asarray=True)
    return source.map_blocks(equalize, dtype=np.float64,
                             meta=np.empty((0,) * source.ndim, np.float64))
