"""``skimage``: ``skimage.exposure.equalize_hist``.

``cdf = cumulative counts / total``; each pixel becomes ``np.interp(pixel,
bin centres, cdf)``.  Integer images get one bin per integer value between
their minimum and maximum (scikit-image's ``histogram`` of integers), so
``bins`` is ignored for them; integers of a huge range (int64 spanning
2**40) are ranked by their distinct values instead, which gives the very
counts such a bin per integer would.  For float16 and float32 images the
CDF and the result are rounded to float32, as scikit-image returns them.
"""

from __future__ import annotations

import numpy as np

from .base import Method, Nodes, RowLoop, bins_param, how_from_docstring

__all__ = ["METHOD", "nodes", "table", "table_loop"]


def _cdf(counts):
    # exposure.cumulative_distribution: hist.cumsum() / float(cdf[-1]).
    with np.errstate(all="ignore"):
        return np.cumsum(counts, axis=1) / counts.sum(axis=1, keepdims=True).astype(np.float64)


def _rounding(dtype):
    # skimage.util.dtype._supported_float_type: float16/float32 -> float32.
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype in (np.float16, np.float32) else np.dtype(np.float64)


def nodes(counts, edges, dtype, params):
    """Nodes of ``equalize_hist`` on floating point images.

    ``xp`` are the bin centres ``(edges[:-1] + edges[1:]) / 2`` in the bin
    dtype, ``fp`` the cumulative counts over the total, rounded to float32
    for float16/float32 images as scikit-image does.
    """
    with np.errstate(over="ignore"):    # near the largest float; np.interp maps those
        centres = (edges[:, :-1] + edges[:, 1:]) / 2.0
    rounding = _rounding(dtype)
    cdf = _cdf(counts)
    if rounding != np.float64:
        cdf = cdf.astype(rounding).astype(np.float64)
    return Nodes(centres.astype(np.float64), cdf, 1.0, rounding, anchor="centre")


def table(cells, params):
    """``equalize_hist`` of integer images: one value per integer value.

    The fraction of counted pixels ``<= max(value, smallest counted value)``:
    exactly what ``np.interp`` gives at integer positions over
    scikit-image's one-bin-per-integer CDF, below and above the counted
    range too.  ``np.interp`` works in float64: integers beyond 2**53 that
    round to the same float64 all get the CDF of the largest of them, as
    there.
    """
    cdf = _cdf(cells.counts)
    first = np.argmax(cells.counts > 0, axis=1)
    floor = np.take_along_axis(cdf, first[:, np.newaxis], axis=1)
    value = np.broadcast_to(cells.value, cdf.shape)
    if (np.diff(value, axis=1) == 0).any():
        # np.interp's search lands on the last node of equal float64 values.
        last = np.array([np.searchsorted(row, row, side="right") - 1 for row in value])
        cdf = np.take_along_axis(cdf, last, axis=1)
    return np.maximum(cdf, floor, out=cdf)


def table_loop(counts, level0, levels, args, out):
    """:func:`table` of one sample of consecutive integers, as a loop the engine compiles."""
    total = 0
    first = -1
    for k in range(counts.shape[0]):
        total += counts[k]
        if first < 0 and counts[k] > 0:
            first = k
    pixels = np.float64(total)
    floor = np.float64(counts[max(first, 0)]) / pixels     # the CDF at the first counted value
    cumulative = 0
    for k in range(counts.shape[0]):
        cumulative += counts[k]
        value = np.float64(cumulative) / pixels
        out[k] = floor if value < floor else value


METHOD = Method(
    name="skimage",
    label="scikit-image equalize_hist",
    summary="skimage.exposure.equalize_hist: CDF interpolated at the bin CENTRES; integer "
            "images get one bin per integer value.",
    reference="skimage.exposure.equalize_hist(image, nbins=bins), as float64",
    source="scikit-image skimage/exposure/exposure.py (equalize_hist, "
           "cumulative_distribution, histogram)",
    formula=("cdf<sub>k</sub> = &Sigma;<sub>j&le;k</sub> n<sub>j</sub> / N; "
             "T(x) = interp(x, bin centres c<sub>k</sub>, cdf<sub>k</sub>); "
             "integer images: one bin per integer value"),
    how=how_from_docstring(__doc__),
    params=(bins_param(dtypes="f", help="number of equal-width bins for float images "
                                        "(integer images: one bin per value)"),),
    value_cells="ui",
    nodes=nodes,
    table=table,
    table_loop=RowLoop(table_loop),
)
