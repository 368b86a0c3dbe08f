"""Count and map the pixels of a group of samples, for any registered method.

A group's samples (images, or one whole stack) share a :class:`Tables`:
:func:`start` picks its kind from the method and the data, :func:`count`
adds a block of pixels to the histograms, :func:`finish` has the method's
hook turn the counts into a map, and :func:`map_block` equalizes a block
(in float64, or straight into an output dtype).  Three kinds of cells, and
the loops of :mod:`.kernels` for each (or their NumPy twins, see
:mod:`.backend`):

``"bins"``
    Bins of equal width, exactly as ``np.histogram`` makes them
    (:mod:`histeq_gui.core.histogram`): floating point images, and integers
    of wide range for methods that use bins.  The method's map is either
    interpolation nodes (``np.interp``, pixel by pixel in
    ``kernels.map_bins``) or one value per bin (``kernels.map_bin_table``).
``"values"``
    Integers of at most 32 bits with a narrow range: one count per integer
    value (uint8: always all 256); the map is evaluated once per value, as a
    table, and looked up for each pixel.  Node methods (``numpy``) bin the
    values themselves, weighted by their counts, and evaluate their nodes
    at every value; table methods over integer values (``skimage``,
    ``opencv``, ``textbook``; ``imagej`` up to 16 bits: ``Method.by_value``)
    get the counts per value directly.
``"ranks"``
    Table methods over integer values whose range is too wide for a table
    per value (int64 spanning 2**40, where ``equalize_hist`` itself would try
    to allocate a bin per integer): each value is replaced by its rank among
    the distinct values, which gives the same cumulative counts.  (Cells
    carry their float64 value too: ``skimage`` merges the integers beyond
    2**53 that ``equalize_hist``'s ``np.interp`` sees as one float64.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import histogram as hg
from ..methods.base import Cells, Method, Nodes
from . import backend
from .segments import Segments, segments
from .segments import finish as finish_values

__all__ = ["Tables", "TABLE_LIMIT", "start", "counted_first", "value_luts", "stats_from_counts",
           "count",
           "empty_counts", "finish", "map_block", "one_pass_loop", "equalize_each"]

TABLE_LIMIT = 1 << 22   # largest per-value lookup table (entries) of a group
_NOTHING = np.zeros(1)  # stands in for tables a kernel does not use
_NO_SELECTION = np.ones((1, 1), bool)
_NO_WEIGHTS = np.zeros((1, 1), np.int64)


@dataclass
class Tables:
    """Everything needed to count and map the pixels of a group's samples."""

    method: Method
    params: dict
    kind: str                        # "bins", "values" or "ranks"
    mapping: str                     # "nodes" or "table"
    dtype: np.dtype
    bins: int
    stats: hg.Stats
    binning: hg.Binning = None
    counts: np.ndarray = None        # the histogram (per bin) of each sample
    value_counts: np.ndarray = None  # integer kinds: count per value or rank
    nodes: Nodes = None
    segments: Segments = None
    centres: np.ndarray = None       # flat bin centres (kernel dtype), centre-anchored nodes
    lut: np.ndarray = None           # flat output value per integer value or rank
    bin_table: np.ndarray = None     # flat output value per bin (stride bins + 1)
    base: np.ndarray = None
    width: int = 0
    uniq: np.ndarray = None          # sorted distinct values ("ranks"), in the data dtype
    map_exact: np.ndarray = None     # "bins": samples the kernels map (the others: NumPy)
    clamp: bool = True               # pixels may lie outside the counted range
    out_luts: dict = field(default_factory=dict, repr=False)  # lut converted, per out dtype

    @property
    def samples(self):
        """Number of samples (one histogram, one map each)."""
        return len(self.stats.n)

    @property
    def by_value(self):
        """True when the map is a table over integer values (the method ignores bins)."""
        return self.kind != "bins" and self.mapping == "table"


def _value_width(stats):
    return int((stats.amax.astype(np.int64) - stats.amin.astype(np.int64)).max()) + 1


def _choose_kind(method, dtype, stats, pixels_per_sample):
    if dtype.kind == "f":
        return "bins"
    small = dtype.itemsize <= 4 and _value_width(stats) * len(stats.n) <= TABLE_LIMIT
    if method.by_value(dtype):
        return "values" if small else "ranks"
    if method.kind(dtype) == "nodes" and small and _value_width(stats) <= max(
            4096, pixels_per_sample):
        return "values"
    return "bins"


