"""Writing a stack: checking the output, opening its chunk writer, saving a whole stack.

:func:`save_stack` checks the output first (:func:`check_output`), then
:func:`~histeq_gui.core.io.write_stack` writes the stack under a temporary name from
:func:`~histeq_gui.core.io.atomic.staged` through the format's chunk writer
(:func:`open_writer`), which reads it back chunk by chunk and compares each
chunk's digest with the one written; only then is it moved into place.
Which writer an output gets is the table's
(:func:`~histeq_gui.core.io.formats.output_for`); what the kind cannot hold
or may not replace, its writer says (``check_stack``, ``check_replace``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..errors import StackError
from ..stack import Layout, guess_layout
from . import files
from .atomic import check_writable, clean_up, exists, staged
from .files import Progress, check_array, guard
from .formats import output_for, output_of
from .reader import reader_for
from .writer import ChunkWriter

__all__ = ["output_kind", "check_output", "open_writer", "write_axis", "save_stack",
           "write_stack"]


def output_kind(path: str | os.PathLike) -> str:
    """Return the output format of ``path``: "npy", "npz", "tif", "png", "zarr" or "png-folder".

    ``.png`` is one PNG file, for a single image (2-D, or RGB/RGBA channels
    last); ``.zarr`` a Zarr v3 array (a folder; needs the ``zarr`` extra); a
    path without an extension is a folder of numbered PNG files.  Raises
    StackError for any other extension.

    Examples
    --------
    >>> output_kind("eq.tif"), output_kind("eq.png"), output_kind("frames")
    ('tif', 'png', 'png-folder')
    """
    return output_for(path).kind


def check_output(path: str | os.PathLike, *, dtype: DTypeLike | None = None,
                 layout: Layout | None = None, overwrite: bool = False) -> str:
    """Check, before any work, that a stack can be saved at ``path``.

    Parameters
    ----------
    path : str or path-like
        The output path, as for :func:`save_stack`.
    dtype : dtype-like, optional
        Dtype of the stack to be written (PNG folders hold uint8 and uint16).
    layout : Layout, optional
        Its layout (PNG files hold gray, RGB or RGBA; uint16 only for gray;
        a ``.png`` file holds a single image).
    overwrite : bool, optional
        Whether an existing output may be replaced.

    Returns
    -------
    str
        The output kind (see :func:`~histeq_gui.core.io.output_kind`).

    Raises
    ------
    StackError
        For what :func:`save_stack` would refuse: an unsupported extension or
        dtype, a missing folder, an existing output without ``overwrite`` or
        one that cannot be replaced; and for a folder that does not accept
        new files (a hidden probe file is created and removed to find out,
        which also works where permission bits do not tell, e.g. for root).

    Notes
    -----
    Before looking at the target, what runs of this program killed while
    writing into the folder left there is cleaned up
    (:func:`~histeq_gui.core.io.atomic.clean_up`), so an interrupted commit is
    repaired before its target is judged.
    """
    path = Path(path)
    writer = output_for(path).writer
    writer.check_stack(path, dtype, layout)
    with guard(path, "write"):
        if not path.parent.is_dir():
            raise StackError(f"cannot write '{path}': the folder '{path.parent}' does not "
                             "exist; create it first")
        clean_up(path.parent)       # what killed runs left there, before looking at the target
        present = exists(path)
        if present and not overwrite:
            raise StackError(f"'{path}' exists; pass --overwrite to replace it")
        if present:
            writer.check_replace(path)
    check_writable(path)
    return writer.kind


def open_writer(path: str | os.PathLike, kind: str, shape: tuple[int, ...], dtype: DTypeLike,
                layout: Layout, *, target: str | os.PathLike | None = None, key: str = "images",
                axis: int | None | str = "auto", names: Sequence[str] | None = None,
                calibration: dict | None = None) -> ChunkWriter:
    """Open a :class:`ChunkWriter` of ``kind`` at ``path`` (a temporary that does not exist).

    Parameters
    ----------
    path : path-like
        Where to write, e.g. a temporary path from
        :func:`~histeq_gui.core.io.atomic.staged`.
    kind : str
        "npy", "npz", "tif", "png", "png-folder" or "zarr" (see
        :func:`~histeq_gui.core.io.output_kind`).
    shape, dtype
        Of the whole stack.
    layout : Layout
        Its axes (decides TIFF pages and PNG images).
    target : path-like, optional
        The final path, for error messages.
    key : str, optional
        The array's name in an ``.npz`` file.
    axis : int, None or "auto", optional
        The axis chunks are cut along; "auto" is :func:`write_axis`.
    names : sequence of str, optional
        A PNG folder's file names, one per image (default numbered).
    calibration : dict, optional
        The stack's spatial calibration (a reader's ``calibration``), kept
        by the outputs that can hold it (TIFF files).

    Returns
    -------
    ChunkWriter
        Opened; write its chunks in order, then ``finish()`` and ``verify()``.

    Examples
    --------
    >>> import numpy as np
    >>> from histeq_gui.core.stack import guess_layout
    >>> stack = np.zeros((4, 8, 8), np.uint8)
    >>> w = open_writer(tmp / "a.npy", "npy", stack.shape, stack.dtype,
    ...                 guess_layout(stack.shape))                        # doctest: +SKIP
    >>> for start in range(0, 4, 2):                                      # doctest: +SKIP
    ...     w.write(start, start + 2, stack[start:start + 2])
    >>> w.finish(); w.verify()                                            # doctest: +SKIP
    """
    cls = output_of(kind).writer
    if axis == "auto":
        axis = cls.axis_for(layout)
    writer = cls(path, shape, dtype, layout, axis, target=target, key=key, names=names,
                 calibration=calibration)
    try:
        return writer.open()
    except BaseException:
        writer.abort()
        raise


def write_axis(layout: Layout, kind: str) -> int | None:
    """The axis a stack of ``layout`` is written along by a writer of ``kind`` (None: whole).

    Writers of whole images (PNG files, Zarr arrays) take the stack's image
    axis; files written in order the first axis longer than one before the
    image's own axes (:meth:`~histeq_gui.core.io.ChunkWriter.axis_for`).
    """
    return output_of(kind).writer.axis_for(layout)


def save_stack(path: str | os.PathLike, array: ArrayLike, *, layout: Layout | None = None,
               key: str = "images", overwrite: bool = False,
               progress: Callable[[int, int], object] | None = None) -> Path:
    """Write a stack atomically to .npy, .npz, .tif or a folder of PNG files.

    Parameters
    ----------
    path : str or path-like
        Output path; the format comes from the extension (see
        :func:`~histeq_gui.core.io.output_kind`).  ``.png`` is one PNG file for a single image
        (uint8, or uint16 grayscale).  A path without an extension is a folder of
        ``00000.png``, ``00001.png``, ... (one file per image of ``layout``).
    array : array_like
        Numeric stack, at least two-dimensional.
    layout : Layout, optional
        Image/colour axes of ``array``; default ``guess_layout(array.shape,
        "auto")``.  Decides what one PNG holds and how TIFF pages are stored
        (RGB pages for channels last of size 3 or 4).
    key : str, optional
        Array name inside a .npz file (default "images").
    overwrite : bool, optional
        Replace an existing output.  Without it an existing output is an error.
    progress : callable, optional
        ``progress(done, total)`` called per image (PNG folder), per row of
        the first axis (TIFF: per image of an ``(N, H, W)`` stack) or per
        chunk of rows (.npy/.npz); ``total`` counts writing, then verifying.
        Whatever it raises propagates unchanged, after the partial output is
        removed.

    Returns
    -------
    pathlib.Path
        The output path.

    Raises
    ------
    StackError
        For an unsupported extension or dtype (PNG holds only uint8 and
        uint16, and uint16 only for grayscale), a missing parent folder, an
        existing output without ``overwrite``, a write error or a failed
        verification.  No partial output remains and an existing output is
        left untouched.

    Notes
    -----
    :func:`~histeq_gui.core.io.write_stack` writes and verifies the stack under a hidden name
    from :func:`~histeq_gui.core.io.atomic.staged`, which then moves it into
    place.  TIFF files keep the shape in tifffile's metadata, so they read
    back with the same shape and dtype; a PNG folder reads back as
    ``(N, H, W)`` or ``(N, H, W, C)``.
    """
    path = Path(path)
    check_output(path, overwrite=overwrite)
    with staged([path], overwrite) as (temp,):
        write_stack(temp, array, layout=layout, key=key, progress=progress, target=path)
    return path


def write_stack(path: str | os.PathLike, array: ArrayLike, *, layout: Layout | None = None,
                key: str = "images", progress: Callable[[int, int], object] | None = None,
                target: str | os.PathLike | None = None) -> None:
    """Write a stack at exactly ``path`` (which must not exist), read it back and compare.

    The writing half of :func:`save_stack`, for a temporary path from
    :func:`~histeq_gui.core.io.atomic.staged`: ``array``, ``layout``, ``key``
    and ``progress`` are as there and the format comes from the extension of
    ``path``; ``target`` (default ``path``) is the path named in error
    messages.  The stack goes through the format's chunk writer
    (:func:`open_writer`) in chunks of about 8 MB,
    which verifies it chunk by chunk.  Raises StackError as :func:`save_stack`
    does; what was written is left for ``staged`` to remove.
    """
    path = Path(path)
    target = path if target is None else Path(target)
    kind = output_kind(path)
    array = np.asanyarray(array)
    check_array(array, "the stack to save")
    if layout is None:
        layout = guess_layout(array.shape, "auto")
    elif tuple(layout.shape) != array.shape:
        raise StackError(f"the layout is for shape {tuple(layout.shape)} but the stack has "
                         f"shape {array.shape}; pass the stack's own layout")
    output_of(kind).writer.check_stack(target, array.dtype, layout)
    source = reader_for(array)
    writer = open_writer(path, kind, array.shape, array.dtype, layout, target=target, key=key)
    length = writer.length
    prog = Progress(progress, 2 * length)
    axis = writer.axis
    step = 1 if axis is None or writer.image_at_a_time else \
        max(1, files.PIECE_BYTES // max(array.nbytes // array.shape[axis], 1))
    try:
        with writer:
            for start in range(0, length, step):
                stop = min(start + step, length)
                chunk = array if axis is None else source.read(start, stop, axis)
                with guard(target, "write", progress=prog):
                    writer.write(start, stop, chunk)
                prog(stop)
            writer.finish()
        writer.verify(lambda done, total: prog(length + done))
    finally:
        source.close()
