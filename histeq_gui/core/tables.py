"""Count and map the pixels of a group of samples with one kind of table.

A group's samples (images, or one whole stack) share a :class:`Tables`:
:func:`start` picks its kind from the data, :func:`count` adds a block of
pixels to the histograms, :func:`finish` turns the counts into the method's
map, and :func:`map_block` equalizes a block.  Three kinds implement both
methods exactly:

``"float"``
    Bins of equal width (:mod:`.histogram`) and ``np.interp`` over the
    method's nodes (:mod:`.methods`), pixel by pixel in :mod:`.kernels`:
    floating point images, and the numpy method on integers of wide range.
``"values"``
    Integers of at most 32 bits with a narrow range: one count per integer
    value; the map is evaluated once per value and looked up for each pixel.
``"ranks"``
    scikit-image on integers whose range is too wide for a table per value
    (int64 spanning 2**40, where ``equalize_hist`` itself would try to
    allocate a bin per integer): each value is replaced by its rank among the
    distinct values, which gives the same counts and the same result.  The
    values are ranked as float64, as ``equalize_hist`` interpolates them:
    integers beyond 2**53 that round to the same float64 share a rank (and
    so the CDF value of the largest of them), exactly as they do there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import histogram as hg
from . import kernels
from . import methods as mt

__all__ = ["Tables", "start", "count", "empty_counts", "finish", "map_block"]

TABLE_LIMIT = 1 << 22   # largest per-value lookup table (entries) of a group
_NOTHING = np.zeros(1)  # stands in for tables a kernel does not use
_NO_SELECTION = np.ones((1, 1), bool)


@dataclass
class Tables:
    """Everything needed to count and map the pixels of a group's samples."""

    method: str
    kind: str
    dtype: np.dtype
    bins: int
    stats: hg.Stats
    binning: hg.Binning = None
    counts: np.ndarray = None        # the histogram (per bin) of each sample
    value_counts: np.ndarray = None  # integer kinds: count per value or rank
    nodes: mt.Nodes = None
    segments: mt.Segments = None
    centres: np.ndarray = None       # flat bin centres (kernel dtype), skimage on floats
    lut: np.ndarray = None           # flat equalized value per integer value or rank
    base: np.ndarray = None
    width: int = 0
    uniq: np.ndarray = None          # sorted distinct values ("ranks")
    map_exact: np.ndarray = None     # float kind: samples the kernels map (see _float_map)
    clamp: bool = True               # pixels may lie outside the counted range

    @property
    def samples(self):
        return len(self.stats.n)


def _value_width(stats):
    return int((stats.amax.astype(np.int64) - stats.amin.astype(np.int64)).max()) + 1


def _choose_kind(method, dtype, stats, pixels_per_sample):
    if dtype.kind == "f":
        return "float"
    small = dtype.itemsize <= 4 and _value_width(stats) * len(stats.n) <= TABLE_LIMIT
    if method == "skimage":
        return "values" if small else "ranks"
    if small and _value_width(stats) <= max(4096, pixels_per_sample):
        return "values"
    return "float"


def start(method, bins, dtype, stats, pixels_per_sample, distinct):
    """New tables for samples with these statistics.

    ``distinct()`` returns the sorted distinct values of the group as
    float64; it is only called for the "ranks" kind.
    """
    kind = _choose_kind(method, dtype, stats, pixels_per_sample)
    t = Tables(method, kind, dtype, bins, stats)
    # Fewer counted pixels than pixels (a mask, NaN): map with clamping.
    t.clamp = bool((stats.n < pixels_per_sample).any())
    if kind == "float":
        t.binning = hg.binning(stats, bins, dtype)
    elif kind == "values" and dtype.itemsize == 1:
        # Every value of the dtype: the kernels then check no pixel.
        t.base = np.full(t.samples, np.iinfo(dtype).min, np.int64)
        t.width = 256
    elif kind == "values":
        t.base = stats.amin.astype(np.int64)
        t.width = _value_width(stats)
    else:
        t.uniq = distinct()
        t.base = np.zeros(t.samples, np.int64)
        t.width = len(t.uniq)
    return t


def _selection(sel, shape):
    if sel is None:
        return _NO_SELECTION, False
    return np.broadcast_to(sel, shape), True


def _ranks(t, x):
    ranks = np.searchsorted(t.uniq, np.asarray(x, np.float64), side="right") - 1
    return np.maximum(ranks, 0, out=ranks)


def _kernel_values(t, x):
    """``x`` as the kernels take it: float kinds in the kernel dtype, ranks as ranks."""
    if t.kind == "float":
        return np.asarray(x, hg.kernel_dtype(t.dtype))
    if t.kind == "ranks":
        return _ranks(t, x)
    return np.asarray(x)


def count(t, x, sel, samples):
    """Counts of one block ``(rows, pixels)``.

    ``sel`` is the effective selection (see ``histogram.selection``): only
    finite pixels, or None for all pixels.  Returns ``(first, counts)``:
    the counts of samples ``first, first + 1, ...`` (those of the block's
    rows), ``(samples, bins)`` for the float kind, ``(samples, width)`` per
    value (or rank) otherwise.
    """
    xk = _kernel_values(t, x)
    sel_k, use_sel = _selection(sel, x.shape)
    first, n = int(samples.min()), int(samples.max() - samples.min()) + 1
    if t.kind != "float":
        counts = np.zeros(n * t.width, np.int64)
        kernels.count_values(use_sel)(xk, sel_k, samples, t.base, t.width, first * t.width,
                                      counts)
        return first, counts.reshape(n, t.width)
    b = t.binning
    stride = b.bins + 1
    counts = np.zeros(n * stride, np.int64)
    kernels.count_bins(use_sel)(xk, sel_k, samples, b.exact, b.first, b.scale, b.lower, stride,
                                first * stride, counts)
    counts = counts.reshape(n, stride)[:, :-1]
    for s in np.flatnonzero(~b.exact[first:first + n]) + first:
        for r in np.flatnonzero(samples == s):
            keep = np.isfinite(x[r]) & (sel_k[r] if use_sel else True)
            counts[s - first] += _numpy_counts(x[r][keep], b, s)
    return first, counts


