"""Zarr v3 arrays (``.zarr`` folders): a lazy reader and a chunk writer.

Zarr is an optional extra (``pip install "histeq-gui[zarr]"``); without it,
reading or writing a ``.zarr`` path is refused in one line that says how to
install it.  Arrays are written chunked along the stack's image axis (a few
whole images per Zarr chunk, every other axis whole, compressed with Zarr's
default codec), under a hidden temporary folder that every file of which is
fsynced before :func:`~histeq_gui.core.io.atomic.staged` moves it into place
with its sidecar, like every other output.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..errors import StackError
from . import memory
from .atomic import sync_folder
from .files import guard
from .reader import Input, Reader
from .writer import ChunkWriter, Output, native_dtype

__all__ = ["ZarrReader", "ZarrWriter", "zarr_module", "INSTALL", "INPUTS", "OUTPUTS"]

INSTALL = 'pip install "histeq-gui[zarr]"'
_CHUNK_BYTES = 1 << 24          # about 16 MB of pixels per Zarr chunk


def zarr_module(path, doing="read"):
    """The ``zarr`` package (version 3 or newer), or a one-line StackError saying how to get it."""
    try:
        import zarr
    except ImportError:
        zarr = None
    version = getattr(zarr, "__version__", "0")
    if zarr is None or int(version.split(".")[0]) < 3:
        found = "" if zarr is None else f" (found zarr {version}, which reads Zarr v2 only)"
        raise StackError(f"cannot {doing} '{path}': Zarr arrays need the zarr package, version "
                         f"3 or newer{found}; install it with {INSTALL}")
    return zarr


class ZarrReader(Reader):
    """A Zarr v3 array, read by ranges of whole images (Zarr decodes the chunks they touch).

    One Zarr chunk must fit in the free memory (checked when opened): reading
    a single image decodes every chunk it lies in.
    """

    kind = "zarr"

    def __init__(self, path):
        self.path = Path(path)
        zarr = zarr_module(self.path)
        with guard(self.path, what="Zarr array"):
            if not (self.path / "zarr.json").is_file():
                raise ValueError("no zarr.json: not a Zarr v3 array (a Zarr v2 store, a group "
                                 "or another folder)")
            array = zarr.open_array(self.path, mode="r")
        super().__init__(array.shape, array.dtype)
        self.array, self.depth = array, self.ndim
        chunk = math.prod(array.chunks) * self.dtype.itemsize
        memory.check_fits(chunk, self.path, f"one Zarr chunk of shape {array.chunks} "
                                            f"{self.dtype}")

    def _read(self, start, stop, axis):
        key = (slice(None),) * axis + (slice(start, stop),)
        with guard(self.path, what="Zarr array"):
            return np.asarray(self.array[key])

    def load(self, progress=None):
        memory.check_fits(self.nbytes, self.path, f"shape {self.shape} {self.dtype}")
        out = self.read(0, self.shape[0]) if self.ndim else np.asarray(self.array[...])
        if progress is not None:
            progress(1, 1)
        return out


class ZarrWriter(ChunkWriter):
    """A new Zarr v3 array, chunked along the writer's axis, written chunk by chunk."""

    kind = "zarr"
    whole_images = True

    @classmethod
    def check_stack(cls, path, dtype=None, layout=None):
        zarr_module(path, "write")

    @classmethod
    def check_replace(cls, path):
        """Only a Zarr array (a folder holding zarr.json, not a link) is replaced."""
        if not (path.is_dir() and not path.is_symlink() and (path / "zarr.json").is_file()):
            raise StackError(f"will not replace '{path}': it is not a Zarr array (no "
                             "zarr.json in a folder); choose another name")

    def _open(self):
        zarr = zarr_module(self.target, "write")
        self.dtype = native_dtype(self.dtype)
        chunks = list(self.shape)
        if self.axis is not None:
            per_index = max(math.prod(self.shape) * self.dtype.itemsize // self.shape[self.axis], 1)
            chunks[self.axis] = max(1, min(self.shape[self.axis], _CHUNK_BYTES // per_index))
        with guard(self.target, "write"):
            self.array = zarr.create_array(store=str(self.path), shape=self.shape,
                                           dtype=self.dtype, chunks=tuple(chunks),
                                           zarr_format=3, overwrite=False)

    def _write(self, start, stop, data):
        key = Ellipsis if self.axis is None else \
            (slice(None),) * self.axis + (slice(start, stop),)
        with guard(self.target, "write"):
            self.array[key] = data
        self._keep(start, stop, data)

    def _finish(self):
        """Flush every file and folder of the array to disk (the commit needs them durable)."""
        with guard(self.target, "write"):
            for folder, _, names in os.walk(self.path, topdown=False):
                for name in names:
                    fd = os.open(os.path.join(folder, name), os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                sync_folder(folder)

    def _verify(self, progress):
        reader = ZarrReader(self.path)
        self._check(reader)
        self._verify_chunks(reader, progress)


INPUTS = (Input((".zarr",), ZarrReader, "a .zarr array", folder=True),)
OUTPUTS = (Output((".zarr",), ZarrWriter, ".zarr (a Zarr v3 array)"),)