def start(method, params, bins, dtype, stats, pixels_per_sample, distinct):
    """New tables for samples with these statistics.

    ``distinct()`` returns the sorted distinct values of the group; it is
    only called for the "ranks" kind.
    """
    kind = _choose_kind(method, dtype, stats, pixels_per_sample)
    t = Tables(method, params, kind, method.kind(dtype), dtype, bins, stats)
    # Fewer counted pixels than pixels (a mask, NaN): map with clamping.
    t.clamp = bool((stats.n < pixels_per_sample).any())
    if kind == "bins":
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


def counted_first(method, dtype, samples):
    """Statistics for 8-bit integer samples that are counted before their range is known.

    8-bit images are mapped through a table over all 256 values by every
    method that maps integers by value (and by node methods, which evaluate
    their map at each value): then the range pass over the pixels is not
    needed, the range comes from the counts (:func:`stats_from_counts`).
    Returns the placeholder statistics to :func:`start` the tables with (a
    sample spanning the whole dtype), or None when this does not apply.
    """
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu" or dtype.itemsize != 1:
        return None
    info = np.iinfo(dtype)
    low = np.full(samples, info.min, dtype)
    high = np.full(samples, info.max, dtype)
    n = np.ones(samples, np.int64)
    stats = hg.Stats(low, high, n, low, high)
    return stats if _choose_kind(method, dtype, stats, 1) == "values" else None


def value_luts(method, params, bins, dtype, counts):
    """The map of 8-bit samples from their counts per value: one row of 256 outputs per sample.

    ``counts`` is ``(samples, 256)``, value ``dtype.min + k`` in column
    ``k``; ``params`` are resolved (:meth:`Method.resolve_params`).  Row
    ``s`` holds what ``equalize`` (scope "image") gives every pixel of each
    value in an image of those counts: the tables the engine itself builds
    (:func:`start`, :func:`stats_from_counts`, :func:`finish`), so no pixel
    is looked at.  None when the method does not map 8-bit images by value
    (:func:`counted_first`).  Samples need at least one pixel.
    """
    counts = np.ascontiguousarray(counts, np.int64)
    placeholder = counted_first(method, dtype, len(counts))
    if placeholder is None:
        return None
    t = start(method, params, bins, np.dtype(dtype), placeholder, 1, None)
    t = finish(stats_from_counts(t, counts), counts)
    return t.lut.reshape(len(counts), t.width)


def stats_from_counts(t, counts):
    """Set ``t``'s statistics from its counts per value (all pixels counted, no selection).

    The very statistics :func:`histogram.block_stats` gives integer pixels
    with no selection: the smallest and largest value present and the
    number of pixels.
    """
    present = counts > 0
    n = counts.sum(axis=1)
    first = np.argmax(present, axis=1)
    last = t.width - 1 - np.argmax(present[:, ::-1], axis=1)
    info = np.iinfo(t.dtype)
    lo = np.where(n > 0, t.base + first, info.max).astype(t.dtype)
    hi = np.where(n > 0, t.base + last, info.min).astype(t.dtype)
    t.stats = hg.Stats(lo, hi, n, lo, hi)
    return t


def _selection(sel, shape):
    if sel is None:
        return _NO_SELECTION, False
    return np.broadcast_to(sel, shape), True


def _ranks(t, x):
    ranks = np.searchsorted(t.uniq, x, side="right") - 1
    return np.maximum(ranks, 0, out=ranks)


def _kernel_values(t, x):
    """``x`` as the kernels take it: bins in the kernel dtype, ranks as ranks."""
    if t.kind == "bins":
        return np.asarray(x, hg.kernel_dtype(t.dtype))
    if t.kind == "ranks":
        return _ranks(t, x)
    return np.asarray(x)


