"""Load and save image stacks safely: .npy, .npz, .tif, image folders and files.

Loading never unpickles, never modifies the input and turns every failure
into a one-line :class:`~histeq_gui.core.errors.StackError` that says what is
wrong and what to do.  Saving is atomic: the output is written under a
temporary name in the target's own folder, read back and compared with what
was meant to be written, and only then moved into place with
:func:`os.replace`; on any error or interruption nothing partial remains and
an existing target is left untouched.  :func:`staged` does the moving, also
for several outputs that must appear together (a stack and its sidecar).

Supported inputs: ``.npy`` (memory-mapped), ``.npz``, ``.tif``/``.tiff``
(first series, multi-page and ImageJ), a folder of PNG/JPEG/TIFF images and
single image files (PNG, JPEG, BMP, GIF, WebP; an animated GIF gives all its
frames).  Outputs: ``.npy``, ``.npz``, ``.tif``/``.tiff`` and, for a path
without an extension, a folder of numbered PNG files.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import tifffile

from .errors import Cancelled, StackError
from .stack import guess_layout, image_at

__all__ = ["load_stack", "save_stack", "write_sidecar", "read_sidecar", "sidecar_path",
           "output_kind", "check_output", "staged", "write_stack", "write_json"]

_TIFF_EXTS = (".tif", ".tiff")
_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
_FOLDER_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
_OUTPUT_KINDS = {".npy": "npy", ".npz": "npz", ".tif": "tif", ".tiff": "tif", "": "png-folder"}
_CHUNK_BYTES = 1 << 23      # read, write and compare in pieces of about 8 MB
_BIGTIFF_BYTES = 2 ** 31    # write BigTIFF above this many bytes of pixels
_READABLE = ".npy, .npz, .tif/.tiff, .png, .jpg/.jpeg, .bmp, .gif, .webp or a folder of images"
_WRITABLE = ".npy, .npz, .tif/.tiff, or a name without extension for a folder of PNG files"


# --- errors and progress -----------------------------------------------------------------

def _first_line(exc):
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


class _Progress:
    """Calls ``callback(done, total)`` and remembers what it raised, so guards let it through."""

    def __init__(self, callback, total):
        self.callback, self.total, self.error, self.last = callback, max(int(total), 1), None, 0

    def __call__(self, done):
        if self.callback is not None and done != self.last:
            self.last = done
            try:
                self.callback(done, self.total)
            except BaseException as exc:
                self.error = exc
                raise


@contextmanager
def _guard(path, doing="read", what="file", progress=None):
    """Turn library exceptions into a one-line StackError (progress errors pass unchanged)."""
    try:
        yield
    except (StackError, Cancelled):
        raise
    except Exception as exc:
        if progress is not None and exc is progress.error:
            raise
        if isinstance(exc, FileNotFoundError):
            reason = "no such file or folder; check the path"
        elif isinstance(exc, PermissionError):
            reason = "permission denied; check the permissions of the file and its folder"
        elif isinstance(exc, MemoryError):
            reason = "not enough memory; free some memory or use a smaller stack"
        elif doing == "read":
            reason = (f"not a valid {what} ({_first_line(exc)}); "
                      "check the file or convert it to .npy/.tif")
        else:
            reason = f"{_first_line(exc)}; check the folder's permissions and free space"
        raise StackError(f"cannot {doing} '{path}': {reason}") from exc


def _check_array(array, where):
    """Raise StackError unless ``array`` is a non-empty numeric stack of images."""
    dtype = array.dtype
    if dtype.kind == "c":
        raise StackError(f"{where} holds complex numbers; save the real part or the magnitude "
                         "(np.abs) as a real array instead")
    if dtype.kind not in "biuf" or dtype.fields is not None:
        raise StackError(f"{where} holds values of type {dtype}, not numbers; "
                         "use an integer or float array")
    if array.ndim < 2:
        raise StackError(f"{where} holds an array of shape {array.shape}, not images; images "
                         "need at least two axes (height, width)")
    if array.size == 0:
        raise StackError(f"{where} holds no pixels (shape {array.shape}); check the data")


def _native(dtype):
    return dtype.newbyteorder("=")


def _same(a, b):
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def _row_chunks(n_rows, row_bytes):
    step = max(1, _CHUNK_BYTES // max(int(row_bytes), 1))
    for start in range(0, n_rows, step):
        yield start, min(start + step, n_rows)


def _natural_key(name):
    parts = re.split(r"(\d+)", name.lower())
    return [int(p) if i % 2 else p for i, p in enumerate(parts)], name


# --- loading -----------------------------------------------------------------------------

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
            raise StackError(f"'{path}' holds several arrays ({listed}); choose one with "
                             "key=NAME (command line: --key NAME)")
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
            self.messages.append(re.sub(r"^<[^>]*>\s*", "", _first_line(record.getMessage())))


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


# --- saving ------------------------------------------------------------------------------

def output_kind(path):
    """Return the output format of ``path``: "npy", "npz", "tif" or "png-folder".

    A path without an extension is a folder of numbered PNG files.  Raises
    StackError for any other extension.
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
        Its layout (PNG folders hold gray, RGB or RGBA; uint16 only for gray).
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
    """
    path = Path(path)
    kind = output_kind(path)
    if kind == "png-folder" and dtype is not None:
        _check_png(np.dtype(dtype), layout)
    with _guard(path, "write"):
        if not path.parent.is_dir():
            raise StackError(f"cannot write '{path}': the folder '{path.parent}' does not "
                             "exist; create it first")
        exists = _exists(path)
        if exists and not overwrite:
            raise StackError(f"'{path}' exists; pass --overwrite to replace it")
        if exists and kind != "png-folder" and path.is_dir():
            raise StackError(f"cannot write '{path}': it is a folder; choose a file name")
        if exists and kind == "png-folder":
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
        :func:`output_kind`).  A path without an extension is a folder of
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
    from :func:`staged`, which then moves it into place.  TIFF files keep
    the shape in tifffile's metadata, so they read back with the same shape
    and dtype; a PNG folder reads back as ``(N, H, W)`` or ``(N, H, W, C)``.
    """
    path = Path(path)
    check_output(path, overwrite=overwrite)
    with staged([path], overwrite) as (temp,):
        write_stack(temp, array, layout=layout, key=key, progress=progress, target=path)
    return path


