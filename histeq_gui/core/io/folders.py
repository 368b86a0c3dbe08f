"""Folders of images: listed, read image by image (of one size or ragged), written as PNG files.

:func:`folder_images` lists what :func:`histeq_gui.load_stack` stacks from a
folder (PNG, JPEG and TIFF files, hidden files left out, in natural name
order: "img2" before "img10"); it is the one listing rule, used by the
readers and the front ends.  :func:`open_folder` reads every file's header
and gives a :class:`FolderReader` when the images share one size, a
:class:`RaggedReader` when they do not; each file is decoded by
:func:`~histeq_gui.core.io.images.read_image`.  :class:`PngFolderWriter`
writes a stack as a new folder of PNG files (numbered, or named after the
source files by :func:`png_names`), :class:`RaggedPngWriter` images of
different sizes.
"""

from __future__ import annotations

import math
import os
import re
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import StackError
from ..stack import Layout
from . import memory
from .atomic import sync_folder
from .files import Progress, check_array, guard
from .images import check_png, image_mode, png_image, read_image, write_png
from .reader import Input, Reader
from .sidecar import own_files
from .tiff import SUFFIXES as TIFF_SUFFIXES, tiff_shape
from .writer import ChunkWriter, Output

__all__ = ["FOLDER_EXTS", "folder_images", "natural_key", "png_names", "open_folder",
           "FolderReader", "RaggedReader", "PngFolderWriter", "RaggedPngWriter", "INPUTS",
           "OUTPUTS"]

FOLDER_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def natural_key(name: str) -> tuple[list, str]:
    """Sort key of a file name: digits compared as numbers ("img2" before "img10").

    Examples
    --------
    >>> sorted(["img10.png", "img2.png", "Img1.png"], key=natural_key)
    ['Img1.png', 'img2.png', 'img10.png']
    """
    parts = re.split(r"(\d+)", name.lower())
    return [int(p) if i % 2 else p for i, p in enumerate(parts)], name


def folder_images(folder: str | os.PathLike) -> list[Path]:
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


def png_names(names: Sequence[str]) -> list[str]:
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


def _folder_files(folder):
    """The image files of a folder (:func:`folder_images`), refusing none."""
    files = folder_images(folder)
    if not files:
        raise StackError(f"cannot read '{folder}': the folder holds no PNG, JPEG or TIFF "
                         "images; choose a folder of images or a stack file")
    return files


class FolderReader(Reader):
    """A folder of PNG/JPEG/TIFF images in natural name order, read file by file."""

    kind = "folder"
    depth = 1

    def __init__(self, path, files=None, first=None):
        self.path = Path(path)
        self.files = _folder_files(self.path) if files is None else files
        if first is None:
            first = read_image(self.files[0], folder_item=True)
        super().__init__((len(self.files),) + first.shape, first.dtype)
        self.names = [f.name for f in self.files]

    def _read_rows(self, r0, r1, out):
        for i in range(r0, r1):
            image = read_image(self.files[i], folder_item=True)
            if image.shape != self.shape[1:] or image.dtype != self.dtype:
                raise StackError(
                    f"cannot read '{self.path}': '{self.names[i]}' is {image.shape} "
                    f"{image.dtype} but '{self.names[0]}' is {self.shape[1:]} {self.dtype}; all "
                    "images in the folder must have the same size and type")
            out[i - r0] = image

    def load(self, progress=None):
        memory.check_fits(self.nbytes, self.path, f"{len(self.files)} images of shape "
                                                  f"{self.shape[1:]} {self.dtype}")
        with guard(self.path, what="folder"):
            out = np.empty(self.shape, self.dtype)
        report = Progress(progress, len(self.files))
        with self._lock:
            for i in range(len(self.files)):
                self._read_rows(i, i + 1, out[i:i + 1])
                report(i + 1)
        return out


def _colours(shape):
    """"gray", "gray+alpha", "RGB", "RGBA" or "N channels" for an image shape (H, W[, C])."""
    if len(shape) == 2:
        return "gray"
    return {1: "gray", 2: "gray+alpha", 3: "RGB", 4: "RGBA"}.get(shape[2],
                                                                 f"{shape[2]} channels")


def _size(shape):
    """``"512x384"`` (width x height) of an image shape."""
    return f"{shape[1]}x{shape[0]}"


def _channels_of(shape):
    return 1 if len(shape) == 2 else int(shape[2])


def _probe(path, first_mode, first):
    """``(shape, dtype, mode)`` of a folder's image from its header when that is enough.

    Pillow's header gives the size and mode without decoding; an image of
    the first image's mode decodes to its dtype and channels.  Any other
    mode (and palettes, whose channels depend on transparency) is decoded
    to know exactly.  TIFF files: tifffile's first series.
    """
    if path.suffix.lower() in TIFF_SUFFIXES:
        return tiff_shape(path) + (None,)
    (width, height), mode = image_mode(path)
    if mode == first_mode and mode not in ("P", "PA"):
        return (height, width) + first.shape[2:], first.dtype, mode
    image = read_image(path, folder_item=True)
    return image.shape, image.dtype, mode


