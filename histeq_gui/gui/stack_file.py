"""The stack the viewer shows: the loaded array, its layout, display levels, labels and names.

:func:`open_stack` is what the loader job runs in a worker thread; it is free
of Qt so that it can run anywhere and be tested on its own.  The maths of the
levels is :mod:`histeq_gui.core.display`'s; the file names of a folder (the
relative paths of a folder tree) come from its reader, the colour axis a
TIFF declares from :func:`histeq_gui.core.io.declared_channel_axis`.

A folder of more than :data:`EAGER_FILES` images (a dataset kept as a
folder tree) opens from its listing and its first image alone: its other
headers are read afterwards (:func:`probe_stack`, in the background), so
that the first image is on screen at once whatever the folder's size.
"""

from __future__ import annotations

import json
import math
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..core.channels import channel_axis_text, parse_channel_axis
from ..core.display import (
    DEFAULT_SATURATED,
    default_levels_mode,
    dtype_range,
    finite_range,
    saturated_levels,
    widen,
)
from ..core.errors import KeyNeeded, StackError
from ..core.fit import fit_each
from ..core.histogram import check_dtype
from ..core.io import ArrayReader, declared_channel_axis, memory, open_reader, stack_axis
from ..core.stack import Layout, as_channels_first, guess_layout, image_at
from .resources import SAMPLE_STACK, resource_path

__all__ = ["LoadedStack", "open_stack", "probe_stack", "open_sample", "display_levels",
           "stack_levels", "npz_arrays", "describe_array", "memory_budget", "PERCENTILE_VALUES",
           "COLOUR_SIZES", "IN_MEMORY_BYTES", "IMAGE_CACHE", "EAGER_FILES"]

PERCENTILE_VALUES = 1 << 25   # stacks up to this many values get exact stack percentiles
COLOUR_SIZES = (2, 3, 4)      # what the viewer can draw as colour: gray+alpha, RGB, RGBA


IN_MEMORY_BYTES = 256 << 20   # stacks up to this size (and a quarter of free memory) are read whole
IMAGE_CACHE = 8               # images of a lazy stack kept, least recently used dropped
EAGER_FILES = 5000            # a folder of at most this many images has its headers read at once


