"""``match``: histogram matching (specification), ``skimage.exposure.match_histograms``.

Each image's pixel values are replaced so that their cumulative histogram
follows a reference's (scikit-image 0.26, ``exposure/histogram_matching.py``,
``_match_cumulative_cdf``): with ``F`` the image's and ``G`` the reference's
cumulative fraction of pixels at each distinct value, a pixel of value
``v`` becomes ``np.interp(F(v), G, reference values)``.  Matching every
face of a stack to one well-lit face (or to the whole stack) gives them all
the same lighting.

The reference (parameter ``reference``, default ``"stack"``):

- **an image array**: any array of at least 2 dimensions; all its finite
  pixels form the reference histogram (a stack: all its images together).
  For colour images (``channel_axis``) a reference with the same channels,
  on the same axis as the images or last (an ``(H, W, 3)`` image), is
  matched channel by channel; any other reference serves every channel.
- **an int**: that image of the stack being equalized (negative counts
  from the end), as the viewer numbers them.
- **"stack"**: all pixels of the stack being equalized, channel by channel.
- **an image file** (a :class:`pathlib.Path`; ``histeq``, the viewer): the
  parameter takes files (``files=True``), so the caller's edge reads it
  (:mod:`histeq_gui.core.param_files`) and this module gets its array.

An index or ``"stack"`` needs the whole stack: ``equalize`` resolves it
against the images it is given; whoever equalizes a stack in parts resolves
it once with :func:`~histeq_gui.core.equalize.stack_params` (a
:class:`Reference` per channel) and passes that on.  With a mask, the
references taken from the stack count its selected pixels only.

Output in [0, 1]: ``match_histograms`` returns values in the reference's
units; here they are divided into the reference dtype's range:

- **integer reference**: ``(m - dtype min) / (dtype max - dtype min)``
  (uint8: ``m / 255``), the inverse of the export's integer conversion, so
  exporting with ``--dtype same`` images of the reference's dtype writes
  ``rint(m)``: the matched values themselves, rounded as any conversion of
  ``match_histograms``'s float64 result to integers would round them.  (For
  8- to 32-bit references this is exact: where the division lands one ulp
  across a half-integer, the value is nudged back by an ulp or two.)
- **float reference**: ``(m - low) / (high - low)`` over the smallest range
  holding both [0, 1] and the reference's finite values: a reference in
  [0, 1] (scikit-image's float convention, ``lfw_subset``) keeps its units
  exactly; a float reference in 0..255 is divided by its maximum.

Per dtype, as ``match_histograms`` (its two code paths in
``_match_cumulative_cdf``, ``np.bincount`` for unsigned images and
``np.unique`` for the others, give the same value at every pixel value):
integer images are counted per value (or per distinct value, for a range
too wide) by the engine's compiled loops, and :func:`table` turns all
their counts into tables at once; float images go through :func:`image`,
one ``np.unique`` per image.  scikit-image's unsigned path needs an
unsigned reference (``np.bincount``), here any reference works.  For
float16 and float32 images the matched values are rounded to float32
first, as ``match_histograms`` returns them.

- **NaN and inf** pixels are left out of both histograms and come back NaN.
- **masks**: the selected pixels make the image's histogram ``F``; every
  pixel is mapped with it, an unselected value ``v`` through ``F(v)`` = the
  fraction of selected pixels ``<= v``, or as the smallest selected value
  below them all (as the ``skimage`` method does).
- **colour**: channel by channel, each as ``match_histograms(channel,
  reference channel)``.  (``match_histograms(..., channel_axis=-1)`` fills
  an array of the image's dtype, so for integer images it truncates every
  matched value; nothing is truncated here.)
- ``scope="stack"`` (one map for the whole stack, ``match_histograms(stack,
  reference)``) is not offered: this method maps image by image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import histogram as hg
from .base import Curve, Method, Param, how_from_docstring

__all__ = ["METHOD", "Reference", "reference_of", "references_of_pieces", "validate",
           "resolve", "table", "image", "curve"]

_BINCOUNT_SPAN = 1 << 22    # integers of a narrower range are counted with np.bincount


@dataclass(frozen=True, eq=False)
class Reference:
    """A reference histogram, ready for matching.

    Attributes
    ----------
    values : ndarray of float64
        The reference's distinct finite values, increasing.
    quantiles : ndarray of float64
        The fraction of its pixels ``<=`` each value (``np.cumsum(counts) /
        pixels``, as scikit-image computes it); the last is 1.
    low, high : float
        The output scale: a matched value ``m`` becomes ``(m - low) / (high
        - low)``.
    dtype : numpy.dtype
        The reference's dtype.
    pixels : int
        How many pixels it counts.
    """

    values: np.ndarray
    quantiles: np.ndarray
    low: float
    high: float
    dtype: np.dtype
    pixels: int

    def __repr__(self):
        return (f"Reference({self.pixels} {self.dtype} pixels, {len(self.values)} values "
                f"from {self.values[0]:g} to {self.values[-1]:g})")


def _chosen(x, mask):
    """The selected finite pixels' mask (None: every pixel) of the flat array ``x``."""
    chosen = np.isfinite(x) if x.dtype.kind == "f" else None
    if mask is not None:
        mask = np.asarray(mask, bool).ravel()
        chosen = mask if chosen is None else chosen & mask
    return None if chosen is not None and chosen.all() else chosen


