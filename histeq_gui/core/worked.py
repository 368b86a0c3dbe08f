"""The textbook's worked table of histogram equalization, and the numbers of the teaching views.

:func:`worked_table` gives, for one image (or a region of it), the table a
textbook prints: each input level ``r_k`` (or bin), its count ``n_k``, the
fraction ``p_k``, the cumulative fraction, ``(L - 1)`` times it, and the
output level ``s_k`` that the chosen method really gives.  Comparing the last
two columns is the lesson: the textbook's rule ``s_k = round((L - 1) cdf_k)``
is one convention among several (OpenCV subtracts ``cdf_min``, the seed
recipe interpolates at the left bin edges, scikit-image at the centres).

The other functions give the numbers the viewer's teaching panels draw:
:func:`compare_images` (the difference of two results and where it is
largest), :func:`output_cdf` (the CDF of an equalized image, to hold against
the diagonal a perfectly flat histogram would give) and
:func:`equalize_again` (equalization applied to its own result).  Nothing
here imports Qt.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import methods as _methods
from .equalize import equalize, histogram
from .histogram import check_bins, check_dtype
from .io import new_file, staged

__all__ = ["WorkedTable", "worked_table", "default_levels", "check_levels", "MAX_LEVEL_ROWS",
           "ROWS", "worked_table_to_csv", "Difference", "compare_images", "output_cdf",
           "diagonal_distance",
           "Again", "equalize_again"]

#: Integer images whose range spans more levels than this get one row per bin instead.
MAX_LEVEL_ROWS = 1 << 16
#: Which rows a table holds: every level (or bin) of the range, or only those with pixels.
ROWS = ("range", "present")
#: Most levels ``L`` a table may use.
MAX_LEVELS = 1 << 32


def default_levels(dtype, bins=256):
    """The number of levels ``L`` of the textbook's formula for images of ``dtype``.

    The dtype's number of levels for integers of at most 16 bits (256 for
    uint8, 65536 for uint16), else ``bins`` (floats, wide integers).

    Examples
    --------
    >>> default_levels("uint8"), default_levels("int16"), default_levels("float32", 100)
    (256, 65536, 100)
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "iu" and dtype.itemsize <= 2:
        return 1 << (8 * dtype.itemsize)
    return check_bins(bins)


def check_levels(levels):
    """``levels`` as an int if it is a valid ``L`` (2 .. 2**32), else a one-line ValueError."""
    if isinstance(levels, (bool, np.bool_)) or not isinstance(levels, (int, np.integer)):
        raise ValueError(f"levels must be a whole number of at least 2, got {levels!r}; "
                         "use e.g. levels=256")
    if not 2 <= levels <= MAX_LEVELS:
        raise ValueError(f"levels must be between 2 and {MAX_LEVELS}, got {levels}; "
                         "use e.g. levels=256")
    return int(levels)


