"""Single image files: PNG, JPEG, BMP, GIF and WebP files read whole, and one image written as PNG.

:func:`read_image` decodes one image file (a folder's images too, through
:mod:`~histeq_gui.core.io.folders`) after refusing, from its header, what
would not fit in the free memory; a file that starts like a GIF goes to
:func:`~histeq_gui.core.io.gif.read_gif` and a TIFF file (by its name) to
:func:`~histeq_gui.core.io.tiff.read_tiff`.  An animated GIF or WebP gives
all its frames.  :class:`PngWriter` writes a single image as a PNG file;
:func:`write_png`, :func:`png_image` and :func:`check_png` are what every
PNG output shares.
"""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image

from ..errors import StackError, first_line
from ..stack import Layout, image_at
from . import memory
from .atomic import new_file
from .files import guard, open_input
from .gif import SIGNATURES as GIF_SIGNATURES, read_gif
from .reader import ArrayReader, Input
from .tiff import SUFFIXES as TIFF_SUFFIXES, read_tiff
from .writer import ChunkWriter, Output, native_dtype

__all__ = ["SUFFIXES", "read_image", "open_image", "image_mode", "check_png", "png_image",
           "write_png", "PngWriter", "INPUTS", "OUTPUTS"]

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")

# Bytes per pixel of a Pillow mode once imageio has converted it (palettes become RGB(A)).
_MODE_BYTES = {"1": 1, "L": 1, "P": 4, "PA": 4, "LA": 2, "La": 2, "RGB": 3, "RGBA": 4,
               "RGBa": 4, "RGBX": 4, "CMYK": 4, "YCbCr": 3, "LAB": 3, "HSV": 3, "I": 4, "F": 4}


def read_image(path: Path, folder_item: bool = False) -> np.ndarray:
    """Decode the image file ``path`` whole.

    Parameters
    ----------
    path : pathlib.Path
        A PNG, JPEG, BMP, GIF, WebP or TIFF file.
    folder_item : bool, optional
        It is an image of a folder: only its first frame is decoded, and
        kept as ``(H, W[, C])``.

    Returns
    -------
    ndarray
        ``(H, W)`` or ``(H, W, C)``; ``(N, H, W, C)`` for an animated GIF or
        WebP (a still one gives one image); a TIFF file's first series.

    Raises
    ------
    StackError
        One line, for a file that cannot be read, would not fit in memory,
        is truncated or damaged, or is a 16-bit colour PNG (which Pillow
        would read as 8-bit).
    """
    if path.suffix.lower() in TIFF_SUFFIXES:
        return read_tiff(path)
    with open_input(path, "image file") as fh:
        with guard(path, what="image file"):
            head = fh.read(26)
            fh.seek(0)
        if head[:6] in GIF_SIGNATURES:
            image = read_gif(path, fh, folder_item)
        else:
            _check_size(path, fh, folder_item)
            with guard(path, what="image file"):
                fh.seek(0)
                image = iio.imread(fh, plugin="pillow", extension=path.suffix.lower(),
                                   index=0 if folder_item else None)
    if not folder_item and path.suffix.lower() in (".gif", ".webp") and image.ndim == 4 \
            and image.shape[0] == 1:
        image = image[0]    # a still GIF/WebP is one image, not a stack of one
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16 and head[25] in (2, 4, 6) \
            and image.dtype.itemsize == 1:
        raise StackError(f"cannot read '{path}' without losing precision: it is a 16-bit colour "
                         "PNG, which Pillow reads as 8-bit; convert it to a 16-bit TIFF")
    return image


def _check_size(path, fh, folder_item):
    """Refuse an image whose decoded size does not fit in memory, from Pillow's header."""
    try:
        with guard(path, what="image file"), Image.open(fh) as image:
            (width, height), mode = image.size, image.mode
            frames = 1 if folder_item else int(getattr(image, "n_frames", 1))
    except StackError as exc:
        if isinstance(exc.__cause__, Image.DecompressionBombError):
            raise StackError(f"cannot read '{path}': {first_line(exc.__cause__, 160)}; Pillow "
                             "refuses images that large, convert it to a TIFF file") from None
        raise
    per_pixel = 2 if mode.startswith("I;16") else _MODE_BYTES.get(mode, 8)
    memory.check_fits(frames * width * height * per_pixel, path,
                      f"{frames} frame{'s' * (frames != 1)} of {width}x{height} pixels, {mode}")


def image_mode(path: Path) -> tuple[tuple[int, int], str]:
    """``((width, height), mode)`` of an image file, from Pillow's header (nothing decoded)."""
    with open_input(path, "image file") as fh, guard(path, what="image file"), \
            Image.open(fh) as image:
        return image.size, image.mode


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
