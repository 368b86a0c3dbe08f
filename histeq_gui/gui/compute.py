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

The method's own parameters (``state.params``) are passed on.  A
stack-aware one (``match``'s reference ``"stack"`` or an image index) means
something only for the whole stack: :func:`resolve_stack_params` resolves it
once per stack (the viewer caches it by :func:`params_key`), and
:func:`compute_view` gives each channel its resolved value, so the image
shown equals ``equalize(stack, method, bins, **params)[index]``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from ..core.display import dtype_range, finite_range
from ..core.engine.chunks import stack_stream
from ..core.equalize import channel_params, histogram, stack_params
from ..core.errors import Cancelled, StackError
from ..core.export import convert
from ..core.methods import Method, get_method
from ..core.region import region_mask, region_of_rect
from ..core.trace import trace_value

__all__ = ["ViewResult", "compute_view", "failed_view", "stack_histograms", "HistogramCache",
           "image_note", "roi_mask", "resolve_stack_params", "needs_stack", "params_key",
           "params_dict"]


class _Same:
    """A value compared by identity (an image array given as a parameter), kept alive."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, _Same) and other.value is self.value

    def __hash__(self):
        return id(self.value)


def params_key(params):
    """A hashable key of a parameter dict (arrays by identity), for caches.

    Examples
    --------
    >>> params_key({"clip_limit": 0.05, "kernel_size": "auto"})
    (('clip_limit', 0.05), ('kernel_size', 'auto'))
    """
    items = []
    for name in sorted(params or {}):
        value = params[name]
        try:
            hash(value)
        except TypeError:
            value = _Same(value)
        else:
            if hasattr(value, "__array__"):
                value = _Same(value)
        items.append((name, value))
    return tuple(items)


def params_dict(key):
    """The parameter dict of a :func:`params_key` (arrays unwrapped)."""
    return {name: value.value if isinstance(value, _Same) else value for name, value in key}


def needs_stack(method: Method | str) -> bool:
    """True if ``method`` has stack-aware parameters (resolved per stack)."""
    return bool(get_method(method).stack_aware)


def resolve_stack_params(stack, method, bins, params, roi=None, progress=None):
    """The method's parameters with the stack-aware ones resolved against the whole stack.

    Parameters
    ----------
    stack : LoadedStack
    method : Method
        The viewer's method (its settings resolve the name once, when picked).
    bins : int
    params : dict
        The parameters set (``state.params``).
    roi : tuple, optional
        The region ``(x, y, width, height)``: references taken from the
        stack count its pixels only, as ``equalize(stack, mask=...)`` does.
    progress : callable, optional
        ``progress(stage, done, total)``, called before and after (the
        resolution reads the stack once; it may raise ``Cancelled``).

    Returns
    -------
    dict
        :func:`~histeq_gui.core.equalize.stack_params` of the stack: every
        parameter but ``bins``, each stack-aware one a tuple of one value
        per channel.  For a method without stack-aware parameters, ``params``
        as given.

    Raises
    ------
    ValueError
        One line (an index out of range, a reference file that cannot be read).
    """
    m = get_method(method)
    if not m.stack_aware:
        return dict(params)
    if progress is not None:
        progress("Reference", 0, 1)
    if getattr(stack, "ragged", False):
        resolved = _ragged_params(stack, m, bins, params)
    else:
        mask = roi_mask(roi, stack.layout.image_shape)
        if stack.in_memory or mask is not None:
            source = stack.array    # a region of a stack read on demand: read whole (or refused)
        else:
            source = stack_stream(stack.reader, stack.layout)
        resolved = stack_params(source, m, channel_axis=stack.layout.channel_axis,
                                mask=mask, bins=bins, **params)
    if progress is not None:
        progress("Reference", 1, 1)
    return resolved


def _ragged_params(stack, m, bins, params):
    """Stack-aware parameters for images of different sizes: only those that need no stack.

    An image array or file as reference resolves alone; "stack" or an index
    would need the images as one stack: a one-line ValueError.
    """
    for p in m.stack_aware:
        value = params.get(p.name, p.default)
        if isinstance(value, str) and value == "stack" or \
                isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            raise ValueError(f"the {m.name} method's {p.name} {value!r} needs images of one "
                             "size; choose a reference image file instead")
    first = stack.read_image(0)[np.newaxis]          # what channels are; nothing else is read
    return stack_params(first, m, channel_axis=-1 if first.ndim == 4 else None,
                        bins=bins, **params)


def roi_mask(roi, image_shape):
    """The boolean ``(H, W)`` mask of a region ``(x, y, width, height)``, cut to the image.

    None for None (:func:`~histeq_gui.core.region.region_mask`, as the export
    makes it).
    """
    if roi is None:
        return None
    return region_mask(region_of_rect(roi), image_shape, clip=True)


@dataclass(frozen=True, eq=False)
class ViewResult:
    """Everything drawn for one image.

    Attributes
    ----------
    index : int
    method_spec : Method
        The method (:attr:`method` is its name).
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
    method_spec: Method
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
    def method(self):
        """The method's name."""
        return self.method_spec.name

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
            a position outside the image.  For a method without a single map
            (CLAHE) ``output`` is the pixel's own equalized value (NaN for a
            value alone): the histogram's CDF maps nothing there.
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
        traces = [trace_value(h, v, dtype) for h, v in zip(self.histograms, values)]
        if self.histograms[0].global_map:
            return traces
        # No single map (CLAHE): the pixel's own equalized value; a value alone has none.
        if position is None or self.equalized is None:
            outputs = [float("nan")] * len(traces)
        else:
            outputs = np.atleast_1d(self.pixel(position)[1]).astype(float).tolist()
        return [replace(t, output=o) for t, o in zip(traces, outputs)]

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


