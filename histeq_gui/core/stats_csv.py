r"""Write a statistics table (:func:`~histeq_gui.core.stats.image_stats`) as CSV.

One header row with the column names, then one row per image.  Numbers are
written so that reading them back gives the very same values: floats as
Python's ``repr`` (the shortest text that round-trips, ``nan``, ``inf`` and
``-inf`` included), integers in decimal; booleans as ``true`` / ``false``;
names quoted by the :mod:`csv` rules (fields holding a comma, a quote or a
line break are enclosed in double quotes, quotes doubled).  UTF-8, ``\n``
line ends.  A path is written atomically (a hidden temporary beside it,
moved into place with :func:`os.replace`), optionally with a JSON sidecar.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._version import __version__
from .errors import StackError
from .io import check_sidecar, check_writable, exists, new_file, sidecar_path, staged, write_json

__all__ = ["stats_to_csv", "write_stats_csv", "check_stats_target"]


def stats_to_csv(table, path_or_file, *, overwrite=True, info=None, source=None):
    """Write ``table`` as CSV to a path (atomically) or to an open text file.

    Parameters
    ----------
    table : mapping of str to 1-D array
        A table from :func:`~histeq_gui.core.stats.image_stats`, or any dict
        of equally long 1-D arrays (a filtered or sorted copy, say).
    path_or_file : str, path-like or text file
        Where to write.  A file object (anything with ``write``) gets the
        text as is; open it with ``newline=""``.
    overwrite : bool
        Whether an existing file at the path may be replaced.
    info : dict, optional
        With a path: also write a JSON sidecar ``PATH.json`` (see
        :func:`~histeq_gui.core.io.sidecar_path`) holding how the table
        was made (``table.info``: method, bins, scope, shape, thresholds...),
        the columns, the row count, the program version and time, updated
        with ``info`` (e.g. ``{"source": "faces.npy"}``).  The CSV and the
        sidecar are moved into place together.
    source : str or path-like, optional
        The input the table describes: the path is refused if it is that
        file (see ``check_stats_target``).

    Returns
    -------
    pathlib.Path or None
        The path written, or None for a file object.

    Raises
    ------
    ValueError
        If the columns are not 1-D arrays of one length.
    StackError
        If the target is refused (``check_stats_target``; with ``info``
        also a file at the sidecar's name that is not this program's
        sidecar of this table, unless ``overwrite``) or cannot be written
        (one line naming the path and what to do); nothing is left behind
        and an existing file is untouched.

    Notes
    -----
    Floats are ``repr(float(x))``, exact when read back with ``float()``;
    booleans ``true`` / ``false`` (pandas reads them as booleans); strings
    quoted only when needed (``csv.QUOTE_MINIMAL``).

    Examples
    --------
    >>> import io, numpy as np
    >>> buffer = io.StringIO()
    >>> stats_to_csv({"index": np.arange(2), "name": np.array(["a,b", "c"]),
    ...               "mean": np.array([0.1, np.nan]), "is_dark": np.array([True, False])},
    ...              buffer)
    >>> print(buffer.getvalue(), end="")
    index,name,mean,is_dark
    0,"a,b",0.1,true
    1,c,nan,false
    """
    columns = _text_columns(table)
    if hasattr(path_or_file, "write"):
        _write(columns, path_or_file)
        return None
    target = Path(path_or_file)
    check_stats_target(target, source=source, overwrite=overwrite, sidecar=info is not None)
    targets = [target]
    if info is not None:
        targets.append(sidecar_path(target))
    # A sidecar this program wrote for this table is replaced even without overwrite (it may
    # have been left without its CSV); any other file there is not.
    ours = (lambda _: check_sidecar(target, overwrite))
    with staged(targets, overwrite=[overwrite, ours][:len(targets)]) as temps:
        with new_file(temps[0], target) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            _write(columns, text)
            text.flush()
            text.detach()
        if info is not None:
            meta = {"program": "histeq-gui", "version": __version__,
                    "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "kind": "image statistics", "output": target.name,
                    "rows": len(next(iter(columns.values()), [])),
                    "columns": list(columns)}
            meta.update(getattr(table, "info", {}))
            meta.update(info)
            write_json(temps[1], meta, target=targets[1])
    return target


write_stats_csv = stats_to_csv


def check_stats_target(path, *, source=None, overwrite=False, sidecar=True):
    """Check where a statistics CSV will go, before computing anything.

    Parameters
    ----------
    path : str or path-like
        The CSV file to write.
    source : str or path-like, optional
        The input stack (file or folder): never written over, even with
        ``overwrite``, and no CSV goes inside an input folder.
    overwrite : bool
        Whether an existing file may be replaced.
    sidecar : bool
        A JSON sidecar will be written beside it (``PATH.json``): a file
        there that is not this program's sidecar of this table is replaced
        only with ``overwrite``, a folder never
        (:func:`~histeq_gui.core.io.check_sidecar`).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    StackError
        One line saying what is wrong and what to do.
    """
    path = Path(path)
    if source is not None:
        item = Path(source)
        target = path.resolve()
        same = target == item.resolve() or (item.is_dir() and item.resolve() in target.parents)
        if not same and exists(path) and item.exists():
            same = os.path.samefile(path, item)
        if same:
            raise StackError(f"will not write '{path}': it is the input '{item}' or inside it; "
                             "choose another path for the statistics")
    if path.is_dir():
        raise StackError(f"'{path}' is a folder; give a file name for the statistics, "
                         "e.g. stats.csv")
    folder = path.parent
    if not folder.is_dir():
        raise StackError(f"cannot write '{path}': the folder '{folder}' does not exist; "
                         "create it first")
    if exists(path) and not overwrite:
        raise StackError(f"'{path}' exists; pass --overwrite to replace it")
    if sidecar:
        check_sidecar(path, overwrite)
    check_writable(path)        # a read-only file system, a folder that takes no new file
    return path


def _text_columns(table):
    """Each column as a list of strings, after checking the shapes."""
    columns = {}
    length = None
    for name, values in table.items():
        values = np.asarray(values)
        if values.ndim != 1:
            raise ValueError(f"column {name!r} has shape {values.shape}; a table holds 1-D "
                             "columns, one entry per image")
        if length is not None and len(values) != length:
            raise ValueError(f"column {name!r} has {len(values)} entries, the others "
                             f"{length}; give every column one entry per image")
        length = len(values)
        columns[str(name)] = _texts(values)
    return columns


def _texts(values):
    kind = values.dtype.kind
    if kind == "b":
        return ["true" if v else "false" for v in values.tolist()]
    if kind in "iu":
        return [str(int(v)) for v in values.tolist()]
    if kind == "f":
        return [repr(float(v)) for v in values.tolist()]
    return [str(v) for v in values.tolist()]


def _write(columns, fh):
    writer = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(list(columns))
    lists = list(columns.values())
    for row in zip(*lists):
        writer.writerow(row)
