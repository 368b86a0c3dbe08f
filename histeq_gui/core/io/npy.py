""".npy files and .npz archives: reading them whole, lazily, and writing them chunk by chunk.

A ``.npy`` file is read with ``pread`` (:class:`NpyReader`), without mapping
it: a map takes as much address space as the file, which a limit such as
``ulimit -v`` may not leave; :func:`map_npy` maps it whole for
:func:`~histeq_gui.core.io.load_stack`, which returns the map.  One array of
an ``.npz`` archive is read from its member without extracting it
(:class:`NpzReader`).  Pickled data is never loaded: a header declaring
Python objects is refused before anything else is read, and so are shapes
no file can hold and members shorter than their header declares.
:class:`NpyWriter` and :class:`NpzWriter` write a stack as a stream and
verify it against the digest of every chunk.
"""

from __future__ import annotations

import math
import os
import struct
import zipfile
import zlib
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ..errors import KeyNeeded, StackError
from . import memory
from .files import Progress, changed_error, guard, is_shortage, open_input, stat_input
from .mapped import pread_into, remember_file
from .reader import ArrayReader, Input, Reader
from .writer import FileWriter, Output

__all__ = ["map_npy", "open_npy", "NpyReader", "NpzReader", "NpyWriter", "NpzWriter", "INPUTS",
           "OUTPUTS"]


def _npy_header(fh):
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise ValueError(f"unsupported .npy format version {version}")


def _npy_info(path, fh, what=".npy file", where=None):
    """Read a .npy header from ``fh``: (shape, fortran_order, dtype, data bytes).

    Refuses pickled data and shapes no array can have, in one line naming
    ``where`` (default: the quoted path).
    """
    where = f"'{path}'" if where is None else where
    with guard(path, what=what):
        shape, fortran, dtype = _npy_header(fh)
    if dtype.hasobject:
        raise StackError(f"cannot read {where}: it holds Python objects (pickled data), which "
                         "are never loaded for safety; save a plain numeric array instead")
    if any(d < 0 for d in shape):
        raise StackError(f"cannot read {where}: its header declares the impossible shape "
                         f"{shape}; the file is damaged, save it again")
    needed = math.prod(shape) * dtype.itemsize
    if needed >= 2 ** 63:
        raise StackError(f"cannot read {where}: its header declares shape {shape}, more bytes "
                         "than any file holds; the file is damaged, save it again")
    return shape, fortran, dtype, needed


def _npy_data(path, fh):
    """``(shape, fortran_order, dtype, data bytes, data offset, os.stat)`` of an open .npy file.

    Refuses (one line) what :func:`_npy_info` refuses and a file holding
    fewer data bytes than its header declares.
    """
    shape, fortran, dtype, needed = _npy_info(path, fh)
    start, info = fh.tell(), os.fstat(fh.fileno())
    if info.st_size - start < needed:
        raise StackError(f"cannot read '{path}': the file is truncated ({info.st_size - start}"
                         f" of {needed} data bytes for shape {shape}); copy or save it again")
    return shape, fortran, dtype, needed, start, info


def map_npy(path: str | os.PathLike) -> np.ndarray:
    """A read-only memory map of the ``.npy`` file ``path``, its header and size checked.

    The map is marked with its file (:func:`~histeq_gui.core.io.mapped.remember_file`),
    so that readers read it with ``pread`` and can tell whether it was
    replaced since.  Raises StackError (one line) for a file that cannot be
    read as a plain numeric ``.npy`` array, or mapped for lack of address
    space (``ulimit -v``).
    """
    with open_input(path, ".npy file") as fh:
        shape, _, dtype, needed, _, info = _npy_data(path, fh)
    if needed == 0:
        return np.empty(shape, dtype)       # nothing to map; refused as empty later
    try:
        with guard(path, what=".npy file"):
            array = np.load(path, mmap_mode="r", allow_pickle=False)
    except StackError as exc:
        if is_shortage(exc):
            raise StackError(f"cannot map '{path}' whole ({memory.size_text(needed)}): "
                             f"{memory.shortage()} (histeq_gui.open_reader reads it in "
                             "pieces)") from None
        raise
    return remember_file(array, path, info)


