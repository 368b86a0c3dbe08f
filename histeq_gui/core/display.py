"""How values are put on screen: display levels and histograms at screen resolution.

The viewer draws an image between two *display levels* (the values shown as
black and white) and a histogram on a plot a few hundred pixels wide.  Both
are arithmetic on the data, so they live here, free of Qt, and are tested
against NumPy:

- :func:`dtype_range`, :func:`finite_range` and :func:`saturated_levels`
  give the level choices a viewer offers (the dtype's full range, the range
  of the data, and ImageJ's "auto" contrast: the levels that leave a given
  percentage of the pixels saturated);
- :func:`equalized_levels` gives the levels of an equalized image: its
  output range [0, 1], or its percentiles when its values fill only a small
  part of that range (``match`` to 12-bit data stored in uint16 gives values
  up to 4095 / 65535, which [0, 1] shows black);
- :func:`drawn_histogram` reduces a histogram of any number of bins to what a
  plot of a given width can show, so that no non-empty bin disappears
  between two screen pixels.

None of this changes what is equalized: levels only say how an image is
displayed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_SATURATED", "LEVEL_MODES", "EQ_LEVEL_MODES", "AUTO_FILL", "check_saturated",
           "dtype_range", "finite_range", "widen", "saturated_levels", "default_levels_mode",
           "equalized_levels", "drawn_histogram"]

DEFAULT_SATURATED = 0.35
"""Percent of pixels left saturated by the automatic levels (ImageJ's default)."""

LEVEL_MODES = ("auto", "dtype", "stack", "image", "percentile", "manual")
"""Display-level choices: ``"auto"`` is :func:`default_levels_mode` of the dtype."""

EQ_LEVEL_MODES = ("auto", "output", "percentile")
"""Display-level choices of an equalized image (see :func:`equalized_levels`)."""

AUTO_FILL = 0.25
"""``"auto"`` levels of an equalized image use its percentiles below this largest value."""

_CHUNK = 1 << 22    # values per step when scanning a stack
_SAMPLE = 1 << 20   # values an image's percentiles are taken from, at most


def dtype_range(dtype):
    """The full range of values of ``dtype``, as floats.

    Integers give their type's limits (0..255 for uint8, -32768..32767 for
    int16); floating point images have no such limits and give [0, 1], the
    range scikit-image and this program's output use for them.

    Parameters
    ----------
    dtype : dtype-like

    Returns
    -------
    tuple of float
        ``(low, high)``.

    Examples
    --------
    >>> dtype_range("uint8"), dtype_range("int16"), dtype_range("float32")
    ((0.0, 255.0), (-32768.0, 32767.0), (0.0, 1.0))
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    if dtype.kind == "b":
        return 0.0, 1.0
    if dtype.kind == "f":
        return 0.0, 1.0
    raise ValueError(f"images of dtype {dtype} have no display range; "
                     "use integer or floating point images")


def finite_range(values, progress=None):
    """The smallest and largest finite value of ``values``, scanned in chunks.

    Parameters
    ----------
    values : array_like
        Any shape (a memory-mapped stack is read a chunk at a time).
    progress : callable, optional
        ``progress(done, total)`` after each chunk; whatever it raises
        propagates (to cancel).

    Returns
    -------
    tuple of float or None
        ``(low, high)``, or None when no value is finite.

    Examples
    --------
    >>> finite_range(np.array([[3.0, np.nan], [-np.inf, 7.5]]))
    (3.0, 7.5)
    >>> finite_range(np.array([np.nan])) is None
    True
    """
    flat = np.asarray(values).reshape(-1)
    floating = flat.dtype.kind == "f"
    total = max(1, -(-flat.size // _CHUNK))
    lo, hi = np.inf, -np.inf
    for step, start in enumerate(range(0, flat.size, _CHUNK)):
        chunk = flat[start:start + _CHUNK]
        finite = chunk[np.isfinite(chunk)] if floating else chunk
        if finite.size:
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        if progress is not None:
            progress(step + 1, total)
    if lo > hi:
        return None
    return lo, hi


def widen(levels, fallback=(0.0, 1.0)):
    """Levels an image can be drawn with: ``fallback`` for None, a single value widened.

    A display needs ``low < high``: a flat image (``low == high``) gets
    ``value -/+ 0.5``, as ``np.histogram`` widens a constant sample.

    Examples
    --------
    >>> widen((4.0, 4.0)), widen(None), widen((0.0, 2.0))
    ((3.5, 4.5), (0.0, 1.0), (0.0, 2.0))
    """
    if levels is None:
        return tuple(float(v) for v in fallback)
    lo, hi = float(levels[0]), float(levels[1])
    if lo == hi:
        return lo - 0.5, hi + 0.5
    return lo, hi


def check_saturated(saturated):
    """``saturated`` as a float if it is a percentage in [0, 100), else a one-line ValueError."""
    try:
        saturated = float(saturated)
    except (TypeError, ValueError):
        raise ValueError(f"saturated must be a percentage, got {saturated!r}; "
                         "use e.g. 0.35") from None
    if not 0.0 <= saturated < 100.0:
        raise ValueError(f"saturated must be at least 0 and below 100 (percent), got "
                         f"{saturated}; use e.g. 0.35")
    return saturated


def saturated_levels(values, saturated=DEFAULT_SATURATED):
    """Display levels that leave ``saturated`` percent of the values outside them.

    ImageJ's automatic brightness and contrast: half of ``saturated`` of the
    finite values lie below the low level and half above the high level, so
    a few extreme pixels (one hot pixel of 1e6 among values in [0, 1]) no
    longer decide how every other pixel looks.

    Parameters
    ----------
    values : array_like
        The pixels (one image or a stack); NaN and infinite values are left
        out.
    saturated : float
        Percent of the finite values to saturate, ``0 <= saturated < 100``;
        0 gives the range of the finite values.

    Returns
    -------
    tuple of float or None
        ``(low, high)`` = ``np.percentile(finite, [saturated / 2,
        100 - saturated / 2])`` (NumPy's default linear interpolation), or
        None when no value is finite.

    Raises
    ------
    ValueError
        If ``saturated`` is not a number in [0, 100).

    Notes
    -----
    ImageJ's Process > Enhance Contrast ("saturated=0.35") takes its levels
    from a 256-bin histogram; here they are the exact percentiles of the
    values, so they do not depend on any binning.

    Examples
    --------
    >>> values = np.append(np.linspace(0.0, 1.0, 999), 1e6)
    >>> low, high = saturated_levels(values, 0.35)
    >>> round(low, 4), round(high, 4)
    (0.0018, 0.9993)
    """
    saturated = check_saturated(saturated)
    flat = np.asarray(values).reshape(-1)
    if flat.dtype.kind == "f":
        flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return None
    half = saturated / 2.0
    low, high = np.percentile(flat, [half, 100.0 - half])
    return float(low), float(high)


def default_levels_mode(dtype):
    """The display levels a stack of ``dtype`` starts with.

    8-bit integers keep their full range (0..255: every 8-bit stack looks
    the same, as in ImageJ); wider integers and floats get the saturated
    percentiles (ImageJ's automatic contrast), so 12-bit data in a uint16
    and a float stack with one outlier look normal.

    Examples
    --------
    >>> default_levels_mode("uint8"), default_levels_mode("uint16")
    ('dtype', 'percentile')
    """
    dtype = np.dtype(dtype)
    return "dtype" if dtype.kind in "iub" and dtype.itemsize == 1 else "percentile"


def equalized_levels(values, mode="auto", saturated=DEFAULT_SATURATED):
    """Display levels of an equalized image (values in [0, 1]).

    Parameters
    ----------
    values : array_like
        The equalized image (any shape; NaN and infinite values are left out).
    mode : {"auto", "output", "percentile"}
        ``"output"``: the output's range ``(0, 1)``.  ``"percentile"``: the
        levels that leave ``saturated`` percent of the image's finite values
        outside, half at each end (:func:`saturated_levels`; an image of
        more than a million pixels is sampled evenly).  ``"auto"``:
        ``"output"``, unless the image's largest finite value is below
        :data:`AUTO_FILL` (a quarter of the range): then ``"percentile"``.
        Equalization fills [0, 1], so only results that keep their input's
        units fall short, such as ``match`` to 12-bit data in uint16 (at most
        4095 / 65535 = 0.0625).
    saturated : float
        Percent of the values saturated by ``"percentile"``.

    Returns
    -------
    tuple of float
        ``(low, high)`` with ``low < high`` (a flat image is widened by 0.5
        each way, as :func:`widen` does); ``(0, 1)`` for an image without a
        finite value.

    Examples
    --------
    >>> x = np.linspace(0.0, 4095 / 65535, 1001)
    >>> equalized_levels(x, "output"), equalized_levels(np.array([0.0, 1.0]))
    ((0.0, 1.0), (0.0, 1.0))
    >>> [round(v, 5) for v in equalized_levels(x)]           # "auto": percentiles here
    [0.00011, 0.06238]
    """
    if mode not in EQ_LEVEL_MODES:
        raise ValueError(f"unknown levels {mode!r} for the equalized image; choose one of: "
                         f"{', '.join(EQ_LEVEL_MODES)}")
    if mode == "output":
        return 0.0, 1.0
    flat = np.asarray(values).reshape(-1)
    if flat.size > _SAMPLE:
        flat = flat[::-(-flat.size // _SAMPLE)]
    if mode == "auto":
        top = finite_range(flat)
        if top is None or top[1] >= AUTO_FILL:
            return 0.0, 1.0
    return widen(saturated_levels(flat, saturated))


def drawn_histogram(edges, counts, x_range, columns, min_height=0.0):
    """What a plot ``columns`` pixels wide can show of a histogram, every bin kept.

    When the bins are at least one screen pixel wide they are returned as
    they are.  When they are narrower (256 bins of a dark image on a
    0..255 axis, thousands of value bins of 16-bit data), each screen column
    gets the largest count of the bins it touches, so a non-empty bin always
    lights at least one column: drawn as a filled step curve, nothing
    disappears between two pixels.

    Parameters
    ----------
    edges : array_like, shape (K + 1,)
        Increasing bin edges.
    counts : array_like, shape (K,)
        Pixels per bin.
    x_range : tuple of float
        ``(low, high)`` of the plot's x axis, ``low < high``.
    columns : int
        Width of the plot area in screen pixels.
    min_height : float, optional
        Height given to non-empty bins drawn lower than this (so that a bin
        of one pixel stays visible beside one of ten thousand); 0 keeps the
        counts.

    Returns
    -------
    x : ndarray of float64, shape (M + 1,)
        Step edges: ``edges`` itself, or the ``columns + 1`` column edges over
        ``x_range``.
    heights : ndarray of float64, shape (M,)
        Step heights.

    Examples
    --------
    Four bins a tenth of a pixel wide on an axis of 10 pixels: each lands
    in one column.

    >>> x, h = drawn_histogram([0, 0.1, 0.2, 0.3, 0.4], [5, 0, 2, 1], (0, 10), 10)
    >>> len(x), h.tolist()
    (11, [5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    """
    edges = np.asarray(edges, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    if len(edges) != len(counts) + 1:
        raise ValueError(f"a histogram of {len(counts)} bins needs {len(counts) + 1} edges, "
                         f"got {len(edges)}")
    columns = int(columns)
    lo, hi = float(x_range[0]), float(x_range[1])
    if len(counts) == 0 or columns < 1 or not hi > lo or not np.isfinite(hi - lo):
        return edges, _lifted(counts, min_height)
    step = (hi - lo) / columns
    visible = (edges[1:] >= lo) & (edges[:-1] <= hi)
    if not visible.any() or np.diff(edges)[visible].min() >= step:
        return edges, _lifted(counts, min_height)
    with np.errstate(over="ignore", invalid="ignore"):
        first = np.floor((edges[:-1] - lo) / step)
        last = np.ceil((edges[1:] - lo) / step) - 1
    last = np.maximum(last, first)          # a zero-width bin still touches one column
    keep = visible & (counts > 0)
    first = np.clip(first[keep], 0, columns - 1).astype(np.int64)
    last = np.clip(last[keep], 0, columns - 1).astype(np.int64)
    spans = last - first + 1
    heights = np.zeros(columns)
    # Every column each bin touches (their total is at most bins + 2 * columns).
    starts = np.repeat(np.cumsum(spans) - spans, spans)
    touched = np.repeat(first, spans) + (np.arange(spans.sum()) - starts)
    np.maximum.at(heights, touched, np.repeat(counts[keep], spans))
    x = lo + step * np.arange(columns + 1, dtype=np.float64)
    x[-1] = hi
    return x, _lifted(heights, min_height)


def _lifted(heights, min_height):
    if min_height <= 0:
        return heights
    return np.where((heights > 0) & (heights < min_height), min_height, heights)
