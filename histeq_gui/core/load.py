"""Load image stacks safely: .npy, .npz, .tif, image folders and single images.

Loading never unpickles, never modifies the input and turns every failure
into a one-line :class:`~histeq_gui.core.errors.StackError` that says what is
wrong and what to do.  TIFF files are checked against what they declare,
because tifffile may only log a warning for a truncated file.  The private
readers (``_load_npy``, ``_load_npz``, ``_open_tiff``, ``_tiff_pages``,
``_load_image``) also read written files back in :mod:`histeq_gui.core.save`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import tifffile

from .errors import KeyNeeded, StackError, first_line
from .files import _check_array, _guard, _Progress, _row_chunks

__all__ = ["load_stack"]

_TIFF_EXTS = (".tif", ".tiff")
_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
_FOLDER_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
_READABLE = ".npy, .npz, .tif/.tiff, .png, .jpg/.jpeg, .bmp, .gif, .webp or a folder of images"


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
    path = Path(path)
    if not path.exists():
        raise StackError(f"cannot read '{path}': no such file or folder; check the path")
    ext = "" if path.is_dir() else path.suffix.lower()
    if key is not None and ext != ".npz":
        raise StackError(f"key={key!r} (--key) only applies to .npz files, not '{path}'; "
                         "leave it out")
    if path.is_dir():
        array = _load_folder(path, progress)
    elif ext in _TIFF_EXTS:
        array = _load_tiff(path, progress)
    else:
        if ext == ".npy":
            array = _load_npy(path)
        elif ext == ".npz":
            array = _load_npz(path, key)
        elif ext in _IMAGE_EXTS:
            array = _load_image(path)
        else:
            raise StackError(f"cannot read '{path}': unsupported file type '{path.suffix}'; "
                             f"use {_READABLE}")
        _Progress(progress, 1)(1)       # read in one go
    _check_array(array, f"'{path}'")
    return array


def _npy_header(fh):
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise ValueError(f"unsupported .npy format version {version}")


def _load_npy(path):
    with _guard(path, what=".npy file"), open(path, "rb") as fh:
        shape, _, dtype = _npy_header(fh)
        data_start, file_size = fh.tell(), os.fstat(fh.fileno()).st_size
    if dtype.hasobject:
        raise StackError(f"cannot read '{path}': it holds Python objects (pickled data), which "
                         "are never loaded for safety; save a plain numeric array instead")
    needed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if file_size - data_start < needed:
        raise StackError(f"cannot read '{path}': the file is truncated ({file_size - data_start} "
                         f"of {needed} data bytes for shape {shape}); copy or save it again")
    with _guard(path, what=".npy file"):
        return np.load(path, mmap_mode="r", allow_pickle=False)


def _load_npz(path, key):
    with _guard(path, what=".npz file"):
        archive = np.load(path, allow_pickle=False)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise StackError(f"cannot read '{path}': not a .npz archive (it looks like a .npy "
                         "file); rename it to .npy")
    with archive:
        names = list(archive.files)
        listed = ", ".join(names)
        if not names:
            raise StackError(f"cannot read '{path}': the archive holds no arrays")
        if key is None and len(names) > 1:
            raise KeyNeeded(f"'{path}' holds several arrays ({listed}); choose one "
                            "(command line: --key NAME)", names)
        key = names[0] if key is None else key.removesuffix(".npy")
        if key not in names:
            raise StackError(f"'{path}' has no array named '{key}'; it holds: {listed}; "
                             "pass one of these as --key NAME")
        with _guard(path, what=".npz file"):
            return archive[key]


class _TiffErrors(logging.Handler):
    """Collects the errors tifffile logs (instead of raising) in this thread."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.thread, self.messages = threading.get_ident(), []

    def emit(self, record):
        if record.thread == self.thread:
            self.messages.append(re.sub(r"^<[^>]*>\s*", "", first_line(record.getMessage(), 160)))


