"""Save image stacks: .npy, .npz, .tif, one .png image and folders of numbered PNG files.

:func:`save_stack` checks the output first (:func:`check_output`), then
:func:`write_stack` writes the stack under a temporary name from
:func:`~histeq_gui.core.atomic.staged` through the format's chunk writer
(:mod:`~histeq_gui.core.writers`), which reads it back chunk by chunk and
compares each chunk's digest with the one written; only then is it moved
into place.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from . import files
from . import readers
from .atomic import temp_path, clean_up, exists, staged
from ..errors import StackError
from .files import check_array, guard, Progress
from .sidecar import own_files
from ..stack import guess_layout
from .writers import open_writer

__all__ = ["output_kind", "check_output", "save_stack", "write_stack"]

_OUTPUT_KINDS = {".npy": "npy", ".npz": "npz", ".tif": "tif", ".tiff": "tif", ".png": "png",
                 ".zarr": "zarr", "": "png-folder"}
_FOLDER_KINDS = ("png-folder", "zarr")
_WRITABLE = (".npy, .npz, .tif/.tiff, .png (one image), .zarr (a Zarr v3 array), or a name "
             "without extension for a folder of PNG files")


def output_kind(path):
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
    path = Path(path)
    kind = _OUTPUT_KINDS.get(path.suffix.lower())
    if kind is None:
        raise StackError(f"cannot write '{path}': unsupported output type '{path.suffix}'; "
                         f"use {_WRITABLE}")
    return kind


def check_output(path, *, dtype=None, layout=None, overwrite=False):
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
        The output kind (see :func:`output_kind`).

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
    (:func:`~histeq_gui.core.atomic.clean_up`), so an interrupted commit is
    repaired before its target is judged.
    """
    path = Path(path)
    kind = output_kind(path)
    if kind in ("png", "png-folder") and dtype is not None:
        _check_png(np.dtype(dtype), layout, single=kind == "png")
    if kind == "zarr":
        from .zarr_store import zarr_module

        zarr_module(path, "write")
    with guard(path, "write"):
        if not path.parent.is_dir():
            raise StackError(f"cannot write '{path}': the folder '{path.parent}' does not "
                             "exist; create it first")
        clean_up(path.parent)       # what killed runs left there, before looking at the target
        present = exists(path)
        if present and not overwrite:
            raise StackError(f"'{path}' exists; pass --overwrite to replace it")
        if present and kind not in _FOLDER_KINDS and path.is_dir():
            raise StackError(f"cannot write '{path}': it is a folder; choose a file name")
        if present and kind == "zarr" and not (path.is_dir() and not path.is_symlink()
                                               and (path / "zarr.json").is_file()):
            raise StackError(f"will not replace '{path}': it is not a Zarr array (no "
                             "zarr.json in a folder); choose another name")
        if present and kind == "png-folder":
            if not path.is_dir():
                raise StackError(f"cannot write '{path}': it exists and is not a folder; "
                                 "choose another name")
            ours = own_files(path)      # named after their sources by an earlier export
            others = [p.name for p in path.iterdir()
                      if not re.fullmatch(r"\d+\.png", p.name) and p.name not in ours]
            if others:
                raise StackError(f"will not replace '{path}': it holds files other than "
                                 f"numbered PNGs (e.g. '{others[0]}'); choose a new or empty "
                                 "folder")
        probe = temp_path(path, "probe")
        with open(probe, "xb"):
            pass
        probe.unlink()
    return kind


def save_stack(path, array, *, layout=None, key="images", overwrite=False, progress=None):
    """Write a stack atomically to .npy, .npz, .tif or a folder of PNG files.

    Parameters
    ----------
    path : str or path-like
        Output path; the format comes from the extension (see
        :func:`output_kind`).  ``.png`` is one PNG file for a single image
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
    :func:`write_stack` writes and verifies the stack under a hidden name
    from :func:`~histeq_gui.core.atomic.staged`, which then moves it into
    place.  TIFF files keep the shape in tifffile's metadata, so they read
    back with the same shape and dtype; a PNG folder reads back as
    ``(N, H, W)`` or ``(N, H, W, C)``.
    """
    path = Path(path)
    check_output(path, overwrite=overwrite)
    with staged([path], overwrite) as (temp,):
        write_stack(temp, array, layout=layout, key=key, progress=progress, target=path)
    return path


def write_stack(path, array, *, layout=None, key="images", progress=None, target=None):
    """Write a stack at exactly ``path`` (which must not exist), read it back and compare.

    The writing half of :func:`save_stack`, for a temporary path from
    :func:`~histeq_gui.core.atomic.staged`: ``array``, ``layout``, ``key``
    and ``progress`` are as there and the format comes from the extension of
    ``path``; ``target`` (default ``path``) is the path named in error
    messages.  The stack goes through the format's chunk writer
    (:func:`~histeq_gui.core.writers.open_writer`) in chunks of about 8 MB,
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
    if kind in ("png", "png-folder"):
        _check_png(array.dtype, layout, single=kind == "png")
    source = readers.reader_for(array)
    writer = open_writer(path, kind, array.shape, array.dtype, layout, target=target, key=key)
    length = writer.length
    prog = Progress(progress, 2 * length)
    axis = writer.axis
    # PNG folders: an image at a time (encoding is slow; progress per image); files: ~8 MB
    step = 1 if axis is None or kind == "png-folder" else \
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


def _check_png(dtype, layout, single=False):
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
