"""Zarr v3 arrays (``.zarr`` folders): a lazy reader and a chunk writer.

Zarr is an optional extra (``pip install "histeq-gui[zarr]"``); without it,
reading or writing a ``.zarr`` path is refused in one line that says how to
install it.  Arrays are written chunked along the stack's image axis (a few
whole images per Zarr chunk, every other axis whole, compressed with Zarr's
default codec and followed by a CRC-32C checksum, every chunk written even
when it holds only the fill value), under a hidden temporary folder that
every file of which is fsynced before
:func:`~histeq_gui.core.io.atomic.staged` moves it into place with its
sidecar, like every other output.  The chunks are written one Zarr chunk at
a time by a helper thread, which a failed or interrupted export waits for
before the folder is removed (Zarr writes the chunks of one assignment
concurrently and goes on after the first fails).

Reading refuses, in one line, a chunk that is missing (the Zarr
specification reads it as the fill value, which would export an incomplete
array as if it were whole) and a chunk whose checksum does not match.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import numpy as np

from ..errors import StackError
from . import memory
from .atomic import sync_folder
from .files import guard
from .reader import Input, Reader
from .writer import Output, PipedWriter, native_dtype

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
    a single image decodes every chunk it lies in.  Every chunk a read
    touches must be in the store (a missing one is a StackError).
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
            self._grid = tuple(int(n) for n in array.metadata.chunk_grid.chunk_shape)
        super().__init__(array.shape, array.dtype)
        self.array, self.depth = array, self.ndim
        chunk = math.prod(array.chunks) * self.dtype.itemsize
        memory.check_fits(chunk, self.path, f"one Zarr chunk of shape {array.chunks} "
                                            f"{self.dtype}")

    def _read(self, start, stop, axis):
        self._check_chunks(start, stop, axis)
        key = (slice(None),) * axis + (slice(start, stop),)
        with guard(self.path, what="Zarr array"):
            try:
                return np.asarray(self.array[key])
            except ValueError as exc:
                if "checksum" not in str(exc).lower():
                    raise
        raise StackError(f"cannot read '{self.path}': a chunk of images {start}:{stop} along "
                         f"axis {axis} is damaged (its CRC-32C checksum does not match); copy "
                         "the array again")

    def _check_chunks(self, start, stop, axis):
        """Raise StackError if a stored chunk holding images ``start:stop`` is missing."""
        spans = [range(-(-n // c)) for n, c in zip(self.shape, self._grid)]
        spans[axis] = range(start // self._grid[axis], -(-stop // self._grid[axis]))
        for coords in itertools.product(*spans):
            key = self.array.metadata.encode_chunk_key(coords)
            if not (self.path / key).is_file():
                raise StackError(
                    f"cannot read '{self.path}': its chunk '{key}' (of images {start}:{stop} "
                    f"along axis {axis}) is missing, so the array is incomplete or damaged "
                    f"(Zarr would read it as the fill value {self.array.fill_value}); copy it "
                    "again, or if it was written without the chunks that hold only the fill "
                    "value, write it again with every chunk (zarr: write_empty_chunks=True)")

    def load(self, progress=None):
        """The whole array, read through Zarr (refused if it would not fit in the free memory)."""
        memory.check_fits(self.nbytes, self.path, f"shape {self.shape} {self.dtype}")
        out = self.read(0, self.shape[0]) if self.ndim else np.asarray(self.array[...])
        if progress is not None:
            progress(1, 1)
        return out


class ZarrWriter(PipedWriter):
    """A new Zarr v3 array, chunked along the writer's axis, written chunk by chunk.

    Every chunk is written (also one of only the fill value, which Zarr
    would leave out), so that a missing chunk always means damage, and is
    followed by a CRC-32C checksum.
    """

    kind = "zarr"
    whole_images = True

    @classmethod
    def check_stack(cls, path, dtype=None, layout=None):
        """Raise StackError unless the zarr package (version 3 or newer) is installed."""
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
        self._per_chunk = chunks[self.axis] if self.axis is not None else 1
        with guard(self.target, "write"):
            self.array = zarr.create_array(
                store=str(self.path), shape=self.shape, dtype=self.dtype, chunks=tuple(chunks),
                zarr_format=3, overwrite=False,
                compressors=(zarr.codecs.ZstdCodec(), zarr.codecs.Crc32cCodec()),
                config={"write_empty_chunks": True})
        self._start_pipe("histeq-zarr-writer")

    def _consume(self, chunks):
        """Write each piece one Zarr chunk at a time (in the helper thread).

        Zarr writes the chunks of one assignment concurrently and, when one
        fails, goes on writing the others after the error is raised; one
        chunk per assignment leaves nothing running after an error.
        """
        for start, stop, data in chunks:
            self._keep(start, stop, data)
            if self.axis is None:
                self.array[...] = data
                continue
            a = start
            while a < stop:
                b = min(stop, (a // self._per_chunk + 1) * self._per_chunk)
                key = (slice(None),) * self.axis + (slice(a, b),)
                inside = (slice(None),) * self.axis + (slice(a - start, b - start),)
                self.array[key] = data[inside]
                a = b

    def _end(self):
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
