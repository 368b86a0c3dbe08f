"""Equalize whole stacks at once: :func:`equalize`, :func:`histogram`, :class:`Histogram`.

Any method of the registry (:mod:`histeq_gui.core.methods`) runs through
the same engine.  The stack is seen as a 2-D array with one row per image
and channel, cut into blocks of about a million pixels that run on a small
thread pool (the per-pixel loops in :mod:`.engine.kernels` release the
GIL).  A *group* is a set of rows whose histograms are built together:
several whole images for ``scope="image"`` (each row its own sample), or
every row of a channel for ``scope="stack"`` and for a very large image
(one sample).  Each group's blocks are visited three times: range, counts,
mapping; :mod:`.engine.tables` does the counting and mapping with the
method's hooks.  Whole-image methods (CLAHE) run once per row instead.

Importing this module does not import numba: the engine loads on the first
call that needs it.
"""

from __future__ import annotations

import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from . import histogram as hg
from .engine import backend
from .methods import METHODS, SCOPES, Method, get_method
from .methods.base import StackStream, StackView
from .stack import as_channels_first, from_channels_first, guess_layout


def _engine():
    """The engine's tables module (imports numba the first time)."""
    from .engine import tables
    return tables

__all__ = ["SCOPES", "check_scope", "equalize", "histogram", "Histogram", "stack_params",
           "channel_params", "warm_up", "use_executor"]

_BLOCK = 1 << 20        # most pixels in a block

_pool_lock = threading.Lock()
_pool = None


def _workers():
    return min(8, os.cpu_count() or 1)


def _executor():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_workers(), thread_name_prefix="histeq-core")
        return _pool


_OWN_POOL = object()
_chosen_executor = contextvars.ContextVar("histeq_executor", default=_OWN_POOL)


@contextmanager
def use_executor(executor):
    """Run the core's parallel work on ``executor`` inside this block (this thread and context).

    Parameters
    ----------
    executor : concurrent.futures.Executor or None
        Any executor with ``map`` (a ``ThreadPoolExecutor`` of the caller's,
        say): the engine's blocks run on it instead of the core's own pool.
        None: everything runs in the calling thread, with no pool at all,
        which is what a worker of another pool (a Dask or
        ``dask.distributed`` task) wants, so that pools never nest.

    Notes
    -----
    The choice is a context variable, so it holds for the calling thread
    (and asyncio task) only; work handed to the executor runs serially
    inside each of its items, so the engine never waits on a pool from a
    thread of that pool.  Results do not depend on the executor.

    Examples
    --------
    >>> import numpy as np
    >>> with use_executor(None):                     # no thread pool
    ...     out = equalize(np.zeros((2, 4, 4), np.uint8))
    >>> out.shape
    (2, 4, 4)
    """
    token = _chosen_executor.set(executor)
    try:
        yield executor
    finally:
        _chosen_executor.reset(token)


def _serial_inside(function):
    """``function`` run with the engine serial in whatever thread runs it (a pool's item)."""
    def serial(*args):
        token = _chosen_executor.set(None)
        try:
            return function(*args)
        finally:
            _chosen_executor.reset(token)
    return serial


def _quiet(function):
    """``function`` run with NumPy's floating point warnings off.

    Extreme values make intermediate infinities and NaN (overflowing bin
    centres, subnormal bin widths) exactly as they do in the references;
    they are handled explicitly, so NumPy's warnings would only be noise on
    the user's stderr.  (``np.errstate`` does not reach the pool's threads,
    hence a wrapper around every piece of work.)
    """
    def quiet(*args):
        with np.errstate(all="ignore"):
            return function(*args)
    return quiet


