"""Equalize whole stacks at once: :func:`equalize`, :func:`histogram`, :class:`Histogram`.

The stack is seen as a 2-D array with one row per image and channel, cut into
blocks that fit in the CPU cache; blocks run on a small thread pool (NumPy
releases the GIL inside its loops).  A *group* is a set of rows whose
histograms are built together: a block of whole images for ``scope="image"``
(each row its own sample, one pass), or every row of a channel for
``scope="stack"`` and for images too big for one block (one sample; the blocks
are visited for the range, for the counts and for the mapping).

Three kinds of table implement both methods exactly:

``"float"``
    Per-pixel binning (:mod:`.histogram`) and interpolation
    (:func:`.methods.interpolate`): floating point images, and the numpy
    method on integers with a wide value range.
``"values"``
    Integers with a narrow range: one count per integer value, the map
    evaluated once per value and looked up for each pixel.
``"ranks"``
    scikit-image on integers whose range is too wide for a table per value
    (int64 spanning 2**40, where ``equalize_hist`` itself would try to
    allocate a bin per integer): each value is replaced by its rank among the
    distinct values, which gives the same counts and the same result.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import histogram as hg
from . import methods as mt
from .stack import as_channels_first, from_channels_first, guess_layout

__all__ = ["SCOPES", "check_scope", "equalize", "histogram", "Histogram"]

SCOPES = ("image", "stack")
_BLOCK = 1 << 15        # pixels per block: a block's temporaries stay in the L2 cache
_TABLE_LIMIT = 1 << 22  # largest per-value lookup table (entries) of a group

_pool_lock = threading.Lock()
_pool = None


def _workers():
    return min(8, os.cpu_count() or 1)


def _executor():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_workers(), thread_name_prefix="histeq-core")
        return _pool


def _run(function, items, tick=None):
    """``[function(item) for item in items]`` on the thread pool, in waves.

    ``tick(n)`` is called in the calling thread after every wave of ``n``
    items, so a progress callback can report and raise to cancel.
    """
    items = list(items)
    results = []
    wave = 2 * _workers()
    serial = _workers() < 2 or len(items) < 2
    for i in range(0, len(items), 1 if serial else wave):
        batch = items[i:i + (1 if serial else wave)]
        if serial:
            results.append(function(batch[0]))
        else:
            results.extend(_executor().map(function, batch))
        if tick is not None:
            tick(len(batch))
    return results


def check_scope(scope):
    """Return ``scope`` if valid, else raise a ValueError."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; choose 'image' (each image its own "
                         "histogram) or 'stack' (one histogram for the whole stack)")
    return scope


# ---------------------------------------------------------------- groups and blocks


@dataclass
class _Group:
    """Rows ``r0:r1`` of the 2-D stack; ``per_row``: each row is its own sample."""

    r0: int
    r1: int
    per_row: bool
    blocks: list

    @property
    def fused(self):
        """One block whose rows are the samples: it can be done in one pass."""
        return self.per_row and len(self.blocks) == 1

    @property
    def n_samples(self):
        return self.r1 - self.r0 if self.per_row else 1

    def samples(self, r0, r1):
        if self.per_row:
            return np.arange(r0 - self.r0, r1 - self.r0)
        return np.zeros(r1 - r0, np.intp)


