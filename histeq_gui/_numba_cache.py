"""Give numba a cache folder it can write, before numba is imported.

The compiled kernels are declared with ``cache=True``.  numba caches beside
the code (``histeq_gui/core/__pycache__``) or, when that is read-only (a
system-wide install), under ``~/.cache/numba``; when neither can be written
(no writable HOME, e.g. a service account) it raises at import time, so even
``histeq --version`` would crash.  :func:`configure` runs first when the
package is imported: if neither place is writable and ``NUMBA_CACHE_DIR``
does not name a writable folder, it sets ``NUMBA_CACHE_DIR`` to a private
folder in the temporary directory (``histeq-gui-numba-<uid>``, mode 0700,
refused if another user owns it, since numba's cache files are pickles).

This module imports nothing heavy; it must not import numba.
"""

from __future__ import annotations

import os
import stat
import sys

__all__ = ["configure"]


def _writable(folder):
    """True if ``folder`` exists or can be made, and takes new files (numba's own test)."""
    try:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(os.path.join(folder, f".histeq-probe-{os.getpid()}"),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    os.close(fd)
    try:
        os.unlink(os.path.join(folder, f".histeq-probe-{os.getpid()}"))
    except OSError:
        pass
    return True


def _user_cache():
    """The user-wide cache folder of numba (its appdirs rule on Linux and macOS)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "numba")


def _private_temp_folder():
    """A folder only this user can write, in the temporary directory; None if none can be had."""
    import tempfile

    try:
        folder = os.path.join(tempfile.gettempdir(), f"histeq-gui-numba-{os.getuid()}")
    except (OSError, AttributeError):    # no temporary directory at all / no getuid
        return None
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None         # a link, a file, or someone else's folder: never load its pickles
    return folder if _writable(folder) else None


def configure():
    """Set ``NUMBA_CACHE_DIR`` to a private temporary folder if numba could cache nowhere.

    Returns
    -------
    str or None
        The folder set, or None when nothing had to change.
    """
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given and _writable(given):
        return None
    beside_code = os.path.join(os.path.dirname(os.path.abspath(__file__)), "core", "__pycache__")
    if _writable(beside_code) or _writable(_user_cache()):
        return None
    folder = _private_temp_folder()
    if folder is None:
        return None         # numba will say why it cannot cache; nothing better to offer
    os.environ["NUMBA_CACHE_DIR"] = folder
    config = sys.modules.get("numba.core.config")
    if config is not None:      # numba was imported before this package
        config.CACHE_DIR = folder
    return folder
