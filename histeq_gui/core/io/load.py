"""Reading a stack: :func:`open_reader` (on demand) and :func:`load_stack` (whole).

Loading never unpickles, never modifies the input and turns every failure
into a one-line :class:`~histeq_gui.core.errors.StackError` that says what is
wrong and what to do.  Which format module opens a path is the table's
(:func:`~histeq_gui.core.io.formats.input_for`); what every input gets,
whatever its format, is here: the path looked at once (missing, a link
loop, a named pipe that would block forever: one line), ``key`` allowed
only where a format takes one, the array checked to be a non-empty
numeric stack, and the file's signature kept to tell later whether it
changed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import StackError
from .files import check_array, check_regular, signature, stat_input
from .folders import RaggedReader
from .formats import READABLE, input_for
from .reader import Reader

__all__ = ["load_stack", "open_reader"]


def open_reader(path: str | os.PathLike, key: str | None = None, *,
                probe: bool | int = True, mixed: bool = False) -> Reader | RaggedReader:
    """Open a stack file or folder for reading on demand.

    Parameters
    ----------
    path : str or path-like
        Anything :func:`load_stack` reads, and Zarr arrays (``.zarr``
        folders, with the ``zarr`` extra).
    key : str, optional
        The array of an ``.npz`` file (needed when it holds several).
    probe : bool or int, optional
        For a folder of images: read every image's header now (True), or
        open it from its listing and first image only (False: a
        :class:`~histeq_gui.core.io.folders.RaggedReader` that reads the
        other headers when asked for), or read them if the folder holds at
        most this many images (see :func:`~histeq_gui.core.io.folders.open_folder`).

    mixed : bool, optional
        For a folder mixing gray and colour images: keep each image as its
        file holds it (for :func:`~histeq_gui.core.stats.image_stats`,
        which describes each image on its own) rather than reading them all
        as colour (see :class:`~histeq_gui.core.io.folders.MixedReader`).

    Returns
    -------
    Reader
        Close it when done (it is a context manager).  A folder of images
        of different sizes gives a
        :class:`~histeq_gui.core.io.folders.RaggedReader` instead.

    Raises
    ------
    StackError
        With the same one-line messages as ``load_stack``, for what can be
        told without reading the pixels.
    """
    path = Path(path)
    info = stat_input(path)        # missing, link loop, name too long: one line
    folder = stat.S_ISDIR(info.st_mode)
    found = input_for(path, folder)
    if key is not None and (found is None or not found.key):
        raise StackError(f"key={key!r} (--key) only applies to .npz files, not '{path}'; "
                         "leave it out")
    if not folder:
        check_regular(path, info)      # a named pipe would block forever: never opened
    if found is None:
        raise StackError(f"cannot read '{path}': unsupported file type '{path.suffix}'; "
                         f"use {READABLE}")
    if found.key:
        reader = found.open(path, key)
    else:
        reader = found.open(path, probe=probe, mixed=mixed) if found.probes else \
            found.open(path)
    try:
        if not reader.ragged:           # a ragged folder's images are checked as it opens
            check_array(reader, f"'{path}'")
    except BaseException:
        reader.close()
        raise
    reader.signature = signature(info)
    return reader


def load_stack(path: str | os.PathLike, key: str | None = None,
               progress: Callable[[int, int], object] | None = None) -> np.ndarray:
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
    with open_reader(path, key) as reader:
        return reader.load(progress)
