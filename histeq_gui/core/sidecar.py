"""The JSON sidecar beside an output: where it goes, writing and reading it.

The sidecar says how an output was made (``out.tif`` -> ``out.tif.json``); it
is written atomically like the output (see
:func:`~histeq_gui.core.atomic.staged`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .atomic import _new_file, staged
from .errors import StackError
from .files import _guard

__all__ = ["sidecar_path", "write_sidecar", "write_json", "read_sidecar"]


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


def write_sidecar(output_path, info):
    """Write ``info`` as pretty-printed JSON beside ``output_path``, atomically.

    Parameters
    ----------
    output_path : str or path-like
        The output the sidecar describes.
    info : dict
        JSON-able values; NumPy scalars, arrays, dtypes and paths are converted.

    Returns
    -------
    pathlib.Path
        The sidecar's path (see :func:`sidecar_path`); an existing sidecar is replaced.
    """
    target = sidecar_path(output_path)
    with staged([target], overwrite=True) as (temp,):
        write_json(temp, info, target=target)
    return target


def write_json(path, info, *, target=None):
    """Write ``info`` as in :func:`write_sidecar` at exactly ``path`` (which must not exist).

    For a temporary path from :func:`~histeq_gui.core.atomic.staged`;
    ``target`` (default ``path``) is the path named in error messages.
    """
    text = json.dumps(dict(info), indent=2, default=_jsonable) + "\n"
    with _new_file(path, path if target is None else target) as fh:
        fh.write(text.encode("utf-8"))


def read_sidecar(output_path):
    """Return the dict stored in the JSON sidecar of ``output_path`` (StackError if unreadable)."""
    target = sidecar_path(output_path)
    with _guard(target, what="JSON sidecar"):
        info = json.loads(target.read_text(encoding="utf-8"))
    if not isinstance(info, dict):
        raise StackError(f"cannot read '{target}': not a sidecar (expected a JSON object); "
                         "check the file")
    return info