def count(t, x, sel, samples):
    """Counts of one block ``(rows, pixels)``.

    ``sel`` is the effective selection (see ``histogram.selection``): only
    finite pixels, or None for all pixels.  Returns ``(first, counts)``:
    the counts of samples ``first, first + 1, ...`` (those of the block's
    rows), ``(samples, bins)`` for bins, ``(samples, width)`` per value (or
    rank) otherwise.
    """
    xk = _kernel_values(t, x)
    sel_k, use_sel = _selection(sel, x.shape)
    first, n = int(samples.min()), int(samples.max() - samples.min()) + 1
    if t.kind != "bins":
        counts = np.zeros(n * t.width, np.int64)
        _kernels(t).count_values(use_sel)(xk, sel_k, samples, t.base, t.width,
                                          first * t.width, counts)
        return first, counts.reshape(n, t.width)
    b = t.binning
    stride = b.bins + 1
    counts = np.zeros(n * stride, np.int64)
    _kernels(t).count_bins(use_sel, False)(xk, sel_k, samples, b.exact, b.first, b.scale,
                                           b.lower, stride, first * stride, _NO_WEIGHTS, counts)
    counts = counts.reshape(n, stride)[:, :-1]
    for s in np.flatnonzero(~b.exact[first:first + n]) + first:
        for r in np.flatnonzero(samples == s):
            keep = np.isfinite(x[r]) & (sel_k[r] if use_sel else True)
            counts[s - first] += _numpy_counts(x[r][keep], b, s)
    return first, counts


def empty_counts(t):
    """Zero counts for all samples of ``t``, to add the blocks' counts to."""
    return np.zeros((t.samples, t.width if t.kind != "bins" else t.binning.bins), np.int64)


def _numpy_counts(values, b, s):
    # Bins a few ulps wide: np.histogram itself; with range=(min, max) it does
    # exactly what it does without one.
    return np.histogram(values, b.bins, range=(b.lo[s], b.hi[s]))[0]


# ---------------------------------------------------------------- from counts to a map


def _check_table(t, table, width):
    table = np.asarray(table, np.float64)
    if table.shape != (t.samples, width):
        raise ValueError(f"the {t.method.name} method's table has shape {table.shape}, "
                         f"expected {(t.samples, width)}")
    return table


def _node_map(t, nodes):
    """Segments (and centres) of a method's nodes over bins; which samples kernels map."""
    t.nodes = nodes
    t.segments = segments(nodes)
    finite = np.isfinite(nodes.xp).all(axis=1) & t.segments.finite(t.samples)
    if nodes.anchor == "centre":
        # The nodes are the centres in float64, exactly; the kernels compare in their dtype.
        centres = np.concatenate([nodes.xp, nodes.xp[:, -1:]], axis=1)
        t.centres = centres.ravel().astype(hg.kernel_dtype(t.dtype))
    t.map_exact = (t.binning.exact & finite) | t.stats.empty


def _bins_map(t, counts):
    t.counts = counts
    b = t.binning
    if t.mapping == "nodes":
        _node_map(t, t.method.nodes(counts, b.edges, t.dtype, t.params))
        return
    cells = Cells(counts, np.arange(b.bins, dtype=np.float64)[np.newaxis], float(b.bins),
                  False, t.dtype, b.edges[:, :-1].astype(np.float64))
    table = _check_table(t, t.method.table(cells, t.params), b.bins)
    padded = np.zeros((t.samples, b.bins + 1))
    padded[:, :-1] = table
    t.bin_table = padded.ravel()
    t.map_exact = b.exact | t.stats.empty


def _levels(dtype):
    return float(2 ** (8 * dtype.itemsize))


def _exact_levels(values, dtype):
    """``value - dtype minimum`` as float64, rounded once (int64 spans 2**64)."""
    if dtype == np.int64:
        return (values.view(np.uint64) ^ np.uint64(1 << 63)).astype(np.float64)
    if dtype == np.uint64:
        return values.astype(np.float64)
    return (values.astype(np.int64) - int(np.iinfo(dtype).min)).astype(np.float64)


def _value_table(t, counts):
    """A table method's output per integer value (or rank)."""
    if t.kind == "values":
        # One row for all samples when they share their first value (8-bit: always).
        base = t.base[:1] if (t.base == t.base[0]).all() else t.base
        grid = base[:, np.newaxis] + np.arange(t.width)
        level = (grid - int(np.iinfo(t.dtype).min)).astype(np.float64)
        value = grid.astype(np.float64)
    else:
        level = _exact_levels(t.uniq, t.dtype)[np.newaxis]
        value = t.uniq.astype(np.float64)[np.newaxis]
    cells = Cells(counts, level, _levels(t.dtype), True, t.dtype, value)
    return _check_table(t, t.method.table(cells, t.params), t.width).ravel()


