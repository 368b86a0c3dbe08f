"""The image files of a folder, in the order a folder is loaded as a stack, and their PNG names.

:func:`folder_images` lists what :func:`histeq_gui.load_stack` stacks from a
folder (PNG, JPEG and TIFF files, hidden files left out, in natural name
order: "img2" before "img10"); it is the one listing rule, used by the
loader, the lazy readers and the front ends.  :func:`png_names` gives the
names an export to a folder of PNG files writes for such a folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import StackError
from .files import guard

__all__ = ["FOLDER_EXTS", "folder_images", "natural_key", "png_names"]

FOLDER_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def natural_key(name):
    """Sort key of a file name: digits compared as numbers ("img2" before "img10").

    Examples
    --------
    >>> sorted(["img10.png", "img2.png", "Img1.png"], key=natural_key)
    ['Img1.png', 'img2.png', 'img10.png']
    """
    parts = re.split(r"(\d+)", name.lower())
    return [int(p) if i % 2 else p for i, p in enumerate(parts)], name


def folder_images(folder):
    """The files a folder stack is made of, image 0 first.

    Parameters
    ----------
    folder : str or path-like

    Returns
    -------
    list of pathlib.Path
        Regular PNG/JPEG/TIFF files (any case of the extension), not hidden,
        sorted by :func:`natural_key`, as ``load_stack(folder)`` reads them.
        Possibly empty.

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
    with guard(folder, what="folder"):
        return sorted((p for p in folder.iterdir() if p.suffix.lower() in FOLDER_EXTS
                       and not p.name.startswith(".") and p.is_file()),
                      key=lambda p: natural_key(p.name))


def png_names(names):
    """The PNG file names an export writes for source files ``names``: each stem + ``.png``.

    Parameters
    ----------
    names : sequence of str
        Source file names (a folder's, in order).

    Returns
    -------
    list of str

    Raises
    ------
    StackError
        One line naming two source files that would get the same name
        (``a.png`` and ``a.jpg``; compared ignoring case, as some disks
        do): they are refused, not renamed, so that every output file is
        found under its source's stem.

    Examples
    --------
    >>> png_names(["b 2.jpg", "été.tif", "c.PNG"])
    ['b 2.png', 'été.png', 'c.png']
    """
    out, seen = [], {}
    for name in names:
        png = Path(name).stem + ".png"
        key = png.casefold()
        if key in seen:
            raise StackError(f"cannot export to a folder of PNG files: '{seen[key]}' and "
                             f"'{name}' would both be written as '{png}'; rename one of them "
                             "or export to a single file (.tif, .npy)")
        seen[key] = name
        out.append(png)
    return out
