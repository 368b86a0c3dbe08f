"""Chunk writers: write a stack piece by piece, then verify it piece by piece.

Each output kind has a :class:`ChunkWriter`, made by :func:`open_writer`
for a temporary path from :func:`~histeq_gui.core.atomic.staged`:

1. ``open_writer(...)`` creates the file (or folder) and its header;
2. ``write(start, stop, chunk)`` appends ``stack[..., start:stop, ...]``
   along the writer's axis, in order, and keeps a digest of the bytes it
   wrote (CRC-32 and length per chunk, or per image for PNG files);
3. ``finish()`` completes the file and flushes it to disk (fsync);
4. ``verify()`` opens what was written with the lazy readers
   (:mod:`~histeq_gui.core.readers`), checks its shape, dtype and layout,
   and compares the digest of every chunk read back with the one written;
5. committing is ``staged``'s: the temporary is moved into place with the
   journaled protocol of :mod:`~histeq_gui.core.atomic`.

No copy of the whole stack is ever kept: memory is bounded by the chunk.
The digest is for detecting data that does not read back as written (a
faulty disk, a damaged file, a writer bug), not for authentication; CRC-32
(``zlib.crc32``, several GB/s) with the byte count per chunk of at most
tens of MB misses a random corruption with probability 2**-32.

The writer's axis (:func:`write_axis`) is the stack's image axis for
folders of PNG files (whole images), and for files written in order (.npy,
.npz, TIFF) the first axis longer than one before the image's own axes, so
that each chunk is a contiguous run of the file.
"""

from __future__ import annotations

import os
import queue
import threading
import zipfile
import zlib
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import tifffile

from . import load, readers
from .atomic import new_file, sync_folder
from ..errors import Cancelled, StackError
from .files import guard
from ..stack import Layout, image_at

__all__ = ["ChunkWriter", "open_writer", "write_axis", "digest"]

_BIGTIFF_BYTES = 2 ** 31    # write BigTIFF above this many bytes of pixels


def digest(data):
    """The digest of a C-contiguous array's bytes: ``(nbytes, crc32)``."""
    data = np.ascontiguousarray(data)
    return data.nbytes, zlib.crc32(data.reshape(-1).view(np.uint8))


def write_axis(layout, kind):
    """The axis a stack of ``layout`` is written along by a writer of ``kind`` (None: whole).

    PNG folders (and Zarr arrays) take whole images:
    :func:`~histeq_gui.core.readers.stack_axis`.  Files written in order take
    the first axis longer than one before the image's own axes (the channel
    axis of a ``(C, N, H, W)`` stack, else the image axis), so that each
    chunk is contiguous in the file.
    """
    if kind in ("png-folder", "png", "zarr"):
        return readers.stack_axis(layout)
    first_image_axis = min(layout.image_axes)
    return next((a for a in range(first_image_axis) if layout.shape[a] > 1), None)


def _native(dtype):
    return np.dtype(dtype).newbyteorder("=")


