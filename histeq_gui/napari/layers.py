"""A napari image layer as a stack of images: its reader, its layout, the image on screen.

napari shows a layer of shape ``(..., H, W)`` (``(..., H, W, C)`` for an RGB
layer) one slice at a time, the leading axes on the dims sliders.  To the
core that is a stack whose batch axes are those leading axes
(:func:`layer_layout`), read on demand when the data is not a NumPy array
(a Dask or Zarr array: :class:`LayerReader`), and the slice on screen is one
image of it (:func:`image_index`; :func:`show_image` moves the sliders the
other way).  Nothing here imports napari or Qt: a layer is only read
(``data``, ``rgb``, ``ndim``, ``world_to_data``, ``contrast_limits``).
"""

from __future__ import annotations

import numpy as np

from ..core.display import dtype_range
from ..core.errors import StackError
from ..core.histogram import check_dtype
from ..core.io import ArrayReader, Reader, memory
from ..core.stack import Layout, guess_layout
from ..gui.stack_file import LoadedStack

__all__ = ["LayerReader", "layer_reader", "layer_layout", "layer_stack", "image_index",
           "image_position", "show_image", "is_lazy", "layer_name", "SOURCE_KEY",
           "EQUALIZED_KEY", "PREVIEW_KEY", "is_preview"]

SOURCE_KEY = "histeq_gui"                   # layer.metadata: where a layer was read from
EQUALIZED_KEY = "histeq_gui_equalized"      # layer.metadata: how a layer was equalized
PREVIEW_KEY = "histeq_gui_preview"          # layer.metadata: a preview of one slice


def is_preview(layer) -> bool:
    """True for a preview layer of this plugin (the layer pickers leave them out)."""
    return bool(layer.metadata.get(PREVIEW_KEY))


class LayerReader(Reader):
    """A :class:`~histeq_gui.core.io.Reader` of an array read on demand (Dask, Zarr, ...).

    ``read`` indexes the array and converts the piece with ``np.asarray``
    (for Dask: computes that piece only); ``load`` refuses what would not
    fit in the free memory.
    """

    kind = "layer"

    def __init__(self, data):
        super().__init__(data.shape, data.dtype)
        self.data = data

    def _read(self, start, stop, axis):
        return np.asarray(self.data[(slice(None),) * axis + (slice(start, stop),)])

    def load(self, progress=None):
        """The whole layer data as one array (a Dask array is computed).

        Refuses (StackError) what would not fit in the free memory, before reading.
        """
        memory.check_fits(self.nbytes, "the layer", f"shape {self.shape} {self.dtype}")
        out = np.asarray(self.data)
        if progress is not None:
            progress(1, 1)
        return out


def is_lazy(data) -> bool:
    """True for layer data that is not a NumPy array in memory (Dask, Zarr, ...)."""
    return not isinstance(data, np.ndarray)


def layer_reader(data) -> Reader:
    """A reader of layer data: an ArrayReader of a NumPy array, else a :class:`LayerReader`."""
    return ArrayReader(data) if not is_lazy(data) else LayerReader(data)


def layer_layout(data, rgb: bool) -> Layout:
    """The stack layout of layer data: every leading axis a batch axis, RGB(A) last when ``rgb``.

    Raises
    ------
    StackError
        One line, for a layer that is not a stack of images the core takes
        (multiscale data, fewer than two image axes, booleans, complex).
    """
    if isinstance(data, (list, tuple)):
        raise StackError("a multiscale layer cannot be equalized here; add its full-resolution "
                         "level as a layer of its own (layer.data[0]) and equalize that")
    try:
        check_dtype(data.dtype)
        return guess_layout(data.shape, -1 if rgb else None)
    except ValueError as exc:
        raise StackError(f"cannot equalize this layer: {exc}") from None


def layer_stack(layer) -> LoadedStack:
    """The layer as the viewer's :class:`~histeq_gui.gui.stack_file.LoadedStack` (nothing read).

    Its levels are the layer's contrast limits (the dtype's range if they
    are empty), so the viewer's computing code runs unchanged on it.
    """
    data = layer.data
    layout = layer_layout(data, bool(layer.rgb))
    low, high = (float(v) for v in layer.contrast_limits)
    levels = (low, high) if high > low else dtype_range(np.dtype(data.dtype))
    return LoadedStack(layer_reader(data), layout, None, levels)


def _batch_shape(layer):
    return tuple(layer.data.shape[:layer.ndim - 2])


def image_position(layer, world_point) -> tuple:
    """The batch indices (one per leading axis) of the slice at ``world_point``, clipped."""
    shape = _batch_shape(layer)
    if not shape:
        return ()
    data = np.asarray(layer.world_to_data(np.asarray(world_point, float)), float)
    lead = data[:len(shape)]
    return tuple(int(min(max(round(v), 0), n - 1)) for v, n in zip(lead, shape))


def image_index(layer, world_point) -> int:
    """The image of the layer's stack (C order over its leading axes) at ``world_point``."""
    position = image_position(layer, world_point)
    return int(np.ravel_multi_index(position, _batch_shape(layer))) if position else 0


def show_image(dims, layer, index: int) -> None:
    """Move napari's dims sliders (``viewer.dims``) to image ``index`` of ``layer``'s stack."""
    shape = _batch_shape(layer)
    if not shape:
        return
    position = np.unravel_index(int(index), shape)
    point = list(layer.data_to_world(list(position) + [0.0, 0.0]))
    offset = dims.ndim - layer.ndim
    for axis, value in enumerate(point[:len(shape)]):
        dims.set_point(offset + axis, value)


def layer_name(name: str, method: str, scope: str, preview: bool = False) -> str:
    """A new layer's name, after its source and method: ``"moon · imagej"``.

    Examples
    --------
    >>> layer_name("moon", "imagej", "stack")
    'moon · imagej (stack)'
    >>> layer_name("moon", "numpy", "image", preview=True)
    'moon · numpy preview'
    """
    text = f"{name} · {method}"
    if scope == "stack":
        text += " (stack)"
    return text + " preview" if preview else text
