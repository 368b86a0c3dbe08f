"""The writer contribution: an image layer written atomically; an equalized one by the export.

:func:`write_image` is napari's writer hook (File > Save Selected Layer):

- a layer made by "Apply to stack" (its metadata records the source and
  the setting) is written by the export pipeline
  (:func:`histeq_gui.core.export.export`): the source equalized again with
  that setting, in the source's own dtype (``histeq``'s default) and laid
  out as the source file was, under a temporary name, verified, then moved
  into place with its JSON sidecar: the very bytes ``histeq SOURCE -o PATH``
  writes with those options;
- any other image layer is written as it is, atomically and verified
  (:func:`~histeq_gui.core.io.save_stack`), without a sidecar.

An existing file is never replaced: napari's own save dialog asks first,
but this program's rule is never to overwrite what it did not write
(``histeq --overwrite`` does it on purpose); choose another name.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..core.errors import StackError
from ..core.export import ExportSettings, export
from ..core.io import save_stack
from .layers import EQUALIZED_KEY, LayerReader, is_lazy

__all__ = ["write_image", "export_settings", "NotWritten"]


class NotWritten(OSError):
    """Why a layer was not written (one line).

    napari takes a ValueError from a writer (as StackError is) for "this
    plugin cannot write that" and drops its message, so the core's message
    is raised as this instead, which napari shows.
    """


def export_settings(record: dict) -> ExportSettings:
    """The :class:`~histeq_gui.core.export.ExportSettings` of an equalized layer's record."""
    return ExportSettings(method=record["method"], bins=record["bins"], scope=record["scope"],
                          dtype="same", channel_axis=-1 if record["rgb"] else None,
                          params=dict(record["params"])).validate()


def write_image(path: str, data, meta: dict) -> list[str]:
    """Napari's writer hook: write one image layer to ``path`` (see the module docstring).

    Returns
    -------
    list of str
        The path written.

    Raises
    ------
    NotWritten
        One line: an existing output, a format that cannot hold the data,
        an unwritable folder (napari shows it); nothing partial is left.
    """
    try:
        return _write(Path(path), data, meta)
    except StackError as exc:
        raise NotWritten(str(exc)) from None


def _write(path, data, meta):
    record = (meta.get("metadata") or {}).get(EQUALIZED_KEY)
    if record is None:
        save_stack(path, np.asarray(data))
        return [str(path)]
    images = record["source"]
    stored = record.get("source_metadata") or {}
    shape = stored.get("shape")
    if shape is not None and math.prod(shape) == math.prod(images.shape) and \
            len(shape) >= len(images.shape):
        images = images.reshape(tuple(shape))         # laid out as the file was
    source = stored.get("path")
    export(LayerReader(images) if is_lazy(images) else images, path, export_settings(record),
           source=source)
    return [str(path)]
