"""What the engine takes in: pixels, masks, scopes, a method's parameters, an output dtype.

Every driver turns what its caller gives into the engine's terms here:
images as an array of a dtype that can be equalized (:func:`as_images`),
their rows of one image each (:func:`image_rows`), a mask as rows
(:func:`mask_rows`), the method and its parameters checked and resolved
(:func:`prepare`, :func:`resolve_stack` for the stack-aware ones, one value
per channel, and :func:`channel_params` for one channel), and the result's
dtype with its conversion (:func:`output`).  The errors are one-line
ValueErrors saying what to do.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import histogram as hg
from ..convert import convert, output_dtype
from ..methods import SCOPES, Method, get_method
from ..methods.base import StackView
from ..param_files import read_file_params
from ..stack import as_channels_first, guess_layout

__all__ = ["check_scope", "prepare", "resolve_stack", "stack_view", "channel_params",
           "as_images", "image_rows", "mask_rows", "output"]


def check_scope(scope: str) -> str:
    """Return ``scope`` if valid, else raise a ValueError.

    Examples
    --------
    >>> check_scope("stack")
    'stack'
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; choose 'image' (each image its own "
                         "histogram) or 'stack' (one histogram for the whole stack)")
    return scope


def prepare(x: np.ndarray, m: Method, bins: int, params: dict, scope: str = "image",
            mask=None) -> dict:
    """The resolved parameters of method ``m`` for images ``x``, or a one-line ValueError.

    A parameter given as an image file (``match``'s reference as a path) is
    read here (:func:`~histeq_gui.core.param_files.read_file_params`).

    Returns
    -------
    dict
        Every parameter of the method for ``x``'s dtype (``bins`` included).
    """
    m.check_dtype(x.dtype)
    m.check_scope(check_scope(scope))
    m.check_mask(mask)
    return m.resolve_params(x.dtype, bins=bins, **read_file_params(m, params))


def resolve_stack(m: Method, params: dict, view) -> dict:
    """``params`` with each stack-aware one resolved against ``view``: a value per channel.

    ``view`` is a :class:`~histeq_gui.core.methods.base.StackView` or a
    :class:`~histeq_gui.core.methods.base.StackStream`.
    """
    if not m.stack_aware:
        return params
    params = dict(params)
    for p in m.stack_aware:
        values = tuple(p.resolve(params[p.name], view))
        if len(values) != view.channels:
            raise ValueError(f"the {m.name} method's {p.name} resolved to {len(values)} "
                             f"values for {view.channels} channels")
        params[p.name] = values
    return params


def stack_view(x: np.ndarray, mask, channel_axis) -> tuple:
    """The layout of ``x``, its channels-first array and rows, its mask rows, its StackView."""
    layout = guess_layout(x.shape, channel_axis)
    xc = as_channels_first(x, layout)
    x2 = xc.reshape(-1, xc.shape[-2] * xc.shape[-1])
    mask2 = None if mask is None or x2.size == 0 else mask_rows(mask, layout, xc.shape)
    return layout, xc, x2, mask2, StackView(x2, mask2, layout.channels, layout)


def channel_params(method: str | Method, params: dict, channel: int) -> dict:
    """The parameters for one channel: each resolved stack-aware one takes that channel's value.

    Parameters
    ----------
    method : str or Method
    params : dict
        Parameters as :func:`~histeq_gui.core.equalize.stack_params` returns them.
    channel : int

    Returns
    -------
    dict
        ``params`` with every stack-aware parameter (a tuple of one value
        per channel) replaced by its value for ``channel``; pass it to
        :func:`~histeq_gui.core.equalize.histogram` or
        :func:`~histeq_gui.core.equalize.equalize` for that channel alone.
    """
    m = get_method(method)
    if not m.stack_aware:
        return params
    out = dict(params)
    for p in m.stack_aware:
        value = params.get(p.name)
        if isinstance(value, tuple):
            out[p.name] = value[channel] if len(value) > 1 else value[0]
    return out


def as_images(images, min_ndim: int = 2) -> np.ndarray:
    """The pixels as an array of a dtype that can be equalized, in native byte order."""
    x = np.asarray(images)
    native = hg.check_dtype(x.dtype)
    if x.ndim < min_ndim:
        raise ValueError(f"expected images with at least 2 dimensions (height, width), "
                         f"got an array of shape {x.shape}")
    return x if x.dtype == native else x.astype(native)    # big-endian files, say


def image_rows(x: np.ndarray) -> np.ndarray:
    """All pixels of ``x`` as rows of one image each (a single row below 2-D).

    Examples
    --------
    >>> image_rows(np.zeros((2, 3, 4, 5))).shape
    (6, 20)
    """
    return x.reshape(1, -1) if x.ndim < 2 else x.reshape(-1, x.shape[-2] * x.shape[-1])


def mask_rows(mask, layout, xc_shape: tuple) -> np.ndarray:
    """The mask as (channels * images, pixels), broadcast without copying if possible.

    ``layout`` is the images' layout, ``xc_shape`` the shape of their
    channels-first array.
    """
    m = np.asarray(mask)
    if m.dtype != bool:
        m = m.astype(bool)
    if not m.any():
        raise ValueError("the mask selects no pixel; select at least one pixel per image")
    if layout.channel_axis is not None and m.ndim == layout.ndim:
        m = as_channels_first(m, layout)
    target = xc_shape if m.ndim == len(xc_shape) else xc_shape[1:]
    try:
        m = np.broadcast_to(m, target)
    except ValueError:
        raise ValueError(f"a mask of shape {np.shape(mask)} does not fit images of shape "
                         f"{layout.shape}; give one (H, W) mask or one per image") from None
    m = np.broadcast_to(m, xc_shape)
    return m.reshape(xc_shape[0] * int(np.prod(xc_shape[1:-2], dtype=np.int64)), -1)


def output(dtype, input_dtype) -> tuple[np.dtype, Callable | None]:
    """The result dtype for ``equalize(..., dtype=dtype)`` and the conversion to it.

    Returns ``(target, convert)``: ``convert(values)`` turns equalized float64
    values into ``target`` exactly as the export does
    (:func:`histeq_gui.core.convert.convert`), or is None for float64 (the
    values themselves).
    """
    if dtype is None:
        return np.dtype(np.float64), None
    name = dtype
    if not isinstance(dtype, str):
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = repr(dtype)
    target = output_dtype(name, input_dtype)
    if target == np.float64:
        return target, None
    return target, lambda values: convert(values, name, input_dtype)

