"""Compiled per-pixel loops (numba): counting and mapping the pixels of a block.

Everything per *sample* (ranges, bin edges, a method's nodes or table) is
computed with NumPy (:mod:`histeq_gui.core.histogram`, the method's hooks,
:mod:`.segments`); these kernels only walk the pixels, once to count and
once to map, doing for each pixel the very floating point operations
``np.histogram`` and ``np.interp`` do.  They know no method: count into
bins or integer values; map through interpolation segments, or through a
table by bin or by value.  A block is
a 2-D array ``(rows, pixels)``; ``samples[r]`` is the sample (histogram) row
``r`` belongs to.

Why compiled loops: in NumPy the same work takes about eighteen passes over
every pixel (guess, gathers, corrections, bincount, interpolation), and on
two cores many short NumPy calls fight over the GIL.  These loops release
the GIL (``nogil=True``) so blocks run truly in parallel, and the integer
paths (one count and one look-up per pixel) become several times faster.

Each function below *makes* a kernel for fixed flags (one compiled kernel
per combination, so no flag is tested in the inner loop) and returns it;
kernels compile on first use per dtype and are cached on disk.

8-bit images without a mask, for a method whose ``table`` or ``nodes``
hook is also written as a loop over one sample
(:class:`~histeq_gui.core.methods.base.RowLoop`), take one pass each
(:func:`equalize_table_each`, :func:`equalize_nodes_each`): count the image
(256 values), build its table with the method's loop (compiled by
:func:`compiled_loop` and called through a function pointer, so one kernel
serves every method), convert the table to the output dtype and look the
pixels up, while the image is still in cache.  No Python runs between
images: this is the floor of one count and one look-up per pixel.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import from_dtype, njit, types

__all__ = ["count_bins", "map_bins", "map_bin_table", "count_values", "map_values",
           "equalize_table_each", "equalize_nodes_each", "compiled_loop", "compiled_signatures",
           "TABLE_LOOP", "NODES_LOOP"]

# The loops of RowLoop, as first-class function types: (counts, level0, levels, args, out)
# and (counts, edges, args, fp).
TABLE_LOOP = types.FunctionType(types.void(types.int64[::1], types.float64, types.float64,
                                           types.float64[::1], types.float64[::1]))
NODES_LOOP = types.FunctionType(types.void(types.int64[::1], types.float64[::1],
                                           types.float64[::1], types.float64[::1]))
_LOOPS = {}     # (function, kind) -> the method's loop, compiled

_MADE = {}      # (factory name, flags...) -> the kernel it made
_PARTIAL_WIDTH = 256    # value tables up to this wide are counted in four partial histograms


def _factory(make):
    """One kernel per combination of flags, made on first request and kept."""
    @functools.wraps(make)
    def get(*flags):
        key = (make.__name__,) + flags
        kernel = _MADE.get(key)
        if kernel is None:
            kernel = _MADE.setdefault(key, make(*flags))
        return kernel
    return get


def compiled_signatures():
    """The argument types each kernel has been compiled (or loaded) for, so far.

    Returns
    -------
    dict
        ``{name: [signature, ...]}``, with names like ``"count_bins(True, False)"``;
        a signature is a tuple of numba types.  For tests and diagnostics:
        after ``warm_up(dtype)`` the kernels for ``dtype`` are listed here.
    """
    return {f"{key[0]}{key[1:]}".replace(",)", ")"): list(kernel.signatures)
            for key, kernel in list(_MADE.items())}


@njit(nogil=True, cache=True, inline="always")
def _bin(v, first, scale, lower, base, bins):
    # A first guess, then one look at the lower and the upper edge, as
    # np.histogram does; returns base + the bin, in [base, base + bins).
    # Bounds: the guess is clipped into [0, bins - 1] before it becomes an
    # index (NaN, negative: 0; v at the last edge, inf or a wrong scale: bins - 1),
    # so the two edges read are inside the sample's bins + 1 entries; a result
    # that the correction moved outside the bins (only for wrong tables or
    # pixels outside the edges) becomes bin 0.  For valid input (v finite
    # within the outer edges, a right table) neither changes anything: the
    # true bin is within one of the guess.  The rarely taken branches are
    # nearly free (0.3 to 0.5 ns a pixel, measured).
    g = (v - first) * scale
    k = base
    if g >= 0:                              # NaN and negative guesses: bin 0
        k += int(g) if g < bins else bins - 1
    if lower[k] > v:
        k -= 1
    elif lower[k + 1] <= v:
        k += 1
    if np.uint64(k - base) >= np.uint64(bins):
        k = base
    return k


@njit(nogil=True, cache=True, inline="always")
def _sample(samples, r, n):
    # The sample of row r, refused unless it has tables.
    s = samples[r]
    if s < 0 or s >= n:
        raise ValueError("a row's sample has no tables")
    return s


@njit(nogil=True, cache=True, inline="always")
def _value(slope, offset, value, divisor):
    # np.interp: slope * (x - xp[j]) + fp[j]; then the method's divisor.
    return (slope * offset + value) / divisor


@njit(nogil=True, cache=True, inline="always")
def _check_block(x, sel, use_sel, samples, out):
    # The block's companions cover it: a sample per row, a selection and an
    # output of at least the block's shape.
    if samples.shape[0] < x.shape[0]:
        raise ValueError("fewer sample numbers than rows")
    if use_sel and (sel.shape[0] < x.shape[0] or sel.shape[1] < x.shape[1]):
        raise ValueError("the selection is smaller than the block")
    if out.shape[0] < x.shape[0] or out.shape[1] < x.shape[1]:
        raise ValueError("the output is smaller than the block")


@njit(nogil=True, cache=True, inline="always")
def _covers(x, base, width):
    # True when a table of `width` values from `base` has an entry for every
    # value x's dtype can hold (8- to 32-bit integers): then no pixel needs
    # a check.
    if x.itemsize > 4:
        return False
    info = np.iinfo(x.dtype)
    return base <= info.min and base + width - 1 >= info.max


@njit(nogil=True, cache=True, inline="always")
def _check_span(row0, size, length):
    # Entries row0 .. row0 + size - 1 of a flat table of `length` entries.
    if row0 < 0 or row0 + size > length:
        raise ValueError("a sample's table lies outside its array")


@_factory
def count_bins(use_sel, weighted):
    """Kernel ``(x, sel, samples, exact, first, scale, lower, stride, offset, weights, counts)``.

    It adds pixels to their bins: ``counts[sample * stride + bin - offset] += 1``
    (``+= weights[r, i]`` when ``weighted``: integer values counted by how
    often they occur).  ``x`` is in the kernel dtype.  With ``use_sel`` only
    pixels where ``sel`` is true count, otherwise all do; counted pixels must
    be finite and inside their sample's outer edges.  ``lower`` is the flat
    table of lower edges (``inf`` at slot ``bins`` of each sample).  Rows of
    samples that are not ``exact`` are skipped (NumPy counts those).

    Whatever its inputs, the kernel reads and writes only inside its arrays:
    a row whose sample or count slice lies outside them raises ValueError,
    and a pixel that is not finite or outside the edges lands in a bin of its
    sample (a wrong count, never a wrong address).
    """
    @njit(nogil=True, cache=True, error_model="numpy")
    def count_bins_kernel(x, sel, samples, exact, first, scale, lower, stride, offset, weights,
                          counts):
        _check_block(x, sel, use_sel, samples, x)
        if weighted and (weights.shape[0] < x.shape[0] or weights.shape[1] < x.shape[1]):
            raise ValueError("fewer weights than pixels")
        bins = stride - 1
        if bins < 1:
            raise ValueError("a table needs at least one bin")
        n = min(exact.shape[0], first.shape[0], scale.shape[0], lower.shape[0] // stride)
        for r in range(x.shape[0]):
            s = _sample(samples, r, n)
            if not exact[s]:
                continue
            f, sc, base = first[s], scale[s], s * stride
            row = base - offset
            _check_span(row, stride, counts.shape[0])
            for i in range(x.shape[1]):
                if use_sel and not sel[r, i]:
                    continue
                k = _bin(x[r, i], f, sc, lower, base, bins) - offset
                if weighted:
                    counts[k] += weights[r, i]
                else:
                    counts[k] += 1
    return count_bins_kernel


@_factory
def map_bins(centred, clamp):
    """Kernel: ``np.interp`` of every pixel through its sample's nodes, over ``divisor``.

    Its arguments are ``(x, samples, exact, first, last, scale, lower, stride,
    centres, start, slope, value, divisor, out)``.

    It evaluates ``np.interp(x, xp, fp) / divisor`` for every pixel: the
    pixel is binned as for counting and its interpolation segment found, the
    bin itself for left-edge nodes, or for bin-centre nodes (``centred``) the
    bin + 1, minus one left of the bin's centre.  The value is ``slope * (x -
    start) + value`` in float64, as ``np.interp`` computes it.  With ``clamp``
    non-finite pixels give NaN and the others are first clamped into their
    sample's outer edges (outside its nodes ``np.interp`` is constant, so
    this changes no result); without it every pixel must be finite and
    inside.  Rows of samples that are not ``exact`` are skipped (NumPy maps
    those).

    Every table is read only inside its sample's ``stride`` entries (a row
    whose sample has no such entries raises ValueError), so wrong tables or
    pixels give wrong values, never a wrong address.
    """
    @njit(nogil=True, cache=True, error_model="numpy")
    def map_bins_kernel(x, samples, exact, first, last, scale, lower, stride, centres, start,
                        slope, value, divisor, out):
        _check_block(x, x, False, samples, out)
        bins = stride - 1
        if bins < 1:
            raise ValueError("a table needs at least one bin")
        n = min(exact.shape[0], first.shape[0], last.shape[0], scale.shape[0],
                lower.shape[0] // stride, slope.shape[0] // stride, value.shape[0] // stride)
        if centred:
            n = min(n, centres.shape[0] // stride, start.shape[0] // stride)
        for r in range(x.shape[0]):
            s = _sample(samples, r, n)
            if not exact[s]:
                continue
            f, top, sc, base = first[s], last[s], scale[s], s * stride
            for i in range(x.shape[1]):
                v = x[r, i]
                if clamp:
                    if not np.isfinite(v):
                        out[r, i] = np.nan
                        continue
                    if v < f:
                        v = f
                    elif v > top:
                        v = top
                k = _bin(v, f, sc, lower, base, bins)
                if centred:
                    # k <= base + bins - 1, so j <= base + bins: inside the sample.
                    j = k + 1 if v >= centres[k] else k
                    offset = np.float64(v) - start[j]
                else:
                    j = k
                    offset = np.float64(v) - np.float64(lower[k])
                out[r, i] = _value(slope[j], offset, value[j], divisor)
    return map_bins_kernel


@_factory
def map_bin_table(clamp):
    """Kernel ``(x, samples, exact, first, last, scale, lower, stride, table, out)``.

    Each pixel takes its bin's entry of the flat ``table`` (``stride`` =
    bins + 1 entries per sample): the pixel is binned as for counting.  With
    ``clamp`` non-finite pixels give NaN and the others are first clamped
    into their sample's outer edges (first or last bin); without it every
    pixel must be finite and inside.  Rows of samples that are not
    ``exact`` are skipped (NumPy maps those).  Reads stay inside the
    sample's entries whatever the inputs; a row whose sample has no table
    raises ValueError.
    """
    @njit(nogil=True, cache=True, error_model="numpy")
    def map_bin_table_kernel(x, samples, exact, first, last, scale, lower, stride, table, out):
        _check_block(x, x, False, samples, out)
        bins = stride - 1
        if bins < 1:
            raise ValueError("a table needs at least one bin")
        n = min(exact.shape[0], first.shape[0], last.shape[0], scale.shape[0],
                lower.shape[0] // stride, table.shape[0] // stride)
        for r in range(x.shape[0]):
            s = _sample(samples, r, n)
            if not exact[s]:
                continue
            f, top, sc, base = first[s], last[s], scale[s], s * stride
            for i in range(x.shape[1]):
                v = x[r, i]
                if clamp:
                    if not np.isfinite(v):
                        out[r, i] = np.nan
                        continue
                    if v < f:
                        v = f
                    elif v > top:
                        v = top
                out[r, i] = table[_bin(v, f, sc, lower, base, bins)]
    return map_bin_table_kernel


@njit(nogil=True, cache=True, error_model="numpy")
def _count_partial(xr, b, sub, counts, start):
    # One row whose table covers its dtype: 0 <= x - b < width for every
    # value (so unsigned indices, with no test for negative ones), counted in
    # four partial histograms taking turns, then added to counts[start:].
    # Not inlined: compiled on its own, this loop runs twice as fast.
    # (tests/core/test_count_partial.py checks its bounds.)
    width = sub.shape[1]
    sub[:, :] = 0
    stop = xr.shape[0] - xr.shape[0] % 4
    for i in range(0, stop, 4):
        sub[0, np.uintp(np.int64(xr[i]) - b)] += 1
        sub[1, np.uintp(np.int64(xr[i + 1]) - b)] += 1
        sub[2, np.uintp(np.int64(xr[i + 2]) - b)] += 1
        sub[3, np.uintp(np.int64(xr[i + 3]) - b)] += 1
    for i in range(stop, xr.shape[0]):
        sub[0, np.uintp(np.int64(xr[i]) - b)] += 1
    for k in range(width):
        counts[start + k] += sub[0, k] + sub[1, k] + sub[2, k] + sub[3, k]


@_factory
def count_values(use_sel):
    """Kernel ``(x, sel, samples, base, width, offset, counts)`` counting integer values.

    ``counts[sample * width + x - base[sample] - offset] += 1`` for every pixel (only
    where ``sel`` is true with ``use_sel``); counted values must lie in
    ``[base, base + width)`` of their sample.  A value outside that range is
    counted at the nearest end (a wrong count, never a wrong address); a row
    whose sample or count slice lies outside the arrays raises ValueError.
    A row whose table covers every value of the dtype (uint8 tables are
    always 256 wide) needs no check per pixel; such rows of many pixels are
    counted into four partial histograms taking turns (then added up), so
    that runs of equal pixels, common in real photographs, do not wait on
    one counter (twice as fast on the sample faces).
    """
    @njit(nogil=True, cache=True, error_model="numpy")
    def count_values_kernel(x, sel, samples, base, width, offset, counts):
        _check_block(x, sel, use_sel, samples, x)
        if width < 1:
            raise ValueError("a table needs at least one value")
        n = base.shape[0]
        partial = not use_sel and width <= _PARTIAL_WIDTH and x.shape[1] >= 4 * width
        sub = np.zeros((4, width if partial else 0), np.int64)
        for r in range(x.shape[0]):
            s = _sample(samples, r, n)
            b = base[s]
            row = s * width
            _check_span(row - offset, width, counts.shape[0])
            if partial and _covers(x, b, width):
                _count_partial(x[r], b, sub, counts, row - offset)
                continue
            if _covers(x, b, width):
                shift = row - offset - b        # every value of x's dtype has an entry
                for i in range(x.shape[1]):
                    if use_sel and not sel[r, i]:
                        continue
                    counts[np.int64(x[r, i]) + shift] += 1
                continue
            for i in range(x.shape[1]):
                if use_sel and not sel[r, i]:
                    continue
                k = np.int64(x[r, i]) - b
                if np.uint64(k) >= np.uint64(width):     # outside: the nearest end
                    k = 0 if k < 0 else width - 1
                counts[row - offset + k] += 1
    return count_values_kernel


@_factory
def map_values():
    """Kernel ``(x, samples, base, width, lut, out)`` looking integer pixels up.

    ``out = lut[sample * width + x - base[sample]]``; values outside
    ``[base, base + width)`` take the nearest end of the table (so pixels
    outside the counted range need no separate kernel, and every read stays
    inside ``lut``).  A row whose sample has no table raises ValueError.
    As for counting, a table covering the whole dtype skips the checks.
    """
    @njit(nogil=True, cache=True, error_model="numpy")
    def map_values_kernel(x, samples, base, width, lut, out):
        _check_block(x, x, False, samples, out)
        if width < 1:
            raise ValueError("a table needs at least one value")
        n = min(base.shape[0], lut.shape[0] // width)
        for r in range(x.shape[0]):
            s = _sample(samples, r, n)
            b = base[s]
            row = s * width
            if _covers(x, b, width):
                shift = row - b                 # every value of x's dtype has an entry
                for i in range(x.shape[1]):
                    out[r, i] = lut[np.int64(x[r, i]) + shift]
                continue
            for i in range(x.shape[1]):
                k = np.int64(x[r, i]) - b
                if np.uint64(k) >= np.uint64(width):     # outside: the nearest end
                    k = 0 if k < 0 else width - 1
                out[r, i] = lut[row + k]
    return map_values_kernel


def compiled_loop(function, kind):
    """A method's loop over one sample (``RowLoop.function``), compiled with numba and kept.

    ``kind`` is "table" (:data:`TABLE_LOOP`) or "nodes" (:data:`NODES_LOOP`).
    The loop is compiled for that one signature (or loaded from numba's cache
    beside the method's module), without the GIL and with NumPy's error model.
    """
    key = (function, kind)
    loop = _LOOPS.get(key)
    if loop is None:
        signature = (TABLE_LOOP if kind == "table" else NODES_LOOP).signature
        loop = _LOOPS.setdefault(key, njit(signature, nogil=True, cache=True,
                                           error_model="numpy")(function))
    return loop


def _each_signature(x_dtype, out_dtype, loop, *rest):
    # The pixels are only read: one kernel takes writable and read-only ones (a memory map).
    return types.void(types.Array(from_dtype(np.dtype(x_dtype)), 2, "C", readonly=True),
                      types.Array(from_dtype(np.dtype(out_dtype)), 2, "C"), loop,
                      types.float64[::1], *rest)


@njit(nogil=True, cache=True, inline="always")
def _count_image(xr, base, sub, counts):
    # counts[v - base] of every pixel of the 8-bit row xr (base: its dtype's minimum).
    counts[:] = 0
    _count_partial(xr, base, sub, counts, 0)


@njit(nogil=True, cache=True, inline="always")
def _convert_table(lut, low, high, to_int, out_lut):
    # convert(): an integer output gets low + rint(v * (high - low)) clipped, NaN -> low;
    # a float output the value rounded to its type.
    for k in range(lut.shape[0]):
        v = lut[k]
        if to_int:
            v = np.rint(v * (high - low))
            v += low
            if np.isnan(v) or v < low:
                v = low
            elif v > high:
                v = high
        out_lut[k] = v


@njit(nogil=True, cache=True, inline="always")
def _look_up(xr, base, out_lut, out_row):
    for i in range(xr.shape[0]):
        out_row[i] = out_lut[np.int64(xr[i]) - base]


@njit(nogil=True, cache=True, inline="always")
def _check_each(x, out):
    # 8-bit pixels index the 256-entry tables from the dtype's minimum, so every read and
    # write stays inside the tables and the block.
    if x.itemsize != 1:
        raise ValueError("one pass per image takes 8-bit images")
    if out.shape[0] < x.shape[0] or out.shape[1] < x.shape[1]:
        raise ValueError("the output is smaller than the block")


@_factory
def equalize_table_each(x_dtype, out_dtype):
    """Kernel ``(x, out, loop, args, levels, low, high, to_int)``: one pass per 8-bit image.

    For each row of ``x`` (an image): its counts per value, then
    ``loop(counts, 0.0, levels, args, lut)`` (a :data:`TABLE_LOOP`), the
    table converted to ``out``'s dtype as the export's ``convert`` does
    (``to_int``: ``low + rint(v * (high - low))`` clipped to ``[low,
    high]``, NaN to ``low``; else the value rounded to the float type), and
    every pixel looked up into its row of ``out``.
    """
    signature = _each_signature(x_dtype, out_dtype, TABLE_LOOP, types.float64, types.float64,
                                types.float64, types.boolean)

    @njit(signature, nogil=True, cache=True, error_model="numpy")
    def equalize_table_each_kernel(x, out, loop, args, levels, low, high, to_int):
        _check_each(x, out)
        base = np.int64(np.iinfo(x.dtype).min)
        sub = np.zeros((4, 256), np.int64)
        counts = np.zeros(256, np.int64)
        lut = np.empty(256)
        out_lut = np.empty(256, out.dtype)
        for r in range(x.shape[0]):
            _count_image(x[r], base, sub, counts)
            loop(counts, 0.0, levels, args, lut)
            _convert_table(lut, low, high, to_int, out_lut)
            _look_up(x[r], base, out_lut, out[r])
    return equalize_table_each_kernel


@_factory
def equalize_nodes_each(x_dtype, out_dtype):
    """Kernel ``(x, out, loop, args, bins, divisor, low, high, to_int, ok)``: one pass per image.

    For each row of ``x`` (an 8-bit image): its counts per value; its
    ``bins`` equal-width bins over its range exactly as ``np.histogram``
    makes them (:func:`histeq_gui.core.histogram.binning`, whose every
    8-bit sample is exact); the values' counts binned; ``loop(binned,
    edges, args, fp)`` (a :data:`NODES_LOOP`) gives the nodes at the left
    edges; each of the 256 values is mapped as ``map_bins`` maps a pixel
    (clamped into the edges, ``np.interp``'s segment of its bin, divided by
    ``divisor``), converted as by :func:`equalize_table_each`, and the
    pixels are looked up.  A row whose nodes or slopes are not finite is
    left alone with ``ok[r] = False`` (``np.interp`` itself must map it).
    """
    signature = _each_signature(x_dtype, out_dtype, NODES_LOOP, types.int64, types.float64,
                                types.float64, types.float64, types.boolean,
                                types.boolean[::1])

    @njit(signature, nogil=True, cache=True, error_model="numpy")
    def equalize_nodes_each_kernel(x, out, loop, args, bins, divisor, low, high, to_int, ok):
        _check_each(x, out)
        if bins < 1:
            raise ValueError("a table needs at least one bin")
        if ok.shape[0] < x.shape[0]:
            raise ValueError("fewer flags than rows")
        base = np.int64(np.iinfo(x.dtype).min)
        sub = np.zeros((4, 256), np.int64)
        counts = np.zeros(256, np.int64)
        lut = np.empty(256)
        out_lut = np.empty(256, out.dtype)
        edges = np.empty(bins + 1)
        lower = np.empty(bins + 1)
        binned = np.zeros(bins, np.int64)
        fp = np.empty(bins)
        slope = np.zeros(bins)
        for r in range(x.shape[0]):
            _count_image(x[r], base, sub, counts)
            lo, hi = 0, 255
            while lo < 255 and counts[lo] == 0:
                lo += 1
            while hi > lo and counts[hi] == 0:
                hi -= 1
            # histogram.binning: np.linspace(first, last, bins + 1) in float64.
            first, last = np.float64(lo + base), np.float64(hi + base)
            if lo == hi:
                first -= 0.5
                last += 0.5
            step = (last - first) / np.float64(bins)
            for k in range(bins):
                edges[k] = np.float64(k) * step + first
                lower[k] = edges[k]
            edges[bins] = last
            lower[bins] = np.inf
            scale = bins / (last - first)
            binned[:] = 0
            for v in range(lo, hi + 1):
                binned[_bin(np.float64(v + base), first, scale, lower, 0, bins)] += counts[v]
            loop(binned, edges, args, fp)
            # segments(): np.interp's slopes between the nodes; the last bin is flat.
            finite = True
            for j in range(bins):
                if j < bins - 1:
                    slope[j] = (fp[j + 1] - fp[j]) / (edges[j + 1] - edges[j])
                finite = finite and np.isfinite(fp[j]) and np.isfinite(slope[j])
            ok[r] = finite
            if not finite:
                continue
            for k in range(256):
                v = min(max(np.float64(k + base), first), last)
                j = _bin(v, first, scale, lower, 0, bins)
                lut[k] = _value(slope[j], v - lower[j], fp[j], divisor)
            _convert_table(lut, low, high, to_int, out_lut)
            _look_up(x[r], base, out_lut, out[r])
    return equalize_nodes_each_kernel