def empty_counts(t):
    """Zero counts for all samples of ``t``, to add the blocks' counts to."""
    return np.zeros((t.samples, t.width if t.kind != "float" else t.binning.bins), np.int64)


def _numpy_counts(values, b, s):
    # Bins a few ulps wide: np.histogram itself; with range=(min, max) it does
    # exactly what it does without one.
    return np.histogram(values, b.bins, range=(b.lo[s], b.hi[s]))[0]


def _float_map(t, counts):
    t.counts = counts
    edges = t.binning.edges
    if t.method == "numpy":
        t.nodes = mt.numpy_nodes(counts, edges)
    else:
        t.nodes = mt.skimage_nodes(counts, edges, t.dtype)
        # The nodes are the centres in float64, exactly; the kernels compare in their dtype.
        centres = np.concatenate([t.nodes.xp, t.nodes.xp[:, -1:]], axis=1)
        t.centres = centres.ravel().astype(hg.kernel_dtype(t.dtype))
    t.segments = mt.segments(t.nodes, left_edges=t.method == "numpy")
    # np.interp has fallbacks for non-finite slopes (bins a few subnormals
    # wide, centres that overflow near the largest float): samples whose
    # nodes or segments are not all finite are mapped by np.interp itself.
    seg = t.segments
    finite = (np.isfinite(t.nodes.xp).all(axis=1)
              & np.isfinite(seg.slope.reshape(t.samples, -1)).all(axis=1)
              & np.isfinite(seg.value.reshape(t.samples, -1)).all(axis=1))
    t.map_exact = (t.binning.exact & finite) | t.stats.empty


def finish(t, counts):
    """Turn a group's counts into the method's map (nodes and segments, or a table)."""
    if t.kind == "float":
        _float_map(t, counts)
        return t
    t.value_counts = counts
    first = np.argmax(counts > 0, axis=1)
    if t.method == "skimage":
        t.lut = mt.skimage_value_cdf(counts, first).ravel()
        return t
    # The seed recipe on integers: bin the integer values themselves, each
    # weighted by how often it occurs, and evaluate the map once per value.
    b = t.binning = hg.binning(t.stats, t.bins, t.dtype)
    binned = np.empty((t.samples, b.bins), np.int64)
    fp = np.empty((t.samples, b.bins))
    lut = np.empty(counts.shape)
    kernels.seed_value_map(counts, t.base, b.exact, b.first, b.last, b.scale, b.lower, b.edges,
                           binned, fp, lut)
    xp = b.edges[:, :-1]
    for s in np.flatnonzero(~b.exact):
        # Bins a few ulps wide: np.histogram and np.interp themselves.
        grid = t.base[s] + np.arange(t.width, dtype=np.float64)
        binned[s] = _numpy_counts(np.repeat(grid, counts[s]), b, s)
        mt.seed_cdf(binned[s], b.edges[s], fp[s])
        lut[s] = np.interp(np.clip(grid, b.first[s], b.last[s]), xp[s], fp[s]) / 255
    t.counts, t.nodes, t.lut = binned, mt.Nodes(xp, fp, 255.0), lut.ravel()
    return t


def _map_float(t, x, samples, out, clamp):
    b, seg = t.binning, t.segments
    centred = t.centres is not None
    kernels.map_bins(centred, clamp)(
        np.asarray(x, hg.kernel_dtype(t.dtype)), samples, t.map_exact, b.first, b.last, b.scale,
        b.lower, b.bins + 1, t.centres if centred else _NOTHING.astype(b.lower.dtype),
        seg.start if centred else _NOTHING, seg.slope, seg.value, t.nodes.scale, out)
    if t.nodes.rounding != np.float64:
        # scikit-image returns float32 for float32 images.
        out[...] = out.astype(t.nodes.rounding)
    for s in np.flatnonzero(~t.map_exact):
        # Bins a few ulps wide, or nodes not finite: np.interp itself maps these samples.
        for r in np.flatnonzero(samples == s):
            row = np.clip(x[r], b.first[s], b.last[s])
            values = mt.finish(np.interp(row, t.nodes.xp[s], t.nodes.fp[s]), t.nodes)
            values[~np.isfinite(x[r])] = np.nan
            out[r] = values


def map_block(t, x, samples, out, clamp=None):
    """Equalized values of one block ``(rows, pixels)``, written into ``out``.

    ``clamp`` (default: ``t.clamp``) must be True when the block may hold
    values outside the counted range, or non-finite values.
    """
    clamp = t.clamp if clamp is None else clamp
    if t.kind == "float":
        _map_float(t, x, samples, out, clamp)
    else:
        kernels.map_values()(_kernel_values(t, x), samples, t.base, t.width, t.lut, out)
    empty = t.stats.empty[samples]
    if empty.any():
        out[empty] = np.nan
    return out
