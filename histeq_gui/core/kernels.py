"""Compiled per-pixel loops (numba): counting and mapping the pixels of a block.

Everything per *sample* (ranges, bin edges, CDF nodes, slopes) is computed
with NumPy in :mod:`.histogram` and :mod:`.methods`; these kernels only walk
the pixels, once to count and once to map, doing for each pixel the very
floating point operations ``np.histogram`` and ``np.interp`` do.  A block is
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
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numba import njit

from .methods import seed_cdf, slope

__all__ = ["count_bins", "map_bins", "count_values", "map_values", "seed_value_map"]


@njit(nogil=True, cache=True, inline="always")
def _bin(v, first, scale, lower, base):
    # A first guess, then one look at the lower and the upper edge, as
    # np.histogram does; lower[base + bins] is inf, so a guess of `bins`
    # (v equal to the last edge) moves down into the last bin.
    k = int((v - first) * scale) + base
    if lower[k] > v:
        k -= 1
    elif lower[k + 1] <= v:
        k += 1
    return k


@njit(nogil=True, cache=True, inline="always")
def _value(slope, offset, value, divisor):
    # np.interp: slope * (x - xp[j]) + fp[j]; then the method's divisor.
    return (slope * offset + value) / divisor


@cache
def count_bins(use_sel):
    """Kernel ``(x, sel, samples, exact, first, scale, lower, stride, offset, counts)``.

    It adds pixels to their bins: ``counts[sample * stride + bin - offset] += 1``.
    ``x`` is in the kernel dtype.  With ``use_sel`` only pixels where ``sel``
    is true count, otherwise all do; counted pixels must be finite and inside
    their sample's outer edges.  ``lower`` is the flat table of lower edges
    (``inf`` at slot ``bins`` of each sample).  Rows of samples that are not
    ``exact`` are skipped (NumPy counts those).
    """
    @njit(nogil=True, cache=True)
    def count_bins_kernel(x, sel, samples, exact, first, scale, lower, stride, offset, counts):
        for r in range(x.shape[0]):
            s = samples[r]
            if not exact[s]:
                continue
            f, sc, base = first[s], scale[s], s * stride
            for i in range(x.shape[1]):
                if use_sel and not sel[r, i]:
                    continue
                counts[_bin(x[r, i], f, sc, lower, base) - offset] += 1
    return count_bins_kernel


@cache
def map_bins(centred, clamp):
    """Kernel ``(x, samples, exact, first, last, scale, lower, stride, centres, start,
    slope, value, divisor, out)``.

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
    """
    @njit(nogil=True, cache=True)
    def map_bins_kernel(x, samples, exact, first, last, scale, lower, stride, centres, start,
                        slope, value, divisor, out):
        for r in range(x.shape[0]):
            s = samples[r]
            if not exact[s]:
                continue
            f, l, sc, base = first[s], last[s], scale[s], s * stride
            for i in range(x.shape[1]):
                v = x[r, i]
                if clamp:
                    if not np.isfinite(v):
                        out[r, i] = np.nan
                        continue
                    if v < f:
                        v = f
                    elif v > l:
                        v = l
                k = _bin(v, f, sc, lower, base)
                if centred:
                    j = k + 1 if v >= centres[k] else k
                    offset = np.float64(v) - start[j]
                else:
                    j = k
                    offset = np.float64(v) - np.float64(lower[k])
                out[r, i] = _value(slope[j], offset, value[j], divisor)
    return map_bins_kernel


@cache
def count_values(use_sel):
    """Kernel ``(x, sel, samples, base, width, offset, counts)`` counting integer values.

    ``counts[sample * width + x - base[sample] - offset] += 1`` for every pixel (only
    where ``sel`` is true with ``use_sel``); counted values must lie in
    ``[base, base + width)`` of their sample.
    """
    @njit(nogil=True, cache=True)
    def count_values_kernel(x, sel, samples, base, width, offset, counts):
        for r in range(x.shape[0]):
            s = samples[r]
            shift = s * width - base[s] - offset
            for i in range(x.shape[1]):
                if use_sel and not sel[r, i]:
                    continue
                counts[x[r, i] + shift] += 1
    return count_values_kernel


@cache
def map_values(clamp):
    """Kernel ``(x, samples, base, width, lut, out)`` looking integer pixels up.

    ``out = lut[sample * width + x - base[sample]]``.  With ``clamp`` values
    outside ``[base, base + width)`` take the nearest end of the table;
    without it they must lie inside.
    """
    @njit(nogil=True, cache=True)
    def map_values_kernel(x, samples, base, width, lut, out):
        for r in range(x.shape[0]):
            s = samples[r]
            b = base[s]
            row = s * width
            for i in range(x.shape[1]):
                k = x[r, i] - b
                if clamp:
                    if k < 0:
                        k = 0
                    elif k >= width:
                        k = width - 1
                out[r, i] = lut[row + k]
    return map_values_kernel


@njit(nogil=True, cache=True, error_model="numpy")
def seed_value_map(value_counts, base, exact, first, last, scale, lower, edges, binned, fp, lut):
    """The numpy method on integers: bins, seed CDF and map at every integer value.

    For each sample ``s``: the counts of the integer values ``base[s] + v``
    (``value_counts[s, v]``) are binned as pixels would be (``binned``), the
    seed recipe's CDF is taken of them (``fp``, see ``methods.seed_cdf``)
    and the map is evaluated at every value (``lut``), as ``map_bins`` would
    for pixels of that value.  Samples that are not ``exact`` are skipped.
    """
    samples, width = value_counts.shape
    bins = edges.shape[1] - 1
    stride = bins + 1
    slopes = np.zeros(bins)
    for s in range(samples):
        if not exact[s]:
            continue
        f, l, sc, b = first[s], last[s], scale[s], s * stride
        binned[s, :] = 0
        for v in range(width):
            if value_counts[s, v]:
                binned[s, _bin(np.float64(base[s] + v), f, sc, lower, b) - b] += value_counts[s, v]
        seed_cdf(binned[s], edges[s], fp[s])
        for j in range(bins - 1):
            slopes[j] = slope(fp[s], j, np.float64(edges[s, j]), np.float64(edges[s, j + 1]))
        for v in range(width):
            x = np.float64(base[s] + v)
            if x < f:
                x = f
            elif x > l:
                x = l
            k = _bin(x, f, sc, lower, b)
            lut[s, v] = _value(slopes[k - b], x - np.float64(lower[k]), fp[s, k - b], 255.0)
