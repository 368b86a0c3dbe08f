"""The one export pipeline: equalize a stack chunk by chunk and write it with a sidecar.

Both the ``histeq`` command and the viewer's export dialog call
:func:`export_steps` (or :func:`export`, which runs it to the end), so the
same stack and the same :class:`ExportSettings` give the same bytes whoever
asks.

The pipeline validates everything before it computes anything, equalizes the
stack in chunks of images (``scope="image"``) or builds one histogram per
channel and applies it chunk by chunk (``scope="stack"``), converts the float64
result to the output dtype (:func:`convert`) and writes it with a JSON sidecar
that says how the output was made.  Output and sidecar are written (and the
output verified) under hidden names in the target folder and moved into place
together at the very end by :func:`~histeq_gui.core.io.staged`, so when the
caller cancels or anything fails, neither remains and an existing output keeps
its bytes.
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._version import __version__
from . import atomic, save, sidecar
from .equalize import check_scope, equalize, histogram, stack_params
from .errors import Cancelled, StackError
from .histogram import check_bins, check_dtype
from .methods import check_method, get_method, uses_value_bins
from .stack import guess_layout

__all__ = ["OUTPUT_DTYPES", "STAGES", "ExportSettings", "output_dtype", "convert", "check_target",
           "export_steps", "export"]

OUTPUT_DTYPES = ("same", "uint8", "uint16", "float32", "float64")
STAGES = ("histogram", "equalize", "write")
_CHUNK_VALUES = 1 << 23     # float64 results per chunk: 8 Mi values = 64 MB


@dataclass(frozen=True)
class ExportSettings:
    """What an export computes and writes.

    Attributes
    ----------
    method : {"numpy", "skimage"}
        Equalization method (see :func:`histeq_gui.equalize`).
    bins : int
        Number of histogram bins (scikit-image ignores it for integer images).
    scope : {"image", "stack"}
        One histogram per image, or one for the whole stack (per channel).
    dtype : {"same", "uint8", "uint16", "float32", "float64"}
        Output dtype; see :func:`convert`.
    channel_axis : "auto", None or int
        Colour axis equalized channel by channel: ``"auto"`` recognises
        channels last of size 3 or 4 (RGB/RGBA), None means grayscale.
    """

    method: str = "numpy"
    bins: int = 256
    scope: str = "image"
    dtype: str = "same"
    channel_axis: object = "auto"

    def validate(self):
        """Return ``self`` if every field is valid, else raise a one-line ValueError.

        Whether ``channel_axis`` fits a stack is checked against its shape
        when exporting.
        """
        check_method(self.method)
        check_bins(self.bins)
        get_method(self.method).check_scope(check_scope(self.scope))
        if self.dtype not in OUTPUT_DTYPES:
            raise ValueError(f"unknown output dtype {self.dtype!r}; choose one of: "
                             f"{', '.join(OUTPUT_DTYPES)}")
        axis = self.channel_axis
        if not (axis is None or axis == "auto" or
                (isinstance(axis, (int, np.integer)) and not isinstance(axis, (bool, np.bool_)))):
            raise ValueError(f"channel_axis must be 'auto', None or an axis number, got "
                             f"{axis!r}; use None for grayscale stacks")
        return self


def output_dtype(dtype, input_dtype):
    """The dtype an export writes for ``dtype`` (one of :data:`OUTPUT_DTYPES`).

    ``"same"`` gives the input's dtype in native byte order; the other names
    give themselves.

    Examples
    --------
    >>> output_dtype("same", ">u2"), output_dtype("float32", "uint8")
    (dtype('uint16'), dtype('float32'))
    """
    if dtype not in OUTPUT_DTYPES:
        raise ValueError(f"unknown output dtype {dtype!r}; choose one of: "
                         f"{', '.join(OUTPUT_DTYPES)}")
    if dtype != "same":
        return np.dtype(dtype)
    source = np.dtype(input_dtype)
    if source.kind not in "iuf":
        raise ValueError(f"dtype 'same' keeps integer or float input dtypes, not {source}; "
                         "choose uint8, uint16, float32 or float64")
    return source.newbyteorder("=")


def convert(values, dtype, input_dtype):
    """Convert equalized values (float64 in [0, 1], NaN allowed) to an output dtype.

    Parameters
    ----------
    values : array_like of float64
        Equalized values, as :func:`histeq_gui.equalize` returns them.
    dtype : {"same", "uint8", "uint16", "float32", "float64"}
        Output dtype; ``"same"`` means the input's dtype (see
        :func:`output_dtype`).
    input_dtype : dtype-like
        Dtype of the images that were equalized (used by ``"same"``).

    Returns
    -------
    ndarray
        Same shape as ``values``.

    Notes
    -----
    Integer outputs use their full range: ``min + rint(v * (max - min))``,
    computed in float64 and clipped to the dtype's range, so uint8 gets
    ``rint(255 * v)``, uint16 ``rint(65535 * v)`` and int8 ``-128 + rint(255 * v)``.
    :func:`numpy.rint` rounds half to even: ``v = 0.5`` gives 128 for uint8
    (127.5 -> 128) and 32768 for uint16 (32767.5 -> 32768).  NaN becomes the
    dtype's minimum (0 for unsigned types).

    Float outputs keep the values in [0, 1], rounded to the nearest value of
    the float type; NaN stays NaN.  ``"float64"`` is exactly what the API
    returns.

    Examples
    --------
    >>> convert([0.0, 0.5, 1.0, np.nan], "uint8", "float32").tolist()
    [0, 128, 255, 0]
    >>> convert([0.0, 1.0], "same", "int16").tolist()
    [-32768, 32767]
    """
    target = output_dtype(dtype, input_dtype)
    values = np.asarray(values, dtype=np.float64)
    if target.kind == "f":
        return values.astype(target)
    info = np.iinfo(target)
    low, high = float(info.min), float(info.max)
    scaled = np.multiply(values, high - low)
    np.rint(scaled, out=scaled)
    scaled += low
    np.clip(scaled, low, high, out=scaled)
    scaled[np.isnan(scaled)] = low
    # float(max) of a 64-bit type rounds up to 2**63 or 2**64, which no cast can hold.
    top = scaled >= high
    scaled[top] = 0
    out = scaled.astype(target)
    out[top] = info.max
    return out


@dataclass(frozen=True)
class _Plan:
    """A validated export: everything needed to compute and write it."""

    images: np.ndarray
    output: Path
    kind: str
    settings: ExportSettings
    layout: object
    dtype: np.dtype
    source: object
    overwrite: bool
    chunk_images: int


def _plan(images, output, settings, source, overwrite, chunk_images):
    """Check settings, images and output before anything is computed."""
    if not isinstance(settings, ExportSettings):
        raise TypeError(f"settings must be an ExportSettings, not {type(settings).__name__}")
    settings.validate()
    images = images if isinstance(images, np.ndarray) else np.asarray(images)
    try:
        check_dtype(images.dtype)
        layout = guess_layout(images.shape, settings.channel_axis)
    except ValueError as exc:
        raise StackError(f"cannot export this stack: {exc}") from None
    if images.size == 0:
        raise StackError(f"cannot export this stack: it holds no pixels (shape {images.shape})")
    if chunk_images is None:
        per_image = max(1, images.size // max(layout.n_images, 1))
        chunk_images = max(1, _CHUNK_VALUES // per_image)
    elif isinstance(chunk_images, bool) or not isinstance(chunk_images, (int, np.integer)) \
            or chunk_images < 1:
        raise ValueError(f"chunk_images must be a whole number of at least 1, got "
                         f"{chunk_images!r}; leave it out for chunks of about 64 MB")
    output = Path(output)
    _check_not_input(output, [source, getattr(images, "filename", None)])
    dtype = output_dtype(settings.dtype, images.dtype)
    kind = save.check_output(output, dtype=dtype, layout=layout, overwrite=overwrite)
    return _Plan(images, output, kind, settings, layout, dtype,
                 None if source is None else Path(source), bool(overwrite), int(chunk_images))


def _check_not_input(output, inputs):
    """Refuse an output that is, contains or lies in an input (even with overwrite).

    An output inside an input folder would make that folder unreadable as a stack.
    """
    target = output.resolve()
    for item in inputs:
        if item is None:
            continue
        item = Path(item)
        source = item.resolve()
        same = source == target or target in source.parents or \
            (source.is_dir() and source in target.parents)
        if not same and output.exists() and item.exists():
            same = os.path.samefile(output, item)
        if same:
            raise StackError(f"will not write '{output}': it is the input '{item}'; choose "
                             "another output path (--overwrite never replaces the input)")


def check_target(output, *, source=None, overwrite=False):
    """Check an output path before loading or computing anything.

    The checks that need no pixels: the output is not the source (nor a
    folder holding it), its type is supported, its folder exists and takes
    new files, and it does not exist unless ``overwrite``.  :func:`export_steps`
    repeats them, with the checks that need the stack's dtype and layout.

    Returns
    -------
    str
        The output kind: "npy", "npz", "tif" or "png-folder".

    Raises
    ------
    StackError
        With a one-line message saying what to do.
    """
    output = Path(output)
    _check_not_input(output, [source])
    return save.check_output(output, overwrite=overwrite)


def export_steps(images, output, settings, *, source=None, overwrite=False, chunk_images=None):
    """Export a stack step by step: a generator of progress, returning the output path.

    Parameters
    ----------
    images : ndarray
        The stack, e.g. from :func:`~histeq_gui.core.io.load_stack` (a
        read-only memory map is fine: it is never modified).
    output : str or path-like
        ``.npy``, ``.npz``, ``.tif``/``.tiff``, or a path without an
        extension for a folder of numbered PNG files.
    settings : ExportSettings
        Method, bins, scope, output dtype and channel axis.
    source : str or path-like, optional
        The file the stack was loaded from: recorded in the sidecar, and
        never written onto.
    overwrite : bool, optional
        Replace an existing output (never the source).
    chunk_images : int, optional
        Images equalized at a time; default about 64 MB of float64 results.
        The result does not depend on it.

    Yields
    ------
    stage : {"histogram", "equalize", "write"}
        ``"histogram"`` only for ``scope="stack"``.
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
        ``overwrite``, an output that is the source, or a failed write.

    Notes
    -----
    Everything is validated when this function is called, before the
    generator is returned and before anything is computed.  The output is
    laid out like the stack (``(1800, 1, 96, 96)`` in gives
    ``(1800, 1, 96, 96)`` out; a PNG folder holds one file per image).  With
    ``scope="stack"`` one :func:`~histeq_gui.histogram` of the whole stack per
    channel is applied chunk by chunk, which equals
    ``equalize(images, scope="stack")`` exactly.

    Output and sidecar are written under hidden names in the output folder
    and moved into place together (:func:`~histeq_gui.core.io.staged`) only
    after both are complete and the output is verified.  If the generator is
    closed early (the caller cancelled) or anything raises, neither remains
    and an existing output is untouched.  The long calls (the stack
    histogram, writing and verifying) run in a helper thread so that they
    can report progress here; closing the generator stops them at their next
    progress report.

    Examples
    --------
    >>> steps = export_steps(stack, "out.tif", ExportSettings(bins=128))  # doctest: +SKIP
    >>> for stage, done, total in steps:                                  # doctest: +SKIP
    ...     print(stage, done, total)
    """
    plan = _plan(images, output, settings, source, overwrite, chunk_images)
    return _run(plan)


def export(images, output, settings, *, source=None, overwrite=False, progress=None):
    """Run :func:`export_steps` to the end and return the output path.

    ``progress(stage, done, total)`` is called at every step; it may raise
    (e.g. :class:`~histeq_gui.core.errors.Cancelled`) to stop the export, in
    which case nothing is written and the exception propagates.  The other
    parameters are those of :func:`export_steps`.
    """
    steps = export_steps(images, output, settings, source=source, overwrite=overwrite)
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

def _run(plan):
    result = np.empty(plan.images.shape, plan.dtype)
    maps = (yield from _stack_histograms(plan)) if plan.settings.scope == "stack" else None
    yield from _equalize_chunks(plan, maps, result)
    json_path = sidecar.sidecar_path(plan.output)
    # A sidecar left without its output is replaced even without overwrite.
    with atomic.staged([plan.output, json_path],
                       overwrite=[plan.overwrite, True]) as (temp, temp_json):
        yield from _in_thread("write", lambda progress: save.write_stack(
            temp, result, layout=plan.layout, progress=progress, target=plan.output))
        del result
        sidecar.write_json(temp_json, _sidecar_info(plan), target=json_path)
    return plan.output


def _channel_key(layout, channel):
    key = [slice(None)] * layout.ndim
    if layout.channel_axis is not None:
        key[layout.channel_axis] = channel
    return tuple(key)


def _stack_histograms(plan):
    """One histogram of the whole stack per channel (a generator of progress)."""
    s, layout = plan.settings, plan.layout
    maps = []
    for c in range(layout.channels):
        sample = plan.images[_channel_key(layout, c)]

        def build(progress, sample=sample, c=c):
            def report(done, total):
                progress(c * total + done, layout.channels * total)
            return _core(histogram, sample, s.method, s.bins, progress=report)

        maps.append((yield from _in_thread("histogram", build)))
    return maps


def _chunks(layout, chunk_images):
    """Index tuples cutting the stack into chunks of about ``chunk_images`` images.

    The stack is cut along its first batch axis longer than one; yields
    ``(key, images in the chunk)``.
    """
    axis = next((a for a in layout.batch_axes if layout.shape[a] > 1), None)
    if axis is None:
        yield (slice(None),) * layout.ndim, layout.n_images
        return
    length = layout.shape[axis]
    per_index = layout.n_images // length
    step = max(1, chunk_images // per_index)
    for start in range(0, length, step):
        stop = min(start + step, length)
        key = [slice(None)] * layout.ndim
        key[axis] = slice(start, stop)
        yield tuple(key), (stop - start) * per_index


def _equalize_chunks(plan, maps, result):
    s, layout = plan.settings, plan.layout
    total, done = layout.n_images, 0
    yield "equalize", 0, total
    # Stack-aware parameters (match's reference "stack" or an index) mean the whole
    # stack, not a chunk: resolved once.
    params = {} if maps is not None else _core(stack_params, plan.images, s.method,
                                               channel_axis=layout.channel_axis)
    for key, n in _chunks(layout, plan.chunk_images):
        chunk = plan.images[key]
        if maps is None:
            values = _core(equalize, chunk, s.method, s.bins, "image",
                           channel_axis=layout.channel_axis, **params)
        else:
            values = np.empty(chunk.shape)
            for c, hist in enumerate(maps):
                channel = _channel_key(layout, c)
                values[channel] = _core(hist.apply, chunk[channel])
        result[key] = convert(values, plan.settings.dtype, plan.images.dtype)
        del values
        done += n
        yield "equalize", done, total


def _core(function, *args, **kwargs):
    """Call a core function; its ValueErrors (bad data for the settings) become StackErrors."""
    try:
        return function(*args, **kwargs)
    except StackError:
        raise
    except ValueError as exc:
        raise StackError(f"cannot equalize the stack: {exc}") from exc


def _in_thread(stage, function):
    """Run ``function(progress)`` in a helper thread, yielding its progress as steps.

    Returns what ``function`` returns and re-raises what it raises.  When the
    generator is closed (or the waiting thread is interrupted), the next
    ``progress`` call in the helper raises Cancelled and the helper is
    joined before this generator finishes, so nothing keeps running.
    """
    events = queue.Queue()
    stop = threading.Event()

    def progress(done, total):
        if stop.is_set():
            raise Cancelled("export cancelled")
        events.put(("step", (done, total)))

    def work():
        try:
            events.put(("done", function(progress)))
        except BaseException as exc:    # handed to the generator's thread
            events.put(("error", exc))

    thread = threading.Thread(target=work, name=f"histeq-export-{stage}", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = events.get()
            if kind == "step":
                yield (stage, *value)
            elif kind == "done":
                return value
            else:
                raise value
    finally:
        stop.set()
        thread.join()


def _sidecar_info(plan):
    s = plan.settings
    return {
        "program": "histeq-gui",
        "version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": None if plan.source is None else str(plan.source.absolute()),
        "output": plan.output.name,
        "format": plan.kind,
        "shape": list(plan.images.shape),
        "input_dtype": str(plan.images.dtype),
        "output_dtype": str(plan.dtype),
        "method": s.method,
        "bins": int(s.bins),
        "bins_ignored": uses_value_bins(s.method, plan.images.dtype),
        "scope": s.scope,
        "channel_axis": plan.layout.channel_axis,
    }
