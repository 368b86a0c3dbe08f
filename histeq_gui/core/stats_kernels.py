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

:func:`describe_levels` gives every per-image column of a batch of 8-bit
images of any sizes at once, from their levels and the equalization's value
of each level: gray images from their histogram and one pass over their
pixels for the two sums; colour images from the table of their distinct
(R, G, B) triples (order statistics, distinct luminances, histograms) and
two passes for the sums.

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

__all__ = ["LUMINANCE", "pairwise_leaves", "pairwise_combine", "pairwise_sum", "pil_entropy",
           "quantile_index", "lerp", "gray8_summary", "gray8_after", "histogram256",
           "count_levels", "luminance_tables", "colour_work", "describe_levels",
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
def pairwise_leaves(n, starts, sizes):
    """The leaves of NumPy's pairwise summation tree over ``n`` terms, in order; their number.

    NumPy recurses: above 128 terms it sums the first ``half`` (``n // 2``
    rounded down to a multiple of 8) and the rest separately and adds the
    two.  ``starts`` and ``sizes`` (at least ``n // 64 + 2`` long) receive
    where each leaf (at most 128 terms) begins and how many terms it holds.
    The tree is walked with an explicit stack (numba's disk cache cannot
    hold recursive functions: numba issue #6061).
    """
    if n <= _BLOCK:
        starts[0] = 0
        sizes[0] = n
        return 1
    stack_start = np.empty(128, np.int64)
    stack_size = np.empty(128, np.int64)
    top = 0
    stack_start[0] = 0
    stack_size[0] = n
    count = 0
    while top >= 0:
        first = stack_start[top]
        size = stack_size[top]
        top -= 1
        if size <= _BLOCK:
            starts[count] = first
            sizes[count] = size
            count += 1
        else:
            half = size // 2
            half -= half % 8
            stack_start[top + 1] = first + half         # right part, summed second
            stack_size[top + 1] = size - half
            stack_start[top + 2] = first                # left part, on top: summed first
            stack_size[top + 2] = half
            top += 2
    return count


@njit(nogil=True, cache=True)
def pairwise_combine(n, leaf_sums):
    """Add the sums of :func:`pairwise_leaves`'s leaves as NumPy's tree adds them."""
    if n <= _BLOCK:
        return leaf_sums[0]
    sizes = np.empty(128, np.int64)
    opened = np.zeros(128, np.bool_)
    sums = np.empty(128)
    top = 0
    sizes[0] = n
    found = 0
    leaf = 0
    while top >= 0:
        size = sizes[top]
        if size <= _BLOCK:
            sums[found] = leaf_sums[leaf]
            leaf += 1
            found += 1
            top -= 1
        elif not opened[top]:
            opened[top] = True
            half = size // 2
            half -= half % 8
            sizes[top + 1] = size - half
            opened[top + 1] = False
            sizes[top + 2] = half
            opened[top + 2] = False
            top += 2
        else:
            sums[found - 2] = sums[found - 2] + sums[found - 1]
            found -= 1
            top -= 1
    return sums[0]


@njit(nogil=True, cache=True)
def pairwise_sum(a, start, n):
    """``np.add.reduce(a[start:start + n])`` for float64 ``a``, in NumPy's order."""
    if n <= _BLOCK:
        return _block_sum(a, start, n)
    starts = np.empty(n // 64 + 2, np.int64)
    sizes = np.empty(n // 64 + 2, np.int64)
    count = pairwise_leaves(n, starts, sizes)
    sums = np.empty(count)
    for k in range(count):
        sums[k] = _block_sum(a, start + starts[k], sizes[k])
    return pairwise_combine(n, sums)


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


# ---------------------------------------------------------------- 8-bit images of any size
#
# A batch of 8-bit images of any sizes is one flat uint8 buffer: image i starts at
# offsets[i], holds pixels[i] pixels of channels[i] channels, channel c of pixel p at
# offsets[i] + c * cstride[i] + p * pstride[i] (interleaved: cstride 1, pstride C; planar:
# cstride P, pstride 1).  ``flip`` is 0x80 for int8 data (level = byte ^ 0x80), else 0.

_LOG2E = 1.4426950408889634      # M_LOG2E, as Pillow's _entropy multiplies by it
_DIGIT = 14                      # bits per counting pass of the colour keys
_DIGIT_MASK = (1 << _DIGIT) - 1
_INDEX_BITS = 24                 # a colour's number, packed below its key to sort them
_KEY_WEIGHTS = np.array([241, 691, 68], np.int64)   # 1000 x LUMINANCE


#: CleanVision's luminance weights of R, G and B (``calculate_brightness``).
LUMINANCE = np.array([0.241, 0.691, 0.068])


@njit(nogil=True, cache=True, inline="always")
def _from_zero(v):
    # np.maximum(v - 0.0, 0.0): the channel from a black of 0 (NaN stays NaN)
    v = v - 0.0
    return v if v > 0.0 or v != v else 0.0


@njit(nogil=True, cache=True)
def _check_image(flat, offset, pixels, channels, cstride, pstride):
    last = offset + (channels - 1) * cstride + (pixels - 1) * pstride
    if offset < 0 or pixels < 1 or channels < 1 or cstride < 0 or pstride < 1 \
            or last >= flat.shape[0]:
        raise ValueError("an image of the batch lies outside its buffer")


@njit(nogil=True, cache=True)
def count_levels(flat, offsets, pixels, channels, cstride, pstride, flip, counts):
    """Each image's histogram of each channel: ``counts[i, c, level]`` (m, 4, 256) int64."""
    for i in range(offsets.shape[0]):
        _check_image(flat, offsets[i], pixels[i], channels[i], cstride[i], pstride[i])
        if channels[i] > counts.shape[1]:
            raise ValueError("more channels than histograms")
        off = offsets[i]
        ps = pstride[i]
        for c in range(channels[i]):
            start = off + c * cstride[i]
            local = np.zeros((4, 256), np.int64)
            n = pixels[i]
            stop = n - n % 4
            for p in range(0, stop, 4):
                j = start + p * ps
                local[0, flat[j] ^ flip] += 1
                local[1, flat[j + ps] ^ flip] += 1
                local[2, flat[j + 2 * ps] ^ flip] += 1
                local[3, flat[j + 3 * ps] ^ flip] += 1
            for p in range(stop, n):
                local[0, flat[start + p * ps] ^ flip] += 1
            for k in range(256):
                counts[i, c, k] = (local[0, k] + local[1, k]) + (local[2, k] + local[3, k])


@njit(nogil=True, cache=True)
def pil_entropy(counts, total):
    """Pillow's ``Image.entropy()`` of one histogram, in bits (``_entropy`` in ``_imaging.c``).

    ``p = count / total`` bin by bin in order, empty bins skipped,
    ``entropy -= p * log(p) * M_LOG2E`` with the C library's ``log``;
    ``0.0 - sum`` (so 0.0, not Pillow's -0.0, for one bin).
    """
    acc = 0.0
    for k in range(counts.shape[0]):
        c = counts[k]
        if c:
            p = np.float64(c) / np.float64(total)
            acc += p * np.log(p) * _LOG2E
    return 0.0 - acc


@njit(nogil=True, cache=True)
def quantile_index(n, q):
    """Where ``np.percentile(values, q)`` (linear) looks among ``n`` sorted values.

    NumPy's ``_quantile``: ``(previous, next, gamma)`` from the virtual index
    ``(n - 1) * (q / 100)``, both indexes the last one at or beyond the end.
    """
    virtual = np.float64(n - 1) * (q / 100.0)
    previous = np.floor(virtual)
    if virtual >= n - 1:
        return n - 1, n - 1, virtual + 1.0
    return np.int64(previous), np.int64(previous + 1.0), virtual - previous


@njit(nogil=True, cache=True)
def lerp(a, b, gamma):
    """NumPy's ``_lerp``: ``a + (b - a) * t``, or ``b - (b - a) * (1 - t)`` when ``t >= 0.5``."""
    diff = b - a
    if gamma >= 0.5:
        return b - diff * (1 - gamma)
    return a + diff * gamma


@njit(nogil=True, cache=True)
def _level_at(counts, rank):
    below = 0
    for k in range(256):
        below += counts[k]
        if below > rank:
            return k
    return 255


@njit(nogil=True, cache=True)
def _edges256(first, last, edges):
    """``np.histogram``'s 257 edges over ``[first, last]`` (``np.linspace``).

    False if they do not increase (a range too narrow for 256 float64 bins).
    """
    delta = last - first
    step = delta / 256
    for k in range(256):
        grid = np.float64(k)
        edges[k] = (grid / 256 * delta if step == 0 else grid * step) + first
    edges[256] = last
    for k in range(256):
        if edges[k] >= edges[k + 1]:
            return False
    return True


@njit(nogil=True, cache=True)
def _counting_pass(source, shift, target, n, counts):
    counts[:] = 0
    for t in range(n):
        counts[((source[t] >> shift) & _DIGIT_MASK) + 1] += 1
    for d in range(1 << _DIGIT):
        counts[d + 1] += counts[d]
    for t in range(n):
        v = source[t]
        d = (v >> shift) & _DIGIT_MASK
        target[counts[d]] = v
        counts[d] += 1


@njit(nogil=True, cache=True)
def _radix_order(keys, n, order, spare):
    """``order[:n]``: the indexes of ``keys[:n]`` in ascending order of key, stable.

    The keys are integers in ``[0, 2**28)``, sorted by two counting passes
    of 14 bits.

    Each key is sorted with its index packed below it (``key << 24 | index``,
    indexes below ``2**24``), so the passes read their input in order
    rather than looking each key up through the order so far.
    """
    for e in range(n):
        order[e] = (keys[e] << _INDEX_BITS) | e
    counts = np.zeros((1 << _DIGIT) + 1, np.int64)
    _counting_pass(order, _INDEX_BITS, spare, n, counts)
    _counting_pass(spare, _INDEX_BITS + _DIGIT, order, n, counts)
    for t in range(n):
        order[t] &= (1 << _INDEX_BITS) - 1


@njit(nogil=True, cache=True)
def _by_value(values, keys, n, exact, order, spare):
    """``order[:n]``: the indexes of ``values[:n]`` in ascending order of value.

    ``exact``: ``keys`` are integers whose order is the values' order
    wherever two keys differ (CleanVision's luminance of integer channels:
    ``241 r**2 + 691 g**2 + 68 b**2``, see :func:`describe_levels`), so the
    values are put in order by a counting sort of their keys and only runs
    of equal keys are sorted by value; otherwise by value directly.
    """
    if not exact:
        for e in range(n):
            order[e] = e
        _sort_run(values, order, 0, n, spare)
        return
    _radix_order(keys, n, order, spare)
    start = 0
    while start < n:
        stop = start + 1
        key = keys[order[start]]
        while stop < n and keys[order[stop]] == key:
            stop += 1
        if stop - start > 1:
            _sort_run(values, order, start, stop, spare)
        start = stop


@njit(nogil=True, cache=True)
def _sort_run(values, order, start, stop, spare):
    """Put ``order[start:stop]`` in ascending order of value (stable); ``spare`` is scratch.

    Insertion sort for short runs, else a bottom-up merge sort (a loop of
    its own rather than ``np.argsort``, whose compiled sorts take seconds
    to compile on first use).
    """
    ordered = True
    for t in range(start + 1, stop):
        if values[order[t]] < values[order[t - 1]]:
            ordered = False
            break
    if ordered:
        return
    if stop - start <= 32:
        for t in range(start + 1, stop):          # insertion sort
            e = order[t]
            v = values[e]
            u = t
            while u > start and values[order[u - 1]] > v:
                order[u] = order[u - 1]
                u -= 1
            order[u] = e
        return
    width = 1
    in_spare = False                    # where the sorted pieces are: order or spare
    while width < stop - start:
        a = spare if in_spare else order
        b = order if in_spare else spare
        lo = start
        while lo < stop:
            mid = min(lo + width, stop)
            hi = min(lo + 2 * width, stop)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if values[a[j]] < values[a[i]]:
                    b[k] = a[j]
                    j += 1
                else:
                    b[k] = a[i]
                    i += 1
                k += 1
            while i < mid:
                b[k] = a[i]
                i += 1
                k += 1
            while j < hi:
                b[k] = a[j]
                j += 1
                k += 1
            lo = hi
        in_spare = not in_spare
        width *= 2
    if in_spare:
        for t in range(start, stop):
            order[t] = spare[t]


@njit(nogil=True, cache=True)
def _triples(flat, off, n, cs, ps, flip, table, used, bits, weight, index):
    """Number the distinct (R, G, B) level triples of an image in order of first appearance.

    ``index[p]`` receives the number of pixel ``p``'s triple, ``weight[e]``
    how often triple ``e`` occurs, ``used[e]`` its slot in ``table``; returns
    their number, or -1 when there are more than ``used`` can hold (the
    slots taken are listed all the same).  ``table`` is an open-addressing
    hash table of ``1 << bits`` slots (at least twice as many as it may
    hold, so it never fills), each ``key << 32 | number`` (-1 when free),
    freed again by the caller.  Numbering the pixels once lets every later pass look a
    pixel's values up by its triple instead of computing them per pixel.
    """
    mask = (1 << bits) - 1
    shift = 32 - bits
    room = used.shape[0]
    found = 0
    previous = -1
    e = 0
    for p in range(n):
        j = off + p * ps
        key = ((np.int64(flat[j] ^ flip) << 16) | (np.int64(flat[j + cs] ^ flip) << 8)
               | np.int64(flat[j + 2 * cs] ^ flip))
        if key != previous:
            slot = ((key * 2654435769) & 0xFFFFFFFF) >> shift
            while True:
                held = table[slot]
                if held == -1:
                    if found == room:
                        return -1
                    table[slot] = (key << 32) | found
                    used[found] = slot
                    weight[found] = 0
                    e = found
                    found += 1
                    break
                if (held >> 32) == key:
                    e = held & 0xFFFFFFFF
                    break
                slot = (slot + 1) & mask
            previous = key
        weight[e] += 1
        index[p] = e
    return found


@njit(nogil=True, cache=True)
def _walk(values, weights, order, n, ranks, picked, hist, edges):
    """Walk the ascending ``values[order[:n]]``, each value ``e`` occurring ``weights[e]`` times.

    ``n >= 1``.  The values at ``ranks`` (0-based, ascending) into ``picked``, and
    ``np.histogram(values, bins=256)`` over their range into ``hist`` (a constant: all in bin
    128).  Returns the number of distinct values and False when the range is too narrow for
    256 float64 bins.

    In ascending order a value's bin is the last edge at or below it, so the bins are found by
    moving along the edges.  This is the bin ``np.histogram`` gives: its
    ``int((v - low) / (high - low) * 256)``, moved one bin by its check against the edges, is
    never two bins off the edges' answer while a bin spans more than a few float64 steps
    (8-bit luminances are 1e-6 apart at least, their bins at most 256 times narrower).
    """
    low = values[order[0]]
    high = values[order[n - 1]]
    hist[:] = 0
    flat = not high > low
    wide = flat or _edges256(low, high, edges)
    k = 128 if flat else 0
    distinct = 0
    below = 0
    r = 0
    for t in range(n):
        e = order[t]
        v = values[e]
        if t == 0 or v != values[order[t - 1]]:
            distinct += 1
            while not flat and k < 255 and v >= edges[k + 1]:
                k += 1
        hist[k] += weights[e]
        below += weights[e]
        while r < ranks.shape[0] and ranks[r] < below:
            picked[r] = v
            r += 1
    return distinct, wide


@njit(nogil=True, cache=True)
def _gray_image(h, n, luts, value, unit, flat, off, ps, flip, ranks, gammas, work, out):
    """The columns of a gray image from its histogram ``h`` (see :func:`describe_levels`)."""
    leaf_start, leaf_size, leaf1, leaf2, buf1, buf2, hist = work
    total = 0.0
    low = 255
    high = 0
    distinct = 0
    for k in range(256):
        if h[k]:
            low = min(low, k)
            high = k
            distinct += 1
            total += h[k] * value[k]            # integers: exact below 2**53
    mean = total / n
    level = np.empty(6, np.int64)
    for j in range(6):
        level[j] = _level_at(h, ranks[j])
    out[4] = lerp(value[level[0]], value[level[1]], gammas[0])
    out[6] = lerp(unit[level[2]], unit[level[3]], gammas[1])
    out[5] = lerp(value[level[4]], value[level[5]], gammas[2])
    out[7] = lerp(unit[level[4]], unit[level[5]], gammas[2])
    out[8] = pil_entropy(h, n)
    hist[:] = 0
    for k in range(256):
        if h[k]:
            after = np.rint(255.0 * luts[0, k])
            hist[0 if after < 0 else (255 if after > 255 else int(after))] += h[k]
    distinct_after = 0
    for k in range(256):
        distinct_after += hist[k] > 0
    out[10] = pil_entropy(hist, n)
    squares = np.empty(256)
    changes = np.empty(256)
    for k in range(256):
        d = value[k] - mean
        squares[k] = d * d
        changes[k] = abs(luts[0, k] - unit[k])
    count = pairwise_leaves(n, leaf_start, leaf_size)
    for leaf in range(count):
        first = off + leaf_start[leaf] * ps
        for p in range(leaf_size[leaf]):
            v = flat[first + p * ps] ^ flip
            buf1[p] = squares[v]
            buf2[p] = changes[v]
        leaf1[leaf] = _block_sum(buf1, 0, leaf_size[leaf])
        leaf2[leaf] = _block_sum(buf2, 0, leaf_size[leaf])
    out[0] = mean
    out[1] = np.sqrt(pairwise_combine(n, leaf1[:count]) / n)
    out[2] = value[low]
    out[3] = value[high]
    out[11] = pairwise_combine(n, leaf2[:count]) / n
    return distinct, distinct_after


@njit(nogil=True, cache=True)
def _colour_image(flat, off, n, cs, ps, flip, luts, lo, span, add_lo, tq, kq, exact, ranks,
                  gammas, work, colour, out):
    """The columns of a colour image, from the luminance of its pixels.

    See :func:`describe_levels`.  Its flag: 1 when its luminances span too narrow a range, 2 when
    it holds more distinct triples than the scratch arrays have room for, else 0.
    """
    leaf_start, leaf_size, leaf1, leaf2, buf1, buf2, hist = work
    table, used, ye, ya, key, key_after, weight, order, spare, edges, index, change = colour
    te = np.empty((3, 256))
    ta = np.empty((3, 256))
    ka = np.empty((3, 256), np.int64)
    exact_after = True
    for c in range(3):
        for k in range(256):
            e = _from_zero(luts[c, k])
            te[c, k] = LUMINANCE[c] * (e * e)
            e = _from_zero(np.rint(255 * luts[c, k]))
            ta[c, k] = LUMINANCE[c] * (e * e)
            if not 0 <= e <= 511:
                exact_after = False
            else:
                ka[c, k] = _KEY_WEIGHTS[c] * np.int64(e) * np.int64(e)
    bits = 4
    while (1 << bits) < 2 * min(n, used.shape[0]) and bits < 25:
        bits += 1
    found = _triples(flat, off, n, cs, ps, flip, table, used, bits, weight, index)
    if found < 0:                       # more triples than room: freed, described again
        for e in range(used.shape[0]):
            table[used[e]] = -1
        return 0, 0, 2
    # Each value a pixel contributes is a function of its triple: computed once per triple.
    for e in range(found):
        slot = used[e]
        triple = table[slot] >> 32
        table[slot] = -1
        r = triple >> 16
        g = (triple >> 8) & 255
        b = triple & 255
        y = np.sqrt((tq[0, r] + tq[1, g]) + tq[2, b])
        if add_lo:
            y += lo
        ye[e] = y
        ya[e] = np.sqrt((ta[0, r] + ta[1, g]) + ta[2, b])
        v = np.sqrt((te[0, r] + te[1, g]) + te[2, b])
        change[e] = abs(v - (y - lo) / span)
        if exact:
            key[e] = (kq[0, r] + kq[1, g]) + kq[2, b]
        if exact_after:
            key_after[e] = (ka[0, r] + ka[1, g]) + ka[2, b]
    picked = np.empty(6)
    _by_value(ye, key, found, exact, order, spare)
    distinct, wide = _walk(ye, weight, order, found, ranks, picked, hist, edges)
    out[2] = ye[order[0]]
    out[3] = ye[order[found - 1]]
    out[4] = lerp(picked[0], picked[1], gammas[0])
    out[6] = lerp((picked[2] - lo) / span, (picked[3] - lo) / span, gammas[1])
    out[5] = lerp(picked[4], picked[5], gammas[2])
    out[7] = lerp((picked[4] - lo) / span, (picked[5] - lo) / span, gammas[2])
    out[8] = pil_entropy(hist, n)
    _by_value(ya, key_after, found, exact_after, order, spare)
    distinct_after, wide_after = _walk(ya, weight, order, found, ranks[:0], picked, hist, edges)
    wide &= wide_after
    out[10] = pil_entropy(hist, n)
    # mean and mean change, then std: NumPy's pairwise sums over the pixels in order
    count = pairwise_leaves(n, leaf_start, leaf_size)
    for leaf in range(count):
        first = leaf_start[leaf]
        for p in range(leaf_size[leaf]):
            e = index[first + p]
            buf1[p] = ye[e]
            buf2[p] = change[e]
        leaf1[leaf] = _block_sum(buf1, 0, leaf_size[leaf])
        leaf2[leaf] = _block_sum(buf2, 0, leaf_size[leaf])
    mean = pairwise_combine(n, leaf1[:count]) / n
    out[0] = mean
    out[11] = pairwise_combine(n, leaf2[:count]) / n
    for e in range(found):
        d = ye[e] - mean
        change[e] = d * d
    for leaf in range(count):
        first = leaf_start[leaf]
        for p in range(leaf_size[leaf]):
            buf1[p] = change[index[first + p]]
        leaf1[leaf] = _block_sum(buf1, 0, leaf_size[leaf])
    out[1] = np.sqrt(pairwise_combine(n, leaf1[:count]) / n)
    return distinct, distinct_after, 0 if wide else 1


def luminance_tables(channel):
    """The terms of CleanVision's luminance for each level, for :func:`describe_levels`.

    ``channel[level]`` (256,) float64 is a level's channel value from the
    black of the scale.  Returns ``tq`` (3, 256), ``0.241 * (v * v)``,
    ``0.691 * (v * v)`` and ``0.068 * (v * v)`` (summed in that order and
    square-rooted, as NumPy computes the luminance); ``kq`` (3, 256) int64,
    the same with the weights times 1000 (``241 v**2``, ...), and ``exact``:
    True when every value is an integer of at most 511, so that two triples
    whose ``kq`` sums differ have luminances in that order.
    """
    channel = np.asarray(channel, np.float64)
    squares = channel * channel
    tq = LUMINANCE[:, None] * squares[None, :]
    exact = bool(np.all(channel == np.rint(channel)) and np.all(np.abs(channel) <= 511))
    kq = _KEY_WEIGHTS[:, None] * squares.astype(np.int64)[None, :] if exact else \
        np.zeros((3, 256), np.int64)
    return tq, kq, exact


def colour_work(most, room=1 << 17):
    """Scratch arrays of :func:`describe_levels` for colour images of at most ``most`` pixels.

    Made once and handed to every call: fresh memory of this size (tens of
    megabytes for a large photograph) costs more to fault in than the
    images take to describe.  One array has a place per pixel; the others a
    place per distinct (R, G, B) triple, ``room`` of them (at most ``most``):
    a photograph holds far fewer triples than pixels, and an image with more
    is flagged to be described again with more room.
    """
    top = max(int(most), 1)
    room = max(min(int(room), top), 1)
    size = 16
    while size < 2 * room:
        size *= 2
    return (np.full(size, -1, np.int64), np.empty(room, np.int64), np.empty(room),
            np.empty(room), np.zeros(room, np.int64), np.zeros(room, np.int64),
            np.empty(room, np.int64), np.empty(room, np.int64), np.empty(room, np.int64),
            np.empty(257), np.empty(top, np.int32), np.empty(room))


@njit(nogil=True, cache=True)
def describe_levels(flat, offsets, pixels, channels, cstride, pstride, flip, counts, luts,
                    value, unit, lo, span, add_lo, tq, kq, exact, colour, floats, ints):
    """Every per-image column of a batch of 8-bit images, from their levels and equalization maps.

    ``counts`` are :func:`count_levels`'s; ``luts[i, c]`` (m, 3, 256) the
    equalized value of each level of channel ``c`` (the method's map of that
    channel's histogram, as ``equalize`` gives it); ``value[level]`` a
    level's pixel value, ``unit[level]`` its brightness ``(value - lo) /
    span``.  Gray images (1 or 2 channels: the first) are described from
    their histogram.  Colour ones (3 or 4) by their luminance per pixel,
    CleanVision's ``sqrt(0.241 r**2 + 0.691 g**2 + 0.068 b**2)`` of the
    channels from ``lo`` (``tq[c, level]`` holds each term, ``add_lo`` says
    whether ``lo`` is added back), through the table of their distinct
    (R, G, B) triples: their luminances are put in order by the integer
    ``kq[0, r] + kq[1, g] + kq[2, b]`` (``241 r**2 + 691 g**2 + 68 b**2``,
    ``exact`` when the channels from ``lo`` are integers of at most 511):
    two triples whose integers differ have luminances in the same order,
    ``1e-6`` apart at least, far beyond the float64 rounding of either.

    ``floats[i]`` receives mean, std, min, max, p01, p99, b05, b99,
    entropy, band entropy, entropy after, mean change; ``ints[i]``
    distinct, distinct after, constant, and 1 when the image must be
    described otherwise (a colour image whose luminances span too narrow a
    range for 256 float64 bins), 2 when it holds more distinct triples than
    the scratch arrays have room for.  ``colour`` is :func:`colour_work`'s
    scratch arrays, for colour images of at most as many pixels (its hash
    table is left free, as it was given).  The sums are NumPy's pairwise sums in
    pixel order, so every value equals the NumPy computation bit for bit.
    """
    m = offsets.shape[0]
    most = 1
    colour_most = 1
    for i in range(m):
        _check_image(flat, offsets[i], pixels[i], channels[i], cstride[i], pstride[i])
        if channels[i] > counts.shape[1] or (channels[i] > 2 and cstride[i] < 1):
            raise ValueError("an image's channels do not match the batch")
        most = max(most, pixels[i])
        if channels[i] > 2:
            colour_most = max(colour_most, pixels[i])
    leaves = most // 64 + 2
    work = (np.empty(leaves, np.int64), np.empty(leaves, np.int64), np.empty(leaves),
            np.empty(leaves), np.empty(_BLOCK), np.empty(_BLOCK), np.zeros(256, np.int64))
    room = colour[1].shape[0]
    shortest = min(colour[2].shape[0], colour[3].shape[0], colour[4].shape[0],
                   colour[5].shape[0], colour[6].shape[0], colour[7].shape[0],
                   colour[8].shape[0], colour[11].shape[0])
    slots = 16
    while slots < 2 * room:
        slots *= 2
    if colour_most > colour[10].shape[0] or shortest < room or \
            colour[0].shape[0] < slots or room > 1 << _INDEX_BITS:
        raise ValueError("the colour scratch arrays are too small for the batch")
    ranks = np.empty(6, np.int64)
    gammas = np.empty(3)
    band = np.zeros(4 * 256, np.int64)
    for i in range(m):
        n = pixels[i]
        ch = channels[i]
        for j, q in enumerate((1.0, 5.0, 99.0)):
            a, b, g = quantile_index(n, q)
            ranks[2 * j] = a
            ranks[2 * j + 1] = b
            gammas[j] = g
        # low information: the bands' histograms concatenated; constant: one level per band
        constant = 1
        for c in range(ch):
            present = 0
            for k in range(256):
                band[c * 256 + k] = counts[i, c, k]
                present += counts[i, c, k] > 0
            if present > 1:
                constant = 0
        floats[i, 9] = pil_entropy(band[:ch * 256], ch * n)
        flag = 0
        if ch <= 2:
            distinct, distinct_after = _gray_image(counts[i, 0], n, luts[i], value, unit, flat,
                                                   offsets[i], pstride[i], flip, ranks, gammas,
                                                   work, floats[i])
            if ch == 1:
                floats[i, 9] = floats[i, 8]
        else:
            distinct, distinct_after, flag = _colour_image(
                flat, offsets[i], n, cstride[i], pstride[i], flip, luts[i], lo, span, add_lo,
                tq, kq, exact, ranks, gammas, work, colour, floats[i])
        ints[i, 0] = distinct
        ints[i, 1] = distinct_after
        ints[i, 2] = constant
        ints[i, 3] = flag
