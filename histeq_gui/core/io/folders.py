"""Folders of images: trees read as one dataset, on a thread pool; PNG folders written.

A folder is listed by :mod:`~histeq_gui.core.io.listing` (every image file
in it and in its subfolders, in a stable order, each named by its relative
path and labelled by its first folder).  :func:`open_folder` reads every
file's header (on the decoding pool, nothing decoded but the first image)
and gives a :class:`FolderReader` when the images share one size, a
:class:`RaggedReader` when they do not; :func:`open_folder` with
``probe=False`` gives a RaggedReader at once, from the listing and the
first image, and reads the other headers when they are asked for (a tree of
100,000 files opens in the time it takes to list it).  Files are decoded by
:func:`~histeq_gui.core.io.images.decode_image`, several at a time
(:func:`~histeq_gui.core.io.threads.in_order`), the free memory looked at
once per batch (:class:`~histeq_gui.core.io.memory.Budget`).

**Gray and colour.**  The images of a folder may mix gray and colour (a
dataset of photographs often holds a few gray ones); they are all read as
colour, each gray image replicated into R, G and B (and an opaque alpha
added where others have one, ``common_channels``).  Replicating keeps
every value of the gray image (taking the colour images' luminance would
lose their colour), its luminance is the gray value itself (the luminance
weights add up to 1), and equalizing it channel by channel with one
histogram per image leaves it gray.  Images of different types (8 and 16
bits) are refused in one line naming two of them: converting would change
the values inspected.

:class:`PngFolderWriter` writes a stack as a new folder of PNG files
(numbered, or named after the source files by :func:`png_names`, in the
source's subfolders), :class:`RaggedPngWriter` images of different sizes.
"""

from __future__ import annotations

import math
import os
import re
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import StackError
from ..stack import Layout
from . import memory
from .atomic import sync_folder
from .files import Progress, check_array, guard
from .images import (
    check_png,
    decode_image,
    png_image,
    probe_image,
    read_image,
    read_thumbnail,
    write_png,
)
from .listing import Listing, list_folder, no_images
from .reader import Input, Reader
from .sidecar import own_files
from .threads import decode_pool, in_order, workers
from .writer import ChunkWriter, Output

__all__ = ["png_names", "open_folder", "common_channels", "with_channels", "FolderReader",
           "MixedReader",
           "RaggedReader", "PngFolderWriter", "RaggedPngWriter", "INPUTS", "OUTPUTS"]

_BATCH_BYTES = 1 << 26      # a batch of files decoded with one look at the free memory: 64 MB
_KEEP_BYTES = 1 << 26       # a folder of at most this much is decoded when opened, and kept
_SAMPLE_FILES = 64          # headers read at once of a folder opened without its headers


def png_names(names: Sequence[str]) -> list[str]:
    """The PNG file names an export writes for source files ``names``: each stem + ``.png``.

    Parameters
    ----------
    names : sequence of str
        Source file names (a folder's, in order), relative paths with ``/``
        for a folder tree: the PNG file keeps its folder.

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
    >>> png_names(["b 2.jpg", "été.tif", "c.PNG", "cat/001.jpg"])
    ['b 2.png', 'été.png', 'c.png', 'cat/001.png']
    """
    out, seen = [], {}
    for name in names:
        folder, slash, file = name.rpartition("/")
        png = folder + slash + Path(file).stem + ".png"
        key = png.casefold()
        if key in seen:
            raise StackError(f"cannot export to a folder of PNG files: '{seen[key]}' and "
                             f"'{name}' would both be written as '{png}'; rename one of them "
                             "or export to a single file (.tif, .npy)")
        seen[key] = name
        out.append(png)
    return out


def _listed(folder):
    """The listing of a folder, refusing one without images."""
    listing = list_folder(folder)
    if not listing.names:
        raise no_images(Path(folder), listing)
    return listing


def _channels_of(shape):
    return 1 if len(shape) == 2 else int(shape[2])