class ChunkWriter:
    """Writes one stack at a temporary path chunk by chunk; see the module docstring.

    Parameters
    ----------
    path : pathlib.Path
        Where to write (must not exist), e.g. from ``atomic.staged``.
    shape, dtype
        Of the whole stack; the file holds ``dtype`` (TIFF: native order).
    layout : Layout
        Its image, batch and colour axes.
    axis : int or None
        The axis chunks are cut along (:func:`write_axis`); None: the whole
        stack is one chunk, written with ``write(0, 1, stack)``.
    target : path-like, optional
        The final path, named in error messages (default ``path``).
    key : str, optional
        The array's name in an ``.npz`` file.
    """

    kind = None

    def __init__(self, path, shape, dtype, layout, axis, target=None, key="images"):
        self.path = Path(path)
        self.target = self.path if target is None else Path(target)
        self.shape, self.dtype, self.layout, self.axis = tuple(shape), np.dtype(dtype), layout, axis
        self.key = key
        self.length = 1 if axis is None else self.shape[axis]
        self.next = 0
        self.digests = []           # (start, stop, digest) in order
        self.finished = False

    def open(self):
        """Create the file (or folder) and its header."""
        self._open()
        return self

    def _chunk_shape(self, start, stop):
        if self.axis is None:
            return self.shape
        return self.shape[:self.axis] + (stop - start,) + self.shape[self.axis + 1:]

    def write(self, start, stop, chunk):
        """Write ``stack[..., start:stop, ...]`` (along the axis), right after the last chunk.

        File writers hand the chunk to a helper thread: do not modify it
        after this call (the export passes a new array every time).

        Raises
        ------
        ValueError
            For a chunk out of order or of the wrong shape (a caller's bug).
        StackError
            For a write error (no space left, ...), in one line.
        """
        if start != self.next or not start < stop <= self.length:
            raise ValueError(f"chunk {start}:{stop} out of order; expected one starting at "
                             f"{self.next} of {self.length}")
        chunk = np.asarray(chunk)
        if chunk.shape != self._chunk_shape(start, stop):
            raise ValueError(f"chunk {start}:{stop} has shape {chunk.shape}, expected "
                             f"{self._chunk_shape(start, stop)}")
        data = np.ascontiguousarray(chunk, dtype=self.dtype)
        self._write(start, stop, data)
        self.next = stop

    def finish(self):
        """Complete the file and flush it to disk."""
        if self.next != self.length:
            raise ValueError(f"{self.next} of {self.length} written; write every chunk first")
        self._finish()
        self.finished = True

    def abort(self):
        """Stop writing and release the file (the caller removes it)."""
        self._abort()

    def verify(self, progress=None):
        """Read the file back and compare it with what was written, chunk by chunk.

        ``progress(done, total)`` is called after each chunk (``total`` as
        along the axis).  Raises StackError ("does not read back as
        written") at the first difference, naming the chunk.
        """
        if not self.finished:
            raise ValueError("finish() the file before verifying it")
        try:
            self._verify(progress)
        except StackError as exc:
            raise StackError(f"cannot write '{self.target}': the written file does not read "
                             f"back as written ({exc}); nothing was written, check the disk "
                             "and retry") from exc

    def _verify_chunks(self, reader, progress):
        axis = 0 if self.axis is None else self.axis
        for start, stop, expected in self.digests:
            if self.axis is None:
                start, stop = 0, self.shape[0]
            if digest(reader.read(start, stop, axis)) != expected:
                raise StackError(f"images {start}:{stop} along axis {axis} differ")
            if progress is not None:
                progress(stop, self.length if self.axis is not None else 1)

    # subclasses
    def _open(self):
        raise NotImplementedError

    def _write(self, start, stop, data):
        raise NotImplementedError

    def _finish(self):
        pass

    def _abort(self):
        pass

    def _verify(self, progress):
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is not None and not self.finished:
            self.abort()
        return False


class _Pipe:
    """A helper thread that consumes the chunks handed to it, so writing overlaps computing.

    ``consume(chunks)`` runs in the thread over an iterator of the chunks
    :meth:`put` (at most two wait in between); an error it raises is raised
    by the next :meth:`put` or by :meth:`close`, as a one-line StackError
    naming ``target`` (through ``guard``).
    """

    def __init__(self, target, consume, name):
        self.target, self.error = target, None
        self.queue = queue.Queue(maxsize=2)

        def chunks():
            while True:
                item = self.queue.get()
                if item is None:
                    return
                if item is _STOP:
                    raise Cancelled("writing stopped")
                yield item

        def work():
            try:
                consume(chunks())
            except BaseException as exc:        # handed to the writing thread
                self.error = exc
                while True:                     # let a blocked put() go on
                    try:
                        self.queue.get_nowait()
                    except queue.Empty:
                        break

        self.thread = threading.Thread(target=work, name=name, daemon=True)
        self.thread.start()

    def put(self, item):
        while True:
            self._raise()
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if not self.thread.is_alive():
                    self._raise()
                    raise StackError(f"cannot write '{self.target}': the writer stopped")

    def _raise(self):
        if self.error is not None:
            error, self.error = self.error, None
            with guard(self.target, "write"):
                raise error

    def close(self):
        """Wait until every chunk is consumed; raise what went wrong."""
        self.put(None)
        self.thread.join()
        self._raise()

    def abort(self):
        """Stop the thread without finishing (the consumer sees Cancelled)."""
        while self.thread.is_alive():
            try:
                self.queue.put(_STOP, timeout=0.1)
                break
            except queue.Full:
                continue
        self.thread.join()


class _FileWriter(ChunkWriter):
    """Writers of one file: created at open, written by a helper thread, fsynced at finish.

    Subclasses give ``_consume(chunks)``, which writes the chunks (C-contiguous
    arrays in the file's dtype, in order) and must call :meth:`_keep` for each.
    """

    def _start(self, name):
        self._files = new_file(self.path, self.target)
        self.fh = self._files.__enter__()
        self._pipe = _Pipe(self.target, self._consume, name)

    def _write(self, start, stop, data):
        self._pipe.put((start, stop, data))

    def _keep(self, start, stop, data):
        """Record the digest of a chunk (in the helper thread, before writing it)."""
        self.digests.append((start, stop, digest(data)))

    def _finish(self):
        self._pipe.close()
        self._end()
        self._files.__exit__(None, None, None)      # flush + fsync + close
        self._files = None

    def _end(self):
        """What completes the file after its last chunk (archives)."""

    def _abort(self):
        if getattr(self, "_pipe", None) is not None:
            self._pipe.abort()
        if getattr(self, "_files", None) is not None:
            try:
                self._files.__exit__(Cancelled, Cancelled(), None)
            except BaseException:
                pass
            self._files = None

    @staticmethod
    def _bytes(data):
        return data.reshape(-1).view(np.uint8).data


