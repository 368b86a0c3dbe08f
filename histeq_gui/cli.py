"""``histeq``: histogram-equalize an image stack from the command line.

Example::

    histeq stack.npy -o equalized.tif --method skimage --bins 128 --scope stack
    histeq big.npy -o big_eq.zarr --scope stack --engine dask --scheduler tcp://10.0.0.5:8786
    histeq faces/ --stats faces.csv                 # the statistics table only

The command is a thin front end of :mod:`histeq_gui.core.export`, the
pipeline the viewer's export dialog uses too, so both write the same bytes
for the same settings.  ``--stats STATS.csv`` writes the statistics table of
:func:`histeq_gui.core.stats.image_stats` (with ``-o`` or without it) as CSV
with its own sidecar.  The options it shares with ``histeq-gui`` (the
method and each of its parameters, ``--clip-limit`` say, from the registry;
``--bins``, ``--scope``, ``--channel-axis``) come from
:mod:`histeq_gui.cli_options`; giving a parameter the chosen ``--method``
does not take is a usage error.  Errors about the input or the output are one line on
stderr (``histeq: error: <what is wrong>; <what to do>``) with exit code 1;
usage errors exit with 2, an interruption (Ctrl-C, SIGINT) with 130 and a
termination (SIGTERM) with 143, after cleaning up; further signals while
cleaning up are ignored.  Nothing is written unless the whole export
succeeds, and the input is never modified.  Once every output is in place
(their commit reached its last move), SIGINT and SIGTERM are ignored until
the process exits: a finished run exits 0 and says what it wrote, so a
workflow never redoes a complete export.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import warnings

from ._version import __version__
from .cli_options import (
    OneLineParser,
    add_method_options,
    add_setting_options,
    channel_axis_type,
    method_params,
)
from .core.choices import DASK_CONNECT_TIMEOUT, OUTPUT_DTYPES
from .core.errors import StackError, printable
from .core.words import count

# Nothing heavy is imported at module level: ``histeq --help`` and ``--version`` load neither
# NumPy's users nor the compiler; the core is imported when an export runs (inside main, so
# that Ctrl+C during those imports is handled like any other).

__all__ = ["main", "build_parser"]

_PROG = "histeq"
_EXIT_ERROR, _EXIT_INTERRUPTED, _EXIT_TERMINATED = 1, 130, 143


class _Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM, so that it unwinds and cleans up like Ctrl+C."""


class _Signals:
    """While active, SIGINT raises KeyboardInterrupt and SIGTERM :class:`_Terminated`, once.

    After the first signal the handlers stay installed and ignore further
    signals, so a second Ctrl+C cannot interrupt the clean-up the first one
    started (SIGKILL still stops the process; the next run cleans up).  A
    signal is ignored too once ``finished()`` is true: the run's outputs are
    in place and it ends as if no signal had come.  For the command itself
    (``process=True``) the handlers stay installed, ignoring everything, when
    the block ends, until the process exits: nothing can turn a finished run
    into a killed one.  Only the main thread can install handlers; elsewhere
    this does nothing.
    """

    def __init__(self, process=False):
        self.received, self.previous, self.process = None, {}, process
        self.finished = lambda: False

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.received is not None or self.finished():
            return
        self.received = signum
        raise _Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    def __exit__(self, *exc_info):
        if self.process:
            self.finished = lambda: True        # the process exits now
        elif self.received is None:
            for signum, handler in self.previous.items():
                signal.signal(signum, handler)
        return False