def compute_view(stack, index, method, bins, scope, stack_hists=None, progress=None, roi=None,
                 params=None):
    """Equalize image ``index`` of ``stack`` and gather its histograms.

    Parameters
    ----------
    stack : LoadedStack
    index : int
    method : Method
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
    params : dict, optional
        The method's parameters; stack-aware ones as
        :func:`resolve_stack_params` gives them (a tuple of one value per
        channel), else they resolve against this image alone.

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
    so that both histograms follow the same rule.  For a whole-image method
    (CLAHE; matching of float images) the equalized values are counted in
    ``bins`` plain equal-width bins (the seed recipe's), as its own
    histogram of the original is.
    """
    params = {} if params is None else params
    m = get_method(method)
    if scope == "stack" and stack_hists is None:
        raise ValueError("scope 'stack' needs the stack's histograms; compute them first")
    original = np.ascontiguousarray(stack.image(index))
    channels = _channels(original, stack.channels)
    mask = roi_mask(roi, original.shape[:2])
    if mask is not None and not mask.any() and getattr(stack, "ragged", False):
        mask, roi = None, None      # a region outside this (smaller) image: the whole image
    n = len(channels)
    parts = 3 * n
    hists = []
    image_range = finite_range(original)
    eq_units = (0.0, 1.0)
    try:
        for c, channel in enumerate(channels):
            hists.append(stack_hists[c] if scope == "stack" else
                         histogram(channel, m, bins, mask=mask,
                                   progress=_stage(progress, "Histogram", c, parts),
                                   **channel_params(m, params, c)))
        equalized = [h.apply(channel, progress=_stage(progress, "Equalizing", n + c, parts))
                     for c, (h, channel) in enumerate(zip(hists, channels))]
        if hists and hists[0].value_bins:       # count output levels, one bin each
            eq_units = dtype_range(original.dtype)
            counted = [convert(eq, "same", original.dtype) for eq in equalized]
        else:
            counted = equalized
        eq_hists = []
        for c, eq in enumerate(counted):
            if m.kind(eq.dtype) == "image":         # no map of its own: plain bins
                counter, own = "numpy", {}
            else:
                counter, own = m, channel_params(m, params, c)
            eq_hists.append(histogram(eq, counter, bins, mask=mask,
                                      progress=_stage(progress, "Histogram", 2 * n + c, parts),
                                      **own))
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - the viewer shows it (and logs it if a bug)
        return ViewResult(index, m, bins, scope, original, None,
                          tuple(hists) if len(hists) == n else (), (), exc, roi=roi,
                          image_range=image_range)
    result = equalized[0] if n == 1 else np.stack(equalized, axis=-1)
    return ViewResult(index, m, bins, scope, original, result, tuple(hists), tuple(eq_hists),
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
    """The :class:`ViewResult` of an image that could not be equalized: its original and why.

    An image that cannot even be read (a file damaged or changed since the stack was
    opened) shows as one black pixel beside the reason.
    """
    try:
        original = np.ascontiguousarray(stack.image(index))
    except StackError:
        original = np.zeros((1, 1) + ((stack.channels,) if stack.channels > 1 else ()),
                            stack.dtype)
    return ViewResult(index, get_method(method), bins, scope, original, None, (), (), error,
                      roi=roi, image_range=finite_range(original))


def stack_histograms(stack, method, bins, progress=None, roi=None, params=None):
    """The whole stack's histogram per channel (what scope "stack" maps with).

    With ``roi`` ``(x, y, width, height)``, of that region of every image;
    ``params``: the method's own parameters (``textbook``'s ``levels``).
    Fitted over the stack's chunks (:meth:`LoadedStack.fit_histograms
    <histeq_gui.gui.stack_file.LoadedStack.fit_histograms>`): the stack is
    never held in memory for this.
    """
    report = None if progress is None else (lambda done, total:
                                            progress("Stack histogram", done, total))
    if stack.ragged:        # images of different sizes: the region clipped to each
        return stack.fit_histograms(method, bins, roi=roi, progress=report, **(params or {}))
    mask = roi_mask(roi, stack.layout.image_shape)
    return stack.fit_histograms(method, bins, mask=mask, progress=report, **(params or {}))


class HistogramCache:
    """Stack-wide results of one stack, least recently used dropped.

    The whole-stack histograms by ``(method, bins, roi, params)``, and the
    resolved stack-aware parameters (:func:`resolve_stack_params`) by the
    same key (:meth:`get_params`, :meth:`put_params`).  The viewer also
    keeps here the exception that making them raised, so that it does not
    try again for every image.  A new stack gets a new cache.
    """

    def __init__(self, size=16):
        self._size = size
        self._items = OrderedDict()

    def get(self, method, bins, roi=None, params=None):
        """The cached histograms for ``(method, bins, roi, params)``, or None."""
        return self._get(("hists", method, bins, roi, params_key(params)))

    def put(self, method, bins, hists, roi=None, params=None):
        """Remember ``hists`` for ``(method, bins, roi, params)``."""
        self._put(("hists", method, bins, roi, params_key(params)), hists)

    def get_params(self, method, bins, roi, params):
        """The resolved parameters cached for these settings, or None."""
        return self._get(("params", method, bins, roi, params_key(params)))

    def put_params(self, method, bins, roi, params, resolved):
        """Remember the resolved parameters (or the exception resolving raised)."""
        self._put(("params", method, bins, roi, params_key(params)), resolved)

    def _get(self, key):
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def _put(self, key, value):
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def clear(self):
        """Forget everything (a new stack)."""
        self._items.clear()

    def __len__(self):
        return len(self._items)
