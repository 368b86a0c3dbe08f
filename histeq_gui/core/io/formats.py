"""Which format module reads a path and which writes an output: the one table.

Each format module declares what it handles: its ``INPUTS``
(:class:`~histeq_gui.core.io.reader.Input`: extensions, opener, label) and
its ``OUTPUTS`` (:class:`~histeq_gui.core.io.writer.Output`: extensions,
chunk writer, label).  This module gathers them; :func:`input_for` and
:func:`output_for` look a path up, and the messages naming what can be read
or written are made from the same declarations.  A new format is a new
module listed in :data:`MODULES`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StackError
from . import folders, images, npy, tiff, zarr_store
from .reader import Input
from .writer import Output

__all__ = ["MODULES", "INPUTS", "OUTPUTS", "READABLE", "WRITABLE", "input_for", "output_for",
           "output_of"]

MODULES = (npy, tiff, images, zarr_store, folders)
INPUTS = tuple(entry for module in MODULES for entry in module.INPUTS)
OUTPUTS = tuple(entry for module in MODULES for entry in module.OUTPUTS)


def _listed(labels):
    labels = list(labels)
    return ", ".join(labels[:-1]) + " or " + labels[-1]


READABLE = _listed(entry.label for entry in INPUTS)      # for "use ..." in messages
WRITABLE = _listed(entry.label for entry in OUTPUTS)


def input_for(path: str | os.PathLike, folder: bool) -> Input | None:
    """The :class:`~histeq_gui.core.io.reader.Input` that reads ``path``, or None.

    Parameters
    ----------
    path : path-like
    folder : bool
        Whether ``path`` is a folder: a folder input whose extensions hold
        its extension reads it, else the folder input that declares none.

    Examples
    --------
    >>> input_for("a.TIF", folder=False).label, input_for("a.csv", folder=False)
    ('.tif/.tiff', None)
    >>> input_for("shots.npy", folder=True).label
    'a folder of images'
    """
    suffix = Path(path).suffix.lower()
    candidates = [entry for entry in INPUTS if entry.folder == folder]
    return next((entry for entry in candidates if suffix in entry.suffixes),
                next((entry for entry in candidates if folder and not entry.suffixes), None))


def output_for(path: str | os.PathLike) -> Output:
    """The :class:`~histeq_gui.core.io.writer.Output` of ``path``, by its extension.

    Raises
    ------
    StackError
        For an extension no format writes, in one line listing those that are.

    Examples
    --------
    >>> output_for("eq.tiff").kind, output_for("frames").kind
    ('tif', 'png-folder')
    """
    path = Path(path)
    suffix = path.suffix.lower()
    entry = next((entry for entry in OUTPUTS if suffix in entry.suffixes), None)
    if entry is None:
        raise StackError(f"cannot write '{path}': unsupported output type '{path.suffix}'; "
                         f"use {WRITABLE}")
    return entry


def output_of(kind: str) -> Output:
    """The :class:`~histeq_gui.core.io.writer.Output` of the output kind ``kind`` ("npy", ...).

    Raises
    ------
    ValueError
        For a kind no format writes.
    """
    entry = next((entry for entry in OUTPUTS if entry.kind == kind), None)
    if entry is None:
        raise ValueError(f"unknown output kind {kind!r}; one of "
                         f"{', '.join(entry.kind for entry in OUTPUTS)}")
    return entry
