"""Lazy readers: a stack's shape and dtype at once, its images on demand, chunk by chunk.

:func:`open_reader` opens any input :func:`~histeq_gui.core.io.load_stack`
reads, with the same checks and one-line errors, but reads no pixels (or one
image, for a folder) until asked.  A :class:`Reader` then gives:

- ``shape``, ``dtype``, ``names`` (the file names of a folder, else None);
- :meth:`Reader.read` ``(start, stop, axis=0)``: the whole images
  ``start:stop`` along ``axis``, i.e. ``stack[start:stop]`` for ``axis=0``,
  ``stack[:, start:stop]`` for ``axis=1``, as a new array (or a view of an
  array that is already in memory; never write into it);
- :meth:`Reader.image` ``(index, layout)``: image ``index`` of a layout,
  for random access (the viewer's current image);
- :meth:`Reader.chunks`: ``(start, stop, array)`` pieces along an axis with
  progress and cancel;
- :meth:`Reader.load`: everything, as ``load_stack`` returns it.

*The stack's image axis* is the axis a stack is cut along into chunks of
whole images: its first batch axis longer than one (:func:`stack_axis`).
For ``(N, H, W)``, ``(N, 1, H, W)``, ``(N, H, W, 3)`` and ``(N, 3, H, W)``
with ``channel_axis=1`` that is axis 0; for ``(1, N, H, W)`` axis 1; a single
image has none (read it whole).

Resident memory stays bounded by what is asked for: ``.npy`` files and
uncompressed ``.npz`` members are read with ``pread`` into the new array
(the memory map's pages are never touched, so a file cut meanwhile is a
one-line error, not a SIGBUS); compressed ``.npz`` members are decompressed
as a stream; TIFF pages are decoded in batches; folders file by file.
"""

from __future__ import annotations

import math
import os
import stat
import struct
import threading
import zipfile
import zlib
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from . import load, memory
from .errors import StackError
from .files import _check_array, _check_regular, _guard, _open_input, _Progress, _row_chunks, \
    _stat_input
from .stack import Layout, image_at

__all__ = ["Reader", "ArrayReader", "RaggedReader", "open_reader", "reader_for", "stack_axis", "CHUNK_BYTES"]

CHUNK_BYTES = 1 << 26       # default size of the pieces :meth:`Reader.chunks` reads: 64 MB


def stack_axis(layout):
    """The stack's image axis: its first batch axis longer than one, or None for one image.

    Cutting a stack along this axis gives chunks of whole images (all
    channels included).

    Examples
    --------
    >>> from histeq_gui.core.stack import guess_layout
    >>> stack_axis(guess_layout((1800, 1, 96, 96))), stack_axis(guess_layout((1, 9, 8, 8)))
    (0, 1)
    >>> stack_axis(guess_layout((64, 64, 3), "auto")) is None
    True
    """
    return next((a for a in layout.batch_axes if layout.shape[a] > 1), None)