def common_channels(counts: Sequence[int]) -> int | None:
    """The channels images of ``counts`` channels are all read with, or None if they cannot be.

    One count: that one.  Gray (1), gray + alpha (2), RGB (3) and RGBA (4)
    mixed: RGB when any is colour, plus alpha when any has one (gray and
    gray + alpha alone: gray + alpha).  Other counts mixed: None.

    Examples
    --------
    >>> common_channels([1, 3, 3]), common_channels([1, 2]), common_channels([2, 3])
    (3, 2, 4)
    >>> common_channels([3, 5]) is None
    True
    """
    kinds = set(counts)
    if len(kinds) == 1:
        return kinds.pop()
    if not kinds <= {1, 2, 3, 4}:
        return None
    return (3 if kinds & {3, 4} else 1) + (1 if kinds & {2, 4} else 0)


def with_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """``image`` ``(H, W[, C])`` with ``channels`` channels (see ``common_channels``).

    Gray is replicated into R, G and B; an alpha channel is added opaque
    (the dtype's largest value, 1.0 for floats); an image that has them
    already is returned as it is.

    Examples
    --------
    >>> with_channels(np.array([[7]], np.uint8), 4).tolist()
    [[[7, 7, 7, 255]]]
    """
    have = _channels_of(image.shape)
    if have == channels:
        return image
    gray = image if image.ndim == 2 else image[..., 0]
    planes = [image[..., c] for c in range(3)] if have >= 3 else \
        [gray] * (3 if channels >= 3 else 1)
    if channels in (2, 4):                  # gray + alpha, RGBA
        if have in (2, 4):
            alpha = image[..., -1]
        else:
            dtype = image.dtype
            alpha = np.full(image.shape[:2], True if dtype.kind == "b" else
                            np.iinfo(dtype).max if dtype.kind in "iu" else 1, dtype)
        planes.append(alpha)
    return np.stack(planes, axis=-1)


def _image_shape(shape, channels):
    """The shape of an image of ``shape`` once read with ``channels`` channels."""
    if len(shape) > 3 or channels == _channels_of(shape):
        return tuple(shape)
    return tuple(shape[:2]) + ((channels,) if channels > 1 else ())


def _colours(shape):
    """"gray", "gray+alpha", "RGB", "RGBA" or "N channels" for an image shape (H, W[, C])."""
    if len(shape) == 2:
        return "gray"
    return {1: "gray", 2: "gray+alpha", 3: "RGB", 4: "RGBA"}.get(shape[2],
                                                                 f"{shape[2]} channels")


def _size(shape):
    """``"512x384"`` (width x height) of an image shape."""
    return f"{shape[1]}x{shape[0]}"