class NpyReader(Reader):
    """A C-ordered ``.npy`` file, read with ``pread`` at the offsets of the images asked for.

    Nothing is mapped, so the file takes no address space and resident
    memory is what is read.  The file stays open: a file cut meanwhile is a
    one-line StackError, a file replaced meanwhile is still read as opened.
    """

    kind = "npy"

    def __init__(self, path):
        self.path = Path(path)
        self._fh = open_input(self.path, ".npy file")
        try:
            shape, fortran, dtype, _, self._start, _ = _npy_data(self.path, self._fh)
            if fortran:
                raise ValueError("a Fortran-ordered file is read through a map (open_npy)")
        except BaseException:
            self._fh.close()
            raise
        super().__init__(shape, dtype)
        self.depth = self.ndim          # a row is one value: any run of values is one read

    def _read_rows(self, r0, r1, out):
        item = self.dtype.itemsize

        def cut(done):
            size = os.fstat(self._fh.fileno()).st_size
            return changed_error(self.path, f"it is now {size} bytes, "
                                           f"{self._start + self.nbytes} expected")

        pread_into(self._fh.fileno(), out.reshape(-1).view(np.uint8), self._start + r0 * item,
                   self.path, cut, ".npy file")

    def load(self, progress=None):
        """The file as a read-only memory map (:func:`map_npy`), as ``load_stack`` returns it."""
        array = map_npy(self.path)
        Progress(progress, 1)(1)
        return array

    def close(self):
        """Close the ``.npy`` file (the images are read from it with ``pread``)."""
        self._fh.close()


def open_npy(path: str | os.PathLike) -> Reader:
    """A reader of the ``.npy`` file ``path``: a :class:`NpyReader`.

    A Fortran-ordered file, whose images are scattered through it, is mapped
    instead (an :class:`~histeq_gui.core.io.ArrayReader` of :func:`map_npy`,
    read with ``pread``).
    """
    with open_input(path, ".npy file") as fh:
        fortran = _npy_data(path, fh)[1]
    return ArrayReader(map_npy(path), path, "npy") if fortran else NpyReader(path)


def _npz_key(name):
    return name[:-4] if name.endswith(".npy") else name


def _npz_member(path, archive, key):
    """The member of ``archive`` holding the array ``key`` (the only one when key is None)."""
    members = [m for m in archive.infolist() if not m.is_dir()]
    names = [_npz_key(m.filename) for m in members]
    listed = ", ".join(names)
    if not names:
        raise StackError(f"cannot read '{path}': the archive holds no arrays")
    if key is None and len(names) > 1:
        raise KeyNeeded(f"'{path}' holds several arrays ({listed}); choose one "
                        "(command line: --key NAME)", names)
    wanted = names[0] if key is None else _npz_key(key)
    if wanted not in names:
        raise StackError(f"'{path}' has no array named '{wanted}'; it holds: {listed}; "
                         "pass one of these as --key NAME")
    member = members[names.index(wanted)]
    if not member.filename.endswith(".npy"):
        raise StackError(f"cannot read '{path}': '{member.filename}' in the archive is "
                         "not a .npy array; choose another --key, or save the arrays "
                         "with np.savez")
    return member


def _npz_header(path, archive, member):
    """(shape, fortran_order, dtype, data bytes, header bytes) of an .npz member, checked.

    Refuses pickled data, absurd shapes and a member holding fewer data bytes
    than its header declares.
    """
    where = f"'{path}' (member '{member.filename}')"
    with guard(path, what=".npz file"), archive.open(member) as fh:
        shape, fortran, dtype, needed = _npy_info(path, fh, ".npz file", where)
        header = fh.tell()
    if member.file_size - header < needed:
        raise StackError(f"cannot read {where}: it is truncated "
                         f"({max(member.file_size - header, 0)} of {needed} data bytes "
                         f"for shape {shape}); copy or save it again")
    return shape, fortran, dtype, needed, header