def _int_span(x):
    """``(low, levels)`` if the integers ``x`` can be counted per value, else None."""
    if x.dtype.kind not in "iu" or x.size == 0:
        return None
    low, high = int(x.min()), int(x.max())
    return (low, high - low + 1) if high - low < _BINCOUNT_SPAN else None


def _offsets(x, low):
    """``x - low`` as int64 for integers ``x >= low`` of a span under 2**22 (no wrap-around)."""
    if x.dtype.itemsize < 8:
        return x.astype(np.int64) - low
    return (x - x.dtype.type(low)).astype(np.int64)


def _native(low, offsets, dtype):
    """``low + offsets`` in ``dtype`` (a span under 2**22: no wrap-around)."""
    if dtype.itemsize < 8:
        return (offsets + low).astype(dtype)
    return offsets.astype(dtype) + dtype.type(low)


def _value_counts(selected):
    """Distinct values (in the pixels' dtype) and their counts, of flat selected pixels."""
    span = _int_span(selected)
    if span is not None:
        low, levels = span
        counts = np.bincount(_offsets(selected, low), minlength=levels)
        present = np.flatnonzero(counts)
        return _native(low, present, selected.dtype), counts[present]
    return np.unique(selected, return_counts=True)


def _merge_counts(parts):
    """The distinct values and summed counts of several ``(values, counts)`` of one dtype."""
    if len(parts) == 1:
        return parts[0]
    values, inverse = np.unique(np.concatenate([v for v, _ in parts]), return_inverse=True)
    counts = np.zeros(len(values), np.int64)
    np.add.at(counts, inverse.ravel(), np.concatenate([c for _, c in parts]))
    return values, counts


class _Counter:
    """Distinct values and counts of pixels given piece by piece (one dtype), merged lazily.

    Pieces are merged once the unmerged ones hold more entries than the
    merged ones (at least 2**20): each entry is merged O(log pieces) times.
    """

    def __init__(self):
        self.merged, self.pending, self.waiting = None, [], 0

    def add(self, pixels, mask=None):
        x = np.asarray(pixels)
        x = x.astype(hg.check_dtype(x.dtype), copy=False).ravel()
        chosen = _chosen(x, mask)
        selected = x if chosen is None else x[chosen]
        if selected.size:
            part = _value_counts(selected)
            self.pending.append(part)
            self.waiting += len(part[0])
            if self.waiting > max(1 << 20, 0 if self.merged is None else len(self.merged[0])):
                self._merge()
        return x.dtype

    def _merge(self):
        parts = ([] if self.merged is None else [self.merged]) + self.pending
        self.merged, self.pending, self.waiting = _merge_counts(parts), [], 0

    def reference(self, dtype):
        """The :class:`Reference` of every selected finite pixel added."""
        if self.pending:
            self._merge()
        if self.merged is None:
            raise ValueError("reference has no finite (selected) pixel; choose another "
                             "reference")
        values, counts = self.merged
        pixels = int(counts.sum())
        quantiles = np.cumsum(counts) / pixels
        values = values.astype(np.float64)
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            low, high = float(info.min), float(info.max)
        else:
            low, high = min(0.0, float(values[0])), max(1.0, float(values[-1]))
        return Reference(values, quantiles, low, high, dtype, pixels)


def reference_of(pixels, mask=None):
    """The :class:`Reference` of an array's finite (selected) pixels.

    Parameters
    ----------
    pixels : array_like
        Integer or float pixels, any shape.
    mask : array_like of bool, optional
        Same size: the pixels that count.

    Returns
    -------
    Reference

    Raises
    ------
    ValueError
        One line, for a dtype that cannot be equalized or no finite selected
        pixel.

    Examples
    --------
    >>> r = reference_of(np.array([[0, 0], [10, 255]], np.uint8))
    >>> r.values.tolist(), r.quantiles.tolist(), (r.low, r.high)
    ([0.0, 10.0, 255.0], [0.5, 0.75, 1.0], (0.0, 255.0))
    """
    counter = _Counter()
    dtype = counter.add(pixels, mask)
    return counter.reference(dtype)