@contextmanager
def _open_tiff(path):
    """Open a TIFF file and check it against what it declares; yield (TiffFile, first series).

    tifffile logs (rather than raises) many signs of a truncated file and then returns a shorter
    series, so its log errors are collected here and turned into a StackError, before and after
    the caller reads the pages.
    """
    errors, logger = _TiffErrors(), logging.getLogger("tifffile")
    logger.addHandler(errors)   # also keeps tifffile's messages off stderr
    try:
        with _guard(path, what="TIFF file"):
            tif = tifffile.TiffFile(path)
        with tif:
            with _guard(path, what="TIFF file"):
                series = tif.series[0]
                n_pages = len(series)
                if n_pages == 0 or np.prod(series.shape) % n_pages:
                    errors.messages.append(f"{n_pages} pages do not fit shape {series.shape}")
                shaped = tif.shaped_metadata[0].get("shape") if tif.is_shaped else None
                if shaped and np.prod(shaped) != np.prod(series.shape):
                    errors.messages.append(f"declares shape {tuple(shaped)} but holds "
                                           f"{series.shape}")
                images = int((tif.imagej_metadata or {}).get("images", 1))
                if tif.is_imagej and (series.kind != "imagej" or n_pages < images):
                    errors.messages.append(f"declares {images} ImageJ images but holds "
                                           f"{n_pages} pages")
                size = tif.filehandle.size
                for page in series.pages:
                    if page is None or any(offset + count > size for offset, count in
                                           zip(page.dataoffsets, page.databytecounts)):
                        errors.messages.append("page data lies beyond the end of the file")
                        break
            _raise_tiff_errors(path, errors.messages)
            yield tif, series
            _raise_tiff_errors(path, errors.messages)
    finally:
        logger.removeHandler(errors)


def _raise_tiff_errors(path, messages):
    if messages:
        raise StackError(f"cannot read '{path}': the TIFF file is truncated or damaged "
                         f"({messages[0]}); check the file or copy it again")


def _tiff_pages(path, tif, start, stop):
    """Pages ``start:stop`` of the first series as an array of shape (stop - start, -1)."""
    with _guard(path, what="TIFF file"):
        return tif.asarray(key=range(start, stop), series=0).reshape(stop - start, -1)


def _load_tiff(path, progress=None):
    with _open_tiff(path) as (tif, series):
        n_pages = len(series)
        with _guard(path, what="TIFF file"):
            out = np.empty(series.shape, series.dtype)
        flat = out.reshape(n_pages, -1)
        prog = _Progress(progress, n_pages)
        for start, stop in _row_chunks(n_pages, flat.shape[1] * out.itemsize):
            pages = _tiff_pages(path, tif, start, stop)
            if pages.shape != flat[start:stop].shape:
                _raise_tiff_errors(path, [f"pages {start}:{stop} hold {pages.size} values, "
                                          f"not {flat[start:stop].size}"])
            flat[start:stop] = pages
            prog(stop)
    return out


def _load_image(path, folder_item=False):
    if path.suffix.lower() in _TIFF_EXTS:
        return _load_tiff(path)
    with _guard(path, what="image file"):
        image = iio.imread(path, plugin="pillow", index=0 if folder_item else None)
        with open(path, "rb") as fh:
            head = fh.read(26)
    if not folder_item and path.suffix.lower() in (".gif", ".webp") and image.ndim == 4 \
            and image.shape[0] == 1:
        image = image[0]    # a still GIF/WebP is one image, not a stack of one
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16 and head[25] in (2, 4, 6) \
            and image.dtype.itemsize == 1:
        raise StackError(f"cannot read '{path}' without losing precision: it is a 16-bit colour "
                         "PNG, which Pillow reads as 8-bit; convert it to a 16-bit TIFF")
    return image


def _natural_key(name):
    parts = re.split(r"(\d+)", name.lower())
    return [int(p) if i % 2 else p for i, p in enumerate(parts)], name


def _load_folder(folder, progress=None):
    with _guard(folder, what="folder"):
        files = sorted((p for p in folder.iterdir() if p.suffix.lower() in _FOLDER_EXTS
                        and not p.name.startswith(".") and p.is_file()),
                       key=lambda p: _natural_key(p.name))
    if not files:
        raise StackError(f"cannot read '{folder}': the folder holds no PNG, JPEG or TIFF "
                         "images; choose a folder of images or a stack file")
    prog, out = _Progress(progress, len(files)), None
    for i, file in enumerate(files):
        image = _load_image(file, folder_item=True)
        if out is None:
            with _guard(folder, what="folder"):
                out = np.empty((len(files),) + image.shape, image.dtype)
        elif image.shape != out.shape[1:] or image.dtype != out.dtype:
            raise StackError(
                f"cannot read '{folder}': '{file.name}' is {image.shape} {image.dtype} but "
                f"'{files[0].name}' is {out.shape[1:]} {out.dtype}; all images in the folder "
                "must have the same size and type")
        out[i] = image
        prog(i + 1)
    return out