class WorkedTable(dict):
    """The table :func:`worked_table` returns: column name -> 1-D array, one entry per row.

    A plain ``dict`` of equally long 1-D arrays (ready for a table view or
    :func:`worked_table_to_csv`) with the summary as attributes.

    Attributes
    ----------
    info : dict
        How the table was made: ``method``, ``bins``, ``levels`` (L),
        ``kind`` ("levels": one row per integer level; "bins": one row per
        bin), ``rows``, ``dtype``, ``total`` (pixels counted), ``excluded``
        (pixels left out: NaN, inf, outside the mask) and ``anchor`` (where
        the method's map is read for a bin: "level", "left edge", "centre" or
        "first level").
    groups : list of (int, ndarray)
        For every output level that receives pixels, in increasing order:
        ``(s, rows)`` with ``rows`` the indices of the rows holding pixels
        (``n > 0``) that the method maps to ``s``.
    """

    def __init__(self, columns=(), info=None, groups=()):
        super().__init__(columns)
        self.info = dict(info or {})
        self.groups = list(groups)

    @property
    def levels(self):
        """``L``, the number of output levels."""
        return self.info["levels"]

    @property
    def levels_before(self):
        """Distinct input levels (or bins) holding pixels."""
        return int(np.count_nonzero(self["n"]))

    @property
    def levels_after(self):
        """Distinct output levels ``s`` the pixels end up at."""
        return len(self.groups)

    @property
    def merged(self):
        """The groups of two or more input levels that merge into one output level."""
        return [(s, rows) for s, rows in self.groups if len(rows) > 1]

    @property
    def output_counts(self):
        """The equalized histogram: pixels at each output level 0..L-1 (int64, length L).

        Only for ``L`` up to 2**20 (a longer array would say nothing more).
        """
        if self.levels > 1 << 20:
            raise ValueError(f"L = {self.levels} is too many levels to list one count each")
        present = self["n"] > 0
        return np.bincount(self["s"][present], weights=self["n"][present],
                           minlength=self.levels).astype(np.int64)

    @property
    def inputs_per_output(self):
        """``(s, k)``: each output level receiving pixels, and how many input rows merge in it."""
        s = np.array([g[0] for g in self.groups], dtype=np.int64)
        k = np.array([len(g[1]) for g in self.groups], dtype=np.int64)
        return s, k

    @property
    def n_rows(self):
        """Number of rows."""
        return len(self["n"]) if "n" in self else 0


def _selected(x, mask):
    """The finite pixels of ``x`` that ``mask`` selects, flat."""
    keep = None
    if mask is not None:
        m = np.asarray(mask)
        try:
            keep = np.broadcast_to(m.astype(bool, copy=False), x.shape)
        except ValueError:
            raise ValueError(f"a mask of shape {m.shape} does not fit an image of shape "
                             f"{x.shape}; give a mask of the image's shape") from None
    if x.dtype.kind == "f":
        finite = np.isfinite(x)
        keep = finite if keep is None else keep & finite
    return x.ravel() if keep is None else x[keep]


def _level_range(lo, hi, dtype):
    """Every integer level lo..hi, in ``dtype`` (for the map) and as int64 or uint64 (for r)."""
    levels = np.arange(int(lo), int(hi) + 1, dtype=np.uint64 if int(hi) >= 2 ** 63 else np.int64)
    return levels.astype(dtype), levels