class Reader:
    """A stack read on demand; see the module docstring.

    Attributes
    ----------
    path : pathlib.Path or None
        The file or folder (None for an array).
    kind : str
        "npy", "npz", "tif", "folder", "image", "zarr" or "array".
    shape : tuple of int
    dtype : numpy.dtype
        As stored (possibly non-native byte order).
    names : list of str or None
        The file of each image of a folder, in order; None otherwise.
    signature : tuple or None
        ``(st_dev, st_ino, st_size, st_mtime_ns)`` of the path when it was
        opened, to tell later whether the file changed.

    Notes
    -----
    Subclasses read *rows*: the stack as ``(R, *shape[depth:])`` with the
    first ``depth`` axes flattened (``_read_rows``); :meth:`read` turns a
    range along any axis into runs of rows.  A reader may be used from any
    thread, one call at a time (calls are serialized).
    """

    kind = "array"
    path = None
    names = None
    ragged = False
    depth = 0
    signature = None        # (st_dev, st_ino, st_size, st_mtime_ns) of the path when opened

    def __init__(self, shape, dtype):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self._lock = threading.RLock()

    # --- what it holds
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    def __repr__(self):
        where = "" if self.path is None else f" '{self.path}'"
        return f"<{type(self).__name__}{where} {self.shape} {self.dtype}>"

    # --- reading
    def read(self, start, stop, axis=0):
        """The images ``start:stop`` along ``axis`` (``stack[..., start:stop, ...]``).

        Parameters
        ----------
        start, stop : int
            ``0 <= start <= stop <= shape[axis]``.
        axis : int, optional
            Any axis (negative counts from the end); normally
            :func:`stack_axis` of the stack's layout.

        Returns
        -------
        ndarray
            Shape ``shape`` with ``shape[axis]`` replaced by ``stop - start``.
            A new array, or a read-only view of an array already in memory.

        Raises
        ------
        StackError
            If the file is damaged, truncated or changed since it was opened.
        IndexError
            For a range outside the stack.
        """
        axis = self._axis(axis)
        start, stop = int(start), int(stop)
        if not 0 <= start <= stop <= self.shape[axis]:
            raise IndexError(f"images {start}:{stop} along axis {axis} are outside the stack "
                             f"of shape {self.shape}")
        shape = self.shape[:axis] + (stop - start,) + self.shape[axis + 1:]
        if start == stop:
            return np.empty(shape, self.dtype)
        with self._lock:
            return self._read(start, stop, axis).reshape(shape)

    def _axis(self, axis):
        axis = int(axis)
        if not -self.ndim <= axis < self.ndim:
            raise IndexError(f"axis {axis} is out of range for a stack of shape {self.shape}")
        return axis % self.ndim

    def _read(self, start, stop, axis):
        depth = self.depth
        if axis >= depth:                   # inside a row: read every row, then cut
            rows = math.prod(self.shape[:depth])
            whole = np.empty((rows,) + self.shape[depth:], self.dtype)
            self._read_rows(0, rows, whole)
            key = (slice(None),) * axis + (slice(start, stop),)
            return np.ascontiguousarray(whole.reshape(self.shape)[key])
        outer = math.prod(self.shape[:axis])
        length = self.shape[axis]
        inner = math.prod(self.shape[axis + 1:depth])
        n = (stop - start) * inner
        out = np.empty((outer, n) + self.shape[depth:], self.dtype)
        for o in range(outer):
            self._read_rows((o * length + start) * inner, (o * length + stop) * inner, out[o])
        return out

    def _read_rows(self, r0, r1, out):
        """Fill ``out`` (shape ``(r1 - r0, *shape[depth:])``) with rows ``r0:r1``."""
        raise NotImplementedError

    def image(self, index, layout):
        """Image ``index`` of ``layout`` (as :func:`~histeq_gui.core.stack.image_at` gives it).

        Reads one image (for a stack with several batch axes longer than
        one, the images sharing its first batch index), for random access.
        """
        n = layout.n_images
        if not 0 <= index < n:
            raise IndexError(f"image {index} is out of range: the stack has {n} images")
        if tuple(layout.shape) != self.shape:
            raise ValueError(f"the layout is for shape {tuple(layout.shape)}, not {self.shape}")
        axis = stack_axis(layout)
        if axis is None:
            return image_at(self.read(0, self.shape[0]), layout, 0)
        per = n // self.shape[axis]          # images per index along the image axis
        i, rest = divmod(index, per)
        piece = self.read(i, i + 1, axis)
        return image_at(piece, Layout(piece.shape, layout.channel_axis), rest)

    def chunks(self, axis=0, images=None, progress=None):
        """Yield ``(start, stop, array)`` along ``axis``, in order, covering the stack.

        Parameters
        ----------
        axis : int, optional
            The axis to cut (normally :func:`stack_axis` of the layout).
        images : int, optional
            Indices along ``axis`` per chunk; default about
            :data:`CHUNK_BYTES` of data.
        progress : callable, optional
            ``progress(done, total)`` after each chunk (indices along
            ``axis``); whatever it raises (e.g. Cancelled) stops the
            iteration.
        """
        axis = self._axis(axis)
        length = self.shape[axis]
        if images is None:
            per_index = max(self.nbytes // max(length, 1), 1)
            images = max(1, CHUNK_BYTES // per_index)
        images = max(1, int(images))
        report = _Progress(progress, length)
        for start in range(0, length, images):
            stop = min(start + images, length)
            yield start, stop, self.read(start, stop, axis)
            report(stop)

    def load(self, progress=None):
        """Everything, as :func:`~histeq_gui.core.io.load_stack` returns it.

        Refuses (StackError) what would not fit in the free memory, before reading.
        """
        memory.check_fits(self.nbytes, self.path, f"shape {self.shape} {self.dtype}")
        out = np.empty(self.shape, self.dtype)
        flat = out.reshape((-1,) + self.shape[self.depth:]) if self.depth else out[np.newaxis]
        rows = flat.shape[0]
        report = _Progress(progress, rows)
        with self._lock:
            for start, stop in _row_chunks(rows, flat[:1].nbytes):
                self._read_rows(start, stop, flat[start:stop])
                report(stop)
        return out

    # --- closing
    def close(self):
        """Release the file (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


class ArrayReader(Reader):
    """A reader of an array: in memory (views, no copy) or a map from ``load_stack``.

    A ``.npy`` memory map (or a view of one) is read with ``pread``
    (:class:`~histeq_gui.core.load.MappedReader`), never through its pages,
    so resident memory stays bounded by what is read.
    """

    def __init__(self, array, path=None, kind="array"):
        array = array if isinstance(array, np.ndarray) else np.asarray(array)
        super().__init__(array.shape, array.dtype)
        self.array, self.path, self.kind = array, None if path is None else Path(path), kind
        self.depth = array.ndim
        self._mapped = load.MappedReader.for_array(array)

    def _read(self, start, stop, axis):
        view = self.array[(slice(None),) * axis + (slice(start, stop),)]
        return view if self._mapped is None else self._mapped.read(view)

    def load(self, progress=None):
        """The array itself (a ``.npy`` map stays a map: nothing is read)."""
        _Progress(progress, 1)(1)
        return self.array

    def close(self):
        if self._mapped is not None:
            self._mapped.close()


class NpzReader(Reader):
    """One array of an ``.npz`` archive, read from its member without extracting it.

    A stored (uncompressed) member is read like a ``.npy`` file, with
    ``pread`` at its offset in the archive, and its CRC is checked when the
    member has been read in order to its end.  A compressed member is
    decompressed as a stream, forward; reading backwards starts the stream
    again.  Fortran-ordered members are read whole.
    """

    kind = "npz"

    def __init__(self, path, key=None):
        self.path, self._stack = Path(path), ExitStack()
        try:
            fh = self._stack.enter_context(_open_input(self.path, ".npz file"))
            with _guard(self.path, what=".npz file"):
                archive = self._stack.enter_context(zipfile.ZipFile(fh))
            self.member = load._npz_member(self.path, archive, key)
            shape, fortran, dtype, needed, header = load._npz_header(self.path, archive,
                                                                     self.member)
            super().__init__(shape, dtype)
            self.key = load._npz_key(self.member.filename)
            self._archive, self._header, self._fortran = archive, header, fortran
            self._stream, self._position = None, 0
            self._crc, self._crc_position, self._inner = None, None, None
            self.depth = self.ndim
            if fortran:
                self._inner = ArrayReader(load._read_npz_member(self.path, archive, self.member))
            elif self.member.compress_type == zipfile.ZIP_STORED and needed:
                self._inner = self._stored(fh, needed)
        except BaseException:
            self._stack.close()
            raise

    def _stored(self, fh, needed):
        """An ArrayReader over the member's bytes in the archive, mapped but read with pread."""
        with _guard(self.path, what=".npz file"):
            fh.seek(self.member.header_offset)
            local = fh.read(30)
            if len(local) != 30 or local[:4] != b"PK\x03\x04":
                raise ValueError("bad local header of the member")
            name_length, extra_length = struct.unpack("<HH", local[26:30])
            start = self.member.header_offset + 30 + name_length + extra_length
            fh.seek(start)
            header = fh.read(self._header)
            array = np.memmap(fh, self.dtype, "r", offset=start + self._header, shape=self.shape)
        info = _stat_input(self.path)
        array._histeq_file = (str(Path(self.path).absolute()), info.st_dev, info.st_ino)
        self._crc, self._crc_position = zlib.crc32(header), 0
        return ArrayReader(array, self.path, "npz")

    def _read(self, start, stop, axis):
        if self._inner is None:
            return super()._read(start, stop, axis)
        out = self._inner._read(start, stop, axis)
        if self._crc is not None and axis == 0:
            self._check_crc(start, out)
        return out

    def _check_crc(self, start, out):
        """Add the bytes just read to the member's CRC if they continue it in order."""
        begin = start * (self.nbytes // self.shape[0])
        if begin != self._crc_position:
            self._crc, self._crc_position = None, None      # out of order: not checked
            return
        data = np.ascontiguousarray(out)
        self._crc = zlib.crc32(data.reshape(-1).view(np.uint8), self._crc)
        self._crc_position += data.nbytes
        whole = self.member.file_size == self._header + self.nbytes
        if self._crc_position == self.nbytes and whole and self._crc != self.member.CRC:
            raise StackError(f"cannot read '{self.path}' (member '{self.member.filename}'): "
                             "its CRC does not match (the archive is damaged); copy or save it "
                             "again")

    def _read_rows(self, r0, r1, out):
        """Elements ``r0:r1`` of the compressed member, decompressed as a stream."""
        item = self.dtype.itemsize
        begin, end = self._header + r0 * item, self._header + r1 * item
        with _guard(self.path, what=".npz file"):
            if self._stream is None or begin < self._position:
                if self._stream is not None:
                    self._stream.close()
                self._stream = self._archive.open(self.member)
                self._position = 0
            while self._position < begin:           # skip forward
                skipped = len(self._stream.read(min(begin - self._position, 1 << 22)))
                if not skipped:
                    break
                self._position += skipped
            view, done = memoryview(out.reshape(-1).view(np.uint8)), 0
            while self._position == begin + done and done < end - begin:
                n = self._stream.readinto(view[done:done + (1 << 24)])
                if not n:
                    break
                done += n
                self._position += n
            if done < end - begin:
                raise StackError(f"cannot read '{self.path}' (member '{self.member.filename}'):"
                                 f" it is truncated ({self._position - self._header} of "
                                 f"{self.nbytes} data bytes for shape {self.shape}); copy or "
                                 "save it again")
            if r1 * item == self.nbytes:
                while self._stream.read(1 << 20):   # to the end: zipfile checks the CRC
                    pass

    def load(self, progress=None):
        """The array, read whole from the member (its CRC checked)."""
        with self._lock:
            array = load._read_npz_member(self.path, self._archive, self.member)
        _Progress(progress, 1)(1)
        return array

    def close(self):
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._inner is not None:
            self._inner.close()
        self._stack.close()


class TiffReader(Reader):
    """The first series of a TIFF file, decoded page batch by page batch.

    The file is checked against what it declares when opened (page count,
    ImageJ and shaped metadata, data inside the file), and tifffile's logged
    errors are checked after every batch.  A row is one page: ``depth`` is
    the number of leading axes the pages enumerate.
    """

    kind = "tif"

    def __init__(self, path):
        self.path, self._stack = Path(path), ExitStack()
        try:
            tif, series, errors = self._stack.enter_context(load._tiff_session(self.path))
            super().__init__(series.shape, series.dtype)
            self._tif, self._errors, self.pages = tif, errors, len(series)
            self.depth = next((d for d in range(self.ndim - 2, -1, -1)
                               if math.prod(self.shape[:d]) == self.pages), 0)
            self._raw = self._contiguous(tif, series)
        except BaseException:
            self._stack.close()
            raise

    def _contiguous(self, tif, series):
        """(file descriptor, offset, file dtype) when the pages are stored raw, one after the
        other (tifffile's contiguous series: uncompressed, in order), else None."""
        offset = series.dataoffset
        if offset is None or self.pages == 0:
            return None
        fd = tif.filehandle.fileno()
        if offset + self.nbytes > os.fstat(fd).st_size:
            return None                         # let tifffile read (and report) what is there
        return fd, int(offset), self.dtype.newbyteorder(tif.byteorder)

    def _read_rows(self, r0, r1, out):
        if self.depth == 0:             # pages that are not whole rows: all of them at once
            r0, r1 = 0, self.pages
        self._read_pages(r0, r1, out.reshape(r1 - r0, -1))

    def _read_pages(self, start, stop, out):
        """Decode pages ``start:stop`` (one batch) into ``out`` of shape (pages, values).

        Raw contiguous pages (what this program and most writers make) are read
        in one ``pread``, as fast as a ``.npy`` file; other files page by page
        by tifffile.
        """
        if self._raw is not None:
            fd, offset, stored = self._raw
            page = self.nbytes // self.pages
            data = out if stored == out.dtype else np.empty(out.shape, stored)
            buffer = memoryview(data.reshape(-1).view(np.uint8))
            done, position = 0, offset + start * page
            while done < len(buffer):
                with _guard(self.path, what="TIFF file"):
                    n = os.preadv(fd, [buffer[done:]], position + done)
                if n == 0:
                    raise StackError(f"cannot read '{self.path}': the file changed while it was "
                                     f"read (it ends before page {start + done // page}); read "
                                     "it again once it is complete")
                done += n
            if data is not out:
                out[...] = data
            return
        self._errors.watch()
        pages = load._tiff_pages(self.path, self._tif, start, stop)
        load._raise_tiff_errors(self.path, self._errors.messages)
        if pages.shape != out.shape:
            load._raise_tiff_errors(self.path, [f"pages {start}:{stop} hold {pages.size} "
                                                f"values, not {out.size}"])
        out[...] = pages

    def load(self, progress=None):
        memory.check_fits(self.nbytes, self.path,
                          f"{self.pages} page{'s' * (self.pages != 1)}, shape {self.shape} "
                          f"{self.dtype}")
        with _guard(self.path, what="TIFF file"):
            out = np.empty(self.shape, self.dtype)
        flat = out.reshape(self.pages, -1)
        report = _Progress(progress, self.pages)
        with self._lock:
            for start, stop in _row_chunks(self.pages, flat.shape[1] * out.itemsize):
                self._read_pages(start, stop, flat[start:stop])
                report(stop)
        return out

    def close(self):
        self._errors.messages.clear()       # each was raised by the read that met it
        self._stack.close()


class FolderReader(Reader):
    """A folder of PNG/JPEG/TIFF images in natural name order, read file by file."""

    kind = "folder"
    depth = 1

    def __init__(self, path, files=None, first=None):
        self.path = Path(path)
        self.files = load._folder_files(self.path) if files is None else files
        if first is None:
            first = load._load_image(self.files[0], folder_item=True)
        super().__init__((len(self.files),) + first.shape, first.dtype)
        self.names = [f.name for f in self.files]

    def _read_rows(self, r0, r1, out):
        for i in range(r0, r1):
            image = load._load_image(self.files[i], folder_item=True)
            if image.shape != self.shape[1:] or image.dtype != self.dtype:
                raise StackError(
                    f"cannot read '{self.path}': '{self.names[i]}' is {image.shape} "
                    f"{image.dtype} but '{self.names[0]}' is {self.shape[1:]} {self.dtype}; all "
                    "images in the folder must have the same size and type")
            out[i - r0] = image

    def load(self, progress=None):
        memory.check_fits(self.nbytes, self.path, f"{len(self.files)} images of shape "
                                                  f"{self.shape[1:]} {self.dtype}")
        with _guard(self.path, what="folder"):
            out = np.empty(self.shape, self.dtype)
        report = _Progress(progress, len(self.files))
        with self._lock:
            for i in range(len(self.files)):
                self._read_rows(i, i + 1, out[i:i + 1])
                report(i + 1)
        return out


def _colours(shape):
    """"gray", "gray+alpha", "RGB", "RGBA" or "N channels" for an image shape (H, W[, C])."""
    if len(shape) == 2:
        return "gray"
    return {1: "gray", 2: "gray+alpha", 3: "RGB", 4: "RGBA"}.get(shape[2],
                                                                 f"{shape[2]} channels")


def _size(shape):
    """``"512x384"`` (width x height) of an image shape."""
    return f"{shape[1]}x{shape[0]}"


def _channels_of(shape):
    return 1 if len(shape) == 2 else int(shape[2])


def _probe(path, first_mode, first):
    """``(shape, dtype, mode)`` of a folder's image from its header when that is enough.

    Pillow's header gives the size and mode without decoding; an image of
    the first image's mode decodes to its dtype and channels.  Any other
    mode (and palettes, whose channels depend on transparency) is decoded
    to know exactly.  TIFF files: tifffile's first series.
    """
    import tifffile
    from PIL import Image

    if path.suffix.lower() in load._TIFF_EXTS:
        with _guard(path, what="TIFF file"), tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            return tuple(series.shape), np.dtype(series.dtype), None
    with _open_input(path, "image file") as fh, _guard(path, what="image file"), \
            Image.open(fh) as image:
        (width, height), mode = image.size, image.mode
    if mode == first_mode and mode not in ("P", "PA"):
        return (height, width) + first.shape[2:], first.dtype, mode
    image = load._load_image(path, folder_item=True)
    return image.shape, image.dtype, mode


def _folder_reader(path, mixed=False):
    """A FolderReader, or a RaggedReader when the folder's images differ in size.

    Every file's header is read (each image of a mode other than the first
    one's is decoded), so that a folder of mixed sizes is known at once.
    Images of different sizes must share the dtype and the number of
    channels: a folder mixing gray and colour (or 8 and 16 bits) is refused
    in one line naming two such files, not converted, since converting
    would change the data the user inspects.  With ``mixed``, gray and
    colour images may be mixed (a RaggedReader whose ``shapes`` say each
    image's channels): the statistics describe each image on its own.
    """
    from PIL import Image

    path = Path(path)
    files = load._folder_files(path)
    first = load._load_image(files[0], folder_item=True)
    first_mode = None
    if files[0].suffix.lower() not in load._TIFF_EXTS:
        with _open_input(files[0], "image file") as fh, \
                _guard(files[0], what="image file"), Image.open(fh) as image:
            first_mode = image.mode
    shapes, dtypes = [first.shape], [first.dtype]
    for f in files[1:]:
        shape, dtype, _ = _probe(f, first_mode, first)
        shapes.append(tuple(int(n) for n in shape))
        dtypes.append(np.dtype(dtype))
    one_kind = all(_channels_of(s) == _channels_of(first.shape) for s in shapes)
    if all(s[:2] == first.shape[:2] for s in shapes) and (one_kind or not mixed):
        return FolderReader(path, files, first)      # one size: mismatched types refused on read
    for f, shape, dtype in zip(files, shapes, dtypes):
        if dtype != first.dtype or len(shape) > 3 or \
                (_channels_of(shape) != _channels_of(first.shape) and not mixed):
            raise StackError(
                f"cannot read '{path}': its images differ in size, and '{f.name}' is "
                f"{_colours(shape)} {dtype} but '{files[0].name}' is {_colours(first.shape)} "
                f"{first.dtype}; images of different sizes must share the type and channels, "
                "convert them to one (all gray or all RGB, one bit depth) first")
    return RaggedReader(path, files, shapes, first)


class RaggedReader:
    """A folder of images of different sizes, read image by image (a *ragged* stack).

    It cannot be one array: :meth:`load` and :meth:`read` refuse (one line
    saying to open it in the viewer or to export it to a folder).  Every
    image has the same dtype and number of channels (opened with ``mixed``:
    the same dtype; ``shapes`` give each image's channels, ``channels`` is
    the most of them).

    Attributes
    ----------
    ragged : bool
        True (a :class:`Reader` has False).
    path : pathlib.Path
    kind : str
        "folder".
    files : list of pathlib.Path
    names : list of str
        The file name of each image, in order.
    shapes : list of tuple
        Each image's shape, ``(H, W)`` or ``(H, W, C)``.
    dtype : numpy.dtype
    channels : int
    signature : tuple or None
        As :attr:`Reader.signature`.

    Examples
    --------
    >>> with open_reader("shots") as reader:                      # doctest: +SKIP
    ...     reader.ragged, reader.n_images, reader.shapes[0], reader.image(0).shape
    (True, 5, (512, 512), (512, 512))
    """

    ragged = True
    kind = "folder"
    signature = None

    def __init__(self, path, files, shapes, first=None):
        self.path, self.files = Path(path), list(files)
        self.names = [f.name for f in self.files]
        self.shapes = [tuple(int(n) for n in s) for s in shapes]
        if first is None:
            first = load._load_image(self.files[0], folder_item=True)
        self.dtype = np.dtype(first.dtype)
        self.channels = max(_channels_of(s) for s in self.shapes)
        self._first = first
        self._lock = threading.RLock()

    @property
    def n_images(self):
        """Number of images (files)."""
        return len(self.files)

    @property
    def size(self):
        """Values in all the images together."""
        return sum(math.prod(s) for s in self.shapes)

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def ndim(self):
        return len(self.shapes[0])

    def __len__(self):
        return self.n_images

    def __repr__(self):
        return f"<RaggedReader '{self.path}' {self.n_images} images of different sizes " \
               f"{self.dtype}>"

    def image(self, index, layout=None):
        """Image ``index`` as ``(H, W)`` or ``(H, W, C)``, decoded from its file.

        ``layout`` is ignored (each image is its own).

        Raises
        ------
        IndexError
            For an index out of range.
        StackError
            If the file cannot be read, or changed since the folder was opened.
        """
        index = int(index)
        if not 0 <= index < self.n_images:
            raise IndexError(f"image {index} is out of range: the folder has {self.n_images} "
                             "images")
        with self._lock:
            if index == 0 and self._first is not None:
                image, self._first = self._first, None
            else:
                image = load._load_image(self.files[index], folder_item=True)
        if image.shape != self.shapes[index] or image.dtype != self.dtype:
            raise StackError(
                f"cannot read '{self.files[index]}': it is now {image.shape} {image.dtype}, "
                f"not {self.shapes[index]} {self.dtype} as when the folder was opened; open "
                "the folder again")
        return image

    def images(self, progress=None):
        """Yield every image in order; ``progress(done, total)`` after each (it may raise)."""
        report = _Progress(progress, self.n_images)
        for i in range(self.n_images):
            yield self.image(i)
            report(i + 1)

    def refusal(self, what="load"):
        """The one-line StackError for treating these images as one array."""
        return StackError(
            f"cannot {what} '{self.path}' as one array: its {self.n_images} images have "
            f"different sizes ('{self.names[0]}' is {_size(self.shapes[0])}, "
            f"'{self.names[self._other()]}' is {_size(self.shapes[self._other()])}); open it in "
            "the viewer, or export it to a folder (histeq FOLDER -o OUTFOLDER)")

    def _other(self):
        return next((i for i, s in enumerate(self.shapes) if s[:2] != self.shapes[0][:2]), 0)

    def load(self, progress=None):
        """Refused: images of different sizes are not one array (StackError, one line)."""
        raise self.refusal()

    def read(self, start, stop, axis=0):
        """Refused, as :meth:`load`; read :meth:`image` by image."""
        raise self.refusal("read")

    def close(self):
        """Nothing to release (files are opened one at a time)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


def open_reader(path, key=None, *, mixed=False):
    """Open a stack file or folder for reading on demand.

    Parameters
    ----------
    path : str or path-like
        Anything :func:`~histeq_gui.core.io.load_stack` reads, and Zarr
        arrays (``.zarr`` folders, with the ``zarr`` extra).
    key : str, optional
        The array of an ``.npz`` file (needed when it holds several).
    mixed : bool
        A folder may mix gray and colour images (a RaggedReader, image by
        image): for :func:`~histeq_gui.core.stats.image_stats`, which
        describes each image on its own.  Otherwise such a folder is refused.

    Returns
    -------
    Reader
        Close it when done (it is a context manager).

    Raises
    ------
    StackError
        With the same one-line messages as ``load_stack``, for what can be
        told without reading the pixels.
    """
    path = Path(path)
    info = _stat_input(path)        # missing, link loop, name too long: one line
    is_folder = stat.S_ISDIR(info.st_mode)
    ext = path.suffix.lower()
    zarr = is_folder and ext == ".zarr"
    if is_folder and not zarr:
        ext = ""
    if key is not None and ext != ".npz":
        raise StackError(f"key={key!r} (--key) only applies to .npz files, not '{path}'; "
                         "leave it out")
    if not is_folder:
        _check_regular(path, info)      # a named pipe would block forever: never opened
    if zarr:
        from . import zarr_io

        reader = zarr_io.ZarrReader(path)
    elif is_folder:
        reader = _folder_reader(path, mixed)
    elif ext in load._TIFF_EXTS:
        reader = TiffReader(path)
    elif ext == ".npy":
        reader = ArrayReader(load._load_npy(path), path, "npy")
    elif ext == ".npz":
        reader = NpzReader(path, key)
    elif ext in load._IMAGE_EXTS:
        reader = ArrayReader(load._load_image(path), path, "image")
    else:
        raise StackError(f"cannot read '{path}': unsupported file type '{path.suffix}'; "
                         f"use {load._READABLE}")
    try:
        _check_array(reader._first if getattr(reader, "ragged", False) else reader,
                     f"'{path}'")
    except BaseException:
        reader.close()
        raise
    reader.signature = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    return reader


def reader_for(images, path=None):
    """A :class:`Reader` for ``images``: a Reader itself, or an array (see ArrayReader)."""
    if isinstance(images, Reader):
        return images
    return ArrayReader(images, path)
