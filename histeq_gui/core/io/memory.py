"""How much memory is left, and refusing to decode what would not fit.

A small compressed file can declare a huge image (a "decompression bomb"):
decoding it gets the process killed without a word.  Loaders compute the
decoded size from what the file declares and call :func:`check_fits` first;
reading many files, a :class:`Budget` looks at the free memory once for a
batch of them and counts what each one takes.

Memory is what the kernel says is available, lowered to what a cgroup (a
container) allows and to the address space left under a limit such as
``ulimit -v`` (``RLIMIT_AS``, usual on HPC schedulers): there an allocation
fails long before physical memory runs out, and the message says so
(:func:`shortage`).
"""

from __future__ import annotations

import os
import threading

from ..errors import StackError

try:
    import resource
except ImportError:                     # not on Windows
    resource = None

__all__ = ["NotEnoughMemory", "available", "address_room", "address_limit", "check_fits",
           "shortage", "size_text", "Budget"]


class NotEnoughMemory(StackError):
    """What :func:`check_fits` raises: the data would not fit in the memory left."""


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


def address_limit():
    """The address-space limit of this process in bytes (``ulimit -v``, ``RLIMIT_AS``), or None.

    Examples
    --------
    >>> value = address_limit()
    >>> value is None or value > 0
    True
    """
    if resource is None:
        return None
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY or soft < 0 else int(soft)


def _address_used():
    """Bytes of address space this process holds (``VmSize``), or None."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def address_room():
    """Bytes of address space left under this process's limit (``ulimit -v``), or None.

    None when no limit is set (or it cannot be read).  Mapping a file or
    allocating an array takes address space whether or not its pages are
    ever touched, so under a limit this is what an allocation can take.
    """
    limit = address_limit()
    if limit is None:
        return None
    used = _address_used()
    return None if used is None else max(limit - used, 0)


def available():
    """Bytes of memory this process can still take, or None if that cannot be known.

    The kernel's estimate (``MemAvailable`` in /proc/meminfo, else the free
    physical pages), lowered to what a cgroup memory limit (a container)
    still allows and to the address space left under ``ulimit -v``
    (:func:`address_room`).

    Examples
    --------
    >>> value = available()
    >>> value is None or value >= 0
    True
    """
    values = [v for v in (_meminfo(), _cgroup_room(), address_room()) if v is not None]
    return min(values) if values else None


def _by_address_space(free):
    """Whether ``free`` bytes (what :func:`available` said) is the address space left."""
    room = address_room()
    return room is not None and (free is None or room <= free)


def shortage(free=None):
    """What to tell the user when memory ran out: memory, or address space under ``ulimit -v``.

    Parameters
    ----------
    free : int, optional
        What :func:`available` said, if known; default: asked now.

    Returns
    -------
    str
        ``"not enough memory; free some memory or use a smaller stack"``, or
        ``"not enough address space (ulimit -v allows 2.0 GB); raise the limit
        (ulimit -v) or use a smaller stack"`` when a limit holds the process
        below the memory available.
    """
    free = available() if free is None else free
    if _by_address_space(free):
        return (f"not enough address space (ulimit -v allows {size_text(address_limit())}); "
                "raise the limit (ulimit -v, or the job's memory request) or use a smaller "
                "stack")
    return "not enough memory; free some memory or use a smaller stack"


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
    NotEnoughMemory
        A StackError: ``cannot read 'x.gif': it would decode to 9.6 GB (200 frames of
        4000x4000 pixels), more than the 3.1 GB of memory available; ...``;
        under ``ulimit -v``, ``... more than the 1.2 GB of address space
        left (ulimit -v allows 2.0 GB); ...``.
    """
    _check(nbytes, available(), path, what, doing)


def _check(nbytes, free, path, what, doing="read"):
    if free is None or nbytes <= free:
        return
    if _by_address_space(free):
        room = (f"the {size_text(free)} of address space left (ulimit -v allows "
                f"{size_text(address_limit())})")
        fix = "raise the limit (ulimit -v, or the job's memory request)"
    else:
        room, fix = f"the {size_text(free)} of memory available", "free some memory"
    if doing == "read":
        raise NotEnoughMemory(f"cannot read '{path}': it would decode to {size_text(nbytes)} "
                              f"({what}), more than {room}; use a smaller file or {fix}")
    raise NotEnoughMemory(f"cannot {doing} '{path}': it needs {size_text(nbytes)} of memory "
                          f"({what}), more than {room}; use a smaller stack or {fix}")


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