class _Images:
    """What the readers of a folder share: its listing, its first image, decoding with checks."""

    kind = "folder"

    def _start(self, path, listing, first, decoded):
        self.path = Path(path)
        self.listing = _listed(self.path) if listing is None else listing
        self.files = self.listing.files
        self.names = list(self.listing.names)
        self.labels = self.listing.labels
        self._decoded = decoded        # every image, decoded when the folder was opened
        if decoded is not None:
            first = decoded[0]
        elif first is None:
            first = decode_image(self.files[0])
        return first

    def thumbnail(self, index: int, size: int) -> np.ndarray:
        """Image ``index`` for a thumbnail of ``size`` pixels: a JPEG decoded smaller.

        A JPEG file is decoded at 1/2, 1/4 or 1/8 of its size, still at
        least ``size`` pixels on its longer side
        (:func:`~histeq_gui.core.io.images.read_thumbnail`), several times
        faster than whole; any other image is read whole (:meth:`image`).
        """
        index = int(index)
        if self._decoded is None and 0 <= index < len(self.files):
            small = read_thumbnail(self.files[index], size)
            if small is not None and small.dtype == self.dtype and \
                    _channels_of(small.shape) <= self.channels:
                return with_channels(small, self.channels)
        return self.image(index)

    def _kept(self, i):
        """Image ``i`` as decoded when the folder was opened, with the folder's channels."""
        image = self._decoded[i]
        return with_channels(image, self.channels) if image.ndim <= 3 else image

    @property
    def summary(self):
        """One line: ``1,203 images in 12 folders; 3 other files ignored``."""
        return self.listing.summary()

    def _decode(self, i, budget, shape, changed=False):
        """Image ``i``, refused before decoding unless it reads as ``shape`` of the folder's dtype.

        ``shape``: the image's shape with the folder's channels (None: any
        size); ``changed``: ``shape`` was read from the file when the folder
        was opened (the refusal then says the file changed).
        """
        channels, dtype = self.channels, self.dtype

        def check(decoded):
            name, first = self.names[i], self.names[0]
            if decoded.dtype != dtype:
                raise _type_refusal(self.path, name, decoded.shape, decoded.dtype, first,
                                    self._first_shape, dtype)
            if shape is None and len(decoded.shape) <= 3 and \
                    _channels_of(decoded.shape) > channels:
                raise StackError(
                    f"cannot read '{self.path}': '{name}' is {_colours(decoded.shape)} but "
                    f"the folder is read as {_colours(self._first_shape)} like its first "
                    f"image '{first}' until every header is read; read them first "
                    "(open the folder with its headers), then every image is read as colour")
            if shape is None or _image_shape(decoded.shape, channels) == tuple(shape):
                return
            if changed:
                raise StackError(
                    f"cannot read '{self.files[i]}': it is now {decoded.shape} {decoded.dtype}, "
                    f"not {tuple(shape)} {dtype} as when the folder was opened; open the "
                    "folder again")
            raise StackError(
                f"cannot read '{self.path}': '{name}' is {decoded.shape} {decoded.dtype} but "
                f"'{first}' is {self._first_shape} {dtype}; all images in the folder must "
                "have the same size and type")

        image = decode_image(self.files[i], True, budget, check)
        return with_channels(image, channels) if image.ndim <= 3 else image


def _type_refusal(path, name, shape, dtype, first, first_shape, first_dtype):
    return StackError(
        f"cannot read '{path}': '{name}' is {tuple(shape)} {dtype} but '{first}' is "
        f"{tuple(first_shape)} {first_dtype}; the images of a folder must share one type "
        "(8 or 16 bits, integers or floats), convert them to one first")


