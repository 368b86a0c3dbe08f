"""Reading files, and maps of them, with file reads: a file cut meanwhile is an error.

A memory map of a file that shrinks while it is read kills the process with
SIGBUS (exit 135), which no Python code can catch.  The maps this package
makes (a ``.npy`` file, a stored ``.npz`` member) are marked with the file
they show (:func:`remember_file`); :class:`MappedReader` then reads pieces
of such a map with ``pread``, never touching its pages, and reports a file
that is cut, or replaced, as a one-line StackError.  Resident memory stays
bounded by what is read.  :func:`pread_into` is the one loop of file reads
that the readers of raw data share (``.npy`` files, raw TIFF pages, maps).
"""

from __future__ import annotations

import os

import numpy as np

from .files import changed_error, check_unchanged, guard, signature

__all__ = ["MappedReader", "remember_file", "pread_into"]


def pread_into(fd: int, data: np.ndarray, position: int, path, short, what: str = "file") -> None:
    """Fill the bytes ``data`` (a writable uint8 array) from ``fd`` at ``position``.

    Parameters
    ----------
    fd : int
        An open file descriptor (``pread`` never moves its offset, so
        threads may share it).
    data : ndarray of uint8
        Filled whole, in as many reads as the system needs.
    position : int
        Where in the file ``data`` starts.
    path : path-like
        The file, named in error messages.
    short : callable
        ``short(done)``: the StackError to raise when the file ends after
        ``done`` bytes (it was cut since it was opened).
    what : str, optional
        What the file is, for a read error's message (".npy file").
    """
    view, done = memoryview(data), 0
    while done < data.size:
        with guard(path, what=what):
            if hasattr(os, "preadv"):
                n = os.preadv(fd, [view[done:]], position + done)
            else:
                chunk = os.pread(fd, data.size - done, position + done)
                n = len(chunk)
                view[done:done + n] = chunk
        if n == 0:
            raise short(done)
        done += n


def remember_file(array: np.memmap, path: str | os.PathLike,
                  info: os.stat_result) -> np.memmap:
    """Mark ``array``, a memory map of the file ``path``, with the file it shows.

    Parameters
    ----------
    array : numpy.memmap
        A map of (part of) the file.
    path : path-like
        The file.
    info : os.stat_result
        ``os.stat`` of the file when it was mapped: a reader can then tell
        whether the file was replaced since (``_histeq_file``), and the Dask
        engine whether it changed (``_histeq_signature``).

    Returns
    -------
    numpy.memmap
        ``array`` itself.
    """
    array._histeq_file = (os.path.abspath(path), info.st_dev, info.st_ino)
    array._histeq_signature = signature(info)
    return array


class MappedReader:
    """Reads pieces of a ``.npy`` memory map with file reads instead of touching its pages.

    A memory map of a file that shrinks while it is read kills the process
    with SIGBUS (exit 135), which no Python code can catch.  Reading the same
    bytes with ``pread`` reports a file that is cut, or replaced, as a
    one-line StackError instead.  Use :meth:`for_array`, then :meth:`read`
    views (slices) of the mapped array; :meth:`close` when done.

    Parameters
    ----------
    root : numpy.memmap
        A map marked by :func:`remember_file`.
    """

    def __init__(self, root):
        self.root = root
        self.path, dev, ino = root._histeq_file
        self.start = root.ctypes.data       # an address: no page is touched
        self.offset = int(root.offset)
        self.end = self.offset + root.nbytes
        with guard(self.path, what=".npy file"):
            self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        info = os.fstat(self.fd)
        if (info.st_dev, info.st_ino) != (dev, ino):
            os.close(self.fd)
            raise changed_error(self.path,
                                "it was replaced by another file since it was loaded")

    @classmethod
    def for_array(cls, array):
        """A reader for ``array`` if it is (a view of) a map marked by :func:`remember_file`.

        None for any other array.
        """
        root = array
        while isinstance(root, np.ndarray) and not hasattr(root, "_histeq_file"):
            root = root.base
        if not isinstance(root, np.memmap) or not hasattr(root, "_histeq_file"):
            return None
        return cls(root)

    def read(self, view):
        """The values of ``view`` (a view of the mapped array) as a new in-memory array."""
        out = np.empty(view.shape, view.dtype)
        self._read_into(view, out)
        return out

    def _read_into(self, view, out):
        if view.size == 0:
            return
        low = high = view.__array_interface__["data"][0]
        for n, step in zip(view.shape, view.strides):
            low, high = low + min(0, (n - 1) * step), high + max(0, (n - 1) * step)
        high += view.itemsize
        if high - low > 2 * view.nbytes + 4096 and view.ndim > 1:
            # Sparse (a channel of colour pixels, images of a Fortran-ordered file): read
            # along the axis of the longest step, so that each piece is dense or small.
            axis = int(np.argmax(np.abs(view.strides)))
            for i in range(view.shape[axis]):
                key = (slice(None),) * axis + (i,)
                self._read_into(view[key], out[key])
            return
        if not self.start <= low <= high <= self.start + (self.end - self.offset):
            raise ValueError("the view does not lie inside the mapped array")
        direct = view.flags.c_contiguous and out.flags.c_contiguous and out.dtype == view.dtype
        data = out.reshape(-1).view(np.uint8) if direct else np.empty(high - low, np.uint8)
        pread_into(self.fd, data, self.offset + (low - self.start), self.path, self._cut,
                   ".npy file")
        if not direct:
            first = view.__array_interface__["data"][0] - low
            out[...] = np.ndarray(view.shape, view.dtype, buffer=data, offset=first,
                                  strides=view.strides)

    def _cut(self, done):
        size = os.fstat(self.fd).st_size
        return changed_error(self.path, f"it is now {size} bytes, {self.end} expected")

    def check_unchanged(self):
        """Raise a one-line StackError if the mapped file changed since it was mapped."""
        check_unchanged(self.path, self.root._histeq_signature)

    def close(self):
        """Close the file (idempotent)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