class NpyWriter(_FileWriter):
    kind = "npy"

    def _open(self):
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": self.shape}
        self._start("histeq-npy-writer")
        with guard(self.target, "write"):
            np.lib.format.write_array_header_1_0(self.fh, header)

    def _consume(self, chunks):
        for start, stop, data in chunks:
            self._keep(start, stop, data)
            self.fh.write(self._bytes(data))

    def _verify(self, progress):
        with readers.ArrayReader(load._load_npy(self.path), self.path, "npy") as reader:
            self._check(reader)
            self._verify_chunks(reader, progress)

    def _check(self, reader):
        if reader.shape != self.shape or reader.dtype != self.dtype:
            raise StackError(f"got {reader.shape} {reader.dtype} instead of {self.shape} "
                             f"{self.dtype}")


class NpzWriter(NpyWriter):
    """One ``.npy`` member (deflated) in a new ``.npz`` archive, written as a stream."""

    kind = "npz"

    def _open(self):
        if not self.key or "/" in self.key:
            raise StackError(f"invalid .npz key {self.key!r}; use a plain name such as 'images'")
        self._files = new_file(self.path, self.target)
        self.fh = self._files.__enter__()
        with guard(self.target, "write"):
            self._archive = zipfile.ZipFile(self.fh, "w", zipfile.ZIP_DEFLATED)
            self._member = self._archive.open(self.key + ".npy", "w", force_zip64=True)
            header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                      "shape": self.shape}
            np.lib.format.write_array_header_1_0(self._member, header)
        self._pipe = _Pipe(self.target, self._consume, "histeq-npz-writer")

    def _consume(self, chunks):
        for start, stop, data in chunks:
            self._keep(start, stop, data)
            self._member.write(self._bytes(data))

    def _end(self):
        with guard(self.target, "write"):
            self._member.close()
            self._archive.close()

    def _abort(self):
        if getattr(self, "_pipe", None) is not None:
            self._pipe.abort()
            self._pipe = None
        for part in ("_member", "_archive"):
            try:
                getattr(self, part).close()
            except BaseException:
                pass
        super()._abort()

    def _verify(self, progress):
        # Without a key the reader also proves that the archive holds this one array.
        with readers.NpzReader(self.path) as reader:
            if reader.key != self.key:
                raise StackError(f"the archive holds '{reader.key}', not '{self.key}'")
            self._check(reader)
            self._verify_chunks(reader, progress)


class TiffWriter(_FileWriter):
    """A multi-page TIFF written by tifffile from pages handed over chunk by chunk.

    tifffile pulls pages from an iterator, in the helper thread.
    """

    kind = "tif"

    def _open(self):
        self.dtype = _native(self.dtype)
        layout, shape = self.layout, self.shape
        self._k = 3 if layout.channel_axis == len(shape) - 1 and layout.channels in (3, 4) else 2
        self._start("histeq-tiff-writer")

    def _consume(self, chunks):
        shape, page = self.shape, self.shape[len(self.shape) - self._k:]

        def pages():
            for start, stop, data in chunks:
                self._keep(start, stop, data)
                yield from data.reshape((-1,) + page)

        tifffile.imwrite(self.fh, pages(), shape=shape, dtype=self.dtype,
                         photometric="rgb" if self._k == 3 else "minisblack",
                         bigtiff=np.prod(shape) * self.dtype.itemsize > _BIGTIFF_BYTES)

    def _verify(self, progress):
        with readers.TiffReader(self.path) as reader:
            if reader.shape != self.shape or reader.dtype != self.dtype:
                raise StackError(f"got {reader.shape} {reader.dtype} instead of {self.shape} "
                                 f"{self.dtype}")
            self._verify_chunks(reader, progress)


_STOP = object()


def _png_image(array, layout, i):
    """Image ``i`` as it goes into a PNG: (H, W) or (H, W, 3/4), native byte order."""
    image = np.ascontiguousarray(image_at(array, layout, i), dtype=_native(array.dtype))
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


