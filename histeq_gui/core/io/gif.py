"""GIF files: their block structure, read without decoding, and their frames, decoded one by one.

Pillow decodes a GIF cut after its second frame as a complete two-frame
animation, and decodes every frame at the full canvas size, whatever the
frame's own size: a 4.6 KB file of 200 one-pixel frames on a 4000x4000
canvas becomes gigabytes.  :func:`scan_gif` walks the blocks (GIF89a
specification: header, logical screen descriptor, colour tables, extension
and image blocks of length-prefixed sub-blocks, trailer byte ``0x3B``) to
tell how many frames the file holds, on what canvas, in what colours, and
whether it ends where it should.  :func:`read_gif` then refuses a
truncated file, a canvas larger than Pillow decodes, and frames that would
not fit in memory, and decodes the frames one at a time with Pillow into
one array (memory: the frames plus one frame's work), as imageio reads
them.  A GIF whose every colour table is grey gives grey frames
``(N, H, W)``, as Pillow and imageio give a grey GIF written by imageio.
Image files are told to be GIFs by their first bytes (:data:`SIGNATURES`),
whatever their name: :func:`~histeq_gui.core.io.images.read_image` hands
them to :func:`read_gif`.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from ..errors import StackError
from . import memory
from .files import guard

__all__ = ["SIGNATURES", "GifInfo", "scan_gif", "read_gif"]

SIGNATURES = (b"GIF87a", b"GIF89a")     # the first six bytes of every GIF file
_FRAME_WORK = 12    # bytes a canvas pixel takes while a frame is decoded: Pillow's canvas
                    # and converted frame (4 bytes a pixel each), and the frame's copy


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
        Whether a graphic control extension declares a transparent colour.
    problem : str or None
        None for a file that ends with its trailer; else why it does not.
    grey : bool
        Whether every colour table holds only greys (red = green = blue).
    """

    width: int
    height: int
    frames: int
    transparent: bool
    problem: str | None
    grey: bool = True


def _grey_table(data, pos, packed):
    """Whether the colour table at ``pos`` (declared by flags ``packed``) is grey, or absent."""
    if not packed & 0x80:
        return True
    table = np.frombuffer(data[pos:pos + 3 * (2 << (packed & 7))], np.uint8)
    table = table[:len(table) // 3 * 3].reshape(-1, 3)
    return bool(np.all(table == table[:, :1]))


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
    r"""Read the structure of the GIF file held in ``data``.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    GifInfo

    Examples
    --------
    >>> scan_gif(b"GIF89a" + bytes([2, 0, 3, 0, 0, 0, 0]) + b"\x3b")
    GifInfo(width=2, height=3, frames=0, transparent=False, problem=None, grey=True)
    >>> scan_gif(b"GIF89a" + bytes([2, 0, 3, 0, 0, 0, 0])).problem
    'it ends before its trailer'
    """
    if data[:6] not in SIGNATURES or len(data) < 13:
        return GifInfo(0, 0, 0, False, "it does not start like a GIF file")
    width, height, packed = struct.unpack_from("<HHB", data, 6)
    grey = _grey_table(data, 13, packed)
    pos = 13 + (3 * (2 << (packed & 7)) if packed & 0x80 else 0)
    frames, transparent = 0, False

    def found(problem):
        return GifInfo(width, height, frames, transparent, problem, grey)

    while True:
        if pos >= len(data):
            return found("it ends before its trailer")
        block = data[pos]
        if block == 0x3B:
            return found(None)
        if block == 0x21:                       # extension: label, then sub-blocks
            if pos + 4 < len(data) and data[pos + 1] == 0xF9 and data[pos + 2] == 4:
                transparent |= bool(data[pos + 3] & 1)
            after = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:                     # image: descriptor, colour table, LZW data
            if pos + 10 > len(data):
                after = None
            else:
                local = data[pos + 9]
                grey &= _grey_table(data, pos + 10, local)
                start = pos + 10 + (3 * (2 << (local & 7)) if local & 0x80 else 0) + 1
                after = _skip_sub_blocks(data, start)
                if after is not None:
                    frames += 1
        else:
            return found(f"unknown block 0x{block:02x} at byte {pos}")
        if after is None:
            return found("it ends inside a block")
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
        ``(N, H, W)`` grey frames when every colour table of the file is
        grey, else ``(N, H, W, C)`` as imageio gives them (``C`` 3, or 4
        for colours with alpha); one frame (a still GIF, or ``folder_item``)
        without the leading axis.

    Raises
    ------
    StackError
        For a truncated or damaged file, a canvas larger than Pillow decodes,
        frames that would not fit in the free memory (checked before
        decoding), or a file that decodes to another number of frames than
        it declares.
    """
    with guard(path, what="GIF file"):
        data = fh.read()
    info = scan_gif(data)
    if info.problem is not None:
        raise StackError(f"cannot read '{path}': the GIF file is truncated or damaged "
                         f"({info.problem}, after {info.frames} complete frames); copy it "
                         "again")
    canvas = info.width * info.height
    limit = 2 * Image.MAX_IMAGE_PIXELS if Image.MAX_IMAGE_PIXELS else None
    if limit is not None and canvas > limit:
        raise StackError(f"cannot read '{path}': its canvas of {info.width}x{info.height} "
                         f"pixels is larger than Pillow decodes (at most {limit} pixels); the "
                         "file is damaged or not meant to be decoded")
    frames = 1 if folder_item else max(info.frames, 1)
    channels = 1 if info.grey else 4 if info.transparent else 3
    what = f"{frames} frame{'s' * (frames != 1)} of {info.width}x{info.height} pixels"
    memory.check_fits(frames * canvas * channels + canvas * _FRAME_WORK, path, what)
    with guard(path, what="GIF file"), Image.open(io.BytesIO(data), formats=["GIF"]) as image:
        first = _as_imageio(image)
        mode = "L" if first.ndim == 2 or info.grey and first.shape[-1] == 3 else \
            {3: "RGB", 4: "RGBA"}.get(first.shape[-1], "RGBA")
        shape = (frames, info.height, info.width) + ((len(mode),) if mode != "L" else ())
        memory.check_fits(np.prod(shape, dtype=np.int64) + canvas * _FRAME_WORK, path, what)
        out = np.empty(shape, np.uint8)
        decoded = 0
        for i in range(frames):
            try:
                image.seek(i)
            except EOFError:
                break
            out[i] = np.asarray(image if image.mode == mode else image.convert(mode))
            decoded += 1
        if not folder_item and decoded == frames and _has_frame(image, frames):
            decoded += 1
    if not folder_item and decoded != info.frames:
        raise StackError(f"cannot read '{path}': it decodes to {decoded} frames but declares "
                         f"{info.frames}; the file is damaged, copy it again")
    return out[0] if frames == 1 else out


def _as_imageio(image):
    """The current frame as imageio's Pillow plugin gives it (a palette applied)."""
    return np.asarray(image.convert(image.palette.mode) if image.mode == "P" else image)


def _has_frame(image, index):
    """Whether Pillow finds a frame ``index`` (a file holding more frames than declared)."""
    try:
        image.seek(index)
    except EOFError:
        return False
    return True
