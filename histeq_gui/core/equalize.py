"""Equalize whole stacks at once: :func:`equalize`, :func:`histogram`, :class:`Histogram`.

The stack is seen as a 2-D array with one row per image and channel, cut into
blocks of about a million pixels that run on a small thread pool (the
per-pixel loops in :mod:`.kernels` release the GIL).  A *group* is a set of
rows whose histograms are built together: several whole images for
``scope="image"`` (each row its own sample), or every row of a channel for
``scope="stack"`` and for a very large image (one sample).  Each group's
blocks are visited three times: range, counts, mapping; :mod:`.tables` does
the counting and mapping.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from . import histogram as hg
from . import methods as mt
from . import tables as tb
from .stack import as_channels_first, from_channels_first, guess_layout

__all__ = ["SCOPES", "check_scope", "equalize", "histogram", "Histogram", "warm_up"]

SCOPES = ("image", "stack")
_BLOCK = 1 << 20        # most pixels in a block

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


def _quiet(function):
    """``function`` run with NumPy's floating point warnings off.

    Extreme values make intermediate infinities and NaN (overflowing bin
    centres, subnormal bin widths) exactly as they do in the references;
    they are handled explicitly, so NumPy's warnings would only be noise on
    the user's stderr.  (``np.errstate`` does not reach the pool's threads,
    hence a wrapper around every piece of work.)
    """
    def quiet(*args):
        with np.errstate(all="ignore"):
            return function(*args)
    return quiet


def _run(function, items, tick=None):
    """``[function(item) for item in items]`` on the thread pool, in waves.

    ``tick(n)`` is called in the calling thread after every wave of ``n``
    items, so a progress callback can report and raise to cancel.
    """
    function = _quiet(function)
    items = list(items)
    results = []
    wave = 2 * _workers()
    inside = threading.current_thread().name.startswith("histeq-core")
    serial = _workers() < 2 or len(items) < 2 or inside  # a pool thread never waits on the pool
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
    def n_samples(self):
        return self.r1 - self.r0 if self.per_row else 1

    def samples(self, r0, r1):
        if self.per_row:
            return np.arange(r0 - self.r0, r1 - self.r0)
        return np.zeros(r1 - r0, np.intp)


def _blocks(r0, r1, pixels):
    """Blocks ``(r0, r1, c0, c1)`` of at most ``_BLOCK`` pixels covering rows r0:r1."""
    if pixels >= _BLOCK:
        return [(r, r + 1, c, min(c + _BLOCK, pixels))
                for r in range(r0, r1) for c in range(0, pixels, _BLOCK)]
    step = max(1, _BLOCK // max(pixels, 1))
    return [(r, min(r + step, r1), 0, pixels) for r in range(r0, r1, step)]


def _groups(rows, pixels, scope, rows_per_channel, table_width, lookup):
    """Groups of rows whose tables are built together.

    ``scope="stack"``: one group (one sample) per channel, in many blocks.
    ``"image"``: each row its own sample, and a group is one block of whole
    images, so its pixels stay in cache from range to counts to mapping.
    Building a group's tables costs about half a millisecond of Python
    whatever its size, so groups are large: a block of floats, or for
    integer lookup tables (``lookup``: one count and one look-up per pixel,
    where cache matters less) a couple of groups per worker; tables stay
    under ``tables.TABLE_LIMIT`` entries (``table_width`` per sample).  An image larger
    than a block is a group of its own, in several blocks.
    """
    if scope == "stack":
        return [_Group(c, c + rows_per_channel, False, _blocks(c, c + rows_per_channel, pixels))
                for c in range(0, rows, rows_per_channel)]
    if pixels >= _BLOCK:
        return [_Group(r, r + 1, True, _blocks(r, r + 1, pixels)) for r in range(rows)]
    size = -(-rows * pixels // (2 * _workers())) if lookup else _BLOCK
    step = max(1, min(size // pixels, tb.TABLE_LIMIT // table_width))
    return [_Group(r, min(r + step, rows), True, [(r, min(r + step, rows), 0, pixels)])
            for r in range(0, rows, step)]


class _Source:
    """A 2-D view of the pixels (rows, pixels) and of the mask, block by block."""

    def __init__(self, x2, mask2=None):
        self.x2 = np.asarray(x2)  # a plain view, also of a memory map
        self.mask2 = mask2

    def block(self, b):
        r0, r1, c0, c1 = b
        sel = None if self.mask2 is None else self.mask2[r0:r1, c0:c1]
        return self.x2[r0:r1, c0:c1], sel


# ------------------------------------------------------------------ running a group


@_quiet
def _tables(source, group, method, bins, tick=None):
    """Build the tables of a group: its range, then its counts, block by block."""
    parts = _run(lambda b: hg.block_stats(*source.block(b)), group.blocks, tick)
    samples_of_row = np.zeros(source.x2.shape[0], np.intp)
    samples_of_row[group.r0:group.r1] = group.samples(group.r0, group.r1)
    rows = [np.arange(b[0], b[1]) for b in group.blocks]
    stats = hg.merge_stats([(p[0], r) for p, r in zip(parts, rows)], samples_of_row,
                           group.n_samples, source.x2.dtype)
    pixels = source.x2.shape[1] * (1 if group.per_row else group.r1 - group.r0)

    def distinct():
        values = _run(lambda b: np.unique(source.block(b)[0].astype(np.float64)), group.blocks)
        return np.unique(np.concatenate(values))

    t = tb.start(method, bins, source.x2.dtype, stats, pixels, distinct)

    def count(i):
        b = group.blocks[i]
        x, sel = source.block(b)
        # One block: reuse the selection its statistics found.
        sel = parts[i][1] if len(parts) == 1 else hg.selection(x, sel)
        return tb.count(t, x, sel, group.samples(b[0], b[1]))

    counts = tb.empty_counts(t)
    for first, part in _run(count, range(len(group.blocks)), tick):
        counts[first:first + len(part)] += part
    return tb.finish(t, counts)


def _map_blocks(source, blocks, t, samples_of, out, tick=None, clamp=None):
    def work(b):
        tb.map_block(t, source.block(b)[0], samples_of(b[0], b[1]), out[b[0]:b[1], b[2]:b[3]],
                     clamp)
    _run(work, blocks, tick)


def _equalize_group(source, group, method, bins, out, tick=None):
    """Equalize one group into ``out`` (rows, pixels)."""
    t = _tables(source, group, method, bins, tick)
    _map_blocks(source, group.blocks, t, group.samples, out, tick)
    return t


# ------------------------------------------------------------------------ public API


def _table_width(dtype, method, bins):
    """Table entries per sample to plan for: a bin each, and a value each for 8/16-bit integers.

    (scikit-image on integers has no bins, only values.)
    """
    values = 1 << (8 * dtype.itemsize) if dtype.kind in "iu" and dtype.itemsize <= 2 else 0
    return values if method == "skimage" and values else max(values, bins + 1)


def _as_images(images, min_ndim=2):
    """The pixels as an array of a dtype that can be equalized, in native byte order."""
    x = np.asarray(images)
    native = hg.check_dtype(x.dtype)
    if x.ndim < min_ndim:
        raise ValueError(f"expected images with at least 2 dimensions (height, width), "
                         f"got an array of shape {x.shape}")
    return x if x.dtype == native else x.astype(native)    # big-endian files, say


def _rows(x):
    """All pixels of ``x`` as rows of one image each (a single row below 2-D)."""
    return x.reshape(1, -1) if x.ndim < 2 else x.reshape(-1, x.shape[-2] * x.shape[-1])


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
    groups = _groups(x2.shape[0], pixels, scope, rows_per_channel, _table_width(x2.dtype, method, bins),
                     lookup=x2.dtype.kind in "iu")
    out2 = np.empty(x2.shape)
    # Groups of one block run side by side; a group of many blocks runs its
    # blocks side by side instead.
    single = [g for g in groups if len(g.blocks) == 1]
    multi = [g for g in groups if len(g.blocks) > 1]
    tick = _ticker(progress, len(single) + 3 * sum(len(g.blocks) for g in multi))
    _run(lambda g: _equalize_group(source, g, method, bins, out2), single, tick)
    for g in multi:
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
    tables: tb.Tables

    def transfer_curve(self, x_range=None):
        """Points ``(x, y)`` of the input -> output map, flat beyond the nodes.

        The flat ends reach the histogram's outer edges, or ``x_range``
        ``(low, high)`` (e.g. the display range) when that is wider.
        """
        low, high = self.edges[0], self.edges[-1]
        if x_range is not None:
            low, high = min(low, x_range[0]), max(high, x_range[1])
        x = np.concatenate([[low], self.cdf_x, [high]])
        y = np.concatenate([[self.cdf[0]], self.cdf, [self.cdf[-1]]])
        return x, y

    def coarsened(self, max_bars=4096):
        """This histogram with at most ``max_bars`` bars, for drawing.

        Runs of adjacent bins are merged (their counts added); the CDF keeps
        its value at the last node of each run.  A histogram of millions of
        value bins (scikit-image on wide-range integers) can then be drawn
        quickly.  :meth:`apply` is unchanged.
        """
        k = len(self.counts)
        if k <= max_bars:
            return self
        step = -(-k // max_bars)
        starts = np.arange(0, k, step)
        ends = np.minimum(starts + step, k) - 1
        return replace(self, counts=np.add.reduceat(self.counts, starts),
                       edges=np.append(self.edges[starts], self.edges[-1]),
                       cdf_x=self.cdf_x[ends], cdf=self.cdf[ends])

    def apply(self, images, progress=None):
        """Equalize ``images`` (any shape, same kind of data) with this histogram.

        Returns float64 in [0, 1] of the same shape; values outside the
        histogram's range map to its end values, non-finite ones to NaN.
        """
        x = _as_images(images, min_ndim=0)
        x2 = _rows(x)
        if x2.size == 0:
            return np.zeros(x.shape)
        if x.dtype != self.tables.dtype:
            raise ValueError(f"this histogram was made from {self.tables.dtype} pixels; "
                             f"got {x.dtype}")
        out = np.empty(x2.shape)
        blocks = _blocks(0, x2.shape[0], x2.shape[1])
        _map_blocks(_Source(x2), blocks, self.tables, lambda r0, r1: np.zeros(r1 - r0, np.intp),
                    out, _ticker(progress, len(blocks)), clamp=True)
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
    x = _as_images(images, min_ndim=0)
    if x.ndim < 2:
        x = x.reshape(1, -1)        # plain values: one image of one row
    x2 = _rows(x)
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


def warm_up(dtype):
    """Get the compiled kernels for images of ``dtype`` ready.

    The per-pixel loops are compiled on their first use for a dtype (about a
    second after installing; then they load from numba's cache on disk in a
    few milliseconds).  The viewer calls this while it loads a stack, off the
    GUI thread, so that no redraw waits for the compiler.
    """
    tiny = np.arange(16).reshape(4, 4).astype(hg.check_dtype(dtype))
    samples = [tiny]
    if tiny.dtype.kind == "f":
        samples.append(tiny.copy())
        samples[-1][0, 0] = np.nan                 # the loops that skip NaN
    for method in mt.METHODS:
        for sample in samples:
            equalized = histogram(sample, method, 8).apply(sample)
            histogram(equalized, method, 8)        # the histogram of an equalized image
            equalize(np.stack([sample, sample]), method, 8)