def open_folder(path: str | os.PathLike, mixed: bool = False) -> FolderReader | RaggedReader:
    """A FolderReader, or a RaggedReader when the folder's images differ in size.

    Every file's header is read (each image of a mode other than the first
    one's is decoded), so that a folder of mixed sizes is known at once.
    Images of different sizes must share the dtype and the number of
    channels: a folder mixing gray and colour (or 8 and 16 bits) is refused
    in one line naming two such files, not converted, since converting
    would change the data the user inspects.  With ``mixed``, gray and
    colour images may be mixed (a RaggedReader whose ``shapes`` say each
    image's channels): the statistics describe each image on its own.
    """
    path = Path(path)
    files = _folder_files(path)
    first = read_image(files[0], folder_item=True)
    first_mode = None
    if files[0].suffix.lower() not in TIFF_SUFFIXES:
        first_mode = image_mode(files[0])[1]
    shapes, dtypes = [first.shape], [first.dtype]
    for f in files[1:]:
        shape, dtype, _ = _probe(f, first_mode, first)
        shapes.append(tuple(int(n) for n in shape))
        dtypes.append(np.dtype(dtype))
    one_kind = all(_channels_of(s) == _channels_of(first.shape) for s in shapes)
    if all(s[:2] == first.shape[:2] for s in shapes) and (one_kind or not mixed):
        return FolderReader(path, files, first)      # one size: mismatched types refused on read
    for f, shape, dtype in zip(files, shapes, dtypes):
        if dtype != first.dtype or len(shape) > 3 or \
                (_channels_of(shape) != _channels_of(first.shape) and not mixed):
            raise StackError(
                f"cannot read '{path}': its images differ in size, and '{f.name}' is "
                f"{_colours(shape)} {dtype} but '{files[0].name}' is {_colours(first.shape)} "
                f"{first.dtype}; images of different sizes must share the type and channels, "
                "convert them to one (all gray or all RGB, one bit depth) first")
    check_array(first, f"'{path}'")     # a Reader is checked whole by open_reader
    return RaggedReader(path, files, shapes, first)


