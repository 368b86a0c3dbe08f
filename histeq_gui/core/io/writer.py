"""The ChunkWriter: write a stack piece by piece, then verify it piece by piece.

Every format module gives a :class:`ChunkWriter` subclass per output kind
and declares it as an :class:`Output` record (its ``OUTPUTS``);
:func:`~histeq_gui.core.io.open_writer` makes one for a temporary path from
:func:`~histeq_gui.core.io.atomic.staged`:

1. ``open_writer(...)`` creates the file (or folder) and its header;
2. ``write(start, stop, chunk)`` appends ``stack[..., start:stop, ...]``
   along the writer's axis, in order, and keeps a digest of the bytes it
   wrote (CRC-32 and length per chunk, or per image for PNG files);
3. ``finish()`` completes the file and flushes it to disk (fsync);
4. ``verify()`` opens what was written with the format's reader, checks
   its shape, dtype and layout, and compares the digest of every chunk
   read back with the one written;
5. committing is ``staged``'s: the temporary is moved into place with the
   journaled protocol of :mod:`~histeq_gui.core.io.atomic`.

No copy of the whole stack is ever kept: memory is bounded by the chunk.
The digest is for detecting data that does not read back as written (a
faulty disk, a damaged file, a writer bug), not for authentication; CRC-32
(``zlib.crc32``, several GB/s) with the byte count per chunk of at most
tens of MB misses a random corruption with probability 2**-32.

The writer's axis (:meth:`ChunkWriter.axis_for`) is the stack's image axis
for writers of whole images (PNG files, Zarr arrays), and for files written
in order (.npy, .npz, TIFF) the first axis longer than one before the
image's own axes, so that each chunk is a contiguous run of the file.
"""

from __future__ import annotations

import queue
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from ..errors import Cancelled, StackError
from . import memory
from .atomic import new_file
from .files import guard, is_shortage
from .reader import stack_axis

__all__ = ["Output", "ChunkWriter", "PipedWriter", "FileWriter", "digest", "native_dtype"]


def digest(data: np.ndarray) -> tuple[int, int]:
    """The digest of a C-contiguous array's bytes: ``(nbytes, crc32)``."""
    data = np.ascontiguousarray(data)
    return data.nbytes, zlib.crc32(data.reshape(-1).view(np.uint8))


def native_dtype(dtype: DTypeLike) -> np.dtype:
    """``dtype`` in the machine's byte order (what image files and Zarr arrays are written in)."""
    return np.dtype(dtype).newbyteorder("=")


