"""Trace one value through a histogram's mapping: its bin, the counts, its output.

Equalization is easiest to understand one value at a time: which bin the
value falls in, how many pixels that bin and the bins below it hold, what
fraction of the image that is, and what the method makes of it.
:func:`trace_value` gives those numbers for a
:class:`~histeq_gui.core.equalize.Histogram` (the one that maps an image: its
own, a whole stack's, or a region's); the output is the histogram's own
:meth:`~histeq_gui.core.equalize.Histogram.apply`, so it is exactly the value
:func:`histeq_gui.equalize` gives that pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Trace", "trace_value"]


@dataclass(frozen=True)
class Trace:
    """How one input value is mapped.

    Attributes
    ----------
    value : int or float
        The value traced, in the data's type.
    bin : int or None
        Index of its bin in ``histogram.counts``; -1 below the first bin,
        ``len(counts)`` above the last; None for NaN or infinite values.
    low, high : float
        Edges of that bin (NaN outside the bins).
    count : int
        Pixels in that bin (0 outside the bins).
    cumulative : int
        Pixels in that bin and every bin below it.
    total : int
        Pixels counted by the histogram.
    fraction : float
        ``cumulative / total``: the share of the pixels at or below this
        value's bin.
    output : float
        The equalized value in [0, 1] (NaN for a value that is not finite).
    value_bins : bool
        True when each bin holds one integer value (scikit-image on integer
        images).
    n_bins : int
        Number of bins of the histogram.
    """

    value: object
    bin: int | None
    low: float
    high: float
    count: int
    cumulative: int
    total: int
    fraction: float
    output: float
    value_bins: bool
    n_bins: int

    @property
    def inside(self):
        """True when the value falls in one of the histogram's bins."""
        return self.bin is not None and self.low == self.low     # NaN outside


def trace_value(histogram, value, dtype=None):
    """The numbers that take ``value`` to its equalized value.

    Parameters
    ----------
    histogram : Histogram
        The histogram that maps the image (from :func:`histeq_gui.histogram`).
    value : scalar
        An input value: a pixel, or any value on the histogram's axis.
    dtype : dtype-like, optional
        The data's type (default: the type the histogram was made from).  An
        integer type rounds ``value`` to the nearest integer first.

    Returns
    -------
    Trace

    Notes
    -----
    A value lies in bin ``k`` when ``edges[k] <= value < edges[k + 1]``; the
    last bin includes its right edge, as in ``np.histogram``.  ``fraction`` is
    the CDF at that bin; ``output`` is where the method's interpolation puts
    the value: the numpy method interpolates between the CDF at the left
    edges (a value on a left edge gets its bin's whole count), scikit-image
    between the bin centres.

    Examples
    --------
    >>> import numpy as np
    >>> from histeq_gui import histogram
    >>> h = histogram(np.array([[0, 1], [2, 3]], np.uint8), "numpy", bins=4)
    >>> h.edges.tolist()
    [0.0, 0.75, 1.5, 2.25, 3.0]
    >>> t = trace_value(h, 1)
    >>> t.bin, t.low, t.high, t.count, t.cumulative, t.fraction
    (1, 0.75, 1.5, 1, 2, 0.5)

    The numpy method interpolates between the left edges 0.75 (CDF 0.5) and
    1.5 (CDF 0.75):

    >>> round(t.output, 4)
    0.5833
    """
    dtype = np.dtype(histogram.tables.dtype if dtype is None else dtype)
    raw = np.asarray(value, dtype=np.float64)
    if dtype.kind in "iu":
        raw = np.rint(raw)
        info = np.iinfo(dtype)
        raw = np.clip(raw, info.min, info.max)
    typed = np.asarray(raw, dtype=dtype).reshape(1, 1)
    scalar = typed[0, 0].item()
    counts = np.asarray(histogram.counts)
    total = int(counts.sum())
    if not np.isfinite(float(scalar)):
        return Trace(scalar, None, np.nan, np.nan, 0, 0, total, np.nan, np.nan,
                     histogram.value_bins, len(counts))
    edges = np.asarray(histogram.edges, dtype=np.float64)
    x = float(scalar)
    k = int(np.searchsorted(edges, x, side="right")) - 1
    if x == edges[-1]:
        k = len(counts) - 1                   # the last bin includes its right edge
    output = float(histogram.apply(typed)[0, 0])
    if k < 0 or k >= len(counts):
        k = -1 if k < 0 else len(counts)
        cumulative = 0 if k < 0 else total
        return Trace(scalar, k, np.nan, np.nan, 0, cumulative, total,
                     cumulative / total if total else np.nan, output, histogram.value_bins,
                     len(counts))
    cumulative = int(counts[:k + 1].sum())
    return Trace(scalar, k, float(edges[k]), float(edges[k + 1]), int(counts[k]), cumulative,
                 total, cumulative / total if total else np.nan, output, histogram.value_bins,
                 len(counts))
