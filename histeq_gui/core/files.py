"""Helpers that loading and saving share: one-line errors, progress and chunks.

Every library error met while reading or writing a file goes through
:func:`_guard`, which turns it into a one-line
:class:`~histeq_gui.core.errors.StackError` naming the path and what to do;
errors raised by a progress callback (wrapped in :class:`_Progress`) pass
unchanged, so cancelling is never reported as a damaged file.  Big arrays are
read, written and compared in chunks of rows of about ``_CHUNK_BYTES``.
"""

from __future__ import annotations

from contextlib import contextmanager

from .errors import Cancelled, StackError, first_line

_CHUNK_BYTES = 1 << 23      # read, write and compare in pieces of about 8 MB


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
            reason = (f"not a valid {what} ({first_line(exc, 160)}); "
                      "check the file or convert it to .npy/.tif")
        else:
            reason = f"{first_line(exc, 160)}; check the folder's permissions and free space"
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


def _row_chunks(n_rows, row_bytes):
    step = max(1, _CHUNK_BYTES // max(int(row_bytes), 1))
    for start in range(0, n_rows, step):
        yield start, min(start + step, n_rows)
