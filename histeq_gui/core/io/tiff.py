"""TIFF files: checked against what they declare, read whole or page batch by page batch, written.

tifffile may only log a warning for a truncated file and return fewer
pages, so every file is opened through :func:`open_tiff`, which checks the
first series against what the file declares (page count, shaped and ImageJ
metadata, page data inside the file) and turns tifffile's logged errors
into a one-line StackError.  A small file can hold millions of tiny pages,
each of which tifffile parses into an object of a few kilobytes: the pages
are counted first (a walk of the chain of page headers) and a file whose
parsing would not fit in memory is refused before it is parsed; a file of
many pages of different kinds gets its first series in one pass
(:func:`first_series`) instead of tifffile's grouping, whose time grows
with the square of the page count.  :class:`TiffReader` reads the first
series lazily (raw contiguous pages with one ``pread``, others page by page);
:class:`TiffWriter` writes multi-page TIFF files chunk by chunk and verifies
them.  :func:`declared_channel_axis` tells which axis a file declares as
colour.

The spatial calibration a file declares (:func:`read_calibration`: ImageJ's
pixel size, unit, z spacing and frame interval; OME's physical sizes and
time increment; else the resolution tags) is kept by the reader
(``TiffReader.calibration``) and written again by :class:`TiffWriter`, as
Fiji keeps it: an ImageJ hyperstack when the stack can be one, else a TIFF
with the resolution tags and the calibration in its description.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import xml.etree.ElementTree as ElementTree
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import tifffile

from ..errors import StackError, first_line
from . import memory
from .files import Progress, guard, open_input, row_chunks
from .mapped import pread_into
from .reader import Input, Reader
from .writer import FileWriter, Output, native_dtype

__all__ = ["SUFFIXES", "open_tiff", "read_tiff", "tiff_shape", "first_series",
           "read_calibration", "declared_channel_axis", "TiffReader", "TiffWriter", "INPUTS",
           "OUTPUTS"]

SUFFIXES = (".tif", ".tiff")
_BIGTIFF_BYTES = 2 ** 31    # write BigTIFF above this many bytes of pixels
PAGE_BYTES = 4096           # memory tifffile takes per parsed page (measured: 2.7 kB, frames 0.3)
_ONE_PASS_PAGES = 1000      # above this many pages, a generic series is made in one pass
_IMAGEJ_DTYPES = ("uint8", "uint16", "float32")    # what an ImageJ hyperstack holds
_TIFF_UNITS = {2: "inch", 3: "cm"}                  # ResolutionUnit codes with a unit
_OME_UNITS = {"µm": "um", "\u03bcm": "um", "Å": "angstrom"}    # OME units, as ImageJ writes them
# The series kinds tifffile recognises from metadata (TiffFile.series); a file of none of
# them and not uniform is a "generic" series, whose pages tifffile groups pairwise.
_NAMED_SERIES = frozenset({"shaped", "lsm", "mmstack", "ome", "imagej", "ndtiff", "fluoview",
                           "stk", "sis", "svs", "scn", "qpi", "ndpi", "bif", "avs", "eer",
                           "philips", "scanimage", "nih", "mdgel", "indica"})


class _TiffErrors(logging.Handler):
    """Collects the errors tifffile logs (instead of raising) in the threads reading a file.

    The thread that opens the file is watched; a lazy reader adds the threads
    it reads pages in (:meth:`watch`).
    """

    def __init__(self):
        super().__init__(logging.ERROR)
        self.threads, self.messages = {threading.get_ident()}, []

    def watch(self):
        """Collect the errors logged by the calling thread too."""
        self.threads.add(threading.get_ident())

    def emit(self, record):
        if record.thread in self.threads:
            self.messages.append(re.sub(r"^<[^>]*>\s*", "", first_line(record.getMessage(), 160)))


@contextmanager
def _tiff_session(path):
    """Open a TIFF file and check it against what it declares; yield (TiffFile, series, errors).

    tifffile logs (rather than raises) many signs of a truncated file and then returns a
    shorter series, so its log errors are collected in ``errors`` and turned into a
    StackError before and after the caller reads the pages (and by
    :func:`_raise_tiff_errors` whenever the caller checks).
    """
    errors, logger = _TiffErrors(), logging.getLogger("tifffile")
    logger.addHandler(errors)   # also keeps tifffile's messages off stderr
    try:
        with open_input(path, "TIFF file") as fh:
            with guard(path, what="TIFF file"):
                tif = tifffile.TiffFile(fh, name=path.name)
            with tif:
                for checked, series in _checked_tiff(path, tif, errors):
                    yield checked, series, errors
    finally:
        logger.removeHandler(errors)


def _check_page_count(path, tif):
    """Refuse, before they are parsed, pages whose parsing would not fit in memory.

    Counting walks the chain of page headers and keeps one offset per page
    (tens of bytes); parsing keeps an object per page (:data:`PAGE_BYTES`).
    """
    with guard(path, what="TIFF file"):
        pages = len(tif.pages)
    if pages > 1:
        memory.check_fits(pages * PAGE_BYTES, path, f"{pages} TIFF pages to parse, about "
                                                    f"{memory.size_text(PAGE_BYTES)} each")
    return pages


def first_series(tif: tifffile.TiffFile) -> tifffile.TiffPageSeries:
    """The first series of ``tif``, as ``tif.series[0]``, in time linear in the page count.

    tifffile groups the pages of a file it recognises no layout in (a
    "generic" series: not uniform, no shaped, ImageJ, OME, ... metadata) by
    comparing each page with those of its group: a 2 MB file of 20,000 tiny
    pages of two kinds takes minutes, one of 200,000 pages hours.  Above
    a thousand pages such a file's first series is made here in one pass,
    the way tifffile makes it: the pages of the first page's kind (its
    hash), each once, shaped ``(pages, *page shape)`` with a sample axis.
    """
    pages = tif.pages
    if len(pages) <= _ONE_PASS_PAGES or tif.is_uniform or tif.flags & _NAMED_SERIES:
        return tif.series[0]
    useframes, pages.useframes = pages.useframes, False
    try:
        picked, offsets, first = [], set(), None
        for page in pages:
            if not page.shape or page.offset in offsets:
                continue
            if first is None:
                first = page
            if page.hash == first.hash:
                picked.append(page)
                offsets.add(page.offset)
    finally:
        pages.useframes = useframes
    if first is None:
        raise ValueError("no page holds an image")
    shape, axes = (len(picked), *first.shape), "I" + first.axes
    if "S" not in axes:
        shape, axes = shape + (1,), axes + "S"
    return tifffile.TiffPageSeries(picked, shape, first.dtype, axes, kind="generic")


@contextmanager
def open_tiff(path: Path) -> Iterator[tuple[tifffile.TiffFile, tifffile.TiffPageSeries]]:
    """Open a TIFF file checked against what it declares: yield (TiffFile, first series).

    Raises StackError (one line) for a file that cannot be read, or is
    truncated or damaged.
    """
    with _tiff_session(path) as (tif, series, _errors):
        yield tif, series


def _checked_tiff(path, tif, errors):
    """Yield the first series of ``tif`` once it agrees with what the file declares."""
    _check_page_count(path, tif)
    with guard(path, what="TIFF file"):
        series = first_series(tif)
        n_pages = len(series)
        if n_pages == 0 or np.prod(series.shape) % n_pages:
            errors.messages.append(f"{n_pages} pages do not fit shape {series.shape}")
        shaped = (tif.shaped_metadata or [{}])[0].get("shape") if tif.is_shaped else None
        if shaped and np.prod(shaped) != np.prod(series.shape):
            errors.messages.append(f"declares shape {tuple(shaped)} but holds {series.shape}")
        images = int((tif.imagej_metadata or {}).get("images", 1))
        if tif.is_imagej and (series.kind != "imagej" or n_pages < images):
            errors.messages.append(f"declares {images} ImageJ images but holds {n_pages} pages")
        size = tif.filehandle.size
        # Raw pages one after the other: their data is one range to check, and the last page
        # (whose tags end a file cut short) is parsed; parsing every page of a large stack
        # costs more than reading it.  Otherwise every page's data is checked.
        start = series.dataoffset
        raw = start is not None and start + math.prod(series.shape) * series.dtype.itemsize <= size
        pages = [tif.pages[len(tif.pages) - 1]] if raw else series.pages
        for page in pages:
            if page is None or any(offset + count > size for offset, count in
                                   zip(page.dataoffsets, page.databytecounts)):
                errors.messages.append("page data lies beyond the end of the file")
                break
    _raise_tiff_errors(path, errors.messages)
    yield tif, series
    _raise_tiff_errors(path, errors.messages)


def _raise_tiff_errors(path, messages):
    if messages:
        raise StackError(f"cannot read '{path}': the TIFF file is truncated or damaged "
                         f"({messages[0]}); check the file or copy it again")


def _tiff_pages(path, series, start, stop, out):
    """Decode pages ``start:stop`` of ``series`` into ``out``, of shape (stop - start, values).

    tifffile decodes straight into ``out`` (no second copy of a large page).
    """
    with guard(path, what="TIFF file"):
        series.parent.asarray(key=range(start, stop), series=series, out=out)


def read_tiff(path: str | os.PathLike,
              progress: Callable[[int, int], object] | None = None) -> np.ndarray:
    """The first series of the TIFF file ``path``, read whole (as :meth:`TiffReader.load`)."""
    with TiffReader(path) as reader:
        return reader.load(progress)


def tiff_shape(path: str | os.PathLike) -> tuple[tuple[int, ...], np.dtype]:
    """``(shape, dtype)`` of the first series of a TIFF file, from its header (nothing decoded).

    Pages whose parsing would not fit in memory are refused, as by :func:`open_tiff`.
    """
    with guard(path, what="TIFF file"), tifffile.TiffFile(path) as tif:
        _check_page_count(path, tif)
        series = first_series(tif)
        return tuple(series.shape), np.dtype(series.dtype)


def _positive(value):
    """``value`` as a positive finite float, or None."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _ome_calibration(tif):
    """Physical sizes and time increment of an OME-TIFF's first image, as ImageJ names them."""
    try:
        root = ElementTree.fromstring(tif.ome_metadata)
    except (ElementTree.ParseError, TypeError, ValueError):
        return {}
    pixels = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return {}
    found = {"pixel_width": _positive(pixels.get("PhysicalSizeX")),
             "pixel_height": _positive(pixels.get("PhysicalSizeY")),
             "spacing": _positive(pixels.get("PhysicalSizeZ")),
             "finterval": _positive(pixels.get("TimeIncrement"))}
    if found["pixel_width"] or found["pixel_height"] or found["spacing"]:
        unit = pixels.get("PhysicalSizeXUnit", "µm")
        found["unit"] = _OME_UNITS.get(unit, unit)
    return found


