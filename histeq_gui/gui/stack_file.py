"""The stack the viewer shows: the loaded array, its layout, display levels and labels.

:func:`open_stack` is what the loader job runs in a worker thread; it is free
of Qt so that it can run anywhere and be tested on its own.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.equalize import warm_up
from ..core.errors import KeyNeeded, StackError
from ..core.histogram import check_dtype
from ..core.io import load_stack
from ..core.stack import as_channels_first, guess_layout, image_at
from .resources import SAMPLE_STACK, resource_path

__all__ = ["LoadedStack", "open_stack", "open_sample", "display_levels", "npz_arrays",
           "describe_array"]

_LEVEL_CHUNK = 1 << 22  # values per step when scanning a float stack for its range


@dataclass(frozen=True, eq=False)
class LoadedStack:
    """A stack ready to be viewed.

    Attributes
    ----------
    array : ndarray
        The pixels as loaded (a read-only memory map for ``.npy`` files), in
        native byte order: a big-endian file is converted once, on loading,
        not again by every whole-stack histogram.
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
    """

    array: np.ndarray
    layout: object
    path: Path | None
    levels: tuple
    labels: tuple | None = None
    key: str | None = None

    @classmethod
    def from_array(cls, array, path=None, labels=None):
        """Wrap an array already in memory (colour recognised with ``"auto"``)."""
        array = _native(np.asarray(array))
        try:
            check_dtype(array.dtype)
            layout = guess_layout(array.shape, "auto")
        except ValueError as exc:
            raise StackError(f"cannot view this array: {exc}") from None
        return cls(array, layout, None if path is None else Path(path), display_levels(array),
                   labels)

    @property
    def name(self):
        """File or folder name (and the chosen array of an .npz), for the window title."""
        name = self.path.name if self.path is not None else "untitled"
        return name if self.key is None else f"{name} [{self.key}]"

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
        """The pixels' dtype."""
        return self.array.dtype

    @property
    def pixels_per_image(self):
        """Values in one image (all channels)."""
        h, w = self.layout.image_shape
        return h * w * self.channels

    def image(self, index):
        """Image ``index`` as ``(H, W)`` or ``(H, W, C)`` (a view)."""
        return image_at(self.array, self.layout, index)

    def channel_stack(self, channel):
        """Every image's channel ``channel``: the sample of a stack histogram (a view)."""
        return as_channels_first(self.array, self.layout)[channel]

    def label(self, index):
        """Caption of image ``index``, or an empty string."""
        if self.labels is None or not 0 <= index < len(self.labels):
            return ""
        return self.labels[index]

    def describe(self):
        """One line for the status bar: shape, dtype and layout."""
        shape = "×".join(str(s) for s in self.array.shape)
        return f"{shape} · {self.array.dtype} · {self.layout.name}"


def _native(array):
    """``array`` in native byte order: itself if it is already (a memory map stays one)."""
    if array.dtype.isnative:
        return array
    return array.astype(array.dtype.newbyteorder("="))


def display_levels(array, progress=None):
    """Fixed display levels of a stack's original images.

    8-bit integers use their dtype's full range (0..255 for uint8), so every
    such stack looks the same; wider integers and floats use the range of the
    whole stack (finite values only), scanned in chunks with
    ``progress(done, total)`` after each.  (The dtype range of uint16 or int32
    would show 12-bit camera data or small counts as a black image with an
    invisible histogram.)
    """
    dtype = np.dtype(array.dtype)
    if dtype.kind in "iu" and dtype.itemsize == 1:
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    flat = np.asarray(array).reshape(-1)
    total = max(1, -(-flat.size // _LEVEL_CHUNK))
    lo, hi = np.inf, -np.inf
    for step, start in enumerate(range(0, flat.size, _LEVEL_CHUNK)):
        chunk = flat[start:start + _LEVEL_CHUNK]
        finite = chunk[np.isfinite(chunk)] if dtype.kind == "f" else chunk
        if finite.size:
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        if progress is not None:
            progress(step + 1, total)
    if lo > hi:
        return 0.0, 1.0
    if lo == hi:
        return lo - 0.5, hi + 0.5
    return lo, hi


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
        array = _native(load_stack(path, key=key, progress=stage("Reading")))
    except KeyNeeded as error:          # what each array is, for the chooser (headers only)
        try:
            error.arrays = npz_arrays(path)
        except (OSError, zipfile.BadZipFile, ValueError):
            error.arrays = None
        raise
    try:
        check_dtype(array.dtype)
        layout = guess_layout(array.shape, "auto")
    except ValueError as exc:
        raise StackError(f"cannot view '{path}': {exc}") from None
    levels = display_levels(array, stage("Scanning the value range"))
    if progress is not None:
        progress("Preparing", 0, 1)
    warm_up(array.dtype)        # compile here, in the loader's thread, not at the first redraw
    return LoadedStack(array, layout, path, levels, _labels(path, layout.n_images), key)


def open_sample(progress=None):
    """Load the bundled sample stack (see ``resources/README.md``)."""
    return open_stack(resource_path(SAMPLE_STACK), progress)
