"""What the viewer shows for one image, computed by the core (no Qt, no maths here).

:func:`compute_view` asks :mod:`histeq_gui.core` for the histogram that
drives the mapping (the image's own, or the whole stack's), applies it, and
asks for the histogram of the result.  Colour images are handled channel by
channel, as :func:`histeq_gui.equalize` does with a channel axis.  When the
core cannot equalize an image (say, too many bins for a narrow float range)
the result says why and keeps what could be made, so that the viewer can
still show the original.

A region of interest (a rectangle of the image) becomes the core's ``mask``:
its pixels make the histogram, whose map is applied to the whole image, as
``equalize(image, mask=...)`` does.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..core.display import dtype_range, finite_range
from ..core.equalize import histogram
from ..core.errors import Cancelled
from ..core.export import convert
from ..core.trace import trace_value

__all__ = ["ViewResult", "compute_view", "failed_view", "stack_histograms", "HistogramCache",
           "image_note", "roi_mask"]


def roi_mask(roi, image_shape):
    """The boolean ``(H, W)`` mask of a region ``(x, y, width, height)``; None for None."""
    if roi is None:
        return None
    x, y, w, h = roi
    mask = np.zeros(image_shape, bool)
    mask[y:y + h, x:x + w] = True
    return mask


@dataclass(frozen=True, eq=False)
class ViewResult:
    """Everything drawn for one image.

    Attributes
    ----------
    index : int
    method : str
    bins : int
    scope : str
    original : ndarray
        The image, ``(H, W)`` or ``(H, W, C)``.
    equalized : ndarray of float64 or None
        Same shape, values in [0, 1] (NaN where the original is not finite);
        None when the image could not be equalized.
    histograms : tuple of Histogram
        Per channel: the histogram whose CDF maps this image (the image's own
        for scope "image", the whole stack's for scope "stack"); empty when
        they could not be made.
    equalized_histograms : tuple of Histogram
        Per channel: the histogram of the equalized values, same method and
        bins; empty when the image could not be equalized.
    error : Exception or None
        Why the image could not be equalized, or None.
    note : str or None
        Why the result looks as it does, when a new user would wonder (a
        flat image that turns white, an image with no finite pixel).
    roi : tuple or None
        The region ``(x, y, width, height)`` whose pixels made the
        histograms, or None for the whole image.
    image_range : tuple of float or None
        The smallest and largest finite value of the original.
    eq_units : tuple of float
        The values of the equalized histograms' x axis that stand for 0 and
        1: ``(0, 1)``, or the export dtype's range when they count output
        levels (see :func:`compute_view`).
    """

    index: int
    method: str
    bins: int
    scope: str
    original: np.ndarray
    equalized: np.ndarray
    histograms: tuple
    equalized_histograms: tuple
    error: Exception | None = None
    note: str | None = None
    roi: tuple | None = None
    image_range: tuple | None = None
    eq_units: tuple = (0.0, 1.0)

    @property
    def eq_levels_bins(self):
        """True when the equalized histograms have one bin per output level of the export."""
        return self.eq_units != (0.0, 1.0)

    def trace(self, position=None, value=None):
        """How a pixel's value (``position`` ``(x, y)``) or ``value`` is mapped, per channel.

        Returns
        -------
        list of Trace or None
            One :class:`~histeq_gui.core.trace.Trace` per channel, from the
            histograms that map this image; None without histograms, or for
            a position outside the image.
        """
        if not self.histograms:
            return None
        if position is not None:
            values = self.pixel(position)
            if values is None:
                return None
            values = np.atleast_1d(values[0])
        elif value is not None:
            values = np.full(len(self.histograms), value, dtype=np.float64)
        else:
            return None
        dtype = self.original.dtype
        return [trace_value(h, v, dtype) for h, v in zip(self.histograms, values)]

    def pixel(self, position):
        """The original and equalized values at ``position`` ``(x, y)``.

        Returns
        -------
        tuple or None
            ``(original, equalized)``: scalars for gray images, 1-D arrays
            (one value per channel) for colour; ``equalized`` is None when
            the image could not be equalized.  None when ``position`` is None
            or outside the image.
        """
        if position is None:
            return None
        x, y = position
        height, width = self.original.shape[:2]
        if not (0 <= x < width and 0 <= y < height):
            return None
        equalized = None if self.equalized is None else self.equalized[y, x]
        return self.original[y, x], equalized


def _channels(image, n_channels):
    if n_channels == 1:
        return [image]
    return [image[..., c] for c in range(n_channels)]


def _stage(progress, name, weight_done, parts):
    """A core ``progress(done, total)`` that reports one of ``parts`` equal stages."""
    if progress is None:
        return None

    def report(done, total):
        progress(name, weight_done * total + done, parts * total)
    return report


def compute_view(stack, index, method, bins, scope, stack_hists=None, progress=None, roi=None):
    """Equalize image ``index`` of ``stack`` and gather its histograms.

    Parameters
    ----------
    stack : LoadedStack
    index : int
    method : str
    bins : int
    scope : {"image", "stack"}
    stack_hists : tuple of Histogram, optional
        Per channel, the whole stack's histograms; required for scope "stack"
        (see :func:`stack_histograms`).
    progress : callable, optional
        ``progress(stage, done, total)``; may raise ``Cancelled``.
    roi : tuple, optional
        ``(x, y, width, height)``: only these pixels make the histogram (of
        this image; for scope "stack", ``stack_hists`` must be the region's);
        its map equalizes the whole image.

    Returns
    -------
    ViewResult
        If the core raises while making the histograms or equalizing (a
        ValueError for settings that do not suit the image, or a bug), its
        ``error`` is the exception, ``equalized`` is None, and it keeps the
        histograms of every channel if they were all made.  Cancelled is
        raised, not returned.

    Notes
    -----
    The equalized histograms count the equalized values of the region (of
    the whole image without one) with the same method and bins, except when
    the method ignores the bins (scikit-image on integers: one bin per
    value).  Then they count the export's output levels, one bin each (the
    values :func:`histeq_gui.core.export.convert` writes for dtype "same"),
    so that both histograms follow the same rule.
    """
    if scope == "stack" and stack_hists is None:
        raise ValueError("scope 'stack' needs the stack's histograms; compute them first")
    original = np.ascontiguousarray(stack.image(index))
    channels = _channels(original, stack.channels)
    mask = roi_mask(roi, original.shape[:2])
    n = len(channels)
    parts = 3 * n
    hists = []
    image_range = finite_range(original)
    eq_units = (0.0, 1.0)
    try:
        for c, channel in enumerate(channels):
            hists.append(stack_hists[c] if scope == "stack" else
                         histogram(channel, method, bins, mask=mask,
                                   progress=_stage(progress, "Histogram", c, parts)))
        equalized = [h.apply(channel, progress=_stage(progress, "Equalizing", n + c, parts))
                     for c, (h, channel) in enumerate(zip(hists, channels))]
        if hists and hists[0].value_bins:       # count output levels, one bin each
            eq_units = dtype_range(original.dtype)
            counted = [convert(eq, "same", original.dtype) for eq in equalized]
        else:
            counted = equalized
        eq_hists = [histogram(eq, method, bins, mask=mask,
                              progress=_stage(progress, "Histogram", 2 * n + c, parts))
                    for c, eq in enumerate(counted)]
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - the viewer shows it (and logs it if a bug)
        return ViewResult(index, method, bins, scope, original, None,
                          tuple(hists) if len(hists) == n else (), (), exc, roi=roi,
                          image_range=image_range)
    result = equalized[0] if n == 1 else np.stack(equalized, axis=-1)
    return ViewResult(index, method, bins, scope, original, result, tuple(hists), tuple(eq_hists),
                      note=image_note(original, result, scope), roi=roi,
                      image_range=image_range, eq_units=eq_units)


def _shade(value, lo, hi):
    if value == lo:
        return " (black)"
    return " (white)" if value == hi else ""


def image_note(original, equalized, scope):
    """Why an equalized image looks as it does, for the images that surprise: or None.

    An image with no finite pixel has nothing to equalize.  A flat image
    (one value everywhere) has nothing to spread: with its own histogram it
    maps to one value (white for numpy and skimage, even when it was black).
    NaN and inf values are counted: they are left out of the histogram.
    """
    finite = original[np.isfinite(original)] if original.dtype.kind == "f" else original
    if finite.size == 0:
        return ("This image has no finite pixel (all NaN or inf): there is nothing to "
                "equalize. NaN pixels are drawn magenta.")
    first = finite.flat[0]
    if scope != "image" or not np.all(finite == first):
        missing = original.size - finite.size
        if missing:
            return (f"{missing:,} of {original.size:,} values are NaN or inf (drawn magenta): "
                    "they are left out of the histogram and stay NaN when equalized.")
        return None
    out = equalized[np.isfinite(equalized)]
    if out.size == 0 or not np.all(out == out.flat[0]):
        return None
    if original.dtype.kind in "iu":
        info = np.iinfo(original.dtype)
        shade = _shade(first, info.min, info.max) if info.bits == 8 else ""
    else:
        shade = ""
    value = f"{first:g}" if original.dtype.kind == "f" else str(first)
    mapped = float(out.flat[0])
    why = "its CDF is 1 at that value, so " if mapped == 1.0 else ""
    return (f"This image is flat: every pixel is {value}{shade}. With a single value there is "
            f"nothing to spread: {why}every pixel maps to {mapped:g}{_shade(mapped, 0.0, 1.0)}.")


def failed_view(stack, index, method, bins, scope, error, roi=None):
    """The :class:`ViewResult` of an image that could not be equalized: its original and why."""
    original = np.ascontiguousarray(stack.image(index))
    return ViewResult(index, method, bins, scope, original, None, (), (), error, roi=roi,
                      image_range=finite_range(original))


def stack_histograms(stack, method, bins, progress=None, roi=None):
    """The whole stack's histogram per channel (what scope "stack" maps with).

    With ``roi`` ``(x, y, width, height)``, of that region of every image.
    Fitted over the stack's chunks (:meth:`LoadedStack.fit_histograms
    <histeq_gui.gui.stack_file.LoadedStack.fit_histograms>`): the stack is
    never held in memory for this.
    """
    mask = roi_mask(roi, stack.layout.image_shape)
    report = None if progress is None else (lambda done, total:
                                            progress("Stack histogram", done, total))
    return stack.fit_histograms(method, bins, mask=mask, progress=report)


class HistogramCache:
    """Stack histograms of one stack, by ``(method, bins, roi)``, least recently used dropped.

    The viewer also keeps here the exception that making them raised, so that
    it does not try again for every image.
    """

    def __init__(self, size=16):
        self._size = size
        self._items = OrderedDict()

    def get(self, method, bins, roi=None):
        """The cached histograms for ``(method, bins, roi)``, or None."""
        key = (method, bins, roi)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, method, bins, hists, roi=None):
        """Remember ``hists`` for ``(method, bins, roi)``."""
        key = (method, bins, roi)
        self._items[key] = hists
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def clear(self):
        """Forget everything (a new stack)."""
        self._items.clear()

    def __len__(self):
        return len(self._items)