def read_calibration(tif: tifffile.TiffFile,
                     series: tifffile.TiffPageSeries) -> dict | None:
    """The spatial calibration ``tif`` declares for ``series``, as ImageJ calls it, or None.

    Returns
    -------
    dict or None
        The keys found among ``pixel_width``, ``pixel_height`` (the pixel
        size, from the resolution tags: one over pixels per unit), ``unit``
        (ImageJ's ``unit``, else the resolution unit, inch or cm),
        ``spacing`` (the distance between z slices) and ``finterval`` (the
        time between frames); an OME-TIFF's physical sizes and time increment
        take their place.  ``axes`` is the series' axes (tifffile's letters),
        for writing the stack back as a hyperstack.  None when the file
        declares none of them (a resolution of 1 pixel per unit without a
        unit is no calibration).

    Examples
    --------
    >>> import io
    >>> buffer = io.BytesIO()
    >>> tifffile.imwrite(buffer, np.zeros((3, 4, 5), np.uint8), imagej=True,
    ...                  resolution=(1 / 0.65, 1 / 0.65),
    ...                  metadata={"spacing": 2.0, "unit": "um", "axes": "ZYX"})
    >>> _ = buffer.seek(0)
    >>> with tifffile.TiffFile(buffer) as tif:
    ...     read_calibration(tif, tif.series[0])
    {'pixel_width': 0.65, 'pixel_height': 0.65, 'unit': 'um', 'spacing': 2.0, 'axes': 'ZYX'}
    """
    page = series.keyframe
    found = {}
    if tif.is_ome:
        found = _ome_calibration(tif)
    else:
        x_res, y_res = page.get_resolution()
        imagej = tif.imagej_metadata or {}
        unit = imagej.get("unit") or _TIFF_UNITS.get(int(page.resolutionunit))
        if (x_res, y_res) != (1, 1) or unit:
            found["pixel_width"] = _positive(1 / x_res) if x_res else None
            found["pixel_height"] = _positive(1 / y_res) if y_res else None
        found["unit"] = str(unit) if unit else None
        found["spacing"] = _positive(imagej.get("spacing"))
        found["finterval"] = _positive(imagej.get("finterval"))
    found = {key: value for key, value in found.items() if value is not None}
    if not found:
        return None
    for key in ("pixel_width", "pixel_height", "spacing", "finterval"):
        if key in found:
            found[key] = round(found[key], 12)      # 13/20 stored, 0.65 meant
    found["axes"] = series.axes
    return found


