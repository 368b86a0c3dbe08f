"""Put outputs into place atomically, one file or several together.

A file is created fresh under a hidden temporary name beside its target
(:func:`staged` hands out the names, :func:`_new_file` creates and flushes
the file) and moved over the target with :func:`os.replace` only when all is
written.  Several targets (a stack and its sidecar) change together or not at
all; on any error or interruption the temporaries are removed and the targets
are left untouched.
"""

from __future__ import annotations

import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path

from .errors import StackError
from .files import _guard

__all__ = ["staged", "exists"]


@contextmanager
def staged(targets, overwrite=False):
    """Yield a temporary path per target; at the end move them all into place together.

    Parameters
    ----------
    targets : sequence of str or path-like
        Final paths of files or folders.
    overwrite : bool, callable or sequence of them, optional
        Whether an existing target may be replaced (one for all, or one per
        target), checked just before moving: a bool, or a callable
        ``check(target)`` that raises StackError if the existing target must
        not be replaced.

    Yields
    ------
    list of pathlib.Path
        Unused hidden names beside the targets, with their extensions
        (``out.tif`` -> ``.out-tmp-1a2b3c4d.tif``, ``frames`` ->
        ``.frames-tmp-1a2b3c4d``), for the block to create.

    Notes
    -----
    When the block ends, each temporary replaces its target with
    :func:`os.replace`.  Existing folders, and existing files but the last,
    are moved aside first and put back if a later move fails (a StackError),
    so all targets change or none; a lone file is replaced in one step.  If
    the block raises (also KeyboardInterrupt, or GeneratorExit when a
    generator is closed), every temporary is removed and the targets are
    untouched.
    """
    targets = [Path(target) for target in targets]
    flags = list(overwrite) if isinstance(overwrite, (list, tuple)) else \
        [overwrite] * len(targets)
    temps = [_temp_path(target, "tmp") for target in targets]
    try:
        yield temps
        for target, flag in zip(targets, flags):
            if callable(flag):
                flag(target)
            elif not flag and exists(target):
                raise StackError(f"'{target}' exists; pass --overwrite to replace it")
        with _guard(targets[0], "write"):
            _move_into_place(temps, targets)
    finally:
        for temp in temps:      # none is left after the moves
            _remove(temp)


def _temp_path(path, tag):
    """An unused hidden name beside ``path`` with its extension: ``.stem-tag-XXXXXXXX.ext``."""
    return path.parent / f".{path.stem.lstrip('.')}-{tag}-{secrets.token_hex(4)}{path.suffix}"


def exists(path):
    """True if anything is at ``path``, a dangling symbolic link included."""
    return path.exists() or path.is_symlink()


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _move_into_place(temps, targets):
    """``os.replace`` each temp onto its target; if one move fails, restore every target."""
    moves = []      # (temp, target, backup or None), recorded before moving
    try:
        for i, (temp, target) in enumerate(zip(temps, targets)):
            backup = None
            if exists(target) and (temp.is_dir() or i < len(targets) - 1):
                backup = _temp_path(target, "old")
            moves.append((temp, target, backup))
            if backup is not None:
                os.replace(target, backup)
            os.replace(temp, target)
    except BaseException:
        for temp, target, backup in reversed(moves):
            if not exists(temp):       # it was moved in
                os.replace(target, temp)
            if backup is not None and exists(backup):
                os.replace(backup, target)
        raise
    for _, _, backup in moves:
        if backup is not None:
            _remove(backup)


@contextmanager
def _new_file(path, target, progress=None):
    """Create the file ``path`` for writing; flush it to disk when the block ends."""
    with _guard(target, "write", progress=progress), open(path, "xb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
