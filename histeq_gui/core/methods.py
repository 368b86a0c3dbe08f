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

The arithmetic of one sample is written once, in the small compiled
functions :func:`seed_cdf`, :func:`cumulative_cdf` and :func:`slope` (they
repeat NumPy's operations in NumPy's order, so the results are
bit-identical); the batch functions below (one row per sample: an image, or
a whole stack) and the per-pixel kernels both call them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["METHODS", "check_method", "uses_value_bins", "Nodes", "seed_cdf", "cumulative_cdf",
           "slope", "numpy_nodes", "skimage_nodes", "skimage_value_cdf", "Segments",
           "segments", "finish"]

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


# ------------------------------------------------------------ one sample (compiled)


@njit(nogil=True, cache=True, error_model="numpy")
def seed_cdf(counts, edges, out):
    """The seed recipe's CDF of one sample, scaled to 255, into ``out``.

    ``np.histogram(..., density=True)`` is ``n / db / n.sum()`` with ``db``
    the bin widths in the bin dtype; then ``cumsum`` and
    ``255 * cdf / cdf[-1]``.  An empty sample gives NaN.
    """
    n = counts.shape[0]
    if n < 1 or edges.shape[0] < n + 1 or out.shape[0] < n:
        raise ValueError("seed_cdf: counts, edges and out do not agree")
    total = 0
    for k in range(n):
        total += counts[k]
    running = 0.0
    for k in range(n):
        running += counts[k] / np.float64(edges[k + 1] - edges[k]) / total
        out[k] = running
    last = out[n - 1]
    for k in range(n):
        out[k] = 255 * out[k] / last


@njit(nogil=True, cache=True, error_model="numpy")
def cumulative_cdf(counts, out):
    """scikit-image's CDF of one sample: ``counts.cumsum() / float(total)``."""
    if out.shape[0] < counts.shape[0]:
        raise ValueError("cumulative_cdf: out is shorter than counts")
    total = 0
    for k in range(counts.shape[0]):
        total += counts[k]
    running = 0
    for k in range(counts.shape[0]):
        running += counts[k]
        out[k] = running / np.float64(total)


@njit(nogil=True, cache=True, error_model="numpy", inline="always")
def slope(fp, j, x0, x1):
    """``np.interp``'s slope of segment ``j``: ``(fp[j+1] - fp[j]) / (x1 - x0)``."""
    return (fp[j + 1] - fp[j]) / (x1 - x0)


# ----------------------------------------------------------------- batches of samples


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


@njit(nogil=True, cache=True)
def _cumulative_cdfs(counts, out):
    if out.shape[0] < counts.shape[0]:
        raise ValueError("_cumulative_cdfs: fewer rows of out than of counts")
    for s in range(counts.shape[0]):
        cumulative_cdf(counts[s], out[s])


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
        ``xp`` the left bin edges, ``fp`` the density CDF scaled to 255,
        bit-identical to the per-image recipe: ``np.histogram(density=True)``
        is ``n / db / n.sum()`` with ``db`` the bin widths taken in the bin
        dtype (float16 widths round in float16), then ``cumsum`` and
        ``255 * cdf / cdf[-1]``, row by row.  An empty sample gives NaN.
    """
    with np.errstate(all="ignore"):
        widths = np.diff(edges, axis=1).astype(np.float64)
        density = counts / widths / counts.sum(axis=1, keepdims=True)
        cdf = np.cumsum(density, axis=1)
        fp = 255 * cdf / cdf[:, -1:]
    return Nodes(edges[:, :-1].astype(np.float64, copy=False), fp, 255.0)


def skimage_nodes(counts, edges, data_dtype):
    """Nodes of ``skimage.exposure.equalize_hist`` for floating point images.

    ``xp`` are the bin centres ``(edges[:-1] + edges[1:]) / 2`` in the bin
    dtype, ``fp`` the cumulative counts over the total (:func:`cumulative_cdf`),
    rounded to float32 for float32 images as scikit-image does.
    """
    with np.errstate(over="ignore"):    # near the largest float; np.interp maps those
        centres = (edges[:, :-1] + edges[:, 1:]) / 2.0
    rounding = _cdf_rounding(data_dtype)
    cdf = np.empty(counts.shape)
    _cumulative_cdfs(np.ascontiguousarray(counts), cdf)
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
    cdf = np.empty(value_counts.shape)
    _cumulative_cdfs(np.ascontiguousarray(value_counts), cdf)
    floor = np.take_along_axis(cdf, first[:, np.newaxis], axis=1)
    return np.maximum(cdf, floor, out=cdf)


@dataclass
class Segments:
    """Flat per-segment tables for evaluating ``np.interp`` on many samples.

    Segment ``s * (nodes + 1) + j`` of sample ``s`` starts at ``start``; the value
    there is ``slope * (x - start) + value``, the very operations
    ``np.interp`` performs.  Constant ends have slope 0.  ``start`` is None
    for left-edge nodes, where the kernels use each pixel's lower bin edge.
    """

    start: np.ndarray
    slope: np.ndarray
    value: np.ndarray


@njit(nogil=True, cache=True, error_model="numpy")
def _segments(xp, fp, shift, slopes, values):
    samples, n = xp.shape
    if (n < 1 or fp.shape[0] < samples or fp.shape[1] < n or shift < 0 or shift > 1
            or slopes.shape[0] < samples or slopes.shape[1] < n + 1
            or values.shape[0] < samples or values.shape[1] < n + 1):
        raise ValueError("_segments: the node and segment tables do not agree")
    for s in range(samples):
        for j in range(n - 1):
            slopes[s, j + shift] = slope(fp[s], j, xp[s, j], xp[s, j + 1])
            values[s, j + shift] = fp[s, j]
        values[s, n - 1 + shift] = fp[s, n - 1]
        if shift:
            values[s, 0] = fp[s, 0]
        else:
            values[s, n] = fp[s, n - 1]


def segments(nodes, left_edges):
    """Segment tables for the mapping kernels.

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
    slopes = np.zeros((samples, n + 1))
    values = np.empty((samples, n + 1))
    _segments(np.ascontiguousarray(xp), fp, 0 if left_edges else 1, slopes, values)
    start = None
    if not left_edges:
        start = np.empty((samples, n + 1))
        start[:, 1:] = xp
        start[:, 0] = xp[:, 0]
        start = start.ravel()
    return Segments(start, slopes.ravel(), values.ravel())


def finish(values, nodes):
    """Divide by the scale and round as the method's reference does (in place)."""
    if nodes.scale != 1.0:
        values /= nodes.scale
    if nodes.rounding != np.float64:
        values[...] = values.astype(nodes.rounding)
    return values
