"""The image files of a folder, in the order a folder is loaded as a stack.

:func:`folder_images` lists what :func:`histeq_gui.load_stack` stacks from a
folder (PNG, JPEG and TIFF files, hidden files left out, in natural name
order: "img2" before "img10"), so that a front end can name the image it
shows.  It uses the loader's own extension list and sort key.
"""

from __future__ import annotations

from pathlib import Path

from .files import _guard
from .load import _FOLDER_EXTS, _natural_key

__all__ = ["folder_images"]


def folder_images(folder):
    """The files a folder stack is made of, image 0 first.

    Parameters
    ----------
    folder : str or path-like

    Returns
    -------
    list of pathlib.Path
        Regular PNG/JPEG/TIFF files (any case of the extension), not hidden,
        sorted by :func:`histeq_gui.core.load._natural_key`, as
        ``load_stack(folder)`` reads them.

    Raises
    ------
    StackError
        If the folder cannot be listed (one line).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for name in ("img10.png", "img2.png", ".hidden.png", "notes.txt"):
    ...         _ = (Path(d) / name).write_bytes(b"")
    ...     [p.name for p in folder_images(d)]
    ['img2.png', 'img10.png']
    """
    folder = Path(folder)
    with _guard(folder, what="folder"):
        return sorted((p for p in folder.iterdir() if p.suffix.lower() in _FOLDER_EXTS
                       and not p.name.startswith(".") and p.is_file()),
                      key=lambda p: _natural_key(p.name))