def _blocks(r0, r1, pixels):
    """Blocks ``(r0, r1, c0, c1)`` covering rows r0:r1 of ``pixels`` columns."""
    if pixels >= _BLOCK:
        return [(r, r + 1, c, min(c + _BLOCK, pixels))
                for r in range(r0, r1) for c in range(0, pixels, _BLOCK)]
    step = max(1, _BLOCK // max(pixels, 1))
    return [(r, min(r + step, r1), 0, pixels) for r in range(r0, r1, step)]


def _groups(rows, pixels, scope, rows_per_channel):
    if scope == "stack":
        return [_Group(c, c + rows_per_channel, False, _blocks(c, c + rows_per_channel, pixels))
                for c in range(0, rows, rows_per_channel)]
    if pixels >= _BLOCK:
        return [_Group(r, r + 1, False, _blocks(r, r + 1, pixels)) for r in range(rows)]
    return [_Group(b[0], b[1], True, [b]) for b in _blocks(0, rows, pixels)]


class _Source:
    """A 2-D view of the pixels (rows, pixels) and of the mask, block by block."""

    def __init__(self, x2, mask2=None):
        self.x2 = x2
        self.mask2 = mask2

    def block(self, b):
        r0, r1, c0, c1 = b
        sel = None if self.mask2 is None else self.mask2[r0:r1, c0:c1]
        return self.x2[r0:r1, c0:c1], sel


# --------------------------------------------------------------------------- tables


@dataclass
class _Tables:
    """Everything needed to map the pixels of a group's samples."""

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
    centres: np.ndarray = None       # flat bin centres, skimage on floats
    lut: np.ndarray = None           # flat equalized value per integer value
    base: np.ndarray = None
    width: int = 0
    uniq: np.ndarray = None          # sorted distinct values ("ranks")

    @property
    def samples(self):
        return len(self.stats.n)


def _value_width(stats):
    return int((stats.amax.astype(np.int64) - stats.amin.astype(np.int64)).max()) + 1


def _choose_kind(method, dtype, stats, pixels_per_sample):
    if dtype.kind == "f":
        return "float"
    small = dtype.itemsize <= 4 and _value_width(stats) * len(stats.n) <= _TABLE_LIMIT
    if method == "skimage":
        return "values" if small else "ranks"
    if small and _value_width(stats) <= max(4096, pixels_per_sample):
        return "values"
    return "float"


def _start(method, bins, dtype, stats, kind, uniq=None):
    t = _Tables(method, kind, dtype, bins, stats)
    if kind == "float":
        t.binning = hg.binning(stats, bins, dtype)
    elif kind == "values":
        t.base = stats.amin
        t.width = _value_width(stats)
    else:
        t.base = np.zeros(t.samples, np.int64)
        t.uniq = uniq
        t.width = len(uniq)
    return t


def _float_values(x, b, samples, clamp):
    """Pixels in the bin dtype, clamped into each sample's outer edges if asked.

    Outside the nodes ``np.interp`` is constant at the end values, so
    clamping changes no result; non-finite pixels go to the first edge (their
    result is set to NaN afterwards).
    """
    if not clamp and x.dtype == b.dtype:
        return x
    xf = hg.workspace.get("xf", x.shape, b.dtype)
    if not clamp:
        np.copyto(xf, x, casting="unsafe")
        return xf
    rows = samples[:, np.newaxis]
    np.clip(x, b.first[rows], b.last[rows], out=xf, casting="unsafe")
    if x.dtype.kind == "f":
        np.copyto(xf, b.first[rows], where=~np.isfinite(x))
    return xf


def _keys(x, t, samples, clip=False):
    if t.kind == "ranks":
        ranks = np.searchsorted(t.uniq, x, side="right") - 1
        np.maximum(ranks, 0, out=ranks)
        ranks += (samples * t.width)[:, np.newaxis]
        return ranks
    return hg.value_keys(x, t.base, samples, t.width, clip=clip)


def _count(t, x, sel, samples):
    """Counts of one block, and what mapping the same block can reuse."""
    if t.kind == "float":
        xf = _float_values(x, t.binning, samples, clamp=sel is not None)
        counts, bins = hg.count_bins(xf, sel, samples, t.binning, t.samples, scratch=True)
        return counts, (xf, *bins)
    keys = _keys(x, t, samples)
    return hg.count_values(keys, sel, t.samples, t.width), keys


def _interp_tables(t, counts):
    t.counts = counts
    edges = t.binning.edges
    if t.method == "numpy":
        t.nodes = mt.numpy_nodes(counts, edges)
    else:
        t.nodes = mt.skimage_nodes(counts, edges, t.dtype)
        centres = (edges[:, :-1] + edges[:, 1:]) / 2.0
        t.centres = np.concatenate([centres, centres[:, -1:]], axis=1).ravel()
    t.segments = mt.segments(t.nodes, left_edges=t.method == "numpy")


def _finish(t, counts):
    """Turn a group's counts into nodes and segments, or a lookup table."""
    if t.kind == "float":
        _interp_tables(t, counts)
        return t
    t.value_counts = counts
    first = np.argmax(counts > 0, axis=1)
    if t.method == "skimage":
        t.lut = mt.skimage_value_cdf(counts, first)
    else:
        # The seed recipe on integers: bin the integer values themselves, each
        # weighted by how often it occurs, and evaluate the map once per value.
        samples = np.arange(t.samples)
        grid = (t.base.astype(np.float64)[:, np.newaxis]
                + np.arange(t.width, dtype=np.float64)[np.newaxis, :])
        t.binning = b = hg.binning(t.stats, t.bins, t.dtype)
        grid = np.clip(grid, b.first[:, np.newaxis], b.last[:, np.newaxis])
        index, lower = hg.bin_index(grid, samples, b)
        stride = b.bins + 1
        binned = np.bincount(index.ravel(), weights=counts.ravel().astype(np.float64),
                             minlength=t.samples * stride)
        binned = binned.reshape(t.samples, stride)[:, :-1].astype(np.int64)
        for s in np.flatnonzero(~b.exact):
            values = np.repeat(grid[s], counts[s])
            binned[s] = np.histogram(values, b.bins, range=(b.lo[s], b.hi[s]))[0]
        _interp_tables(t, binned)
        t.lut = _interpolate(t, grid, index, lower, samples, np.empty(grid.shape))
    t.lut[t.stats.empty] = np.nan
    t.lut = t.lut.ravel()
    return t


def _interpolate(t, xf, index, lower, samples, out):
    """The map of the float kind, given each pixel's bin and its lower edge."""
    scratch = hg.workspace.get("scratch", xf.shape, np.float64)
    if t.centres is None:
        # Left-edge nodes: the pixel's bin is its segment and starts at its lower edge.
        out = mt.interpolate(xf, index, t.segments, t.nodes, lower, out, scratch)
    else:
        # Centre nodes: segment = bin + 1, or the bin itself left of its centre.
        left = np.greater(np.take(t.centres, index, mode="wrap", out=lower), xf,
                          out=hg.workspace.get("left", xf.shape, bool))
        index += 1
        index -= left
        out = mt.interpolate(xf, index, t.segments, t.nodes, out=out, scratch=scratch)
    for s in np.flatnonzero(~t.binning.exact):
        # Bins a few ulps wide: let np.interp itself do these samples.
        for r in np.flatnonzero(samples == s):
            out[r] = mt.finish(np.interp(xf[r], t.nodes.xp[s], t.nodes.fp[s]), t.nodes)
    return out


def _map(t, x, samples, out, reuse=None, all_finite=False):
    """Equalized values of one block of pixels, written into ``out`` (float64).

    Non-finite pixels come out NaN; ``all_finite`` says the caller knows
    there are none.
    """
    if t.kind != "float":
        keys = reuse if reuse is not None else _keys(x, t, samples, clip=True)
        return np.take(t.lut, keys, mode="wrap", out=out)
    if reuse is None:
        xf = _float_values(x, t.binning, samples, clamp=True)
        reuse = (xf, *hg.bin_index(xf, samples, t.binning, scratch=True))
    _interpolate(t, *reuse, samples, out)
    if x.dtype.kind == "f" and not all_finite:
        finite = np.isfinite(x)
        if not finite.all():
            out[~finite] = np.nan
    empty = t.stats.empty[samples]
    if empty.any():
        out[empty] = np.nan
    return out


# ------------------------------------------------------------------ running a group


def _group_stats(source, group, tick):
    parts = _run(lambda b: (hg.block_stats(*source.block(b))[0], b), group.blocks, tick)
    samples_of_row = np.zeros(source.x2.shape[0], np.intp)
    samples_of_row[group.r0:group.r1] = group.samples(group.r0, group.r1)
    merged = [(stats, np.arange(b[0], b[1])) for stats, b in parts]
    return hg.merge_stats(merged, samples_of_row, group.n_samples, source.x2.dtype)


def _distinct(source, group, tick=None):
    parts = _run(lambda b: np.unique(source.block(b)[0]), group.blocks, tick)
    return np.unique(np.concatenate(parts))


def _tables(source, group, method, bins, tick=None):
    """Build the tables of a group by visiting its blocks (range, then counts)."""
    stats = _group_stats(source, group, tick)
    pixels = source.x2.shape[1] * (1 if group.per_row else group.r1 - group.r0)
    kind = _choose_kind(method, source.x2.dtype, stats, pixels)
    uniq = _distinct(source, group) if kind == "ranks" else None
    t = _start(method, bins, source.x2.dtype, stats, kind, uniq)

    def count(b):
        x, sel = source.block(b)
        if kind == "float" and x.dtype.kind == "f":
            sel = hg.block_stats(x, sel)[1] if sel is not None or \
                not np.isfinite(x).all() else None
        return _count(t, x, sel, group.samples(b[0], b[1]))[0]

    counts = sum(_run(count, group.blocks, tick))
    return _finish(t, counts)


def _equalize_group(source, group, method, bins, out, tick=None):
    """Equalize one group into ``out`` (rows, pixels)."""
    if group.fused:
        # One block of whole images: range, counts and mapping in one go.
        b = group.blocks[0]
        x, sel = source.block(b)
        stats, sel = hg.block_stats(x, sel)
        samples = group.samples(b[0], b[1])
        kind = _choose_kind(method, x.dtype, stats, x.shape[1])
        uniq = np.unique(x) if kind == "ranks" else None
        t = _start(method, bins, x.dtype, stats, kind, uniq)
        counts, reuse = _count(t, x, sel, samples)
        _finish(t, counts)
        _map(t, x, samples, out[b[0]:b[1], b[2]:b[3]], reuse, all_finite=sel is None)
        if tick is not None:
            tick(1)
        return t
    t = _tables(source, group, method, bins, tick)
    _map_blocks(source, group.blocks, t, group.samples, out, tick)
    return t


def _map_blocks(source, blocks, t, samples_of, out, tick=None):
    def work(b):
        _map(t, source.block(b)[0], samples_of(b[0], b[1]), out[b[0]:b[1], b[2]:b[3]])
    _run(work, blocks, tick)


# ------------------------------------------------------------------------ public API


def _as_images(images):
    x = np.asarray(images)
    hg.check_dtype(x.dtype)
    if x.ndim < 2:
        raise ValueError(f"expected images with at least 2 dimensions (height, width), "
                         f"got an array of shape {x.shape}")
    return x


def _ticker(progress, total):
    if progress is None:
        return None
    done = [0]
    progress(0, total)

    def tick(n):
        done[0] += n
        progress(min(done[0], total), total)
    return tick


def _as_mask(mask, layout, xc_shape):
    """The mask as (channels * images, pixels), broadcast without copying if possible."""
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


def equalize(images, method="numpy", bins=256, scope="image", mask=None,
             channel_axis=None, progress=None):
    """Histogram-equalize every image of a stack at once.

    Parameters
    ----------
    images : array_like
        Any array whose last two axes are one image ``(H, W)``; every leading
        axis is a batch axis, so ``(1800, 1, 96, 96)``, ``(N, H, W)`` and a
        single ``(H, W)`` all work.  Integer or floating point.
    method : {"numpy", "skimage"}
        ``"numpy"``: the Q&A thread's recipe (density histogram, cumulative
        sum, ``np.interp`` over the left bin edges) divided by 255.
        ``"skimage"``: ``skimage.exposure.equalize_hist(image, nbins=bins)``.
    bins : int
        Number of equal-width bins.  scikit-image ignores it for integer
        images (one bin per integer value).
    scope : {"image", "stack"}
        ``"image"``: each image is equalized with its own histogram.
        ``"stack"``: one histogram of the whole stack (per channel) gives the
        one mapping applied to every image.
    mask : array_like of bool, optional
        Pixels whose histogram drives the mapping, broadcastable to one image
        or to the stack; the mapping is applied to all pixels.
    channel_axis : int, optional
        Colour axis, equalized channel by channel (e.g. -1 for (N, H, W, 3)).
    progress : callable, optional
        ``progress(done, total)`` called as blocks finish; it may raise to
        cancel (e.g. :class:`~histeq_gui.core.errors.Cancelled`).

    Returns
    -------
    ndarray of float64
        Values in [0, 1], same shape as ``images``.  NaN and infinite pixels
        are left out of the histograms and come back as NaN; an image with no
        finite (selected) pixel comes back all NaN.

    Raises
    ------
    ValueError
        For an unknown method or scope, ``bins < 1``, an unsupported dtype,
        a mask that fits no image or selects nothing, or more bins than a
        float32 image's range can hold.

    Notes
    -----
    The result equals the per-image references bit for bit on every image: the
    histogram, the CDF and the interpolation repeat NumPy's own floating point
    operations.  Integers with a wide range are handled for scikit-image by
    ranking the distinct values (same result, no table per integer).

    Examples
    --------
    >>> import numpy as np
    >>> stack = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 1, 4, 4)
    >>> out = equalize(stack, method="numpy", bins=16)
    >>> out.shape, out.dtype, float(out.max())
    ((2, 1, 4, 4), dtype('float64'), 1.0)
    """
    mt.check_method(method)
    bins = hg.check_bins(bins)
    check_scope(scope)
    x = _as_images(images)
    layout = guess_layout(x.shape, channel_axis)
    xc = as_channels_first(x, layout)
    rows_per_channel = int(np.prod(xc.shape[1:-2], dtype=np.int64))
    pixels = xc.shape[-2] * xc.shape[-1]
    x2 = xc.reshape(-1, pixels)
    if x2.size == 0:
        return np.zeros(x.shape)
    mask2 = None if mask is None else _as_mask(mask, layout, xc.shape)
    source = _Source(x2, mask2)
    groups = _groups(x2.shape[0], pixels, scope, rows_per_channel)
    out2 = np.empty(x2.shape)
    fused = [g for g in groups if g.fused]
    streamed = [g for g in groups if not g.fused]
    total = len(fused) + 3 * sum(len(g.blocks) for g in streamed)
    tick = _ticker(progress, total)
    _run(lambda g: _equalize_group(source, g, method, bins, out2), fused, tick)
    for g in streamed:
        _equalize_group(source, g, method, bins, out2, tick)
    out = out2.reshape(xc.shape)
    return np.ascontiguousarray(from_channels_first(out, layout))


@dataclass(frozen=True, eq=False)
class Histogram:
    """The histogram of one sample (an image, or a whole stack) and its map.

    Made by :func:`histogram`; the viewer plots its arrays, and
    :meth:`apply` equalizes any image with it.

    Attributes
    ----------
    method : str
    bins : int
        The requested number of bins.
    value_bins : bool
        True when the method bins one integer value per bin and ``bins`` was
        not used (scikit-image on integer images).
    counts : ndarray of int64, shape (K,)
        Pixels per bin.
    edges : ndarray of float64, shape (K + 1,)
        Bin edges (for value bins: the integers -/+ 0.5).
    cdf_x : ndarray of float64, shape (K,)
        Where the method anchors its CDF: the left edges (numpy) or the bin
        centres (skimage).
    cdf : ndarray of float64, shape (K,)
        The normalized CDF in [0, 1] at ``cdf_x``: the map from input value
        to equalized value at those points.
    """

    method: str
    bins: int
    value_bins: bool
    counts: np.ndarray
    edges: np.ndarray
    cdf_x: np.ndarray
    cdf: np.ndarray
    tables: _Tables

    def transfer_curve(self):
        """Points ``(x, y)`` of the input -> output map, flat beyond the ends."""
        x = np.concatenate([[self.edges[0]], self.cdf_x, [self.edges[-1]]])
        y = np.concatenate([[self.cdf[0]], self.cdf, [self.cdf[-1]]])
        return x, y

    def apply(self, images, progress=None):
        """Equalize ``images`` (any shape, same kind of data) with this histogram.

        Returns float64 in [0, 1] of the same shape; values outside the
        histogram's range map to its end values, non-finite ones to NaN.
        """
        x = _as_images(np.asarray(images)) if np.ndim(images) >= 2 else np.asarray(images)
        x2 = x.reshape(1, -1) if x.ndim < 2 else x.reshape(-1, x.shape[-2] * x.shape[-1])
        if x2.size == 0:
            return np.zeros(x.shape)
        if x.dtype != self.tables.dtype:
            raise ValueError(f"this histogram was made from {self.tables.dtype} pixels; "
                             f"got {x.dtype}")
        out = np.empty(x2.shape)
        blocks = _blocks(0, x2.shape[0], x2.shape[1])
        _map_blocks(_Source(x2), blocks, self.tables, lambda r0, r1: np.zeros(r1 - r0, np.intp),
                    out, _ticker(progress, len(blocks)))
        return out.reshape(x.shape)


def histogram(images, method="numpy", bins=256, mask=None, progress=None):
    """The histogram and CDF a method builds from all pixels of ``images``.

    Pass one image for the per-image histogram, or a whole (grayscale) stack
    for the stack histogram.  The counting is the very code
    :func:`equalize` uses, so ``histogram(img).apply(img)`` equals
    ``equalize(img)`` and ``histogram(stack).apply(stack)`` equals
    ``equalize(stack, scope="stack")``.

    Parameters
    ----------
    images : array_like
        One sample: all its pixels go into one histogram.
    method, bins, mask, progress
        As for :func:`equalize`.

    Returns
    -------
    Histogram

    Examples
    --------
    >>> import numpy as np
    >>> h = histogram(np.array([[0, 1], [2, 3]], np.uint8), "numpy", bins=4)
    >>> h.counts.tolist(), h.cdf.tolist()
    ([1, 1, 1, 1], [0.25, 0.5, 0.75, 1.0])
    """
    mt.check_method(method)
    bins = hg.check_bins(bins)
    x = _as_images(images) if np.ndim(images) >= 2 else np.asarray(images).reshape(1, -1)
    x2 = x.reshape(-1, x.shape[-2] * x.shape[-1])
    if x2.size == 0:
        raise ValueError("cannot make a histogram of an empty array")
    mask2 = None
    if mask is not None:
        layout = guess_layout(x.shape)
        mask2 = _as_mask(mask, layout, as_channels_first(x, layout).shape)
    group = _Group(0, x2.shape[0], False, _blocks(0, x2.shape[0], x2.shape[1]))
    tick = _ticker(progress, 2 * len(group.blocks))
    t = _tables(_Source(x2, mask2), group, method, bins, tick)
    return _public(t, method, bins)


def _public(t, method, bins):
    """Wrap the single-sample tables ``t`` for plotting."""
    if t.kind == "float" or (t.kind == "values" and method == "numpy"):
        return Histogram(method, bins, False, t.counts[0], t.binning.edges[0].astype(np.float64),
                         t.nodes.xp[0], t.nodes.cdf[0], t)
    counts = t.value_counts[0]
    present = np.flatnonzero(counts)
    if len(present) == 0:
        lo, hi = 0, 0
    else:
        lo, hi = present[0], present[-1]
    if t.kind == "values":
        x = float(t.base[0]) + np.arange(lo, hi + 1, dtype=np.float64)
        edges = np.append(x - 0.5, x[-1] + 0.5)
    else:
        x = t.uniq[lo:hi + 1].astype(np.float64)
        middle = (x[:-1] + x[1:]) / 2
        edges = np.concatenate([[x[0] - 0.5], middle, [x[-1] + 0.5]])
    cdf = t.lut[lo:hi + 1].copy()
    return Histogram(method, bins, True, counts[lo:hi + 1], edges, x, cdf, t)