class TiffReader(Reader):
    """The first series of a TIFF file, decoded page batch by page batch.

    The file is checked against what it declares when opened (page count,
    ImageJ and shaped metadata, data inside the file), and tifffile's logged
    errors are checked after every batch.  A row is one page: ``depth`` is
    the number of leading axes the pages enumerate.  ``calibration`` is
    what :func:`read_calibration` finds in the file (None if nothing).
    """

    kind = "tif"

    def __init__(self, path):
        self.path, self._stack = Path(path), ExitStack()
        try:
            tif, series, errors = self._stack.enter_context(_tiff_session(self.path))
            super().__init__(series.shape, series.dtype)
            self._series, self._errors, self.pages = series, errors, len(series)
            with guard(self.path, what="TIFF file"):
                self.calibration = read_calibration(tif, series)
            self.depth = next((d for d in range(self.ndim - 2, -1, -1)
                               if math.prod(self.shape[:d]) == self.pages), 0)
            self._raw = self._contiguous(tif, series)
        except BaseException:
            self._stack.close()
            raise

    def _contiguous(self, tif, series):
        """(file descriptor, offset, file dtype) when the pages are stored raw, else None.

        Raw: one after the other, tifffile's contiguous series (uncompressed, in
        order).
        """
        offset = series.dataoffset
        if offset is None or self.pages == 0:
            return None
        fd = tif.filehandle.fileno()
        if offset + self.nbytes > os.fstat(fd).st_size:
            return None                         # let tifffile read (and report) what is there
        return fd, int(offset), self.dtype.newbyteorder(tif.byteorder)

    def _read_rows(self, r0, r1, out):
        if self.depth == 0:             # pages that are not whole rows: all of them at once
            r0, r1 = 0, self.pages
        self._read_pages(r0, r1, out.reshape(r1 - r0, -1))

    def _read_pages(self, start, stop, out):
        """Decode pages ``start:stop`` (one batch) into ``out`` of shape (pages, values).

        Raw contiguous pages (what this program and most writers make) are read
        in one ``pread``, as fast as a ``.npy`` file; other files page by page
        by tifffile.
        """
        if self._raw is not None:
            fd, offset, stored = self._raw
            page = self.nbytes // self.pages
            data = out if stored == out.dtype else np.empty(out.shape, stored)

            def cut(done):
                return StackError(f"cannot read '{self.path}': the file changed while it was "
                                  f"read (it ends before page {start + done // page}); read it "
                                  "again once it is complete")

            pread_into(fd, data.reshape(-1).view(np.uint8), offset + start * page, self.path, cut,
                       "TIFF file")
            if data is not out:
                out[...] = data
            return
        self._errors.watch()
        _tiff_pages(self.path, self._series, start, stop, out)
        _raise_tiff_errors(self.path, self._errors.messages)

    def load(self, progress=None):
        """Every page in one array, decoded a batch of pages at a time.

        Refuses (StackError) what would not fit in the free memory, before reading.
        ``progress(done, total)`` counts pages.
        """
        memory.check_fits(self.nbytes, self.path,
                          f"{self.pages} page{'s' * (self.pages != 1)}, shape {self.shape} "
                          f"{self.dtype}")
        with guard(self.path, what="TIFF file"):
            out = np.empty(self.shape, self.dtype)
        flat = out.reshape(self.pages, -1)
        report = Progress(progress, self.pages)
        with self._lock:
            for start, stop in row_chunks(self.pages, flat.shape[1] * out.itemsize):
                self._read_pages(start, stop, flat[start:stop])
                report(stop)
        return out

    def close(self):
        """Close the TIFF file and forget tifffile's logged errors."""
        self._errors.messages.clear()       # each was raised by the read that met it
        self._stack.close()


