"""Single image files: PNG, JPEG, BMP, GIF and WebP files read whole, and one image written as PNG.

:func:`read_image` decodes one image file (a folder's images too, through
:mod:`~histeq_gui.core.io.folders`) with Pillow directly: the file is opened
once, its header says the decoded shape, dtype and size (:func:`predict`),
what would not fit in the free memory is refused from that before anything
is decoded, and the same open decodes it.  Plain 8-bit PNG and JPEG files,
whose pixels libspng and libjpeg-turbo give exactly as Pillow does, are
decoded by imagecodecs instead when it is installed (:func:`_plain`: no
Python work per file beyond the header, the GIL released).  A file that
starts like a GIF goes to :func:`~histeq_gui.core.io.gif.read_gif` and a
TIFF file (by its name) to :func:`~histeq_gui.core.io.tiff.read_tiff`.  An
animated GIF, PNG or WebP gives all its frames.  :func:`read_thumbnail` decodes a JPEG at a
reduced size (Pillow's ``draft``).  :class:`PngWriter` writes a single
image as a PNG file; :func:`write_png`, :func:`png_image` and
:func:`check_png` are what every PNG output shares.

The pixels are those imageio's Pillow plugin gives (the reader this module
replaced, kept as the reference in the tests): palette images converted to
their palette's mode (RGB or RGBA), 16-bit gray PNG files as uint16, no
EXIF rotation, no gamma.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Callable, NamedTuple

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageMode

from ..errors import StackError, first_line
from ..stack import Layout, image_at
from . import memory
from .atomic import new_file
from .files import guard, open_input
from .gif import SIGNATURES as GIF_SIGNATURES
from .gif import read_gif
from .reader import ArrayReader, Input
from .tiff import SUFFIXES as TIFF_SUFFIXES
from .tiff import read_tiff, tiff_shape
from .writer import ChunkWriter, Output, native_dtype

__all__ = ["SUFFIXES", "Decoded", "read_image", "decode_image", "predict", "probe_image",
           "read_thumbnail", "open_image", "check_png", "png_image", "write_png",
           "PngWriter", "INPUTS", "OUTPUTS"]

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")

_PNG = b"\x89PNG\r\n\x1a\n"


def _formats(head):
    """The Pillow format a file's first bytes announce (so Pillow tries no other), or None."""
    if head.startswith(_PNG):
        return ["PNG"]
    if head.startswith(b"\xff\xd8\xff"):
        return ["JPEG"]
    if head.startswith(b"BM"):
        return ["BMP"]
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return ["WEBP"]
    return None                 # let Pillow try every format it knows


class Decoded(NamedTuple):
    """What an image file decodes to, told from its header: ``shape`` and ``dtype`` of one frame."""

    shape: tuple
    dtype: np.dtype
    frames: int
    mode: str

    @property
    def nbytes(self):
        """Bytes of every frame decoded."""
        return self.frames * math.prod(self.shape) * self.dtype.itemsize

    def describe(self):
        """``"1 frame of 400x300 pixels, RGB"``."""
        return (f"{self.frames} frame{'s' * (self.frames != 1)} of {self.shape[1]}x"
                f"{self.shape[0]} pixels, {self.mode}")


def _target_mode(image):
    """The mode ``image`` is converted to before it becomes an array, or None (as it is)."""
    if image.mode == "P":
        return image.palette.mode if image.palette is not None else "RGB"
    if image.format == "PNG" and image.mode == "I":     # a 16-bit gray PNG: uint16
        return "I;16"
    return None


def predict(image: Image.Image, folder_item: bool = True) -> Decoded:
    """What the open Pillow ``image`` decodes to, from its header (nothing decoded).

    Parameters
    ----------
    image : PIL.Image.Image
        Opened, not loaded.
    folder_item : bool, optional
        Only the first frame is counted.
    """
    width, height = image.size
    mode = _target_mode(image) or image.mode
    described = ImageMode.getmode(mode)
    bands = len(described.bands)
    shape = (height, width) if bands == 1 else (height, width, bands)
    frames = 1 if folder_item or not _animated(image) else int(image.n_frames)
    return Decoded(shape, np.dtype(described.typestr), frames, image.mode)


def _animated(image):
    """Animated PNG and WebP files give all their frames (other formats their first)."""
    return image.format in ("PNG", "WEBP") and bool(getattr(image, "is_animated", False))


def _pixels(image):
    """The current frame of ``image`` as an array (read-only, straight from Pillow)."""
    mode = _target_mode(image)
    return np.asarray(image if mode is None else image.convert(mode))