def worked_table(image, method="numpy", bins=256, levels=None, mask=None, rows="range",
                 **params):
    """The textbook's worked table of histogram equalization for one image.

    Parameters
    ----------
    image : array_like
        One image (all its values form one histogram, as in
        :func:`~histeq_gui.core.equalize.histogram`); pass one channel of a
        colour image, or a whole stack for the stack's table.
    method : str
        The equalization method whose output levels ``s`` the table gives.
    bins : int
        Bins of the method (and of the table for floating point images).
    levels : int, optional
        ``L``, the number of output levels (``s`` runs over 0..L-1).  Default:
        ``default_levels`` (256 for uint8, 65536 for 16-bit, ``bins``
        for floats).  A method that itself takes ``levels`` (``textbook``)
        is given the same ``L`` unless ``params`` say otherwise.
    mask : array_like of bool, optional
        The pixels the table counts (a region of interest), the image's
        shape; the method's map is made from them, as ``equalize(mask=...)``
        does.
    rows : {"range", "present"}
        "range": one row for every integer level from the smallest to the
        largest counted value (levels without pixels included: they show
        where the map is flat), or one row per bin; "present": only the rows
        holding pixels (Wikipedia's table).
    **params
        Other parameters of the method.

    Returns
    -------
    WorkedTable
        Columns (1-D arrays of one length):

        ``r``
            The level (integer images: int64) or the bin's lower edge
            (floats: float64).
        ``r_end``, ``x``
            Bins only: the upper edge, and where the method reads its map
            for the bin (``info["anchor"]``: the left edge for the seed
            recipe, the centre for scikit-image).
        ``n``
            Pixels at the level (in the bin), int64.
        ``p``
            ``n / total``.
        ``cdf``
            Cumulative ``p``: pixels at or below the level over the total
            (1 at the last row).
        ``scaled``
            ``(L - 1) * cdf``: the textbook's ``s_k`` before rounding.
        ``value``
            The method's equalized value at the level (at ``x``), in [0, 1]:
            what :func:`~histeq_gui.equalize` returns for those pixels.
        ``s``
            The output level in 0..L-1 for this method:
            ``rint((L - 1) * value)`` (rounding half to even), int64.  For
            ``textbook`` it is ``round(scaled)``; for ``opencv`` OpenCV's
            look-up table, which subtracts ``cdf_min``: ``s != round(scaled)``.
        ``group``
            The rank of ``s`` among the output levels of the table (0, 1,
            ...): rows with one group number merge into one output level.

    Raises
    ------
    ValueError
        An unknown method, a method without one global map (CLAHE), bad
        ``bins``, ``levels`` or ``rows``, an empty image, a mask that does
        not fit or an image with no finite selected pixel.

    Notes
    -----
    Integer images get one row per level between their smallest and largest
    counted value, not over the dtype's whole range: a uint16 image of a few
    hundred levels would otherwise give 65536 rows, almost all empty, and
    the levels outside the range all map to the first or last row's ``s``.
    Integer images whose range spans more than ``MAX_LEVEL_ROWS``
    levels, and floating point images, get one row per bin: ``bins``
    equal-width bins as ``np.histogram`` makes them.  NaN and infinite
    values are left out, as the methods leave them out.

    Examples
    --------
    The textbook's 3-bit example (Gonzalez & Woods, "Digital Image
    Processing", Example 3.5, Table 3.1): a 64x64 image with L = 8.

    >>> import numpy as np
    >>> n_k = [790, 1023, 850, 656, 329, 245, 122, 81]
    >>> image = np.repeat(np.arange(8, dtype=np.uint8), n_k).reshape(64, 64)
    >>> t = worked_table(image, "numpy", levels=8)
    >>> t["n"].tolist()
    [790, 1023, 850, 656, 329, 245, 122, 81]
    >>> np.round(t["scaled"], 2).tolist()
    [1.35, 3.1, 4.55, 5.67, 6.23, 6.65, 6.86, 7.0]
    >>> t["s"].tolist()
    [1, 3, 5, 6, 6, 7, 7, 7]
    >>> t.levels_before, t.levels_after, t.output_counts.tolist()
    (8, 5, [0, 790, 0, 1023, 0, 850, 985, 448])
    """
    if rows not in ROWS:
        raise ValueError(f"rows must be one of {', '.join(ROWS)}, got {rows!r}")
    x = np.asarray(image)
    x = x.astype(check_dtype(x.dtype), copy=False)
    if x.size == 0:
        raise ValueError("cannot make a worked table of an empty image")
    declared = _methods.get_method(method)
    bins = check_bins(bins)
    L = default_levels(x.dtype, bins) if levels is None else check_levels(levels)
    if declared.image is not None:
        why = ("maps each pixel by its neighbourhood" if declared.kind(x.dtype) == "image"
               else "maps to a reference, not by this image's histogram alone")
        raise ValueError(f"the {declared.name} method {why}, so it has no worked table; choose a "
                         "global method (e.g. textbook)")
    if declared.param("levels") is not None:
        params.setdefault("levels", L)
    selected = _selected(x, mask)
    if selected.size == 0:
        raise ValueError("the image has no finite pixel in the selection; select pixels with "
                         "finite values")
    h = histogram(x, declared, bins, mask=mask, **params)
    lo, hi = selected.min(), selected.max()
    info = {"method": declared.name, "bins": bins, "levels": L, "rows": rows, "dtype": str(x.dtype),
            "total": int(selected.size), "excluded": int(x.size - selected.size)}
    columns = {}
    if x.dtype.kind in "iu" and int(hi) - int(lo) < MAX_LEVEL_ROWS:
        in_dtype, r = _level_range(lo, hi, x.dtype)
        if x.dtype == np.uint64:
            offsets = (selected - np.uint64(lo)).astype(np.int64)
        else:
            offsets = selected.astype(np.int64) - int(lo)
        n = np.bincount(offsets, minlength=len(r)).astype(np.int64)
        value = h.apply(in_dtype)
        info.update(kind="levels", anchor="level")
        columns["r"] = r
    else:
        n, edges = np.histogram(selected, bins)
        n = n.astype(np.int64)
        own = not h.value_bins and len(h.counts) == bins and np.array_equal(h.counts, n)
        if own:
            # The method's own bins: its map at its own nodes.
            x_at = np.asarray(h.cdf_x, dtype=np.float64)
            value = np.asarray(h.cdf, dtype=np.float64)
            left = np.array_equal(x_at, edges[:-1].astype(np.float64))
            anchor = "left edge" if left else "centre"
        else:
            # Integers binned here, not by the method: its value at each bin's first level.
            first = np.ceil(edges[:-1]).clip(float(lo), float(hi))
            x_at = first
            value = h.apply(first.astype(x.dtype))
            anchor = "first level"
        info.update(kind="bins", anchor=anchor)
        columns["r"] = edges[:-1].astype(np.float64)
        columns["r_end"] = edges[1:].astype(np.float64)
        columns["x"] = x_at
    total = int(n.sum())
    cumulative = np.cumsum(n)
    columns["n"] = n
    columns["p"] = n / total
    columns["cdf"] = cumulative / total
    columns["scaled"] = (L - 1) * columns["cdf"]
    value = np.asarray(value, dtype=np.float64)
    columns["value"] = value
    columns["s"] = np.rint((L - 1) * value).astype(np.int64)
    if rows == "present":
        keep = n > 0
        columns = {name: column[keep] for name, column in columns.items()}
    distinct, group = np.unique(columns["s"], return_inverse=True)
    columns["group"] = group.astype(np.int64).ravel()
    present = columns["n"] > 0
    groups = [(int(s), np.flatnonzero(present & (columns["s"] == s)))
              for s in np.unique(columns["s"][present])]
    return WorkedTable(columns, info, groups)