class TiffWriter(FileWriter):
    """A multi-page TIFF written by tifffile from pages handed over chunk by chunk.

    tifffile pulls pages from an iterator, in the helper thread.  With a
    ``calibration`` (:func:`read_calibration` of the input), the file keeps
    it as Fiji does: an ImageJ hyperstack (pixel size in the resolution
    tags; unit, spacing and frame interval in ImageJ's description) when
    the stack can be one and reads back with its shape, else a TIFF with
    the resolution tags and the calibration in tifffile's description.
    """

    kind = "tif"

    def _open(self):
        self.dtype = native_dtype(self.dtype)
        layout, shape = self.layout, self.shape
        self._k = 3 if layout.channel_axis == len(shape) - 1 and layout.channels in (3, 4) else 2
        self._start("histeq-tiff-writer")

    def _imagej_axes(self):
        """The ImageJ axes to write the stack with, or None when it cannot be a hyperstack.

        ImageJ holds 8/16-bit integers and 32-bit floats (RGB: 8-bit), and
        drops axes of length one: the input's axes are kept when none is.
        """
        axes = (self.calibration or {}).get("axes")
        if not axes or len(axes) != len(self.shape) or self.dtype.name not in _IMAGEJ_DTYPES:
            return None
        colour = axes.endswith("S")
        if colour and (self._k != 3 or self.shape[-1] != 3 or self.dtype != np.uint8):
            return None
        lead = self.shape[:len(self.shape) - (3 if colour else 2)]
        if any(n == 1 for n in lead) or not set(axes[:len(lead)]) <= set("TZCQI"):
            return None
        return axes

    def _tiff_options(self):
        """tifffile.imwrite's options for the calibration (none without one)."""
        cal = self.calibration
        if not cal:
            return {}
        options, keep = {}, {key: cal[key] for key in ("unit", "spacing", "finterval")
                             if key in cal}
        width, height = cal.get("pixel_width"), cal.get("pixel_height")
        if width or height:
            options["resolution"] = (1 / (width or height), 1 / (height or width))
            unit = {value: code for code, value in _TIFF_UNITS.items()}.get(cal.get("unit"))
            options["resolutionunit"] = unit or 1       # else ImageJ's unit says it
        axes = self._imagej_axes()
        if axes is not None:
            options.update(imagej=True, metadata={"axes": axes.replace("I", "Z"), **keep})
        elif keep:
            options["metadata"] = {"calibration": keep}
        return options

    def _consume(self, chunks):
        shape, page = self.shape, self.shape[len(self.shape) - self._k:]

        def pages():
            for start, stop, data in chunks:
                self._keep(start, stop, data)
                yield from data.reshape((-1,) + page)

        tifffile.imwrite(self.fh, pages(), shape=shape, dtype=self.dtype,
                         photometric="rgb" if self._k == 3 else "minisblack",
                         bigtiff=np.prod(shape) * self.dtype.itemsize > _BIGTIFF_BYTES,
                         **self._tiff_options())

    def _verify(self, progress):
        with TiffReader(self.path) as reader:
            self._check(reader)
            self._verify_chunks(reader, progress)


