"""The per-pixel loops of :mod:`.kernels`, in plain NumPy: ready at once, same results.

Each factory here takes the same flags and returns a function with the same
arguments as its compiled twin in :mod:`.kernels`, doing the same floating
point operations in the same types element by element (the first guess of a
pixel's bin, the one-step correction, ``slope * (x - start) + value`` then
the divisor), so that for valid inputs the results are bit for bit those of
the compiled loops (``tests/core/test_numpy_kernels.py`` checks it kernel by
kernel, and every method through the engine).  They work on all rows of a
block at once instead of pixel by pixel, so they cost a few passes over the
pixels and some memory: fine for the image a viewer shows first, while the
compiled loops are being prepared (:mod:`.backend`).

Inputs are checked as the compiled loops check them (a ValueError for a row
whose sample has no tables, companions smaller than the block); NumPy's own
indexing refuses anything else, so no input can make them touch memory
outside their arrays either.  Importing this module does not import numba.
"""

from __future__ import annotations

import numpy as np

__all__ = ["count_bins", "map_bins", "map_bin_table", "count_values", "map_values"]


def _check_block(x, sel, use_sel, samples, out):
    if x.ndim != 2:
        raise ValueError("a block has two dimensions (rows, pixels)")
    if samples.shape[0] < x.shape[0]:
        raise ValueError("fewer sample numbers than rows")
    if use_sel and (sel.shape[0] < x.shape[0] or sel.shape[1] < x.shape[1]):
        raise ValueError("the selection is smaller than the block")
    if out.shape[0] < x.shape[0] or out.shape[1] < x.shape[1]:
        raise ValueError("the output is smaller than the block")


def _samples(samples, rows, n):
    """Each row's sample, refused (ValueError) unless every one has tables."""
    s = np.asarray(samples[:rows], np.int64)
    if s.size and (s.min() < 0 or s.max() >= n):
        raise ValueError("a row's sample has no tables")
    return s


def _check_spans(row0, size, length):
    if row0.size and (row0.min() < 0 or row0.max() + size > length):
        raise ValueError("a sample's table lies outside its array")


def _bin(v, first, scale, lower, base, bins):
    """The compiled ``_bin`` for every pixel: first guess, one look each way, clipped.

    ``v`` (rows, pixels) in the kernel dtype; ``first``, ``scale`` and
    ``base`` (rows, 1), per row.  Returns ``base`` + the bin, in ``[base, base
    + bins)``.
    """
    g = (v - first) * scale
    guess = np.zeros(v.shape, np.int64)
    positive = g >= 0                                   # NaN and negative guesses: bin 0
    below = positive & (g < bins)
    guess[below] = g[below].astype(np.int64)            # int(g): towards zero
    guess[positive & ~below] = bins - 1
    k = base + guess
    lower_edge = lower[k]
    down = lower_edge > v
    up = ~down & (lower[k + 1] <= v)
    k = k - down + up
    outside = (k - base).astype(np.uint64) >= np.uint64(bins)
    return np.where(outside, base, k)


def _exact_rows(x, samples, exact, n):
    """The rows the compiled loops handle (their sample is exact) and those samples."""
    s = _samples(samples, x.shape[0], n)
    rows = np.flatnonzero(exact[s]) if s.size else np.zeros(0, np.intp)
    return rows, s[rows]


