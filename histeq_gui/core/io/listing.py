"""Listing a folder of images: the files of a folder tree, in a stable order, with their labels.

A folder of images is read as one dataset whether its images sit in it or
in subfolders at any depth, the layout image datasets are kept in
(``train/cat/001.jpg``, ``train/dog/...``: torchvision's ``ImageFolder``,
Keras' ``image_dataset_from_directory``).  :func:`list_folder` walks the
tree once and gives a :class:`Listing`:

- every image file (:data:`IMAGE_SUFFIXES`, any case) under the folder,
  ordered by relative path, each folder's entries in natural order
  ("img2" before "img10", :func:`natural_key`);
- each file's ``name``, its path relative to the folder with ``/``
  (``cat/001.jpg``; a flat folder's names are its file names), and its
  ``label``, its first folder below the top (``cat``; empty for a file at
  the top, :func:`label_of`);
- what was left out: hidden files and folders (a name starting with a dot)
  are skipped silently; other files (text, GIF, links to nothing, named
  pipes) are counted; a link to a folder that holds it (a link loop) is not
  followed and is named, so that the walk always ends.

The listing reads only the folders (no file is opened) and keeps the names
as text, making a file's path only when it is asked for: a tree of 100,000
files is listed in a fraction of a second.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import StackError
from .files import guard

__all__ = ["IMAGE_SUFFIXES", "IMAGE_KINDS", "Listing", "Paths", "list_folder", "folder_images",
           "natural_key", "label_of", "labels_of", "no_images"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
IMAGE_KINDS = "PNG, JPEG, TIFF, BMP or WebP"     # how messages name them


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[list, str]:
    """Sort key of a file name: digits compared as numbers ("img2" before "img10").

    Examples
    --------
    >>> sorted(["img10.png", "img2.png", "Img1.png"], key=natural_key)
    ['Img1.png', 'img2.png', 'img10.png']
    """
    parts = _DIGITS.split(name.lower())
    return [int(p) if i % 2 else p for i, p in enumerate(parts)], name


def label_of(name: str) -> str:
    """The label of an image named ``name`` (a relative path): its first folder, or "".

    Examples
    --------
    >>> label_of("cat/001.jpg"), label_of("train/dog/7.png"), label_of("top.png")
    ('cat', 'train', '')
    """
    head, sep, _ = name.partition("/")
    return head if sep else ""


def labels_of(names) -> list[str]:
    """:func:`label_of` of every name."""
    return [label_of(name) for name in names]


class Paths(Sequence):
    """The paths of files named relative to a folder, made when asked for (a sequence of Path).

    Examples
    --------
    >>> Paths(Path("d"), ("a/1.png", "b.png"))[0]
    PosixPath('d/a/1.png')
    """

    def __init__(self, root: Path, names: Sequence[str]) -> None:
        self.root, self.names = Path(root), names

    def __len__(self):
        return len(self.names)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.root / name for name in self.names[index]]
        return self.root / self.names[index]

    def __repr__(self):
        return f"<Paths of {len(self)} files in '{self.root}'>"


@dataclass(frozen=True)
class Listing:
    """The image files of a folder tree, as :func:`list_folder` found them.

    Attributes
    ----------
    root : pathlib.Path
        The folder listed.
    names : tuple of str
        Each file's path relative to ``root``, with ``/`` between folders.
    folders : int
        Folders holding at least one of the images (``root`` included).
    others : int
        Files left out that are not hidden: not image files, or not regular
        files (named pipes, links to nothing).
    loops : tuple of str
        Links to a folder above them, not followed (relative names).

    Examples
    --------
    >>> Listing(Path("d"), ("a/1.png",), 1, 2, ()).summary()
    '1 image in 1 folder; 2 other files ignored'
    """

    root: Path
    names: tuple
    folders: int
    others: int
    loops: tuple = ()

    @property
    def files(self) -> Paths:
        """Every image file, in order (a sequence of pathlib.Path, made when asked for)."""
        return Paths(self.root, self.names)

    @property
    def labels(self) -> list[str]:
        """Each image's label (:func:`label_of` of its name)."""
        return labels_of(self.names)

    def summary(self) -> str:
        """One line for people: ``1,203 images in 12 folders; 3 other files ignored``."""
        n = len(self.names)
        line = f"{n:,} image{'s' * (n != 1)} in {self.folders:,} " \
               f"folder{'s' * (self.folders != 1)}"
        if self.others:
            line += f"; {self.others:,} other file{'s' * (self.others != 1)} ignored"
        if self.loops:
            more = f" and {len(self.loops) - 1} more" if len(self.loops) > 1 else ""
            line += f"; a link loop not followed ('{self.loops[0]}'{more})"
        return line