def write_stack(path, array, *, layout=None, key="images", progress=None, target=None):
    """Write a stack at exactly ``path`` (which must not exist), read it back and compare.

    The writing half of :func:`save_stack`, for a temporary path from
    :func:`staged`: ``array``, ``layout``, ``key`` and ``progress`` are as
    there and the format comes from the extension of ``path``; ``target``
    (default ``path``) is the path named in error messages.  Raises
    StackError as :func:`save_stack` does; what was written is left for
    :func:`staged` to remove.
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


@contextmanager
def _new_file(path, target, progress=None):
    """Create the file ``path`` for writing; flush it to disk when the block ends."""
    with _guard(target, "write", progress=progress), open(path, "xb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


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


def _compare(path, kind, array, layout, key, prog):
    """Read ``path`` back (in chunks) and compare it with ``array``; StackError if it differs."""
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

    if kind in ("npy", "npz"):
        # _load_npz without a key also proves that the archive holds just this one array
        stored = _load_npy(path) if kind == "npy" else _load_npz(path, None)
        check(stored.shape, stored.dtype, lambda start, stop: stored[start:stop])
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


def _check_png(dtype, layout):
    if dtype not in (np.uint8, np.uint16):
        raise StackError(f"PNG files hold only uint8 or uint16 values, not {dtype}; "
                         "choose --dtype uint8 or uint16, or write .tif/.npy instead")
    if layout is None:
        return
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
    n = layout.n_images
    digits = max(5, len(str(n - 1)))
    with _guard(target, "write", progress=prog):
        os.mkdir(path)
        for i in range(n):
            iio.imwrite(path / f"{i:0{digits}d}.png", _png_image(array, layout, i))
            prog(i + 1)


# --- moving into place -------------------------------------------------------------------

@contextmanager
def staged(targets, overwrite=False):
    """Yield a temporary path per target; at the end move them all into place together.

    Parameters
    ----------
    targets : sequence of str or path-like
        Final paths of files or folders.
    overwrite : bool or sequence of bool, optional
        Whether an existing target may be replaced (one flag for all, or one
        per target); checked again just before moving.

    Yields
    ------
    list of pathlib.Path
        Unused hidden names beside the targets, with their extensions
        (``out.tif`` -> ``.out-tmp-1a2b3c4d.tif``, ``frames`` ->
        ``.frames-tmp-1a2b3c4d``), for the block to create.

    Notes
    -----
    When the block ends, each temporary replaces its target with
    :func:`os.replace`.  Existing folders, and existing files but the last,
    are moved aside first and put back if a later move fails (a StackError),
    so all targets change or none; a lone file is replaced in one step.  If
    the block raises (also KeyboardInterrupt, or GeneratorExit when a
    generator is closed), every temporary is removed and the targets are
    untouched.
    """
    targets = [Path(target) for target in targets]
    flags = overwrite if isinstance(overwrite, (list, tuple)) else [overwrite] * len(targets)
    temps = [_temp_path(target, "tmp") for target in targets]
    try:
        yield temps
        for target, flag in zip(targets, flags):
            if not flag and _exists(target):
                raise StackError(f"'{target}' exists; pass --overwrite to replace it")
        with _guard(targets[0], "write"):
            _move_into_place(temps, targets)
    finally:
        for temp in temps:      # none is left after the moves
            _remove(temp)


def _temp_path(path, tag):
    """An unused hidden name beside ``path`` with its extension: ``.stem-tag-XXXXXXXX.ext``."""
    return path.parent / f".{path.stem.lstrip('.')}-{tag}-{secrets.token_hex(4)}{path.suffix}"


def _exists(path):
    return path.exists() or path.is_symlink()


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _move_into_place(temps, targets):
    """``os.replace`` each temp onto its target; if one move fails, restore every target."""
    moves = []      # (temp, target, backup or None), recorded before moving
    try:
        for i, (temp, target) in enumerate(zip(temps, targets)):
            backup = None
            if _exists(target) and (temp.is_dir() or i < len(targets) - 1):
                backup = _temp_path(target, "old")
            moves.append((temp, target, backup))
            if backup is not None:
                os.replace(target, backup)
            os.replace(temp, target)
    except BaseException:
        for temp, target, backup in reversed(moves):
            if not _exists(temp):       # it was moved in
                os.replace(target, temp)
            if backup is not None and _exists(backup):
                os.replace(backup, target)
        raise
    for _, _, backup in moves:
        if backup is not None:
            _remove(backup)


# --- sidecar -----------------------------------------------------------------------------

def sidecar_path(output_path):
    """Path of the JSON sidecar beside an output.

    ``out.tif`` -> ``out.tif.json``; a PNG folder ``out/`` -> ``out.json``.
    """
    path = Path(output_path)
    return path.with_name(path.name + ".json")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_sidecar(output_path, info):
    """Write ``info`` as pretty-printed JSON beside ``output_path``, atomically.

    Parameters
    ----------
    output_path : str or path-like
        The output the sidecar describes.
    info : dict
        JSON-able values; NumPy scalars, arrays, dtypes and paths are converted.

    Returns
    -------
    pathlib.Path
        The sidecar's path (see :func:`sidecar_path`); an existing sidecar is replaced.
    """
    target = sidecar_path(output_path)
    with staged([target], overwrite=True) as (temp,):
        write_json(temp, info, target=target)
    return target


def write_json(path, info, *, target=None):
    """Write ``info`` as in :func:`write_sidecar` at exactly ``path`` (which must not exist).

    For a temporary path from :func:`staged`; ``target`` (default ``path``)
    is the path named in error messages.
    """
    text = json.dumps(dict(info), indent=2, default=_jsonable) + "\n"
    with _new_file(path, path if target is None else target) as fh:
        fh.write(text.encode("utf-8"))


def read_sidecar(output_path):
    """Return the dict stored in the JSON sidecar of ``output_path`` (StackError if unreadable)."""
    target = sidecar_path(output_path)
    with _guard(target, what="JSON sidecar"):
        info = json.loads(target.read_text(encoding="utf-8"))
    if not isinstance(info, dict):
        raise StackError(f"cannot read '{target}': not a sidecar (expected a JSON object); "
                         "check the file")
    return info