def _open_pillow(path, fh, head):
    """Pillow's image of the open file ``fh`` (its header read, nothing decoded).

    Call it inside :func:`~histeq_gui.core.io.files.guard`.
    """
    try:
        return Image.open(fh, formats=_formats(head))
    except Image.DecompressionBombError as exc:
        raise StackError(f"cannot read '{path}': {first_line(exc, 160)}; Pillow refuses images "
                         "that large, convert it to a TIFF file") from None


def _head(fh):
    """The first bytes of the open file ``fh`` (buffered, the file left at its start)."""
    return fh.peek(32)[:32]


_JPEG = b"\xff\xd8\xff"
_PNG_MODES = {0: ("L", 1), 2: ("RGB", 3), 4: ("LA", 2), 6: ("RGBA", 4)}   # 8-bit colour types
_PNG_REFUSED = (b"tRNS", b"PLTE", b"acTL")      # Pillow and libspng read these differently
_JPEG_FRAMES = (0xC0, 0xC1, 0xC2)               # baseline, extended, progressive Huffman
_JPEG_STANDALONE = {0x01} | set(range(0xD0, 0xD9))
# imagecodecs decodes a whole file held in memory; a larger file is Pillow's, which streams it
# (and a small header declaring a huge image is refused before either reads the file).
_PLAIN_MAX_BYTES = 1 << 28


def _plain_png(data):
    """``(shape, mode)`` of a PNG that Pillow reads as libspng does, else None.

    That is an 8-bit gray, gray + alpha, RGB or RGBA PNG, not interlaced.

    No palette, transparency or animation chunk before the pixels, and every
    chunk before them with a good checksum (Pillow refuses a bad one there).
    """
    if len(data) < 33 or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if depth != 8 or colour not in _PNG_MODES or interlace or not width or not height:
        return None
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            mode, bands = _PNG_MODES[colour]
            return ((height, width) if bands == 1 else (height, width, bands)), mode
        end = at + 8 + length
        if kind in _PNG_REFUSED or end + 4 > len(data) or \
                zlib.crc32(data[at + 4:end]) != struct.unpack(">I", data[end:end + 4])[0]:
            return None
        at = end + 4
    return None


def _plain_jpeg(data):
    """``(shape, mode)`` of a JPEG that Pillow and libjpeg-turbo decode alike, else None.

    That is an 8-bit gray or colour JPEG, Huffman coded, with no Adobe
    marker, ending in its end marker.
    """
    if not data.endswith(b"\xff\xd9"):
        return None                 # truncated: Pillow's refusal, not libjpeg's grey fill
    at, frame = 2, None
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:
            at += 1
            continue
        if marker in _JPEG_STANDALONE:
            at += 2
            continue
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        segment = data[at + 4:at + 2 + length]
        if marker == 0xEE and segment.startswith(b"Adobe"):
            return None
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if marker not in _JPEG_FRAMES or len(segment) < 6:
                return None
            precision, height, width, bands = struct.unpack(">BHHB", segment[:6])
            if precision != 8 or bands not in (1, 3) or not height or not width:
                return None
            frame = ((height, width), "L") if bands == 1 else ((height, width, 3), "RGB")
        if marker == 0xDA:
            return frame
        at += 2 + length
    return None


@lru_cache(maxsize=None)
def _codecs():
    """The imagecodecs module, imported at the first plain file (it takes 40 ms), or None.

    None when it is not installed: Pillow then reads every file.
    """
    try:
        import imagecodecs
    except ImportError:
        return None
    return imagecodecs


def _plain(head, fh):
    """``(shape, mode, decode, data)`` for a file imagecodecs decodes to Pillow's pixels, else None.

    Such a file (most photographs and datasets: 8-bit PNG and JPEG) is decoded
    by libspng or libjpeg-turbo straight into an array, without Pillow's
    per-file work in Python and its copy of the pixels, and with the GIL
    released throughout.  Anything else, and a file libspng or libjpeg-turbo
    refuses, goes to Pillow, which decodes it or says what is wrong with it.
    """
    png, jpeg = head.startswith(_PNG) and len(head) >= 26, head.startswith(_JPEG)
    if png and (head[24] != 8 or head[25] not in _PNG_MODES) or not (png or jpeg):
        return None                 # told by the header: the file is not read whole here
    if png and math.prod(struct.unpack(">II", head[16:24])) > \
            (Image.MAX_IMAGE_PIXELS or math.inf):
        return None                 # a bomb by its header: Pillow's to refuse, nothing read
    codecs = _codecs()
    if codecs is None or os.fstat(fh.fileno()).st_size > _PLAIN_MAX_BYTES:
        return None
    data = fh.read()
    found = _plain_png(data) if png else _plain_jpeg(data)
    decode = codecs.spng_decode if png else codecs.jpeg8_decode
    fh.seek(0)
    if found is None or math.prod(found[0][:2]) > (Image.MAX_IMAGE_PIXELS or math.inf):
        return None
    return found[0], found[1], decode, data


