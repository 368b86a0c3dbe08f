"""Load image stacks safely: .npy, .npz, .tif, image folders and single images.

Loading never unpickles, never modifies the input and turns every failure
into a one-line :class:`~histeq_gui.core.errors.StackError` that says what is
wrong and what to do.  TIFF files are checked against what they declare,
because tifffile may only log a warning for a truncated file.
:func:`load_stack` opens a lazy reader (:func:`~histeq_gui.core.readers.open_reader`)
and reads everything; the private helpers here (``_load_npy``, ``_npz_member``,
``_tiff_session``, ``_tiff_pages``, ``_load_image``, ``_folder_files``) are
what those readers, and the writers' verification, read files with.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import zipfile
from contextlib import contextmanager

import imageio.v3 as iio
import numpy as np
import tifffile

from . import memory
from ..errors import KeyNeeded, StackError, first_line
from .gif import scan_gif
from .files import guard, open_input

__all__ = ["load_stack"]

_TIFF_EXTS = (".tif", ".tiff")
_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
_READABLE = (".npy, .npz, .tif/.tiff, .png, .jpg/.jpeg, .bmp, .gif, .webp, a .zarr array or a "
             "folder of images")


def load_stack(path, key=None, progress=None):
    """Load an image stack from a file or a folder of images.

    Parameters
    ----------
    path : str or path-like
        A ``.npy``, ``.npz``, ``.tif``/``.tiff`` or image file (PNG, JPEG,
        BMP, GIF, WebP), or a folder of PNG/JPEG/TIFF images.
    key : str, optional
        Name of the array to read from a ``.npz`` file; needed only when it
        holds several.  Not allowed for other formats.
    progress : callable, optional
        ``progress(done, total)``, called as files or pages are read (once
        with ``(1, 1)`` for .npy/.npz).  Whatever it raises (for example
        :class:`~histeq_gui.core.errors.Cancelled`) propagates unchanged.

    Returns
    -------
    ndarray
        At least two-dimensional, of a bool, integer or float dtype.  A
        ``.npy`` file gives a read-only memory map; TIFF files keep the shape
        tifffile reports (so a stack written as ``(N, 1, H, W)`` reads back as
        ``(N, 1, H, W)``); a folder gives ``(N, *image_shape)`` in natural
        name order ("img2" before "img10"); an animated GIF gives
        ``(N, H, W, C)``.

    Raises
    ------
    StackError
        With a one-line message for anything that cannot be read: missing or
        unreadable path, unsupported extension, pickled or non-numeric data,
        truncated or damaged files, folders of mixed sizes.

    Notes
    -----
    Pickled data is never loaded (``allow_pickle=False``).  TIFF files are
    checked against what they declare (page count, shaped/ImageJ metadata,
    data inside the file) because tifffile may only log a warning and return
    fewer pages for a truncated file.
    """
    from .readers import open_reader

    with open_reader(path, key) as reader:
        return reader.load(progress)


def _npy_header(fh):
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise ValueError(f"unsupported .npy format version {version}")


def _npy_info(path, fh, what=".npy file", where=None):
    """Read a .npy header from ``fh``: (shape, fortran_order, dtype, data bytes).

    Refuses pickled data and shapes no array can have, in one line naming
    ``where`` (default: the quoted path).
    """
    where = f"'{path}'" if where is None else where
    with guard(path, what=what):
        shape, fortran, dtype = _npy_header(fh)
    if dtype.hasobject:
        raise StackError(f"cannot read {where}: it holds Python objects (pickled data), which "
                         "are never loaded for safety; save a plain numeric array instead")
    if any(d < 0 for d in shape):
        raise StackError(f"cannot read {where}: its header declares the impossible shape "
                         f"{shape}; the file is damaged, save it again")
    needed = math.prod(shape) * dtype.itemsize
    if needed >= 2 ** 63:
        raise StackError(f"cannot read {where}: its header declares shape {shape}, more bytes "
                         "than any file holds; the file is damaged, save it again")
    return shape, fortran, dtype, needed


def _load_npy(path):
    with open_input(path, ".npy file") as fh:
        shape, _, dtype, needed = _npy_info(path, fh)
        data_start, info = fh.tell(), os.fstat(fh.fileno())
    if info.st_size - data_start < needed:
        raise StackError(f"cannot read '{path}': the file is truncated ({info.st_size - data_start}"
                         f" of {needed} data bytes for shape {shape}); copy or save it again")
    if needed == 0:
        return np.empty(shape, dtype)       # nothing to map; refused as empty later
    with guard(path, what=".npy file"):
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    # Which file the map shows, so that a reader can tell if it was replaced since.
    array._histeq_file = (os.path.abspath(path), info.st_dev, info.st_ino)
    array._histeq_signature = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    return array


def _npz_key(name):
    return name[:-4] if name.endswith(".npy") else name


def _load_npz(path, key):
    """One array of an .npz archive, read from its member (never ``np.load``'s pickle path)."""
    with open_input(path, ".npz file") as fh:
        with guard(path, what=".npz file"):
            archive = zipfile.ZipFile(fh)
        with archive:
            return _read_npz_member(path, archive, _npz_member(path, archive, key))


def _npz_member(path, archive, key):
    """The member of ``archive`` holding the array ``key`` (the only one when key is None)."""
    members = [m for m in archive.infolist() if not m.is_dir()]
    names = [_npz_key(m.filename) for m in members]
    listed = ", ".join(names)
    if not names:
        raise StackError(f"cannot read '{path}': the archive holds no arrays")
    if key is None and len(names) > 1:
        raise KeyNeeded(f"'{path}' holds several arrays ({listed}); choose one "
                        "(command line: --key NAME)", names)
    wanted = names[0] if key is None else _npz_key(key)
    if wanted not in names:
        raise StackError(f"'{path}' has no array named '{wanted}'; it holds: {listed}; "
                         "pass one of these as --key NAME")
    member = members[names.index(wanted)]
    if not member.filename.endswith(".npy"):
        raise StackError(f"cannot read '{path}': '{member.filename}' in the archive is "
                         "not a .npy array; choose another --key, or save the arrays "
                         "with np.savez")
    return member


def _npz_header(path, archive, member):
    """(shape, fortran_order, dtype, data bytes, header bytes) of an .npz member, checked.

    Refuses pickled data, absurd shapes and a member holding fewer data bytes
    than its header declares.
    """
    where = f"'{path}' (member '{member.filename}')"
    with guard(path, what=".npz file"), archive.open(member) as fh:
        shape, fortran, dtype, needed = _npy_info(path, fh, ".npz file", where)
        header = fh.tell()
    if member.file_size - header < needed:
        raise StackError(f"cannot read {where}: it is truncated "
                         f"({max(member.file_size - header, 0)} of {needed} data bytes "
                         f"for shape {shape}); copy or save it again")
    return shape, fortran, dtype, needed, header


def _read_npz_member(path, archive, member):
    where = f"'{path}' (member '{member.filename}')"
    with guard(path, what=".npz file"), archive.open(member) as fh:
        shape, fortran, dtype, needed = _npy_info(path, fh, ".npz file", where)
        if member.file_size - fh.tell() < needed:
            raise StackError(f"cannot read {where}: it is truncated "
                             f"({max(member.file_size - fh.tell(), 0)} of {needed} data bytes "
                             f"for shape {shape}); copy or save it again")
        memory.check_fits(needed, path, f"array '{_npz_key(member.filename)}' of shape {shape} "
                                        f"{dtype}")
        data = np.empty(needed, np.uint8)
        view, done = memoryview(data), 0
        while done < needed:
            n = fh.readinto(view[done:done + (1 << 24)])
            if not n:
                raise StackError(f"cannot read {where}: it is truncated ({done} of {needed} "
                                 f"data bytes for shape {shape}); copy or save it again")
            done += n
        while fh.read(1 << 20):     # to the end, so that zipfile checks the CRC
            pass
    return np.ndarray(shape, dtype, buffer=data, order="F" if fortran else "C")


class _TiffErrors(logging.Handler):
    """Collects the errors tifffile logs (instead of raising) in the threads reading a file.

    The thread that opens the file is watched; a lazy reader adds the threads
    it reads pages in (:meth:`watch`).
    """

    def __init__(self):
        super().__init__(logging.ERROR)
        self.threads, self.messages = {threading.get_ident()}, []

    def watch(self):
        """Collect the errors logged by the calling thread too."""
        self.threads.add(threading.get_ident())

    def emit(self, record):
        if record.thread in self.threads:
            self.messages.append(re.sub(r"^<[^>]*>\s*", "", first_line(record.getMessage(), 160)))


@contextmanager
def _tiff_session(path):
    """Open a TIFF file and check it against what it declares; yield (TiffFile, series, errors).

    tifffile logs (rather than raises) many signs of a truncated file and then returns a
    shorter series, so its log errors are collected in ``errors`` and turned into a
    StackError before and after the caller reads the pages (and by
    :func:`_raise_tiff_errors` whenever the caller checks).
    """
    errors, logger = _TiffErrors(), logging.getLogger("tifffile")
    logger.addHandler(errors)   # also keeps tifffile's messages off stderr
    try:
        with open_input(path, "TIFF file") as fh:
            with guard(path, what="TIFF file"):
                tif = tifffile.TiffFile(fh, name=path.name)
            with tif:
                for tif, series in _checked_tiff(path, tif, errors):
                    yield tif, series, errors
    finally:
        logger.removeHandler(errors)


@contextmanager
def open_tiff(path):
    """:func:`_tiff_session` without the error collector: yield (TiffFile, first series)."""
    with _tiff_session(path) as (tif, series, _errors):
        yield tif, series


def _checked_tiff(path, tif, errors):
    """Yield the first series of ``tif`` once it agrees with what the file declares."""
    with guard(path, what="TIFF file"):
        series = tif.series[0]
        n_pages = len(series)
        if n_pages == 0 or np.prod(series.shape) % n_pages:
            errors.messages.append(f"{n_pages} pages do not fit shape {series.shape}")
        shaped = (tif.shaped_metadata or [{}])[0].get("shape") if tif.is_shaped else None
        if shaped and np.prod(shaped) != np.prod(series.shape):
            errors.messages.append(f"declares shape {tuple(shaped)} but holds {series.shape}")
        images = int((tif.imagej_metadata or {}).get("images", 1))
        if tif.is_imagej and (series.kind != "imagej" or n_pages < images):
            errors.messages.append(f"declares {images} ImageJ images but holds {n_pages} pages")
        size = tif.filehandle.size
        # Raw pages one after the other: their data is one range to check, and the last page
        # (whose tags end a file cut short) is parsed; parsing every page of a large stack
        # costs more than reading it.  Otherwise every page's data is checked.
        start = series.dataoffset
        raw = start is not None and start + math.prod(series.shape) * series.dtype.itemsize <= size
        pages = [tif.pages[len(tif.pages) - 1]] if raw else series.pages
        for page in pages:
            if page is None or any(offset + count > size for offset, count in
                                   zip(page.dataoffsets, page.databytecounts)):
                errors.messages.append("page data lies beyond the end of the file")
                break
    _raise_tiff_errors(path, errors.messages)
    yield tif, series
    _raise_tiff_errors(path, errors.messages)


def _raise_tiff_errors(path, messages):
    if messages:
        raise StackError(f"cannot read '{path}': the TIFF file is truncated or damaged "
                         f"({messages[0]}); check the file or copy it again")


def _tiff_pages(path, tif, start, stop):
    """Pages ``start:stop`` of the first series as an array of shape (stop - start, -1)."""
    with guard(path, what="TIFF file"):
        return tif.asarray(key=range(start, stop), series=0).reshape(stop - start, -1)


def _load_tiff(path, progress=None):
    from .readers import TiffReader

    with TiffReader(path) as reader:
        return reader.load(progress)


def _load_image(path, folder_item=False):
    if path.suffix.lower() in _TIFF_EXTS:
        return _load_tiff(path)
    with open_input(path, "image file") as fh:
        with guard(path, what="image file"):
            head = fh.read(26)
            fh.seek(0)
        frames = _check_image_size(path, fh, head, folder_item)
        with guard(path, what="image file"):
            fh.seek(0)
            image = iio.imread(fh, plugin="pillow", extension=path.suffix.lower(),
                               index=0 if folder_item else None)
    decoded = image.shape[0] if image.ndim == 4 else 1
    if frames is not None and not folder_item and decoded != frames:
        raise StackError(f"cannot read '{path}': it decodes to {decoded} frames but declares "
                         f"{frames}; the file is damaged, copy it again")
    if not folder_item and path.suffix.lower() in (".gif", ".webp") and image.ndim == 4 \
            and image.shape[0] == 1:
        image = image[0]    # a still GIF/WebP is one image, not a stack of one
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16 and head[25] in (2, 4, 6) \
            and image.dtype.itemsize == 1:
        raise StackError(f"cannot read '{path}' without losing precision: it is a 16-bit colour "
                         "PNG, which Pillow reads as 8-bit; convert it to a 16-bit TIFF")
    return image


# Bytes per pixel of a Pillow mode once imageio has converted it (palettes become RGB(A)).
_MODE_BYTES = {"1": 1, "L": 1, "P": 4, "PA": 4, "LA": 2, "La": 2, "RGB": 3, "RGBA": 4,
               "RGBa": 4, "RGBX": 4, "CMYK": 4, "YCbCr": 3, "LAB": 3, "HSV": 3, "I": 4, "F": 4}


def _check_image_size(path, fh, head, folder_item):
    """Refuse an image whose declared decoded size does not fit in memory, before decoding.

    GIF files are scanned block by block (also refusing a truncated one);
    other formats give their size, mode and frame count from Pillow's header
    parsing.  Returns the number of frames a GIF declares (None otherwise).
    """
    from PIL import Image

    if head[:6] in (b"GIF87a", b"GIF89a"):
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
        return info.frames
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
    return None


def _folder_files(folder):
    """The image files of a folder (:func:`~histeq_gui.core.folder.folder_images`), refusing none."""
    from .folders import folder_images

    files = folder_images(folder)
    if not files:
        raise StackError(f"cannot read '{folder}': the folder holds no PNG, JPEG or TIFF "
                         "images; choose a folder of images or a stack file")
    return files


class MappedReader:
    """Reads pieces of a ``.npy`` memory map with file reads instead of touching its pages.

    A memory map of a file that shrinks while it is read kills the process
    with SIGBUS (exit 135), which no Python code can catch.  Reading the same
    bytes with ``pread`` reports a file that is cut, or replaced, as a
    one-line StackError instead.  Use :meth:`for_array`, then :meth:`read`
    views (slices) of the mapped array; :meth:`close` when done.

    Parameters
    ----------
    root : numpy.memmap
        A map made by :func:`load_stack` (it records the file it shows).
    """

    def __init__(self, root):
        self.root = root
        self.path, dev, ino = root._histeq_file
        self.start = root.ctypes.data       # an address: no page is touched
        self.offset = int(root.offset)
        self.end = self.offset + root.nbytes
        with guard(self.path, what=".npy file"):
            self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        info = os.fstat(self.fd)
        if (info.st_dev, info.st_ino) != (dev, ino):
            os.close(self.fd)
            raise self._changed("it was replaced by another file since it was loaded")

    @classmethod
    def for_array(cls, array):
        """A reader for ``array`` if it is (a view of) a map from :func:`load_stack`, else None."""
        root = array
        while isinstance(root, np.ndarray) and not hasattr(root, "_histeq_file"):
            root = root.base
        if not isinstance(root, np.memmap) or not hasattr(root, "_histeq_file"):
            return None
        return cls(root)

    def _changed(self, what):
        return StackError(f"cannot read '{self.path}': the file changed during the export "
                          f"({what}); export again once it is complete")

    def read(self, view):
        """The values of ``view`` (a view of the mapped array) as a new in-memory array."""
        out = np.empty(view.shape, view.dtype)
        self._read_into(view, out)
        return out

    def _read_into(self, view, out):
        if view.size == 0:
            return
        low = high = view.__array_interface__["data"][0]
        for n, step in zip(view.shape, view.strides):
            low, high = low + min(0, (n - 1) * step), high + max(0, (n - 1) * step)
        high += view.itemsize
        if high - low > 2 * view.nbytes + 4096 and view.ndim > 1:
            # Sparse (a channel of colour pixels, images of a Fortran-ordered file): read
            # along the axis of the longest step, so that each piece is dense or small.
            axis = int(np.argmax(np.abs(view.strides)))
            for i in range(view.shape[axis]):
                key = (slice(None),) * axis + (i,)
                self._read_into(view[key], out[key])
            return
        if not self.start <= low <= high <= self.start + (self.end - self.offset):
            raise ValueError("the view does not lie inside the mapped array")
        direct = view.flags.c_contiguous and out.flags.c_contiguous and out.dtype == view.dtype
        data = out.reshape(-1).view(np.uint8) if direct else np.empty(high - low, np.uint8)
        self._pread(data, self.offset + (low - self.start))
        if not direct:
            first = view.__array_interface__["data"][0] - low
            out[...] = np.ndarray(view.shape, view.dtype, buffer=data, offset=first,
                                  strides=view.strides)

    def _pread(self, data, position):
        """Fill the bytes ``data`` from the file at ``position``; a short file is a StackError."""
        done = 0
        while done < data.size:
            with guard(self.path, what=".npy file"):
                n = os.preadv(self.fd, [memoryview(data)[done:]], position + done) \
                    if hasattr(os, "preadv") else self._pread_into(data, done, position)
            if n == 0:
                size = os.fstat(self.fd).st_size
                raise self._changed(f"it is now {size} bytes, {self.end} expected")
            done += n

    def _pread_into(self, data, done, position):
        chunk = os.pread(self.fd, data.size - done, position + done)
        data[done:done + len(chunk)] = np.frombuffer(chunk, np.uint8)
        return len(chunk)

    def close(self):
        """Close the file (idempotent)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
