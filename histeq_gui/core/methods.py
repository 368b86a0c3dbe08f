"""The equalization methods: from histogram counts to the intensity mapping.

Both methods map a pixel through ``np.interp(x, xp, fp)``; they differ only in
the nodes ``(xp, fp)``:

``"numpy"``
    The recipe of the Q&A thread this program starts from:
    ``np.histogram(image, bins, density=True)``, cumulative sum normalized to
    255, nodes at the LEFT bin edges; the result is divided by 255.
``"skimage"``
    ``skimage.exposure.equalize_hist(image, nbins)``: cumulative counts over
    the total, nodes at the bin CENTRES.  Integer images get one bin per
    integer value between their minimum and maximum and ignore ``nbins``.
    For float32 (and float16) images scikit-image rounds the CDF and the
    result to float32; so does this method.

Each function here is a small pure function over a batch: arrays with one row
per sample (an image, or a whole stack).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["METHODS", "check_method", "uses_value_bins", "Nodes", "numpy_nodes",
           "skimage_nodes", "skimage_value_cdf", "Segments", "segments", "interpolate",
           "finish"]

METHODS = ("numpy", "skimage")


def check_method(method):
    """Return ``method`` if it names a method, else raise a ValueError."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    return method


def uses_value_bins(method, dtype):
    """True when ``method`` bins ``dtype`` images one integer value per bin.

    That is scikit-image on integer images: it ignores the requested number of
    bins, and the viewer says so next to the control.
    """
    return method == "skimage" and np.dtype(dtype).kind in "iu"


@dataclass
class Nodes:
    """The piecewise linear map ``np.interp(x, xp, fp) / scale`` of each sample.

    Attributes
    ----------
    xp, fp : ndarray of float64, shape (samples, nodes)
        Interpolation nodes (``xp`` increasing).
    scale : float
        Divisor of the interpolated value (255 for the seed recipe).
    rounding : numpy.dtype
        The result is rounded to this dtype before being returned as float64
        (float32 where scikit-image returns float32).
    """

    xp: np.ndarray
    fp: np.ndarray
    scale: float = 1.0
    rounding: np.dtype = np.dtype(np.float64)

    @property
    def cdf(self):
        """The normalized CDF in [0, 1] at ``xp`` (what the plots draw)."""
        return (self.fp / self.scale).astype(self.rounding).astype(np.float64)


def _cdf_rounding(dtype):
    # skimage.util.dtype._supported_float_type: float16/float32 -> float32.
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype in (np.float16, np.float32) else np.dtype(np.float64)


