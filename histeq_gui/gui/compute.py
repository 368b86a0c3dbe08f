"""What the viewer shows for one image, computed by the core (no Qt, no maths here).

:func:`compute_view` asks :mod:`histeq_gui.core` for the histogram that
drives the mapping (the image's own, or the whole stack's), applies it, and
asks for the histogram of the result.  Colour images are handled channel by
channel, as :func:`histeq_gui.equalize` does with a channel axis.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..core.equalize import histogram

__all__ = ["ViewResult", "compute_view", "stack_histograms", "HistogramCache"]


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
    equalized : ndarray of float64
        Same shape, values in [0, 1] (NaN where the original is not finite).
    histograms : tuple of Histogram
        Per channel: the histogram whose CDF maps this image (the image's own
        for scope "image", the whole stack's for scope "stack").
    equalized_histograms : tuple of Histogram
        Per channel: the histogram of the equalized values, same method and bins.
    """

    index: int
    method: str
    bins: int
    scope: str
    original: np.ndarray
    equalized: np.ndarray
    histograms: tuple
    equalized_histograms: tuple

    @property
    def value_bins(self):
        """True when the mapping bins one integer value per bin (skimage on integers)."""
        return any(h.value_bins for h in self.histograms)


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


def compute_view(stack, index, method, bins, scope, stack_hists=None, progress=None):
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

    Returns
    -------
    ViewResult
    """
    if scope == "stack" and stack_hists is None:
        raise ValueError("scope 'stack' needs the stack's histograms; compute them first")
    original = np.ascontiguousarray(stack.image(index))
    channels = _channels(original, stack.channels)
    parts = 3 * len(channels)
    hists, equalized, eq_hists = [], [], []
    for c, channel in enumerate(channels):
        if scope == "stack":
            h = stack_hists[c]
        else:
            h = histogram(channel, method, bins, progress=_stage(progress, "Histogram", 3 * c, parts))
        eq = h.apply(channel, progress=_stage(progress, "Equalizing", 3 * c + 1, parts))
        hists.append(h)
        equalized.append(eq)
        eq_hists.append(histogram(eq, method, bins,
                                  progress=_stage(progress, "Histogram", 3 * c + 2, parts)))
    result = equalized[0] if len(equalized) == 1 else np.stack(equalized, axis=-1)
    return ViewResult(index, method, bins, scope, original, result, tuple(hists), tuple(eq_hists))


def stack_histograms(stack, method, bins, progress=None):
    """The whole stack's histogram per channel (what scope "stack" maps with)."""
    hists = []
    for c in range(stack.channels):
        report = _stage(progress, "Stack histogram", c, stack.channels)
        hists.append(histogram(stack.channel_stack(c), method, bins, progress=report))
    return tuple(hists)


class HistogramCache:
    """Stack histograms of one stack, by ``(method, bins)``, least recently used dropped."""

    def __init__(self, size=16):
        self._size = size
        self._items = OrderedDict()

    def get(self, method, bins):
        """The cached histograms for ``(method, bins)``, or None."""
        key = (method, bins)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, method, bins, hists):
        """Remember ``hists`` for ``(method, bins)``."""
        self._items[(method, bins)] = hists
        self._items.move_to_end((method, bins))
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def clear(self):
        """Forget everything (a new stack)."""
        self._items.clear()

    def __len__(self):
        return len(self._items)