def worked_table_to_csv(table, path_or_file, *, overwrite=True):
    """Write a worked table (or any dict of 1-D columns) as CSV, atomically to a path.

    Parameters
    ----------
    table : WorkedTable or mapping of str to 1-D array
    path_or_file : str, path-like or text file
        A file object gets the text as is; a path is written through a
        hidden temporary file beside it, moved into place when complete.
    overwrite : bool
        Whether an existing file may be replaced.

    Returns
    -------
    pathlib.Path or None
        The path written, or None for a file object.

    Raises
    ------
    StackError
        The file cannot be written, or exists and ``overwrite`` is False (one
        line; an existing file is untouched and nothing is left behind).

    Notes
    -----
    The text is :func:`~histeq_gui.core.stats_csv.stats_to_csv`'s: a header
    of column names, then one line per row; floats as ``repr`` (exact when
    read back), integers in decimal.

    Examples
    --------
    >>> import io, numpy as np
    >>> buffer = io.StringIO()
    >>> worked_table_to_csv({"r": np.arange(2), "p": np.array([0.25, 0.75])}, buffer)
    >>> print(buffer.getvalue(), end="")
    r,p
    0,0.25
    1,0.75
    """
    from .stats_csv import stats_to_csv

    text = io.StringIO()
    stats_to_csv(dict(table), text)
    if hasattr(path_or_file, "write"):
        path_or_file.write(text.getvalue())
        return None
    target = Path(path_or_file)
    with staged([target], overwrite=overwrite) as temps:
        with new_file(temps[0], target) as fh:
            fh.write(text.getvalue().encode("utf-8"))
    return target


# ------------------------------------------------------------------ comparing two results


