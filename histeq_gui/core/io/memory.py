"""How much memory is left, and refusing to decode what would not fit.

A small compressed file can declare a huge image (a "decompression bomb"):
decoding it gets the process killed without a word.  Loaders compute the
decoded size from what the file declares and call :func:`check_fits` first;
reading many files, a :class:`Budget` looks at the free memory once for a
batch of them and counts what each one takes.
"""

from __future__ import annotations

import os
import threading

from ..errors import StackError

__all__ = ["available", "check_fits", "size_text", "Budget"]


def _meminfo():
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _read_number(path):
    try:
        with open(path, "rb") as fh:
            text = fh.read(64).strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup_room():
    """Bytes left under this process's cgroup memory limit (v2, then v1), or None."""
    try:
        with open("/proc/self/cgroup", "rb") as fh:
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":                      # cgroup v2
            folder = "/sys/fs/cgroup" + parts[2].rstrip("/")
            for where in (folder, "/sys/fs/cgroup"):
                limit = _read_number(f"{where}/memory.max")
                used = _read_number(f"{where}/memory.current")
                if limit is not None and used is not None:
                    return max(limit - used, 0)
        elif "memory" in parts[1].split(","):                       # cgroup v1
            limit = _read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes")
            used = _read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes")
            if limit is not None and used is not None and limit < 1 << 60:
                return max(limit - used, 0)
    return None


def available():
    """Bytes of memory this process can still take, or None if that cannot be known.

    The kernel's estimate (``MemAvailable`` in /proc/meminfo, else the free
    physical pages), lowered to what a cgroup memory limit (a container)
    still allows.

    Examples
    --------
    >>> value = available()
    >>> value is None or value >= 0
    True
    """
    values = [v for v in (_meminfo(), _cgroup_room()) if v is not None]
    return min(values) if values else None


def size_text(nbytes):
    """A size for people: ``9.6 GB``, ``875.0 kB`` (powers of 1000).

    Examples
    --------
    >>> size_text(9_600_000_000), size_text(512)
    ('9.6 GB', '512 bytes')
    """
    if nbytes < 1000:
        return f"{nbytes} bytes"
    for unit in ("kB", "MB", "GB", "TB"):
        nbytes /= 1000
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:.1f} {unit}"


def check_fits(nbytes, path, what, doing="read"):
    """Raise StackError if ``nbytes`` (what decoding ``path`` would take) exceed free memory.

    Parameters
    ----------
    nbytes : int
        Bytes the decoded data would take.
    path : str or path-like
        The file, named in the message.
    what : str
        What those bytes are, e.g. ``"200 frames of 4000x4000 pixels"``.
    doing : str, optional
        The verb of the message ("read", "export").

    Raises
    ------
    StackError
        ``cannot read 'x.gif': it would decode to 9.6 GB (200 frames of
        4000x4000 pixels), more than the 3.1 GB of memory available; ...``
    """
    _check(nbytes, available(), path, what, doing)


def _check(nbytes, free, path, what, doing="read"):
    if free is None or nbytes <= free:
        return
    if doing == "read":
        raise StackError(f"cannot read '{path}': it would decode to {size_text(nbytes)} ({what}), "
                         f"more than the {size_text(free)} of memory available; use a smaller "
                         "file or free some memory")
    raise StackError(f"cannot {doing} '{path}': it needs {size_text(nbytes)} of memory ({what}), "
                     f"more than the {size_text(free)} available; use a smaller stack or free "
                     "some memory")


class Budget:
    """The free memory, looked at once, shared by the files of a batch as they are decoded.

    Reading the kernel's figure costs more than decoding a small image, so
    a reader of many files takes one Budget per batch and calls
    :meth:`take` for each file (from any thread) before decoding it.

    Examples
    --------
    >>> budget = Budget()
    >>> budget.take(1000, "a.png", "1 frame of 25x10 pixels, RGBA")
    """

    def __init__(self):
        self.free = available()
        self._lock = threading.Lock()

    def take(self, nbytes, path, what):
        """Count ``nbytes`` for ``path``; StackError (as :func:`check_fits`) if they do not fit.

        ``what`` is the text of :func:`check_fits`, or a callable that gives it (made only for
        a refusal).
        """
        with self._lock:
            if self.free is not None and nbytes > self.free:
                _check(nbytes, self.free, path, what() if callable(what) else what)
            if self.free is not None:
                self.free -= nbytes
