"""The one export pipeline: equalize a stack chunk by chunk and write it with a sidecar.

Both the ``histeq`` command and the viewer's export dialog call
:func:`export_steps` (or :func:`export`, which runs it to the end), so the
same stack and the same :class:`ExportSettings` give the same bytes whoever
asks.

The pipeline validates everything before it computes anything (including
that an uncompressed output fits on its disk), then streams: the input is
read chunk by chunk through a :class:`~histeq_gui.core.io.Reader` (an
array, a ``.npy`` map read with ``pread``, or any lazy reader of
:func:`~histeq_gui.core.io.open_reader`), equalized in one pass
(``scope="image"``) or in two (``scope="stack"``: one histogram per channel
fitted over the chunks with :func:`~histeq_gui.core.fit.fit_each`, then
applied chunk by chunk), converted to the output dtype (:func:`convert`) and
handed to the output's chunk writer (:mod:`~histeq_gui.core.io.writer`), which
keeps a digest per chunk and verifies the file against them.  No copy of the
whole stack or result is kept: memory is bounded by the chunk.  An input file
that changes while it is read (replaced, cut, grown or rewritten) would mix
pieces of two versions: its signature
(:meth:`~histeq_gui.core.io.Reader.check_unchanged`) is checked between the
passes and after the last read, and a change fails the export in one line.  Output and
its JSON sidecar are written under hidden names in the target folder and
moved into place together at the very end by
:func:`~histeq_gui.core.io.staged`, so when the caller cancels or anything
fails, neither remains and an existing output keeps its bytes.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._version import __version__
from . import fit
from .choices import OUTPUT_DTYPES
from .convert import convert, output_dtype
from .engine.chunks import channel_pieces, equalize_piece, pieces, read_piece, stack_stream
from .engine.inputs import check_scope
from .engine.stages import call_with_stack_errors, stage_in_thread
from .equalize import stack_params
from .errors import StackError
from .histogram import check_bins, check_dtype
from .io import (
    FileChanged,
    RaggedPngWriter,
    Reader,
    atomic,
    check_output,
    exists,
    guard,
    memory,
    open_writer,
    output_kind,
    png_names,
    reader_for,
    sidecar,
    stack_axis,
)
from .io.formats import output_for
from .methods import Method, get_method
from .param_files import read_file_params
from .region import check_region, describe_region, region_mask, region_text
from .stack import check_channel_axis, guess_layout

__all__ = ["OUTPUT_DTYPES", "STAGES", "ExportSettings", "output_dtype", "convert", "check_target",
           "preview_target", "export_steps", "export"]

#: The stages an export reports progress for, in order.
STAGES = ("histogram", "equalize", "write")
_CHUNK_VALUES = 1 << 23     # float64 results per chunk: 8 Mi values = 64 MB


@dataclass(frozen=True)
class ExportSettings:
    """What an export computes and writes.

    Attributes
    ----------
    method : str
        A registered equalization method (:data:`histeq_gui.core.methods.METHODS`;
        see :func:`histeq_gui.equalize`).
    bins : int
        Number of histogram bins (some methods ignore it for integer images).
    scope : {"image", "stack"}
        One histogram per image, or one for the whole stack (per channel);
        the method must support it.
    dtype : {"same", "uint8", "uint16", "float32", "float64"}
        Output dtype; see :func:`~histeq_gui.core.export.convert`.
    channel_axis : "auto", None or int
        Colour axis equalized channel by channel: ``"auto"`` recognises
        channels last of size 3 or 4 (RGB/RGBA), None means grayscale.
    params : dict
        The method's own parameters besides ``bins`` (``{"levels": 8}``), as
        for :func:`histeq_gui.equalize`; the others take their defaults.
        The sidecar records every parameter as resolved for the stack's
        dtype (:meth:`resolved_params`).
    region : tuple or None
        ``(y0, y1, x0, x1)``: only the pixels ``image[y0:y1, x0:x1]`` of each
        image make the histograms (scope "image": each image's; "stack": the
        stack's), whose mapping is applied to every pixel, as
        ``equalize(images, mask=region_mask(region, (H, W)))``
        (:mod:`~histeq_gui.core.region`; ``histeq --region Y0:Y1,X0:X1``,
        the viewer's region of interest).  None: every pixel.  It must lie
        inside the images (images of different sizes: it is cut to each,
        and an image it misses is equalized by all its pixels in scope
        "image" and counts none in scope "stack", as the viewer does).

    Examples
    --------
    >>> ExportSettings(method="opencv", params={}).validate().method
    'opencv'
    >>> ExportSettings(params={"levels": 8}).validate()
    Traceback (most recent call last):
    ...
    ValueError: the numpy method has no parameter 'levels'; its parameters: bins
    """

    method: str = "numpy"
    bins: int = 256
    scope: str = "image"
    dtype: str = "same"
    channel_axis: object = "auto"
    params: dict = field(default_factory=dict)
    region: tuple | None = None

    def validate(self):
        """Return ``self`` if every field is valid, else raise a one-line ValueError.

        Whether ``channel_axis`` fits a stack is checked against its shape,
        and the parameters against its dtype (:meth:`resolved_params`), when
        exporting.
        """
        if not isinstance(self.method, str):
            # A name, as histeq --method and the sidecar record it (and Dask workers receive).
            raise ValueError(f"ExportSettings.method is a method's name, got "
                             f"{type(self.method).__name__}; give its name, e.g. "
                             f"{getattr(self.method, 'name', 'numpy')!r}")
        method = get_method(self.method)
        check_bins(self.bins)
        method.check_scope(check_scope(self.scope))
        if self.dtype not in OUTPUT_DTYPES:
            raise ValueError(f"unknown output dtype {self.dtype!r}; choose one of: "
                             f"{', '.join(OUTPUT_DTYPES)}")
        check_channel_axis(self.channel_axis)
        if not isinstance(self.params, dict) or not all(isinstance(k, str) for k in self.params):
            raise ValueError(f"params must be a dict of parameter names and values, got "
                             f"{self.params!r}")
        if "bins" in self.params:
            raise ValueError("give bins as ExportSettings.bins (histeq --bins), not in params")
        known = [p.name for p in method.params]
        for name, value in self.params.items():
            if name not in known:
                raise ValueError(f"the {method.name} method has no parameter {name!r}; its "
                                 f"parameters: {', '.join(known) or 'none'}")
            method.param(name).check(value, method.name)
        if self.region is not None:
            check_region(self.region)
            if not method.masks:
                raise ValueError(f"the {method.name} method takes no region: it uses every "
                                 "pixel of each image; leave the region out or choose another "
                                 "method")
        return self

    def resolved_params(self, input_dtype):
        """Every parameter of the method for images of ``input_dtype``, ``bins`` included.

        Returns
        -------
        dict
            ``get_method(method).resolve_params(input_dtype, bins=bins, **params)``:
            the given values checked, the defaults for the others.

        Raises
        ------
        ValueError
            One line, for a parameter or a dtype the method does not take.

        Examples
        --------
        >>> ExportSettings(bins=64).resolved_params("float32")
        {'bins': 64}
        """
        method = get_method(self.method)
        dtype = method.check_dtype(np.dtype(input_dtype).newbyteorder("="))
        return method.resolve_params(dtype, bins=self.bins, **self.params)


@dataclass(frozen=True)
class _Plan:
    """A validated export: everything needed to compute and write it."""

    images: object              # an ndarray or a Reader
    output: Path
    kind: str
    settings: ExportSettings
    layout: object
    dtype: np.dtype
    source: object
    overwrite: bool
    chunk_images: int
    params: dict                # every parameter as resolved for the stack (the sidecar's)
    method: Method              # the method settings.method names, looked up once
    names: list | None = None   # a PNG folder's file names (from the source files)
    sources: list | None = None     # the source file of each image, when names come from them
    mask: np.ndarray | None = None  # the region's (H, W) mask (one size of image)

    @property
    def ragged(self):
        return bool(getattr(self.images, "ragged", False))

    @property
    def shape(self):
        return None if self.ragged else tuple(self.images.shape)

    @property
    def input_dtype(self):
        return self.images.dtype

    @property
    def calibration(self):
        """The input's spatial calibration (kept in TIFF outputs and the sidecar), or None."""
        return getattr(self.images, "calibration", None)


def _plan(images, output, settings, source, overwrite, chunk_images, names=None):
    """Check settings, images and output before anything is computed."""
    if not isinstance(settings, ExportSettings):
        raise TypeError(f"settings must be an ExportSettings, not {type(settings).__name__}")
    method = get_method(settings.validate().method)
    if getattr(images, "ragged", False):
        return _plan_ragged(images, output, settings, method, source, overwrite)
    if not isinstance(images, (np.ndarray, Reader)):
        images = np.asarray(images)
    shape, size = tuple(images.shape), math.prod(images.shape)
    try:
        check_dtype(images.dtype)
        layout = guess_layout(shape, settings.channel_axis)
        params = settings.resolved_params(images.dtype)
        mask = None if settings.region is None else \
            region_mask(settings.region, layout.image_shape)
    except ValueError as exc:
        raise StackError(f"cannot export this stack: {exc}") from None
    if size == 0:
        raise StackError(f"cannot export this stack: it holds no pixels (shape {shape})")
    if chunk_images is not None and (isinstance(chunk_images, bool) or chunk_images < 1 or
                                     not isinstance(chunk_images, (int, np.integer))):
        raise ValueError(f"chunk_images must be a whole number of at least 1, got "
                         f"{chunk_images!r}; leave it out for chunks of about 64 MB")
    output = Path(output)
    dtype = output_dtype(settings.dtype, images.dtype)
    chunk_images = _chunk_images(images, layout, dtype, method, chunk_images,
                                 source or getattr(images, "path", None) or output)
    _check_not_input(output, [source, getattr(images, "filename", None),
                              getattr(images, "path", None)])
    kind = check_output(output, dtype=dtype, layout=layout, overwrite=overwrite)
    sidecar.check_sidecar(output, overwrite)
    _check_disk(output, kind, size * dtype.itemsize, f"shape {shape} {dtype}")
    sources = names if names is not None else getattr(images, "names", None)
    out_names = None
    if kind == "png-folder" and sources is not None and len(sources) == layout.n_images:
        out_names = png_names(sources)          # a folder's images keep their names
    return _Plan(images, output, kind, settings, layout, dtype,
                 None if source is None else Path(source), bool(overwrite), int(chunk_images),
                 params, method, out_names, None if out_names is None else list(sources), mask)


def _check_ragged_kind(output, kind):
    if kind != "png-folder":
        raise StackError(f"cannot write '{output}': images of different sizes can only be "
                         "exported to a folder; give an output without extension")


def _chunk_images(images, layout, dtype, method, chunk_images, where):
    """Images per chunk: ``chunk_images``, or about 64 MB of results, fewer when memory is short.

    A chunk holds its input, its output and, for whole-image methods, float64
    values; a chunk chosen here takes at most half the memory left.  An
    image that does not fit alone (a small file may declare one of 40 GB) is
    refused, in one line naming the file (``where``), before anything is read.
    """
    per_image = max(1, math.prod(images.shape) // max(layout.n_images, 1))
    native = np.dtype(images.dtype).newbyteorder("=")
    whole = method.kind(native) == "image"
    work = per_image * (native.itemsize + dtype.itemsize + (8 if whole else 0))
    memory.check_fits(work, where, f"one image of {per_image} {native} values, equalized to "
                                   f"{dtype}", doing="export")
    if chunk_images is not None:
        return chunk_images
    chunk = max(1, _CHUNK_VALUES // per_image)
    free = memory.available()
    return chunk if free is None else max(1, min(chunk, free // (2 * work)))


def _plan_ragged(images, output, settings, method, source, overwrite):
    """The checks of :func:`_plan` for images of different sizes (a RaggedReader)."""
    output = Path(output)
    _check_ragged_kind(output, output_kind(output))
    shapes = list(images.shapes)
    try:
        check_dtype(images.dtype)
        layout = guess_layout(shapes[0], settings.channel_axis)
        if layout.n_images != 1:
            raise ValueError(f"an image of shape {shapes[0]} is not one image with that "
                             "channel axis; give the colour axis (2) or none")
        params = settings.resolved_params(images.dtype)
    except ValueError as exc:
        raise StackError(f"cannot export this stack: {exc}") from None
    for p in method.stack_aware:
        value = settings.params.get(p.name, p.default)
        if isinstance(value, str) and value == "stack" or \
                isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            raise StackError(f"cannot export images of different sizes with {p.name} "
                             f"{value!r}: it needs images of one size; give an image file as "
                             f"the {p.name}")
    _check_not_input(output, [source, images.path])
    dtype = output_dtype(settings.dtype, images.dtype)
    kind = check_output(output, dtype=dtype, layout=layout, overwrite=overwrite)
    sidecar.check_sidecar(output, overwrite)
    out_names = png_names(images.names)
    return _Plan(images, output, kind, settings, layout, dtype,
                 None if source is None else Path(source), bool(overwrite), 1, params, method,
                 out_names, list(images.names))


_UNCOMPRESSED = ("npy", "tif")      # kinds whose size is known before writing


def _check_disk(output, kind, nbytes, what):
    """Refuse up front an output that cannot fit in the free space of its disk.

    Only for the kinds written uncompressed (their size is the pixels' plus
    a little); compressed ones (.npz, PNG) report a full disk when it happens.
    An existing output is replaced only at the end, so it is not counted as free.
    """
    if kind not in _UNCOMPRESSED:
        return
    with guard(output, "write"):
        free = shutil.disk_usage(output.parent).free
    needed = nbytes + (1 << 20)         # headers, TIFF pages, the sidecar
    if needed > free:
        raise StackError(f"cannot write '{output}': the equalized stack needs "
                         f"{memory.size_text(needed)} ({what}) but its disk has only "
                         f"{memory.size_text(free)} free; free some space or write elsewhere")


def _check_not_input(output, inputs):
    """Refuse an output that is, contains or lies in an input (even with overwrite).

    An output inside an input folder would make that folder unreadable as a stack.
    """
    # os.path.realpath never raises (a link loop or an overlong name stays as it is); what
    # cannot be looked at here is reported where it is read or written.
    target = Path(os.path.realpath(output))
    for item in inputs:
        if item is None:
            continue
        item = Path(item)
        source = Path(os.path.realpath(item))
        try:
            same = source == target or target in source.parents or \
                (source.is_dir() and source in target.parents)
            if not same and output.exists() and item.exists():
                same = os.path.samefile(output, item)
        except OSError:
            same = False
        if same:
            raise StackError(f"will not write '{output}': it is the input '{item}'; choose "
                             "another output path (--overwrite never replaces the input)")


def check_target(output, *, source=None, overwrite=False):
    """Check an output path before loading or computing anything.

    The checks that need no pixels: the output is not the source (nor a
    folder holding it), its type is supported, its folder exists and takes
    new files, and it does not exist unless ``overwrite``; nor does a file at
    its sidecar's name, unless that is a sidecar this program wrote for this
    output (:func:`~histeq_gui.core.io.check_sidecar`).  :func:`export_steps`
    repeats them, with the checks that need the stack's dtype and layout.

    Returns
    -------
    str
        The output kind: "npy", "npz", "tif", "png" or "png-folder".

    Raises
    ------
    StackError
        With a one-line message saying what to do.
    """
    output = Path(output)
    _check_not_input(output, [source])
    kind = check_output(output, overwrite=overwrite)
    sidecar.check_sidecar(output, overwrite)
    return kind


def preview_target(output, images, settings, *, source=None, names=None):
    """What an export of ``images`` to ``output`` would write, checked without touching the disk.

    For a dialog checking an output as it is typed: the checks of
    :func:`export_steps` that need neither a file created nor a folder
    cleaned (no probe file, no clean-up of earlier runs; :func:`check_target`
    and :func:`export_steps` make those when the export starts).

    Parameters
    ----------
    output : str or path-like
    images : ndarray, Reader or RaggedReader
        The stack (only its shape, dtype and names are looked at).
    settings : ExportSettings
    source, names
        As for :func:`export_steps`.

    Returns
    -------
    kind : str
        The output kind ("npy", ..., "png-folder").
    png_names : list of str or None
        The file names a PNG folder gets when they come from the source
        files (``a.jpg`` -> ``a.png``); None when they are numbered.
    exists : bool
        Something is at ``output`` already: an output of this kind that an
        export may replace (with ``overwrite``).

    Raises
    ------
    StackError
        One line: the output is the input, its kind is unknown or cannot
        hold the stack (images of different sizes in one file, floats in
        PNG files), two source files would give one PNG name, or what is at
        ``output`` is not an output of this kind (a folder holding other
        files).
    ValueError
        For invalid settings.
    """
    settings.validate()
    output = Path(output)
    ragged = bool(getattr(images, "ragged", False))
    _check_not_input(output, [source, getattr(images, "filename", None),
                              getattr(images, "path", None)])
    kind = output_kind(output)
    if ragged:
        _check_ragged_kind(output, kind)
    try:
        layout = guess_layout(images.shapes[0] if ragged else tuple(images.shape),
                              settings.channel_axis)
    except ValueError as exc:
        raise StackError(f"cannot export this stack: {exc}") from None
    writer = output_for(output).writer
    writer.check_stack(output, output_dtype(settings.dtype, images.dtype), layout)
    sources = names if names is not None else getattr(images, "names", None)
    out_names = None
    if kind == "png-folder" and sources is not None and \
            (ragged or len(sources) == layout.n_images):
        out_names = png_names(sources)
    with guard(output, "write"):
        present = exists(output)
        if present:
            writer.check_replace(output)
    return kind, out_names, present


def export_steps(images, output, settings, *, source=None, overwrite=False, chunk_images=None,
                 engine="local", scheduler=None, names=None):
    """Export a stack step by step: a generator of progress, returning the output path.

    Parameters
    ----------
    images : ndarray, Reader or RaggedReader
        The stack: an array, e.g. from :func:`~histeq_gui.core.io.load_stack`
        (a read-only memory map is fine: it is read with ``pread`` and never
        modified), or a :class:`~histeq_gui.core.io.Reader` from
        :func:`~histeq_gui.core.io.open_reader`, read chunk by chunk
        (it stays open: closing it is the caller's).  A folder of images of
        different sizes (a :class:`~histeq_gui.core.io.RaggedReader`)
        is equalized image by image into a folder of PNG files only.
    output : str or path-like
        ``.npy``, ``.npz``, ``.tif``/``.tiff``, ``.png`` (a single image), or
        a path without an extension for a folder of PNG files: numbered, or
        named after the source files (stem + ``.png``) when the stack comes
        from a folder of images (``names``, or the reader's ``names``).
    settings : ExportSettings
        Method, bins, scope, output dtype and channel axis.
    source : str or path-like, optional
        The file the stack was loaded from: recorded in the sidecar, and
        never written onto.
    overwrite : bool, optional
        Replace an existing output (never the source).
    chunk_images : int, optional
        Images equalized at a time; default about 64 MB of float64 results.
        The result does not depend on it.  Chunks are cut along the stack's
        image axis; for .npy, .npz and TIFF files along the first axis longer
        than one, so a channels-first ``(C, N, H, W)`` stack is written
        channel by channel.
    engine : {"local", "dask"}, optional
        ``"local"`` (default): this process and the core's thread pool.
        ``"dask"``: the same steps as a Dask graph
        (:mod:`~histeq_gui.core.dask_engine`, the ``dask`` extra), on Dask's
        local scheduler or on the ``dask.distributed`` scheduler at
        ``scheduler``.  The bytes written are the same.
    scheduler : str, optional
        Address of a ``dask.distributed`` scheduler (``tcp://host:8786``);
        only with ``engine="dask"``.
    names : sequence of str, optional
        The source file of each image (a folder's, for a stack read into
        memory); default the reader's ``names``.  A PNG folder output names
        its files after them (stem + ``.png``; two sources that would get
        the same name are refused up front) and the sidecar's ``files``
        maps each output file to its source.

    Yields
    ------
    stage : {"histogram", "equalize", "write"}
        ``"histogram"`` (fitting, only for ``scope="stack"``; or, for
        ``scope="image"``, reading the stack once for a stack-aware
        parameter that needs every pixel: ``match``'s reference
        ``"stack"``), ``"equalize"`` (equalizing and writing, in images),
        ``"write"`` (verifying what was written).
    done, total : int
        Progress within the stage.

    Returns
    -------
    pathlib.Path
        The output path, as ``StopIteration.value`` (``yield from`` gives it).

    Raises
    ------
    ValueError
        For invalid settings or ``chunk_images``.
    StackError
        For a stack that cannot be equalized, an unsupported output type, a
        dtype the output cannot hold (PNG: uint8, uint16 grayscale), a
        missing or unwritable folder, an existing output without
        ``overwrite``, an output that is the source, an uncompressed output
        larger than the free space of its disk, an input file that changed
        during the export, or a failed write.

    Notes
    -----
    Everything is validated when this function is called, before the
    generator is returned and before anything is computed.  The output is
    laid out like the stack (``(1800, 1, 96, 96)`` in gives
    ``(1800, 1, 96, 96)`` out; a PNG folder holds one file per image).  With
    ``scope="stack"`` one :func:`~histeq_gui.histogram` of the whole stack per
    channel is applied chunk by chunk, which equals
    ``equalize(images, scope="stack")`` exactly.  Stack-aware parameters
    (``match``'s reference: ``"stack"`` or an index) are resolved once for
    the whole stack through the same reader
    (``histeq_gui.core.equalize.stack_params`` of a
    :class:`~histeq_gui.core.methods.StackStream`), so the result equals
    ``equalize(images, method)`` whatever the chunks.

    Output and sidecar are written under hidden names in the output folder
    and moved into place together (:func:`~histeq_gui.core.io.staged`) only
    after both are complete and the output is verified.  If the generator is
    closed early (the caller cancelled) or anything raises, neither remains
    and an existing output is untouched.  The long calls (fitting the stack
    histogram, verifying) run in a helper thread so that they can report
    progress here; closing the generator stops them at their next progress
    report.

    Examples
    --------
    >>> steps = export_steps(stack, "out.tif", ExportSettings(bins=128))  # doctest: +SKIP
    >>> for stage, done, total in steps:                                  # doctest: +SKIP
    ...     print(stage, done, total)
    """
    if engine != "local" and engine in ENGINES and getattr(settings, "region", None) is not None:
        # Said first: installing Dask would not help.
        raise StackError(f"the {engine} engine takes no region; export a region "
                         f"({describe_region(settings.region)}) with the local engine")
    runner = _engine(engine, scheduler)
    plan = _plan(images, output, settings, source, overwrite, chunk_images, names)
    if plan.ragged:
        if runner.name != "local":
            raise StackError("the dask engine takes stacks of images of one size; export "
                             "images of different sizes with the local engine")
        return _run_ragged(plan)
    return _run(plan, runner)


def _local_engine(scheduler):
    if scheduler is not None:
        raise ValueError("a scheduler address needs the dask engine; add --engine dask")
    return LocalEngine()


def _dask_engine(scheduler):
    from .dask_engine import DaskEngine  # the optional extra: imported when chosen

    return DaskEngine(scheduler)


ENGINES = {"local": _local_engine, "dask": _dask_engine}     # name -> engine(scheduler)


def _engine(name, scheduler):
    """The engine object for ``name`` (checked before anything else)."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose 'local' or 'dask'")
    return ENGINES[name](scheduler)


def export(images, output, settings, *, source=None, overwrite=False, progress=None,
           engine="local", scheduler=None, names=None):
    """Run :func:`~histeq_gui.core.export.export_steps` to the end and return the output path.

    ``progress(stage, done, total)`` is called at every step; it may raise
    (e.g. :class:`~histeq_gui.core.errors.Cancelled`) to stop the export, in
    which case nothing is written and the exception propagates.  The other
    parameters are those of :func:`~histeq_gui.core.export.export_steps`.
    """
    steps = export_steps(images, output, settings, source=source, overwrite=overwrite,
                         engine=engine, scheduler=scheduler, names=names)
    try:
        while True:
            try:
                stage, done, total = next(steps)
            except StopIteration as stop:
                return stop.value
            if progress is not None:
                progress(stage, done, total)
    finally:
        steps.close()


# --- the steps ---------------------------------------------------------------------------

def _run(plan, engine):
    # A stack mapped from a .npy file is read with file reads, chunk by chunk (readers):
    # a file cut meanwhile is then a one-line error, where touching the map would die of
    # SIGBUS, and resident memory stays bounded by the chunk.
    reader = reader_for(plan.images)
    try:
        with _changes_named(reader), engine.session():
            maps = (yield from engine.fit(plan, reader)) \
                if plan.settings.scope == "stack" else None
            # Stack-aware parameters (match's reference "stack" or an index) mean the whole
            # stack, not a piece: resolved once, through the reader.
            params = (yield from _stack_params(plan, reader)) \
                if maps is None and plan.method.stack_aware else None
            if maps is not None or params is not None:
                reader.check_unchanged()    # what was fitted is what the next pass reads
            json_path = sidecar.sidecar_path(plan.output)
            # A sidecar this program wrote for this output is replaced even without overwrite
            # (it may have been left without its output); any other file there is not.
            ours = (lambda _: sidecar.check_sidecar(plan.output, plan.overwrite))
            with atomic.staged([plan.output, json_path],
                               overwrite=[plan.overwrite, ours]) as (temp, temp_json):
                writer = open_writer(temp, plan.kind, plan.shape, plan.dtype, plan.layout,
                                     target=plan.output, names=plan.names,
                                     calibration=plan.calibration)
                with writer:
                    total, done = plan.layout.n_images, 0
                    yield "equalize", 0, total
                    for start, stop, n, out in engine.equalized(plan, reader, maps, writer.axis,
                                                                params):
                        writer.write(start, stop, out)
                        done += n
                        yield "equalize", done, total
                    writer.finish()
                yield from stage_in_thread("write", writer.verify)
                sidecar.write_json(temp_json, _sidecar_info(plan, engine.name), target=json_path)
                reader.check_unchanged()        # every piece written is of the file as opened
    finally:
        if reader is not plan.images:
            reader.close()
    return plan.output


def _run_ragged(plan):
    """Export images of different sizes image by image into a folder of PNG files.

    Scope "image": each image its own histogram per channel; scope
    "stack": one histogram per channel fitted over every pixel of every
    image (:func:`~histeq_gui.core.fit.fit_each`, one image at a time), then
    applied to each.  Staged, verified and committed as :func:`_run` does.
    """
    s, reader, layout = plan.settings, plan.images, plan.layout
    with _changes_named(reader):
        axis = layout.channel_axis

        def mask_of(image):         # the region cut to this image (None: every pixel)
            return None if s.region is None else region_mask(s.region, image.shape, clip=True)

        maps = None
        if s.scope == "stack":
            def chunks():
                for image in reader.images():
                    pieces = channel_pieces(image, guess_layout(image.shape, axis))
                    mask = mask_of(image)
                    yield pieces if mask is None else [(piece, mask) for piece in pieces]

            def build(progress):
                return call_with_stack_errors(fit.fit_each, chunks, layout.channels, s.method,
                                              s.bins, progress=progress, **s.params)

            maps = yield from stage_in_thread("histogram", build)
            reader.check_unchanged()
        json_path = sidecar.sidecar_path(plan.output)
        ours = (lambda _: sidecar.check_sidecar(plan.output, plan.overwrite))
        with atomic.staged([plan.output, json_path],
                           overwrite=[plan.overwrite, ours]) as (temp, temp_json):
            with RaggedPngWriter(temp, plan.names, plan.dtype, target=plan.output) as writer:
                writer.open()
                total = reader.n_images
                # A parameter given as a file (match's reference) is read once, not per image.
                params = read_file_params(plan.method, s.params)
                yield "equalize", 0, total
                for i in range(total):
                    image = reader.image(i)
                    mask = mask_of(image) if maps is None else None
                    out = equalize_piece(image, s, guess_layout(image.shape, axis), maps, None,
                                         0, plan.input_dtype, params,
                                         mask=mask if mask is not None and mask.any() else None)
                    writer.write(i, i + 1, out)
                    yield "equalize", i + 1, total
                writer.finish()
            yield from stage_in_thread("write", writer.verify)
            sidecar.write_json(temp_json, _sidecar_info(plan, "local"), target=json_path)
            reader.check_unchanged()
    return plan.output


@contextlib.contextmanager
def _changes_named(reader):
    """A read that failed because the input file changed meanwhile, reported as that change.

    A CRC, a page, a size that no longer match: the reader's
    ``check_unchanged`` raises the change; other errors pass as they are.
    """
    try:
        yield
    except FileChanged:
        raise
    except StackError:
        reader.check_unchanged()
        raise


def _stack_params(plan, reader):
    """The method's parameters with the stack-aware ones resolved once for the whole stack.

    A generator of "histogram" progress (a parameter that needs every pixel,
    match's reference ``"stack"``, reads the stack once, piece by piece:
    memory holds one piece and the reference's counts); returns the
    parameters as :func:`~histeq_gui.core.equalize.stack_params` gives them.
    """
    s = plan.settings

    def build(progress):
        stream = stack_stream(reader, plan.layout, plan.chunk_images, progress, plan.mask)
        return call_with_stack_errors(stack_params, stream, plan.method, bins=s.bins,
                                      **s.params)

    return (yield from stage_in_thread("histogram", build))


class LocalEngine:
    """The default engine: this process, the core's own thread pool, one chunk at a time."""

    name = "local"

    def session(self):
        return contextlib.nullcontext()

    def fit(self, plan, reader):
        """One histogram of the whole stack per channel, fitted chunk by chunk.

        A generator of progress.  Every chunk is read once per pass for all
        channels (:func:`fit.fit_each`).
        """
        s, layout = plan.settings, plan.layout
        axis = stack_axis(layout)

        def chunks():
            for start, stop, _ in pieces(layout, axis, plan.chunk_images):
                yield channel_pieces(read_piece(reader, axis, start, stop), layout)

        def build(progress):
            return call_with_stack_errors(fit.fit_each, chunks, layout.channels, plan.method,
                                          s.bins, mask=plan.mask, progress=progress,
                                          **s.params)

        return (yield from stage_in_thread("histogram", build))

    def equalized(self, plan, reader, maps, axis, params=None):
        """``(start, stop, images, output chunk)`` in order along ``axis``."""
        for start, stop, n in pieces(plan.layout, axis, plan.chunk_images):
            chunk = read_piece(reader, axis, start, stop)
            yield start, stop, n, equalize_piece(chunk, plan.settings, plan.layout, maps, axis,
                                                 start, plan.input_dtype, params, plan.mask)


def _sidecar_info(plan, engine="local"):
    s = plan.settings
    return {
        "program": sidecar.PROGRAM,
        "version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": None if plan.source is None else str(plan.source.absolute()),
        "output": plan.output.name,
        "format": plan.kind,
        "shape": None if plan.shape is None else list(plan.shape),
        "input_dtype": str(plan.input_dtype),
        "output_dtype": str(plan.dtype),
        "method": s.method,
        "bins": int(s.bins),
        "bins_ignored": plan.method.ignores_bins(plan.input_dtype),
        "params": {name: _json_value(value) for name, value in plan.params.items()},
        "scope": s.scope,
        "region": None if s.region is None else region_text(s.region),
        "channel_axis": plan.layout.channel_axis,
        "engine": engine,
        **({} if plan.names is None else
           {"files": dict(zip(plan.names, plan.sources))}),
        **({"shapes": [list(shape) for shape in plan.images.shapes]} if plan.ragged else {}),
        **({} if plan.calibration is None else {"calibration": plan.calibration}),
    }


def _json_value(value):
    """A parameter's value as JSON holds it: numbers and text as they are, else a description.

    Examples
    --------
    >>> _json_value(np.int64(8)), _json_value(0.5), _json_value(Path("ref.png"))
    (8, 0.5, 'ref.png')
    >>> _json_value(np.zeros((2, 3), np.uint8))
    {'array': {'shape': [2, 3], 'dtype': 'uint8'}}
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        return {"array": {"shape": list(value.shape), "dtype": str(value.dtype)}}
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    return repr(value)