def _directory_key(info):
    return info.st_dev, info.st_ino


def list_folder(folder: str | os.PathLike) -> Listing:
    """List the image files of ``folder`` and of its subfolders, at any depth.

    Parameters
    ----------
    folder : str or path-like

    Returns
    -------
    Listing
        Possibly without files.

    Raises
    ------
    StackError
        One line, if the folder or one of its subfolders cannot be listed
        (permission denied, removed meanwhile).

    Notes
    -----
    Links to files and folders are followed, except a link to a folder that
    is already being walked above it (a loop), and a link that points to
    itself; both are reported in the listing's ``loops``.  Entries are sorted
    folder by folder with :func:`natural_key`, which orders the whole list
    by relative path, compared folder by folder.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for name in ("b/img10.png", "b/img2.png", "a.jpg", ".hidden/x.png", "b/notes.txt"):
    ...         (Path(d) / name).parent.mkdir(exist_ok=True)
    ...         _ = (Path(d) / name).write_bytes(b"")
    ...     listing = list_folder(d)
    >>> listing.names, listing.labels
    (('a.jpg', 'b/img2.png', 'b/img10.png'), ['', 'b', 'b'])
    >>> listing.summary()
    '3 images in 2 folders; 1 other file ignored'
    """
    root = Path(folder)
    names, loops = [], []
    counts = {"folders": 0, "others": 0}
    with guard(root, what="folder"):
        top = os.stat(root)
    _walk(os.fspath(root), "", {_directory_key(top)}, names, loops, counts)
    return Listing(root, tuple(names), counts["folders"], counts["others"], tuple(loops))


def _walk(folder, prefix, above, names, loops, counts):
    """Add the images of ``folder`` (named ``prefix`` + name) and of its subfolders, in order."""
    with guard(folder, what="folder"), os.scandir(folder) as entries:
        found = [(natural_key(entry.name), entry) for entry in entries
                 if not entry.name.startswith(".")]
    found.sort(key=lambda pair: pair[0])
    holds = False
    for _, entry in found:
        name = prefix + entry.name
        kind = _kind(entry)
        if kind == "folder":
            with guard(entry.path, what="folder"):
                key = _directory_key(entry.stat())
            if key in above:
                loops.append(name)
                continue
            _walk(entry.path, name + "/", above | {key}, names, loops, counts)
        elif kind == "loop":
            loops.append(name)
        elif kind == "file" and "." + entry.name.rpartition(".")[2].lower() in IMAGE_SUFFIXES:
            names.append(name)
            holds = True
        else:
            counts["others"] += 1
    counts["folders"] += holds


def _kind(entry):
    """"folder", "file", "loop" (a link that leads back to itself) or "other".

    ``is_dir`` and ``is_file`` read the type the folder listing gave (no
    ``stat``), except for links, which they follow.
    """
    try:
        if entry.is_dir():
            return "folder"
        if entry.is_file():
            return "file"
        if entry.is_symlink():
            os.stat(entry.path)
    except OSError as exc:
        return "loop" if exc.errno == errno.ELOOP else "other"
    return "other"


def folder_images(folder: str | os.PathLike) -> list[Path]:
    """The files a folder stack is made of, image 0 first (:func:`list_folder`'s files).

    Parameters
    ----------
    folder : str or path-like

    Returns
    -------
    list of pathlib.Path
        Regular image files (:data:`IMAGE_SUFFIXES`, any case of the
        extension), not hidden, in the folder and its subfolders, ordered by
        relative path with :func:`natural_key`, as ``load_stack(folder)``
        reads them.  Possibly empty.

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
    return list(list_folder(folder).files)


def no_images(folder: Path, listing: Listing) -> StackError:
    """The one-line StackError for a folder that holds no image file."""
    ignored = f" ({listing.summary().split('; ', 1)[1]})" if "; " in listing.summary() else ""
    return StackError(f"cannot read '{folder}': the folder holds no {IMAGE_KINDS} images"
                      f"{ignored}; choose a folder of images or a stack file")
