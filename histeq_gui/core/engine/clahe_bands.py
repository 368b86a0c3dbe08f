"""The compiled CLAHE kernels over a block of images, one large image in bands of rows on the pool.

The kernels of :mod:`.clahe_kernels` run a block image by image in one
thread; a stack of many images keeps every core busy with blocks, but one
large image would keep one core only.  So a block of one image of at least
:data:`BAND_PIXELS` pixels is cut into bands of rows, one per thread the
pool gives it (:func:`.pool.parallel_here`: one inside a pool's task): each
band makes the tile maps it blends (scikit-image's
CLAHE: a band computes its own tile rows, one or two of them shared with the
band before) or all bands blend the look-up tables made first, tile row by
tile row, on the pool (OpenCV's CLAHE).  Every pixel is computed by the same
arithmetic whatever the bands, so the result does not depend on them.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

from . import pool
from .clahe_kernels import (
    opencv_clahe,
    opencv_clahe_luts,
    opencv_clahe_rows,
    skimage_clahe,
    skimage_clahe_rescale,
    skimage_clahe_rows,
)

__all__ = ["BAND_PIXELS", "bands", "banded", "skimage_clahe_block", "opencv_clahe_block"]

BAND_PIXELS = 1 << 20       # a smaller image is one band: cutting it would cost more than it gives
_forced = threading.local()     # the band count banded() sets for this thread


@contextmanager
def banded(count: int = 2):
    """Within it, this thread cuts every one-image block into ``count`` bands, whatever its size.

    For ``warm_up``: the band kernels then compile on tiny images, before a
    large image needs them.  The values are the same whatever the bands.
    """
    before = getattr(_forced, "count", None)
    _forced.count = int(count)
    try:
        yield
    finally:
        _forced.count = before


def bands(height: int, width: int, count: int | None = None) -> list[tuple[int, int]]:
    """The bands of rows ``(r0, r1)`` an image of ``height`` x ``width`` pixels is cut into.

    Parameters
    ----------
    height, width : int
    count : int, optional
        How many bands (at most one per row); by default as many as the
        pool runs at once from here (:func:`.pool.parallel_here`) for an
        image of at least :data:`BAND_PIXELS` pixels, else one.

    Returns
    -------
    list of (int, int)
        Consecutive bands covering rows ``0:height``, of nearly equal heights.
    """
    if count is None:
        count = getattr(_forced, "count", None)
    if count is None:
        # As many bands as the pool runs at once from here: one inside a pool task (an
        # image of a stack already has its own thread) or with a serial engine.
        count = pool.parallel_here() if height * width >= BAND_PIXELS else 1
    count = max(1, min(count, height))
    cuts = np.linspace(0, height, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:])]


def skimage_clahe_block(x: np.ndarray, factor: int, ranges: np.ndarray, kh: int, kw: int,
                        clip_limit: float, nbins: int, single: bool, out: np.ndarray,
                        count: int | None = None) -> None:
    """:func:`.clahe_kernels.skimage_clahe` of a block, one large image in bands on the pool.

    Parameters
    ----------
    x, factor, ranges, kh, kw, clip_limit, nbins, single, out
        As for :func:`.clahe_kernels.skimage_clahe` (``x`` and ``out``
        C-contiguous).
    count : int, optional
        The bands of a block of one image (see :func:`bands`); the same
        values whatever it is.
    """
    H, W = x.shape[1:]
    runs = bands(H, W, count) if x.shape[0] == 1 and out.shape == x.shape else [(0, H)]
    if len(runs) == 1:
        skimage_clahe(x, factor, ranges, kh, kw, clip_limit, nbins, single, out)
        return
    image = x[0]
    result = np.empty(H * W, np.uint16)
    extremes = pool.run(lambda run: skimage_clahe_rows(image, factor, ranges[:1], kh, kw,
                                                       clip_limit, nbins, *run, result), runs)
    rmin = min(low for low, _ in extremes)
    rmax = max(high for _, high in extremes)
    target = out.reshape(H * W)
    pool.run(lambda run: skimage_clahe_rescale(result[run[0] * W:run[1] * W], rmin, rmax, single,
                                               target[run[0] * W:run[1] * W]), runs)


def opencv_clahe_block(x: np.ndarray, levels: int, tiles_x: int, tiles_y: int,
                       clip_limit: float, out: np.ndarray, count: int | None = None) -> None:
    """:func:`.clahe_kernels.opencv_clahe` of a block, one large image in bands on the pool.

    Parameters
    ----------
    x, levels, tiles_x, tiles_y, clip_limit, out
        As for :func:`.clahe_kernels.opencv_clahe` (``x`` and ``out``
        C-contiguous).
    count : int, optional
        The bands of a block of one image (see :func:`bands`), and as many
        runs of tile rows for its look-up tables; the same values whatever it is.
    """
    H, W = x.shape[1:]
    runs = bands(H, W, count) if x.shape[0] == 1 and out.shape == x.shape else [(0, H)]
    if len(runs) == 1:
        opencv_clahe(x, levels, tiles_x, tiles_y, clip_limit, out)
        return
    image = x[0]
    flat = image.reshape(-1)
    lo, hi = int(flat.min()), int(flat.max())
    lut = np.empty(max(tiles_x * tiles_y * (hi - lo + 1), 0), np.float32)
    tile_runs = bands(tiles_y, 1, len(runs))
    pool.run(lambda run: opencv_clahe_luts(image, levels, tiles_x, tiles_y, clip_limit, *run,
                                           lut), tile_runs)
    target = out.reshape(H * W)
    pool.run(lambda run: opencv_clahe_rows(image, levels, tiles_x, tiles_y, lo, hi, lut, *run,
                                           target), runs)
