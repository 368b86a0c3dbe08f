"""CleanVision's checks beyond brightness: blurry, grayscale, odd aspect ratio, odd size, phash.

:func:`~histeq_gui.core.stats.image_stats` gives each image the scores and
flags of every issue type CleanVision checks; this module holds CleanVision's
defaults (:data:`THRESHOLDS` and the factors) and the checks that need the
image as CleanVision sees it, an 8-bit Pillow image: the blur measure and the
perceptual hash (:class:`PropertyChecks`), and the scores computed from
per-image numbers (:func:`blurry_scores`, :func:`grayscale_scores`,
:func:`odd_aspect_ratio_scores`, :func:`odd_size_scores`).

Source: CleanVision v0.3.7 (https://github.com/cleanlab/cleanvision, commit
2f69ae8a), ``src/cleanvision/issue_managers/image_property.py``,
``image_property_issue_manager.py`` (``get_default_params``),
``duplicate_issue_manager.py`` and ``utils/constants.py``, with imagehash
4.3 (``phash``) and Pillow 13.  Per image, as CleanVision computes them:

- **blurry**: the image shrunk (``Image.resize``, Pillow's default bicubic
  filter, the new size ``int(side // ratio)`` with ``ratio = max(w, h) /
  64``) when its longer side exceeds 64, converted to ``"L"``;
  ``blurriness`` is the standard deviation of its ``FIND_EDGES`` filter
  (``sqrt(ImageStat.Stat(edges).var[0])``) and ``blurriness_grayscale_std``
  the standard deviation (``np.std``) of its 256-bin histogram; the score is
  ``min(1 - exp(-0.01 blurriness) + s, 1)`` where ``s = 1 - exp(-0.01
  grayscale_std)``, or 0 when that is at most 0.18; blurry below 0.29;
- **grayscale**: score 0 for a gray image (Pillow mode ``"L"``; here one
  channel, or gray + alpha, which CleanVision cannot score), 1 otherwise;
  grayscale when the score is 0;
- **odd aspect ratio**: ``min(w / h, h / w)``; odd below 0.35;
- **odd size**: ``size = sqrt(w) sqrt(h)`` against the dataset's quartiles
  ``q1, q3`` with ``iqr_factor`` 3: ``score = 1 - clip(|size - mid| / gap,
  0, 1)`` where ``mid`` is the middle of ``[q1 - 3 iqr, q3 + 3 iqr]`` and
  ``gap`` its width; odd below 0.5 (when every size is equal, ``gap`` is 0:
  the distance is divided by ``mid`` and the cut is 1);
- **near duplicates**: ``imagehash.phash(image, hash_size=8)``: the image
  in ``"L"``, resized to 32x32 with Pillow's Lanczos filter, the 2-D DCT-II
  of ``scipy.fftpack`` (rows, then columns), its top-left 8x8 coefficients
  compared with their median; the 64 bits in row order, first bit highest.

The small images are made as Pillow makes them.  For a batch of images of
one shape (a chunk of a stack), :func:`resize` repeats Pillow's two-pass
8-bit resize for all of them at once (``src/libImaging/Resample.c``: the
same coefficients in double precision, rounded to 22-bit fixed point,
32-bit integer sums; a compiled pass along one axis of the whole batch,
:func:`~histeq_gui.core.stats_kernels.resample_pass`) and :func:`to_gray`
Pillow's ``convert("L")``.  Which pass Pillow runs first depends on its
version and the shapes, so before a shape is resized this way the installed
Pillow resizes a random image of that shape and the order that gives its
very bytes is used (:func:`pass_order`; no order that does: Pillow itself).
Single images, images with alpha (Pillow resizes them premultiplied) and
small batches go through Pillow.  The filter, the histograms and the DCTs
then run over batches
(:func:`~histeq_gui.core.stats_kernels.edge_histograms`; the DCT's 8x8
low frequencies as two matrix products, and ``scipy.fftpack.dct`` itself
for any image where that could order a coefficient differently from the
median).  Other data than
uint8 is first put on 256 levels over the stack's value range
(:mod:`~histeq_gui.core.value_range`) by :func:`to_levels`: CleanVision only
reads 8-bit images.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .stats_kernels import edge_histograms, resample_pass

__all__ = ["CLEANVISION", "THRESHOLDS", "LOW_INFORMATION_NORMALIZING_FACTOR",
           "BLURRY_NORMALIZING_FACTOR", "BLURRY_COLOR_THRESHOLD", "ODD_SIZE_IQR_FACTOR",
           "BLUR_MAX_SIDE", "PHASH_SIZE", "PropertyChecks", "to_levels", "to_gray", "resize",
           "pass_order", "blur_size", "blurry_scores", "grayscale_scores",
           "odd_aspect_ratio_scores", "odd_size_scores", "phash_hex"]

#: The CleanVision release whose checks these are.
CLEANVISION = "CleanVision 0.3.7 (commit 2f69ae8a)"

#: CleanVision's default thresholds (``ImagePropertyIssueManager.get_default_params``):
#: an image has the issue when its score is BELOW the threshold.
THRESHOLDS = {"dark": 0.32, "light": 0.05, "low_information": 0.3, "odd_aspect_ratio": 0.35,
              "blurry": 0.29}

#: CleanVision's ``normalizing_factor`` of the low-information score.
LOW_INFORMATION_NORMALIZING_FACTOR = 0.1
#: CleanVision's ``normalizing_factor`` and ``color_threshold`` of the blurry score.
BLURRY_NORMALIZING_FACTOR = 0.01
BLURRY_COLOR_THRESHOLD = 0.18
#: CleanVision's ``iqr_factor`` of the odd-size score.
ODD_SIZE_IQR_FACTOR = 3.0
#: ``MAX_RESOLUTION_FOR_BLURRY_DETECTION``: the blur is measured at most this large.
BLUR_MAX_SIDE = 64
#: ``hash_size`` of the perceptual hash (8x8 = 64 bits), of an image of 4x that side.
PHASH_SIZE = 8
_PHASH_SIDE = 4 * PHASH_SIZE          # imagehash's highfreq_factor 4
_BATCH = 256                          # images per batch of filters and DCTs
_MIN_RESIZE = 8                       # images of one shape worth resizing here, not by Pillow


def to_levels(images: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Images of any dtype on 256 levels (uint8) as CleanVision would read them.

    uint8 is returned as it is; other data is ``rint(255 (v - lo) / (hi -
    lo))`` clipped to 0..255, NaN as 0.
    """
    if images.dtype == np.uint8:
        return images
    span = hi - lo if hi > lo else 1.0
    with np.errstate(invalid="ignore", over="ignore"):
        levels = (images.astype(np.float64) - lo) * (255.0 / span)
    np.rint(levels, out=levels)
    np.clip(levels, 0, 255, out=levels)
    levels[np.isnan(levels)] = 0
    return levels.astype(np.uint8)