def _nodes_at_values(t, counts):
    """A node method on integers: bin the values (weighted), evaluate the map at each value.

    This is what the pixels themselves would give: the integer values are
    binned as pixels are (``count_bins`` weighted by how often each value
    occurs), the method's nodes come from those counts, and the map is
    evaluated once per value (``map_bins``, clamped as pixels are).
    """
    b = t.binning = hg.binning(t.stats, t.bins, t.dtype)
    samples = np.arange(t.samples)
    grid = t.base[:, np.newaxis].astype(np.float64) + np.arange(t.width, dtype=np.float64)
    stride = b.bins + 1
    binned = np.zeros(t.samples * stride, np.int64)
    _kernels(t).count_bins(False, True)(grid, _NO_SELECTION, samples, b.exact, b.first, b.scale,
                                        b.lower, stride, 0, counts, binned)
    binned = binned.reshape(t.samples, stride)[:, :-1]
    for s in np.flatnonzero(~b.exact):
        # Bins a few ulps wide: np.histogram itself.
        binned[s] = _numpy_counts(np.repeat(grid[s], counts[s]), b, s)
    t.counts = binned
    _node_map(t, t.method.nodes(binned, b.edges, t.dtype, t.params))
    lut = np.empty(grid.shape)
    _map_nodes(t, grid, samples, lut, clamp=True)
    t.lut = lut.ravel()


def finish(t, counts):
    """Turn a group's counts into the method's map: nodes and segments, or a table."""
    if t.kind == "bins":
        _bins_map(t, counts)
        return t
    t.value_counts = counts
    if t.mapping == "table":
        t.lut = _value_table(t, counts)
    else:
        _nodes_at_values(t, counts)
    return t


# ----------------------------------------------------------------------- mapping pixels


def _map_nodes(t, x, samples, out, clamp):
    b, seg = t.binning, t.segments
    centred = t.centres is not None
    _kernels(t).map_bins(centred, clamp)(
        np.asarray(x, hg.kernel_dtype(t.dtype)), samples, t.map_exact, b.first, b.last,
        b.scale, b.lower, b.bins + 1, t.centres if centred else _NOTHING.astype(b.lower.dtype),
        seg.start if centred else _NOTHING, seg.slope, seg.value, t.nodes.scale, out)
    if t.nodes.rounding != np.float64:
        # scikit-image returns float32 for float32 images.
        out[...] = out.astype(t.nodes.rounding)
    for s in np.flatnonzero(~t.map_exact):
        # Bins a few ulps wide, or nodes not finite: np.interp itself maps these samples.
        for r in np.flatnonzero(samples == s):
            row = np.clip(x[r], b.first[s], b.last[s])
            values = finish_values(np.interp(row, t.nodes.xp[s], t.nodes.fp[s]), t.nodes)
            values[~np.isfinite(x[r])] = np.nan
            out[r] = values


def _map_bin_table(t, x, samples, out, clamp):
    b = t.binning
    _kernels(t).map_bin_table(clamp)(np.asarray(x, hg.kernel_dtype(t.dtype)), samples,
                                     t.map_exact, b.first, b.last, b.scale, b.lower, b.bins + 1,
                                     t.bin_table, out)
    for s in np.flatnonzero(~t.map_exact):
        # Bins a few ulps wide: each pixel's bin from the edges themselves.
        table = t.bin_table.reshape(t.samples, -1)[s]
        for r in np.flatnonzero(samples == s):
            k = hg.bin_of(x[r], b.edges[s])
            values = table[k]
            values[~np.isfinite(x[r])] = np.nan
            out[r] = values


def _output_lut(t, dtype, convert):
    """The lookup table converted once to the output ``dtype`` (kept per dtype)."""
    lut = t.out_luts.get(dtype)
    if lut is None:
        lut = np.ascontiguousarray(convert(t.lut), dtype)
        if lut.shape != t.lut.shape:
            raise ValueError(f"converting a table of shape {t.lut.shape} gave {lut.shape}")
        t.out_luts[dtype] = lut
    return lut


