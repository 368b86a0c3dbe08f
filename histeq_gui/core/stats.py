"""Per-image statistics and quality flags of a whole stack: :func:`image_stats`.

One call describes every image of a stack: plain statistics (mean, spread,
percentiles, distinct values, entropy), the scores and flags of every issue
type CleanVision checks (dark, light, low information, blurry, grayscale,
odd aspect ratio, odd size, exact and near duplicates), constant images,
and what equalization does to each image.  The result is a *table*: a dict
of 1-D NumPy arrays with one entry per image, ready for a table view, a
column histogram or :func:`~histeq_gui.core.stats_csv.stats_to_csv`.

The work is vectorized over the stack: the images are taken in chunks of
about a million pixels, and every column of a chunk comes from a few calls
over all its images at once: for 8-bit gray images two compiled passes per
row (:mod:`.stats_kernels`: value histogram, order statistics, ``np.std``,
histogram of the equalized levels, mean change), for other data one
``np.sort`` along the rows plus NumPy's equal-bin histogram in a compiled
loop.  Only images holding NaN or infinite pixels have their mean, standard
deviation and mean change computed one by one.  8-bit images of many sizes
(a folder) are taken in batches of any sizes and described in one compiled
call per batch from their levels
(:func:`~histeq_gui.core.stats_kernels.describe_levels`), equalized through
the engine's table of each level
(:func:`~histeq_gui.core.engine.tables.value_luts`), not pixel by pixel.  The checks that look at a
small copy of each image (blur, perceptual hash) are
:mod:`.stats_checks`'s; duplicates are found by digest
(:mod:`.duplicates`), so memory holds 16 bytes per image, not its pixels.

Every column equals a plain per-image NumPy computation (written out in
``tests/core/test_stats.py``) bit for bit; the CleanVision columns repeat
CleanVision's formulas (``tests/core/test_stats_cleanvision.py``), the
entropy repeats Pillow's ``Image.entropy()``.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from . import fit
from .duplicates import (
    check_radius,
    drop_exact_sets,
    exact_duplicates,
    image_digest,
    near_duplicate_sets,
    set_scores,
)
from .engine import pool
from .engine.inputs import prepare
from .engine.tables import value_luts
from .io import labels_of
from .methods import get_method
from .stack import as_channels_first, guess_layout
from .stats_checks import (
    BLURRY_COLOR_THRESHOLD,
    BLURRY_NORMALIZING_FACTOR,
    CLEANVISION,
    LOW_INFORMATION_NORMALIZING_FACTOR,
    ODD_SIZE_IQR_FACTOR,
    THRESHOLDS,
    PropertyChecks,
    blurry_scores,
    grayscale_scores,
    odd_aspect_ratio_scores,
    odd_size_scores,
    phash_hex,
    to_levels,
)
from .stats_kernels import (
    colour_work,
    count_levels,
    describe_levels,
    gray8_after,
    gray8_summary,
    histogram256,
    luminance_tables,
)
from .value_range import check_value_range, needs_scan, resolve_value_range

__all__ = ["COLUMNS", "DATASET_COLUMNS", "THRESHOLDS", "LOW_INFORMATION_NORMALIZING_FACTOR",
           "MAD_SCALE", "StatsTable", "image_stats", "robust_z", "outliers", "warm_up"]

#: Scale that makes the median absolute deviation estimate the standard
#: deviation of normal data: 1 / Phi^-1(3/4) = 1.482602..., rounded as in
#: Iglewicz & Hoaglin's modified z-score (0.6745 (x - median) / MAD).
MAD_SCALE = 1.4826

#: The columns of the table, in order: name -> (dtype, meaning).
COLUMNS = {
    "index": ("int64", "image number in the stack, from 0"),
    "name": ("str", "source file name (a folder of images), else empty"),
    "label": ("str", "first folder of the name, a relative path (a folder tree), else empty"),
    "mean": ("float64", "mean of the finite values"),
    "std": ("float64", "population standard deviation of the finite values (np.std)"),
    "min": ("float64", "smallest finite value"),
    "max": ("float64", "largest finite value"),
    "p01": ("float64", "1st percentile of the finite values (np.percentile, linear)"),
    "p99": ("float64", "99th percentile of the finite values (np.percentile, linear)"),
    "distinct": ("int64", "number of distinct finite values"),
    "nan_count": ("int64", "number of NaN pixels"),
    "inf_count": ("int64", "number of +inf and -inf pixels"),
    "entropy": ("float64", "entropy in bits of the 256-level histogram (see Notes)"),
    "width": ("int64", "width in pixels"),
    "height": ("int64", "height in pixels"),
    "dark_score": ("float64", "CleanVision: 99th percentile of the pixel brightness"),
    "light_score": ("float64", "CleanVision: 1 - 5th percentile of the pixel brightness"),
    "low_information_score": ("float64", "CleanVision: min(0.1 * entropy, 1)"),
    "blurriness": ("float64", "CleanVision: std of FIND_EDGES of the image shrunk to 64 px"),
    "blurriness_grayscale_std": ("float64", "CleanVision: std of the 64-px image's histogram"),
    "blurry_score": ("float64", "CleanVision: from blurriness and blurriness_grayscale_std"),
    "grayscale_score": ("float64", "CleanVision: 0 for a gray image, 1 for colour"),
    "odd_aspect_ratio_score": ("float64", "CleanVision: min(width / height, height / width)"),
    "odd_size_score": ("float64", "CleanVision: sqrt(width * height) against the IQR rule"),
    "is_dark": ("bool", "dark_score < 0.32"),
    "is_light": ("bool", "light_score < 0.05"),
    "is_low_information": ("bool", "low_information_score < 0.3"),
    "is_blurry": ("bool", "blurry_score < 0.29"),
    "is_grayscale": ("bool", "grayscale_score is 0"),
    "is_odd_aspect_ratio": ("bool", "odd_aspect_ratio_score < 0.35"),
    "is_odd_size": ("bool", "odd_size_score < 0.5 (1 when all sizes are equal)"),
    "is_constant": ("bool", "every channel holds at most one distinct finite value"),
    "is_duplicate": ("bool", "the same pixels as an earlier image"),
    "duplicate_of": ("int64", "index of the first image with these pixels, else -1"),
    "exact_duplicates_score": ("float64", "CleanVision: 1 / size of the set of equal images"),
    "phash": ("str", "perceptual hash, imagehash.phash(image, hash_size=8), 16 hex digits"),
    "is_near_duplicate": ("bool", "in a set of near duplicates (equal or close phash)"),
    "near_duplicate_of": ("int64", "the first image of its near-duplicate set, else -1"),
    "near_duplicates_score": ("float64", "CleanVision: 1 / size of its near-duplicate set"),
    "entropy_after": ("float64", "entropy of the equalized image at 256 levels"),
    "distinct_after": ("int64", "distinct levels of the equalized image at 256 levels"),
    "levels_lost": ("int64", "distinct - distinct_after"),
    "mean_abs_change": ("float64", "mean |equalized - original|, both on a [0, 1] scale"),
}

#: The columns that compare an image with the others (sizes, duplicates): an
#: image described alone, or among other images, gets other values there.
DATASET_COLUMNS = ("odd_size_score", "is_odd_size", "is_duplicate", "duplicate_of",
                   "exact_duplicates_score", "is_near_duplicate", "near_duplicate_of",
                   "near_duplicates_score")

_CHUNK_PIXELS = 1 << 20      # values (pixels x channels) per chunk
_FULL_TABLE = 1 << 16       # entropy: keep the p log p tables of totals up to this
_EQUALIZE_CHUNKS = 8         # chunks per call of equalize (fewer, larger calls are faster)
_RAGGED_BATCH = 512          # images of different sizes described in one compiled call
_LEVELS_COLOUR = 1 << 21     # pixels of the largest colour image described from its levels
_TRIPLES = 1 << 17           # distinct colours the colour scratch has room for at first
_LOG2E = 1.4426950408889634  # M_LOG2E, as Pillow's _entropy multiplies by it
_EIGHT_BIT = (np.dtype(np.uint8), np.dtype(np.int8))


class StatsTable(dict):
    """The table :func:`image_stats` returns: column name -> 1-D array, one entry per image.

    A plain ``dict`` (``COLUMNS`` gives the order and dtypes) with one more
    attribute, ``info``: a dict of how the table was made (method, bins,
    scope, shape, dtype, thresholds, ...), which
    :func:`~histeq_gui.core.stats_csv.stats_to_csv` writes into the sidecar.
    """

    def __init__(self, columns=(), info=None):
        super().__init__(columns)
        self.info = dict(info or {})

    @property
    def n_images(self):
        """Number of rows."""
        return len(self["index"]) if "index" in self else 0


# ------------------------------------------------------------------------ public API


def image_stats(images, method="numpy", bins=256, scope="image", channel_axis=None, names=None,
                progress=None, *, value_range=None, near_duplicate_radius=0, **method_params):
    """Statistics, quality flags and equalization effect of every image of a stack.

    Parameters
    ----------
    images : array_like
        A stack as :func:`~histeq_gui.equalize` takes it: the last two axes
        are one image ``(H, W)``, every leading axis a batch axis
        (``(1800, 1, 96, 96)``, ``(N, H, W)``, one ``(H, W)``), plus a colour
        axis if ``channel_axis`` is given.  Integer or float pixels.  Not
        modified (memory maps are read chunk by chunk).  Or a
        :class:`~histeq_gui.core.io.Reader` (:func:`~histeq_gui.core.io.open_reader`):
        read a block of images at a time, for stacks larger than memory.
        Or a list of images of different sizes (a ragged folder, or its
        :class:`~histeq_gui.core.io.RaggedReader`): each ``(H, W)``
        gray or ``(H, W, C)`` colour (``channel_axis`` -1 or "auto"), all of
        one dtype; gray and colour may be mixed; each is described on its
        own, and scope "stack" pools all their pixels into one histogram
        (images of one number of channels only).
    method, bins, scope
        The equalization the ``*_after`` columns and ``mean_abs_change``
        describe, passed to :func:`histeq_gui.equalize` (see there).
    channel_axis : int or "auto", optional
        The colour axis, as for :func:`~histeq_gui.equalize`.  A colour image
        is described by its luminance (see Notes); 2 channels are gray +
        alpha (the gray channel is used), 3 and 4 are RGB and RGBA.
    names : sequence of str, optional
        One name per image, e.g. the file names of a folder of images (for a
        folder tree their relative paths, whose first folder is the
        ``label``); default the reader's ``names``, else empty strings.
    progress : callable, optional
        ``progress(done, total)`` after each chunk of images; it may raise
        (e.g. :class:`~histeq_gui.core.errors.Cancelled`) to stop the work,
        and the exception propagates.
    value_range : {"auto", "dtype", "data"} or (float, float), optional
        The values the brightness scale [0, 1] runs over (dark and light
        scores, ``mean_abs_change``, the 8-bit copy the blur and hash
        checks see): see :mod:`histeq_gui.core.value_range`.  Default
        "auto": uint8 0..255 as CleanVision; 12-bit data in uint16 over
        0..4095; floats over [0, 1] when they lie in it, else over the
        stack's saturated percentiles, which one outlier cannot move.  The
        table's ``info["value_range"]`` and ``info["value_range_rule"]``
        say what was used.
    near_duplicate_radius : int
        0 (CleanVision's rule): near duplicates have equal perceptual
        hashes.  1..10: hashes differing in at most this many of their 64
        bits (one JPEG re-encoding usually moves a few) join a set.
    **method_params
        Further parameters of the method, passed on to ``equalize``.

    Returns
    -------
    StatsTable
        A dict of 1-D arrays with one entry per image, keys and dtypes as in
        ``histeq_gui.core.stats.COLUMNS``.

    Raises
    ------
    ValueError
        For a method, bins or scope ``equalize`` refuses, an unsupported
        dtype (boolean, complex), a colour axis of more than 4 channels,
        ``names`` of the wrong length, a bad ``value_range`` or radius.

    Notes
    -----
    **Values.**  The statistics are those of the image's finite values
    (NaN and +-inf are left out and counted in ``nan_count`` and
    ``inf_count``), as ``float64``: ``mean`` and ``std`` are ``np.mean`` and
    ``np.std`` of ``image[np.isfinite(image)].astype(np.float64)``, ``p01``
    and ``p99`` are ``np.percentile`` (linear interpolation) of the same
    values (in float64 because NumPy's percentile of signed integers
    overflows: ``np.percentile(np.int8([-100, 100]), 50)`` is 128).  An
    image with no finite value has NaN statistics, ``distinct`` 0, and
    counts as constant.  ``distinct`` counts the values as stored;
    integers beyond 2**53 are rounded in the float64 columns.

    **Colour.**  A colour image is described by its luminance as
    CleanVision computes the brightness of a pixel
    (``calculate_brightness`` in
    ``cleanvision/issue_managers/image_property.py``)::

        Y = lo + sqrt(0.241 R'**2 + 0.691 G'**2 + 0.068 B'**2),  R' = max(R - lo, 0), ...

    in float64, where ``lo`` is the low end of the value range (0 for 8-bit
    and for 12-bit data: exactly CleanVision's ``sqrt(0.241 r*r + 0.691 g*g
    + 0.068 b*b)``).  Alpha is ignored, except in the low-information
    entropy (below) where Pillow counts it.  ``nan_count`` and
    ``inf_count`` count the pixels whose luminance is NaN or infinite (a
    NaN in any of R, G, B).

    **Entropy** (bits).  8-bit images (uint8, int8): Pillow's
    ``Image.entropy()`` of the image in mode ``"L"``: ``p = count / total``
    over the 256 value counts, ``entropy = -sum(p * log(p) * M_LOG2E)``
    summed in bin order, skipping empty bins (``src/_imaging.c``,
    ``_entropy``), with the C library's ``log`` (``math.log``), so the value
    is Pillow's to the last bit (0.0 rather than Pillow's -0.0 for a
    constant image).  Other data (16-bit, floats, colour luminance): the same
    formula over ``np.histogram(values.astype(np.float64), bins=256)`` of
    the finite values, 256 equal bins between the image's smallest and
    largest finite value (a constant image: 0 bits); if that range is too
    narrow to hold 257 distinct float64 edges, each distinct value is a bin.

    **CleanVision** (https://github.com/cleanlab/cleanvision v0.3.7, commit
    2f69ae8a, ``src/cleanvision/issue_managers/image_property.py``,
    ``image_property_issue_manager.py``, ``duplicate_issue_manager.py``).
    The pixel brightness ``b`` is ``imarr / 255.0`` for a gray ("L") image
    and ``sqrt(0.241 r*r + 0.691 g*g + 0.068 b*b) / 255`` for RGB(A)
    (``calc_percentile_brightness``); for other data ``b = (value - lo) /
    (hi - lo)`` over the value range (8-bit: exactly CleanVision's).  Then,
    as ``BrightnessProperty`` and ``EntropyProperty.get_scores`` compute
    them:

    - ``dark_score = np.percentile(b, 99)``; dark when < 0.32;
    - ``light_score = 1 - np.percentile(b, 5)``; light when < 0.05;
    - ``low_information_score = min(0.1 * E, 1)`` with ``E`` Pillow's
      ``entropy()`` of the image as CleanVision opens it: for gray images the
      ``entropy`` column; for colour the entropy of all channels' 256-level
      histograms concatenated (Pillow's multi-band rule, e.g. 768 bins for
      RGB, alpha included for RGBA), 256 equal bins over the image's finite
      range for non-8-bit data; low information when < 0.3.

    A NaN score (no finite pixel) never flags.  Blurry, grayscale, odd
    aspect ratio and odd size (whose rule compares each image's size with
    the whole table's quartiles): see :mod:`histeq_gui.core.stats_checks`.
    Other data than uint8 is seen by the blur and hash checks on 256 levels
    over the value range.

    **Duplicates.**  ``is_duplicate`` marks an image whose pixels (and
    shape) are byte-for-byte those of an earlier image, ``duplicate_of`` is
    the index of that set's first image (-1 for the first one and for the
    others); ``exact_duplicates_score`` is CleanVision's: ``1 / len(set)``
    for every member of a set, 1 otherwise.  The images are matched by an
    MD5 of their pixels (images of different sizes: only those whose shape
    another image has) and every match is confirmed by reading both images
    again and comparing their bytes.  ``phash`` is imagehash's perceptual
    hash; images whose hashes are equal (or within
    ``near_duplicate_radius`` bits) form a near-duplicate set, except a set
    of exact copies only (CleanVision's rule); ``near_duplicate_of`` is the
    set's first image for every member (itself included),
    ``is_near_duplicate`` is CleanVision's flag (every member) and
    ``near_duplicates_score`` ``1 / len(set)``.  See
    :mod:`histeq_gui.core.duplicates`.

    **After equalization.**  ``equalize(images, method, bins, scope,
    channel_axis=channel_axis, **method_params)`` gives ``v`` in [0, 1];
    it is cut to the 256 levels of the uint8 export, ``np.rint(255 * v)``
    (NaN pixels left out).  ``entropy_after`` and ``distinct_after`` are the
    8-bit (Pillow) entropy and the number of distinct levels of that; for
    colour, the entropy (256 equal bins, as for other data) and the number of
    distinct values of the luminance ``Y`` of the 8-bit R, G, B levels.
    ``levels_lost = distinct - distinct_after``.  ``mean_abs_change`` is the
    mean over finite pixels of ``|v - b|``, ``b`` the original on the [0, 1]
    scale above (colour: the luminances of ``v`` and of the original).  With ``scope="image"`` each
    chunk of images is equalized on its own (the same result); with
    ``scope="stack"`` the stack's histogram of each channel is fitted over
    the chunks (:func:`histeq_gui.core.fit.fit_each`, the histogram of the
    whole stack) and applied chunk by chunk, as ``equalize(images,
    scope="stack")`` maps them.  An image that ``equalize`` refuses on its own (a float
    image whose range is too narrow for ``bins`` equal bins) gets NaN
    ``entropy_after`` and ``mean_abs_change`` and ``distinct_after`` 0.

    Examples
    --------
    >>> import numpy as np
    >>> stack = np.zeros((3, 1, 8, 8), np.uint8)
    >>> stack[1] = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    >>> stack[2] = stack[1]
    >>> table = image_stats(stack)
    >>> table["is_dark"].tolist(), table["is_constant"].tolist()
    ([True, False, False], [True, False, False])
    >>> table["duplicate_of"].tolist(), table["entropy"].tolist()   # Pillow's value, to the bit
    ([-1, -1, 1], [0.0, 5.999999999999999, 5.999999999999999])
    >>> table["exact_duplicates_score"].tolist(), table.info["value_range_rule"]
    ([1.0, 0.5, 0.5], 'uint8 range 0..255 (CleanVision)')
    """
    from .. import equalize  # the public function, whatever module holds it

    value_range = check_value_range(value_range)
    radius = check_radius(near_duplicate_radius)
    source = _Source(images, channel_axis)
    channels, n = source.channels, source.n
    names = _names(getattr(images, "names", None) if names is None else names, n)
    rows = 1 if source.ragged else max(1, _CHUNK_PIXELS // max(source.pixels * channels, 1))
    method = get_method(method)
    aware = {p.name for p in method.stack_aware}
    # Check the arguments on a small ramp first, so that a bad one is an error
    # rather than a column of NaN (see _equalize_chunk); a stack-aware one
    # (match's reference "stack" or an index) means the whole stack: it is
    # resolved against it once, below, and checked there.
    equalize(np.arange(16).reshape(4, 4).astype(source.dtype), method=method, bins=bins,
             scope=scope, **{k: v for k, v in method_params.items() if k not in aware})
    if scope == "stack" and source.mixed:
        raise ValueError("scope 'stack' pools the pixels of images of one kind; these images "
                         "mix gray and colour, describe them with scope 'image'")
    given = dict(method_params)                 # as given, for the table's info (and CSV)
    if aware:
        method_params = _whole_stack_params(source, method, bins, method_params)
    eq_args = dict(method=method, bins=bins, scope=scope, **method_params)
    chunks = -(-n // rows)
    hists = None
    whole = scope == "stack" or n == 0
    scans = needs_scan(value_range, source.dtype)
    # Progress: one step per chunk described, as many for fitting the whole
    # stack's histograms (scope "stack") and for scanning its value range;
    # at least one step.
    total = max(1, chunks * (1 + whole + scans))
    done = 0
    if progress is not None:
        progress(0, total)

    def scan():
        nonlocal done
        for block in source.blocks(rows):
            yield block
            done += 1
            if progress is not None:
                progress(done, total)

    scale = resolve_value_range(value_range, source.dtype, scan)
    lo, hi = scale.lo, scale.hi
    done = chunks if scans else 0
    if whole:
        # One histogram per channel for the whole stack, fitted chunk by chunk
        # (histeq_gui.core.fit: the histogram of the concatenation), then
        # applied to each chunk: equalize(images, scope="stack") chunk by chunk.
        fit_progress = None
        if progress is not None:
            def fit_progress(d, t):
                progress(done + int(chunks * d / max(t, 1)), total)
        if n:
            hists = fit.fit_each(lambda: ([block[:, c] for c in range(channels)]
                                          for block in source.blocks(rows)),
                                 channels, method, bins, progress=fit_progress,
                                 **method_params)
        done += chunks

    parts = _Columns(n)
    cache = {}                                  # entropy tables, shared by the chunks
    checks = PropertyChecks(n)
    digests = np.zeros(n, "S16")
    alone = _alone(source)
    step = 1 if source.ragged else rows * _EQUALIZE_CHUNKS     # images per call of equalize
    maps = _value_maps(method, bins, method_params, source.dtype) if hists is None else None
    if maps is not None:
        # 8-bit: batches of images described at once from their levels, each batch
        # beside the checks of its images.
        scratch = {}
        batches = _ragged_batches(source) if source.ragged else \
            ((b0, min(b0 + rows, n)) for b0 in range(0, n, rows))
        for b0, b1 in batches:
            if source.ragged:
                # each image as stored, (H, W) or (H, W, C): no copy with its channels first
                whole = [source.picture(i) for i in range(b0, b1)]
                look = partial(_look_pictures, checks, digests, whole, b0, lo, hi, alone)
            else:
                whole = source.block(b0, b1)
                look = partial(_look, checks, digests, whole, b0, source, lo, hi)
            (part, again), _ = _side_by_side(
                partial(_describe_levels, whole, maps, source.dtype, lo, hi, scratch), look)
            parts.put(b0, part)
            for k in again:                 # the images it leaves: as below
                # ragged: the picture in memory already, not decoded again
                block = _picture_block(whole[k]) if source.ragged else \
                    source.block(b0 + k, b0 + k + 1)
                eq = _equalize_chunk(equalize, block, source.image_shape_of(b0 + k), eq_args)
                parts.put(b0 + k, _describe_chunk(block, eq, lo, hi, cache))
            done += b1 - b0 if source.ragged else 1
            if progress is not None:
                progress(done, total)
    for b0 in range(0 if maps is None else n, n, step):
        b1 = min(b0 + step, n)
        block = source.block(b0, b1)                      # (m, C, P), native dtype
        if hists is None:
            eq_block = _equalize_chunk(equalize, block, source.image_shape_of(b0), eq_args)
        else:
            eq_block = np.stack([h.apply(block[:, c]) for c, h in enumerate(hists)], axis=1)
        for r0 in range(0, b1 - b0, rows):
            chunk = block[r0:r0 + rows]
            part, _ = _side_by_side(
                partial(_describe_chunk, chunk, eq_block[r0:r0 + rows], lo, hi, cache),
                partial(_look, checks, digests, chunk, b0 + r0, source, lo, hi))
            parts.put(b0 + r0, part)
            done += 1
            if progress is not None:
                progress(done, total)

    if progress is not None and done < total:
        progress(total, total)
    table = _assemble(parts, n, names, source, checks.finish(), digests, radius)
    heights, widths = table["height"], table["width"]
    info = {"method": method.name, "bins": int(bins), "scope": scope,
            "method_params": given, "shape": list(source.shape),
            "dtype": str(source.dtype), "layout": source.layout.name, "channels": channels,
            "value_range": [lo, hi], "value_range_rule": scale.rule,
            "thresholds": dict(THRESHOLDS),
            "odd_size_threshold": odd_size_scores(heights, widths)[1],
            "low_information_normalizing_factor": LOW_INFORMATION_NORMALIZING_FACTOR,
            "blurry_normalizing_factor": BLURRY_NORMALIZING_FACTOR,
            "blurry_color_threshold": BLURRY_COLOR_THRESHOLD,
            "odd_size_iqr_factor": ODD_SIZE_IQR_FACTOR,
            "near_duplicate_radius": radius, "checks": CLEANVISION}
    return StatsTable(table, info)


def _side_by_side(describe, look):
    """``(describe(), look())`` run at the same time on the engine's pool.

    The statistics of a batch and the checks' small images (Pillow's
    resizes, the compiled filters, the digests) are independent, and both
    spend most of their time without the GIL.
    """
    return pool.run(_call, [describe, look])


def _call(job):
    return job()


def _value_maps(m, bins, params, dtype):
    """``maps(counts)``: equalize's value of each level of 8-bit samples from their counts, or None.

    For 8-bit images, scope "image" and a method that maps integers by value
    (every method but the image-wide ones, ``clahe``, and the stack-aware
    ones, ``match``): :func:`~histeq_gui.core.engine.tables.value_luts`,
    the engine's own tables, so the values are ``equalize``'s.  ``counts``
    is ``(samples, 256)``, one row per channel of an image.
    """
    if dtype not in _EIGHT_BIT:
        return None
    p = prepare(np.zeros((1, 1), dtype), m, bins, params)
    if m.kind(dtype) == "image" or m.stack_aware:
        return None
    if value_luts(m, p, bins, dtype, np.ones((1, 256), np.int64)) is None:
        return None
    return lambda counts: value_luts(m, p, bins, dtype, counts)


def _ragged_batches(source):
    """Runs ``(b0, b1)`` of a ragged source's images, about :data:`_CHUNK_PIXELS` values each."""
    b0 = values = 0
    for i in range(source.n):
        values += math.prod(source.shape_of(i))
        if values >= _CHUNK_PIXELS or i + 1 - b0 >= _RAGGED_BATCH:
            yield b0, i + 1
            b0, values = i + 1, 0
    if b0 < source.n:
        yield b0, source.n


def _describe_levels(blocks, maps, dtype, lo, hi, scratch):
    """The per-image columns of 8-bit images of any sizes at once.

    ``blocks`` is a list of images as stored, ``(H, W)`` gray or ``(H, W,
    C)``, or a C-contiguous chunk ``(m, C, P)`` of images of one shape.

    Returns the columns (as :func:`_describe_chunk`'s) and the positions of
    the images to describe otherwise: no pixel, an equalized value that is
    not a number, a colour image of more than :data:`_LEVELS_COLOUR` pixels
    or whose luminances lie too close together for 256 float64 bins (see
    :func:`~histeq_gui.core.stats_kernels.describe_levels`).  ``scratch``
    keeps the colour images' scratch arrays from one call to the next.
    """
    m = len(blocks)
    if isinstance(blocks, np.ndarray):
        channels = np.full(m, blocks.shape[1], np.int64)
        pixels = np.full(m, blocks.shape[2], np.int64)
        cstride, pstride = pixels, np.ones(m, np.int64)
    else:
        channels = np.array([1 if b.ndim == 2 else b.shape[2] for b in blocks], np.int64)
        pixels = np.array([b.shape[0] * b.shape[1] for b in blocks], np.int64)
        cstride, pstride = np.ones(m, np.int64), channels
    colour = channels >= 3
    large = colour & (pixels > _LEVELS_COLOUR)
    most = int(pixels[colour & ~large].max(initial=0))
    if "work" not in scratch:
        scratch["most"], scratch["room"], scratch["work"] = 0, 0, colour_work(0, 0)
    if scratch["most"] < most:
        # Grown to twice the size at least: few large images follow many small ones.
        most = min(max(most, 2 * scratch["most"]), _LEVELS_COLOUR)
        scratch["most"] = most
        scratch["work"] = colour_work(most, max(scratch["room"], _TRIPLES))
        scratch["room"] = len(scratch["work"][1])
    sizes = channels * pixels
    offsets = np.zeros(m, np.int64)
    np.cumsum(sizes[:-1], out=offsets[1:])
    if isinstance(blocks, np.ndarray):
        flat = blocks.reshape(-1)                   # a chunk (m, C, P), used in place
    else:
        flat = np.concatenate([b.reshape(-1) for b in blocks])
    flat = flat.view(np.uint8)
    flip = 0x80 if dtype == np.int8 else 0
    counts = np.zeros((m, 4, 256), np.int64)
    empty = pixels == 0
    use = ~empty & ~large
    counted = np.zeros((use.sum(), 4, 256), np.int64)
    count_levels(flat, offsets[use], pixels[use], channels[use], cstride[use], pstride[use],
                 flip, counted)
    counts[use] = counted
    luts = np.zeros((m, 4, 256))
    band = np.arange(4)[None, :] < channels[:, None]
    band &= use[:, None]
    if band.any():                  # a batch of large colour images alone counts nothing here
        luts[band] = maps(counts[band])
    # Levels no pixel holds may map to NaN: they are never looked up.
    luts[counts == 0] = 0.0
    broken = use & np.isnan(luts).any(axis=(1, 2))
    use &= ~broken
    value = np.arange(256, dtype=np.float64) - flip
    unit = _unit(value, lo, hi)
    span = hi - lo if hi > lo else 1.0
    from_lo = value - lo                            # as _luminance takes the channels
    if lo != 0 or flip:
        np.maximum(from_lo, 0.0, out=from_lo)
    tq, kq, exact = luminance_tables(from_lo)
    floats = np.full((m, 12), np.nan)
    ints = np.zeros((m, 4), np.int64)
    at = np.flatnonzero(use)
    while len(at):
        f, k = floats[at], ints[at]
        describe_levels(flat, offsets[at], pixels[at], channels[at], cstride[at],
                        pstride[at], flip, counts[at], luts[at], value, unit,
                        float(lo), float(span), bool(lo != 0), tq, kq, exact, scratch["work"],
                        f, k)
        floats[at], ints[at] = f, k
        # Images of more distinct colours than the scratch has room for: again, with room
        # for four times as many (or for every pixel).
        at = at[k[:, 3] == 2]
        if len(at):
            room = min(4 * scratch["room"], scratch["most"])
            scratch["work"] = colour_work(scratch["most"], room)
            scratch["room"] = room
    again = np.flatnonzero(~use | (ints[:, 3] != 0))
    names = ("mean", "std", "min", "max", "p01", "p99", "b05", "b99", "entropy",
             "band_entropy", "entropy_after", "mean_abs_change")
    part = {name: floats[:, j] for j, name in enumerate(names)}
    part["distinct"], part["distinct_after"] = ints[:, 0], ints[:, 1]
    part["constant"] = ints[:, 2] != 0
    part["nan"] = part["inf"] = np.zeros(m, np.int64)
    return part, again


def _alone(source):
    """True for each image whose shape ``(C, H, W)`` no other image of ``source`` has."""
    if not source.ragged:
        return np.full(source.n, source.n == 1)
    shapes = [source.shape_of(i) for i in range(source.n)]
    seen = {}
    for shape in shapes:
        seen[shape] = seen.get(shape, 0) + 1
    return np.array([seen[shape] == 1 for shape in shapes], bool)


def _look_pictures(checks, digests, pictures, start, lo, hi, alone):
    """:func:`_look` at images ``start, start + 1, ...`` as stored, ``(H, W)`` or ``(H, W, C)``.

    The digest is of the image's shape and bytes as stored: two images of a
    ragged source have the same one exactly when their blocks are the same.
    An image ``alone`` in its shape cannot have a duplicate: it gets a key
    of its own (its index) instead of a digest of its pixels.
    """
    for k, picture in enumerate(pictures):
        i = start + k
        digests[i] = b"\1" + i.to_bytes(15, "little") if alone[i] else \
            image_digest(picture, picture.shape)
        checks.add(i, to_levels(picture, lo, hi)[np.newaxis])


def _look(checks, digests, chunk, start, source, lo, hi):
    """The per-image inputs of the checks and the duplicates of a chunk (m, C, P) of one shape."""
    for k in range(len(chunk)):
        digests[start + k] = image_digest(chunk[k], source.shape_of(start + k))
    height, width = source.image_shape_of(start)
    levels = to_levels(chunk, lo, hi).reshape(len(chunk), -1, height, width)
    checks.add(start, levels[:, 0] if levels.shape[1] == 1 else np.moveaxis(levels, 1, -1))


def _picture_block(picture):
    """An ``(H, W)`` or ``(H, W, C)`` picture as a C-contiguous ``(1, C, H * W)`` block."""
    picture = picture.reshape(picture.shape[:2] + (-1,))
    return np.ascontiguousarray(np.moveaxis(picture, -1, 0).reshape(1, picture.shape[-1], -1))


def _whole_stack_params(source, method, bins, params):
    """``params`` with the stack-aware ones resolved once against the whole stack.

    Every block is then equalized against the same reference, as
    ``equalize(images, method, **params)`` of the whole stack does (each
    block would otherwise resolve ``"stack"`` against itself).  The stack
    is read piece by piece through its reader, like the export does
    (:func:`~histeq_gui.core.engine.chunks.stack_stream`).
    """
    from .engine.chunks import stack_stream
    from .equalize import stack_params
    from .io import reader_for

    if source.ragged:
        names = ", ".join(p.name for p in method.stack_aware)
        raise ValueError(f"the {method.name} method's {names} needs images of one size to resolve "
                         "against the stack; give it an image array or a file instead")
    reader = source.reader if source.reader is not None else reader_for(source.array)
    return stack_params(stack_stream(reader, source.layout), method, bins=bins, **params)


class _Source:
    """The images of :func:`image_stats` as blocks ``(m, C, P)``: from an array or a Reader.

    An array is used in place (a view ``(C, N, P)``); a
    :class:`~histeq_gui.core.io.Reader` is read a block of images at a
    time along its image axis, so that a stack larger than memory is
    described with memory bounded by the block.
    """

    ragged = False
    mixed = False

    def __init__(self, images, channel_axis):
        from .io import Reader, stack_axis

        if getattr(images, "ragged", False) or isinstance(images, (list, tuple)) and \
                len(images) and len({np.shape(image) for image in images}) > 1:
            self._ragged(images, channel_axis)
            return
        self.reader = images if isinstance(images, Reader) else None
        if self.reader is not None:
            _check_dtype(self.reader.dtype)
            if self.reader.ndim < 2:
                raise ValueError(f"expected images with at least 2 dimensions (height, width), "
                                 f"got an array of shape {self.reader.shape}")
            self.shape = self.reader.shape
            self.dtype = self.reader.dtype.newbyteorder("=")
            self.layout = guess_layout(self.shape, channel_axis)
            long_axes = [a for a in self.layout.batch_axes if self.shape[a] > 1]
            if len(long_axes) > 1:              # images along several axes: read it whole
                self.reader, images = None, self.reader.load()
            else:
                self.axis = stack_axis(self.layout)
        if self.reader is None:
            x = self.array = _as_stack(images)
            self.shape, self.dtype = x.shape, x.dtype
            self.layout = guess_layout(x.shape, channel_axis)
            xc = as_channels_first(x, self.layout)
        self.channels = self.layout.channels
        if self.channels > 4:
            raise ValueError(f"images with {self.channels} channels cannot be described; give "
                             "1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA) channels, or "
                             "channel_axis=None")
        self.n = self.layout.n_images
        self.image_shape = self.layout.image_shape
        self.pixels = self.image_shape[0] * self.image_shape[1]
        if self.reader is None:
            self.x3 = xc.reshape(self.channels, self.n, self.pixels)   # a view, usually

    def _ragged(self, images, channel_axis):
        """Images of different shapes: each one is described (and equalized) on its own.

        They share a dtype; gray ``(H, W)`` and colour ``(H, W, C)`` images
        may be mixed (``mixed``), each 2-D image being gray.
        """
        self.ragged, self.reader = True, None
        if getattr(images, "ragged", False):        # a RaggedReader: read image by image
            self._read = lambda i: _as_stack(images.image(i))
            shapes, dtypes = list(images.shapes), [np.dtype(images.dtype)] * images.n_images
        else:
            arrays = [_as_stack(image) for image in images]
            self._read = arrays.__getitem__
            shapes, dtypes = [a.shape for a in arrays], [a.dtype for a in arrays]
        layouts = [guess_layout(shape, None if len(shape) == 2 else channel_axis)
                   for shape in shapes]
        for i, (shape, dtype, layout) in enumerate(zip(shapes, dtypes, layouts)):
            if layout.n_images != 1:
                raise ValueError(f"image {i} of shape {shape} is not one image; give "
                                 "images of shape (H, W) or (H, W, C) when their sizes differ")
            if dtype != dtypes[0]:
                raise ValueError(f"image {i} is {shape} {dtype} but image 0 is "
                                 f"{shapes[0]} {dtypes[0]}; images of different sizes must "
                                 "have the same dtype")
        self.layouts, self.layout = layouts, layouts[0]
        self.dtype, self.n = dtypes[0].newbyteorder("="), len(shapes)
        counts = {layout.channels for layout in layouts}
        self.mixed = len(counts) > 1
        self.channels = max(counts)
        if self.channels > 4:
            raise ValueError(f"images with {self.channels} channels cannot be described; give "
                             "1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA) channels, or "
                             "channel_axis=None")
        self.shape = ("ragged", self.n)
        self.pixels = max(math.prod(layout.image_shape) for layout in layouts)

    def image_shape_of(self, i):
        """``(H, W)`` of image ``i``."""
        return self.layouts[i].image_shape if self.ragged else self.image_shape

    def picture(self, i):
        """Image ``i`` of images of different shapes as ``(H, W)`` or ``(H, W, C)``, a view.

        Built from its layout, whatever the stored shape: ``(1, H, W)``, a
        gray ``(H, W, 1)`` and ``(1, H, W, C)`` give ``(H, W)``, ``(H, W)``
        and ``(H, W, C)``, as :meth:`block` and :meth:`shape_of` see them.
        """
        layout = self.layouts[i]
        xc = as_channels_first(self._read(i), layout)
        xc = xc.reshape((layout.channels,) + tuple(layout.image_shape))
        return xc[0] if layout.channels == 1 else np.moveaxis(xc, 0, -1)

    def shape_of(self, i):
        """``(C, H, W)`` of image ``i``: the shape of its block's pixels."""
        layout = self.layouts[i] if self.ragged else self.layout
        return (layout.channels,) + tuple(layout.image_shape)

    def same_images(self, i, j):
        """True when images ``i`` and ``j`` hold the same shape and bytes (both read again)."""
        if self.shape_of(i) != self.shape_of(j):
            return False
        return np.array_equal(self.block(i, i + 1)[0].view(np.uint8),
                              self.block(j, j + 1)[0].view(np.uint8))

    def block(self, b0, b1):
        """Images ``b0:b1`` as a C-contiguous ``(m, C, P)`` array of the native dtype.

        Images of different shapes come one at a time (``b1 == b0 + 1``).
        """
        if self.ragged:
            return _picture_block(self.picture(b0))
        if self.reader is None:
            return _chunk(self.x3, b0, b1)
        if self.axis is None:
            piece = self.reader.read(0, self.shape[0])
        else:
            piece = self.reader.read(b0, b1, self.axis)
        piece = piece.astype(self.dtype, copy=False)
        layout = guess_layout(piece.shape, self.layout.channel_axis)
        xc = as_channels_first(piece, layout).reshape(self.channels, b1 - b0, self.pixels)
        return np.ascontiguousarray(np.moveaxis(xc, 0, 1))

    def blocks(self, rows):
        """Every image, ``rows`` at a time, as blocks (see :meth:`block`)."""
        for b0 in range(0, self.n, rows):
            yield self.block(b0, min(b0 + rows, self.n))


def robust_z(table, column):
    """Robust z-score of one column: ``(x - median) / (1.4826 * MAD)``.

    Parameters
    ----------
    table : mapping
        A table from :func:`image_stats` (or any dict of 1-D arrays).
    column : str
        A numeric or boolean column.

    Returns
    -------
    ndarray of float64
        One score per row; NaN where the value is NaN.

    Raises
    ------
    ValueError
        For an unknown or non-numeric column.

    Notes
    -----
    ``MAD = median(|x - median(x)|)`` over the non-NaN values.  The factor
    ``MAD_SCALE`` = 1.4826 (1 / Phi^-1(3/4)) makes ``1.4826 * MAD`` the
    standard deviation for normal data, so the score reads like a z-score
    that a few extreme images cannot inflate (Iglewicz & Hoaglin's modified
    z-score, ``0.6745 (x - median) / MAD``; 3.5 is their outlier cut).
    When more than half the values are equal (MAD = 0) the mean absolute
    deviation is used instead, ``(x - median) / (1.253314 * meanAD)`` (the
    same published rule's fallback); if every value is equal, all scores
    are 0.

    Examples
    --------
    >>> z = robust_z({"mean": np.array([1.0, 2.0, 3.0, 4.0, 100.0])}, "mean")
    >>> np.round(z, 3).tolist()
    [-1.349, -0.674, 0.0, 0.674, 65.426]
    """
    x = _numeric_column(table, column)
    out = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    if not ok.any():
        return out
    values = x[ok]
    median = np.median(values)
    deviation = np.abs(values - median)
    mad = np.median(deviation)
    if mad > 0:
        scale = MAD_SCALE * mad
    else:
        scale = 1.253314 * np.mean(deviation)
    if scale > 0 and np.isfinite(scale):
        out[ok] = (values - median) / scale
    else:                       # all equal (or infinite spread): nothing stands out
        deviation = values - median
        with np.errstate(invalid="ignore"):
            out[ok] = np.where(deviation == 0, 0.0, np.copysign(np.inf, deviation))
    return out


def outliers(table, column, threshold=3.5, side="both"):
    """Rows whose robust z-score (:func:`robust_z`) lies beyond ``threshold``.

    Unlike CleanVision's fixed thresholds, which can flag every image of a
    dark or flat dataset, this flags images that are unusual *for this
    stack*.

    Parameters
    ----------
    table : mapping
        A table from :func:`image_stats`.
    column : str
        A numeric or boolean column, e.g. ``"mean"`` or ``"entropy"``.
    threshold : float
        Cut on ``|z|``; 3.5 is Iglewicz & Hoaglin's recommendation.
    side : {"both", "low", "high"}
        Flag both tails, only ``z < -threshold`` or only ``z > threshold``.

    Returns
    -------
    ndarray of bool
        True for the outliers; NaN values are never outliers.

    Examples
    --------
    >>> outliers({"mean": np.array([1.0, 2.0, 3.0, 4.0, 100.0])}, "mean").tolist()
    [False, False, False, False, True]
    """
    if side not in ("both", "low", "high"):
        raise ValueError(f"unknown side {side!r}; choose 'both', 'low' or 'high'")
    threshold = float(threshold)
    if not threshold >= 0:
        raise ValueError(f"threshold must be a number >= 0, got {threshold}")
    z = robust_z(table, column)
    with np.errstate(invalid="ignore"):
        if side == "low":
            return z < -threshold
        if side == "high":
            return z > threshold
        return np.abs(z) > threshold


def warm_up(dtype):
    """Get the compiled loops of :func:`image_stats` for images of ``dtype`` ready.

    They compile on their first use (seconds after installing; then they
    load from numba's cache on disk in a fraction of a second).  A viewer
    can call this off the GUI thread while it loads a stack, like
    :func:`histeq_gui.core.equalize.warm_up`.
    """
    tiny = np.arange(16).reshape(1, 4, 4).astype(dtype)
    # Both ways an image is described: from its levels (8-bit, a method that maps by
    # value) and from its pixels (every other case; scope "stack" takes it for 8-bit too).
    for scope in ("image", "stack"):
        image_stats(tiny, scope=scope)
    if tiny.dtype.kind == "f":
        tiny[0, 0, 0] = np.nan
        image_stats(tiny)


# --------------------------------------------------------------------- preparation


def _as_stack(images):
    x = np.asarray(images)
    _check_dtype(x.dtype)
    if x.ndim < 2:
        raise ValueError(f"expected images with at least 2 dimensions (height, width), "
                         f"got an array of shape {x.shape}")
    native = x.dtype.newbyteorder("=")
    return x if x.dtype == native else x.astype(native)


def _check_dtype(dtype):
    dtype = np.dtype(dtype).newbyteorder("=")       # big-endian data (FITS) is described too
    if dtype.kind == "b":
        raise ValueError("boolean images cannot be described; convert them to uint8 first")
    if dtype.kind not in "iuf" or dtype.fields is not None:
        raise ValueError(f"images of dtype {dtype} cannot be described; "
                         "use integer or floating point images")
    if dtype.kind == "f" and dtype not in (np.float16, np.float32, np.float64):
        raise ValueError(f"{dtype} images are not supported; convert them to float64 first")


def _names(names, n):
    if names is None:
        return np.array([""] * n, dtype=str)
    names = [str(name) for name in names]
    if len(names) != n:
        raise ValueError(f"got {len(names)} names for {n} images; give one name per image "
                         "or none")
    return np.array(names, dtype=str)


def _chunk(x3, r0, r1):
    """Images r0:r1 as a C-contiguous (m, C, P) array (a copy only when needed)."""
    return np.ascontiguousarray(np.moveaxis(x3[:, r0:r1], 0, 1))


def _equalize_chunk(equalize, chunk, image_shape, eq_args):
    """Equalize a chunk (m, C, P) image by image (scope "image"), as (m, C, P) float64.

    If ``equalize`` refuses the chunk (a ValueError: say a float image whose
    range is too narrow for the bins), the images are equalized one at a
    time and those it refuses come back all NaN.
    """
    m, channels, pixels = chunk.shape
    images = chunk.reshape(m, channels, *image_shape)
    axis = 1 if channels > 1 else None
    try:
        return equalize(images, channel_axis=axis, **eq_args).reshape(m, channels, pixels)
    except ValueError:
        out = np.full((m, channels, pixels), np.nan)
        for i in range(m):
            try:
                out[i] = equalize(images[i:i + 1], channel_axis=axis,
                                  **eq_args).reshape(channels, pixels)
            except ValueError:
                pass
        return out


def _unit(values, lo, hi):
    """Values (float64) on the [0, 1] brightness scale ``(v - lo) / (hi - lo)``."""
    span = hi - lo if hi > lo else 1.0
    return (values - lo) / span


def _luminance(chunk, lo):
    """Luminance (m, P) float64 of a chunk (m, C, P) of 3 or 4 channels (CleanVision's formula).

    Channels are taken from ``lo``, the black of the brightness scale;
    values below it count as ``lo`` (NaN stays NaN).
    """
    r, g, b = (chunk[:, c].astype(np.float64) for c in range(3))
    if lo != 0 or chunk.dtype.kind != "u":
        for channel in (r, g, b):
            channel -= lo
            np.maximum(channel, 0.0, out=channel)
    y = np.sqrt(0.241 * (r * r) + 0.691 * (g * g) + 0.068 * (b * b))
    if lo != 0:
        y += lo
    return y


# --------------------------------------------------------------- one chunk of images


def _describe_chunk(chunk, e, lo, hi, cache=None):
    """All per-image columns of a chunk (m, C, P) and its equalized values e (m, C, P)."""
    m, channels, pixels = chunk.shape
    colour = channels >= 3
    gray = _luminance(chunk, lo) if colour else chunk[:, 0]
    out = _describe(gray, lo, hi, cache=cache)

    # Low information: Pillow's entropy of the image in its own mode (all bands).
    if channels == 1:
        out["band_entropy"] = out["entropy"]
    else:
        out["band_entropy"] = _band_entropy(chunk, cache)
    # Constant: every channel holds at most one distinct finite value.
    if channels == 1:
        out["constant"] = out["distinct"] <= 1
    else:
        out["constant"] = _constant_channels(chunk)

    # After equalization: the uint8 export's levels.
    if gray.dtype in _EIGHT_BIT:
        offset = 128 if gray.dtype == np.int8 else 0
        unit = _unit(np.arange(256, dtype=np.float64) - offset, lo, hi)
        counts = np.zeros((m, 256), np.int64)
        change = np.empty(m)
        gray8_after(_levels(gray), np.ascontiguousarray(e[:, 0]), unit, counts, change)
        out["entropy_after"] = _pil_entropy(counts, counts.sum(axis=1), cache)
        out["distinct_after"] = (counts > 0).sum(axis=1)
        out["mean_abs_change"] = change
        return out
    if colour:
        after = _luminance(np.rint(255 * e), 0.0)
        after_stats = _describe(after, 0.0, 255.0, only_levels=True, cache=cache)
        v = _luminance(e, 0.0)
    else:
        v = e[:, 0]
        level = np.multiply(v, 255)
        np.rint(level, out=level)
        valid = None
        missing = np.isnan(level)           # not finite, or an image equalize refused
        if missing.any():
            valid = ~missing
            level[missing] = 0
        counts = _row_counts(level, 256, valid)
        after_stats = {"distinct": (counts > 0).sum(axis=1),
                       "entropy": _pil_entropy(counts, counts.sum(axis=1), cache)}
    out["entropy_after"] = after_stats["entropy"]
    out["distinct_after"] = after_stats["distinct"]
    b = _unit(gray.astype(np.float64), lo, hi)
    np.subtract(v, b, out=b)
    np.abs(b, out=b)
    out["mean_abs_change"] = _row_means(b, out["clean"])
    return out


def _describe(y, lo, hi, only_levels=False, cache=None):
    """Statistics of the rows of ``y`` (m, P): gray pixels or a luminance."""
    if y.dtype in _EIGHT_BIT:
        return _describe_8bit(y, lo, hi, cache)
    return _describe_sorted(y, lo, hi, only_levels, cache)


def _describe_8bit(y, lo, hi, cache=None):
    """uint8 / int8 rows, from one value histogram per row (compiled, see stats_kernels)."""
    m, pixels = y.shape
    offset = 128 if y.dtype == np.int8 else 0
    value = np.arange(256, dtype=np.float64) - offset       # level -> value
    unit = _unit(value, lo, hi)                             # level -> brightness
    n = np.full(m, pixels, np.int64)
    has = n > 0
    wanted = (("p01", 1, value), ("p99", 99, value), ("b05", 5, unit), ("b99", 99, unit))
    where = [_quantile_index(np.array([pixels]), q) for _, q, _ in wanted]   # same for all rows
    ranks = np.array([i for w in where for i in (w[0][0], w[1][0])], np.int64)
    counts = np.empty((m, 256), np.int64)
    std = np.empty(m)
    picked = np.empty((m, len(ranks)), np.int64)
    extent = np.empty((m, 3), np.int64)
    gray8_summary(_levels(y), value, ranks, counts, std, picked, extent)
    out = {
        "min": np.where(has, value[extent[:, 0]], np.nan),
        "max": np.where(has, value[extent[:, 1]], np.nan),
        "distinct": extent[:, 2],
        "nan": np.zeros(m, np.int64),
        "inf": np.zeros(m, np.int64),
        "clean": np.ones(m, bool),
        "entropy": _pil_entropy(counts, n, cache),
        "std": std,
    }
    for j, ((name, _, table), w) in enumerate(zip(wanted, where)):
        a, b = table[picked[:, 2 * j]], table[picked[:, 2 * j + 1]]
        out[name] = _lerp(a, b, np.full(m, w[2][0]), has)
    # np.mean sums integers exactly in float64, then divides by the count.
    total = counts @ np.arange(256, dtype=np.int64) - offset * n
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mean"] = np.where(has, total.astype(np.float64) / np.maximum(n, 1), np.nan)
    return out


def _describe_sorted(y, lo, hi, only_levels=False, cache=None):
    """Rows of any other dtype, from the rows sorted once."""
    m, pixels = y.shape
    floating = y.dtype.kind == "f"
    if y.dtype == np.float16:
        y = y.astype(np.float32)                        # same values, faster to sort
    if floating:
        finite = np.isfinite(y)
        nan = np.isnan(y).sum(axis=1)
        neg_inf = (y == -np.inf).sum(axis=1)
        n = finite.sum(axis=1)
        inf = pixels - nan - n
    else:
        finite = None
        nan = inf = neg_inf = np.zeros(m, np.int64)
        n = np.full(m, pixels, np.int64)
    clean = n == pixels
    has = n > 0
    # -inf, finite values, +inf, NaN; "stable" is a radix sort for 16-bit integers
    s = np.sort(y, axis=1, kind="stable" if y.dtype.itemsize <= 2 and not floating else None)

    def order_stat(k):                      # k-th smallest finite value (float64)
        if pixels == 0:
            return np.full(m, np.nan)
        idx = np.clip(neg_inf + k, 0, max(pixels - 1, 0))[:, None]
        return np.take_along_axis(s, idx, axis=1)[:, 0].astype(np.float64)

    out = {"nan": nan, "inf": inf, "clean": clean}
    if pixels:
        lo_v = np.where(has, order_stat(np.zeros(m, np.int64)), np.nan)
        hi_v = np.where(has, order_stat(np.maximum(n - 1, 0)), np.nan)
        change = s[:, 1:] != s[:, :-1]
        if floating:
            sorted_finite = np.isfinite(s)
            change &= sorted_finite[:, 1:] & sorted_finite[:, :-1]
        distinct = change.sum(axis=1) + has
    else:
        lo_v = hi_v = np.full(m, np.nan)
        distinct = np.zeros(m, np.int64)
    out["min"], out["max"], out["distinct"] = lo_v, hi_v, distinct
    counts = _bin256(y, finite, lo_v, hi_v, has)
    out["entropy"] = _pil_entropy(*counts, cache) if isinstance(counts, tuple) \
        else _pil_entropy(counts, n, cache)
    if only_levels:
        return out
    y64 = y.astype(np.float64)
    out["p01"] = _percentile(order_stat, n, 1)
    out["p99"] = _percentile(order_stat, n, 99)
    out["b05"] = _percentile(lambda k: _unit(order_stat(k), lo, hi), n, 5)
    out["b99"] = _percentile(lambda k: _unit(order_stat(k), lo, hi), n, 99)
    out["mean"] = _row_means(y64, clean, finite)
    out["std"] = _row_stds(y64, clean, finite)
    return out


# ----------------------------------------------------------------------- primitives


def _levels(y):
    """uint8 / int8 values as levels 0..255 (uint8)."""
    return y.view(np.uint8) ^ np.uint8(0x80) if y.dtype == np.int8 else y


def _row_counts(levels, width, valid=None):
    """Per-row histograms (m, width) of integers 0..width-1 (m, P), by one bincount.

    ``levels`` may be integer-valued floats; values outside the range are
    clipped to it (they never land in another row's histogram).
    """
    m = levels.shape[0]
    index = levels.astype(np.intp)
    if levels.dtype.itemsize > 1 or width < 256:
        np.clip(index, 0, width - 1, out=index)
    index += (np.arange(m, dtype=np.intp) * width)[:, None]
    if valid is not None:
        index[~valid] = m * width           # one extra bin, dropped
    counts = np.bincount(index.ravel(), minlength=m * width + 1)
    return counts[:m * width].reshape(m, width)


def _percentile(order_stat, n, q):
    """``np.percentile(values, q)`` (linear) of each row, from its order statistics.

    ``order_stat(k)`` gives each row's k-th smallest value (k an int array);
    ``n`` the number of values per row.  See :func:`_quantile_index` and
    :func:`_lerp`.
    """
    previous, following, gamma, has = _quantile_index(n, q)
    return _lerp(order_stat(previous), order_stat(following), gamma, has)


def _quantile_index(n, q):
    """Where ``np.percentile`` (linear) looks in rows of ``n`` sorted values.

    As NumPy's ``_quantile``: virtual index ``(n - 1) * (q / 100)``, its
    floor and the next index (both the last one at or beyond the end), and
    the weight ``virtual - floor``.  Returns ``(previous, next, gamma,
    has)``, ``has`` False for rows of no value (their indexes are 0).
    """
    has = n > 0
    q = np.true_divide(q, 100)
    virtual = (n - 1) * q
    previous = np.floor(virtual)
    above = virtual >= n - 1
    prev_i = np.where(above, n - 1, previous).astype(np.intp)
    next_i = np.where(above, n - 1, previous + 1).astype(np.intp)
    gamma = virtual - np.where(above, -1, previous)
    return np.where(has, prev_i, 0), np.where(has, next_i, 0), gamma, has


def _lerp(a, b, gamma, has):
    """NumPy's ``_lerp``: ``a + (b - a) * t``, or ``b - (b - a) * (1 - t)`` when ``t >= 0.5``."""
    with np.errstate(invalid="ignore"):
        diff = b - a
        result = a + diff * gamma
        late = gamma >= 0.5
        result[late] = (b - diff * (1 - gamma))[late]
    return np.where(has, result, np.nan)


def _pil_entropy(counts, totals, cache=None):
    """Pillow's ``Image.entropy()`` of each row of counts, in bits (NaN for an empty row).

    ``p = count / total``; ``entropy -= p * log(p) * M_LOG2E`` bin by bin in
    order, empty bins skipped (``_entropy`` in Pillow's ``src/_imaging.c``).
    ``log`` is the C library's, through :func:`math.log`, looked up in a
    table of ``p * log(p) * M_LOG2E`` per count (kept in ``cache`` per total).
    """
    counts = np.asarray(counts)
    totals = np.asarray(totals)
    m = counts.shape[0]
    out = np.full(m, np.nan)
    terms = np.zeros(counts.shape)
    for total in np.unique(totals[totals > 0]):
        rows = np.flatnonzero(totals == total)
        c = counts[rows]
        terms[rows] = _plogp(int(total), c, cache)[c]
    ok = totals > 0
    if counts.shape[1]:
        out[ok] = 0.0 - np.cumsum(terms[ok], axis=1)[:, -1]   # cumsum: in bin order
    return out


def _plogp(total, counts, cache):
    """Table of ``p * log(p) * M_LOG2E`` (``p = count / total``) for every count in ``counts``.

    Only the counts present are computed (``math.log`` one value at a
    time); ``cache`` keeps each total's table (NaN where not computed yet)
    up to totals of :data:`_FULL_TABLE`, so images of one size share it and
    images of many sizes (a ragged folder) cost no more than their counts.
    """
    top = int(counts.max()) if counts.size else 0
    table = None if cache is None else cache.get(total)
    if table is None or len(table) <= top:
        fresh = np.full(max(top, 0 if table is None else len(table) - 1) + 1, np.nan)
        if table is not None:
            fresh[:len(table)] = table
        table = fresh
        table[0] = 0.0
    present = np.zeros(len(table), bool)
    present[counts.ravel()] = True
    wanted = np.flatnonzero(present & np.isnan(table))
    if wanted.size:
        p = wanted / float(total)
        table[wanted] = [v * math.log(v) * _LOG2E for v in p.tolist()]
    if cache is not None and total <= _FULL_TABLE:
        cache[total] = table
    return table


def _bin256(y, finite, lo_v, hi_v, has):
    """Counts (m, 256) of ``np.histogram(row[finite], bins=256, range=(lo_v, hi_v))`` per row.

    Repeats NumPy's equal-bin histogram: edges ``arange(257) * step + lo``
    (``np.linspace``), index ``int((x - lo) / (hi - lo) * 256)``, the last
    edge closed, then NumPy's one-step corrections against the edges.  A
    constant row puts everything in one bin.  Rows whose range cannot hold
    257 increasing edges count each distinct value as a bin instead; those
    come back as ``(counts, totals)`` in a tuple with the others.
    """
    m, pixels = y.shape
    counts = np.zeros((m, 256), np.int64)
    n = finite.sum(axis=1) if finite is not None else np.full(m, pixels, np.int64)
    if pixels == 0:
        return counts
    wide = has & (hi_v > lo_v)
    flat = has & ~wide
    counts[flat, 128] = n[flat]                # np.histogram: one bin of [x - 0.5, x + 0.5]
    if not wide.any():
        return counts
    first = np.where(wide, lo_v, 0.0)
    last = np.where(wide, hi_v, 1.0)
    delta = np.subtract(last, first)
    step = delta / 256
    grid = np.arange(257, dtype=np.float64)
    edges = np.where((step == 0)[:, None], grid / 256 * delta[:, None], grid * step[:, None])
    edges += first[:, None]
    edges[:, -1] = last
    narrow = wide & np.any(edges[:, :-1] >= edges[:, 1:], axis=1)
    wide &= ~narrow
    histogram256(y, first, last, edges, wide, counts)
    if not narrow.any():
        return counts
    # Too narrow for 256 equal float64 bins: each distinct value is a bin.
    width = max(int(n[narrow].max()), 256)
    wider = np.zeros((m, width), np.int64)
    wider[:, :256] = counts
    for row in np.flatnonzero(narrow):
        values = (y[row] if finite is None else y[row][finite[row]]).astype(np.float64)
        _, c = np.unique(values, return_counts=True)
        wider[row] = 0
        wider[row, :len(c)] = c
    return wider, n


def _row_means(values, clean, finite=None):
    """``np.mean`` of each row's finite values: vectorized for clean rows, one by one otherwise."""
    m, pixels = values.shape
    out = np.full(m, np.nan)
    if pixels == 0:
        return out
    if clean.all():
        return np.mean(values, axis=1)
    out[clean] = np.mean(values[clean], axis=1)
    for row in np.flatnonzero(~clean):
        keep = np.isfinite(values[row]) if finite is None else finite[row]
        keep = keep & np.isfinite(values[row])
        if keep.any():
            out[row] = np.mean(values[row][keep])
    return out


def _row_stds(values, clean, finite):
    m, pixels = values.shape
    out = np.full(m, np.nan)
    if pixels == 0:
        return out
    if clean.all():
        return np.std(values, axis=1)
    out[clean] = np.std(values[clean], axis=1)
    for row in np.flatnonzero(~clean):
        keep = finite[row]
        if keep.any():
            out[row] = np.std(values[row][keep])
    return out


def _band_entropy(chunk, cache=None):
    """Pillow's entropy of each image over all its bands' 256-level histograms, concatenated."""
    m, channels, pixels = chunk.shape
    if chunk.dtype in _EIGHT_BIT:
        counts = _row_counts(_levels(chunk).reshape(m * channels, pixels), 256)
        counts = counts.reshape(m, channels * 256)
        return _pil_entropy(counts, counts.sum(axis=1), cache)
    # Other data: 256 equal bins per band over the image's finite range (all bands).
    y = chunk.astype(np.float64).reshape(m, channels * pixels)
    finite = np.isfinite(y)
    has = finite.any(axis=1)
    with np.errstate(invalid="ignore"):
        lo_v = np.where(has, np.min(np.where(finite, y, np.inf), axis=1), np.nan)
        hi_v = np.where(has, np.max(np.where(finite, y, -np.inf), axis=1), np.nan)
    bands = y.reshape(m * channels, pixels)
    band_finite = finite.reshape(m * channels, pixels)
    band_has = band_finite.any(axis=1)
    counts = _bin256(bands, band_finite, np.repeat(lo_v, channels), np.repeat(hi_v, channels),
                     np.repeat(has, channels) & band_has)
    if isinstance(counts, tuple):
        counts = counts[0]
        # A per-band fallback (range too narrow) has more than 256 bins: keep them all.
    counts = counts.reshape(m, -1)
    return _pil_entropy(counts, counts.sum(axis=1), cache)


def _constant_channels(chunk):
    """True where every channel of an image holds at most one distinct finite value."""
    if chunk.dtype.kind in "iu":
        return np.all(chunk.min(axis=2) == chunk.max(axis=2), axis=1)
    finite = np.isfinite(chunk)
    low = np.min(np.where(finite, chunk, np.inf), axis=2)
    high = np.max(np.where(finite, chunk, -np.inf), axis=2)
    return np.all((low == high) | ~finite.any(axis=2), axis=1)


def _numeric_column(table, column):
    if column not in table:
        raise ValueError(f"the table has no column {column!r}; choose one of: "
                         f"{', '.join(table)}")
    x = np.asarray(table[column])
    if x.dtype.kind not in "biuf":
        raise ValueError(f"column {column!r} is not numeric; choose a numeric column")
    return x.astype(np.float64)


# ---------------------------------------------------------------------- the table


class _Columns:
    """The per-image values of the chunks, put into one array per key as they come.

    Memory is a few numbers per image, whatever the chunks (a ragged folder
    has one image per chunk).
    """

    def __init__(self, n):
        self.n = n
        self.columns = {}

    def put(self, start, part):
        """The values of images ``start:start + m`` (a dict of 1-D arrays)."""
        for key, values in part.items():
            values = np.asarray(values)
            column = self.columns.get(key)
            if column is None:
                kind = {"f": np.float64, "b": np.bool_}.get(values.dtype.kind, np.int64)
                column = self.columns[key] = np.zeros(self.n, kind)
            column[start:start + len(values)] = values

    def get(self, key, dtype):
        """The column ``key`` as ``dtype`` (empty for no images)."""
        column = self.columns.get(key)
        return np.zeros(self.n, dtype) if column is None else column.astype(dtype, copy=False)


def _assemble(parts, n, names, source, looks, digests, radius):
    cat = parts.get

    t = {"index": np.arange(n, dtype=np.int64), "name": names,
         "label": np.array(labels_of(names), dtype=str)}
    shapes = np.array([source.image_shape_of(i) for i in range(n)], np.int64).reshape(n, 2)
    t["height"], t["width"] = shapes[:, 0], shapes[:, 1]
    t["mean"], t["std"] = cat("mean", np.float64), cat("std", np.float64)
    t["min"], t["max"] = cat("min", np.float64), cat("max", np.float64)
    t["p01"], t["p99"] = cat("p01", np.float64), cat("p99", np.float64)
    t["distinct"] = cat("distinct", np.int64)
    t["nan_count"], t["inf_count"] = cat("nan", np.int64), cat("inf", np.int64)
    t["entropy"] = cat("entropy", np.float64) + 0.0          # no -0.0
    t["dark_score"] = cat("b99", np.float64)
    t["light_score"] = 1 - cat("b05", np.float64)
    scores = LOW_INFORMATION_NORMALIZING_FACTOR * cat("band_entropy", np.float64)
    t["low_information_score"] = np.where(scores > 1, 1.0, scores)
    t["blurriness"] = looks["blurriness"]
    t["blurriness_grayscale_std"] = looks["blurriness_grayscale_std"]
    t["blurry_score"] = blurry_scores(t["blurriness"], t["blurriness_grayscale_std"])
    channels = np.array([source.shape_of(i)[0] for i in range(n)], np.int64)
    t["grayscale_score"] = grayscale_scores(channels)
    t["odd_aspect_ratio_score"] = odd_aspect_ratio_scores(t["height"], t["width"])
    t["odd_size_score"], odd_size_cut = odd_size_scores(t["height"], t["width"])
    with np.errstate(invalid="ignore"):
        t["is_dark"] = t["dark_score"] < THRESHOLDS["dark"]
        t["is_light"] = t["light_score"] < THRESHOLDS["light"]
        t["is_low_information"] = t["low_information_score"] < THRESHOLDS["low_information"]
        t["is_blurry"] = t["blurry_score"] < THRESHOLDS["blurry"]
        t["is_odd_aspect_ratio"] = t["odd_aspect_ratio_score"] < THRESHOLDS["odd_aspect_ratio"]
        t["is_odd_size"] = t["odd_size_score"] < odd_size_cut
    t["is_grayscale"] = t["grayscale_score"] == 0
    t["is_constant"] = cat("constant", bool)
    exact = exact_duplicates(digests, source.same_images)
    t["duplicate_of"] = np.where(exact != t["index"], exact, -1)
    t["is_duplicate"] = t["duplicate_of"] >= 0
    t["exact_duplicates_score"] = set_scores(exact)
    t["phash"] = phash_hex(looks["phash"])
    near = drop_exact_sets(near_duplicate_sets(looks["phash"], radius), exact)
    t["near_duplicate_of"] = near
    t["is_near_duplicate"] = near >= 0
    t["near_duplicates_score"] = set_scores(near)
    t["entropy_after"] = cat("entropy_after", np.float64) + 0.0
    t["distinct_after"] = cat("distinct_after", np.int64)
    t["levels_lost"] = t["distinct"] - t["distinct_after"]
    t["mean_abs_change"] = cat("mean_abs_change", np.float64)
    return {name: t[name] for name in COLUMNS}
