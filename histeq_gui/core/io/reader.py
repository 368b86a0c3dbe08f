"""The Reader: a stack's shape and dtype at once, its images on demand, chunk by chunk.

Every format module gives a :class:`Reader` subclass (or, for arrays in
memory and memory maps, an :class:`ArrayReader`) and declares the inputs it
reads as :class:`Input` records; :func:`~histeq_gui.core.io.open_reader`
picks the one for a path.  A reader gives:

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

Resident memory stays bounded by what is asked for: memory maps are read
with ``pread`` (:mod:`~histeq_gui.core.io.mapped`), and each format reads
no more than the pieces asked for (compressed ``.npz`` members as a stream,
TIFF pages in batches, folders file by file).
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from ..stack import Layout, image_at
from . import memory
from .files import Progress, check_unchanged, row_chunks
from .mapped import MappedReader

__all__ = ["Input", "Reader", "ArrayReader", "reader_for", "stack_axis", "CHUNK_BYTES"]

#: Default size of the pieces :meth:`Reader.chunks` reads: 64 MB.
CHUNK_BYTES = 1 << 26


def stack_axis(layout: Layout) -> int | None:
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


@dataclass(frozen=True)
class Input:
    """An input a format module reads, as it declares it (its ``INPUTS``).

    :mod:`~histeq_gui.core.io.formats` gathers these declarations into the
    one table that says which module opens a path.

    Attributes
    ----------
    suffixes : tuple of str
        The extensions it reads, lower case with the dot (``(".tif",
        ".tiff")``).  For a folder input, the extensions of the folders it
        reads (``(".zarr",)``); empty: every other folder.
    open : callable
        ``open(path)``, or ``open(path, key)`` when ``key`` is set: a reader
        (:class:`Reader`, or a ragged reader for a folder of images of
        different sizes), after the format's checks, or a one-line
        StackError.
    label : str
        How messages list it (``".tif/.tiff"``).
    folder : bool
        A folder rather than a file.
    key : bool
        It holds several arrays, chosen by a key (``.npz``).
    probes : bool
        ``open(path, probe=...)`` takes whether to read every file's header
        now (a folder of image files).
    """

    suffixes: tuple[str, ...]
    open: Callable
    label: str
    folder: bool = False
    key: bool = False
    probes: bool = False


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
    calibration : dict or None
        The spatial calibration the file declares (pixel size, unit, z
        spacing, frame interval; see
        ``histeq_gui.core.io.tiff.read_calibration``), or None.

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
    copies = True           # read() makes new arrays (not views of one in memory)
    calibration = None
    signature = None        # (st_dev, st_ino, st_size, st_mtime_ns) of the path when opened

    def __init__(self, shape, dtype):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self._lock = threading.RLock()

    # --- what it holds
    @property
    def ndim(self):
        """Number of axes."""
        return len(self.shape)

    @property
    def size(self):
        """Number of values (the product of the shape)."""
        return math.prod(self.shape)

    @property
    def nbytes(self):
        """Bytes the values take in memory (``size * dtype.itemsize``)."""
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
            If the file is damaged, truncated or changed since it was opened,
            or if the piece (when larger than :data:`CHUNK_BYTES`) would not
            fit in the memory left.
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
        nbytes = math.prod(shape) * self.dtype.itemsize
        if self.copies and nbytes > CHUNK_BYTES:    # a small file may declare a huge image
            memory.check_fits(nbytes, self.path, f"images {start}:{stop} along axis {axis} of "
                                                 f"shape {self.shape} {self.dtype}")
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
        """Image ``index`` of ``layout`` (as ``histeq_gui.core.stack.image_at`` gives it).

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
        report = Progress(progress, length)
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
        report = Progress(progress, rows)
        with self._lock:
            for start, stop in row_chunks(rows, flat[:1].nbytes):
                self._read_rows(start, stop, flat[start:stop])
                report(stop)
        return out

    def check_unchanged(self):
        """Raise a one-line StackError if the file changed since it was opened.

        Compares the path's ``signature`` now with the one taken when it
        was opened (nothing to check for an array in memory).  A pipeline
        that reads a stack more than once, or commits what it read, calls
        this after its reads: pieces read before and after a change would
        otherwise be mixed without any error.
        """
        if self.path is not None and self.signature is not None:
            check_unchanged(self.path, self.signature)

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
    (``histeq_gui.core.io.mapped.MappedReader``), never through its pages,
    so resident memory stays bounded by what is read.  ``calibration``: that
    of the file the array was read from, to keep in an export.
    """

    def __init__(self, array, path=None, kind="array", calibration=None):
        array = array if isinstance(array, np.ndarray) else np.asarray(array)
        super().__init__(array.shape, array.dtype)
        self.array, self.path, self.kind = array, None if path is None else Path(path), kind
        self.calibration = calibration
        self.depth = array.ndim
        self._mapped = MappedReader.for_array(array)
        self.copies = self._mapped is not None

    def _read(self, start, stop, axis):
        view = self.array[(slice(None),) * axis + (slice(start, stop),)]
        return view if self._mapped is None else self._mapped.read(view)

    def load(self, progress=None):
        """The array itself (a ``.npy`` map stays a map: nothing is read)."""
        Progress(progress, 1)(1)
        return self.array

    def check_unchanged(self):
        """As :meth:`Reader.check_unchanged`, also for a map from ``load_stack`` (its file)."""
        super().check_unchanged()
        if self._mapped is not None:
            self._mapped.check_unchanged()

    def close(self):
        """Close the file a ``.npy`` map is read through with ``pread`` (if the array is one)."""
        if self._mapped is not None:
            self._mapped.close()


def reader_for(images: Reader | ArrayLike, path: str | os.PathLike | None = None) -> Reader:
    """A :class:`Reader` for ``images``: a Reader itself, or an array (see ArrayReader)."""
    if isinstance(images, Reader):
        return images
    return ArrayReader(images, path)