def numpy_nodes(counts, edges):
    """Nodes of the seed recipe.

    Parameters
    ----------
    counts : ndarray of int, shape (samples, bins)
    edges : ndarray, shape (samples, bins + 1)
        Bin edges as ``np.histogram`` returns them (bin dtype).

    Returns
    -------
    Nodes
        ``xp`` the left bin edges, ``fp`` the density CDF scaled to 255.

    Notes
    -----
    The arithmetic repeats ``np.histogram(..., density=True)``
    (``n / db / n.sum()``), ``cumsum`` and ``255 * cdf / cdf[-1]`` step by
    step, so every node is bit-identical to the per-image recipe.
    """
    db = np.subtract(edges[:, 1:], edges[:, :-1], dtype=edges.dtype).astype(np.float64,
                                                                             copy=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        cdf = np.divide(counts, db, out=db)
        cdf /= counts.sum(axis=1, keepdims=True)
        np.cumsum(cdf, axis=1, out=cdf)
        last = cdf[:, -1:].copy()
        cdf *= 255
        cdf /= last
    return Nodes(edges[:, :-1].astype(np.float64, copy=False), cdf, 255.0)


def skimage_nodes(counts, edges, data_dtype):
    """Nodes of ``skimage.exposure.equalize_hist`` for floating point images.

    ``xp`` are the bin centres ``(edges[:-1] + edges[1:]) / 2`` in the bin
    dtype, ``fp`` the cumulative counts over the total, rounded to float32 for
    float32 images as scikit-image does.
    """
    centres = (edges[:, :-1] + edges[:, 1:]) / 2.0
    rounding = _cdf_rounding(data_dtype)
    cumulative = counts.cumsum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cdf = cumulative / cumulative[:, -1:].astype(np.float64)
    if rounding != np.float64:
        cdf = cdf.astype(rounding).astype(np.float64)
    return Nodes(centres.astype(np.float64), cdf, 1.0, rounding)


def skimage_value_cdf(value_counts, first):
    """``equalize_hist`` of integer images as a table over integer values.

    Parameters
    ----------
    value_counts : ndarray of int, shape (samples, width)
        Count of each integer value ``base + k`` per sample.
    first : ndarray of intp, shape (samples,)
        Column of the smallest counted value of each sample.

    Returns
    -------
    ndarray of float64, shape (samples, width)
        The equalized value of every integer ``base + k``: the fraction of
        counted pixels ``<= max(value, smallest counted value)``.  This is
        exactly what ``np.interp`` gives at integer positions over
        scikit-image's one-bin-per-integer CDF, including below and above
        the counted range.
    """
    cumulative = value_counts.cumsum(axis=1)
    floor = np.take_along_axis(cumulative, first[:, np.newaxis], axis=1)
    np.maximum(cumulative, floor, out=cumulative)
    with np.errstate(invalid="ignore", divide="ignore"):
        return cumulative / cumulative[:, -1:].astype(np.float64)


@dataclass
class Segments:
    """Flat per-segment tables for evaluating ``np.interp`` on many samples.

    Segment ``s * stride + j`` of sample ``s`` starts at ``start``; the value
    there is ``slope * (x - start) + value``, the very operations
    ``np.interp`` performs.  Constant ends have slope 0.  ``start`` is None
    for left-edge nodes, where the caller has each pixel's lower bin edge.
    """

    start: np.ndarray
    slope: np.ndarray
    value: np.ndarray
    stride: int


def segments(nodes, left_edges):
    """Segment tables for :func:`interpolate`.

    Parameters
    ----------
    nodes : Nodes
    left_edges : bool
        True when the nodes are the left bin edges: segment ``k`` is bin
        ``k`` (the last bin is flat at ``fp[-1]``).  False for bin centres:
        segment 0 is the flat part left of the first centre and segment
        ``j + 1`` starts at centre ``j``.
    """
    xp, fp = nodes.xp, nodes.fp
    samples, n = xp.shape
    shift = 0 if left_edges else 1
    slope = np.zeros((samples, n + 1))
    value = np.empty((samples, n + 1))
    inner = slope[:, shift:shift + n - 1]
    np.subtract(fp[:, 1:], fp[:, :-1], out=inner)
    with np.errstate(invalid="ignore", divide="ignore"):
        inner /= np.subtract(xp[:, 1:], xp[:, :-1], out=value[:, :n - 1])
    value[:, shift:shift + n] = fp
    value[:, n if left_edges else 0] = fp[:, -1 if left_edges else 0]
    start = None
    if not left_edges:
        start = np.empty((samples, n + 1))
        start[:, 1:] = xp
        start[:, 0] = xp[:, 0]
        start = start.ravel()
    return Segments(start, slope.ravel(), value.ravel(), n + 1)


def interpolate(x, segment, seg, nodes, offset=None, out=None, scratch=None):
    """Evaluate the map of each pixel given its segment.

    Parameters
    ----------
    x : ndarray
        Pixel values (inside each sample's node range or clamped to it).
    segment : ndarray of intp
        Flat segment index of each pixel (see :class:`Segments`).
    seg : Segments
    nodes : Nodes
        For the scale and the rounding.
    offset : ndarray of float64, optional
        ``x - seg.start[segment]`` when the caller already has it; it is
        overwritten.
    out : ndarray of float64, optional
        Where to write the result.
    scratch : tuple of two float64 arrays shaped like ``x``, optional
        Work space; the arithmetic stays in them (in cache) and only the
        last step writes ``out``.

    Returns
    -------
    ndarray of float64
    """
    if scratch is None:
        scratch = np.empty(x.shape), np.empty(x.shape)
    values, table = scratch
    if offset is None:
        offset = np.subtract(x, np.take(seg.start, segment, mode="wrap", out=table),
                             out=values, dtype=np.float64)
    offset *= np.take(seg.slope, segment, mode="wrap", out=table)
    offset += np.take(seg.value, segment, mode="wrap", out=table)
    return finish(offset, nodes, out)


def finish(values, nodes, out=None):
    """Divide by the scale and round as the method's reference does.

    Writes ``out`` (default: ``values`` in place) and returns it.
    """
    if out is None:
        out = values
    if nodes.scale != 1.0:
        np.divide(values, nodes.scale, out=out)
    elif out is not values:
        np.copyto(out, values)
    if nodes.rounding != np.float64:
        out[...] = out.astype(nodes.rounding)
    return out