class PropertyChecks:
    """The blur measures and perceptual hashes of ``n`` images, given a batch at a time.

    :meth:`add` makes the two small gray images CleanVision's checks look
    at, as Pillow makes them; every :data:`_BATCH` images they are measured
    together.  :meth:`finish` returns the columns.
    """

    def __init__(self, n: int):
        self.blurriness = np.full(n, np.nan)
        self.grayscale_std = np.full(n, np.nan)
        self.phash = np.zeros(n, np.uint64)
        self._pending = []

    def add(self, start: int, images: np.ndarray) -> None:
        """Images ``start, start + 1, ...``: a batch ``(m, H, W)`` gray, or ``(m, H, W, C)``.

        ``C`` is 2 (gray + alpha), 3 (RGB) or 4 (RGBA); uint8.
        """
        m, height, width = images.shape[:3]
        small = blur_size(height, width)
        orders = None
        if m >= _MIN_RESIZE and (images.ndim == 3 or images.shape[3] == 3):
            orders = (pass_order(images.shape[1:], small, "bicubic")
                      if small != (height, width) else "none",
                      pass_order((height, width), (_PHASH_SIDE,) * 2, "lanczos"))
        if orders is None or None in orders:
            pairs = [_pillow_views(image, small) for image in images]
        else:
            grays = to_gray(images if orders[0] == "none" else
                            resize(images, *small, "bicubic", orders[0]))
            thumbs = resize(to_gray(images), _PHASH_SIDE, _PHASH_SIDE, "lanczos", orders[1])
            pairs = zip(grays, thumbs)
        for k, (gray, thumb) in enumerate(pairs):
            self._pending.append((start + k, gray, thumb))
            if len(self._pending) >= _BATCH:
                self._flush()

    def _flush(self):
        if not self._pending:
            return
        m = len(self._pending)
        indices = np.array([i for i, _, _ in self._pending], np.int64)
        small = np.zeros((m, BLUR_MAX_SIDE, BLUR_MAX_SIDE), np.uint8)
        heights = np.empty(m, np.int64)
        widths = np.empty(m, np.int64)
        thumbs = np.empty((m, _PHASH_SIDE, _PHASH_SIDE), np.uint8)
        for k, (_, gray, thumb) in enumerate(self._pending):
            heights[k], widths[k] = gray.shape
            small[k, :gray.shape[0], :gray.shape[1]] = gray
            thumbs[k] = thumb
        self._pending = []
        edges = np.zeros((m, 256), np.int64)
        grays = np.zeros((m, 256), np.int64)
        edge_histograms(small, heights, widths, edges, grays)
        self.blurriness[indices] = _pillow_stddev(edges)
        # np.std of the histogram, as calc_std_grayscale (the same sums per row)
        self.grayscale_std[indices] = np.std(grays.astype(np.float64), axis=1)
        self.phash[indices] = _phash(thumbs)

    def finish(self) -> dict:
        """``{"blurriness", "blurriness_grayscale_std", "phash"}``: one entry per image."""
        self._flush()
        return {"blurriness": self.blurriness, "blurriness_grayscale_std": self.grayscale_std,
                "phash": self.phash}


