"""How a stack is cut for the engine: rows, blocks of about a million pixels, groups.

The engine sees a stack as a 2-D array with one row per image and channel
(a :class:`PixelSource`, with its mask).  A *block* ``(r0, r1, c0, c1)`` is
a piece of at most :data:`BLOCK` pixels of it, the unit of work of the
thread pool (:mod:`.pool`).  A *group* (:class:`Group`) is a set of rows
whose histograms are built together: several whole images for
``scope="image"`` (each row its own sample), or every row of a channel for
``scope="stack"`` and for a very large image (one sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import pool
from .tables import TABLE_LIMIT

__all__ = ["BLOCK", "Group", "PixelSource", "blocks", "groups", "within_channels",
           "table_width"]

BLOCK = 1 << 20        # most pixels in a block


@dataclass
class Group:
    """Rows ``r0:r1`` of the 2-D stack, in ``blocks``; ``per_row``: each row is its own sample."""

    r0: int
    r1: int
    per_row: bool
    blocks: list

    @property
    def n_samples(self) -> int:
        """Number of histograms: a row each, or one."""
        return self.r1 - self.r0 if self.per_row else 1

    def samples(self, r0: int, r1: int) -> np.ndarray:
        """The sample of each row ``r0:r1`` (numbered from the group's first)."""
        if self.per_row:
            return np.arange(r0 - self.r0, r1 - self.r0)
        return np.zeros(r1 - r0, np.intp)


class PixelSource:
    """A 2-D view of the pixels ``(rows, pixels)`` and of the mask, block by block.

    Parameters
    ----------
    x2 : array_like, shape (rows, pixels)
        The pixels (a plain view, also of a memory map).
    mask2 : ndarray of bool, optional
        The mask broadcast to ``x2`` (the pixels that drive the histograms).
    """

    def __init__(self, x2, mask2: np.ndarray | None = None):
        self.x2 = np.asarray(x2)
        self.mask2 = mask2

    def block(self, b: tuple) -> tuple:
        """``(pixels, mask or None)`` of block ``b = (r0, r1, c0, c1)``."""
        r0, r1, c0, c1 = b
        sel = None if self.mask2 is None else self.mask2[r0:r1, c0:c1]
        return self.x2[r0:r1, c0:c1], sel


def blocks(r0: int, r1: int, pixels: int) -> list:
    """Blocks ``(r0, r1, c0, c1)`` of at most :data:`BLOCK` pixels covering rows ``r0:r1``.

    Examples
    --------
    >>> blocks(0, 3, 1000)
    [(0, 3, 0, 1000)]
    >>> len(blocks(0, 2, 3 * BLOCK))           # a large image: several blocks per row
    6
    """
    if pixels >= BLOCK:
        return [(r, r + 1, c, min(c + BLOCK, pixels))
                for r in range(r0, r1) for c in range(0, pixels, BLOCK)]
    step = max(1, BLOCK // max(pixels, 1))
    return [(r, min(r + step, r1), 0, pixels) for r in range(r0, r1, step)]


def groups(rows: int, pixels: int, scope: str, rows_per_channel: int, table_width: int,
           lookup: bool) -> list:
    """Groups of rows whose tables are built together.

    ``scope="stack"``: one group (one sample) per channel, in many blocks.
    ``"image"``: each row its own sample, and a group is one block of whole
    images, so its pixels stay in cache from range to counts to mapping.
    Building a group's tables costs about half a millisecond of Python
    whatever its size, so groups are large: a block of floats, or for
    integer lookup tables (``lookup``: one count and one look-up per pixel,
    where cache matters less) a couple of groups per worker; tables stay
    under :data:`~.tables.TABLE_LIMIT` entries (``table_width`` per sample).
    An image larger than a block is a group of its own, in several blocks.
    """
    if scope == "stack":
        return [Group(c, c + rows_per_channel, False, blocks(c, c + rows_per_channel, pixels))
                for c in range(0, rows, rows_per_channel)]
    if pixels >= BLOCK:
        return [Group(r, r + 1, True, blocks(r, r + 1, pixels)) for r in range(rows)]
    size = -(-rows * pixels // (2 * pool.workers())) if lookup else BLOCK
    step = max(1, min(size // pixels, TABLE_LIMIT // table_width))
    return [Group(r, min(r + step, rows), True, [(r, min(r + step, rows), 0, pixels)])
            for r in range(0, rows, step)]


def within_channels(found: list, rows_per_channel: int) -> list:
    """``found`` groups, each group of whole images that spans channels cut at their boundaries."""
    out = []
    for g in found:
        first, last = g.r0 // rows_per_channel, (g.r1 - 1) // rows_per_channel
        if first == last:
            out.append(g)
            continue
        pixels = g.blocks[0][3]         # a group of several images is one block of them
        for c in range(first, last + 1):
            r0, r1 = max(g.r0, c * rows_per_channel), min(g.r1, (c + 1) * rows_per_channel)
            out.append(Group(r0, r1, g.per_row, [(r0, r1, 0, pixels)]))
    return out


def table_width(dtype: np.dtype, method, bins: int) -> int:
    """Table entries per sample to plan for: a bin each, and a value each for 8/16-bit integers.

    (Methods with a table over integer values have no bins there, only values.)
    """
    values = 1 << (8 * dtype.itemsize) if dtype.kind in "iu" and dtype.itemsize <= 2 else 0
    return values if method.by_value(dtype) and values else max(values, bins + 1)
