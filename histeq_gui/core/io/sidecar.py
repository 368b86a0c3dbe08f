"""The JSON sidecar beside an output: where it goes, writing and reading it.

The sidecar says how an output was made (``out.tif`` -> ``out.tif.json``); it
is written atomically like the output (see
:func:`~histeq_gui.core.io.atomic.staged`).

A file at the sidecar's name may be the user's own (``-o data`` next to an
unrelated ``data.json``), so it is replaced without ``overwrite`` only when
it is a sidecar this program wrote for this very output: a regular file of
at most 1 MB holding a JSON object with ``"program": "histeq-gui"`` and
``"output"`` equal to the output's name (:func:`is_own_sidecar`).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np

from ..errors import StackError
from .atomic import new_file, staged
from .files import guard

__all__ = ["PROGRAM", "sidecar_path", "is_own_sidecar", "own_files", "check_sidecar",
           "write_sidecar", "write_json", "read_sidecar"]

PROGRAM = "histeq-gui"      # the "program" every sidecar this program writes carries
_MAX_BYTES = 1 << 20        # a sidecar is a few hundred bytes; anything bigger is not ours


def sidecar_path(output_path):
    """Path of the JSON sidecar beside an output.

    ``out.tif`` -> ``out.tif.json``; a PNG folder ``out/`` -> ``out.json``.
    """
    path = Path(output_path)
    return path.with_name(path.name + ".json")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def is_own_sidecar(output_path):
    """True if the file at ``sidecar_path(output_path)`` is a sidecar this program wrote for it.

    Only a regular file (not a link, folder or pipe, which is never opened) of
    at most 1 MB holding a JSON object whose ``"program"`` is
    :data:`PROGRAM` and whose ``"output"`` is the output's file name counts.

    Examples
    --------
    >>> is_own_sidecar("/nonexistent/out.npy")
    False
    """
    target = sidecar_path(output_path)
    try:
        info = os.lstat(target)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_BYTES:
            return False
        with open(target, "rb") as fh:
            data = json.loads(fh.read(_MAX_BYTES + 1))
    except (OSError, ValueError):
        return False
    return (isinstance(data, dict) and data.get("program") == PROGRAM
            and data.get("output") == Path(output_path).name)


def own_files(output_path):
    """The file names a sidecar this program wrote for a PNG folder lists (its ``files``).

    Empty when there is no such sidecar (:func:`is_own_sidecar`) or it
    lists none: a folder of PNG files named after their sources holds these
    (relative paths with ``/`` for the export of a folder tree; never one
    that leaves the folder).

    Examples
    --------
    >>> own_files("/nonexistent/out")
    set()
    """
    if not is_own_sidecar(output_path):
        return set()
    try:
        with open(sidecar_path(output_path), "rb") as fh:
            files = json.loads(fh.read(_MAX_BYTES + 1)).get("files")
    except (OSError, ValueError):
        return set()
    if not isinstance(files, dict):
        return set()
    return {name for name in files if isinstance(name, str) and name.endswith(".png")
            and all(part not in ("", ".", "..") for part in name.split("/"))}


def check_sidecar(output_path, overwrite=False):
    """Raise StackError if the sidecar of ``output_path`` would replace a file not ours.

    Nothing at the sidecar's name, ``overwrite``, or a sidecar this program
    wrote for this output (``is_own_sidecar``) pass.  A folder there is
    refused even with ``overwrite``: a sidecar is a file, and never replaces
    a folder.
    """
    target = sidecar_path(output_path)
    try:
        with guard(target, "write"):   # e.g. a name too long once ".json" is added
            info = os.lstat(target)
    except StackError as exc:
        if not isinstance(exc.__cause__, FileNotFoundError):
            raise
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise StackError(f"cannot write the sidecar of '{Path(output_path).name}': "
                         f"'{target}' is a folder; move or rename it, or choose another "
                         "output name")
    if overwrite or info is None or is_own_sidecar(output_path):
        return
    raise StackError(f"'{target}' exists and was not written by {PROGRAM} for "
                     f"'{Path(output_path).name}'; pass --overwrite to replace it, or choose "
                     "another output name")


def write_sidecar(output_path, info, overwrite=False):
    """Write ``info`` as pretty-printed JSON beside ``output_path``, atomically.

    Parameters
    ----------
    output_path : str or path-like
        The output the sidecar describes.
    info : dict
        JSON-able values; NumPy scalars, arrays, dtypes and paths are converted.
        ``"program"`` and ``"output"`` (the output's name) are set, so that the
        sidecar is recognised as this program's.
    overwrite : bool, optional
        Replace a file at the sidecar's name that is not this program's
        sidecar of ``output_path`` (:func:`check_sidecar`).

    Returns
    -------
    pathlib.Path
        The sidecar's path (see :func:`sidecar_path`).

    Raises
    ------
    StackError
        If a file that is not this output's sidecar is in the way and not
        ``overwrite``, or the sidecar cannot be written.
    """
    target = sidecar_path(output_path)
    info = {**dict(info), "program": PROGRAM, "output": Path(output_path).name}
    check = (lambda _: check_sidecar(output_path, overwrite))
    check(target)
    with staged([target], overwrite=check) as (temp,):
        write_json(temp, info, target=target)
    return target


def write_json(path, info, *, target=None):
    """Write ``info`` as in :func:`write_sidecar` at exactly ``path`` (which must not exist).

    For a temporary path from :func:`~histeq_gui.core.io.atomic.staged`;
    ``target`` (default ``path``) is the path named in error messages.
    """
    text = json.dumps(dict(info), indent=2, default=_jsonable) + "\n"
    with new_file(path, path if target is None else target) as fh:
        fh.write(text.encode("utf-8"))


def read_sidecar(output_path):
    """Return the dict stored in the JSON sidecar of ``output_path`` (StackError if unreadable)."""
    target = sidecar_path(output_path)
    with guard(target, what="JSON sidecar"):
        info = json.loads(target.read_text(encoding="utf-8"))
    if not isinstance(info, dict):
        raise StackError(f"cannot read '{target}': not a sidecar (expected a JSON object); "
                         "check the file")
    return info