def _run(function, items, tick=None):
    """``[function(item) for item in items]`` on the thread pool, in waves.

    ``tick(n)`` is called in the calling thread after every wave of ``n``
    items, so a progress callback can report and raise to cancel.
    """
    function = backend.carry(_quiet(function))
    items = list(items)
    results = []
    chosen = _chosen_executor.get()
    own = chosen is _OWN_POOL
    workers = _workers() if own or chosen is None else \
        max(int(getattr(chosen, "_max_workers", 0) or _workers()), 1)
    wave = 2 * workers
    inside = own and threading.current_thread().name.startswith("histeq-core")
    # A pool's thread never waits on a pool: items run serially inside (_serial_inside).
    serial = chosen is None or (own and (workers < 2 or inside)) or len(items) < 2
    if not serial:
        pool = _executor() if own else chosen
        function = _serial_inside(function)
    for i in range(0, len(items), 1 if serial else wave):
        batch = items[i:i + (1 if serial else wave)]
        if serial:
            results.append(function(batch[0]))
        else:
            results.extend(pool.map(function, batch))
        if tick is not None:
            tick(len(batch))
    return results


def check_scope(scope):
    """Return ``scope`` if valid, else raise a ValueError."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; choose 'image' (each image its own "
                         "histogram) or 'stack' (one histogram for the whole stack)")
    return scope


# ---------------------------------------------------------------- groups and blocks


@dataclass
class _Group:
    """Rows ``r0:r1`` of the 2-D stack; ``per_row``: each row is its own sample."""

    r0: int
    r1: int
    per_row: bool
    blocks: list

    @property
    def n_samples(self):
        return self.r1 - self.r0 if self.per_row else 1

    def samples(self, r0, r1):
        if self.per_row:
            return np.arange(r0 - self.r0, r1 - self.r0)
        return np.zeros(r1 - r0, np.intp)


def _blocks(r0, r1, pixels):
    """Blocks ``(r0, r1, c0, c1)`` of at most ``_BLOCK`` pixels covering rows r0:r1."""
    if pixels >= _BLOCK:
        return [(r, r + 1, c, min(c + _BLOCK, pixels))
                for r in range(r0, r1) for c in range(0, pixels, _BLOCK)]
    step = max(1, _BLOCK // max(pixels, 1))
    return [(r, min(r + step, r1), 0, pixels) for r in range(r0, r1, step)]


def _groups(rows, pixels, scope, rows_per_channel, table_width, lookup):
    """Groups of rows whose tables are built together.

    ``scope="stack"``: one group (one sample) per channel, in many blocks.
    ``"image"``: each row its own sample, and a group is one block of whole
    images, so its pixels stay in cache from range to counts to mapping.
    Building a group's tables costs about half a millisecond of Python
    whatever its size, so groups are large: a block of floats, or for
    integer lookup tables (``lookup``: one count and one look-up per pixel,
    where cache matters less) a couple of groups per worker; tables stay
    under ``tables.TABLE_LIMIT`` entries (``table_width`` per sample).  An image larger
    than a block is a group of its own, in several blocks.
    """
    if scope == "stack":
        return [_Group(c, c + rows_per_channel, False, _blocks(c, c + rows_per_channel, pixels))
                for c in range(0, rows, rows_per_channel)]
    if pixels >= _BLOCK:
        return [_Group(r, r + 1, True, _blocks(r, r + 1, pixels)) for r in range(rows)]
    size = -(-rows * pixels // (2 * _workers())) if lookup else _BLOCK
    step = max(1, min(size // pixels, _engine().TABLE_LIMIT // table_width))
    return [_Group(r, min(r + step, rows), True, [(r, min(r + step, rows), 0, pixels)])
            for r in range(0, rows, step)]


def _within_channels(groups, rows_per_channel):
    """``groups`` with each group of whole images that spans channels cut at their boundaries."""
    out = []
    for g in groups:
        first, last = g.r0 // rows_per_channel, (g.r1 - 1) // rows_per_channel
        if first == last:
            out.append(g)
            continue
        pixels = g.blocks[0][3]         # a group of several images is one block of them
        for c in range(first, last + 1):
            r0, r1 = max(g.r0, c * rows_per_channel), min(g.r1, (c + 1) * rows_per_channel)
            out.append(_Group(r0, r1, g.per_row, [(r0, r1, 0, pixels)]))
    return out


class _Source:
    """A 2-D view of the pixels (rows, pixels) and of the mask, block by block."""

    def __init__(self, x2, mask2=None):
        self.x2 = np.asarray(x2)  # a plain view, also of a memory map
        self.mask2 = mask2

    def block(self, b):
        r0, r1, c0, c1 = b
        sel = None if self.mask2 is None else self.mask2[r0:r1, c0:c1]
        return self.x2[r0:r1, c0:c1], sel


# ------------------------------------------------------------------ running a group


@_quiet
def _tables(source, group, method, params, bins, tick=None):
    """Build the tables of a group: its range, then its counts, block by block.

    8-bit integer images without a mask are counted at once, over all their
    values, and their range taken from the counts (one pass less).
    """
    tb = _engine()
    pixels = source.x2.shape[1] * (1 if group.per_row else group.r1 - group.r0)
    placeholder = None if source.mask2 is not None else \
        tb.counted_first(method, source.x2.dtype, group.n_samples)
    if placeholder is not None:
        if tick is not None:
            tick(len(group.blocks))         # the range pass, not needed
        t = tb.start(method, params, bins, source.x2.dtype, placeholder, pixels, None)
        counts = tb.empty_counts(t)
        for first, part in _run(lambda b: tb.count(t, source.block(b)[0], None,
                                                   group.samples(b[0], b[1])),
                                group.blocks, tick):
            counts[first:first + len(part)] += part
        return tb.finish(tb.stats_from_counts(t, counts), counts)
    parts = _run(lambda b: hg.block_stats(*source.block(b)), group.blocks, tick)
    samples_of_row = np.zeros(source.x2.shape[0], np.intp)
    samples_of_row[group.r0:group.r1] = group.samples(group.r0, group.r1)
    rows = [np.arange(b[0], b[1]) for b in group.blocks]
    stats = hg.merge_stats([(p[0], r) for p, r in zip(parts, rows)], samples_of_row,
                           group.n_samples, source.x2.dtype)

    def distinct():
        values = _run(lambda b: np.unique(source.block(b)[0]), group.blocks)
        return np.unique(np.concatenate(values))

    t = tb.start(method, params, bins, source.x2.dtype, stats, pixels, distinct)

    def count(i):
        b = group.blocks[i]
        x, sel = source.block(b)
        # One block: reuse the selection its statistics found.
        sel = parts[i][1] if len(parts) == 1 else hg.selection(x, sel)
        return tb.count(t, x, sel, group.samples(b[0], b[1]))

    counts = tb.empty_counts(t)
    for first, part in _run(count, range(len(group.blocks)), tick):
        counts[first:first + len(part)] += part
    return tb.finish(t, counts)


def _map_blocks(source, blocks, t, samples_of, out, tick=None, clamp=None, convert=None):
    tb = _engine()

    def work(b):
        tb.map_block(t, source.block(b)[0], samples_of(b[0], b[1]), out[b[0]:b[1], b[2]:b[3]],
                     clamp, convert)
    _run(work, blocks, tick)


def _equalize_group(source, group, method, params, bins, out, tick=None, convert=None):
    """Equalize one group into ``out`` (rows, pixels), converted by ``convert`` if given."""
    t = _tables(source, group, method, params, bins, tick)
    _map_blocks(source, group.blocks, t, group.samples, out, tick, convert=convert)
    return t


def _equalize_images(source, image_shape, method, params, out, tick=None, rows_per_channel=1):
    """A whole-image method: ``method.image`` once per row (image and channel).

    With no mask, a method with an ``images`` hook gets each run of rows (of
    one channel) at once instead.  Non-finite pixels come back NaN; an image with no finite selected pixel
    comes back all NaN without calling the method.  Stack-aware parameters
    (resolved, one value per channel) give each row its channel's value.
    The pool gets runs of rows of about a block's pixels each (a row at
    least): one task per image would cost more than matching a small image.
    """
    by_channel = [channel_params(method, params, c)
                  for c in range(source.x2.shape[0] // rows_per_channel)]

    def one(r):
        image = source.x2[r].reshape(image_shape)
        mask = None if source.mask2 is None else source.mask2[r].reshape(image_shape)
        finite = np.isfinite(image) if image.dtype.kind == "f" else None
        chosen = finite if mask is None else (mask if finite is None else finite & mask)
        if chosen is not None and not chosen.any():
            out[r] = np.nan
            return
        result = np.asarray(method.image(image, mask, by_channel[r // rows_per_channel]),
                            np.float64)
        if result.shape != image.shape:
            raise ValueError(f"the {method.name} method returned shape {result.shape} "
                             f"for an image of shape {image.shape}")
        if finite is not None:
            result = np.where(finite, result, np.nan)
        out[r] = result.ravel()

    def block(run):
        # The images hook: a block of whole images of one channel at once;
        # images with no finite pixel are not handed over.
        r0, r1 = run
        pixels = np.ascontiguousarray(source.x2[r0:r1]).reshape((r1 - r0,) + tuple(image_shape))
        finite = np.isfinite(pixels) if pixels.dtype.kind == "f" else None
        keep = np.arange(r1 - r0) if finite is None else \
            np.flatnonzero(finite.reshape(r1 - r0, -1).any(axis=1))
        target = out[r0:r1].reshape(pixels.shape)
        if len(keep) < r1 - r0:
            target[...] = np.nan
        if not len(keep):
            return
        whole = len(keep) == r1 - r0
        values = target if whole else np.empty((len(keep),) + pixels.shape[1:])
        method.images(pixels if whole else pixels[keep], by_channel[r0 // rows_per_channel],
                      values)
        if finite is not None:
            values[~finite[keep]] = np.nan
        if not whole:
            target[keep] = values

    batched = method.images is not None and source.mask2 is None

    def work(run):
        if batched:
            block(run)
            return
        for r in range(*run):
            one(r)

    rows = source.x2.shape[0]
    step = max(1, _BLOCK // max(source.x2.shape[1], 1))
    # Runs of rows within one channel (the images hook takes one channel's parameters).
    runs = [(r, min(r + step, c + rows_per_channel, rows))
            for c in range(0, rows, rows_per_channel)
            for r in range(c, min(c + rows_per_channel, rows), step)]
    done = _ticker_by_rows(tick, runs)
    _run(work, runs, done)


def _ticker_by_rows(tick, runs):
    """``tick`` told the rows of each finished wave of runs rather than the runs."""
    if tick is None:
        return None
    sizes = iter([b - a for a, b in runs])

    def by_rows(n):
        tick(sum(next(sizes) for _ in range(n)))
    return by_rows


# ------------------------------------------------------------------------ public API


def _table_width(dtype, method, bins):
    """Table entries per sample to plan for: a bin each, and a value each for 8/16-bit integers.

    (Methods with a table over integer values have no bins there, only values.)
    """
    values = 1 << (8 * dtype.itemsize) if dtype.kind in "iu" and dtype.itemsize <= 2 else 0
    return values if method.by_value(dtype) and values else max(values, bins + 1)


def _prepare(x, method, bins, params, scope="image", mask=None):
    """The method and its resolved parameters for ``x``, or a one-line ValueError."""
    m = get_method(method)
    m.check_dtype(x.dtype)
    m.check_scope(check_scope(scope))
    m.check_mask(mask)
    return m, m.resolve_params(x.dtype, bins=bins, **params)


def _resolve_stack(m, params, view):
    """``params`` with each stack-aware one resolved against ``view``: a value per channel."""
    if not m.stack_aware:
        return params
    params = dict(params)
    for p in m.stack_aware:
        values = tuple(p.resolve(params[p.name], view))
        if len(values) != view.channels:
            raise ValueError(f"the {m.name} method's {p.name} resolved to {len(values)} "
                             f"values for {view.channels} channels")
        params[p.name] = values
    return params


def _view(x, mask, channel_axis):
    """The layout of ``x``, its channels-first array and rows, its mask rows, its StackView."""
    layout = guess_layout(x.shape, channel_axis)
    xc = as_channels_first(x, layout)
    x2 = xc.reshape(-1, xc.shape[-2] * xc.shape[-1])
    mask2 = None if mask is None or x2.size == 0 else _as_mask(mask, layout, xc.shape)
    return layout, xc, x2, mask2, StackView(x2, mask2, layout.channels, layout)


def channel_params(method, params, channel):
    """The parameters for one channel: each resolved stack-aware one takes that channel's value.

    Parameters
    ----------
    method : str or Method
    params : dict
        Parameters as :func:`stack_params` returns them.
    channel : int

    Returns
    -------
    dict
        ``params`` with every stack-aware parameter (a tuple of one value
        per channel) replaced by its value for ``channel``; pass it to
        :func:`histogram` or :func:`equalize` for that channel alone.
    """
    m = method if isinstance(method, Method) else get_method(method)
    if not m.stack_aware:
        return params
    out = dict(params)
    for p in m.stack_aware:
        value = params.get(p.name)
        if isinstance(value, tuple):
            out[p.name] = value[channel] if len(value) > 1 else value[0]
    return out


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
    x = stream if stream is not None else _as_images(images)
    m, p = _prepare(x, method, params.pop("bins", 256), params, mask=mask)
    p.pop("bins", None)        # an argument of equalize() and histogram() themselves
    if not m.stack_aware:
        return p
    if stream is not None:
        return _resolve_stack(m, p, stream) if stream.images else p
    if x.size == 0:
        return p
    return _resolve_stack(m, p, _view(x, mask, channel_axis)[-1])


def _as_images(images, min_ndim=2):
    """The pixels as an array of a dtype that can be equalized, in native byte order."""
    x = np.asarray(images)
    native = hg.check_dtype(x.dtype)
    if x.ndim < min_ndim:
        raise ValueError(f"expected images with at least 2 dimensions (height, width), "
                         f"got an array of shape {x.shape}")
    return x if x.dtype == native else x.astype(native)    # big-endian files, say


def _output(dtype, input_dtype):
    """The result dtype for ``equalize(..., dtype=dtype)`` and the conversion to it.

    Returns ``(target, convert)``: ``convert(values)`` turns equalized float64
    values into ``target`` exactly as the export does
    (:func:`histeq_gui.core.export.convert`), or is None for float64 (the
    values themselves).
    """
    if dtype is None:
        return np.dtype(np.float64), None
    from .convert import convert, output_dtype
    name = dtype
    if not isinstance(dtype, str):
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = repr(dtype)
    target = output_dtype(name, input_dtype)
    if target == np.float64:
        return target, None
    return target, lambda values: convert(values, name, input_dtype)


def _rows(x):
    """All pixels of ``x`` as rows of one image each (a single row below 2-D)."""
    return x.reshape(1, -1) if x.ndim < 2 else x.reshape(-1, x.shape[-2] * x.shape[-1])


def _ticker(progress, total):
    if progress is None:
        return None
    done = [0]
    progress(0, total)

    def tick(n):
        done[0] += n
        progress(min(done[0], total), total)
    return tick


def _as_mask(mask, layout, xc_shape):
    """The mask as (channels * images, pixels), broadcast without copying if possible."""
    m = np.asarray(mask)
    if m.dtype != bool:
        m = m.astype(bool)
    if not m.any():
        raise ValueError("the mask selects no pixel; select at least one pixel per image")
    if layout.channel_axis is not None and m.ndim == layout.ndim:
        m = as_channels_first(m, layout)
    target = xc_shape if m.ndim == len(xc_shape) else xc_shape[1:]
    try:
        m = np.broadcast_to(m, target)
    except ValueError:
        raise ValueError(f"a mask of shape {np.shape(mask)} does not fit images of shape "
                         f"{layout.shape}; give one (H, W) mask or one per image") from None
    m = np.broadcast_to(m, xc_shape)
    return m.reshape(xc_shape[0] * int(np.prod(xc_shape[1:-2], dtype=np.int64)), -1)


def equalize(images, method="numpy", bins=256, scope="image", mask=None,
             channel_axis=None, progress=None, dtype=None, **params):
    """Histogram-equalize every image of a stack at once.

    Parameters
    ----------
    images : array_like
        Any array whose last two axes are one image ``(H, W)``; every leading
        axis is a batch axis, so ``(1800, 1, 96, 96)``, ``(N, H, W)`` and a
        single ``(H, W)`` all work.  Integer or floating point.
    method : str
        A registered method (:data:`histeq_gui.core.methods.METHODS`):
        ``"numpy"``: the Q&A thread's recipe (density histogram, cumulative
        sum, ``np.interp`` over the left bin edges) divided by 255.
        ``"skimage"``: ``skimage.exposure.equalize_hist(image, nbins=bins)``.
        See ``get_method(name).how`` for each.
    bins : int
        Number of equal-width bins, 1 to 65536.  Some methods ignore it for
        integer images (scikit-image: one bin per integer value; see
        :func:`histeq_gui.core.methods.uses_value_bins`).
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
    x = _as_images(images)
    target, convert = _output(dtype, x.dtype)
    m, p = _prepare(x, method, bins, params, scope, mask)
    layout, xc, x2, mask2, view = _view(x, mask, channel_axis)
    rows_per_channel = int(np.prod(xc.shape[1:-2], dtype=np.int64))
    pixels = xc.shape[-2] * xc.shape[-1]
    if x2.size == 0:
        return np.zeros(x.shape, target)
    source = _Source(x2, mask2)
    out2 = np.empty(x2.shape, target)
    p = _resolve_stack(m, p, view)
    if m.kind(x.dtype) == "image":
        values = out2 if convert is None else np.empty(x2.shape)
        _equalize_images(source, xc.shape[-2:], m, p, values,
                         _ticker(progress, x2.shape[0]), rows_per_channel)
        if convert is not None:
            out2[...] = convert(values)
    else:
        groups = _groups(x2.shape[0], pixels, scope, rows_per_channel,
                         _table_width(x2.dtype, m, bins), lookup=x2.dtype.kind in "iu")
        if m.stack_aware:
            # Each group gets its channel's resolved values: no group spans two channels.
            groups = _within_channels(groups, rows_per_channel)
        by_channel = [channel_params(m, p, c) for c in range(x2.shape[0] // rows_per_channel)]

        def run(g, tick=None):
            return _equalize_group(source, g, m, by_channel[g.r0 // rows_per_channel], bins,
                                   out2, tick, convert)
        # Groups of one block run side by side; a group of many blocks runs its
        # blocks side by side instead.
        single = [g for g in groups if len(g.blocks) == 1]
        multi = [g for g in groups if len(g.blocks) > 1]
        tick = _ticker(progress, len(single) + 3 * sum(len(g.blocks) for g in multi))
        _run(run, single, tick)
        for g in multi:
            run(g, tick)
    out = out2.reshape(xc.shape)
    return np.ascontiguousarray(from_channels_first(out, layout))


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
    params: dict = None
    mapped: bool = False
    mask: object = field(default=None, repr=False)

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
        """This histogram with at most ``max_bars`` bars, for drawing.

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
        x = _as_images(images, min_ndim=0)
        if self.tables is None:
            params = {k: v for k, v in self.params.items() if k != "bins"}
            mask = self.mask
            if mask is not None and np.shape(mask) not in (x.shape, x.shape[-2:]):
                raise ValueError(f"this histogram was made with a mask of shape "
                                 f"{np.shape(mask)}; it cannot map images of shape {x.shape}")
            return equalize(x, self.method, self.bins, progress=progress, dtype=dtype,
                            mask=mask, **params)
        target, convert = _output(dtype, x.dtype)
        x2 = _rows(x)
        if x2.size == 0:
            return np.zeros(x.shape, target)
        if x.dtype != self.tables.dtype:
            raise ValueError(f"this histogram was made from {self.tables.dtype} pixels; "
                             f"got {x.dtype}")
        out = np.empty(x2.shape, target)
        blocks = _blocks(0, x2.shape[0], x2.shape[1])
        _map_blocks(_Source(x2), blocks, self.tables, lambda r0, r1: np.zeros(r1 - r0, np.intp),
                    out, _ticker(progress, len(blocks)), clamp=True, convert=convert)
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
        stack's, pass the values :func:`stack_params` and
        :func:`channel_params` give.

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
    x = _as_images(images, min_ndim=0)
    m, p = _prepare(x, method, bins, params, mask=mask)
    if x.ndim < 2:
        x = x.reshape(1, -1)        # plain values: one image of one row
    x2 = _rows(x)
    if x2.size == 0:
        raise ValueError("cannot make a histogram of an empty array")
    mask2 = None
    if mask is not None:
        layout = guess_layout(x.shape)
        mask2 = _as_mask(mask, layout, as_channels_first(x, layout).shape)
    group = _Group(0, x2.shape[0], False, _blocks(0, x2.shape[0], x2.shape[1]))
    tick = _ticker(progress, 2 * len(group.blocks))
    # The sample is one channel: its stack-aware parameters resolve against it.
    view = StackView(x2, mask2, 1, guess_layout(x.shape))
    p = channel_params(m, _resolve_stack(m, p, view), 0)
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
                             mask=mask)
        # No single map: the plain histogram (the seed recipe's bins) and its CDF.
        plain = get_method("numpy")
        t = _tables(_Source(x2, mask2), group, plain, plain.resolve_params(x.dtype, bins=bins),
                    bins, tick)
        counts = t.counts[0]
        with np.errstate(all="ignore"):
            cdf = np.cumsum(counts) / counts.sum()
        edges = t.binning.edges[0].astype(np.float64)
        return Histogram(m.name, bins, False, counts, edges, edges[1:], cdf, None, False, p,
                         mask=mask)
    t = _tables(_Source(x2, mask2), group, m, p, bins, tick)
    return _public(t, m.name, bins, p)


def _public(t, method, bins, params):
    """Wrap the single-sample tables ``t`` for plotting."""
    if t.kind == "bins" or not t.by_value:
        edges = t.binning.edges[0].astype(np.float64)
        if t.mapping == "nodes":
            return Histogram(method, bins, False, t.counts[0], edges, t.nodes.xp[0],
                             t.nodes.cdf[0], t, False, params)
        table = t.bin_table.reshape(t.samples, -1)[0, :-1]
        return Histogram(method, bins, False, t.counts[0], edges, edges[:-1], table.copy(), t,
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
    return Histogram(method, bins, True, counts[lo:hi + 1], edges, x, cdf, t, False, params)


def warm_up(dtype, progress=None):
    """Get the compiled kernels for images of ``dtype`` ready.

    The per-pixel loops are compiled on their first use for a dtype (seconds
    after installing; then they load from numba's cache on disk in a
    fraction of a second).  Every registered method that maps through the
    engine is run once with the compiled loops on a tiny image (its
    histogram, its equalized image and that image's histogram, a stack in
    both scopes, and for integer images the results in every integer and
    float32 output dtype); so is every whole-image method with an
    ``images`` hook (compiled CLAHE), the others compile nothing and are
    skipped.  Then the dtype is marked ready
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
    methods = [name for name in METHODS if get_method(name).supports(tiny.dtype)
               and (get_method(name).kind(tiny.dtype) != "image"
                    or get_method(name).images is not None)]
    with backend.use("compiled"):
        for done, method in enumerate(methods, 1):
            for sample in samples:
                equalized = histogram(sample, method, 8).apply(sample)
                histogram(equalized, method, 8)        # the histogram of an equalized image
                for scope in get_method(method).scopes:
                    equalize(np.stack([sample, sample]), method, 8, scope=scope)
            for output in outputs if done == 1 else ():
                equalize(np.stack([tiny, tiny]), method, 8, dtype=output)
            if progress is not None:
                progress(done, len(methods))
    backend.mark_ready(tiny.dtype)