@dataclass(frozen=True)
class Output:
    """An output a format module writes, as it declares it (its ``OUTPUTS``).

    :mod:`~histeq_gui.core.io.formats` gathers these declarations into the
    one table that says which writer an output path gets.

    Attributes
    ----------
    suffixes : tuple of str
        The extensions of its paths, lower case with the dot; ``""`` is a
        path without an extension.
    writer : type
        Its :class:`ChunkWriter` subclass, whose ``kind`` names the output
        kind (``"tif"``).
    label : str
        How messages list it (``".tif/.tiff"``).
    """

    suffixes: tuple[str, ...]
    writer: type[ChunkWriter]
    label: str

    @property
    def kind(self):
        """The output kind: ``writer.kind``."""
        return self.writer.kind


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
        The axis chunks are cut along (:meth:`axis_for`); None: the whole
        stack is one chunk, written with ``write(0, 1, stack)``.
    target : path-like, optional
        The final path, named in error messages (default ``path``).
    key : str, optional
        The array's name in an ``.npz`` file.
    names : sequence of str, optional
        The file name of each image, for writers of one file per image
        (default numbered).
    calibration : dict, optional
        The spatial calibration of the stack (a reader's ``calibration``),
        for the outputs that keep it (TIFF files).
    """

    kind: str = ""          # the output kind, e.g. "npy" (each subclass names its own)
    whole_images = False    # chunks are whole images, not contiguous runs of the file
    image_at_a_time = False     # a whole stack is handed over one index at a time (slow encoders)

    def __init__(self, path, shape, dtype, layout, axis, target=None, key="images", names=None,
                 calibration=None):
        self.path = Path(path)
        self.calibration = calibration
        self.target = self.path if target is None else Path(target)
        self.shape, self.dtype, self.layout, self.axis = tuple(shape), np.dtype(dtype), layout, axis
        self.key = key
        self.names = None if names is None else list(names)
        self.length = 1 if axis is None else self.shape[axis]
        self.next = 0
        self.digests = []           # (start, stop, digest) in order
        self.finished = False

    @classmethod
    def axis_for(cls, layout):
        """The axis a stack of ``layout`` is cut along into chunks (None: one chunk).

        Writers of whole images take the stack's image axis
        (:func:`~histeq_gui.core.io.stack_axis`).  Files written in order
        take the first axis longer than one before the image's own axes (the
        channel axis of a ``(C, N, H, W)`` stack, else the image axis), so
        that each chunk is contiguous in the file.
        """
        if cls.whole_images:
            return stack_axis(layout)
        first_image_axis = min(layout.image_axes)
        return next((a for a in range(first_image_axis) if layout.shape[a] > 1), None)

    @classmethod
    def check_stack(cls, path, dtype=None, layout=None):
        """Raise StackError if this kind of output cannot hold a stack of ``dtype`` and ``layout``.

        Either may be None (not known yet).  Called before any work, and
        again with the stack's own before writing it.
        """

    @classmethod
    def check_replace(cls, path):
        """Raise StackError if what is at ``path`` is not an output of this kind to replace.

        Called only when something is there and ``overwrite`` was given.
        """
        if path.is_dir():
            raise StackError(f"cannot write '{path}': it is a folder; choose a file name")

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
            if is_shortage(exc):        # not the disk's fault: say what ran out
                raise StackError(f"cannot write '{self.target}': reading it back to verify "
                                 f"it failed: {memory.shortage()}; nothing was written") from exc
            raise StackError(f"cannot write '{self.target}': the written file does not read "
                             f"back as written ({exc}); nothing was written, check the disk "
                             "and retry") from exc

    def _keep(self, start, stop, data):
        """Record the digest of the chunk ``start:stop`` as written."""
        self.digests.append((start, stop, digest(data)))

    @staticmethod
    def _reads_back(data, expected):
        """Whether ``data`` read back has the digest ``expected`` recorded by :meth:`_keep`."""
        return digest(data) == expected

    def _check(self, reader):
        """Raise StackError unless ``reader``, of what was written, has the shape and dtype."""
        if reader.shape != self.shape or reader.dtype != self.dtype:
            raise StackError(f"got {reader.shape} {reader.dtype} instead of {self.shape} "
                             f"{self.dtype}")

    def _verify_chunks(self, reader, progress):
        axis = 0 if self.axis is None else self.axis
        for start, stop, expected in self.digests:
            if self.axis is None:
                start, stop = 0, self.shape[0]
            if not self._reads_back(reader.read(start, stop, axis), expected):
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


_STOP = object()        # handed to a helper thread: stop without finishing


class _Pipe:
    """A helper thread that consumes the chunks handed to it, so writing overlaps computing.

    ``consume(chunks)`` runs in the thread over an iterator of the chunks
    :meth:`put` (at most two wait in between); an error it raises is raised
    by the next :meth:`put` or by :meth:`close`, as a one-line StackError
    naming ``target`` (through ``guard``).

    The end of the thread is waited for on an event it sets last, never with
    ``Thread.join``: a signal handler that raises during ``join`` (SIGINT,
    the CLI's SIGTERM) makes CPython 3.11 mark the thread stopped while it
    still runs, so that an abort would return while a chunk is still being
    written into what the caller then removes.
    """

    def __init__(self, target, consume, name):
        self.target, self.error = target, None
        self.queue = queue.Queue(maxsize=2)
        self.done = threading.Event()

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
            finally:
                self.done.set()

        self.thread = threading.Thread(target=work, name=name, daemon=True)
        self.thread.start()

    def put(self, item):
        while True:
            self._raise()
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if self.done.is_set():
                    self._raise()
                    raise StackError(f"cannot write '{self.target}': the writer stopped") \
                        from None

    def _raise(self):
        if self.error is not None:
            error, self.error = self.error, None
            with guard(self.target, "write"):
                raise error

    def close(self):
        """Wait until every chunk is consumed; raise what went wrong."""
        self.put(None)
        self.done.wait()
        self._raise()

    def abort(self):
        """Stop the thread without finishing (the consumer sees Cancelled); wait for its end."""
        while not self.done.is_set():
            try:
                self.queue.put(_STOP, timeout=0.1)
                break
            except queue.Full:
                continue
        self.done.wait()


class PipedWriter(ChunkWriter):
    """Writers whose chunks are written by a helper thread, so that writing overlaps computing.

    Subclasses call :meth:`_start_pipe` in ``_open`` and give
    ``_consume(chunks)``, which writes the chunks (C-contiguous arrays in the
    output's dtype, in order) in the helper thread and must call
    :meth:`_keep` for each before writing it; ``_end`` completes the output
    after the last chunk.  Aborting waits for the chunk being written, so no
    write is still going on when the caller removes what was written.
    """

    _pipe = None

    def _start_pipe(self, name):
        """Start the helper thread ``name``."""
        self._pipe = _Pipe(self.target, self._consume, name)

    def _write(self, start, stop, data):
        self._pipe.put((start, stop, data))

    def _finish(self):
        self._pipe.close()
        self._end()

    def _end(self):
        """What completes the output after its last chunk (archives, flushing)."""

    def _abort(self):
        if self._pipe is not None:
            self._pipe.abort()
            self._pipe = None


class FileWriter(PipedWriter):
    """Writers of one file: created at open, written by a helper thread, fsynced at finish.

    Subclasses call :meth:`_start` in ``_open`` and give ``_consume(chunks)``
    as for :class:`PipedWriter`.
    """

    def _start(self, name):
        """Create the file and start the helper thread ``name``."""
        self._files = new_file(self.path, self.target)
        self.fh = self._files.__enter__()
        self._start_pipe(name)

    def _finish(self):
        super()._finish()
        self._files.__exit__(None, None, None)      # flush + fsync + close
        self._files = None

    def _abort(self):
        super()._abort()
        if getattr(self, "_files", None) is not None:
            try:
                self._files.__exit__(Cancelled, Cancelled(), None)
            except BaseException:
                pass
            self._files = None

    @staticmethod
    def _bytes(data):
        return data.reshape(-1).view(np.uint8).data
