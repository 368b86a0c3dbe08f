"""Compiled CLAHE loops (numba): scikit-image's and OpenCV's, over blocks of whole images.

Both CLAHE variants cut each image into tiles, clip each tile's histogram,
turn it into a map and blend the maps of the four tiles around every pixel
bilinearly; they differ in every detail (padding, levels, clipping,
redistribution, rounding), and each kernel here repeats its reference's
arithmetic operation for operation:

:func:`skimage_clahe`
    ``skimage.exposure.equalize_adapthist`` (scikit-image 0.26,
    ``exposure/_adapthist.py``) from the image's 16-bit values on: the
    rescale of its min..max to 14 bits, ``nbins`` bins, ``clip_histogram``'s
    redistribution loop, ``map_histogram``, the float32 blend and the final
    rescale to [0, 1].
:func:`opencv_clahe`
    ``cv2.createCLAHE(clipLimit, tileGridSize).apply`` (OpenCV
    ``modules/imgproc/src/clahe.cpp``) on integer levels: the tile grid with
    its BORDER_REFLECT_101 extension, the clip in mean-bin units, the
    residual step, the single precision look-up tables and blend, rounded
    half to even.

A kernel takes a block ``(n, H, W)`` of images and fills ``out`` ``(n, H,
W)`` float64, image by image, releasing the GIL.  Only the images' own
pixels are read (tiles beyond the image edge read reflected pixels through
index tables, never a padded copy), every index is clamped into its table,
and a block whose companions do not fit raises ValueError: wrong input
gives wrong values, never a wrong address.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["skimage_clahe", "skimage_clahe_rows", "skimage_clahe_rescale", "opencv_clahe",
           "opencv_clahe_luts", "opencv_clahe_rows", "GRAY_LEVELS"]

GRAY_LEVELS = 2 ** 14       # scikit-image's NR_OF_GRAY: the levels its CLAHE works in


@njit(nogil=True, cache=True, inline="always")
def _reflect(p, n):
    # Index p (any integer) of an axis of n pixels extended by reflection
    # without repeating the edge: np.pad's "reflect" and OpenCV's
    # BORDER_REFLECT_101, both periodic with period 2 (n - 1) however far
    # they reach.
    if n == 1:
        return 0
    period = 2 * (n - 1)
    p %= period
    return period - p if p >= n else p


@njit(nogil=True, cache=True, inline="always")
def _round_half_even(v):
    # np.rint / np.round for one float64.
    whole = np.floor(v)
    rest = v - whole
    if rest > 0.5 or (rest == 0.5 and whole % 2 != 0):
        whole += 1.0
    return whole


@njit(nogil=True, cache=True, inline="always")
def _check_block(x, out):
    # An output of the block's own image shape, with room for every image.
    if out.shape[0] < x.shape[0] or out.shape[1] != x.shape[1] or out.shape[2] != x.shape[2]:
        raise ValueError("the output does not fit the block")


# ------------------------------------------------------------------ scikit-image


@njit(nogil=True, cache=True, inline="always")
def _gray(u, low, high):
    # rescale_intensity(u, in_range=(low, high), out_range=(0, 16383)),
    # rounded half to even: clip, (u - low) / (high - low) * 16383 in float64;
    # a constant range clips u itself to 0..16383.
    top = np.float64(GRAY_LEVELS - 1)
    if high > low:
        v = np.float64(u)
        if v < low:
            v = low
        elif v > high:
            v = high
        return _round_half_even((v - low) / (high - low) * top)
    return min(np.float64(u), top)


@njit(nogil=True, cache=True, inline="always")
def _cap(hist, n, limit):
    """Cut ``hist[:n]`` at ``limit`` in place; the counts cut off, in all."""
    excess = 0
    for k in range(n):
        if hist[k] > limit:
            excess += hist[k] - limit
            hist[k] = limit
    return excess


@njit(nogil=True, cache=True)
def _clip_histogram(h, clim):
    # scikit-image's clip_histogram, in place, step for step.  The count of
    # bins under the limit is kept up to date instead of counted again for
    # every start index (the same numbers, without its O(bins**2) cost).
    size = h.shape[0]
    n_excess = _cap(h, size, clim)
    bin_incr = n_excess // size
    if bin_incr > 0:            # else the next two passes change nothing
        upper = clim - bin_incr
        for k in range(size):
            if h[k] < upper:
                h[k] += bin_incr
                n_excess -= bin_incr
        # Bins the first pass lifted to upper or beyond are taken here too.
        for k in range(size):
            if h[k] >= upper and h[k] < clim:
                n_excess += h[k] - clim
                h[k] = clim
    if n_excess <= 0:
        return
    under = 0
    for k in range(size):
        if h[k] < clim:
            under += 1
    while n_excess > 0:
        previous = n_excess
        for index in range(size):
            if under == 0:
                return          # nothing can change any more: scikit-image stops too
            step = max(1, under // n_excess)
            for j in range(index, size, step):
                if h[j] < clim:
                    h[j] += 1
                    n_excess -= 1
                    if h[j] == clim:
                        under -= 1
            if n_excess <= 0:
                break
        if previous == n_excess:
            break


@njit(nogil=True, cache=True)
def _skimage_tile_row(src, base, lut, W, t, kh, kw, rsrc, csrc, clim, clip, scale, hist,
                      partial, total, maps):
    # The maps of tile row t: each tile's histogram of bins (lut[src - base])
    # over its kh x kw pixels (rows and columns beyond the image reflected),
    # clipped, then map_histogram: int(min(cumsum * (16383 / pixels), 16383)).
    # Tiles of many pixels per bin are counted in four partial histograms
    # taking turns, so that runs of equal pixels do not wait on one counter.
    nx, used = maps.shape
    top = np.float64(GRAY_LEVELS - 1)
    split = partial.shape[1] == hist.shape[0]
    for tj in range(nx):
        c0 = tj * kw
        inside = c0 + kw <= W
        if split and inside:
            partial[:, :] = 0
            stop = c0 + kw - kw % 4
            for p in range(t * kh, (t + 1) * kh):
                row = rsrc[p] * W
                for q in range(row + c0, row + stop, 4):
                    partial[0, np.uintp(lut[np.uintp(np.int64(src[q]) - base)])] += 1
                    partial[1, np.uintp(lut[np.uintp(np.int64(src[q + 1]) - base)])] += 1
                    partial[2, np.uintp(lut[np.uintp(np.int64(src[q + 2]) - base)])] += 1
                    partial[3, np.uintp(lut[np.uintp(np.int64(src[q + 3]) - base)])] += 1
                for q in range(row + stop, row + c0 + kw):
                    partial[0, np.uintp(lut[np.uintp(np.int64(src[q]) - base)])] += 1
            for b in range(hist.shape[0]):
                hist[b] = partial[0, b] + partial[1, b] + partial[2, b] + partial[3, b]
        else:
            hist[:] = 0
            for p in range(t * kh, (t + 1) * kh):
                row = rsrc[p] * W
                if inside:
                    for q in range(row + c0, row + c0 + kw):
                        hist[np.uintp(lut[np.uintp(np.int64(src[q]) - base)])] += 1
                else:
                    for q in range(c0, c0 + kw):
                        hist[np.uintp(lut[np.uintp(np.int64(src[row + csrc[q]]) - base)])] += 1
        if clip:
            _clip_histogram(hist, clim)
        running = 0
        for b in range(used):
            running += hist[b]
            total[b] = running
        for b in range(used):
            maps[tj, b] = np.float64(np.int64(min(np.float64(total[b]) * scale, top)))


@njit(nogil=True, cache=True)
def _skimage_image(src, base, lut, H, W, kh, kw, rsrc, csrc, left, right, cw, clim, clip,
                   scale, hist, partial, total, maps, result, r0, r1):
    # Rows r0 .. r1 - 1 of one image's CLAHE from each pixel's bin
    # lut[src - base], before the final rescale: result gets the uint16
    # values scikit-image's _clahe returns there.  Returns their min and max.
    # Bands of kh rows of the padded image (kh // 2 rows before the image):
    # band b blends tile rows b - 1 and b (clamped), so the maps are made one
    # tile row ahead and kept for two rows; rows from r0 on need the maps from
    # their first band's upper tile row on, and no others.
    nx = maps.shape[1]
    used = maps.shape[2]
    ny = (H + kh - 1) // kh
    r0 = max(r0, 0)
    r1 = min(r1, H)
    rmin = np.uint16(65535)
    rmax = np.uint16(0)
    if r0 >= r1:
        return rmin, rmax
    first = (r0 + kh // 2) // kh
    made = min(max(first - 1, 0), ny - 1) - 1
    for band in range(first, (r1 - 1 + kh // 2) // kh + 1):
        upper_row = min(max(band - 1, 0), ny - 1)
        lower_row = min(band, ny - 1)
        while made < lower_row:
            made += 1
            _skimage_tile_row(src, base, lut, W, made, kh, kw, rsrc, csrc, clim, clip, scale,
                              hist, partial, total, maps[made % 2])
        above = maps[upper_row % 2].reshape(nx * used)
        below = maps[lower_row % 2].reshape(nx * used)
        for r in range(max(band * kh - kh // 2, r0), min((band + 1) * kh - kh // 2, r1)):
            rw = ((r + kh // 2) % kh) / kh
            rw1 = 1.0 - rw
            row = r * W
            for c in range(W):
                # Unsigned indices: in range by construction, and no
                # negative-index arithmetic in the hot loop.
                k = np.uintp(row + c)
                u = np.uintp(c)
                b = np.uintp(lut[np.uintp(np.int64(src[k]) - base)])
                w = cw[u]
                w1 = 1.0 - w
                # result += (map * weight).astype(float32), tile by tile.
                value = np.float32(above[np.uintp(left[u] + b)] * (w1 * rw1))
                value += np.float32(above[np.uintp(right[u] + b)] * (w * rw1))
                value += np.float32(below[np.uintp(left[u] + b)] * (w1 * rw))
                value += np.float32(below[np.uintp(right[u] + b)] * (w * rw))
                g = np.uint16(value)
                result[k] = g
                rmin = min(rmin, g)
                rmax = max(rmax, g)
    return rmin, rmax


@njit(nogil=True, cache=True)
def _skimage_rescale(result, rmin, rmax, single, finals, target):
    # rescale_intensity(result.astype(float)) to [0, 1], in float32 for
    # float32 images, through a table of the finals when that is smaller than
    # the image; a constant result is clipped to [0, 1] instead.
    npix = target.shape[0]
    low = np.float64(rmin)
    span = np.float64(rmax) - low
    width = np.int64(rmax) - np.int64(rmin) + 1
    if rmax == rmin:
        for k in range(npix):
            target[k] = min(np.float64(result[k]), 1.0)
    elif width <= finals.shape[0] and width <= npix:
        for k in range(width):
            if single:
                finals[k] = np.float32(k) / np.float32(span)
            else:
                finals[k] = k / span
        for k in range(npix):
            target[k] = finals[np.uintp(min(max(np.int64(result[k]) - np.int64(rmin), 0),
                                            width - 1))]
    elif single:
        for k in range(npix):
            target[k] = (np.float32(result[k]) - np.float32(low)) / np.float32(span)
    else:
        for k in range(npix):
            target[k] = (np.float64(result[k]) - low) / span


@njit(nogil=True, cache=True)
def _skimage_setup(H, W, kh, kw, clip_limit, nbins):
    # What every row of an image of H x W pixels needs besides its bins: the
    # clip, the reflected rows and columns of the tiles, each column's tiles
    # and weight, and the scratch of the maps.
    if kh < 1 or kw < 1 or nbins < 1:
        raise ValueError("kernel sizes and bins must be positive")
    ny = (H + kh - 1) // kh
    nx = (W + kw - 1) // kw
    bin_size = 1 + GRAY_LEVELS // nbins
    used = min((GRAY_LEVELS - 1) // bin_size + 1, nbins)
    pixels = kh * kw
    if clip_limit > 0.0:
        clim = np.int64(max(clip_limit * pixels, 1.0))
    else:
        clim = np.int64(pixels)
    clip = clim < pixels          # else clip_histogram changes nothing
    scale = np.float64(GRAY_LEVELS - 1) / pixels

    rsrc = np.empty(ny * kh, np.int64)
    for p in range(ny * kh):
        rsrc[p] = _reflect(p, H)
    csrc = np.empty(nx * kw, np.int64)
    for q in range(nx * kw):
        csrc[q] = _reflect(q, W)
    # Per column: where the left and right tiles' maps start in a row of maps,
    # and the right one's weight, as scikit-image's blocks of kw columns from
    # the padded image's start (kw // 2 before the image) and
    # np.arange(kw) / kw give them.
    left = np.empty(W, np.int64)
    right = np.empty(W, np.int64)
    cw = np.empty(W, np.float64)
    for c in range(W):
        pc = c + kw // 2
        block = pc // kw
        left[c] = min(max(block - 1, 0), nx - 1) * used
        right[c] = min(block, nx - 1) * used
        cw[c] = (pc % kw) / kw
    hist = np.zeros(nbins, np.int64)
    total = np.zeros(used, np.int64)
    # Four partial histograms for tiles of at least 16 pixels per bin.
    partial = np.zeros((4, nbins if pixels >= 16 * nbins else 0), np.int64)
    maps = np.empty((2, nx, used), np.float64)
    return (bin_size, used, clim, clip, scale, rsrc, csrc, left, right, cw, hist, total, partial,
            maps)


@njit(nogil=True, cache=True)
def _skimage_range(image, factor, ranges, i):
    # Image i's lowest value, its count of values lo .. hi, and the 16-bit
    # range its values are rescaled from to 14 bits: its own min..max (times
    # factor; no ranges) or ranges[i].
    lo = image[0]
    hi = image[0]
    for k in range(image.shape[0]):
        lo = min(lo, image[k])
        hi = max(hi, image[k])
    if ranges.shape[1] < 2:
        raise ValueError("a range is two numbers")
    if ranges.shape[0] == 0:
        low = np.float64(lo) * factor
        high = np.float64(hi) * factor
    else:
        low = ranges[i, 0]
        high = ranges[i, 1]
    return np.int64(lo), np.int64(hi) - np.int64(lo) + 1, low, high


@njit(nogil=True, cache=True)
def _skimage_lut(base, width, factor, low, high, bin_size, used, lut):
    # lut[k]: the bin of value base + k, for k below width (at most lut's size).
    for k in range(min(width, lut.shape[0])):
        g = _gray((base + k) * factor, low, high)
        lut[k] = min(np.int64(g) // bin_size, used - 1)


@njit(nogil=True, cache=True)
def skimage_clahe(x, factor, ranges, kh, kw, clip_limit, nbins, single, out):
    """``equalize_adapthist`` of each image of a block of 16-bit values.

    Parameters
    ----------
    x : ndarray of uint8 or uint16, shape (n, H, W), C-contiguous
        ``img_as_uint`` of each image, divided by ``factor``: uint8 images as
        they are (``factor`` 257), uint16 as they are (1), floats converted
        by ``img_as_uint`` first (1).
    factor : int
        257 for uint8 pixels (``img_as_uint`` multiplies them by 257), else 1.
    ranges : ndarray of float64, shape (n, 2) or (0, 2)
        The 16-bit range ``(low, high)`` each image's values are rescaled
        from to 14 bits, or none: each image's own min..max (scikit-image).
    kh, kw : int
        ``kernel_size`` per axis (at least 1).
    clip_limit : float
        scikit-image's ``clip_limit`` (0: no clipping).
    nbins : int
        Bins of each tile's histogram (1 to 65536).
    single : bool
        True where scikit-image computes the final rescale in float32 (float32
        images).
    out : ndarray of float64, shape (n, H, W), C-contiguous
        The results, in [0, 1].
    """
    _check_block(x, out)
    n, H, W = x.shape
    (bin_size, used, clim, clip, scale, rsrc, csrc, left, right, cw, hist, total, partial,
     maps) = _skimage_setup(H, W, kh, kw, clip_limit, nbins)
    if ranges.shape[0] != 0 and ranges.shape[0] < n:
        raise ValueError("fewer ranges than images")
    npix = H * W
    if n == 0 or npix == 0:
        return
    # Each pixel's bin goes through a table over the image's lo..hi; an image
    # smaller than that table (under 65536 pixels) has its bins computed
    # once instead, into `levels`, read through an identity table.
    lut = np.empty(65536, np.uint16)
    identity = np.arange(used).astype(np.uint16)
    levels = np.empty(npix if npix < 65536 else 0, np.uint16)
    finals = np.empty(GRAY_LEVELS, np.float64)
    result = np.empty(npix, np.uint16)
    for i in range(n):
        image = x[i].reshape(npix)
        target = out[i].reshape(npix)
        base, width, low, high = _skimage_range(image, factor, ranges, i)
        if width <= npix:
            _skimage_lut(base, width, factor, low, high, bin_size, used, lut)
            rmin, rmax = _skimage_image(image, base, lut, H, W, kh, kw, rsrc, csrc, left,
                                        right, cw, clim, clip, scale, hist, partial, total,
                                        maps, result, 0, H)
        else:
            for k in range(npix):
                g = _gray(np.int64(image[k]) * factor, low, high)
                levels[k] = min(np.int64(g) // bin_size, used - 1)
            rmin, rmax = _skimage_image(levels, 0, identity, H, W, kh, kw, rsrc, csrc, left,
                                        right, cw, clim, clip, scale, hist, partial, total,
                                        maps, result, 0, H)
        _skimage_rescale(result, rmin, rmax, single, finals, target)


@njit(nogil=True, cache=True)
def skimage_clahe_rows(image, factor, ranges, kh, kw, clip_limit, nbins, r0, r1, result):
    """Rows ``r0:r1`` of :func:`skimage_clahe` of one image, before its final rescale.

    Parameters
    ----------
    image : ndarray of uint8 or uint16, shape (H, W), C-contiguous
        As an image of :func:`skimage_clahe`'s ``x``.
    factor, kh, kw, clip_limit, nbins
        As for :func:`skimage_clahe`.
    ranges : ndarray of float64, shape (1, 2) or (0, 2)
        The image's range, or none (its own min..max).
    r0, r1 : int
        The rows to compute (clamped into the image).
    result : ndarray of uint16, shape (H * W,)
        Its rows ``r0:r1`` get scikit-image's 16-bit values there (the
        others are left alone), for :func:`skimage_clahe_rescale`.

    Returns
    -------
    (int, int)
        The least and greatest of those values (65535 and 0 for no row).
    """
    H, W = image.shape
    if result.shape[0] != H * W:
        raise ValueError("the result does not fit the image")
    (bin_size, used, clim, clip, scale, rsrc, csrc, left, right, cw, hist, total, partial,
     maps) = _skimage_setup(H, W, kh, kw, clip_limit, nbins)
    if H * W == 0:
        return np.uint16(65535), np.uint16(0)
    flat = image.reshape(H * W)
    base, width, low, high = _skimage_range(flat, factor, ranges, 0)
    lut = np.empty(65536, np.uint16)
    _skimage_lut(base, width, factor, low, high, bin_size, used, lut)
    return _skimage_image(flat, base, lut, H, W, kh, kw, rsrc, csrc, left, right, cw, clim,
                          clip, scale, hist, partial, total, maps, result, r0, r1)


@njit(nogil=True, cache=True)
def skimage_clahe_rescale(result, rmin, rmax, single, target):
    """:func:`skimage_clahe`'s final rescale of 16-bit values to [0, 1], into ``target``.

    Parameters
    ----------
    result : ndarray of uint16, shape (k,)
        Values of :func:`skimage_clahe_rows` (any run of them).
    rmin, rmax : int
        The least and greatest value of the whole image.
    single : bool
        As for :func:`skimage_clahe`.
    target : ndarray of float64, shape (k,)
    """
    if target.shape[0] != result.shape[0] or rmax < rmin:
        raise ValueError("the target does not fit the values, or rmax is below rmin")
    _skimage_rescale(result, rmin, rmax, single, np.empty(GRAY_LEVELS, np.float64), target)


# ------------------------------------------------------------------------ OpenCV


@njit(nogil=True, cache=True)
def _opencv_tile(image, W, lo, width, r0, th, c0, tw, rsrc, csrc, levels, limit, lut_scale,
                 top, hist, lut):
    # One tile's look-up table over the image's levels lo .. lo + width - 1
    # (no pixel has another level, so no other entry is ever read): the
    # histogram, OpenCV's clip and redistribution, and
    # saturate_cast(sum * lutScale).  The levels below lo hold no pixel: their
    # share of the redistribution (batch each, plus the residual's steps
    # among them) starts the sum.
    hist[:width] = 0
    inside = c0 + tw <= W
    for p in range(r0, r0 + th):
        row = rsrc[p] * W
        if inside:
            for q in range(row + c0, row + c0 + tw):
                hist[np.uintp(np.int64(image[q]) - lo)] += 1
        else:
            for q in range(c0, c0 + tw):
                hist[np.uintp(np.int64(image[row + csrc[q]]) - lo)] += 1
    total = 0
    if limit > 0:
        clipped = _cap(hist, width, limit)
        batch = clipped // levels
        residual = clipped - batch * levels
        step = max(levels // residual, 1) if residual != 0 else levels
        # Levels 0, step, 2 step, ... (the first `residual` of them) get one more.
        below = min((lo + step - 1) // step, residual)
        total = lo * batch + below
        for k in range(width):
            hist[k] += batch
        first = below * step            # the first level of the residual's steps at or after lo
        count = below
        while count < residual and first < lo + width:
            hist[np.uintp(first - lo)] += 1
            first += step
            count += 1
    for k in range(width):
        total += hist[k]
        v = np.rint(np.float32(total) * lut_scale)         # cvRound
        lut[k] = min(max(v, np.float32(0.0)), top)          # saturate_cast


@njit(nogil=True, cache=True)
def _opencv_grid(H, W, levels, tiles_x, tiles_y, clip_limit):
    # The tile size (sizes that the grid does not divide are extended at the
    # bottom and right, both, whichever does not divide, by reflection), the
    # look-up tables' scale and clip, and the reflected rows and columns.
    if tiles_x < 1 or tiles_y < 1 or levels < 2:
        raise ValueError("a tile grid and at least two levels are needed")
    if W % tiles_x == 0 and H % tiles_y == 0:
        tw = W // tiles_x
        th = H // tiles_y
    else:
        tw = (W + tiles_x - W % tiles_x) // tiles_x
        th = (H + tiles_y - H % tiles_y) // tiles_y
    area = tw * th
    lut_scale = np.float32(levels - 1) / np.float32(area)
    limit = 0
    if clip_limit > 0.0:
        limit = max(np.int64(clip_limit * area / levels), 1)
    rsrc = np.empty(tiles_y * th, np.int64)
    for p in range(tiles_y * th):
        rsrc[p] = _reflect(p, H)
    csrc = np.empty(tiles_x * tw, np.int64)
    for q in range(tiles_x * tw):
        csrc[q] = _reflect(q, W)
    return tw, th, lut_scale, limit, rsrc, csrc


@njit(nogil=True, cache=True)
def _opencv_range(image, levels):
    # The image's lowest and highest level (ValueError for one not below levels).
    lo = np.int64(image[0])
    hi = lo
    for k in range(image.shape[0]):
        lo = min(lo, np.int64(image[k]))
        hi = max(hi, np.int64(image[k]))
    if hi >= levels:
        raise ValueError("a pixel's level is not below levels")
    return lo, hi


@njit(nogil=True, cache=True)
def _opencv_luts(image, W, levels, tiles_x, tiles_y, lo, hi, ty0, ty1, th, tw,
                 lut_scale, limit, rsrc, csrc, hist, lut):
    # The look-up tables of tile rows ty0 .. ty1 - 1, each tile's over the
    # levels lo .. hi, at (ty * tiles_x + tx) * width in lut.
    width = hi - lo + 1
    top = np.float32(levels - 1)
    for ty in range(max(ty0, 0), min(ty1, tiles_y)):
        for tx in range(tiles_x):
            start = (ty * tiles_x + tx) * width
            _opencv_tile(image, W, lo, width, ty * th, th, tx * tw, tw, rsrc, csrc, levels,
                         limit, lut_scale, top, hist, lut[start:start + width])


@njit(nogil=True, cache=True)
def _opencv_blend(image, H, W, levels, tiles_x, tiles_y, lo, hi, th, tw, lut, r0, r1, target):
    # Rows r0 .. r1 - 1 of the blend of the look-up tables (all made), each
    # pixel's level clamped into lo .. hi, in single precision as OpenCV
    # computes it, divided by levels - 1.
    width = hi - lo + 1
    top = np.float32(levels - 1)
    inv_tw = np.float32(1.0) / np.float32(tw)
    left = np.empty(W, np.int64)
    right = np.empty(W, np.int64)
    xa = np.empty(W, np.float32)
    xa1 = np.empty(W, np.float32)
    for c in range(W):
        txf = np.float32(c) * inv_tw - np.float32(0.5)
        tx1 = np.int64(np.floor(txf))
        xa[c] = txf - np.float32(tx1)
        xa1[c] = np.float32(1.0) - xa[c]
        left[c] = min(max(tx1, 0), tiles_x - 1)
        right[c] = min(max(tx1 + 1, 0), tiles_x - 1)
    inv_th = np.float32(1.0) / np.float32(th)
    finals = np.empty(levels, np.float64)
    for k in range(levels):
        finals[k] = k / (levels - 1)
    for r in range(max(r0, 0), min(r1, H)):
        tyf = np.float32(r) * inv_th - np.float32(0.5)
        ty1 = np.int64(np.floor(tyf))
        ya = tyf - np.float32(ty1)
        ya1 = np.float32(1.0) - ya
        upper = lut[min(max(ty1, 0), tiles_y - 1) * tiles_x * width:]
        lower = lut[min(max(ty1 + 1, 0), tiles_y - 1) * tiles_x * width:]
        row = r * W
        for c in range(W):
            k = np.uintp(row + c)
            u = np.uintp(c)
            v = min(max(np.int64(image[k]), lo), hi) - lo
            a = np.uintp(left[u] * width + v)
            b = np.uintp(right[u] * width + v)
            res = (upper[a] * xa1[u] + upper[b] * xa[u]) * ya1 + \
                  (lower[a] * xa1[u] + lower[b] * xa[u]) * ya
            # saturate_cast to 0 .. levels - 1 (and NaN, from tables no caller makes, to 0)
            rounded = np.rint(res)
            level = np.uintp(rounded) if rounded >= np.float32(0.0) and rounded <= top else \
                np.uintp(levels - 1) if rounded > top else np.uintp(0)
            target[k] = finals[level]


@njit(nogil=True, cache=True)
def opencv_clahe(x, levels, tiles_x, tiles_y, clip_limit, out):
    """``cv2.createCLAHE(clip_limit, (tiles_x, tiles_y)).apply`` of each image, over ``levels``.

    Parameters
    ----------
    x : ndarray of unsigned integers, shape (n, H, W), C-contiguous
        Each pixel's level, below ``levels`` (uint8 and uint16 pixels
        themselves: OpenCV's 256 and 65536 levels); a level at or above
        ``levels`` raises ValueError.
    levels : int
        OpenCV's ``histSize``: 256 for 8-bit images, 65536 for 16-bit.
    tiles_x, tiles_y : int
        The tile grid (``tileGridSize``).
    clip_limit : float
        OpenCV's ``clipLimit`` (0 or less: no clipping).
    out : ndarray of float64, shape (n, H, W), C-contiguous
        OpenCV's result divided by ``levels - 1``.
    """
    _check_block(x, out)
    n, H, W = x.shape
    tw, th, lut_scale, limit, rsrc, csrc = _opencv_grid(H, W, levels, tiles_x, tiles_y,
                                                        clip_limit)
    npix = H * W
    if n == 0 or npix == 0:
        return
    hist = np.zeros(levels, np.int64)
    lut = np.empty(0, np.float32)
    for i in range(n):
        image = x[i].reshape(npix)
        lo, hi = _opencv_range(image, levels)
        width = hi - lo + 1
        if lut.shape[0] < tiles_y * tiles_x * width:
            lut = np.empty(tiles_y * tiles_x * width, np.float32)
        _opencv_luts(image, W, levels, tiles_x, tiles_y, lo, hi, 0, tiles_y, th, tw,
                     lut_scale, limit, rsrc, csrc, hist, lut)
        _opencv_blend(image, H, W, levels, tiles_x, tiles_y, lo, hi, th, tw, lut, 0, H,
                      out[i].reshape(npix))


@njit(nogil=True, cache=True)
def opencv_clahe_luts(image, levels, tiles_x, tiles_y, clip_limit, ty0, ty1, lut):
    """The look-up tables of tile rows ``ty0:ty1`` of :func:`opencv_clahe` of one image.

    Parameters
    ----------
    image : ndarray of unsigned integers, shape (H, W), C-contiguous
        As an image of :func:`opencv_clahe`'s ``x``.
    levels, tiles_x, tiles_y, clip_limit
        As for :func:`opencv_clahe`.
    ty0, ty1 : int
        The tile rows to make (clamped into the grid).
    lut : ndarray of float32, shape (tiles_y * tiles_x * (hi - lo + 1),) at least
        Gets the tables of those tile rows (``lo``, ``hi``: the image's
        lowest and highest level); too short raises ValueError.

    Returns
    -------
    (int, int)
        ``lo`` and ``hi``, for :func:`opencv_clahe_rows`.
    """
    H, W = image.shape
    tw, th, lut_scale, limit, rsrc, csrc = _opencv_grid(H, W, levels, tiles_x, tiles_y,
                                                        clip_limit)
    if H * W == 0:
        return 0, 0
    flat = image.reshape(H * W)
    lo, hi = _opencv_range(flat, levels)
    if lut.shape[0] < tiles_y * tiles_x * (hi - lo + 1):
        raise ValueError("the look-up tables do not fit")
    _opencv_luts(flat, W, levels, tiles_x, tiles_y, lo, hi, ty0, ty1, th, tw,
                 lut_scale, limit, rsrc, csrc, np.zeros(levels, np.int64), lut)
    return lo, hi


@njit(nogil=True, cache=True)
def opencv_clahe_rows(image, levels, tiles_x, tiles_y, lo, hi, lut, r0, r1, target):
    """Rows ``r0:r1`` of :func:`opencv_clahe` of one image, from its look-up tables.

    Parameters
    ----------
    image : ndarray of unsigned integers, shape (H, W), C-contiguous
    levels, tiles_x, tiles_y
        As for :func:`opencv_clahe`.
    lo, hi : int
        What :func:`opencv_clahe_luts` returned (levels outside are clamped).
    lut : ndarray of float32
        The tables of every tile row, from :func:`opencv_clahe_luts`.
    r0, r1 : int
        The rows to compute (clamped into the image).
    target : ndarray of float64, shape (H * W,)
        Its rows ``r0:r1`` get the result (the others are left alone).
    """
    H, W = image.shape
    if target.shape[0] != H * W:
        raise ValueError("the target does not fit the image")
    tw, th, lut_scale, limit, rsrc, csrc = _opencv_grid(H, W, levels, tiles_x, tiles_y, 0.0)
    if H * W == 0:
        return
    if hi < lo or lo < 0 or hi >= levels or lut.shape[0] < tiles_y * tiles_x * (hi - lo + 1):
        raise ValueError("the look-up tables do not fit the levels lo..hi")
    _opencv_blend(image.reshape(H * W), H, W, levels, tiles_x, tiles_y, lo, hi, th, tw, lut,
                  r0, r1, target)
