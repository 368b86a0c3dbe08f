"""The reader contribution: stacks as this program reads them, where napari reads them otherwise.

napari reads a ``.npy`` of shape ``(N, 1, H, W)`` as a 4-D layer with a
slider of one step, cannot choose among the arrays of an ``.npz``, and reads
no folder of images.  :func:`get_reader` takes these (and every folder
:func:`~histeq_gui.core.io.open_reader` reads) through the core's readers,
with their checks and one-line errors:

- each array becomes an image layer named after the file (``faces.npz
  [train]`` for an array of an ``.npz``; every array of it is a layer);
- batch axes of length one are dropped (``(N, 1, H, W)`` -> ``(N, H, W)``)
  and colour last of size 3 or 4 is RGB(A); the shape as stored is kept in
  ``layer.metadata["histeq_gui"]``, so the writer lays the output out like
  the file;
- a stack larger than :func:`~histeq_gui.gui.stack_file.memory_budget` is
  a Dask array read a block of images at a time when napari shows it;
- a folder of images of different sizes gives a layer per image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.engine.chunks import pieces
from ..core.errors import KeyNeeded, StackError
from ..core.io import open_reader, stack_axis
from ..core.stack import guess_layout
from ..gui.stack_file import memory_budget
from .layers import SOURCE_KEY
from .stack_work import block_images

__all__ = ["get_reader", "read_stack", "SUFFIXES"]

SUFFIXES = (".npy", ".npz")


def get_reader(path):
    """Napari's reader hook: :func:`read_stack` for a path this program reads, else None."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    path = Path(path)
    if path.is_dir():
        try:
            open_reader(path).close()
        except (StackError, OSError):
            return None             # no images in it: napari says it has no reader
        return read_stack
    return read_stack if path.suffix.lower() in SUFFIXES else None


def read_stack(path) -> list[tuple]:
    """The layers of ``path``: ``[(data, kwargs, "image"), ...]`` (see the module docstring).

    Raises
    ------
    StackError
        One line, for a file that cannot be read (napari shows it).
    """
    if isinstance(path, (list, tuple)):
        return [layer for p in path for layer in read_stack(p)]
    path = Path(path)
    try:
        reader = open_reader(path)
    except KeyNeeded as need:
        return [layer for key in need.keys for layer in _layers(open_reader(path, key), path,
                                                                    key)]
    return _layers(reader, path, None)


def _layers(reader, path, key):
    name = path.name if key is None else f"{path.name} [{key}]"
    source = {"path": str(path), "key": key}
    if getattr(reader, "ragged", False):
        return [(_native(np.asarray(reader.image(i))), {"name": f"{name} · {image}",
                 "metadata": {SOURCE_KEY: dict(source, image=i)},
                 "rgb": reader.shapes[i][2:] in ((3,), (4,))}, "image")
                for i, image in enumerate(reader.names)]
    layout = guess_layout(reader.shape, "auto")
    if reader.nbytes <= memory_budget():
        data = _native(reader.load())
        reader.close()
    else:
        data = _lazy(reader, layout)
    keep = [a for a in range(layout.ndim)
            if not (a in layout.batch_axes and layout.shape[a] == 1)]
    shape = tuple(layout.shape[a] for a in keep)
    kwargs = {"name": name, "metadata": {SOURCE_KEY: dict(source, shape=tuple(reader.shape))}}
    channels_last = layout.channel_axis == layout.ndim - 1
    if channels_last and layout.channels in (3, 4):
        kwargs["rgb"] = True
    elif channels_last:                 # gray + alpha: one layer per channel
        kwargs["channel_axis"] = -1
        kwargs["name"] = [f"{name} · gray", f"{name} · alpha"]
    else:
        kwargs["rgb"] = False
    return [(data.reshape(shape), kwargs, "image")]


def _native(array):
    dtype = array.dtype.newbyteorder("=")
    return array if array.dtype == dtype else array.astype(dtype)


def _lazy(reader, layout):
    """A Dask array of ``reader``: blocks of whole images, each read when computed."""
    import dask
    import dask.array as da

    axis = stack_axis(layout)
    dtype = reader.dtype.newbyteorder("=")
    if axis is None:
        return da.from_delayed(dask.delayed(reader.load)(), reader.shape, reader.dtype) \
            .astype(dtype)
    per_block = block_images(layout, dtype.itemsize)
    read = dask.delayed(reader.read, pure=True)
    blocks = []
    for start, stop, _ in pieces(layout, axis, per_block):
        shape = reader.shape[:axis] + (stop - start,) + reader.shape[axis + 1:]
        blocks.append(da.from_delayed(read(start, stop, axis), shape, reader.dtype))
    return da.concatenate(blocks, axis=axis).astype(dtype)