def references_of_pieces(stack):
    """One :class:`Reference` per channel of a stack, read piece by piece.

    Parameters
    ----------
    stack : StackView or StackStream
        Its :meth:`~histeq_gui.core.methods.base.StackView.pieces` are read
        once; memory holds one piece and the distinct values counted.

    Returns
    -------
    tuple of Reference
        Each equal to :func:`reference_of` of all the channel's (selected)
        pixels at once: the same values, counts and quantiles.
    """
    counters = [_Counter() for _ in range(stack.channels)]
    dtypes = [None] * stack.channels
    for piece in stack.pieces():
        for c, (rows, mask) in enumerate(piece):
            dtypes[c] = counters[c].add(rows, mask)
    return tuple(counter.reference(dtype) for counter, dtype in zip(counters, dtypes))


# ------------------------------------------------------------------ the parameter


def validate(value):
    """The ``reference`` parameter, checked without the stack (see the module docstring)."""
    if isinstance(value, Reference):
        return value
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, Reference)
                                                          for v in value):
        return tuple(value)
    if isinstance(value, str):
        if value == "stack":
            return value
        raise ValueError(f"reference must be an image array, an index into the stack or "
                         f"'stack', got {value!r}; for an image file pass a pathlib.Path")
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"reference must be an image array, an index into the stack or "
                         f"'stack', got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"reference must be an image array, an index into the stack or "
                         f"'stack', got a {type(value).__name__}")
    if array.ndim < 2:
        raise ValueError(f"reference must be an image of at least 2 dimensions (or an index "
                         f"into the stack, or 'stack'), got an array of shape {array.shape}")
    try:
        hg.check_dtype(array.dtype)
    except ValueError as exc:
        raise ValueError(f"reference: {exc}") from None
    if array.size == 0 or array.dtype.kind == "f" and not np.isfinite(array).any():
        raise ValueError("reference has no finite pixel; choose another reference")
    return array


def _array_references(array, view):
    """One Reference per channel of ``view`` from a reference array."""
    channels, layout = view.channels, view.layout
    if channels > 1:
        axis = None
        if layout.channel_axis is not None and array.ndim == layout.ndim and \
                array.shape[layout.channel_axis] == channels:
            axis = layout.channel_axis
        elif array.ndim >= 3 and array.shape[-1] == channels:
            axis = array.ndim - 1
        if axis is not None:
            return tuple(reference_of(np.take(array, c, axis=axis)) for c in range(channels))
    return (reference_of(array),) * channels


def resolve(value, view):
    """One :class:`Reference` per channel of the images in ``view``.

    ``view`` is a :class:`~histeq_gui.core.methods.base.StackView` or a
    :class:`~histeq_gui.core.methods.base.StackStream`: ``"stack"`` reads
    its pieces once, an index reads that image only.
    """
    value = validate(value)
    channels = view.channels
    if isinstance(value, Reference):
        return (value,) * channels
    if isinstance(value, tuple):
        if len(value) == 1:
            return value * channels
        if len(value) != channels:
            raise ValueError(f"reference has {len(value)} channels and the images "
                             f"{channels}; give one per channel or one for all")
        return value
    if isinstance(value, str):               # "stack": one pass over its pieces
        return references_of_pieces(view)
    if isinstance(value, int):
        n = view.images
        if not -n <= value < n:
            raise ValueError(f"reference image {value} is out of range: the stack has {n} "
                             f"images (0 to {n - 1})")
        return tuple(reference_of(row, mask) for row, mask in view.image(value % n))
    return _array_references(value, view)


# ------------------------------------------------------------------------ the hooks


def _matched(quantiles, ref, dtype):
    """The output in [0, 1] at the image's cumulative fractions ``quantiles``."""
    matched = np.interp(quantiles, ref.quantiles, ref.values)
    if dtype in (np.float16, np.float32):
        matched = matched.astype(np.float32).astype(np.float64)   # as match_histograms
    low, span = ref.low, ref.high - ref.low
    if not np.isfinite(span):                # a float reference spanning +-1e308
        out, low, span = matched / 2, low / 2, ref.high / 2 - ref.low / 2
    else:
        out = matched.copy()
    out -= low
    out /= span
    if ref.dtype.kind in "iu" and ref.dtype.itemsize <= 4:
        _round_trip(out, matched, ref)
    # Within [0, 1] by construction; np.interp's overflowing slopes aside.
    return np.clip(out, 0.0, 1.0, out=out)