def _value_range(text):
    from .core.value_range import parse_value_range
    try:
        return parse_value_range(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _radius(text):
    from .core.duplicates import MAX_RADIUS, check_radius
    try:
        return check_radius(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bits from 0 to "
                                         f"{MAX_RADIUS}") from None


class _Quiet:
    """While active, library warnings and log records (NumPy, Pillow, tifffile, Dask) print nothing.

    What the user sees is the one line this command prints; a library's
    warning is either harmless or turned into that line by the core.  Log
    records still reach handlers that are not consoles (the core listens to
    tifffile's): only the console handlers libraries installed on their
    loggers (dask.distributed's) are muted, and the root gets a handler, so
    that a library configuring its logging meanwhile adds none of its own.
    """

    def __enter__(self):
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        warnings.simplefilter("ignore")
        self.handler = logging.NullHandler()    # a handler on the root: no "last resort" print
        logging.getLogger().addHandler(self.handler)
        loggers = [logging.getLogger()] + [logger for logger in
                                           list(logging.root.manager.loggerDict.values())
                                           if isinstance(logger, logging.Logger)]
        self.muted = [handler for logger in loggers for handler in logger.handlers
                      if type(handler) is logging.StreamHandler]
        for handler in self.muted:
            handler.addFilter(_silent)
        return self

    def __exit__(self, *exc_info):
        for handler in self.muted:
            handler.removeFilter(_silent)
        logging.getLogger().removeHandler(self.handler)
        self.warnings.__exit__(*exc_info)
        return False


def _silent(record):
    """A logging filter that lets nothing through."""
    return False


def build_parser():
    """The argparse parser of the ``histeq`` command."""
    parser = OneLineParser(
        prog=_PROG,
        description="Histogram-equalize an image stack and write it with a JSON sidecar "
                    "that records how it was made.",
        epilog="Inputs: .npy, .npz, .tif/.tiff, PNG/JPEG/BMP/GIF/WebP files, a folder of "
               "images or a .zarr array.  Outputs: .npy, .npz, .tif/.tiff, .png (a single "
               "image), .zarr (a Zarr v3 array), or a path without an extension for a folder of "
               "numbered PNG files.  The input is read chunk by chunk and never modified.")
    parser.add_argument("input", metavar="INPUT", help="stack file or folder of images")
    parser.add_argument("-o", "--output", metavar="OUTPUT",
                        help="output file (.npy, .npz, .tif, .png for a single image), .zarr "
                             "array or PNG folder (no extension); needed unless --stats is "
                             "given")
    parser.add_argument("--stats", metavar="STATS.csv",
                        help="also (or, without -o, only) write the statistics of every image "
                             "as CSV, with a JSON sidecar: brightness, contrast, entropy, "
                             "quality flags and the equalization's effect with the chosen "
                             "method, bins and scope; the stack is read block by block")
    parser.add_argument("--value-range", type=_value_range, default="auto",
                        metavar="{auto,dtype,data,LO,HI}",
                        help="values the --stats brightness scores run over: 'auto' (uint8 "
                             "0..255, 12-bit data in uint16 0..4095, floats 0..1 or their "
                             "0.35%% saturated range), the dtype's range, the data's range, "
                             "or LO,HI (default: auto)")
    parser.add_argument("--near-duplicate-radius", type=_radius, default=0, metavar="BITS",
                        help="--stats near duplicates: perceptual hashes differing in at most "
                             "this many of 64 bits, 0..10 (default: 0, equal hashes, as "
                             "CleanVision)")
    add_setting_options(parser)
    parser.add_argument("--dtype", choices=OUTPUT_DTYPES, default="same",
                        help="output dtype; 'same' keeps the input's, scaling integers to "
                             "their full range (default: %(default)s)")
    parser.add_argument("--key", metavar="NAME",
                        help="array to read from an .npz input holding several")
    parser.add_argument("--region", type=_region_type, metavar="Y0:Y1,X0:X1",
                        help="only the pixels image[Y0:Y1, X0:X1] of every image make the "
                             "histograms (the viewer's region of interest); their mapping "
                             "equalizes every pixel (default: the whole image)")
    parser.add_argument("--channel-axis", type=channel_axis_type, default="auto",
                        metavar="{auto,none,INT}",
                        help="colour axis equalized per channel: 'auto' recognises RGB/RGBA "
                             "channels last, 'none' treats the stack as grayscale "
                             "(default: auto)")
    parser.add_argument("--engine", choices=("local", "dask"), default="local",
                        help="'local': this process and its threads (default); 'dask': the "
                             "same steps as a Dask graph, on Dask's local scheduler or on "
                             "--scheduler (same output bytes; needs histeq-gui[dask])")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="address of a dask.distributed scheduler, e.g. "
                             "tcp://10.0.0.5:8786 (with --engine dask; the input must be at the "
                             "same path on every worker; gives up if no Dask scheduler answers "
                             f"there within {DASK_CONNECT_TIMEOUT:g} s)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output (never the input)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing on success (errors still go to stderr)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_method_options(parser)
    return parser


def _region_type(text):
    from .core.region import parse_region

    try:
        return parse_region(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv=None):
    """Run the ``histeq`` command; return its exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 for bad input or output, 130 when interrupted
        (SIGINT, Ctrl+C), 143 when terminated (SIGTERM).  Usage errors exit
        through argparse with code 2 (``SystemExit``).

    Notes
    -----
    A signal that comes once every output is in place is ignored: the run
    ends with 0.  Run as the command (``argv`` None), the handlers then stay
    installed until the process exits; called with ``argv`` (in a program,
    a test), the previous handlers are restored when it returns.
    """
    try:
        with _Signals(process=argv is None) as signals, _Quiet():
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.output is None and args.stats is None:
                parser.error("the following arguments are required: -o/--output (or --stats "
                             "STATS.csv for the statistics only)")
            if args.scheduler is not None and args.engine != "dask":
                parser.error("--scheduler needs --engine dask")
            args.params = method_params(parser, args)
            from .core.io import commit_log

            with commit_log() as committed:
                outputs = _outputs(args)
                signals.finished = lambda: outputs <= committed
                written = _run(args)
    except _Terminated:
        print(f"{_PROG}: terminated", file=sys.stderr)
        return _EXIT_TERMINATED
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return _EXIT_INTERRUPTED
    except ValueError as exc:       # StackError and the core's one-line ValueErrors
        _error(exc)
        return _EXIT_ERROR
    except MemoryError:
        from .core.io import memory  # not at start-up: it imports NumPy
        _error(memory.shortage())           # memory, or the address space under ulimit -v
        return _EXIT_ERROR
    if not args.quiet:
        for line in written:
            _say(line, sys.stdout)
    return 0


def _outputs(args):
    """The absolute paths of every file the run writes: outputs and their sidecars."""
    from .core.io import sidecar_path

    paths = [path for path in (args.output, args.stats) if path is not None]
    return {os.path.abspath(p) for path in paths for p in (path, sidecar_path(path))}


def _say(text, stream):
    """Print one line that any terminal can show: controls escaped, unencodable text too."""
    text = printable(str(text))
    encoding = getattr(stream, "encoding", None) or "utf-8"
    print(text.encode(encoding, "backslashreplace").decode(encoding), file=stream)


def _error(message):
    text = " ".join(printable(str(message)).split()) or "unknown error"
    _say(f"{_PROG}: error: {text}", sys.stderr)


def _run(args):
    """Open the input lazily, export it chunk by chunk and/or write its statistics.

    Returns the lines describing what was read (a folder: what it holds) and written (one
    per file and its sidecar).
    """
    from .core.export import ExportSettings, check_target, export
    from .core.io import open_reader

    settings = ExportSettings(method=args.method, bins=args.bins, scope=args.scope,
                              dtype=args.dtype, channel_axis=args.channel_axis,
                              params=args.params, region=args.region)
    # Cheap output checks first, so a long load is not wasted on a bad output path.
    if args.output is not None:
        check_target(args.output, source=args.input, overwrite=args.overwrite)
    if args.stats is not None:
        _check_stats(args)
    bar = _Progress(enabled=not args.quiet and sys.stderr.isatty())
    lines = []
    # Statistics alone describe each image of a folder mixing gray and colour as its file
    # holds it; an export reads them all as colour.
    with open_reader(args.input, key=args.key, mixed=args.output is None) as images:
        if getattr(images, "listing", None) is not None:     # a folder (tree) of images
            lines.append(f"read {args.input}: {images.summary}")
        try:
            if args.output is not None:
                output = export(images, args.output, settings, source=args.input,
                                overwrite=args.overwrite, progress=bar.update,
                                engine=args.engine, scheduler=args.scheduler)
                lines.append(_summary(output, getattr(images, "shape", None), settings,
                                      images.dtype, getattr(images, "n_images", None)))
            if args.stats is not None and args.output is not None and \
                    getattr(images, "listing", None) is not None:
                # A folder: its statistics describe each image as its file holds it, as
                # --stats alone does, even where the export read gray images as colour.
                with open_reader(args.input, mixed=True) as described:
                    lines.append(_write_stats(args, described, settings, bar))
            elif args.stats is not None:
                lines.append(_write_stats(args, images, settings, bar))
        finally:
            bar.close()
    return lines


def _check_stats(args):
    """The statistics target, checked before anything is read (one-line StackErrors)."""
    from pathlib import Path

    from .core.io import sidecar_path
    from .core.stats_csv import check_stats_target

    check_stats_target(args.stats, source=args.input, overwrite=args.overwrite)
    if args.output is not None:
        taken = {os.path.realpath(p) for p in (args.output, sidecar_path(Path(args.output)))}
        if {os.path.realpath(p) for p in (args.stats, sidecar_path(Path(args.stats)))} & taken:
            raise StackError(f"--stats '{args.stats}' and -o '{args.output}' would write the "
                             "same file; give the statistics another name, e.g. stats.csv")


def _write_stats(args, images, settings, bar):
    """Compute :func:`~histeq_gui.core.stats.image_stats` of the stack and write it as CSV."""
    from .core.engine.stages import call_with_stack_errors
    from .core.io import sidecar_path
    from .core.stats import image_stats
    from .core.stats_csv import stats_to_csv

    # Read a block of images at a time (a ragged folder: image by image), as the export.
    table = call_with_stack_errors(
        image_stats, images, settings.method, settings.bins, settings.scope,
        channel_axis=settings.channel_axis, names=images.names,
        progress=lambda done, total: bar.update("statistics", done, total),
        value_range=args.value_range, near_duplicate_radius=args.near_duplicate_radius,
        **settings.params)
    source = os.path.abspath(args.input)
    path = stats_to_csv(table, args.stats, overwrite=args.overwrite, source=args.input,
                        info={"source": source})
    return (f"wrote {path}: statistics of {count(table.n_images, 'image')}, "
            f"{count(len(table), 'column')}; "
            f"sidecar {sidecar_path(path)}")


def _summary(output, shape, settings, input_dtype, n_images=None):
    from .core.export import output_dtype
    from .core.io import output_kind, sidecar_path
    from .core.stack import guess_layout

    dtype = output_dtype(settings.dtype, input_dtype)
    sidecar = f"sidecar {sidecar_path(output)}"
    if shape is None:               # images of different sizes (a ragged folder)
        return (f"wrote {count(n_images, 'PNG file')} to {output}: images of different sizes, "
                f"{dtype}; {sidecar}")
    if output_kind(output) == "png-folder":
        n = guess_layout(shape, settings.channel_axis).n_images
        return (f"wrote {count(n, 'PNG file')} to {output}: stack shape {tuple(shape)}, {dtype}; "
                f"{sidecar}")
    return f"wrote {output}: shape {tuple(shape)}, {dtype}; {sidecar}"


class _Progress:
    """A tqdm bar per stage on stderr, or nothing at all when disabled."""

    def __init__(self, enabled):
        self.enabled, self.bar, self.stage = enabled, None, None

    def update(self, stage, done, total):
        if not self.enabled:
            return
        if stage != self.stage:
            from tqdm import tqdm

            self.close()
            self.stage = stage
            unit = "image" if stage == "equalize" else "step"
            self.bar = tqdm(total=total, desc=stage, unit=unit, file=sys.stderr,
                            dynamic_ncols=True, leave=False)
        if self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


if __name__ == "__main__":
    sys.exit(main())