def _decode_plain(decode, data, shape):
    """The pixels ``decode(data)`` gives when they have ``shape`` (uint8), else None."""
    try:
        image = decode(data)
    except Exception:           # Pillow decodes it or says what is wrong with it
        return None
    return image if image.shape == shape and image.dtype == np.uint8 else None


def _admit(decoded, path, check, budget):
    """``check`` the file's announced pixels and count them against the free memory."""
    if check is not None:
        check(decoded)
    if budget is None:
        memory.check_fits(decoded.nbytes, path, decoded.describe())
    else:
        budget.take(decoded.nbytes, path, decoded.describe)


def decode_image(path: Path, folder_item: bool = True, budget: memory.Budget | None = None,
                 check: Callable[[Decoded], None] | None = None) -> np.ndarray:
    """Decode the image file ``path`` in one open: header, checks, pixels.

    The fast path of :func:`read_image`: the array may be read-only (it is
    Pillow's own buffer); the parameters are :func:`read_image`'s.
    """
    if path.suffix.lower() in TIFF_SUFFIXES:
        image = read_tiff(path)
        if check is not None:
            check(Decoded(image.shape, image.dtype, 1, "TIFF"))
        return image
    with open_input(path, "image file", listed=folder_item) as fh, \
            guard(path, what="image file"):
        head = _head(fh)
        if head[:6] in GIF_SIGNATURES:
            image = read_gif(path, fh, folder_item)
            if image.ndim == 4 and image.shape[0] == 1:
                image = image[0]        # a still GIF is one image, not a stack of one
            if check is not None:
                check(Decoded(image.shape[-3:], image.dtype, 1, "GIF"))
            return image
        plain = _plain(head, fh)
        if plain is not None:
            shape, mode, decode, data = plain
            _admit(Decoded(shape, np.dtype(np.uint8), 1, mode), path, check, budget)
            image = _decode_plain(decode, data, shape)
            if image is not None:
                return image
        with _open_pillow(path, fh, head) as pillow:
            decoded = predict(pillow, folder_item)
            if head.startswith(_PNG) and head[24] == 16 and head[25] in (2, 4, 6) \
                    and decoded.dtype.itemsize == 1:
                raise StackError(f"cannot read '{path}' without losing precision: it is a "
                                 "16-bit colour PNG, which Pillow reads as 8-bit; convert it "
                                 "to a 16-bit TIFF")
            if plain is None:
                _admit(decoded, path, check, budget)
            if decoded.frames == 1:
                image = _pixels(pillow)
            else:
                frames = []
                for k in range(decoded.frames):
                    pillow.seek(k)
                    frames.append(_pixels(pillow))
                image = np.stack(frames)
    return image


def read_image(path: Path, folder_item: bool = False, budget: memory.Budget | None = None,
               check: Callable[[Decoded], None] | None = None) -> np.ndarray:
    """Decode the image file ``path`` whole.

    Parameters
    ----------
    path : pathlib.Path
        A PNG, JPEG, BMP, GIF, WebP or TIFF file.
    folder_item : bool, optional
        It is an image of a folder, which its listing saw as a regular file:
        only its first frame is decoded, and kept as ``(H, W[, C])``.
    budget : memory.Budget, optional
        The free memory of the batch this file is read with; default: look
        at the free memory for this file alone.
    check : callable, optional
        ``check(decoded)`` with the :class:`Decoded` the header announces,
        before anything is decoded; it raises to refuse the file.

    Returns
    -------
    ndarray
        ``(H, W)`` or ``(H, W, C)``; ``(N, H, W, C)`` for an animated GIF,
        PNG or WebP (a still one gives one image); a TIFF file's first
        series.  A new, writeable array.

    Raises
    ------
    StackError
        One line, for a file that cannot be read, would not fit in memory,
        is truncated or damaged, or is a 16-bit colour PNG (which Pillow
        would read as 8-bit).
    """
    image = decode_image(path, folder_item, budget, check)
    return image if image.flags.writeable else image.copy()


