"""Equalize 8- and 16-bit integer images through lookup tables in the output dtype.

An equalized pixel depends only on its value (and, for scope "image", on its
image), so for integer images of at most 16 bits the whole pipeline
``convert(equalize(x))`` is a table: evaluate the map once per value of the
dtype, convert those values to the output dtype, and look every pixel up.
That is the same bits as equalizing in float64 and converting (the same
map, the same conversion, element by element) but one pass over the pixels
from input dtype to output dtype, with no float64 array in between.

- scope "stack": :meth:`Histogram.apply` on all 2**8 or 2**16 values;
- scope "image", 8-bit images: each image's map on the 256 values, from the
  tables :func:`~histeq_gui.core.equalize.equalize` builds
  (:func:`~histeq_gui.core.fit.image_value_maps`).

:func:`applies` says when the export takes this path.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import fit

__all__ = ["applies", "stack_table", "image_tables", "look_up"]

_BLOCK = 1 << 20            # pixels per block of the look-up, on the thread pool


def applies(input_dtype, scope):
    """True if images of ``input_dtype`` are equalized through tables for ``scope``.

    Examples
    --------
    >>> applies("uint8", "image"), applies("uint16", "stack"), applies("uint16", "image")
    (True, True, False)
    """
    dtype = np.dtype(input_dtype)
    if dtype.kind not in "iu":
        return False
    return dtype.itemsize <= 2 if scope == "stack" else dtype.itemsize == 1


def _grid(dtype):
    info = np.iinfo(dtype)
    return np.arange(info.min, info.max + 1, dtype=np.int64).astype(dtype)


def stack_table(histogram, dtype, convert):
    """The table of one fitted histogram (scope "stack").

    Parameters
    ----------
    histogram : Histogram
        Fitted on images of ``dtype``.
    dtype : numpy.dtype
        An integer dtype of at most 16 bits (native byte order).
    convert : callable
        Equalized float64 values -> output values (e.g. a partial of
        :func:`~histeq_gui.core.export.convert`).

    Returns
    -------
    ndarray, shape (1, 2 ** bits)
        ``convert(histogram.apply(v))`` for every value ``v`` of the dtype,
        from its minimum up.
    """
    return convert(histogram.apply(_grid(np.dtype(dtype).newbyteorder("="))))[np.newaxis]


def image_tables(images, method, bins, convert, **params):
    """The tables of 8-bit images equalized one by one (scope "image").

    ``params``: the method's parameters, as for
    :func:`~histeq_gui.core.fit.image_value_maps`.

    Returns
    -------
    ndarray, shape (images, 256)
        Row ``r``: ``convert`` of image ``r``'s map at every value
        (:func:`~histeq_gui.core.fit.image_value_maps`).
    """
    return convert(fit.image_value_maps(images, method, bins, **params))


@njit(nogil=True, cache=True)
def _look_up(x, table, base, out):
    # Each index is clamped into the table, whatever the inputs: no read out of bounds;
    # out and x have the same shape (checked by the caller).
    width = table.shape[1]
    one = table.shape[0] == 1
    for r in range(x.shape[0]):
        row = 0 if one else r
        for i in range(x.shape[1]):
            k = np.int64(x[r, i]) - base
            if k < 0:
                k = 0
            elif k >= width:
                k = width - 1
            out[r, i] = table[row, k]


def look_up(x2, table, base):
    """Look every pixel up in its row's table.

    Parameters
    ----------
    x2 : ndarray of int, shape (rows, pixels)
    table : ndarray, shape (1, width) or (rows, width)
        One table for every row, or one per row.
    base : int
        The value of column 0 (the dtype's minimum).

    Returns
    -------
    ndarray, shape (rows, pixels), of the table's dtype
        ``table[row, x - base]``, the index clamped into ``[0, width)``.

    Raises
    ------
    ValueError
        If the tables do not fit the rows.

    Examples
    --------
    >>> import numpy as np
    >>> look_up(np.array([[0, 2, 9]], np.uint8), np.array([[5, 6, 7]]), 0).tolist()
    [[5, 7, 7]]
    """
    x2 = np.ascontiguousarray(x2)
    table = np.ascontiguousarray(table)
    if x2.ndim != 2 or table.ndim != 2 or table.shape[0] not in (1, x2.shape[0]):
        raise ValueError(f"tables of shape {table.shape} do not fit pixels of shape {x2.shape}")
    out = np.empty(x2.shape, table.dtype)
    if x2.size == 0:
        return out
    rows = max(1, _BLOCK // max(x2.shape[1], 1))

    def work(r0):
        r1 = min(r0 + rows, x2.shape[0])
        part = table if table.shape[0] == 1 else table[r0:r1]
        _look_up(x2[r0:r1], part, int(base), out[r0:r1])
    fit.run_blocks(work, range(0, x2.shape[0], rows))
    return out