def _round_trip(out, matched, ref):
    """Nudge ``out`` by ulps where the export would not give ``rint(matched)`` back.

    The export writes ``low + rint(v * (high - low))`` for the reference's
    integer dtype; ``(m - low) / (high - low)`` can land one ulp across a
    half-integer where ``m`` itself (scikit-image's value) lies just beside
    one (int16: ``m + 32768`` rounds away the last bits of ``m``).  A few
    ulps change nothing at 1e-9.
    """
    span = ref.high - ref.low
    target = np.rint(matched)
    for _ in range(8):
        back = np.rint(out * span) + ref.low
        wrong = back != target
        if not wrong.any():
            return
        out[wrong] = np.nextafter(out[wrong], np.where(back[wrong] < target[wrong], 2.0, -1.0))


def _fractions(counts):
    """``F`` per cell: the fraction of counted pixels ``<=`` each cell, per row.

    ``np.cumsum(counts) / pixels`` as scikit-image computes it; cells below
    the first counted one (a mask, a table wider than the image's values)
    take the first counted cell's fraction.
    """
    counts = np.atleast_2d(counts)
    f = np.cumsum(counts, axis=1) / counts.sum(axis=1, keepdims=True)
    first = np.argmax(counts > 0, axis=1)[:, np.newaxis]
    return np.maximum(f, np.take_along_axis(f, first, axis=1), out=f)


def table(cells, params):
    """Integer images: the output per integer value (or rank), for many images at once.

    The engine counts every image's values and maps its pixels through this
    table with its compiled loops; ``np.interp`` runs once for all images.
    """
    f = _fractions(cells.counts)
    return _matched(f, params["reference"], cells.dtype)


def image(pixels, mask, params):
    """``match_histograms(image, reference)`` of one (float) image, divided into [0, 1]."""
    x = np.asarray(pixels)
    flat = x.ravel()
    chosen = _chosen(flat, mask)
    if chosen is None:
        values, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
        return _matched(_fractions(counts)[0], params["reference"], x.dtype)[inverse].reshape(
            x.shape)
    values, counts = np.unique(flat[chosen], return_counts=True)
    table = _matched(_fractions(counts)[0], params["reference"], x.dtype)
    # Below every selected value: as the smallest; NaN lands past the end (and goes out NaN).
    cell = np.clip(np.searchsorted(values, flat, side="right") - 1, 0, len(values) - 1)
    return table[cell].reshape(x.shape)


def curve(pixels, mask, params):
    """The map of one (float) sample: a cell per distinct value, value -> output."""
    flat = np.asarray(pixels).ravel()
    chosen = _chosen(flat, mask)
    selected = flat if chosen is None else flat[chosen]
    if selected.size == 0:
        return Curve(np.zeros(1, np.int64), np.array([0.0, 1.0]), np.array([0.5]),
                     np.array([np.nan]))
    values, counts = np.unique(selected, return_counts=True)
    x = values.astype(np.float64)
    if len(x) == 1:
        edges = np.array([x[0] - 0.5, x[0] + 0.5])
    else:
        edges = np.concatenate([[x[0]], (x[:-1] + x[1:]) / 2, [x[-1]]])
    return Curve(counts.astype(np.int64), edges, x,
                 _matched(_fractions(counts)[0], params["reference"], flat.dtype))


METHOD = Method(
    name="match",
    label="scikit-image match_histograms",
    summary="Histogram specification: each image's values remapped so that its cumulative "
            "histogram follows a reference's.",
    reference="skimage.exposure.match_histograms(image, reference), image by image, divided "
              "into [0, 1] by the reference dtype's range",
    source="scikit-image skimage/exposure/histogram_matching.py (match_histograms, "
           "_match_cumulative_cdf); Gonzalez & Woods, histogram specification",
    formula=("F(v) = image's cumulative fraction at v, G(u) = reference's; "
             "T(v) = G<sup>&minus;1</sup>(F(v)) = interp(F(v), G, reference values)"),
    how=how_from_docstring(__doc__),
    params=(Param("reference", "stack", object,
                  "the histogram to match: an image, an index into the stack, 'stack' (the "
                  "whole stack's histogram) or an image file",
                  text="an image array, an index into the stack, 'stack', or (histeq, the "
                       "viewer) an image file path",
                  validate=validate, resolve=resolve, files=True),),
    scopes=("image",),
    value_cells="ui",
    table=table,
    image=image,
    curve=curve,
)