def probe_image(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """``(shape, dtype)`` of the first image of a file, from its header (nothing decoded)."""
    if path.suffix.lower() in TIFF_SUFFIXES:
        return tiff_shape(path)
    with open_input(path, "image file") as fh, guard(path, what="image file"):
        head = _head(fh)
        if head[:6] in GIF_SIGNATURES:
            image = read_gif(path, fh, folder_item=True)
            return image.shape, image.dtype
        with _open_pillow(path, fh, head) as pillow:
            decoded = predict(pillow)
    return decoded.shape, decoded.dtype


def read_thumbnail(path: Path, size: int) -> np.ndarray | None:
    """A JPEG file decoded at 1/2, 1/4 or 1/8 of its size, still at least ``size`` pixels wide.

    Pillow's ``draft`` has the JPEG decoder skip the fine detail, which
    makes reading big photographs for thumbnails several times faster.
    None for any other file (decode it whole), and for a JPEG that does not
    decode to the pixels :func:`read_image` gives (CMYK, 16 bits).
    """
    with open_input(path, "image file") as fh, guard(path, what="image file"):
        head = _head(fh)
        if not head.startswith(b"\xff\xd8\xff"):
            return None
        with _open_pillow(path, fh, head) as pillow:
            if pillow.mode not in ("L", "RGB"):
                return None
            width, height = pillow.size
            scale = max(1, min(8, max(width, height) // max(int(size), 1)))
            memory.check_fits(height * width * len(pillow.mode), path,
                              f"1 frame of {width}x{height} pixels, {pillow.mode}")
            pillow.draft(pillow.mode, (max(width // scale, 1), max(height // scale, 1)))
            return np.asarray(pillow)


def open_image(path: Path) -> ArrayReader:
    """An :class:`~histeq_gui.core.io.ArrayReader` of the image file ``path``, decoded whole."""
    return ArrayReader(read_image(path), path, "image")


def check_png(dtype: np.dtype, layout: Layout | None = None, single: bool = False) -> None:
    """Raise StackError unless PNG files can hold images of ``dtype`` and ``layout``.

    ``single``: one ``.png`` file, which holds one image.
    """
    if dtype not in (np.uint8, np.uint16):
        raise StackError(f"PNG files hold only uint8 or uint16 values, not {dtype}; "
                         "choose --dtype uint8 or uint16, or write .tif/.npy instead")
    if layout is None:
        return
    if single and layout.n_images != 1:
        raise StackError(f"a .png file holds one image, not {layout.n_images}; write a folder "
                         "of PNG files (an output name without extension) or .tif instead")
    if layout.channels not in (1, 3, 4):
        raise StackError(f"PNG files hold gray, RGB or RGBA images, not {layout.channels} "
                         "channels; write .tif or .npy instead")
    if layout.channels > 1 and dtype == np.uint16:
        raise StackError("PNG folders hold uint16 only for grayscale images (Pillow cannot "
                         "write 16-bit colour); choose --dtype uint8, or write .tif instead")


def png_image(array: np.ndarray, layout: Layout, i: int) -> np.ndarray:
    """Image ``i`` as it goes into a PNG: (H, W) or (H, W, 3/4), native byte order."""
    image = np.ascontiguousarray(image_at(array, layout, i), dtype=native_dtype(array.dtype))
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


def write_png(path: Path, image: np.ndarray, target: Path) -> None:
    """Write ``image`` (from :func:`png_image`) as the new PNG file ``path``, flushed to disk.

    ``target`` is the path named in error messages.
    """
    with new_file(path, target) as fh:
        iio.imwrite(fh, image, extension=".png", plugin="pillow")


class PngWriter(ChunkWriter):
    """One PNG file holding a single image."""

    kind = "png"
    whole_images = True

    @classmethod
    def check_stack(cls, path, dtype=None, layout=None):
        """Raise StackError unless one PNG file can hold the stack: one image of ``dtype``.

        As ``check_png``; nothing is checked while ``dtype`` is None.
        """
        if dtype is not None:
            check_png(np.dtype(dtype), layout, single=True)

    def _open(self):
        if self.layout.n_images != 1:
            raise StackError(f"a .png file holds one image, not {self.layout.n_images}")

    def _write(self, start, stop, data):
        image = png_image(data, Layout(data.shape, self.layout.channel_axis), 0)
        write_png(self.path, image, self.target)
        self._keep(0, 1, image)

    def _verify(self, progress):
        stored = read_image(self.path, folder_item=True)
        if not self._reads_back(stored, self.digests[0][2]):
            raise StackError(f"the image reads back as {stored.shape} {stored.dtype}")
        if progress is not None:
            progress(1, 1)


INPUTS = (Input(SUFFIXES, open_image, ".png, .jpg/.jpeg, .bmp, .gif, .webp"),)
OUTPUTS = (Output((".png",), PngWriter, ".png (one image)"),)
