"""Save image stacks: .npy, .npz, .tif, one .png image and folders of numbered PNG files.

:func:`save_stack` checks the output first (:func:`check_output`), then
:func:`write_stack` writes the stack under a temporary name from
:func:`~histeq_gui.core.atomic.staged`, reads it back in chunks and compares
it with what was meant to be written; only then is it moved into place.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import tifffile

from .atomic import _new_file, _sync_folder, _temp_path, clean_up, exists, staged
from .errors import StackError
from .files import _check_array, _guard, _Progress, _row_chunks
from .load import MappedReader, _load_image, _load_npy, _load_npz, _open_tiff, _tiff_pages
from .stack import guess_layout, image_at

__all__ = ["output_kind", "check_output", "save_stack", "write_stack"]

_OUTPUT_KINDS = {".npy": "npy", ".npz": "npz", ".tif": "tif", ".tiff": "tif", ".png": "png",
                 "": "png-folder"}
_BIGTIFF_BYTES = 2 ** 31    # write BigTIFF above this many bytes of pixels
_WRITABLE = (".npy, .npz, .tif/.tiff, .png (one image), or a name without extension for a "
             "folder of PNG files")


def output_kind(path):
    """Return the output format of ``path``: "npy", "npz", "tif", "png" or "png-folder".

    ``.png`` is one PNG file, for a single image (2-D, or RGB/RGBA channels
    last); a path without an extension is a folder of numbered PNG files.
    Raises StackError for any other extension.

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
    with _guard(path, "write"):
        if not path.parent.is_dir():
            raise StackError(f"cannot write '{path}': the folder '{path.parent}' does not "
                             "exist; create it first")
        clean_up(path.parent)       # what killed runs left there, before looking at the target
        present = exists(path)
        if present and not overwrite:
            raise StackError(f"'{path}' exists; pass --overwrite to replace it")
        if present and kind != "png-folder" and path.is_dir():
            raise StackError(f"cannot write '{path}': it is a folder; choose a file name")
        if present and kind == "png-folder":
            if not path.is_dir():
                raise StackError(f"cannot write '{path}': it exists and is not a folder; "
                                 "choose another name")
            others = [p.name for p in path.iterdir() if not re.fullmatch(r"\d+\.png", p.name)]
            if others:
                raise StackError(f"will not replace '{path}': it holds files other than "
                                 f"numbered PNGs (e.g. '{others[0]}'); choose a new or empty "
                                 "folder")
        probe = _temp_path(path, "probe")
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
    messages.  Raises StackError as :func:`save_stack` does; what was
    written is left for ``staged`` to remove.
    """
    path = Path(path)
    target = path if target is None else Path(target)
    kind = output_kind(path)
    array = np.asanyarray(array)
    _check_array(array, "the stack to save")
    if layout is None:
        layout = guess_layout(array.shape, "auto")
    elif tuple(layout.shape) != array.shape:
        raise StackError(f"the layout is for shape {tuple(layout.shape)} but the stack has "
                         f"shape {array.shape}; pass the stack's own layout")
    if kind == "npz" and (not key or "/" in key):
        raise StackError(f"invalid .npz key {key!r}; use a plain name such as 'images'")
    if kind == "png-folder":
        _check_png(array.dtype, layout)
        prog = _Progress(progress, 2 * layout.n_images)
        _write_png_folder(path, target, array, layout, prog)
    elif kind == "png":
        _check_png(array.dtype, layout, single=True)
        prog = _Progress(progress, 2)
        with _new_file(path, target, prog) as fh:
            iio.imwrite(fh, _png_image(array, layout, 0), extension=".png", plugin="pillow")
        prog(1)
    else:
        prog = _Progress(progress, 2 * array.shape[0])
        with _new_file(path, target, prog) as fh:
            if kind == "npy":
                _write_npy(fh, array, prog)
            elif kind == "npz":
                with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as archive, \
                        archive.open(key + ".npy", "w", force_zip64=True) as member:
                    _write_npy(member, array, prog)
            else:
                _write_tiff(fh, array, layout, prog)
    try:
        _compare(path, kind, array, layout, key, prog)
    except StackError as exc:
        if exc is prog.error:
            raise
        raise StackError(f"cannot write '{target}': the written file does not read back as "
                         f"written ({exc}); nothing was written, check the disk and retry") from exc


def _write_npy(fh, array, prog):
    header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False,
              "shape": array.shape}
    np.lib.format.write_array_header_1_0(fh, header)
    for start, stop in _row_chunks(array.shape[0], array[:1].nbytes):
        fh.write(np.ascontiguousarray(array[start:stop]).data.cast("B"))
        prog(stop)


def _write_tiff(fh, array, layout, prog):
    # One page holds (H, W, C) for RGB(A) channels last, else (H, W).
    k = 3 if layout.channel_axis == array.ndim - 1 and layout.channels in (3, 4) else 2
    dtype = _native(array.dtype)
    batch = array.shape[:-k]
    pages_per_row = int(np.prod(batch[1:], dtype=np.int64)) if batch else 1

    def pages():
        for i, index in enumerate(np.ndindex(batch)):
            yield np.ascontiguousarray(array[index], dtype=dtype)
            if batch and (i + 1) % pages_per_row == 0:
                prog((i + 1) // pages_per_row)

    tifffile.imwrite(fh, pages(), shape=array.shape, dtype=dtype,
                     photometric="rgb" if k == 3 else "minisblack",
                     bigtiff=array.nbytes > _BIGTIFF_BYTES)
    prog(array.shape[0])


def _native(dtype):
    return dtype.newbyteorder("=")


def _same(a, b):
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def _compare(path, kind, array, layout, key, prog):
    """Read ``path`` back (in chunks) and compare it with ``array``; StackError if it differs."""
    if kind == "png":
        stored, meant = _load_image(path, folder_item=True), _png_image(array, layout, 0)
        if stored.dtype != meant.dtype or not _same(stored, meant):
            raise StackError(f"the image reads back as {stored.shape} {stored.dtype}")
        prog(2)
        return
    if kind == "png-folder":
        names = sorted(os.listdir(path))
        if len(names) != layout.n_images:
            raise StackError(f"{len(names)} files for {layout.n_images} images")
        for i, name in enumerate(names):
            stored, meant = _load_image(path / name, folder_item=True), _png_image(array, layout, i)
            if stored.dtype != meant.dtype or not _same(stored, meant):
                raise StackError(f"{name} reads back as {stored.shape} {stored.dtype}")
            prog(len(names) + i + 1)
        return
    rows, row_bytes = array.shape[0], array[:1].nbytes
    expected = array.dtype if kind in ("npy", "npz") else _native(array.dtype)

    def check(shape, dtype, read_rows):
        if tuple(shape) != array.shape or dtype != expected:
            raise StackError(f"got {tuple(shape)} {dtype} instead of {array.shape} {expected}")
        for start, stop in _row_chunks(rows, row_bytes):
            if not _same(read_rows(start, stop), array[start:stop]):
                raise StackError(f"rows {start}:{stop} differ")
            prog(rows + stop)

    if kind == "npz":
        # _load_npz without a key also proves that the archive holds just this one array
        stored = _load_npz(path, None)
        check(stored.shape, stored.dtype, lambda start, stop: stored[start:stop])
        return
    if kind == "npy":
        stored = _load_npy(path)
        reader = MappedReader.for_array(stored)     # file reads, chunk by chunk
        try:
            check(stored.shape, stored.dtype, lambda start, stop: reader.read(stored[start:stop]))
        finally:
            reader.close()
        return
    with _open_tiff(path) as (tif, series):
        n_pages, shape = len(series), tuple(series.shape)
        if n_pages == 1:                # a single image: one page holds every row
            whole = _tiff_pages(path, tif, 0, 1).reshape(shape)
            check(shape, series.dtype, lambda start, stop: whole[start:stop])
        elif n_pages % rows:
            raise StackError(f"{n_pages} pages for {rows} rows")
        else:
            per_row = n_pages // rows
            check(shape, series.dtype, lambda start, stop: _tiff_pages(
                path, tif, start * per_row, stop * per_row).reshape((stop - start,) + shape[1:]))


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


def _png_image(array, layout, i):
    """Image ``i`` as it goes into a PNG: (H, W) or (H, W, 3/4), native byte order."""
    image = np.ascontiguousarray(image_at(array, layout, i), dtype=_native(array.dtype))
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


def _write_png_folder(path, target, array, layout, prog):
    """Write one PNG per image into the new folder ``path``; fsync each file, then the folder."""
    n = layout.n_images
    digits = max(5, len(str(n - 1)))
    with _guard(target, "write", progress=prog):
        os.mkdir(path)
    for i in range(n):
        with _new_file(path / f"{i:0{digits}d}.png", target, prog) as fh:
            iio.imwrite(fh, _png_image(array, layout, i), extension=".png", plugin="pillow")
        prog(i + 1)
    with _guard(target, "write", progress=prog):
        _sync_folder(path)
