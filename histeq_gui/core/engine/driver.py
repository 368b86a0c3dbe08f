"""The block driver: equalize a stack group by group, block by block, on the pool.

:func:`equalize_stack` is the engine behind
:func:`~histeq_gui.core.equalize.equalize`.  The stack is a 2-D array with
one row per image and channel (:mod:`.blocks`), cut into groups of rows
whose histograms are built together.  Each group's blocks are visited three
times, on the thread pool (:mod:`.pool`): range, counts, mapping
(:func:`group_tables`, then :func:`map_blocks`); :mod:`.tables` does the
counting and mapping with the method's hooks.

Whole-image methods (CLAHE, matching of floats) run image by image instead
(:func:`equalize_images`): ``Method.image`` once per image and channel, or,
when the method has one and no mask is given, ``Method.images`` once per
block of whole images of one channel::

    images(pixels, params, out)

``pixels`` is an ``(n, H, W)`` C-contiguous array of whole images of one
dtype and one channel, ``out`` an ``(n, H, W)`` float64 array the hook
fills with, for each image ``i``, exactly what ``image(pixels[i], None,
params)`` gives.  Blocks hold about :data:`~.blocks.BLOCK` pixels (one
image at least) and run on the pool.  Either way non-finite pixels come
back NaN, and an image with no finite (selected) pixel comes back all NaN
without calling the method.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import histogram as hg
from ..methods import Method
from ..stack import from_channels_first
from . import pool
from . import tables as tb
from .blocks import BLOCK, Group, PixelSource, groups, table_width, within_channels
from .inputs import as_images, channel_params, output, prepare, resolve_stack, stack_view

__all__ = ["group_tables", "map_blocks", "equalize_group", "equalize_tables", "equalize_images",
           "equalize_stack", "same_sample"]

_SPLIT_PIXELS = 1 << 20     # one image this large is converted to its output dtype in pieces


def same_sample(r0: int, r1: int) -> np.ndarray:
    """Rows ``r0:r1`` all of sample 0 (tables of one sample mapping any rows)."""
    return np.zeros(r1 - r0, np.intp)


def group_tables(source: PixelSource, group: Group, method: Method, params: dict, bins: int,
                 tick: Callable | None = None) -> tb.Tables:
    """Build the tables of a group: its range, then its counts, block by block.

    8-bit integer images without a mask are counted at once, over all their
    values, and their range taken from the counts (one pass less).
    """
    with np.errstate(all="ignore"):
        return _group_tables(source, group, method, params, bins, tick)


def _group_tables(source, group, method, params, bins, tick):
    pixels = source.x2.shape[1] * (1 if group.per_row else group.r1 - group.r0)
    placeholder = None if source.mask2 is not None else \
        tb.counted_first(method, source.x2.dtype, group.n_samples)
    if placeholder is not None:
        if tick is not None:
            tick(len(group.blocks))         # the range pass, not needed
        t = tb.start(method, params, bins, source.x2.dtype, placeholder, pixels, None)
        counts = tb.empty_counts(t)
        for first, part in pool.run(lambda b: tb.count(t, source.block(b)[0], None,
                                                       group.samples(b[0], b[1])),
                                    group.blocks, tick):
            counts[first:first + len(part)] += part
        return tb.finish(tb.stats_from_counts(t, counts), counts)
    parts = pool.run(lambda b: hg.block_stats(*source.block(b)), group.blocks, tick)
    samples_of_row = np.zeros(source.x2.shape[0], np.intp)
    samples_of_row[group.r0:group.r1] = group.samples(group.r0, group.r1)
    rows = [np.arange(b[0], b[1]) for b in group.blocks]
    stats = hg.merge_stats([(p[0], r) for p, r in zip(parts, rows)], samples_of_row,
                           group.n_samples, source.x2.dtype)

    def distinct():
        values = pool.run(lambda b: np.unique(source.block(b)[0]), group.blocks)
        return np.unique(np.concatenate(values))

    t = tb.start(method, params, bins, source.x2.dtype, stats, pixels, distinct)

    def count(i):
        b = group.blocks[i]
        x, sel = source.block(b)
        # One block: reuse the selection its statistics found.
        sel = parts[i][1] if len(parts) == 1 else hg.selection(x, sel)
        return tb.count(t, x, sel, group.samples(b[0], b[1]))

    counts = tb.empty_counts(t)
    for first, part in pool.run(count, range(len(group.blocks)), tick):
        counts[first:first + len(part)] += part
    return tb.finish(t, counts)


def map_blocks(source: PixelSource, found: list, t: tb.Tables, samples_of: Callable,
               out: np.ndarray, tick: Callable | None = None, clamp: bool | None = None,
               convert: Callable | None = None) -> None:
    """Map the blocks ``found`` of ``source`` through tables ``t`` into ``out`` (rows, pixels).

    ``samples_of(r0, r1)`` gives the sample of each row; ``clamp`` and
    ``convert`` as for :func:`.tables.map_block`.
    """
    def work(b):
        tb.map_block(t, source.block(b)[0], samples_of(b[0], b[1]), out[b[0]:b[1], b[2]:b[3]],
                     clamp, convert)
    pool.run(work, found, tick)


def equalize_group(source: PixelSource, group: Group, method: Method, params: dict, bins: int,
                   out: np.ndarray, tick: Callable | None = None,
                   convert: Callable | None = None) -> tb.Tables | None:
    """Equalize one group into ``out`` (rows, pixels), converted by ``convert`` if given.

    A group of whole 8-bit images in one block, without a mask, whose method
    has a compiled loop for them, takes one compiled pass per image
    (:func:`.tables.equalize_each`); other groups have their tables built,
    then mapped.
    """
    loop = None if not group.per_row or len(group.blocks) > 1 else \
        tb.one_pass_loop(method, source.x2.dtype, source.mask2 is not None)
    if loop is not None:
        ok = tb.equalize_each(method, loop, params, bins, source.x2[group.r0:group.r1],
                              out[group.r0:group.r1])
        for r in np.flatnonzero(~ok) + group.r0:
            row = Group(r, r + 1, True, [(r, r + 1, 0, source.x2.shape[1])])
            equalize_tables(source, row, method, params, bins, out, convert=convert)
        return None
    return equalize_tables(source, group, method, params, bins, out, tick, convert)


def equalize_tables(source: PixelSource, group: Group, method: Method, params: dict, bins: int,
                    out: np.ndarray, tick: Callable | None = None,
                    convert: Callable | None = None) -> tb.Tables:
    """Equalize one group into ``out`` by its tables: :func:`group_tables`, :func:`map_blocks`."""
    t = group_tables(source, group, method, params, bins, tick)
    map_blocks(source, group.blocks, t, group.samples, out, tick, convert=convert)
    return t


def equalize_images(source: PixelSource, image_shape: tuple, method: Method, params: dict,
                    out: np.ndarray, tick: Callable | None = None,
                    rows_per_channel: int = 1, convert: Callable | None = None) -> None:
    """A whole-image method, image by image (see the module docstring) into ``out``.

    Stack-aware parameters (resolved, one value per channel) give each row
    its channel's value.  The pool gets runs of rows of about a block's
    pixels each (a row at least, never two channels): one task per image
    would cost more than matching a small image.  With ``convert`` (float64
    values -> ``out``'s dtype) each run is converted on the pool as it is
    done, instead of the whole stack afterwards in one thread.
    """
    by_channel = [channel_params(method, params, c)
                  for c in range(source.x2.shape[0] // rows_per_channel)]
    batched = method.images is not None and source.mask2 is None

    def one(r, dest):
        image = source.x2[r].reshape(image_shape)
        mask = None if source.mask2 is None else source.mask2[r].reshape(image_shape)
        finite = np.isfinite(image) if image.dtype.kind == "f" else None
        chosen = finite if mask is None else (mask if finite is None else finite & mask)
        if chosen is not None and not chosen.any():
            dest[...] = np.nan
            return
        result = np.asarray(method.image(image, mask, by_channel[r // rows_per_channel]),
                            np.float64)
        if result.shape != image.shape:
            raise ValueError(f"the {method.name} method returned shape {result.shape} "
                             f"for an image of shape {image.shape}")
        if finite is not None:
            result = np.where(finite, result, np.nan)
        dest[...] = result.ravel()

    def block(r0, r1, dest):
        pixels = np.ascontiguousarray(source.x2[r0:r1]).reshape((r1 - r0,) + tuple(image_shape))
        finite = np.isfinite(pixels) if pixels.dtype.kind == "f" else None
        keep = np.arange(r1 - r0) if finite is None else \
            np.flatnonzero(finite.reshape(r1 - r0, -1).any(axis=1))
        target = dest.reshape(pixels.shape)
        if len(keep) < r1 - r0:
            target[...] = np.nan        # images with no finite pixel: all NaN, not handed over
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

    def work(run):
        r0, r1 = run
        dest = out[r0:r1] if convert is None else np.empty((r1 - r0, out.shape[1]))
        if batched:
            block(r0, r1, dest)
        else:
            for r in range(r0, r1):
                one(r, dest[r - r0])
        if convert is not None:
            width = dest.shape[1]
            if r1 - r0 == 1 and width >= _SPLIT_PIXELS and pool.parallel_here() > 1:
                # One large image: converted in pieces on the pool, as it was computed.
                cuts = np.linspace(0, width, pool.workers() + 1).astype(int)

                def piece(cut):
                    out[r0:r1, cut[0]:cut[1]] = convert(dest[:, cut[0]:cut[1]])
                pool.run(piece, list(zip(cuts[:-1], cuts[1:])))
            else:
                out[r0:r1] = convert(dest)

    rows = source.x2.shape[0]
    step = max(1, BLOCK // max(source.x2.shape[1], 1))
    runs = [(r, min(r + step, (r // rows_per_channel + 1) * rows_per_channel, rows))
            for c in range(0, rows, rows_per_channel)
            for r in range(c, min(c + rows_per_channel, rows), step)]
    pool.run(work, runs, pool.ticker_by_rows(tick, runs))


def equalize_stack(images, m: Method, bins: int, scope: str, mask, channel_axis,
                   progress: Callable | None, dtype, params: dict) -> np.ndarray:
    """The engine of :func:`~histeq_gui.core.equalize.equalize`: same arguments, same result.

    ``m`` is the method itself, resolved from its name by the caller.
    """
    x = as_images(images)
    target, convert = output(dtype, x.dtype)
    p = prepare(x, m, bins, params, scope, mask)
    layout, xc, x2, mask2, view = stack_view(x, mask, channel_axis)
    rows_per_channel = int(np.prod(xc.shape[1:-2], dtype=np.int64))
    pixels = xc.shape[-2] * xc.shape[-1]
    if x2.size == 0:
        return np.zeros(x.shape, target)
    source = PixelSource(x2, mask2)
    out2 = np.empty(x2.shape, target)
    p = resolve_stack(m, p, view)
    if m.kind(x.dtype) == "image":
        equalize_images(source, xc.shape[-2:], m, p, out2, pool.ticker(progress, x2.shape[0]),
                        rows_per_channel, convert)
    else:
        found = groups(x2.shape[0], pixels, scope, rows_per_channel,
                       table_width(x2.dtype, m, bins), lookup=x2.dtype.kind in "iu")
        if m.stack_aware:
            # Each group gets its channel's resolved values: no group spans two channels.
            found = within_channels(found, rows_per_channel)
        by_channel = [channel_params(m, p, c) for c in range(x2.shape[0] // rows_per_channel)]

        def run(g, tick=None):
            # The group's tables are dropped once it is mapped: pool.run keeps what this
            # returns for every group, and many small images make many groups.
            equalize_group(source, g, m, by_channel[g.r0 // rows_per_channel], bins, out2,
                           tick, convert)
        # Groups of one block run side by side; a group of many blocks runs its
        # blocks side by side instead.
        single = [g for g in found if len(g.blocks) == 1]
        multi = [g for g in found if len(g.blocks) > 1]
        tick = pool.ticker(progress, len(single) + 3 * sum(len(g.blocks) for g in multi))
        pool.run(run, single, tick)
        for g in multi:
            run(g, tick)
    return np.ascontiguousarray(from_channels_first(out2.reshape(xc.shape), layout))
