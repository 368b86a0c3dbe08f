"""CleanVision's image checks beyond brightness: blurry, grayscale, odd aspect ratio, odd size, phash.

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

Pillow's own resize and convert make the small images (their result is
Pillow's by construction); the filter, the histograms and the DCTs run over
batches of them (:func:`~histeq_gui.core.stats_kernels.edge_histograms`,
one ``scipy.fftpack.dct`` call per axis for the batch).  Other data than
uint8 is first put on 256 levels over the stack's value range
(:mod:`~histeq_gui.core.value_range`) by :func:`to_levels`: CleanVision only
reads 8-bit images.
"""

from __future__ import annotations

import numpy as np

from .stats_kernels import edge_histograms

__all__ = ["CLEANVISION", "THRESHOLDS", "LOW_INFORMATION_NORMALIZING_FACTOR",
           "BLURRY_NORMALIZING_FACTOR", "BLURRY_COLOR_THRESHOLD", "ODD_SIZE_IQR_FACTOR",
           "BLUR_MAX_SIDE", "PHASH_SIZE", "PropertyChecks", "to_levels", "blurry_scores",
           "grayscale_scores", "odd_aspect_ratio_scores", "odd_size_scores", "phash_hex"]

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
    """The blur measures and perceptual hashes of ``n`` images, given one at a time.

    :meth:`add` makes the two small gray images CleanVision's checks look at
    (with Pillow, as CleanVision does); every :data:`_BATCH` images they are
    measured together.  :meth:`finish` returns the columns.
    """

    def __init__(self, n: int):
        self.blurriness = np.full(n, np.nan)
        self.grayscale_std = np.full(n, np.nan)
        self.phash = np.zeros(n, np.uint64)
        self._pending = []

    def add(self, index: int, image: np.ndarray) -> None:
        """Image ``index``: ``(H, W)`` gray, ``(H, W, 2)`` gray + alpha, RGB or RGBA, uint8."""
        from PIL import Image

        picture = Image.fromarray(np.ascontiguousarray(image))
        width, height = picture.size
        ratio = max(width, height) / BLUR_MAX_SIDE
        small = picture
        if ratio > 1:               # BlurrinessProperty.calculate
            small = picture.resize((max(int(width // ratio), 1), max(int(height // ratio), 1)))
        gray = np.asarray(small.convert("L"))
        thumb = np.asarray(picture.convert("L").resize((_PHASH_SIDE, _PHASH_SIDE),
                                                        Image.Resampling.LANCZOS))
        self._pending.append((index, gray, thumb))
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


def _phash(thumbs):
    """imagehash's ``phash`` bits of 32x32 gray thumbnails (m, 32, 32), as uint64."""
    import scipy.fftpack

    m = len(thumbs)
    dct = scipy.fftpack.dct(scipy.fftpack.dct(thumbs, axis=1), axis=2)
    low = dct[:, :PHASH_SIZE, :PHASH_SIZE].reshape(m, PHASH_SIZE * PHASH_SIZE)
    bits = low > np.median(low, axis=1)[:, None]
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