def map_block(t, x, samples, out, clamp=None, convert=None):
    """Equalized values of one block ``(rows, pixels)``, written into ``out``.

    ``clamp`` (default: ``t.clamp``) must be True when the block may hold
    values outside the counted range, or non-finite values.

    ``convert`` (with an ``out`` of another dtype than float64) turns
    equalized float64 values into ``out``'s dtype, element by element (the
    export's ``convert``).  Integer tables ("values", "ranks") are then
    converted once and every pixel is looked up straight into ``out``, with
    no float64 value per pixel; bins are mapped to float64 a block at a time
    and converted.  Either way ``out`` holds ``convert`` of what ``out``
    would hold in float64, exactly.
    """
    clamp = t.clamp if clamp is None else clamp
    if convert is not None and out.dtype != np.float64:
        if t.kind == "bins":
            values = map_block(t, x, samples, np.empty(x.shape), clamp)
            out[...] = convert(values)
            return out
        lut = _output_lut(t, out.dtype, convert)
        _kernels(t).map_values()(_kernel_values(t, x), samples, t.base, t.width, lut, out)
        empty = t.stats.empty[samples]
        if empty.any():
            out[empty] = convert(np.full(1, np.nan))[0]
        return out
    if t.kind != "bins":
        _kernels(t).map_values()(_kernel_values(t, x), samples, t.base, t.width, t.lut, out)
    elif t.mapping == "nodes":
        _map_nodes(t, x, samples, out, clamp)
    else:
        _map_bin_table(t, x, samples, out, clamp)
    empty = t.stats.empty[samples]
    if empty.any():
        out[empty] = np.nan
    return out


def _kernels(t):
    """The per-pixel loops for ``t``'s pixels: compiled or NumPy (see :mod:`.backend`)."""
    return backend.kernels_for(t.dtype)


# ------------------------------------------------------------- one pass per 8-bit image


def one_pass_loop(method, dtype, masked):
    """The loop with which each image of ``dtype`` takes one compiled pass, or None.

    8-bit integer images without a mask, mapped by value (a "values" table
    over all 256 values: counted first, see :func:`counted_first`), by a
    method whose hook for them has a compiled loop
    (:class:`~histeq_gui.core.methods.base.RowLoop`), when the compiled
    loops run for ``dtype`` (:mod:`.backend`; the NumPy ones use the hooks).
    """
    dtype = np.dtype(dtype)
    if masked or dtype.kind not in "iu" or dtype.itemsize != 1 or not backend.compiled(dtype):
        return None
    kind = method.kind(dtype)
    loop = method.table_loop if kind == "table" else method.nodes_loop if kind == "nodes" \
        else None
    if loop is None or counted_first(method, dtype, 1) is None:
        return None
    return loop


def equalize_each(method, loop, params, bins, x, out):
    """Equalize each row (image) of ``x`` into ``out`` in one compiled pass.

    ``loop`` is :func:`one_pass_loop`'s; ``out`` a C-contiguous array of
    the output dtype (float64, float32, or an integer type of at most 16
    bits), which gets exactly what :func:`map_block` gives with the
    export's ``convert``.

    Returns
    -------
    ndarray of bool
        Per row: True if equalized; False for a row whose nodes are not all
        finite (left for the tables and ``np.interp``).
    """
    from . import kernels

    x = np.ascontiguousarray(x)
    to_int = out.dtype.kind in "iu"
    low, high = (float(np.iinfo(out.dtype).min), float(np.iinfo(out.dtype).max)) if to_int \
        else (0.0, 1.0)
    args = np.array(loop.args(params), np.float64)
    ok = np.ones(len(x), bool)
    if method.kind(x.dtype) == "table":
        kernel = kernels.equalize_table_each(x.dtype.name, out.dtype.name)
        kernel(x, out, kernels.compiled_loop(loop.function, "table"), args,
               float(1 << (8 * x.dtype.itemsize)), low, high, to_int)
    else:
        kernel = kernels.equalize_nodes_each(x.dtype.name, out.dtype.name)
        kernel(x, out, kernels.compiled_loop(loop.function, "nodes"), args, int(bins),
               float(loop.scale), low, high, to_int, ok)
    return ok
