"""GIF files: their block structure, read without decoding, and their frames, decoded.

Pillow decodes a GIF cut after its second frame as a complete two-frame
animation, and decodes every frame at the full canvas size, whatever the
frame's own size: a 4.6 KB file of 200 one-pixel frames on a 4000x4000
canvas becomes 9.6 GB.  :func:`scan_gif` walks the blocks (GIF89a
specification: header, logical screen descriptor, colour tables, extension
and image blocks of length-prefixed sub-blocks, trailer byte ``0x3B``) to
tell how many frames the file holds, on what canvas, and whether it ends
where it should, so that :func:`read_gif` can refuse a truncated file and
check the decoded size before decoding.  Image files are told to be GIFs by
their first bytes (:data:`SIGNATURES`), whatever their name:
:func:`~histeq_gui.core.io.images.read_image` hands them to :func:`read_gif`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import imageio.v3 as iio
import numpy as np

from ..errors import StackError
from . import memory
from .files import guard

__all__ = ["SIGNATURES", "GifInfo", "scan_gif", "read_gif"]

SIGNATURES = (b"GIF87a", b"GIF89a")     # the first six bytes of every GIF file


@dataclass(frozen=True)
class GifInfo:
    """What a GIF file declares.

    Attributes
    ----------
    width, height : int
        The logical screen (canvas): every frame decodes to this size.
    frames : int
        Image blocks found (complete ones only, when ``problem`` is set).
    transparent : bool
        Whether a graphic control extension declares a transparent colour
        (frames then decode to RGBA rather than RGB).
    problem : str or None
        None for a file that ends with its trailer; else why it does not.
    """

    width: int
    height: int
    frames: int
    transparent: bool
    problem: str | None


def _skip_sub_blocks(data, pos):
    """Position after a chain of sub-blocks ending with a zero length; None if cut short."""
    size = len(data)
    while pos < size:
        length = data[pos]
        pos += 1 + length
        if length == 0:
            return pos
    return None


def scan_gif(data: bytes) -> GifInfo:
    """Read the structure of the GIF file held in ``data``.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    GifInfo

    Examples
    --------
    >>> scan_gif(b"GIF89a" + bytes([2, 0, 3, 0, 0, 0, 0]) + b"\\x3b")
    GifInfo(width=2, height=3, frames=0, transparent=False, problem=None)
    >>> scan_gif(b"GIF89a" + bytes([2, 0, 3, 0, 0, 0, 0])).problem
    'it ends before its trailer'
    """
    if data[:6] not in SIGNATURES or len(data) < 13:
        return GifInfo(0, 0, 0, False, "it does not start like a GIF file")
    width, height, packed = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 * (2 << (packed & 7)) if packed & 0x80 else 0)
    frames, transparent = 0, False
    while True:
        if pos >= len(data):
            return GifInfo(width, height, frames, transparent, "it ends before its trailer")
        block = data[pos]
        if block == 0x3B:
            return GifInfo(width, height, frames, transparent, None)
        if block == 0x21:                       # extension: label, then sub-blocks
            if pos + 4 < len(data) and data[pos + 1] == 0xF9 and data[pos + 2] == 4:
                transparent |= bool(data[pos + 3] & 1)
            after = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:                     # image: descriptor, colour table, LZW data
            if pos + 10 > len(data):
                after = None
            else:
                local = data[pos + 9]
                start = pos + 10 + (3 * (2 << (local & 7)) if local & 0x80 else 0) + 1
                after = _skip_sub_blocks(data, start)
                if after is not None:
                    frames += 1
        else:
            return GifInfo(width, height, frames, transparent,
                           f"unknown block 0x{block:02x} at byte {pos}")
        if after is None:
            return GifInfo(width, height, frames, transparent, "it ends inside a block")
        pos = after


def read_gif(path: Path, fh: BinaryIO, folder_item: bool = False) -> np.ndarray:
    """Decode the GIF file open as ``fh``: all its frames, or the first for a folder's image.

    Parameters
    ----------
    path : pathlib.Path
        The file, named in messages.
    fh : binary file
        The file, open for reading.
    folder_item : bool, optional
        Decode only the first frame (an image of a folder).

    Returns
    -------
    ndarray
        ``(N, H, W, C)`` for all frames (C is 4 if a frame declares a
        transparent colour, else 3), ``(H, W, C)`` for one.

    Raises
    ------
    StackError
        For a truncated or damaged file, one whose frames would not fit in
        the free memory (checked before decoding), or one that decodes to
        another number of frames than it declares.
    """
    with guard(path, what="GIF file"):
        info = scan_gif(fh.read())
    if info.problem is not None:
        raise StackError(f"cannot read '{path}': the GIF file is truncated or damaged "
                         f"({info.problem}, after {info.frames} complete frames); copy it "
                         "again")
    frames = 1 if folder_item else max(info.frames, 1)
    channels = 4 if info.transparent else 3
    memory.check_fits(frames * info.width * info.height * channels, path,
                      f"{frames} frame{'s' * (frames != 1)} of {info.width}x{info.height} "
                      "pixels")
    with guard(path, what="image file"):
        fh.seek(0)
        image = iio.imread(fh, plugin="pillow", extension=path.suffix.lower(),
                           index=0 if folder_item else None)
    decoded = image.shape[0] if image.ndim == 4 else 1
    if not folder_item and decoded != info.frames:
        raise StackError(f"cannot read '{path}': it decodes to {decoded} frames but declares "
                         f"{info.frames}; the file is damaged, copy it again")
    return image