def memory_budget():
    """Bytes a stack may take to be read into memory when opened (else it is read on demand).

    :data:`IN_MEMORY_BYTES`, lowered to a quarter of the memory still free.
    """
    free = memory.available()
    return IN_MEMORY_BYTES if free is None else min(IN_MEMORY_BYTES, free // 4)


@dataclass(frozen=True, eq=False)
class LoadedStack:
    """A stack ready to be viewed, read through a core :class:`~histeq_gui.core.io.Reader`.

    A small stack is read into memory when opened (its reader is an
    :class:`~histeq_gui.core.io.ArrayReader` of that array); a bigger
    one (above :func:`memory_budget`) is read on demand: :meth:`image` reads
    one image (the last :data:`IMAGE_CACHE` are kept), :meth:`chunks` and
    :meth:`fit_histograms` go through the stack a chunk of images at a time.
    Only :attr:`array` reads everything (and refuses what does not fit).

    Attributes
    ----------
    reader : Reader
        Where the pixels come from.
    layout : Layout
        Image, batch and colour axes (colour recognised with ``"auto"``).
    path : pathlib.Path or None
        Where it came from (None for an array handed over in code).
    levels : tuple of float
        Fixed display levels of the original image: the dtype's range for
        integers, the stack's finite range for floats.
    labels : tuple of str or None
        A short caption per image, when the file comes with one.
    key : str or None
        The array's name in an ``.npz`` file, when one was chosen.
    names : tuple of str or None
        The file name of each image, for a folder of images (its path
        relative to the folder, for a folder tree).
    summary : str or None
        What a folder holds, in one line ("1,203 images in 12 folders; 3
        other files ignored").
    channel_choice : "auto", None or int
        The colour-axis choice ``layout`` was made with (as ``histeq
        --channel-axis`` takes it).
    declared_axis : int or None
        The colour axis the file itself declares (RGB samples in a TIFF),
        when that is not the axis ``"auto"`` finds: offered to the user.
    """

    reader: object
    layout: object
    path: Path | None
    levels: tuple
    labels: tuple | None = None
    key: str | None = None
    names: tuple | None = None
    summary: str | None = None
    channel_choice: object = "auto"
    declared_axis: int | None = None
    _percentiles: dict = field(default_factory=dict, repr=False, compare=False)
    _images: OrderedDict = field(default_factory=OrderedDict, repr=False, compare=False)
    _lock: object = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_array(cls, array, path=None, labels=None, names=None):
        """Wrap an array already in memory (colour recognised with ``"auto"``)."""
        array = _native(np.asarray(array))
        try:
            check_dtype(array.dtype)
            layout = guess_layout(array.shape, "auto")
        except ValueError as exc:
            raise StackError(f"cannot view this array: {exc}") from None
        return cls(ArrayReader(array), layout, None if path is None else Path(path),
                   display_levels(array), labels, names=None if names is None else tuple(names))

    def with_channel_axis(self, axis):
        """The same stack laid out with another colour axis ("auto", None or an axis number).

        Raises
        ------
        ValueError
            One line, for an axis out of range or whose size the viewer
            cannot draw as colour (2, 3 or 4: gray+alpha, RGB, RGBA).
        """
        axis = parse_channel_axis(axis)
        layout = guess_layout(self.shape, axis)
        if axis not in ("auto", None) and layout.channels not in COLOUR_SIZES:
            raise ValueError(f"axis {axis} of shape {self.shape} has "
                             f"{layout.channels} values; a colour axis has 2, 3 or 4 "
                             "(gray+alpha, RGB, RGBA)")
        if axis not in ("auto", None):
            axis = layout.channel_axis              # -1 is remembered as 3
        return replace(self, layout=layout, channel_choice=axis, _percentiles=self._percentiles,
                       _images=OrderedDict(), _lock=threading.Lock())

    # ------------------------------------------------------------------ what it holds
    @property
    def ragged(self):
        """True for images of different sizes (a folder of them), read image by image.

        Then :attr:`layout` and :attr:`shape` are those of a stack of the
        first image's size (its channels and colour axis hold for every
        image); :meth:`image_shape` gives each image's own ``(H, W)``.
        """
        return bool(getattr(self.reader, "ragged", False))

    @property
    def headers_pending(self):
        """True for a folder opened before its headers were read (see :func:`probe_stack`)."""
        return self.ragged and not self.reader.probed

    def image_shape(self, index):
        """``(H, W)`` of image ``index`` (every image's, unless :attr:`ragged`)."""
        if self.ragged:
            return tuple(self.reader.shape_of(int(index))[:2])
        return tuple(self.layout.image_shape)

    @property
    def shape(self):
        """The stack's shape (no pixel is read).

        For a ragged stack, as if every image were the first one's size (see
        :attr:`ragged`).
        """
        return self.layout.shape if self.ragged else self.reader.shape

    @property
    def size(self):
        """Number of values in the stack.

        While :attr:`headers_pending`: as if every image were the first one's size.
        """
        if self.headers_pending:
            return self.n_images * math.prod(self.reader.known_shape(0))
        return self.reader.size

    @property
    def nbytes(self):
        """Bytes of the whole stack (an estimate while :attr:`headers_pending`)."""
        return self.size * self.dtype.itemsize

    @property
    def in_memory(self):
        """True if the whole stack is in memory (read when opened, or handed over as an array)."""
        return isinstance(self.reader, ArrayReader) and self.reader._mapped is None

    @property
    def array(self):
        """The whole stack as one array: EXPENSIVE for a stack read on demand.

        A stack in memory gives its array; a lazy one is read whole, each
        time (StackError if it does not fit in the free memory).  Prefer
        :meth:`image`, :meth:`chunks` and :meth:`fit_histograms`.
        """
        if self.in_memory:
            return self.reader.array
        return _native(self.reader.load())      # a ragged stack: refused in one line

    @property
    def name(self):
        """File or folder name (and the chosen array of an .npz), for the window title."""
        name = self.path.name if self.path is not None else "untitled"
        return name if self.key is None else f"{name} [{self.key}]"

    def image_name(self, index):
        """The file image ``index`` came from (a folder of images), else an empty string."""
        if self.names is None or len(self.names) != self.n_images or \
                not 0 <= index < len(self.names):
            return ""
        return self.names[index]

    def title(self, index):
        """The window title's part for image ``index``: ``folder — file.png``, or the name."""
        image = self.image_name(index)
        return f"{self.name} — {image}" if image else self.name

    @property
    def default_levels_mode(self):
        """The display levels the "auto" choice stands for with this stack's dtype."""
        return default_levels_mode(self.dtype)

    @property
    def dtype_levels(self):
        """The dtype's full range (floats: [0, 1])."""
        return dtype_range(self.dtype)

    def percentile_levels(self, saturated=DEFAULT_SATURATED):
        """Levels that saturate ``saturated`` percent of the stack's values (cached).

        Exact percentiles (:func:`histeq_gui.core.display.saturated_levels`)
        of the whole stack up to :data:`PERCENTILE_VALUES` values; of evenly
        spaced images adding up to about that many in a bigger stack; of the
        first image while :attr:`headers_pending`.
        """
        key = float(saturated)
        if key not in self._percentiles:
            self._percentiles[key] = widen(saturated_levels(self._percentile_sample(), key),
                                           self.levels)
        return self._percentiles[key]

    def _percentile_sample(self):
        if self.headers_pending:        # the rest of a folder being listed: its first image
            return np.ravel(self.image(0))
        if self.size <= PERCENTILE_VALUES:
            return self.array if self.in_memory else \
                np.concatenate([np.ravel(c) for _, _, c in self.chunks()])
        per_image = max(1, self.size // max(self.n_images, 1))
        step = -(-self.n_images // max(1, PERCENTILE_VALUES // per_image))
        return np.concatenate([np.ravel(self.read_image(i))
                               for i in range(0, self.n_images, step)])

    @property
    def n_images(self):
        """Number of images."""
        return self.layout.n_images

    @property
    def channels(self):
        """Colour channels (1 for grayscale)."""
        return self.layout.channels

    @property
    def dtype(self):
        """The pixels' dtype (native byte order)."""
        return self.reader.dtype.newbyteorder("=")

    @property
    def pixels_per_image(self):
        """Values in one image (all channels)."""
        if self.ragged:             # the largest image's (of those known)
            return self.reader.largest * self.channels
        h, w = self.layout.image_shape
        return h * w * self.channels

    # ------------------------------------------------------------------ reading
    def image(self, index):
        """Image ``index`` as ``(H, W)`` or ``(H, W, C)`` (never write into it).

        A view of a stack in memory; read from the file for a lazy stack,
        the last :data:`IMAGE_CACHE` images kept.
        """
        if self.in_memory:
            return image_at(self.reader.array, self.layout, index)
        index = int(index)
        with self._lock:
            if index in self._images:
                self._images.move_to_end(index)
                return self._images[index]
        image = self.read_image(index)
        image.flags.writeable = False
        with self._lock:
            self._images[index] = image
            while len(self._images) > IMAGE_CACHE:
                self._images.popitem(last=False)
        return image

    def read_image(self, index):
        """Image ``index`` read again (not cached: for passes over many images)."""
        if self.in_memory:
            return image_at(self.reader.array, self.layout, index)
        return _native(self.reader.image(int(index), self._reader_layout()))

    def read_small(self, index, size):
        """Image ``index`` for a thumbnail of ``size`` pixels (not cached).

        A folder's JPEG files are decoded at a reduced size (Pillow's
        ``draft``: at least ``size`` pixels on the longer side); anything else
        is :meth:`read_image`.
        """
        thumbnail = getattr(self.reader, "thumbnail", None)
        if self.in_memory or thumbnail is None:
            return self.read_image(index)
        return _native(thumbnail(int(index), size))

    def _reader_layout(self):
        if self.ragged:
            return None         # each image is its own
        return Layout(self.reader.shape, self.layout.channel_axis)

    def chunks(self, progress=None, images=None):
        """Yield ``(start, stop, array)``: the stack in pieces of whole images, in order.

        Parameters
        ----------
        progress : callable, optional
            ``progress(done, total)`` after each piece; whatever it raises
            (Cancelled) stops the iteration.
        images : int, optional
            Indices along the stack's image axis per piece (default about
            :data:`~histeq_gui.core.io.CHUNK_BYTES`).

        Notes
        -----
        Pieces are cut along the stack's image axis
        (:func:`~histeq_gui.core.io.stack_axis`) and keep every other
        axis; a single image is one piece.  A stack in memory gives views.
        """
        if self.ragged:             # one image per piece, each its own size
            for i in range(self.n_images):
                yield i, i + 1, _native(self.reader.image(i))[np.newaxis]
                if progress is not None:
                    progress(i + 1, self.n_images)
            return
        axis = stack_axis(self.layout)
        if axis is None:
            yield 0, 1, _native(self.reader.read(0, self.shape[0], 0))
            if progress is not None:
                progress(1, 1)
            return
        for start, stop, chunk in self.reader.chunks(axis, images, progress):
            yield start, stop, _native(chunk)

    def channel_chunks(self, progress=None, images=None):
        """Like :meth:`chunks`, each piece as a list of one array per colour channel."""
        for _, _, chunk in self.chunks(progress, images):
            layout = Layout(chunk.shape, self.layout.channel_axis)
            pieces = as_channels_first(chunk, layout)
            yield [pieces[c] for c in range(self.channels)]

    def fit_histograms(self, method, bins, mask=None, progress=None, roi=None, **params):
        """The whole stack's histogram per channel, fitted chunk by chunk.

        Equal to ``histogram(channel_stack(c), method, bins, mask)`` for each
        channel (:func:`histeq_gui.core.fit.fit_each`), without holding the
        stack in memory; ``progress(done, total)`` after each chunk of each
        pass (it may raise Cancelled).

        A ragged stack takes ``roi`` ``(x, y, width, height)`` instead of
        ``mask``: the region clipped to each image (an image it misses
        counts no pixel).

        Returns
        -------
        tuple of Histogram
        """
        if self.ragged and roi is not None:
            def chunks():
                for piece in self.channel_chunks():
                    region = np.zeros(piece[0].shape[-2:], bool)
                    x, y, w, h = roi
                    region[y:y + h, x:x + w] = True
                    yield [(channel, region) for channel in piece]
            return tuple(fit_each(chunks, self.channels, method, bins, progress=progress,
                                  **params))
        return tuple(fit_each(lambda: self.channel_chunks(), self.channels, method, bins,
                              mask=mask, progress=progress, **params))

    def channel_stack(self, channel):
        """Every image's channel ``channel`` as one array: EXPENSIVE (see :attr:`array`)."""
        return as_channels_first(self.array, self.layout)[channel]

    def label(self, index):
        """Caption of image ``index``, or an empty string."""
        if self.labels is None or not 0 <= index < len(self.labels):
            return ""
        return self.labels[index]

    def describe(self):
        """One line for the status bar: shape, dtype and layout (and how colour was chosen)."""
        if self.ragged:
            sizes = "(sizes being read)" if self.headers_pending else "of different sizes"
            return (f"{self.n_images:,} images {sizes} · {self.dtype} · "
                    f"{'gray' if self.channels == 1 else f'{self.channels} channels'}"
                    " · read on demand")
        shape = "×".join(str(s) for s in self.shape)
        lazy = "" if self.in_memory else " · read on demand"
        return f"{shape} · {self.dtype} · {self.layout.name}{self._colour_note()}{lazy}"

    def _colour_note(self):
        if self.channel_choice == "auto":
            return " (colour: channels last)" if self.layout.channel_axis is not None else ""
        if self.channel_choice is None:
            return " (gray, chosen)"
        return f" (colour axis {channel_axis_text(self.channel_choice)})"


def _native(array):
    """``array`` in native byte order: itself if it is already (a memory map stays one)."""
    if array.dtype.isnative:
        return array
    return array.astype(array.dtype.newbyteorder("="))


def display_levels(array, progress=None):
    """The stack's range: the display levels "stack range" stands for.

    8-bit integers use their dtype's full range (0..255 for uint8), so every
    such stack looks the same; wider integers and floats use the range of the
    whole stack (finite values only, :func:`histeq_gui.core.display.finite_range`),
    scanned in chunks with ``progress(done, total)`` after each; a flat stack
    is widened by 0.5 each way, one with no finite value gets [0, 1].
    """
    dtype = np.dtype(array.dtype)
    if dtype.kind in "iu" and dtype.itemsize == 1:
        return dtype_range(dtype)
    return widen(finite_range(array, progress))


def stack_levels(stack, progress=None):
    """:func:`display_levels` of a :class:`LoadedStack`, its chunks read one at a time."""
    if stack.in_memory:
        return display_levels(stack.reader.array, progress)
    dtype = stack.dtype
    if dtype.kind in "iu" and dtype.itemsize == 1:
        return dtype_range(dtype)
    lo, hi = np.inf, -np.inf
    for _, _, chunk in stack.chunks(progress):
        found = finite_range(chunk)
        if found is not None:
            lo, hi = min(lo, found[0]), max(hi, found[1])
    return widen(None if lo > hi else (lo, hi))


def _labels(path, n_images):
    """Captions from ``<stem>_info.json`` beside the file (as the sample has), if any."""
    info = path.with_name(path.stem + "_info.json")
    try:
        records = json.loads(info.read_text(encoding="utf-8"))["images"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(records, list) or len(records) != n_images:
        return None
    labels = []
    for record in records:
        if not isinstance(record, dict):
            return None
        source = str(record.get("source", "")).removeprefix("skimage.data.")
        label = str(record.get("label", ""))
        labels.append(f"{label} ({source})" if source and label else label or source)
    return tuple(labels)


def npz_arrays(path):
    """The arrays of an ``.npz`` file, from their headers only: ``[(name, shape, dtype)]``.

    Nothing is loaded or unpickled: each member's ``.npy`` header is read
    (NumPy's ``read_magic`` and ``read_array_header_*``).  A member that is
    not a readable ``.npy`` gets ``shape`` and ``dtype`` None.
    """
    arrays = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            name = info.filename[:-len(".npy")]
            try:
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                            else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read(member)
            except (ValueError, OSError, zipfile.BadZipFile, EOFError):
                shape, dtype = None, None
            arrays.append((name, shape, dtype))
    return arrays


def describe_array(shape, dtype):
    """``3×96×96 uint8`` for a chooser; what cannot be opened says so."""
    if shape is None:
        return "not a NumPy array"
    if dtype.hasobject:
        return f"{'×'.join(map(str, shape))} Python objects (never opened)"
    return f"{'×'.join(map(str, shape)) or 'scalar'} {dtype}"


def open_stack(path, progress=None, key=None):
    """Load a stack for viewing.

    Parameters
    ----------
    path : str or path-like
        A stack file or a folder of images (see :func:`histeq_gui.load_stack`).
    progress : callable, optional
        ``progress(stage, done, total)``; it may raise
        :class:`~histeq_gui.core.errors.Cancelled` to stop.
    key : str, optional
        The array to read from an ``.npz`` file that holds several.

    Returns
    -------
    LoadedStack

    Raises
    ------
    StackError
        With a one-line message when the file cannot be read or viewed;
        :class:`~histeq_gui.core.errors.KeyNeeded` (with the names) for an
        ``.npz`` file of several arrays and no ``key``; its ``arrays`` holds
        ``(name, shape, dtype)`` of each (see :func:`npz_arrays`), or None.
    """
    path = Path(path)

    def stage(name):
        return None if progress is None else (lambda done, total: progress(name, done, total))

    try:
        reader = open_reader(path, key=key, probe=EAGER_FILES)
    except KeyNeeded as error:          # what each array is, for the chooser (headers only)
        try:
            error.arrays = npz_arrays(path)
        except (OSError, zipfile.BadZipFile, ValueError):
            error.arrays = None
        raise
    try:
        stack = _stack_of(reader, path, key, stage)
    except BaseException:
        reader.close()
        raise
    if stack.default_levels_mode == "percentile":
        stack.percentile_levels()   # here, in the loader's thread, not at the first redraw
    # No compiling here: loading never waits on the compiler.  The viewer shows
    # the first image with the NumPy loops and has the compiled ones prepared
    # in the background afterwards (see gui/warmup.py).
    return stack


def _stack_of(reader, path, key, stage):
    """The LoadedStack of an open reader: read whole if small, else left to read on demand."""
    if getattr(reader, "ragged", False):
        return _ragged_stack(reader, path, stage)
    try:
        check_dtype(reader.dtype)
        layout = guess_layout(reader.shape, "auto")
    except ValueError as exc:
        raise StackError(f"cannot view '{path}': {exc}") from None
    names = getattr(reader, "names", None)      # a folder's files (read before it is closed)
    if names is not None and len(names) != layout.n_images:
        names = None
    summary = _summary(reader)
    if reader.nbytes <= memory_budget():
        if reader.kind == "npy":
            array = reader.read(0, reader.shape[0])     # read with pread, not mapped
            report = stage("Reading")
            if report is not None:
                report(1, 1)
        else:
            array = reader.load(stage("Reading"))
        kind, calibration = reader.kind, reader.calibration
        reader.close()
        reader = ArrayReader(_native(np.asarray(array)), path, kind, calibration)
    declared = declared_channel_axis(path, reader.shape)
    stack = LoadedStack(reader, layout, path, (0.0, 1.0), _labels(path, layout.n_images), key,
                        None if names is None else tuple(names), summary,
                        declared_axis=None if declared == layout.channel_axis else declared)
    levels = stack_levels(stack, stage("Scanning the value range"))
    if stage("Preparing") is not None:
        stage("Preparing")(0, 1)
    return replace(stack, levels=levels, _percentiles={}, _images=OrderedDict(),
                   _lock=threading.Lock())


def _summary(reader):
    """What a folder reader's folder holds, in one line; None for other readers."""
    return reader.summary if getattr(reader, "listing", None) is not None else None


def _ragged_stack(reader, path, stage):
    """The LoadedStack of images of different sizes (or not known yet): read image by image.

    A folder opened before its headers were read gets the levels of its first image
    (the whole folder's range would need every image).
    """
    try:
        check_dtype(reader.dtype)
        layout = guess_layout((reader.n_images,) + reader.known_shape(0), "auto")
    except ValueError as exc:
        raise StackError(f"cannot view '{path}': {exc}") from None
    stack = LoadedStack(reader, layout, path, (0.0, 1.0), None, None, tuple(reader.names),
                        _summary(reader))
    if stack.headers_pending:
        levels = display_levels(stack.image(0))
    else:
        levels = stack_levels(stack, stage("Scanning the value range"))
    return replace(stack, levels=levels, _percentiles={}, _images=OrderedDict(),
                   _lock=threading.Lock())


def probe_stack(stack, progress=None):
    """The stack once every header of its folder is read (one whose headers are pending).

    Parameters
    ----------
    stack : LoadedStack
    progress : callable, optional
        ``progress(stage, done, total)`` as headers (then, for images of one
        size read whole, the images) are read; it may raise Cancelled.

    Returns
    -------
    LoadedStack
        ``stack`` itself when nothing changes; else a new one: images of one
        size read as one stack (in memory when small, as any folder), or a
        folder that turns out to mix gray and colour (its first image gray)
        laid out as colour.

    Raises
    ------
    StackError
        One line, for images that cannot be read as one (8 and 16 bits).
    """
    def stage(name):
        return None if progress is None else (lambda done, total: progress(name, done, total))

    reader = stack.reader
    channels = reader.channels
    reader.probe(stage("Reading headers"))
    settled = reader.settled()
    if settled is not reader:
        return _stack_of(settled, stack.path, None, stage)
    if reader.channels == channels:
        return stack
    layout = guess_layout((reader.n_images,) + reader.known_shape(0), "auto")
    return replace(stack, layout=layout, channel_choice="auto", _percentiles={},
                   _images=OrderedDict(), _lock=threading.Lock())


def open_sample(progress=None):
    """Load the bundled sample stack (see ``resources/README.md``)."""
    return open_stack(resource_path(SAMPLE_STACK), progress)
