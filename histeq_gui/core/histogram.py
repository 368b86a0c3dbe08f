"""Per-sample histogram tables: ranges, bin edges, as ``np.histogram`` makes them.

A *block* is a 2-D array ``x`` of shape ``(rows, pixels)`` whose rows belong
to *samples* (an image, or the whole stack when one histogram serves every
image).  This module computes, per sample, the range of the pixels that drive
the histogram (:func:`block_stats`, :func:`merge_stats`) and the bin edges
(:func:`binning`), bit-identical to what ``np.histogram`` computes for that
sample alone: the same ``np.linspace`` steps in the same dtype.  The pixels
themselves are counted and mapped by :mod:`.kernels` (see :mod:`.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_BINS", "MAX_BINS", "Stats", "Binning", "check_bins", "check_dtype", "bin_dtype",
           "kernel_dtype", "block_stats", "selection", "merge_stats", "binning", "bin_of"]

MIN_BINS = 1
MAX_BINS = 65536    # the one upper bound of the API, the command and the viewer


def check_bins(bins):
    """Return ``bins`` as an int if it is a valid number of bins, else raise.

    Parameters
    ----------
    bins : int
        A whole number from :data:`MIN_BINS` to :data:`MAX_BINS` (1 to 65536).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        One line naming the valid range, for anything else (floats, bools,
        numbers out of range).

    Examples
    --------
    >>> check_bins(256)
    256
    >>> check_bins(0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: bins must be a whole number of at least 1 and at most 65536, got 0; ...
    """
    if (isinstance(bins, (bool, np.bool_)) or not isinstance(bins, (int, np.integer))
            or not MIN_BINS <= bins <= MAX_BINS):
        raise ValueError(f"bins must be a whole number of at least {MIN_BINS} and at most "
                         f"{MAX_BINS}, got {bins!r}; use e.g. bins=256")
    return int(bins)


def check_dtype(dtype):
    """Return ``dtype`` (in native byte order) if images of it can be equalized, else raise."""
    dtype = np.dtype(dtype).newbyteorder("=")
    if dtype.kind in "iu" or dtype in (np.float16, np.float32, np.float64):
        return dtype
    if dtype.kind == "b":
        raise ValueError("boolean images cannot be equalized; convert them to uint8 first")
    if dtype.kind == "f":
        raise ValueError(f"{dtype} images are not supported; convert them to float64 first")
    raise ValueError(f"images of dtype {dtype} cannot be equalized; "
                     "use integer or floating point images")


def kernel_dtype(dtype):
    """The dtype pixels of ``dtype`` are handed to the kernels in.

    Float16 becomes float32 (numba computes in float32; every float16 value
    and comparison is exactly the same in float32); integers binned with
    float edges become float64, like ``np.histogram`` does.
    """
    dtype = bin_dtype(dtype)
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def bin_dtype(dtype):
    """The dtype ``np.histogram`` computes bin edges in for data of ``dtype``.

    Floating point data keeps its own type (float32 edges for float32
    images); integer data is binned in float64.
    """
    dtype = np.dtype(dtype)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


@dataclass
class Stats:
    """Per-sample statistics of the pixels that drive a histogram.

    Attributes
    ----------
    lo, hi : ndarray, shape (samples,)
        Minimum and maximum of the selected finite pixels (data dtype).
    n : ndarray of int64, shape (samples,)
        Number of selected finite pixels (0: the sample has none).
    amin, amax : ndarray, shape (samples,)
        Minimum and maximum over all finite pixels, selected or not; integer
        lookup tables must cover these.
    """

    lo: np.ndarray
    hi: np.ndarray
    n: np.ndarray
    amin: np.ndarray
    amax: np.ndarray

    @property
    def empty(self):
        """Samples with no selected finite pixel."""
        return self.n == 0


def _extremes(dtype):
    if dtype.kind == "f":
        return np.array(np.inf, dtype), np.array(-np.inf, dtype)
    info = np.iinfo(dtype)
    return np.array(info.max, dtype), np.array(info.min, dtype)


def block_stats(x, sel=None):
    """Statistics of each row of a block.

    Parameters
    ----------
    x : ndarray, shape (rows, pixels)
        Pixel values.
    sel : ndarray of bool, broadcastable to ``x``, optional
        Pixels that drive the histogram.  Non-finite pixels never do.

    Returns
    -------
    stats : Stats
        One entry per row.
    selection : ndarray of bool or None
        The effective selection (``sel`` and finite), or None when every
        pixel of the block is selected.
    """
    high, low = _extremes(x.dtype)
    amin = x.min(axis=1)
    amax = x.max(axis=1)
    if x.dtype.kind == "f" and not (np.isfinite(amin).all() and np.isfinite(amax).all()):
        finite = np.isfinite(x)
        sel = finite if sel is None else (finite & sel)
        amin = np.min(x, axis=1, where=finite, initial=high)
        amax = np.max(x, axis=1, where=finite, initial=low)
    if sel is None:
        n = np.full(x.shape[0], x.shape[1], dtype=np.int64)
        return Stats(amin, amax, n, amin, amax), None
    sel = np.broadcast_to(sel, x.shape)
    lo = np.min(x, axis=1, where=sel, initial=high)
    hi = np.max(x, axis=1, where=sel, initial=low)
    n = np.count_nonzero(sel, axis=1).astype(np.int64)
    return Stats(lo, hi, n, amin, amax), sel


def selection(x, sel=None):
    """The effective selection of a block: ``sel`` and finite, or None for all."""
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        finite = np.isfinite(x)
        return finite if sel is None else finite & sel
    return None if sel is None else np.broadcast_to(sel, x.shape)


def merge_stats(parts, rows_to_samples, n_samples, dtype):
    """Combine the row statistics of several blocks into per-sample statistics.

    ``parts`` is a list of ``(stats, rows)`` where ``rows`` gives the sample of
    each row of that block.
    """
    high, low = _extremes(np.dtype(dtype))
    lo = np.full(n_samples, high)
    hi = np.full(n_samples, low)
    amin = np.full(n_samples, high)
    amax = np.full(n_samples, low)
    n = np.zeros(n_samples, np.int64)
    for stats, rows in parts:
        samples = rows_to_samples[rows]
        np.minimum.at(lo, samples, stats.lo)
        np.maximum.at(hi, samples, stats.hi)
        np.minimum.at(amin, samples, stats.amin)
        np.maximum.at(amax, samples, stats.amax)
        np.add.at(n, samples, stats.n)
    return Stats(lo, hi, n, amin, amax)


@dataclass
class Binning:
    """Equal-width bins of each sample, exactly as ``np.histogram`` makes them.

    Attributes
    ----------
    lo, hi : ndarray, shape (samples,)
        Range of the selected pixels, in the data dtype.
    first, last : ndarray, shape (samples,)
        Outer edges (a constant sample's value -/+ 0.5), in the kernel dtype
        (:func:`kernel_dtype` of ``dtype``).
    edges : ndarray, shape (samples, bins + 1)
        Bin edges, in ``dtype``.
    lower : ndarray, shape (samples * (bins + 1),)
        Flat table of lower edges (kernel dtype): entry ``sample * (bins + 1)
        + k`` is the lower edge of bin ``k``, and ``inf`` for ``k == bins``;
        the upper edge
        of bin ``k`` is the entry after it (``inf`` for the last bin, which
        includes its right edge).
    dtype : numpy.dtype
        Bin dtype (see :func:`bin_dtype`).
    scale : ndarray, shape (samples,)
        ``bins / (last - first)`` for the first guess of a pixel's bin.
    exact : ndarray of bool, shape (samples,)
        False for samples whose bins are so narrow (a few units in the last
        place of the data) that the guess-and-correct scheme cannot be proven
        to match ``np.histogram``; those samples are counted and mapped with
        NumPy's own routines instead.
    """

    lo: np.ndarray
    hi: np.ndarray
    first: np.ndarray
    last: np.ndarray
    edges: np.ndarray
    lower: np.ndarray
    dtype: np.dtype
    scale: np.ndarray
    exact: np.ndarray

    @property
    def bins(self):
        """Number of bins of every sample (``edges`` has one more column)."""
        return self.edges.shape[1] - 1


def binning(stats, bins, data_dtype):
    """Bin edges for each sample, bit-identical to ``np.histogram(sample, bins)``.

    Parameters
    ----------
    stats : Stats
        Per-sample range of the selected pixels.  Empty samples get the
        placeholder range [0, 1] and are marked exact (nothing is counted
        for them and their result is NaN, whatever their tables hold).
    bins : int
        Number of equal-width bins.
    data_dtype : numpy.dtype
        Dtype of the pixels.

    Returns
    -------
    Binning

    Raises
    ------
    ValueError
        One line, where ``np.histogram`` refuses too: a range whose width
        overflows the bin dtype (``[-1e308, 1e308]`` in float64, where NumPy
        raises "Too many bins", or an IndexError for one bin), or bins so
        many that the edges are not finite and strictly increasing.

    Notes
    -----
    A sample is ``exact`` (binned by the compiled guess-and-correct loop)
    only when its bins are at least 64 ulps wide and its guess factor
    ``scale`` is finite and positive; the others are binned by NumPy itself.
    """
    dt = bin_dtype(data_dtype)
    lo, hi = stats.lo, stats.hi
    if stats.empty.any():
        lo = np.where(stats.empty, 0, lo)
        hi = np.where(stats.empty, 1, hi)
    first = lo.astype(dt)
    last = hi.astype(dt)
    constant = lo == hi
    with np.errstate(over="ignore", invalid="ignore"):
        if constant.any():
            # np.histogram widens a constant sample to [v - 0.5, v + 0.5] in the bin dtype.
            first[constant] -= dt.type(0.5)
            last[constant] += dt.type(0.5)
        # np.linspace(first, last, bins + 1): y = arange * step + start; y[-1] = stop.
        width = last - first
        step = width / dt.type(bins)
        table = np.empty((len(first), bins + 1), dt)
        np.multiply(np.arange(bins + 1, dtype=dt), step[:, np.newaxis], out=table)
        table += first[:, np.newaxis]
    table[:, -1] = last
    _check_edges(stats, bins, dt, width, table)
    edges = table.copy()
    table[:, -1] = np.inf
    magnitude = np.maximum(np.abs(first), np.abs(last))
    guess_dtype = np.float64 if dt == np.float64 else np.float32
    with np.errstate(over="ignore", divide="ignore"):
        scale = (bins / (last.astype(np.float64) - first)).astype(guess_dtype)
        # Bins at least 64 ulps wide: the guess is provably within one bin.
        # (64 ulps of float16's largest values overflow: those samples are not exact.)
        exact = (step >= 64 * np.spacing(magnitude)) & np.isfinite(scale) & (scale > 0)
    if data_dtype.kind in "iu":
        # Integers beyond 2**52 round in float64; only np.histogram repeats its rounding.
        exact &= magnitude < 2.0 ** 52
    # Empty samples: nothing to count, and their result is NaN whatever the map.
    exact |= stats.empty
    # The kernels compare float16 data as float32 (exactly the same order).
    kdt = kernel_dtype(dt)
    return Binning(lo, hi, first.astype(kdt, copy=False), last.astype(kdt, copy=False), edges,
                   table.ravel().astype(kdt, copy=False), dt, scale, exact)


def _check_edges(stats, bins, dt, width, edges):
    """Refuse the ranges and bin counts ``np.histogram`` refuses, in one line.

    Empty samples (no selected finite pixel) are not checked: their
    placeholder range is never used, they come back all NaN.
    """
    wide = ~np.isfinite(width) & ~stats.empty
    if wide.any():
        bad = int(np.flatnonzero(wide)[0])
        raise ValueError(
            f"the values span [{stats.lo[bad]}, {stats.hi[bad]}], a range wider than {dt} "
            f"can hold (np.histogram refuses it too); scale the images down or clip "
            f"their extreme values")
    ok = np.isfinite(edges).all(axis=1) & (edges[:, 1:] > edges[:, :-1]).all(axis=1)
    ok |= stats.empty
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        raise ValueError(
            f"too many bins ({bins}) for the value range [{stats.lo[bad]}, {stats.hi[bad]}] "
            f"in {dt}: the bin edges would not increase; use fewer bins")


def bin_of(values, edges):
    """The bin of each value by the ``edges`` themselves: ``edges[k] <= v < edges[k + 1]``.

    The last bin includes its right edge; values below the first edge get
    bin 0, values above the last (and NaN) the last bin.  This is the bin
    ``np.histogram`` assigns whenever its guess-and-correct step is exact;
    used for samples whose bins are a few ulps wide.
    """
    bins = len(edges) - 1
    k = np.searchsorted(edges, values, side="right") - 1
    return np.clip(k, 0, bins - 1, out=k)