class FolderReader(_Images, Reader):
    """A folder (tree) of images of one size, read file by file on the decoding pool.

    Attributes
    ----------
    names : list of str
        Each image's path relative to the folder (``cat/001.jpg``).
    labels : list of str
        Each image's first folder (``cat``), empty at the top.
    listing : Listing
        The folder's listing (:meth:`~histeq_gui.core.io.Listing.summary`: what it holds, in one
        line).
    channels : int
        The channels every image is read with (``common_channels``).
    """

    depth = 1

    def __init__(self, path, listing: Listing | None = None, first=None, channels=None,
                 decoded=None):
        first = self._start(path, listing, first, decoded)
        self.channels = _channels_of(first.shape) if channels is None else channels
        self._first_shape = first.shape
        image_shape = _image_shape(first.shape, self.channels)
        super().__init__((len(self.files),) + image_shape, first.dtype)

    def _batches(self, r0, r1):
        """Runs of files of about ``_BATCH_BYTES`` decoded, in order."""
        per = max(1, _BATCH_BYTES // max(self.nbytes // max(self.shape[0], 1), 1))
        for start in range(r0, r1, per):
            yield start, min(start + per, r1)

    def _images(self, r0, r1):
        """Yield ``(i, image)`` for files ``r0:r1``, decoded on the pool a batch at a time."""
        if self._decoded is not None:
            for i in range(r0, r1):
                yield i, self._kept(i)
            return
        for b0, b1 in self._batches(r0, r1):
            budget = memory.Budget()
            decode = (lambda i, budget=budget:
                      (i, self._decode(i, budget, self.shape[1:])))
            yield from in_order(decode, range(b0, b1),
                                per_task=_per_task(self.nbytes // max(self.shape[0], 1)))

    def _read_rows(self, r0, r1, out):
        for i, image in self._images(r0, r1):
            out[i - r0] = image

    def close(self):
        """Drop the images kept since the folder was opened (files are opened one at a time)."""
        self._decoded = None

    def image(self, index, layout=None):
        """Image ``index`` (file ``index``); ``layout`` is the stack's, or None."""
        if layout is None:
            return self.read(int(index), int(index) + 1)[0]
        return super().image(index, layout)

    def load(self, progress=None):
        """Every image in one array, decoded a batch of files at a time on the decoding pool.

        Refuses (StackError) what would not fit in the free memory, before reading.
        ``progress(done, total)`` counts files.
        """
        memory.check_fits(self.nbytes, self.path, f"{len(self.files)} images of shape "
                                                  f"{self.shape[1:]} {self.dtype}")
        with guard(self.path, what="folder"):
            out = np.empty(self.shape, self.dtype)
        report = Progress(progress, len(self.files))
        with self._lock:
            for i, image in self._images(0, len(self.files)):
                out[i] = image
                report(i + 1)
        return out


def _per_task(image_bytes):
    """Files per task of the decoding pool: about 1 MB of pixels, at most 16 files."""
    return max(1, min(16, (1 << 20) // max(int(image_bytes), 1)))


def _decode_all(files, first, progress=None):
    """Every file decoded, a batch of files per look at the free memory.

    ``first`` is the first file's image, already decoded.
    """
    report = Progress(progress, len(files))
    per = max(1, _BATCH_BYTES // max(first.nbytes, 1))
    out = [first]
    report(1)
    for b0 in range(1, len(files), per):
        budget = memory.Budget()
        for image in in_order(lambda f, budget=budget: decode_image(f, True, budget),
                              files[b0:b0 + per], per_task=_per_task(first.nbytes)):
            out.append(image)
            report(len(out))
    return out


def _probe_all(files, progress=None):
    """``[(shape, dtype)]`` of every file from its header, on the decoding pool."""
    report = Progress(progress, len(files))
    out = []
    for k, found in enumerate(in_order(probe_image, files, ahead=8 * workers())):
        out.append(found)
        report(k + 1)
    return out


def _kind_of(path, names, shapes, dtypes):
    """The channels the folder's images are read with; StackError for types that cannot mix."""
    for name, shape, dtype in zip(names, shapes, dtypes):
        if dtype != dtypes[0]:
            raise _type_refusal(path, name, shape, dtype, names[0], shapes[0], dtypes[0])
    counts = [_channels_of(shape) for shape in shapes]
    channels = common_channels(counts)
    if channels is None or any(len(s) > 3 for s in shapes) and len(set(shapes)) > 1:
        odd = next(i for i, s in enumerate(shapes) if s != shapes[0])
        raise StackError(
            f"cannot read '{path}': '{names[odd]}' is {_colours(shapes[odd])} {dtypes[odd]} "
            f"but '{names[0]}' is {_colours(shapes[0])} {dtypes[0]}; images of different "
            "sizes or kinds must be gray, gray+alpha, RGB or RGBA, convert them first")
    return channels


def open_folder(path: str | os.PathLike, probe: bool | int = True,
                progress: Callable[[int, int], object] | None = None, *,
                mixed: bool = False) -> FolderReader | RaggedReader:
    """A FolderReader, or a RaggedReader when the folder's images differ in size.

    Parameters
    ----------
    path : path-like
        A folder of images, or of subfolders of images (a tree).
    probe : bool or int, optional
        Read every file's header now (True, the default), to know whether
        the images share one size and how they mix gray and colour.  False:
        a :class:`RaggedReader` at once, from the listing and the first
        image; the other headers are read when asked for
        (:meth:`RaggedReader.probe`).  A number: read them now if the folder
        holds at most that many images.
    progress : callable, optional
        ``progress(done, total)`` as headers are read (or, for a small
        folder, images decoded).
    mixed : bool, optional
        Keep each image as its file holds it when the folder mixes gray and
        colour (a :class:`MixedReader`, for the statistics, which describe
        each image on its own, as CleanVision does) rather than reading
        every image as colour.  Implies ``probe=True``.

    Raises
    ------
    StackError
        One line: the folder cannot be listed or holds no image, an image
        cannot be read, or two images are of types that cannot be read as
        one (8 and 16 bits; see the module's notes on gray and colour).
    """
    path = Path(path)
    listing = _listed(path)
    first = decode_image(listing.files[0])
    if not mixed and (probe is False or probe is not True and len(listing.files) > probe):
        reader = RaggedReader(path, listing, None, first)
        check_array(first, f"'{path}'")
        reader.sample()
        return reader
    free = memory.available()
    decoded = None
    if len(listing.files) * first.nbytes <= min(_KEEP_BYTES, (free or _KEEP_BYTES) // 4):
        # Small enough to keep: each file is opened once, decoded now rather than its
        # header read now and the file opened again to decode it.
        decoded = _decode_all(listing.files, first, progress)
        found = [(image.shape, image.dtype) for image in decoded]
    else:
        found = [(first.shape, first.dtype)] + _probe_all(listing.files[1:], progress)
    shapes = [tuple(int(n) for n in shape) for shape, _ in found]
    dtypes = [np.dtype(dtype) for _, dtype in found]
    channels = _kind_of(path, listing.names, shapes, dtypes)
    if mixed and len({_channels_of(s) for s in shapes}) > 1:
        check_array(first, f"'{path}'")
        return MixedReader(path, listing, shapes, first, channels, decoded)
    if all(s[:2] == shapes[0][:2] for s in shapes):
        return FolderReader(path, listing, first, channels, decoded)
    check_array(first, f"'{path}'")     # a Reader is checked whole by open_reader
    return RaggedReader(path, listing, [_image_shape(s, channels) for s in shapes], first,
                        channels, decoded)


class RaggedReader(_Images):
    """A folder (tree) of images of different sizes, read image by image (a *ragged* stack).

    It cannot be one array: :meth:`load` and :meth:`read` refuse (one line
    saying to open it in the viewer or to export it to a folder).  Every
    image has the same dtype and number of channels.  Reading the images in
    order (:meth:`images`, or :meth:`image` of 0, 1, 2...) decodes the next
    few on the decoding pool meanwhile.

    Attributes
    ----------
    ragged : bool
        True (a :class:`Reader` has False).
    path : pathlib.Path
    kind : str
        "folder".
    files : list of pathlib.Path
    names : list of str
        Each image's path relative to the folder, in order.
    labels : list of str
        Each image's first folder, empty at the top.
    shapes : list of tuple
        Each image's shape, ``(H, W)`` or ``(H, W, C)`` (read from the
        headers the first time it is asked for, if the folder was opened
        without them: see :meth:`probe`).
    dtype : numpy.dtype
    channels : int
    signature : tuple or None
        As :class:`Reader`'s ``signature``.

    Examples
    --------
    >>> with open_reader("shots") as reader:                      # doctest: +SKIP
    ...     reader.ragged, reader.n_images, reader.shapes[0], reader.image(0).shape
    (True, 5, (512, 512), (512, 512))
    """

    ragged = True
    signature = None
    check_unchanged = Reader.check_unchanged      # the folder itself: files added or removed

    def __init__(self, path, listing: Listing | None = None, shapes=None, first=None,
                 channels=None, decoded=None):
        first = self._start(path, listing, first, decoded)
        self.dtype = np.dtype(first.dtype)
        self.channels = _channels_of(first.shape) if channels is None else channels
        self._first_shape = first.shape
        first = with_channels(first, self.channels)
        self._shapes = [tuple(int(n) for n in s) for s in shapes] if shapes is not None \
            else [first.shape] + [None] * (len(self.files) - 1)
        self._probed = None not in self._shapes
        self._largest = max(s[0] * s[1] for s in self._shapes if s is not None)
        self._first = None if decoded is not None else first
        self._lock = threading.RLock()
        self._ahead = {}            # index -> Future of the image, decoded ahead
        self._last = None
        self._budget, self._budget_left = None, 0

    @property
    def n_images(self):
        """Number of images (files)."""
        return len(self.files)

    @property
    def probed(self):
        """True once every image's header has been read (:meth:`probe`, or when opened)."""
        return self._probed

    @property
    def shapes(self):
        """Every image's shape; reads the headers not read yet (:meth:`probe`)."""
        if not self.probed:
            self.probe()
        return list(self._shapes)

    @property
    def largest(self):
        """Pixels (height x width) of the largest image whose size is known so far."""
        return self._largest

    def _know(self, index, shape):
        self._shapes[index] = shape
        self._largest = max(self._largest, shape[0] * shape[1])

    def known_shape(self, index):
        """Image ``index``'s shape if known without reading anything, else None."""
        return self._shapes[int(index)]

    def sample(self, n=None):
        """Read the headers of a few images: the first of each label, and some spread evenly.

        So that a folder opened without its headers, whose first image is
        gray, is read as colour at once when its other images are (most
        often, some of those few are): :meth:`probe` would find it later.

        Raises
        ------
        StackError
            As :func:`open_folder`, for images of types that cannot be read as one.
        """
        n = _SAMPLE_FILES if n is None else int(n)
        firsts = {}
        for i, label in enumerate(self.labels):
            firsts.setdefault(label, i)
        spread = np.linspace(0, self.n_images - 1, min(n, self.n_images)).astype(int)
        picked = sorted(({*list(firsts.values())[:n], *spread.tolist()}) - {0})
        found = _probe_all([self.files[i] for i in picked])
        shapes = [self._first_shape] + [tuple(int(k) for k in shape) for shape, _ in found]
        dtypes = [self.dtype] + [np.dtype(dtype) for _, dtype in found]
        names = [self.names[0]] + [self.names[i] for i in picked]
        channels = _kind_of(self.path, names, shapes, dtypes)
        with self._lock:
            if channels > self.channels:
                self.channels = channels
                if self._first is not None:
                    self._first = with_channels(self._first, channels)
                self._shapes[0] = _image_shape(self._first_shape, channels)

    def shape_of(self, index):
        """Image ``index``'s shape, its header read if it was not yet (StackError if unreadable)."""
        index = int(index)
        shape = self._shapes[index]
        if shape is None:
            found, dtype = probe_image(self.files[index])
            if np.dtype(dtype) != self.dtype:
                raise _type_refusal(self.path, self.names[index], found, dtype, self.names[0],
                                    self._first_shape, self.dtype)
            shape = _image_shape(tuple(int(n) for n in found),
                                 max(self.channels, _channels_of(found)))
            self._know(index, shape)
        return shape

    def probe(self, progress=None):
        """Read the headers not read yet: every image's shape; the channels of them all.

        When the folder mixes gray and colour, ``channels`` becomes the
        colour ones (``common_channels``) and every image is read so.

        Raises
        ------
        StackError
            As :func:`open_folder` for images that cannot be read as one.
        """
        with self._lock:
            if self.probed:
                return
            missing = [i for i, s in enumerate(self._shapes) if s is None]
        found = _probe_all([self.files[i] for i in missing], progress)
        shapes = list(self._shapes)
        raw = {i: tuple(int(n) for n in shape) for i, (shape, _) in zip(missing, found)}
        dtypes = [self.dtype] * len(shapes)
        for i, (_, dtype) in zip(missing, found):
            dtypes[i] = np.dtype(dtype)
        shapes[0] = self._first_shape
        for i, shape in raw.items():
            shapes[i] = shape
        channels = _kind_of(self.path, self.names, shapes, dtypes)
        with self._lock:
            if channels > self.channels:
                self.channels = channels
                for future in self._ahead.values():
                    future.cancel()
                self._ahead.clear()
            if self._first is not None:
                self._first = with_channels(self._first, self.channels)
            self._shapes = [_image_shape(s, self.channels) for s in shapes]
            self._largest = max(s[0] * s[1] for s in self._shapes)
            self._probed = True

    def settled(self) -> FolderReader | RaggedReader:
        """A :class:`FolderReader` of the same folder if its images share one size, else self.

        For a folder opened without its headers (:func:`open_folder` with
        ``probe=False``): once they are read (here, if not yet), images of one
        size are read as one array, a block of them at a time.
        """
        shapes = self.shapes
        if any(shape[:2] != shapes[0][:2] for shape in shapes):
            return self
        first = self._first if self._first is not None else self.image(0)
        reader = FolderReader(self.path, self.listing, first, self.channels)
        reader.signature = self.signature
        return reader

    @property
    def size(self):
        """Values in all the images together."""
        return sum(math.prod(s) for s in self.shapes)

    @property
    def nbytes(self):
        """Bytes in all the images together (reads the headers not read yet, as :attr:`size`)."""
        return self.size * self.dtype.itemsize

    @property
    def ndim(self):
        """Number of axes of the first image: 2, or 3 with channels."""
        return len(self._shapes[0])

    def __len__(self):
        return self.n_images

    def __repr__(self):
        return f"<RaggedReader '{self.path}' {self.n_images} images of different sizes " \
               f"{self.dtype}>"

    def image(self, index, layout=None):
        """Image ``index`` as ``(H, W)`` or ``(H, W, C)``, decoded from its file.

        ``layout`` is ignored (each image is its own).  The array may be
        read-only (never write into it).

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
        if self._decoded is not None:
            return self._kept(index)
        with self._lock:
            first, self._first = (self._first, None) if index == 0 else (None, self._first)
            ahead = self._ahead.pop(index, None)
            sequential = self._last is not None and index == self._last + 1
            self._last = index
            if not sequential:
                for future in self._ahead.values():
                    future.cancel()
                self._ahead.clear()
            else:
                self._read_ahead(index + 1)
        if first is not None:
            return first
        if ahead is not None:
            return ahead.result()
        return self._read(index, None)

    def _read(self, index, budget):
        shape = self._shapes[index]
        image = self._decode(index, budget, shape, changed=shape is not None)
        if self._shapes[index] is None:
            self._know(index, image.shape)
        return image

    def _read_ahead(self, start):
        """Have the pool decode the next few images from ``start`` on while the caller works.

        One look at the free memory serves a batch of as many images.
        """
        stop = min(start + 2 * workers(), self.n_images)
        if workers() == 1:
            return
        pool = decode_pool()
        for i in range(start, stop):
            if i not in self._ahead:
                if self._budget_left <= 0:
                    self._budget, self._budget_left = memory.Budget(), 2 * workers()
                self._budget_left -= 1
                self._ahead[i] = pool.submit(self._read, i, self._budget)

    def images(self, progress=None):
        """Yield every image in order; ``progress(done, total)`` after each (it may raise)."""
        report = Progress(progress, self.n_images)
        for i in range(self.n_images):
            yield self.image(i)
            report(i + 1)

    def refusal(self, what="load"):
        """The one-line StackError for treating these images as one array."""
        shapes = self.shapes
        other = next((i for i, s in enumerate(shapes) if s[:2] != shapes[0][:2]), 0)
        return StackError(
            f"cannot {what} '{self.path}' as one array: its {self.n_images} images have "
            f"different sizes ('{self.names[0]}' is {_size(shapes[0])}, "
            f"'{self.names[other]}' is {_size(shapes[other])}); open it in "
            "the viewer, or export it to a folder (histeq FOLDER -o OUTFOLDER)")

    def load(self, progress=None):
        """Refused: images of different sizes are not one array (StackError, one line)."""
        raise self.refusal()

    def read(self, start, stop, axis=0):
        """Refused, as :meth:`load`; read :meth:`image` by image."""
        raise self.refusal("read")

    def close(self):
        """Drop the images decoded ahead or kept (files are opened one at a time)."""
        self._decoded = None
        with self._lock:
            for future in self._ahead.values():
                future.cancel()
            self._ahead.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False



class MixedReader(RaggedReader):
    """A folder mixing gray and colour images, each read as its file holds it.

    A :class:`RaggedReader` whose :attr:`shapes` and images keep each file's
    own channels (``(H, W)`` for a gray file beside ``(H, W, 3)`` ones), and
    whose ``channels`` are those they would all be read with as colour
    (``common_channels``).  Made by
    :func:`open_folder` with ``mixed=True`` for the statistics only: a
    viewer or an export reads such a folder as colour.
    """

    def __init__(self, path, listing, shapes, first, channels, decoded=None):
        super().__init__(path, listing, shapes, first, channels, decoded)
        if decoded is None:
            self._first = first                 # as decoded, not made colour

    def _kept(self, i):
        return self._decoded[i]

    def _decode(self, i, budget, shape, changed=False):
        def check(decoded):
            if decoded.dtype != self.dtype or tuple(decoded.shape) != tuple(shape):
                raise StackError(
                    f"cannot read '{self.files[i]}': it is now {decoded.shape} "
                    f"{decoded.dtype}, not {tuple(shape)} {self.dtype} as when the folder "
                    "was opened; open the folder again")
        return decode_image(self.files[i], True, budget, check)

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
        """Raise StackError unless PNG files can hold images of ``dtype`` and ``layout``.

        As ``check_png``: uint8 or uint16, gray, RGB or RGBA, uint16 only for
        gray.  Nothing is checked while ``dtype`` is None.
        """
        if dtype is not None:
            check_png(np.dtype(dtype), layout)

    @classmethod
    def check_replace(cls, path):
        """Only a folder of numbered PNG files, or of files an earlier export named, is replaced.

        The files an earlier export named may sit in subfolders (an export of
        a folder tree); any other file, at any depth, keeps the folder.
        """
        if not path.is_dir():
            raise StackError(f"cannot write '{path}': it exists and is not a folder; "
                             "choose another name")
        ours = own_files(path)      # named after their sources by an earlier export
        with guard(path, what="folder"):
            found = [(Path(top) / name).relative_to(path).as_posix()
                     for top, _, names in os.walk(path) for name in names]
        others = sorted(name for name in found
                        if not re.fullmatch(r"\d+\.png", name) and name not in ours)
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
        self.folders = {self.path}
        with guard(self.target, "write"):
            os.mkdir(self.path)

    def name(self, i):
        """The file name of image ``i``: its name in ``names``, else numbered (``00007.png``)."""
        if self.names is not None:
            return self.names[i]
        return f"{i:0{self.digits}d}.png"

    def _write(self, start, stop, data):
        layout = Layout(data.shape, self.layout.channel_axis)
        for j in range(layout.n_images):
            self._write_png(start * self.per + j, png_image(data, layout, j))

    def _write_png(self, i, image):
        path = self.path / self.name(i)
        if path.parent not in self.folders:     # a folder tree's subfolder
            with guard(self.target, "write"):
                path.parent.mkdir(parents=True, exist_ok=True)
            self.folders.update(path.parents[:len(path.relative_to(self.path).parts) - 1])
        write_png(path, image, self.target)
        self._keep(i, i + 1, image)

    def _finish(self):
        with guard(self.target, "write"):
            for folder in sorted(self.folders, key=lambda p: -len(p.parts)):   # deepest first
                sync_folder(folder)

    def _verify(self, progress):
        names = sorted((Path(top) / name).relative_to(self.path).as_posix()
                       for top, _, files in os.walk(self.path) for name in files)
        if names != sorted(self.name(i) for i in range(self.n_images)):
            raise StackError(f"{len(names)} files for {self.n_images} images")

        def stored(item):
            i, _, expected = item
            return i, expected, read_image(self.path / self.name(i), folder_item=True)

        for i, expected, image in in_order(stored, self.digests):
            if not self._reads_back(image, expected):
                raise StackError(f"{self.name(i)} reads back as {image.shape} {image.dtype}")
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
        """Write image ``start`` (``stop`` is ``start + 1``) as its PNG file, in order.

        Raises
        ------
        ValueError
            For an image out of order, more than one image, or one past the last.
        """
        if start != self.next or stop != start + 1 or not stop <= self.length:
            raise ValueError(f"image {start}:{stop} out of order; expected image {self.next} "
                             f"of {self.length}")
        image = np.ascontiguousarray(chunk, dtype=self.dtype)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        self._write_png(start, image)
        self.next = stop


INPUTS = (Input((), open_folder, "a folder of images", folder=True, probes=True),)
OUTPUTS = (Output(("",), PngFolderWriter, "a name without extension for a folder of PNG files"),)