def blur_size(height: int, width: int) -> tuple[int, int]:
    """``(h, w)`` CleanVision measures the blur of an image at: its longer side at most 64."""
    ratio = max(width, height) / BLUR_MAX_SIDE
    if ratio > 1:
        return max(int(height // ratio), 1), max(int(width // ratio), 1)
    return height, width


def to_gray(images: np.ndarray) -> np.ndarray:
    """Pillow's ``convert("L")`` of gray ``(..., H, W)`` or RGB ``(..., H, W, 3)`` uint8 images.

    ``(R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16`` (``rgb2l`` in
    ``src/libImaging/Convert.c``); gray images are returned as they are.
    """
    if images.shape[-1] != 3 or images.ndim < 4:
        return images
    r, g, b = (images[..., c].astype(np.int32) for c in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def _bicubic(x):
    a = -0.5
    if x < 0.0:
        x = -x
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    if x < 2.0:
        return (((x - 5) * x + 8) * x - 4) * a
    return 0.0


def _sinc(x):
    if x == 0.0:
        return 1.0
    x = x * math.pi
    return math.sin(x) / x


def _lanczos(x):
    if -3.0 <= x < 3.0:
        return _sinc(x) * _sinc(x / 3)
    return 0.0


#: Pillow's filters (``src/libImaging/Resample.c``): weight function and support.
_FILTERS = {"bicubic": (_bicubic, 2.0), "lanczos": (_lanczos, 3.0)}


@lru_cache(maxsize=256)
def _coefficients(in_size, out_size, name):
    """Pillow's ``precompute_coeffs`` and ``normalize_coeffs_8bpc`` for one axis.

    Returns ``(starts, counts, weights)``: the first input pixel and the
    number of them each output pixel takes, and their 22-bit fixed-point
    weights (int32), in the same double-precision steps as Pillow.
    """
    function, support = _FILTERS[name]
    scale = float(in_size) / out_size
    filterscale = max(scale, 1.0)
    support = support * filterscale
    inverse = 1.0 / filterscale
    starts = np.zeros(out_size, np.int64)
    counts = np.zeros(out_size, np.int64)
    weights = np.zeros((out_size, int(math.ceil(support)) * 2 + 1), np.int32)
    for xx in range(out_size):
        center = 0.0 + (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        w = [function((x + xmin - center + 0.5) * inverse) for x in range(xmax)]
        total = 0.0
        for v in w:
            total += v
        if total != 0.0:
            w = [v / total for v in w]
        starts[xx], counts[xx] = xmin, xmax
        weights[xx, :xmax] = [int(-0.5 + v * (1 << 22)) if v < 0 else int(0.5 + v * (1 << 22))
                              for v in w]
    return starts, counts, weights


def _pass(data, size, name):
    """Resample axis 0 of ``data`` (N, ...) uint8 to ``size``."""
    flat = np.ascontiguousarray(data).reshape(data.shape[0], -1)
    out = np.empty((size, flat.shape[1]), np.uint8)
    resample_pass(flat, *_coefficients(data.shape[0], size, name), out)
    return out.reshape((size,) + data.shape[1:])


def resize(images: np.ndarray, height: int, width: int, name: str, order: str = "hv"
           ) -> np.ndarray:
    """``Image.resize((width, height), filter)`` of every image of a batch, as Pillow computes it.

    ``images`` is ``(m, H, W)`` or ``(m, H, W, 3)`` uint8; ``name``
    "bicubic" or "lanczos"; ``order`` "hv" (along the rows first) or "vh"
    (:func:`pass_order` says which one the installed Pillow runs).  A pass
    whose size stays is skipped, as Pillow skips it.
    """
    m, in_h, in_w = images.shape[:3]
    data = np.moveaxis(images, 0, 2)                          # (H, W, m[, 3])
    for axis in (order if order in ("hv", "vh") else "hv"):
        if axis == "h" and width != in_w:
            data = np.moveaxis(_pass(np.moveaxis(data, 1, 0), width, name), 0, 1)
        elif axis == "v" and height != in_h:
            data = _pass(data, height, name)
    return np.ascontiguousarray(np.moveaxis(data, 2, 0))


@lru_cache(maxsize=256)
def pass_order(shape: tuple, size: tuple, name: str) -> str | None:
    """Which pass the installed Pillow runs first to resize images of ``shape`` to ``size``.

    ``shape`` is ``(H, W)`` or ``(H, W, 3)``, ``size`` ``(h, w)``.  A random
    image of that shape is resized by Pillow and by :func:`resize` both ways;
    the order that gives Pillow's bytes ("hv" or "vh"), else None (then
    Pillow must do it).
    """
    from PIL import Image

    probe = np.random.default_rng(len(shape) + 7).integers(0, 256, shape, dtype=np.uint8)
    filters = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
    expected = np.asarray(Image.fromarray(probe).resize(size[::-1], filters[name]))
    for order in ("hv", "vh"):
        if np.array_equal(resize(probe[None], *size, name, order)[0], expected):
            return order
    return None


def _pillow_views(image, blur_shape):
    """The gray images the blur and the hash look at, made by Pillow as CleanVision has it.

    ``BlurrinessProperty.calculate``: resized (bicubic, Pillow's default)
    to ``blur_shape`` ``(h, w)`` when that is smaller, then ``convert("L")``;
    imagehash's ``phash``: ``convert("L")``, then Lanczos to 32x32.
    """
    from PIL import Image

    picture = Image.fromarray(np.ascontiguousarray(image))
    height, width = blur_shape
    small = picture if (width, height) == picture.size else picture.resize((width, height))
    gray = np.asarray(small.convert("L"))
    thumb = np.asarray(picture.convert("L").resize((_PHASH_SIDE, _PHASH_SIDE),
                                                    Image.Resampling.LANCZOS))
    return gray, thumb


def _pillow_stddev(counts):
    """``sqrt(ImageStat.Stat(image).var[0])`` from 256-level histograms (m, 256), as floats.

    Pillow sums ``j * h[j]`` and ``j**2 * h[j]`` exactly (Python integers)
    and takes ``(sum2 - sum**2 / n) / n``; these sums stay below 2**53, so
    float64 gives the same numbers and the same two roundings.
    """
    levels = np.arange(256, dtype=np.int64)
    n = counts.sum(axis=1)
    total = counts @ levels
    total2 = counts @ (levels * levels)
    var = (total2.astype(np.float64) - (total * total).astype(np.float64) / n) / n
    with np.errstate(invalid="ignore"):
        return np.sqrt(var)


#: The rows of the unnormalised DCT-II (scipy.fftpack's) that the hash keeps: 8 of 32.
_DCT_LOW = 2 * np.cos(np.pi * np.arange(PHASH_SIZE)[:, None] *
                      (2 * np.arange(_PHASH_SIDE)[None, :] + 1) / (2 * _PHASH_SIDE))
#: Coefficients closer than this to their median are compared by scipy's own DCT: two
#: ways of summing at most 1024 terms of at most 1020 differ by far less.
_DCT_TOLERANCE = 1e-4


def _phash(thumbs):
    """The ``phash`` bits of imagehash of 32x32 gray thumbnails (m, 32, 32), as uint64.

    The 8x8 low frequencies of the 2-D DCT are two matrix products for the
    whole batch; an image with a coefficient within rounding of the median
    (a flat or symmetric image: many equal coefficients) takes
    ``scipy.fftpack.dct``'s values, as imagehash does, so every bit is
    imagehash's.
    """
    m = len(thumbs)
    low = (_DCT_LOW @ thumbs.astype(np.float64) @ _DCT_LOW.T).reshape(m, -1)
    median = np.median(low, axis=1)
    unsure = np.flatnonzero(np.abs(low - median[:, None]).min(axis=1, initial=np.inf)
                            <= _DCT_TOLERANCE)
    if len(unsure):
        import scipy.fftpack

        exact = scipy.fftpack.dct(scipy.fftpack.dct(thumbs[unsure], axis=1), axis=2)
        low[unsure] = exact[:, :PHASH_SIZE, :PHASH_SIZE].reshape(len(unsure), -1)
        median[unsure] = np.median(low[unsure], axis=1)
    bits = low > median[:, None]
    return np.packbits(bits, axis=1).view(">u8")[:, 0].astype(np.uint64)


def phash_hex(values: np.ndarray) -> np.ndarray:
    """The hashes as imagehash prints them (``str(ImageHash)``): 16 hex digits each."""
    return np.array([f"{int(v):016x}" for v in np.asarray(values, np.uint64)], dtype="U16")


def blurry_scores(blurriness: np.ndarray, grayscale_std: np.ndarray) -> np.ndarray:
    """CleanVision's blurry score (``BlurrinessProperty.get_scores``) of each image."""
    blur = 1 - np.exp(-1 * blurriness * BLURRY_NORMALIZING_FACTOR)
    std = 1 - np.exp(-1 * grayscale_std * BLURRY_NORMALIZING_FACTOR)
    std[std <= BLURRY_COLOR_THRESHOLD] = 0
    return np.minimum(blur + std, 1)


def grayscale_scores(channels: np.ndarray) -> np.ndarray:
    """0.0 for a gray image (one channel, or gray + alpha), 1.0 for colour."""
    return np.where(np.asarray(channels) <= 2, 0.0, 1.0)


def odd_aspect_ratio_scores(heights: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """``min(w / h, h / w)`` of each image (``calc_aspect_ratio``)."""
    w = np.asarray(widths, np.float64)
    h = np.asarray(heights, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.minimum(w / h, h / w)


def odd_size_scores(heights: np.ndarray, widths: np.ndarray) -> tuple[np.ndarray, float]:
    """CleanVision's odd-size scores of a dataset and the cut below which a size is odd.

    ``SizeProperty.get_scores``: see the module's docstring.
    """
    size = np.sqrt(np.asarray(widths, np.float64)) * np.sqrt(np.asarray(heights, np.float64))
    if not len(size):
        return size, 0.5
    q1, q3 = np.percentile(size, [25, 75])
    size_iqr = q3 - q1
    low, high = q1 - ODD_SIZE_IQR_FACTOR * size_iqr, q3 + ODD_SIZE_IQR_FACTOR * size_iqr
    middle = (low + high) / 2
    gap = high - low
    norm, cut = (gap, 0.5) if gap > 0 else (middle, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = np.absolute(size - middle) / norm
    return 1 - np.clip(distance, 0, 1), cut