class RaggedReader:
    """A folder of images of different sizes, read image by image (a *ragged* stack).

    It cannot be one array: :meth:`load` and :meth:`read` refuse (one line
    saying to open it in the viewer or to export it to a folder).  Every
    image has the same dtype and number of channels.

    Attributes
    ----------
    ragged : bool
        True (a :class:`Reader` has False).
    path : pathlib.Path
    kind : str
        "folder".
    files : list of pathlib.Path
    names : list of str
        The file name of each image, in order.
    shapes : list of tuple
        Each image's shape, ``(H, W)`` or ``(H, W, C)``.
    dtype : numpy.dtype
    channels : int
    signature : tuple or None
        As :attr:`Reader.signature`.

    Examples
    --------
    >>> with open_reader("shots") as reader:                      # doctest: +SKIP
    ...     reader.ragged, reader.n_images, reader.shapes[0], reader.image(0).shape
    (True, 5, (512, 512), (512, 512))
    """

    ragged = True
    kind = "folder"
    signature = None
    check_unchanged = Reader.check_unchanged      # the folder itself: files added or removed

    def __init__(self, path, files, shapes, first=None):
        self.path, self.files = Path(path), list(files)
        self.names = [f.name for f in self.files]
        self.shapes = [tuple(int(n) for n in s) for s in shapes]
        if first is None:
            first = read_image(self.files[0], folder_item=True)
        self.dtype = np.dtype(first.dtype)
        self.channels = max(_channels_of(s) for s in self.shapes)
        self._first = first
        self._lock = threading.RLock()

    @property
    def n_images(self):
        """Number of images (files)."""
        return len(self.files)

    @property
    def size(self):
        """Values in all the images together."""
        return sum(math.prod(s) for s in self.shapes)

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def ndim(self):
        return len(self.shapes[0])

    def __len__(self):
        return self.n_images

    def __repr__(self):
        return f"<RaggedReader '{self.path}' {self.n_images} images of different sizes " \
               f"{self.dtype}>"

    def image(self, index, layout=None):
        """Image ``index`` as ``(H, W)`` or ``(H, W, C)``, decoded from its file.

        ``layout`` is ignored (each image is its own).

        Raises
        ------
        IndexError
            For an index out of range.
        StackError
            If the file cannot be read, or changed since the folder was opened.
        """
        index = int(index)
        if not 0 <= index < self.n_images:
            raise IndexError(f"image {index} is out of range: the folder has {self.n_images} "
                             "images")
        with self._lock:
            if index == 0 and self._first is not None:
                image, self._first = self._first, None
            else:
                image = read_image(self.files[index], folder_item=True)
        if image.shape != self.shapes[index] or image.dtype != self.dtype:
            raise StackError(
                f"cannot read '{self.files[index]}': it is now {image.shape} {image.dtype}, "
                f"not {self.shapes[index]} {self.dtype} as when the folder was opened; open "
                "the folder again")
        return image

    def images(self, progress=None):
        """Yield every image in order; ``progress(done, total)`` after each (it may raise)."""
        report = Progress(progress, self.n_images)
        for i in range(self.n_images):
            yield self.image(i)
            report(i + 1)

    def refusal(self, what="load"):
        """The one-line StackError for treating these images as one array."""
        return StackError(
            f"cannot {what} '{self.path}' as one array: its {self.n_images} images have "
            f"different sizes ('{self.names[0]}' is {_size(self.shapes[0])}, "
            f"'{self.names[self._other()]}' is {_size(self.shapes[self._other()])}); open it in "
            "the viewer, or export it to a folder (histeq FOLDER -o OUTFOLDER)")

    def _other(self):
        return next((i for i, s in enumerate(self.shapes) if s[:2] != self.shapes[0][:2]), 0)

    def load(self, progress=None):
        """Refused: images of different sizes are not one array (StackError, one line)."""
        raise self.refusal()

    def read(self, start, stop, axis=0):
        """Refused, as :meth:`load`; read :meth:`image` by image."""
        raise self.refusal("read")

    def close(self):
        """Nothing to release (files are opened one at a time)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


class PngFolderWriter(ChunkWriter):
    """A new folder of PNG files, one per image; each file fsynced, then the folder.

    The files are numbered (``00000.png``...), or named ``names`` (one per
    image, e.g. :func:`png_names` of the source
    files of a folder).
    """

    kind = "png-folder"
    whole_images = True
    image_at_a_time = True      # encoding is slow: progress per image

    @classmethod
    def check_stack(cls, path, dtype=None, layout=None):
        if dtype is not None:
            check_png(np.dtype(dtype), layout)

    @classmethod
    def check_replace(cls, path):
        """Only a folder of numbered PNG files, or of files an earlier export named, is replaced."""
        if not path.is_dir():
            raise StackError(f"cannot write '{path}': it exists and is not a folder; "
                             "choose another name")
        ours = own_files(path)      # named after their sources by an earlier export
        others = [p.name for p in path.iterdir()
                  if not re.fullmatch(r"\d+\.png", p.name) and p.name not in ours]
        if others:
            raise StackError(f"will not replace '{path}': it holds files other than "
                             f"numbered PNGs (e.g. '{others[0]}'); choose a new or empty "
                             "folder")

    def _open(self):
        self.n_images = self.layout.n_images
        if self.names is not None and len(self.names) != self.n_images:
            raise ValueError(f"{len(self.names)} names for {self.n_images} images")
        self.digits = max(5, len(str(self.n_images - 1)))
        self.per = self.n_images // self.length         # images per index along the axis
        with guard(self.target, "write"):
            os.mkdir(self.path)

    def name(self, i):
        if self.names is not None:
            return self.names[i]
        return f"{i:0{self.digits}d}.png"

    def _write(self, start, stop, data):
        layout = Layout(data.shape, self.layout.channel_axis)
        for j in range(layout.n_images):
            self._write_png(start * self.per + j, png_image(data, layout, j))

    def _write_png(self, i, image):
        write_png(self.path / self.name(i), image, self.target)
        self._keep(i, i + 1, image)

    def _finish(self):
        with guard(self.target, "write"):
            sync_folder(self.path)

    def _verify(self, progress):
        names = sorted(os.listdir(self.path))
        if names != sorted(self.name(i) for i in range(self.n_images)):
            raise StackError(f"{len(names)} files for {self.n_images} images")
        for i, _, expected in self.digests:
            stored = read_image(self.path / self.name(i), folder_item=True)
            if not self._reads_back(stored, expected):
                raise StackError(f"{self.name(i)} reads back as {stored.shape} {stored.dtype}")
            if progress is not None:
                progress(-(-(i + 1) // self.per), self.length)


class RaggedPngWriter(PngFolderWriter):
    """A new folder of PNG files for images of different sizes, one image per ``write``.

    Parameters
    ----------
    path : pathlib.Path
        The folder to create (must not exist).
    names : sequence of str
        The file name of each image, in order.
    dtype : dtype-like
        What the files hold (uint8, or uint16 gray).
    target : path-like, optional
        The final path, for error messages.

    Notes
    -----
    ``write(i, i + 1, image)`` with image ``i`` as ``(H, W)`` or
    ``(H, W, C)``, in order; then ``finish()`` and ``verify()`` as for any
    :class:`ChunkWriter`.
    """

    def __init__(self, path, names, dtype, target=None):
        names = list(names)
        super().__init__(path, (len(names), 1, 1), dtype, Layout((len(names), 1, 1)), 0,
                         target=target, names=names)

    def write(self, start, stop, chunk):
        if start != self.next or stop != start + 1 or not stop <= self.length:
            raise ValueError(f"image {start}:{stop} out of order; expected image {self.next} "
                             f"of {self.length}")
        image = np.ascontiguousarray(chunk, dtype=self.dtype)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        self._write_png(start, image)
        self.next = stop


INPUTS = (Input((), open_folder, "a folder of images", folder=True),)
OUTPUTS = (Output(("",), PngFolderWriter, "a name without extension for a folder of PNG files"),)