def _read_npz_member(path, archive, member):
    """The array of an .npz member, read whole after :func:`_npz_header`; its CRC checked."""
    shape, fortran, dtype, needed, header = _npz_header(path, archive, member)
    memory.check_fits(needed, path, f"array '{_npz_key(member.filename)}' of shape {shape} "
                                    f"{dtype}")
    where = f"'{path}' (member '{member.filename}')"
    with guard(path, what=".npz file"), archive.open(member) as fh:
        fh.read(header)
        data = np.empty(needed, np.uint8)
        view, done = memoryview(data), 0
        while done < needed:
            n = fh.readinto(view[done:done + (1 << 24)])
            if not n:
                raise StackError(f"cannot read {where}: it is truncated ({done} of {needed} "
                                 f"data bytes for shape {shape}); copy or save it again")
            done += n
        while fh.read(1 << 20):     # to the end, so that zipfile checks the CRC
            pass
    return np.ndarray(shape, dtype, buffer=data, order="F" if fortran else "C")


class NpzReader(Reader):
    """One array of an ``.npz`` archive, read from its member without extracting it.

    A stored (uncompressed) member is read like a ``.npy`` file, with
    ``pread`` at its offset in the archive, and its CRC is checked when the
    member has been read in order to its end.  A compressed member is
    decompressed as a stream, forward; reading backwards starts the stream
    again.  Fortran-ordered members are read whole.
    """

    kind = "npz"

    def __init__(self, path, key=None):
        self.path, self._stack = Path(path), ExitStack()
        try:
            fh = self._stack.enter_context(open_input(self.path, ".npz file"))
            with guard(self.path, what=".npz file"):
                archive = self._stack.enter_context(zipfile.ZipFile(fh))
            self.member = _npz_member(self.path, archive, key)
            shape, fortran, dtype, needed, header = _npz_header(self.path, archive,
                                                                     self.member)
            super().__init__(shape, dtype)
            self.key = _npz_key(self.member.filename)
            self._archive, self._header, self._fortran = archive, header, fortran
            self._stream, self._position = None, 0
            self._crc, self._crc_position, self._inner = None, None, None
            self.depth = self.ndim
            if fortran:
                self._inner = ArrayReader(_read_npz_member(self.path, archive, self.member))
            elif self.member.compress_type == zipfile.ZIP_STORED and needed:
                self._inner = self._stored(fh, needed)
        except BaseException:
            self._stack.close()
            raise

    def _stored(self, fh, needed):
        """An ArrayReader over the member's bytes in the archive, mapped but read with pread."""
        with guard(self.path, what=".npz file"):
            fh.seek(self.member.header_offset)
            local = fh.read(30)
            if len(local) != 30 or local[:4] != b"PK\x03\x04":
                raise ValueError("bad local header of the member")
            name_length, extra_length = struct.unpack("<HH", local[26:30])
            start = self.member.header_offset + 30 + name_length + extra_length
            fh.seek(start)
            header = fh.read(self._header)
            array = np.memmap(fh, self.dtype, "r", offset=start + self._header, shape=self.shape)
        remember_file(array, self.path, stat_input(self.path))
        self._crc, self._crc_position = zlib.crc32(header), 0
        return ArrayReader(array, self.path, "npz")

    def _read(self, start, stop, axis):
        if self._inner is None:
            return super()._read(start, stop, axis)
        out = self._inner._read(start, stop, axis)
        if self._crc is not None and axis == 0:
            self._check_crc(start, out)
        return out

    def _check_crc(self, start, out):
        """Add the bytes just read to the member's CRC if they continue it in order."""
        begin = start * (self.nbytes // self.shape[0])
        if begin != self._crc_position:
            self._crc, self._crc_position = None, None      # out of order: not checked
            return
        data = np.ascontiguousarray(out)
        self._crc = zlib.crc32(data.reshape(-1).view(np.uint8), self._crc)
        self._crc_position += data.nbytes
        whole = self.member.file_size == self._header + self.nbytes
        if self._crc_position == self.nbytes and whole and self._crc != self.member.CRC:
            raise StackError(f"cannot read '{self.path}' (member '{self.member.filename}'): "
                             "its CRC does not match (the archive is damaged); copy or save it "
                             "again")

    def _read_rows(self, r0, r1, out):
        """Elements ``r0:r1`` of the compressed member, decompressed as a stream."""
        item = self.dtype.itemsize
        begin, end = self._header + r0 * item, self._header + r1 * item
        with guard(self.path, what=".npz file"):
            if self._stream is None or begin < self._position:
                if self._stream is not None:
                    self._stream.close()
                self._stream = self._archive.open(self.member)
                self._position = 0
            while self._position < begin:           # skip forward
                skipped = len(self._stream.read(min(begin - self._position, 1 << 22)))
                if not skipped:
                    break
                self._position += skipped
            view, done = memoryview(out.reshape(-1).view(np.uint8)), 0
            while self._position == begin + done and done < end - begin:
                n = self._stream.readinto(view[done:done + (1 << 24)])
                if not n:
                    break
                done += n
                self._position += n
            if done < end - begin:
                raise StackError(f"cannot read '{self.path}' (member '{self.member.filename}'):"
                                 f" it is truncated ({self._position - self._header} of "
                                 f"{self.nbytes} data bytes for shape {self.shape}); copy or "
                                 "save it again")
            if r1 * item == self.nbytes:
                while self._stream.read(1 << 20):   # to the end: zipfile checks the CRC
                    pass

    def load(self, progress=None):
        """The array, read whole from the member (its CRC checked)."""
        with self._lock:
            array = _read_npz_member(self.path, self._archive, self.member)
        Progress(progress, 1)(1)
        return array

    def close(self):
        """Close the member's stream and reader, and the archive."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._inner is not None:
            self._inner.close()
        self._stack.close()


class NpyWriter(FileWriter):
    """A new ``.npy`` file: its header, then the chunks as they come."""

    kind = "npy"

    def _open(self):
        self._start("histeq-npy-writer")
        with guard(self.target, "write"):
            self._write_header(self.fh)

    def _write_header(self, fh):
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": self.shape}
        np.lib.format.write_array_header_1_0(fh, header)

    def _consume(self, chunks):
        for start, stop, data in chunks:
            self._keep(start, stop, data)
            self.fh.write(self._bytes(data))

    def _verify(self, progress):
        with open_npy(self.path) as reader:
            self._check(reader)
            self._verify_chunks(reader, progress)


class NpzWriter(NpyWriter):
    """One ``.npy`` member (deflated) in a new ``.npz`` archive, written as a stream."""

    kind = "npz"

    def _open(self):
        if not self.key or "/" in self.key:
            raise StackError(f"invalid .npz key {self.key!r}; use a plain name such as 'images'")
        self._start("histeq-npz-writer")
        with guard(self.target, "write"):
            self._archive = zipfile.ZipFile(self.fh, "w", zipfile.ZIP_DEFLATED)
            self._member = self._archive.open(self.key + ".npy", "w", force_zip64=True)
            self._write_header(self._member)

    def _consume(self, chunks):
        for start, stop, data in chunks:
            self._keep(start, stop, data)
            self._member.write(self._bytes(data))

    def _end(self):
        with guard(self.target, "write"):
            self._member.close()
            self._archive.close()

    def _abort(self):
        if self._pipe is not None:
            self._pipe.abort()
            self._pipe = None
        for part in ("_member", "_archive"):
            try:
                getattr(self, part).close()
            except BaseException:
                pass
        super()._abort()

    def _verify(self, progress):
        # Without a key the reader also proves that the archive holds this one array.
        with NpzReader(self.path) as reader:
            if reader.key != self.key:
                raise StackError(f"the archive holds '{reader.key}', not '{self.key}'")
            self._check(reader)
            self._verify_chunks(reader, progress)


INPUTS = (Input((".npy",), open_npy, ".npy"),
          Input((".npz",), NpzReader, ".npz", key=True))
OUTPUTS = (Output((".npy",), NpyWriter, ".npy"),
           Output((".npz",), NpzWriter, ".npz"))
