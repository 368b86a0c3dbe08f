"""Equalize whole stacks at once: :func:`equalize`, :func:`histogram`, :class:`Histogram`.

The public API of the engine (:mod:`histeq_gui.core.engine`): any method of
the registry (:mod:`histeq_gui.core.methods`) runs through the same block
driver (:mod:`.engine.driver`) on the same thread pool (:mod:`.engine.pool`,
whose :func:`use_executor` is offered here too).

Importing this module does not import numba: the compiled loops load on the
first call that needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from . import histogram as hg
from .engine import backend, pool
from .engine.blocks import Group, PixelSource, blocks
from .engine.driver import equalize_stack, group_tables, map_blocks, same_sample
from .engine.inputs import (
    as_images,
    channel_params,
    check_scope,
    image_rows,
    mask_rows,
    output,
    prepare,
    resolve_stack,
    stack_view,
)
from .engine.pool import use_executor
from .methods import SCOPES, get_method, registered
from .methods.base import StackStream, StackView
from .methods.numpy_recipe import METHOD as SEED_RECIPE
from .stack import as_channels_first, guess_layout

__all__ = ["SCOPES", "check_scope", "equalize", "histogram", "Histogram", "stack_params",
           "channel_params", "warm_up", "use_executor"]

def stack_params(images, method="numpy", channel_axis=None, mask=None, **params):
    """A method's parameters, with the stack-aware ones resolved against the whole stack.

    A stack-aware parameter (``match``'s ``reference``: an index into the
    stack, or ``"stack"``) means something only for a whole stack.  Whoever
    equalizes a stack in parts (the export's chunks, the viewer's one image
    at a time) resolves it here once and passes the result on, so every
    part uses the whole stack's reference.

    Parameters
    ----------
    images : array_like or StackStream
        The whole stack, as given to :func:`equalize`; or a
        :class:`~histeq_gui.core.methods.base.StackStream` that reads it
        piece by piece (a file larger than memory, in the export: its own
        layout and no mask, so ``channel_axis`` and ``mask`` are not used).
    method, channel_axis, mask, **params
        As for :func:`equalize` (``bins`` is checked and left out).

    Returns
    -------
    dict
        Every parameter of the method but ``bins`` (defaults filled in);
        each stack-aware one is a tuple of one resolved value per channel.
        Pass it as ``**params`` to :func:`equalize` for any part of the
        stack with the same channels, or take one channel's with
        :func:`channel_params` for :func:`histogram`.

    Raises
    ------
    ValueError
        One line, as :func:`equalize` raises them (an index out of range,
        a reference with no finite pixel, ...).

    Examples
    --------
    >>> import numpy as np
    >>> stack = np.arange(3 * 4 * 4, dtype=np.uint8).reshape(3, 4, 4)
    >>> p = stack_params(stack, "match", reference=2)
    >>> out = equalize(stack[:1], "match", **p)       # image 0, matched to image 2
    >>> bool(np.array_equal(out, equalize(stack, "match", reference=2)[:1]))
    True
    """
    stream = images if isinstance(images, StackStream) else None
    if stream is not None and mask is not None:
        raise ValueError("a StackStream has no mask; resolve against the array with its mask")
    x = stream if stream is not None else as_images(images)
    m = get_method(method)
    p = prepare(x, m, params.pop("bins", 256), params, mask=mask)
    p.pop("bins", None)        # an argument of equalize() and histogram() themselves
    if not m.stack_aware:
        return p
    if stream is not None:
        return resolve_stack(m, p, stream) if stream.images else p
    if x.size == 0:
        return p
    return resolve_stack(m, p, stack_view(x, mask, channel_axis)[-1])


def equalize(images, method="numpy", bins=256, scope="image", mask=None,
             channel_axis=None, progress=None, dtype=None, **params):
    """Histogram-equalize every image of a stack at once.

    Parameters
    ----------
    images : array_like
        Any array whose last two axes are one image ``(H, W)``; every leading
        axis is a batch axis, so ``(1800, 1, 96, 96)``, ``(N, H, W)`` and a
        single ``(H, W)`` all work.  Integer or floating point.
    method : str or Method
        A registered method's name (:data:`histeq_gui.core.methods.METHODS`),
        or the :class:`~histeq_gui.core.methods.Method` itself:
        ``"numpy"``: the Q&A thread's recipe (density histogram, cumulative
        sum, ``np.interp`` over the left bin edges) divided by 255.
        ``"skimage"``: ``skimage.exposure.equalize_hist(image, nbins=bins)``.
        See ``get_method(name).how`` for each.
    bins : int
        Number of equal-width bins, 1 to 65536.  Some methods ignore it for
        integer images (scikit-image: one bin per integer value; see
        the method's :meth:`~histeq_gui.core.methods.Method.ignores_bins`).
    scope : {"image", "stack"}
        ``"image"``: each image is equalized with its own histogram.
        ``"stack"``: one histogram of the whole stack (per channel) gives the
        one mapping applied to every image.
    mask : array_like of bool, optional
        Pixels whose histogram drives the mapping, broadcastable to one image
        or to the stack; the mapping is applied to all pixels.
    channel_axis : int, optional
        Colour axis, equalized channel by channel (e.g. -1 for (N, H, W, 3)).
    progress : callable, optional
        ``progress(done, total)`` called as blocks finish; it may raise to
        cancel (e.g. :class:`~histeq_gui.core.errors.Cancelled`).
    dtype : {None, "float64", "float32", "uint8", "uint16", "same"}, optional
        The result's dtype, as an export writes it
        (:func:`histeq_gui.core.export.output_dtype`; "same" is the images'
        dtype; a NumPy dtype of those names is accepted too).  None or
        "float64": values in [0, 1].  Otherwise the result is exactly
        ``convert(equalize(images, ...), dtype, images.dtype)`` (see
        :func:`histeq_gui.core.export.convert`: integers over their full
        range, rounded half to even, NaN to the minimum), computed without
        float64 values per pixel where the map is a table: integer images
        map each pixel straight through their table, converted once.
    **params
        The method's own parameters (``get_method(method).params``).

    Returns
    -------
    ndarray
        Same shape as ``images``.  float64 by default: values in [0, 1].
        NaN and infinite pixels are left out of the histograms and come back
        as NaN; an image with no finite (selected) pixel comes back all NaN
        (the minimum of an integer ``dtype``).

    Raises
    ------
    ValueError
        One line, for an unknown method, scope or parameter, a value out of
        its range (``bins`` outside 1..65536), a scope or dtype the method
        does not support, a mask that fits no image or selects nothing, a
        value range wider than the bin dtype holds (``[-1e308, 1e308]``) or
        more bins than the range can hold; ``np.histogram`` refuses exactly
        these ranges too.

    Notes
    -----
    The result equals the per-image references bit for bit on every image: the
    histogram, the CDF and the interpolation repeat NumPy's own floating point
    operations.  Integers with a wide range are handled for scikit-image by
    ranking the distinct values (same result, no table per integer).

    Examples
    --------
    >>> import numpy as np
    >>> stack = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 1, 4, 4)
    >>> out = equalize(stack, method="numpy", bins=16)
    >>> out.shape, out.dtype, float(out.max())
    ((2, 1, 4, 4), dtype('float64'), 1.0)
    >>> equalize(stack, method="numpy", bins=16, dtype="uint8")[0, 0, 0].tolist()
    [16, 33, 50, 67]
    """
    return equalize_stack(images, get_method(method), bins, scope, mask, channel_axis, progress,
                          dtype, params)


@dataclass(frozen=True, eq=False)
class Histogram:
    """The histogram of one sample (an image, or a whole stack) and its map.

    Made by :func:`histogram`; the viewer plots its arrays, and
    :meth:`apply` equalizes any image with it.

    Attributes
    ----------
    method : str
    bins : int
        The requested number of bins.
    value_bins : bool
        True when the method bins one integer value per bin and ``bins`` was
        not used (scikit-image and OpenCV on integer images).
    counts : ndarray of int64, shape (K,)
        Pixels per bin.
    edges : ndarray of float64, shape (K + 1,)
        Bin edges (for value bins: the integers -/+ 0.5).
    cdf_x : ndarray of float64, shape (K,)
        Where the method anchors its map: the left edges (numpy, and methods
        with one value per bin) or the bin centres (skimage), or the integer
        values of value bins.
    cdf : ndarray of float64, shape (K,)
        The map from input value to equalized value at ``cdf_x``, in [0, 1]
        (for the CDF methods, the normalized CDF).
    tables : object
        The engine's tables (None for whole-image methods).
    steps : bool
        True when the map is constant over each bin (one value per bin):
        :meth:`transfer_curve` is then a staircase.
    params : dict
        The method's parameters, as resolved.
    mapped : bool
        True for a whole-image method's map of pixel values (``match``):
        one cell per value, ``cdf_x -> cdf`` the map of this sample.
    mask : ndarray of bool or None
        A whole-image method's mask (the selection it was made with), which
        :meth:`apply` uses again: such a method has no tables to keep.
    spec : Method or None
        The method itself (``method`` is its name), which :meth:`apply` of a
        whole-image method equalizes with: a method that is not registered
        works too.
    """

    method: str
    bins: int
    value_bins: bool
    counts: np.ndarray
    edges: np.ndarray
    cdf_x: np.ndarray
    cdf: np.ndarray
    tables: object
    steps: bool = False
    params: dict | None = None
    mapped: bool = False
    mask: object = field(default=None, repr=False)
    spec: object = field(default=None, repr=False)

    @classmethod
    def from_tables(cls, t, method: str, bins: int, params: dict) -> "Histogram":
        """The histogram of the single-sample tables ``t`` (:mod:`.engine.tables`), for plotting.

        ``method``, ``bins`` and ``params`` are recorded as given.
        """
        if t.kind == "bins" or not t.by_value:
            edges = t.binning.edges[0].astype(np.float64)
            if t.mapping == "nodes":
                return cls(method, bins, False, t.counts[0], edges, t.nodes.xp[0],
                           t.nodes.cdf[0], t, False, params)
            table = t.bin_table.reshape(t.samples, -1)[0, :-1]
            return cls(method, bins, False, t.counts[0], edges, edges[:-1], table.copy(), t,
                       True, params)
        counts = t.value_counts[0]
        present = np.flatnonzero(counts)
        lo, hi = (present[0], present[-1]) if len(present) else (0, 0)
        if t.kind == "values":
            x = float(t.base[0]) + np.arange(lo, hi + 1, dtype=np.float64)
            edges = np.append(x - 0.5, x[-1] + 0.5)
        else:
            x = t.uniq[lo:hi + 1].astype(np.float64)
            middle = (x[:-1] + x[1:]) / 2
            edges = np.concatenate([[x[0] - 0.5], middle, [x[-1] + 0.5]])
        cdf = t.lut[lo:hi + 1].copy()
        return cls(method, bins, True, counts[lo:hi + 1], edges, x, cdf, t, False, params)

    @property
    def global_map(self):
        """True when one input -> output map serves every pixel (not CLAHE's local maps).

        Without one the viewer has no transfer curve to draw.
        """
        return self.tables is not None or self.mapped

    def transfer_curve(self, x_range=None):
        """Points ``(x, y)`` of the input -> output map, flat beyond the nodes.

        The flat ends reach the histogram's outer edges, or ``x_range``
        ``(low, high)`` (e.g. the display range) when that is wider.  With
        ``steps`` the curve is a staircase over the bins.  For a whole-image
        method without a single map (``global_map`` False) it is the input's
        CDF.
        """
        low, high = self.edges[0], self.edges[-1]
        if x_range is not None:
            low, high = min(low, x_range[0]), max(high, x_range[1])
        if self.steps:
            x = np.concatenate([[low], np.repeat(self.edges, 2)[1:-1], [high]])
            y = np.concatenate([[self.cdf[0]], np.repeat(self.cdf, 2), [self.cdf[-1]]])
            return x, y
        x = np.concatenate([[low], self.cdf_x, [high]])
        y = np.concatenate([[self.cdf[0]], self.cdf, [self.cdf[-1]]])
        return x, y

    def coarsened(self, max_bars=4096):
        """The histogram with at most ``max_bars`` bars, for drawing.

        Runs of adjacent bins are merged (their counts added); the CDF keeps
        its value at the last node of each run.  A histogram of millions of
        value bins (scikit-image on wide-range integers) can then be drawn
        quickly.  :meth:`apply` is unchanged.
        """
        k = len(self.counts)
        if k <= max_bars:
            return self
        step = -(-k // max_bars)
        starts = np.arange(0, k, step)
        ends = np.minimum(starts + step, k) - 1
        return replace(self, counts=np.add.reduceat(self.counts, starts),
                       edges=np.append(self.edges[starts], self.edges[-1]),
                       cdf_x=self.cdf_x[ends], cdf=self.cdf[ends], steps=False)

    def apply(self, images, progress=None, dtype=None):
        """Equalize ``images`` (any shape, same kind of data) with this histogram.

        Returns float64 in [0, 1] of the same shape; values outside the
        histogram's range map to its end values, non-finite ones to NaN.
        A whole-image method is applied to each image of ``images``.
        ``dtype`` converts the result as for :func:`equalize`: exactly
        ``convert(self.apply(images), dtype, images.dtype)``, integer images
        looked up straight into it.
        """
        x = as_images(images, min_ndim=0)
        if self.tables is None:
            params = {k: v for k, v in self.params.items() if k != "bins"}
            mask = self.mask
            if mask is not None and np.shape(mask) not in (x.shape, x.shape[-2:]):
                raise ValueError(f"this histogram was made with a mask of shape "
                                 f"{np.shape(mask)}; it cannot map images of shape {x.shape}")
            return equalize(x, self.method if self.spec is None else self.spec, self.bins,
                            progress=progress, dtype=dtype, mask=mask, **params)
        target, convert = output(dtype, x.dtype)
        x2 = image_rows(x)
        if x2.size == 0:
            return np.zeros(x.shape, target)
        if x.dtype != self.tables.dtype:
            raise ValueError(f"this histogram was made from {self.tables.dtype} pixels; "
                             f"got {x.dtype}")
        out = np.empty(x2.shape, target)
        found = blocks(0, x2.shape[0], x2.shape[1])
        map_blocks(PixelSource(x2), found, self.tables, same_sample, out,
                   pool.ticker(progress, len(found)), clamp=True, convert=convert)
        return out.reshape(x.shape)


def histogram(images, method="numpy", bins=256, mask=None, progress=None, **params):
    """The histogram and map a method builds from all pixels of ``images``.

    Pass one image for the per-image histogram, or a whole (grayscale) stack
    for the stack histogram.  The counting is the very code
    :func:`equalize` uses, so ``histogram(img).apply(img)`` equals
    ``equalize(img)`` and ``histogram(stack).apply(stack)`` equals
    ``equalize(stack, scope="stack")``.  For a whole-image method (no single
    map, CLAHE) the histogram is the plain one over ``bins`` bins, ``cdf`` its
    CDF, ``global_map`` False, and :meth:`Histogram.apply` equalizes image by
    image; a whole-image method that maps pixel values (``match``) gives its
    map instead: a cell per value, ``cdf_x -> cdf`` the map, ``global_map``
    True.

    Parameters
    ----------
    images : array_like
        One sample: all its pixels go into one histogram.
    method, bins, mask, progress, **params
        As for :func:`equalize`.  A stack-aware parameter resolves against
        ``images`` (``reference="stack"``: all its pixels); to use a whole
        stack's, pass the values ``stack_params`` and
        ``channel_params`` (of this module) give.

    Returns
    -------
    Histogram

    Examples
    --------
    >>> import numpy as np
    >>> h = histogram(np.array([[0, 1], [2, 3]], np.uint8), "numpy", bins=4)
    >>> h.counts.tolist(), h.cdf.tolist()
    ([1, 1, 1, 1], [0.25, 0.5, 0.75, 1.0])
    """
    x = as_images(images, min_ndim=0)
    m = get_method(method)
    p = prepare(x, m, bins, params, mask=mask)
    if x.ndim < 2:
        x = x.reshape(1, -1)        # plain values: one image of one row
    x2 = image_rows(x)
    if x2.size == 0:
        raise ValueError("cannot make a histogram of an empty array")
    mask2 = None
    if mask is not None:
        layout = guess_layout(x.shape)
        mask2 = mask_rows(mask, layout, as_channels_first(x, layout).shape)
    group = Group(0, x2.shape[0], False, blocks(0, x2.shape[0], x2.shape[1]))
    tick = pool.ticker(progress, 2 * len(group.blocks))
    # The sample is one channel: its stack-aware parameters resolve against it.
    view = StackView(x2, mask2, 1, guess_layout(x.shape))
    p = channel_params(m, resolve_stack(m, p, view), 0)
    if m.kind(x.dtype) == "image":
        if m.curve is not None:
            # A map of pixel values (matching): the histogram it is built on, and the map.
            with np.errstate(all="ignore"):
                c = m.curve(x2, mask2, p)
            if tick is not None:
                tick(2 * len(group.blocks))
            return Histogram(m.name, bins, True, np.asarray(c.counts, np.int64),
                             np.asarray(c.edges, np.float64), np.asarray(c.x, np.float64),
                             np.asarray(c.y, np.float64), None, False, p, mapped=True,
                             mask=mask, spec=m)
        # No single map: the plain histogram (the seed recipe's bins) and its CDF.
        t = group_tables(PixelSource(x2, mask2), group, SEED_RECIPE,
                         SEED_RECIPE.resolve_params(x.dtype, bins=bins), bins, tick)
        counts = t.counts[0]
        with np.errstate(all="ignore"):
            cdf = np.cumsum(counts) / counts.sum()
        edges = t.binning.edges[0].astype(np.float64)
        return Histogram(m.name, bins, False, counts, edges, edges[1:], cdf, None, False, p,
                         mask=mask, spec=m)
    t = group_tables(PixelSource(x2, mask2), group, m, p, bins, tick)
    return Histogram.from_tables(t, m.name, bins, p)


def warm_up(dtype, progress=None):
    """Get the compiled kernels for images of ``dtype`` ready.

    The per-pixel loops are compiled on their first use for a dtype (seconds
    after installing; then they load from numba's cache on disk in a
    fraction of a second).  Every registered method that maps through the
    engine is run once with the compiled loops on a tiny image (its
    histogram, its equalized image and that image's histogram, a stack in
    both scopes, and for integer images the results in every integer and
    float32 output dtype, once per kind of map); so is every whole-image
    method with an ``images`` hook (compiled CLAHE), the others compile
    nothing and are skipped.  Then the dtype is marked ready
    (:func:`histeq_gui.core.engine.backend.mark_ready`): code that runs with
    the "ready" kernels (the viewer) switches from the NumPy loops to the
    compiled ones.  The viewer calls this in a background thread, after it
    has shown its first image, so that nobody waits for the compiler.

    Parameters
    ----------
    dtype : dtype-like
        The images' dtype.
    progress : callable, optional
        ``progress(done, total)`` after each method; it may raise to stop
        (the dtype is then not marked ready).

    Raises
    ------
    ValueError
        For a dtype that cannot be equalized.
    """
    tiny = np.arange(16).reshape(4, 4).astype(hg.check_dtype(dtype))
    samples = [tiny]
    if tiny.dtype.kind == "f":
        samples.append(tiny.copy())
        samples[-1][0, 0] = np.nan                 # the loops that skip NaN
    # Integer images are looked up straight into integer and float32 outputs.
    outputs = ("uint8", "uint16", "float32", "same") if tiny.dtype.kind in "iu" else ()
    methods = [m for m in registered() if m.supports(tiny.dtype)
               and (m.kind(tiny.dtype) != "image" or m.images is not None)]
    # The output loops depend on the dtype only, and for 8-bit images on the kind of map
    # (one compiled pass per image through a table or nodes loop): once per kind.
    from .engine import clahe_bands  # its loops are numba's: imported when they are wanted

    converted = set()
    # One-image blocks cut in bands, as a large image's are: those loops compile too.
    with backend.use("compiled"), clahe_bands.banded(2):
        for done, method in enumerate(methods, 1):
            for sample in samples:
                equalized = histogram(sample, method, 8).apply(sample)
                histogram(equalized, method, 8)        # the histogram of an equalized image
                for scope in method.scopes:
                    equalize(np.stack([sample, sample]), method, 8, scope=scope)
            kind = method.kind(tiny.dtype)
            for output in outputs if kind not in converted else ():
                equalize(np.stack([tiny, tiny]), method, 8, dtype=output)
                histogram(tiny, method, 8).apply(tiny, dtype=output)
            converted.add(kind)
            if progress is not None:
                progress(done, len(methods))
    backend.mark_ready(tiny.dtype)