def count_bins(use_sel, weighted):
    """:func:`.kernels.count_bins` in NumPy (same arguments)."""
    def count_bins_numpy(x, sel, samples, exact, first, scale, lower, stride, offset, weights,
                         counts):
        _check_block(x, sel, use_sel, samples, x)
        if weighted and (weights.shape[0] < x.shape[0] or weights.shape[1] < x.shape[1]):
            raise ValueError("fewer weights than pixels")
        bins = stride - 1
        if bins < 1:
            raise ValueError("a table needs at least one bin")
        n = min(exact.shape[0], first.shape[0], scale.shape[0], lower.shape[0] // stride)
        rows, s = _exact_rows(x, samples, exact, n)
        if not rows.size or not x.shape[1]:
            return
        base = (s * stride)[:, np.newaxis]
        _check_spans(base - offset, stride, counts.shape[0])
        v = x[rows]
        k = (_bin(v, first[s][:, np.newaxis], scale[s][:, np.newaxis], lower, base, bins)
             - offset)
        chosen = sel[rows, :x.shape[1]] if use_sel else None
        if weighted:
            w = weights[rows, :x.shape[1]]
            if chosen is not None:
                k, w = k[chosen], w[chosen]
            np.add.at(counts, k.ravel(), w.ravel().astype(counts.dtype))
        else:
            if chosen is not None:
                k = k[chosen]
            counts += np.bincount(k.ravel(), minlength=counts.shape[0]).astype(counts.dtype)
    return count_bins_numpy


def _clamped(v, first, last, clamp):
    """Pixels clamped into their sample's outer edges, and which were finite (or None)."""
    if not clamp:
        return v, None
    finite = np.isfinite(v)
    if not finite.all():
        v = np.where(finite, v, first)
    return np.clip(v, first, last), finite


def map_bins(centred, clamp):
    """:func:`.kernels.map_bins` in NumPy (same arguments)."""
    def map_bins_numpy(x, samples, exact, first, last, scale, lower, stride, centres, start,
                       slope, value, divisor, out):
        _check_block(x, x, False, samples, out)
        bins = stride - 1
        if bins < 1:
            raise ValueError("a table needs at least one bin")
        n = min(exact.shape[0], first.shape[0], last.shape[0], scale.shape[0],
                lower.shape[0] // stride, slope.shape[0] // stride, value.shape[0] // stride)
        if centred:
            n = min(n, centres.shape[0] // stride, start.shape[0] // stride)
        rows, s = _exact_rows(x, samples, exact, n)
        if not rows.size or not x.shape[1]:
            return
        f, top = first[s][:, np.newaxis], last[s][:, np.newaxis]
        base = (s * stride)[:, np.newaxis]
        v, finite = _clamped(x[rows], f, top, clamp)
        k = _bin(v, f, scale[s][:, np.newaxis], lower, base, bins)
        wide = v.astype(np.float64)
        if centred:
            j = np.where(v >= centres[k], k + 1, k)
            offset = wide - start[j]
        else:
            j = k
            offset = wide - lower[k].astype(np.float64)
        result = (slope[j] * offset + value[j]) / divisor
        if finite is not None:
            result[~finite] = np.nan
        out[rows, :x.shape[1]] = result
    return map_bins_numpy


def map_bin_table(clamp):
    """:func:`.kernels.map_bin_table` in NumPy (same arguments)."""
    def map_bin_table_numpy(x, samples, exact, first, last, scale, lower, stride, table, out):
        _check_block(x, x, False, samples, out)
        bins = stride - 1
        if bins < 1:
            raise ValueError("a table needs at least one bin")
        n = min(exact.shape[0], first.shape[0], last.shape[0], scale.shape[0],
                lower.shape[0] // stride, table.shape[0] // stride)
        rows, s = _exact_rows(x, samples, exact, n)
        if not rows.size or not x.shape[1]:
            return
        f, top = first[s][:, np.newaxis], last[s][:, np.newaxis]
        v, finite = _clamped(x[rows], f, top, clamp)
        result = table[_bin(v, f, scale[s][:, np.newaxis], lower, (s * stride)[:, np.newaxis],
                            bins)]
        if finite is not None:
            result = np.where(finite, result, np.nan)
        out[rows, :x.shape[1]] = result
    return map_bin_table_numpy


def _value_index(x, s, base, width):
    """``sample * width + x - base[sample]``, each pixel's value clamped into its table."""
    k = x.astype(np.int64) - base[s][:, np.newaxis]
    np.clip(k, 0, width - 1, out=k)
    k += (s * width)[:, np.newaxis]
    return k


def count_values(use_sel):
    """:func:`.kernels.count_values` in NumPy (same arguments)."""
    def count_values_numpy(x, sel, samples, base, width, offset, counts):
        _check_block(x, sel, use_sel, samples, x)
        if width < 1:
            raise ValueError("a table needs at least one value")
        s = _samples(samples, x.shape[0], base.shape[0])
        if not s.size or not x.shape[1]:
            return
        _check_spans(s * width - offset, width, counts.shape[0])
        k = _value_index(x, s, base, width) - offset
        if use_sel:
            k = k[sel[:x.shape[0], :x.shape[1]]]
        counts += np.bincount(k.ravel(), minlength=counts.shape[0]).astype(counts.dtype)
    return count_values_numpy


def map_values():
    """:func:`.kernels.map_values` in NumPy (same arguments)."""
    def map_values_numpy(x, samples, base, width, lut, out):
        _check_block(x, x, False, samples, out)
        if width < 1:
            raise ValueError("a table needs at least one value")
        s = _samples(samples, x.shape[0], min(base.shape[0], lut.shape[0] // width))
        if not s.size or not x.shape[1]:
            return
        out[:x.shape[0], :x.shape[1]] = lut[_value_index(x, s, base, width)]
    return map_values_numpy