@dataclass(frozen=True, eq=False)
class Difference:
    """The difference of two equalized images, ``a - b``.

    Attributes
    ----------
    image : ndarray of float64, shape (H, W)
        The signed difference per pixel; for colour images, that of the
        channel where ``|a - b|`` is largest at the pixel.  NaN where both
        are NaN.
    max_abs : float
        ``np.nanmax(abs(a - b))`` over all pixels and channels (NaN when no
        pixel has a number in both).
    position : tuple of int or None
        ``(row, column)`` of that largest difference (the first one in
        row-major order), or None.
    channel : int or None
        Its channel for colour images.
    mean_abs : float
        ``np.nanmean(abs(a - b))`` over all values (NaN when there is none).
    """

    image: np.ndarray
    max_abs: float
    position: tuple | None
    channel: int | None = None
    mean_abs: float = math.nan


def compare_images(a, b, channel_axis=None):
    """The difference of two results of equalization and where it is largest.

    Parameters
    ----------
    a, b : array_like
        Two equalized images of one shape, ``(H, W)`` or, with
        ``channel_axis``, colour.
    channel_axis : int, optional
        The colour axis (e.g. -1 for ``(H, W, 3)``).

    Returns
    -------
    Difference

    Raises
    ------
    ValueError
        If the shapes differ.

    Examples
    --------
    >>> import numpy as np
    >>> d = compare_images(np.array([[0.0, 0.5], [1.0, 0.2]]), np.array([[0.0, 0.25], [0.5, 0.2]]))
    >>> d.max_abs, d.position
    (0.5, (1, 0))
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare images of shapes {a.shape} and {b.shape}")
    diff = a - b
    if channel_axis is not None:
        diff = np.moveaxis(diff, channel_axis, -1)
    magnitude = np.abs(diff)
    if not np.isfinite(magnitude).any():
        plane = diff if channel_axis is None else diff[..., 0]
        return Difference(np.asarray(plane, dtype=np.float64), math.nan, None, None)
    filled = np.where(np.isnan(magnitude), -np.inf, magnitude)
    flat = int(np.argmax(filled))
    where = np.unravel_index(flat, magnitude.shape)
    mean = float(np.nanmean(magnitude))
    if channel_axis is None:
        return Difference(diff, float(magnitude[where]), tuple(int(i) for i in where), None,
                          mean)
    pick = np.argmax(filled, axis=-1)
    plane = np.take_along_axis(diff, pick[..., np.newaxis], axis=-1)[..., 0]
    return Difference(plane, float(magnitude[where]), tuple(int(i) for i in where[:-1]),
                      int(where[-1]), mean)


def output_cdf(equalized):
    """The CDF of an equalized image: its distinct values and the fraction of pixels at or below.

    A perfectly flat histogram would give the diagonal ``y = x``; the steps
    away from it are what equalization cannot do with discrete levels.

    Parameters
    ----------
    equalized : array_like
        Values in [0, 1]; NaN and infinite values are left out.

    Returns
    -------
    values, fraction : ndarray of float64
        Increasing distinct values and the fraction of finite pixels ``<=``
        each (the last is 1).  Empty when there is no finite value.

    Examples
    --------
    >>> v, f = output_cdf([0.0, 0.5, 0.5, 1.0])
    >>> v.tolist(), f.tolist()
    ([0.0, 0.5, 1.0], [0.25, 0.75, 1.0])
    """
    values = np.asarray(equalized, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.empty(0), np.empty(0)
    distinct, counts = np.unique(values, return_counts=True)
    return distinct, np.cumsum(counts) / values.size


def diagonal_distance(values, fraction):
    """How far a CDF (from :func:`output_cdf`) is from the diagonal of a flat histogram.

    The Kolmogorov-Smirnov distance to the uniform distribution on [0, 1]:
    the largest vertical gap between the step function and ``y = x``, on
    either side of each step.

    Examples
    --------
    >>> diagonal_distance([0.0, 0.5, 1.0], [0.25, 0.75, 1.0])
    0.25
    >>> diagonal_distance([1.0], [1.0])       # every pixel white
    1.0
    """
    v = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    f = np.asarray(fraction, dtype=np.float64)
    if v.size == 0:
        return math.nan
    before = np.concatenate([[0.0], f[:-1]])
    return float(max(np.max(np.abs(f - v)), np.max(np.abs(v - before))))


@dataclass(frozen=True, eq=False)
class Again:
    """Equalization applied to its own result (:func:`equalize_again`).

    Attributes
    ----------
    once : ndarray of float64
        The first result, in [0, 1], as :func:`~histeq_gui.equalize` returns it.
    first : ndarray of float64
        What the second pass equalizes, in [0, 1]: for integer images the
        first result as saved in the image's dtype (so on its levels), else
        ``once``.
    twice : ndarray of float64
        The second result.
    difference : Difference
        ``twice - first``: ``max_abs`` is the largest change the second pass makes.
    changed : int
        Values (pixels, or pixels times channels) that the second pass moves
        by more than half an output level.
    levels_first, levels_twice : int
        Distinct finite values of ``first`` and ``twice``.
    step : float
        One output level in [0, 1] units (1 / 255 for uint8 input, 1 /
        (bins - 1) for floats).
    """

    once: np.ndarray
    first: np.ndarray
    twice: np.ndarray
    difference: Difference
    changed: int
    levels_first: int
    levels_twice: int
    step: float


def _distinct(values):
    return int(np.unique(values[np.isfinite(values)]).size)


def equalize_again(image, method="numpy", bins=256, channel_axis=None, mask=None, first=None,
                   **params):
    """Equalize an image, then equalize the result again, and measure what changed.

    Parameters
    ----------
    image : array_like
        One image, ``(H, W)`` or colour with ``channel_axis``.
    method, bins, channel_axis, mask, **params
        As for :func:`~histeq_gui.equalize` (scope "image"); ``mask`` drives
        the first pass only (the second pass equalizes what was saved).
    first : ndarray of float64, optional
        The first pass itself, when it was made otherwise (with the whole
        stack's histogram, say: what a viewer shows); else
        ``equalize(image, method, bins, mask=mask, **params)``.

    Returns
    -------
    Again

    Notes
    -----
    The second pass sees what a user would save: for integer images the
    first result converted to the image's dtype as the export does
    (``rint(v * (max - min)) + min``; nearby values of the first result may
    share a level there), for floats the float64 result.  The change is
    measured against that input of the second pass.  Equalization is close
    to idempotent on levels: the levels present after the first pass are
    already spread about as evenly as their counts allow, so a second pass
    moves them little and merges none (the ``numpy`` recipe's left-edge
    anchoring still shifts them by up to a bin).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.repeat(np.arange(4, dtype=np.uint8), [1, 2, 3, 2]).reshape(2, 4)
    >>> a = equalize_again(image, "skimage")
    >>> a.levels_first, a.levels_twice, a.difference.max_abs < a.step
    (4, 4, True)
    """
    from .convert import convert

    x = np.asarray(image)
    if first is None:
        once = equalize(x, method, bins, channel_axis=channel_axis, mask=mask, **params)
    else:
        once = np.asarray(first, np.float64)
        if once.shape != x.shape:
            raise ValueError(f"the first pass has shape {once.shape}, the image {x.shape}")
    if x.dtype.kind in "iu":
        saved = convert(once, "same", x.dtype)
        info = np.iinfo(x.dtype)
        span = float(info.max) - float(info.min)
        first = (saved.astype(np.float64) - float(info.min)) / span
        step = 1.0 / span
    else:
        saved = first = once
        step = 1.0 / max(check_bins(bins) - 1, 1)
    twice = equalize(saved, method, bins, channel_axis=channel_axis, **params)
    difference = compare_images(twice, first, channel_axis)
    with np.errstate(invalid="ignore"):
        changed = int(np.count_nonzero(np.abs(twice - first) > step / 2))
    return Again(once, first, twice, difference, changed, _distinct(first), _distinct(twice),
                 step)