class PngFolderWriter(ChunkWriter):
    """A new folder of PNG files, one per image; each file fsynced, then the folder.

    The files are numbered (``00000.png``...), or named ``names`` (one per
    image, e.g. :func:`~histeq_gui.core.folder.png_names` of the source
    files of a folder).
    """

    kind = "png-folder"

    def __init__(self, *args, names=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.names = None if names is None else list(names)

    def _open(self):
        self.n_images = self.layout.n_images
        if self.names is not None and len(self.names) != self.n_images:
            raise ValueError(f"{len(self.names)} names for {self.n_images} images")
        self.digits = max(5, len(str(self.n_images - 1)))
        self.per = self.n_images // self.length         # images per index along the axis
        with guard(self.target, "write"):
            os.mkdir(self.path)

    def name(self, i):
        if self.names is not None:
            return self.names[i]
        return f"{i:0{self.digits}d}.png"

    def _write(self, start, stop, data):
        layout = Layout(data.shape, self.layout.channel_axis)
        for j in range(layout.n_images):
            self._write_png(start * self.per + j, _png_image(data, layout, j))

    def _write_png(self, i, image):
        with new_file(self.path / self.name(i), self.target) as fh:
            iio.imwrite(fh, image, extension=".png", plugin="pillow")
        self.digests.append((i, i + 1, digest(image)))

    def _finish(self):
        with guard(self.target, "write"):
            sync_folder(self.path)

    def _verify(self, progress):
        names = sorted(os.listdir(self.path))
        if names != sorted(self.name(i) for i in range(self.n_images)):
            raise StackError(f"{len(names)} files for {self.n_images} images")
        for i, _, expected in self.digests:
            stored = load._load_image(self.path / self.name(i), folder_item=True)
            if digest(stored) != expected:
                raise StackError(f"{self.name(i)} reads back as {stored.shape} {stored.dtype}")
            if progress is not None:
                progress(-(-(i + 1) // self.per), self.length)


class RaggedPngWriter(PngFolderWriter):
    """A new folder of PNG files for images of different sizes, one image per ``write``.

    Parameters
    ----------
    path : pathlib.Path
        The folder to create (must not exist).
    names : sequence of str
        The file name of each image, in order.
    dtype : dtype-like
        What the files hold (uint8, or uint16 gray).
    target : path-like, optional
        The final path, for error messages.

    Notes
    -----
    ``write(i, i + 1, image)`` with image ``i`` as ``(H, W)`` or
    ``(H, W, C)``, in order; then ``finish()`` and ``verify()`` as for any
    :class:`ChunkWriter`.
    """

    def __init__(self, path, names, dtype, target=None):
        names = list(names)
        super().__init__(path, (len(names), 1, 1), dtype, Layout((len(names), 1, 1)), 0,
                         target=target, names=names)

    def write(self, start, stop, chunk):
        if start != self.next or stop != start + 1 or not stop <= self.length:
            raise ValueError(f"image {start}:{stop} out of order; expected image {self.next} "
                             f"of {self.length}")
        image = np.ascontiguousarray(chunk, dtype=self.dtype)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        self._write_png(start, image)
        self.next = stop


class PngWriter(ChunkWriter):
    """One PNG file holding a single image."""

    kind = "png"

    def _open(self):
        if self.layout.n_images != 1:
            raise StackError(f"a .png file holds one image, not {self.layout.n_images}")

    def _write(self, start, stop, data):
        image = _png_image(data, Layout(data.shape, self.layout.channel_axis), 0)
        with new_file(self.path, self.target) as fh:
            iio.imwrite(fh, image, extension=".png", plugin="pillow")
        self.digests.append((0, 1, digest(image)))

    def _verify(self, progress):
        stored = load._load_image(self.path, folder_item=True)
        if digest(stored) != self.digests[0][2]:
            raise StackError(f"the image reads back as {stored.shape} {stored.dtype}")
        if progress is not None:
            progress(1, 1)


_WRITERS = {"npy": NpyWriter, "npz": NpzWriter, "tif": TiffWriter, "png-folder": PngFolderWriter,
            "png": PngWriter}


def open_writer(path, kind, shape, dtype, layout, *, target=None, key="images", axis="auto",
                names=None):
    """Open a :class:`ChunkWriter` of ``kind`` at ``path`` (a temporary that does not exist).

    Parameters
    ----------
    path : path-like
        Where to write, e.g. a temporary path from
        :func:`~histeq_gui.core.atomic.staged`.
    kind : str
        "npy", "npz", "tif", "png", "png-folder" (see
        :func:`~histeq_gui.core.save.output_kind`) or "zarr".
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
    if kind == "zarr":
        from .zarr_store import ZarrWriter as cls
    else:
        cls = _WRITERS[kind]
    if axis == "auto":
        axis = write_axis(layout, kind)
    extra = {"names": names} if kind == "png-folder" else {}
    writer = cls(path, shape, dtype, layout, axis, target=target, key=key, **extra)
    try:
        return writer.open()
    except BaseException:
        writer.abort()
        raise

