"""Helpers that loading and saving share: one-line errors, progress and chunks.

Every library error met while reading or writing a file goes through
:func:`guard`, which turns it into a one-line
:class:`~histeq_gui.core.errors.StackError` naming the path and what to do;
errors raised by a progress callback (wrapped in :class:`Progress`) pass
unchanged, so cancelling is never reported as a damaged file.  Big arrays are
read, written and compared in chunks of rows of about :data:`PIECE_BYTES`.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from contextlib import contextmanager

from ..errors import Cancelled, StackError, first_line
from . import memory

PIECE_BYTES = 1 << 23      # read, write and compare in pieces of about 8 MB


class Progress:
    """Calls ``callback(done, total)`` and remembers what it raised, so guards let it through."""

    def __init__(self, callback, total):
        self.callback, self.total, self.error, self.last = callback, max(int(total), 1), None, 0

    def __call__(self, done):
        """Pass ``done`` (of ``total``) to the callback if it changed; remember what it raises."""
        if self.callback is not None and done != self.last:
            self.last = done
            try:
                self.callback(done, self.total)
            except BaseException as exc:
                self.error = exc
                raise


@contextmanager
def guard(path, doing="read", what="file", progress=None):
    """Turn library exceptions into a one-line StackError (progress errors pass unchanged)."""
    try:
        yield
    except (StackError, Cancelled):
        raise
    except Exception as exc:
        if progress is not None and exc is progress.error:
            raise
        raise StackError(f"cannot {doing} '{path}': {_reason(exc, doing, what)}") from exc


# What an operating-system error means for the user, whatever library raised it.
_ERRNO_REASONS = {
    errno.ENOENT: "no such file or folder; check the path",
    errno.ENOTDIR: "no such file or folder (a part of the path is not a folder); check the path",
    errno.EACCES: "permission denied; check the permissions of the file and its folder",
    errno.EPERM: "permission denied; check the permissions of the file and its folder",
    errno.ELOOP: "too many levels of symbolic links (a link that points to itself?); "
                 "fix or remove the link",
    errno.ENAMETOOLONG: "the name is too long (at most 255 bytes per file or folder name); "
                        "choose a shorter name",
    errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is exceeded; free some space or write elsewhere",
    errno.EROFS: "the file system is read-only; write elsewhere",
    errno.EISDIR: "it is a folder; choose a file",
}


def _reason(exc, doing, what):
    """The part of a one-line message that says what went wrong and what to do."""
    if isinstance(exc, OSError) and exc.errno in _ERRNO_REASONS:
        return _ERRNO_REASONS[exc.errno]
    if is_shortage(exc):
        return memory.shortage()
    if isinstance(exc, RuntimeError) and "symlink loop" in str(exc).lower():
        return _ERRNO_REASONS[errno.ELOOP]
    codec = re.search(r"<COMPRESSION\.(\w+): \d+> requires the 'imagecodecs' package", str(exc))
    if codec:
        return (f"its {codec[1]} compression needs the imagecodecs package; install it "
                "(pip install imagecodecs)")
    if isinstance(exc, ImportError):
        return (f"a codec it needs is missing ({first_line(exc, 100)}); install imagecodecs "
                "(pip install imagecodecs)")
    if doing == "read":
        # Pillow names the file object it was given (<_io.BufferedReader name=3>): the
        # message names the file already.
        detail = re.sub(r"\s*<_io\.\w+ [^>]*>", "", first_line(exc, 160)).strip() or \
            type(exc).__name__
        return (f"not a valid {what} ({detail}); check the file or convert it to .npy/.tif")
    return f"{first_line(exc, 160)}; check the folder's permissions and free space"


def is_shortage(exc: BaseException) -> bool:
    """Whether ``exc`` says memory or address space ran out (MemoryError, ENOMEM, a refusal).

    A memory map refused under ``ulimit -v`` raises ``OSError(ENOMEM)``
    ("Cannot allocate memory"): a shortage, not a damaged file; so is a
    refusal of :func:`~histeq_gui.core.io.memory.check_fits`.  The causes
    and contexts of ``exc`` are looked at too.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (MemoryError, memory.NotEnoughMemory)) or \
                isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def stat_input(path):
    """``os.stat(path)``, with every failure (missing, link loop, name too long) one line."""
    with guard(path):
        return os.stat(path)


def signature(info: os.stat_result) -> tuple:
    """What tells whether a file changed: ``(st_dev, st_ino, st_size, st_mtime_ns)`` of ``info``.

    A file replaced by another (a new inode), cut or grown, or written
    after its modification time was taken gets another signature.  A
    rewrite of the same size within the file system's timestamp resolution
    (a few milliseconds on Linux) cannot be told from ``stat``.
    """
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


class FileChanged(StackError):
    """An input file changed while it was being read (see ``changed_error``)."""


def changed_error(path, what: str = "it was replaced or modified") -> FileChanged:
    """The one-line error for an input that changed while it was being read."""
    return FileChanged(f"cannot read '{path}': the file changed during the export ({what}); "
                       "export again once it is complete")


def check_unchanged(path, expected: tuple) -> None:
    """Raise :class:`FileChanged` unless the file at ``path`` still has signature ``expected``.

    ``expected`` is the ``signature`` of its ``os.stat`` when it was opened.
    """
    try:
        info = os.stat(path)
    except OSError:
        raise changed_error(path, "it was removed or cannot be read any more") from None
    if signature(info) != tuple(expected):
        raise changed_error(path)


def check_regular(path, info):
    """Raise StackError unless ``info`` (from os.stat) is a regular file's."""
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
        raise StackError(f"cannot read '{path}': it is not a regular file ({kind}); "
                         "choose a stack file or a folder of images")


def open_input(path, what="file", listed=False):
    """Open a regular file for reading, refusing anything else without blocking on it.

    The path is checked with ``stat`` first (a named pipe is never opened),
    then opened non-blocking and checked again on the open descriptor, in
    case it was swapped meanwhile.  ``listed``: a folder's listing has just
    seen a regular file there, so the first check is left out (it costs as
    much as opening a small file); the check on the descriptor remains.
    """
    if not listed:
        check_regular(path, stat_input(path))
    with guard(path, what=what):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) |
                     getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        check_regular(path, os.fstat(fd))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_array(array, where):
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


def row_chunks(n_rows, row_bytes):
    """Runs ``(start, stop)`` of ``n_rows`` rows of ``row_bytes``, about ``PIECE_BYTES`` a run."""
    step = max(1, PIECE_BYTES // max(int(row_bytes), 1))
    for start in range(0, n_rows, step):
        yield start, min(start + step, n_rows)