def declared_channel_axis(path: str | os.PathLike | None, shape: tuple[int, ...]) -> int | None:
    """The colour axis a TIFF file declares for an array of ``shape``, or None.

    A TIFF declares colour with RGB samples per pixel (photometric RGB, 3 or
    4 samples); tifffile names that axis ``S``.  Only files whose first
    series has ``shape`` are considered; any other file, or one that cannot
    be read, gives None.

    Parameters
    ----------
    path : str or path-like or None
    shape : tuple of int
        The shape the file loads as.

    Returns
    -------
    int or None
        The axis of the RGB samples (non-negative).

    Notes
    -----
    This is a hint, not the automatic rule: tifffile's default for a
    ``(3, H, W)`` array is to write three RGB samples, so a stack of three
    grayscale images often declares colour too.
    """
    if path is None or Path(path).suffix.lower() not in SUFFIXES:
        return None
    try:
        with open_tiff(Path(path)) as (tif, series):
            axes = series.axes
            page = series.pages[0] if len(series.pages) else None
            rgb = page is not None and int(page.photometric) == 2
    except (StackError, OSError, ValueError, IndexError, TypeError):
        return None
    shape = tuple(int(s) for s in shape)
    if not rgb or "S" not in axes or len(axes) != len(shape):
        return None
    axis = axes.index("S")
    if shape[axis] not in (3, 4) or len(shape) < 3:
        return None
    return axis


INPUTS = (Input(SUFFIXES, TiffReader, ".tif/.tiff"),)
OUTPUTS = (Output(SUFFIXES, TiffWriter, ".tif/.tiff"),)
