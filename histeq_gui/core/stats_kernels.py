"""Compiled loops (numba) for the statistics of image_stats: 8-bit rows, edges, Hamming sets.

For uint8 and int8 images :func:`~histeq_gui.core.stats.image_stats` needs,
per image, its 256-level histogram, ``np.std`` of its pixels, the 256-level
histogram of its equalized values ``np.rint(255 * v)`` and
``np.mean(np.abs(v - b))``.  In NumPy that is a dozen passes over every
pixel and several temporaries of 8 bytes per pixel; these loops do it in
three passes over a row while it is in cache, and release the GIL.

The floating point sums are NumPy's own: :func:`pairwise_sum` is NumPy's
pairwise summation (``numpy/_core/src/umath/loops_utils.h.src``,
``@TYPE@_pairwise_sum``: fewer than 8 terms added in order; up to 128 with
eight accumulators combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6
+ r7))`` and the rest added in order; above that, split at half rounded down
to a multiple of 8), which is what ``np.add.reduce`` does over a contiguous
float64 row.  So ``std`` equals ``np.std(row)`` and the mean change equals
``np.mean(np.abs(v - b))`` bit for bit (``tests/core/test_stats.py`` checks
it on real images).  Every index into a table is clipped, whatever the
input.

:func:`resample_pass` is one pass of Pillow's 8-bit resize over a batch of
images; :func:`edge_histograms` repeats Pillow's ``FIND_EDGES`` filter on a
batch of small gray images (CleanVision's blur check) and
:func:`hamming_sets` finds
the perceptual hashes within a Hamming radius of each other without
comparing every pair (multi-index hashing).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["pairwise_sum", "gray8_summary", "gray8_after", "histogram256",
           "edge_histograms", "popcount64", "hamming_sets", "resample_pass"]

_BLOCK = 128            # NumPy's PW_BLOCKSIZE


@njit(nogil=True, cache=True)
def _block_sum(a, start, n):
    """NumPy's pairwise sum of at most 128 terms (the leaves of the tree)."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[start + i]
        return res
    r0 = a[start]
    r1 = a[start + 1]
    r2 = a[start + 2]
    r3 = a[start + 3]
    r4 = a[start + 4]
    r5 = a[start + 5]
    r6 = a[start + 6]
    r7 = a[start + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@njit(nogil=True, cache=True)
def pairwise_sum(a, start, n):
    """``np.add.reduce(a[start:start + n])`` for float64 ``a``, in NumPy's order.

    NumPy recurses: above 128 terms it sums the first ``half`` (``n // 2``
    rounded down to a multiple of 8) and the rest separately and adds the
    two.  The same tree is walked here with an explicit stack (numba's disk
    cache cannot hold recursive functions: numba issue #6061).
    """
    if n <= _BLOCK:
        return _block_sum(a, start, n)
    # Nodes to visit (start, size, children pushed?) and the sums found.
    starts = np.empty(256, np.int64)
    sizes = np.empty(256, np.int64)
    opened = np.zeros(256, np.bool_)
    sums = np.empty(256)
    top = 0
    starts[0] = start
    sizes[0] = n
    found = 0
    while top >= 0:
        size = sizes[top]
        if size <= _BLOCK:
            sums[found] = _block_sum(a, starts[top], size)
            found += 1
            top -= 1
        elif not opened[top]:
            opened[top] = True
            half = size // 2
            half -= half % 8
            first = starts[top]
            starts[top + 1] = first + half          # right part, summed second
            sizes[top + 1] = size - half
            opened[top + 1] = False
            starts[top + 2] = first                 # left part, on top: summed first
            sizes[top + 2] = half
            opened[top + 2] = False
            top += 2
        else:
            sums[found - 2] = sums[found - 2] + sums[found - 1]
            found -= 1
            top -= 1
    return sums[0]


@njit(nogil=True, cache=True)
def gray8_summary(levels, values, ranks, counts, std, picked, extent):
    """Per row of ``levels`` (m, P) uint8: histogram, ``np.std``, order statistics, extent.

    ``counts`` (m, 256) receives each row's histogram.
    ``values[level]`` is the pixel value of a level as float64 (``level``
    for uint8, ``level - 128`` for int8): the mean is the exact integer sum
    divided by P, as ``np.mean`` gets it, then ``std = sqrt(sum((x -
    mean)**2) / P)`` with NumPy's pairwise sum, as ``np.std`` (NaN for rows
    of no pixel).  ``picked[r, j]`` is the level of the ``ranks[j]``-th
    smallest pixel (0-based; 255 beyond the end); ``extent[r]`` is the
    smallest and largest level present and the number of levels present.
    """
    m, pixels = levels.shape
    squares = np.empty(pixels)
    local = np.zeros((4, 256), np.int64)       # four histograms: fewer stalls on one bin
    stop = pixels - pixels % 4
    for r in range(m):
        row = levels[r]
        local[:] = 0
        for p in range(0, stop, 4):
            local[0, min(row[p], 255)] += 1
            local[1, min(row[p + 1], 255)] += 1
            local[2, min(row[p + 2], 255)] += 1
            local[3, min(row[p + 3], 255)] += 1
        for p in range(stop, pixels):
            local[0, min(row[p], 255)] += 1
        for k in range(256):
            counts[r, k] = (local[0, k] + local[1, k]) + (local[2, k] + local[3, k])
        low = 255
        high = 0
        present = 0
        total = 0.0
        for k in range(256):
            c = counts[r, k]
            if c:
                low = min(low, k)
                high = k
                present += 1
                total += c * values[k]          # integers: exact below 2**53
        extent[r, 0] = low
        extent[r, 1] = high
        extent[r, 2] = present
        for j in range(len(ranks)):
            below = 0
            level = 255
            for k in range(256):
                below += counts[r, k]
                if below > ranks[j]:
                    level = k
                    break
            picked[r, j] = level
        if pixels == 0:
            std[r] = np.nan
            continue
        mean = total / pixels
        for p in range(pixels):
            d = values[min(row[p], 255)] - mean
            squares[p] = d * d
        std[r] = np.sqrt(pairwise_sum(squares, 0, pixels) / pixels)


@njit(nogil=True, cache=True)
def gray8_after(levels, equalized, unit, after, change):
    """Per row: histogram of ``rint(255 * v)`` into ``after`` (m, 256) and mean ``|v - b|``.

    ``equalized`` (m, P) float64 holds ``v`` in [0, 1] (NaN pixels are
    left out of both); ``unit[level]`` is the original's brightness ``b``.
    The mean is NumPy's: pairwise sum of the kept terms over their number
    (NaN for a row with none).
    """
    m, pixels = levels.shape
    terms = np.empty(pixels)
    for r in range(m):
        kept = 0
        for p in range(pixels):
            v = equalized[r, p]
            if v != v:
                continue
            level = np.rint(255.0 * v)
            k = 0 if level < 0 else (255 if level > 255 else int(level))
            after[r, k] += 1
            terms[kept] = abs(v - unit[min(levels[r, p], 255)])
            kept += 1
        change[r] = pairwise_sum(terms, 0, kept) / kept if kept else np.nan


@njit(nogil=True, cache=True)
def histogram256(y, first, last, edges, use, counts):
    """Add ``np.histogram(row, bins=256, range=(first, last))`` of each used row to ``counts``.

    NumPy's equal-bin algorithm on the values as float64 (``y`` of any real
    dtype): only values with ``first <= v <= last`` count (NaN and inf never
    do); the bin is ``int((v - first) / (last - first) * 256)``, the last
    edge closed, then one step down if ``v < edges[k]`` or up if ``v >=
    edges[k + 1]``.  ``edges`` (m, 257) are the rows' ``np.linspace``
    edges; ``use[r]`` False skips row r (a constant or empty row).
    """
    m, pixels = y.shape
    for r in range(m):
        if not use[r]:
            continue
        low = first[r]
        high = last[r]
        delta = high - low
        for p in range(pixels):
            v = np.float64(y[r, p])
            if not (v >= low and v <= high):
                continue
            k = int(((v - low) / delta) * 256)
            k = 0 if k < 0 else (255 if k > 255 else k)
            if v < edges[r, k]:
                if k > 0:
                    k -= 1
            elif k < 255 and v >= edges[r, k + 1]:
                k += 1
            counts[r, k] += 1


@njit(nogil=True, cache=True)
def edge_histograms(small, heights, widths, edges, grays):
    """Histograms of small gray images and of Pillow's ``FIND_EDGES`` of them.

    Image ``r`` is the top-left ``heights[r] x widths[r]`` corner of
    ``small[r]`` (m, S, S) uint8.  ``grays[r]`` (m, 256) receives its
    256-level histogram, ``edges[r]`` that of its edges as Pillow's
    ``ImagingFilter3x3`` makes them (``src/libImaging/Filter.c``): the
    kernel ``8 * centre - the 8 neighbours`` plus 0.5, clamped to 0..255 and
    truncated (so ``clip(sum, 0, 255)`` for these integer sums); the first
    and last row and column are copied from the image, and an image smaller
    than 3x3 is copied whole (``ImagingFilter`` returns a copy).
    """
    m = small.shape[0]
    side_h = small.shape[1]
    side_w = small.shape[2]
    for r in range(m):
        h = min(heights[r], side_h)
        w = min(widths[r], side_w)
        for y in range(h):
            for x in range(w):
                grays[r, small[r, y, x]] += 1
        whole = h < 3 or w < 3
        for y in range(h):
            for x in range(w):
                if whole or y == 0 or y == h - 1 or x == 0 or x == w - 1:
                    edges[r, small[r, y, x]] += 1
                    continue
                s = 9 * np.int64(small[r, y, x])
                for dy in range(-1, 2):
                    for dx in range(-1, 2):
                        s -= np.int64(small[r, y + dy, x + dx])
                edges[r, 0 if s < 0 else (255 if s > 255 else s)] += 1


@njit(nogil=True, cache=True)
def popcount64(x):
    """Number of set bits of a uint64 (the Hamming weight)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(nogil=True, cache=True)
def _root(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]          # path halving
        i = parent[i]
    return i


@njit(nogil=True, cache=True)
def hamming_sets(hashes, radius, shifts, widths, patterns, counts, parent):
    """Join every two of ``hashes`` within ``radius`` differing bits into one set.

    ``hashes`` (n,) uint64 are distinct.  Multi-index hashing (Norouzi,
    Punjani and Fleet, CVPR 2012): the 64 bits are cut into blocks
    (``shifts[b]``, ``widths[b]``); two hashes within ``radius`` bits agree
    within ``radius // len(blocks)`` bits on at least one block (the
    pigeonhole principle), so for each block and hash only the hashes whose
    block equals it up to one of ``patterns[b, :counts[b]]`` (every mask of
    at most that many bits) are compared, found in the hashes sorted by that
    block (a table of where each value starts for blocks of up to 16 bits,
    a binary search for wider ones).  ``parent`` (n,) int64 receives the sets
    as a union-find forest (``parent[i] == i`` for a root; every member's
    root is made direct).  Returns the number of pairs compared.
    """
    n = hashes.shape[0]
    for i in range(n):
        parent[i] = i
    compared = 0
    for b in range(shifts.shape[0]):
        width = widths[b]
        mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1) if width < 64 \
            else np.uint64(0xFFFFFFFFFFFFFFFF)
        keys = (hashes >> np.uint64(shifts[b])) & mask
        order = np.argsort(keys, kind="mergesort")
        ordered = keys[order]
        direct = width <= 16                    # a table of where each block value starts
        starts = np.zeros((1 << width) + 1 if direct else 1, np.int64)
        if direct:
            for i in range(n):
                starts[np.int64(keys[i]) + 1] += 1
            for v in range(1 << width):
                starts[v + 1] += starts[v]
        for i in range(n):
            key = keys[i]
            for p in range(counts[b]):
                target = key ^ patterns[b, p]
                if direct:
                    lo = starts[np.int64(target)]
                    hi = starts[np.int64(target) + 1]
                else:
                    lo = np.searchsorted(ordered, target, side="left")
                    hi = np.searchsorted(ordered, target, side="right")
                for k in range(lo, hi):
                    j = order[k]
                    if j <= i:
                        continue
                    compared += 1
                    if popcount64(hashes[i] ^ hashes[j]) <= radius:
                        a = _root(parent, i)
                        c = _root(parent, j)
                        if a != c:
                            if a < c:
                                parent[c] = a
                            else:
                                parent[a] = c
    for i in range(n):
        parent[i] = _root(parent, i)
    return compared



@njit(nogil=True, cache=True)
def resample_pass(src, starts, counts, weights, out):
    """One pass of Pillow's 8-bit resampling along the first axis of ``src`` (N, R) uint8.

    ``out[o, r] = clip8(2**21 + sum_k src[starts[o] + k, r] * weights[o, k])``
    in 32-bit integers, ``clip8(s)`` being ``s >> 22`` clamped to 0..255, as
    ``_ImagingResampleHorizontal_8bpc`` and ``_ImagingResampleVertical_8bpc``
    compute each pixel (``src/libImaging/Resample.c``; ``weights`` are its
    fixed-point coefficients).  Running along the first axis keeps the R
    columns (every row of every image of a batch) one contiguous vector.
    Indices into ``src`` are clipped to its rows.
    """
    n_out, width = out.shape
    last = src.shape[0] - 1
    acc = np.empty(width, np.int32)
    for o in range(n_out):
        acc[:] = 1 << 21
        for k in range(counts[o]):
            w = weights[o, k]
            row = src[min(max(starts[o] + k, 0), last)]
            for r in range(width):
                acc[r] += np.int32(row[r]) * w
        for r in range(width):
            v = acc[r] >> 22
            out[o, r] = 0 if v < 0 else (255 if v > 255 else v)
