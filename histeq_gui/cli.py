"""``histeq``: histogram-equalize an image stack from the command line.

Example::

    histeq stack.npy -o equalized.tif --method skimage --bins 128 --scope stack
    histeq big.npy -o big_eq.zarr --scope stack --engine dask --scheduler tcp://10.0.0.5:8786
    histeq faces/ --stats faces.csv                 # the statistics table only

The command is a thin front end of :mod:`histeq_gui.core.export`, the
pipeline the viewer's export dialog uses too, so both write the same bytes
for the same settings.  ``--stats STATS.csv`` writes the statistics table of
:func:`histeq_gui.core.stats.image_stats` (with ``-o`` or without it) as CSV
with its own sidecar.  Every parameter of every registered method (but
``bins``, which is ``--bins``) is an option, ``--<name>`` with dashes for
underscores (``clip_limit``: ``--clip-limit``), built from the registry each
time the parser is built (:func:`build_parser`), so a newly registered
method's parameters are options too; giving one the chosen ``--method`` does
not take is a usage error.  Errors about the input or the output are one line on
stderr (``histeq: error: <what is wrong>; <what to do>``) with exit code 1;
usage errors exit with 2, an interruption (Ctrl-C, SIGINT) with 130 and a
termination (SIGTERM) with 143, after cleaning up; further signals while
cleaning up are ignored.  Nothing is written unless the whole export
succeeds, and the input is never modified.
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
from .core.choices import OUTPUT_DTYPES
from .core.errors import StackError, printable
from .core.methods import METHODS, SCOPES, get_method

# Nothing heavy is imported at module level: ``histeq --help`` and ``--version`` load neither
# NumPy's users nor the compiler; the core is imported when an export runs (inside main, so
# that Ctrl+C during those imports is handled like any other).

__all__ = ["main", "build_parser", "method_options"]

_PROG = "histeq"
_EXIT_ERROR, _EXIT_INTERRUPTED, _EXIT_TERMINATED = 1, 130, 143


class _Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM, so that it unwinds and cleans up like Ctrl+C."""


class _Signals:
    """While active, SIGINT raises KeyboardInterrupt and SIGTERM :class:`_Terminated`, once.

    After the first signal the handlers stay installed and ignore further
    signals, so a second Ctrl+C cannot interrupt the clean-up the first one
    started (SIGKILL still stops the process; the next run cleans up).  Only
    the main thread can install handlers; elsewhere this does nothing.
    """

    def __init__(self):
        self.received, self.previous = None, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.received is not None:
            return
        self.received = signum
        raise _Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    def __exit__(self, *exc_info):
        if self.received is None:
            for signum, handler in self.previous.items():
                signal.signal(signum, handler)
        return False


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: what is wrong and where to look."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def _bins(text):
    """The core's one range of bins (``histogram.check_bins``), with its message."""
    from .core import histogram

    try:
        bins = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; use e.g. "
                                         "--bins 256") from None
    try:
        return histogram.check_bins(bins)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _channel_axis(text):
    from .core.channels import parse_channel_axis    # the viewer reads it the same way
    try:
        return parse_channel_axis(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Quiet:
    """While active, library warnings and log records (NumPy, Pillow, tifffile) print nothing.

    What the user sees is the one line this command prints; a library's
    warning is either harmless or turned into that line by the core.
    """

    def __enter__(self):
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        warnings.simplefilter("ignore")
        self.handler = logging.NullHandler()    # a handler on the root: no "last resort" print
        logging.getLogger().addHandler(self.handler)
        return self

    def __exit__(self, *exc_info):
        logging.getLogger().removeHandler(self.handler)
        self.warnings.__exit__(*exc_info)
        return False


def build_parser():
    """The argparse parser of the ``histeq`` command."""
    parser = _Parser(
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
                             "method, bins and scope; the stack is read whole for it")
    parser.add_argument("--method", choices=tuple(METHODS), default="numpy",
                        help="equalization method (default: %(default)s); its own "
                             "parameters are the options under 'method parameters'")
    parser.add_argument("--bins", type=_bins, default=256, metavar="N",
                        help="number of histogram bins, 1..65536 (default: %(default)s; "
                             "methods with one cell per integer value, e.g. skimage and "
                             "opencv on uint8, ignore it for integer images: the sidecar "
                             "says so)")
    parser.add_argument("--scope", choices=SCOPES, default="image",
                        help="one histogram per image, or one for the whole stack "
                             "(default: %(default)s)")
    parser.add_argument("--dtype", choices=OUTPUT_DTYPES, default="same",
                        help="output dtype; 'same' keeps the input's, scaling integers to "
                             "their full range (default: %(default)s)")
    parser.add_argument("--key", metavar="NAME",
                        help="array to read from an .npz input holding several")
    parser.add_argument("--channel-axis", type=_channel_axis, default="auto",
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
                             "same path on every worker)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output (never the input)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing on success (errors still go to stderr)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_method_options(parser)
    return parser


# --- the methods' parameters as options ------------------------------------------------------

def method_options():
    """Every parameter of every registered method but ``bins``, read from the registry now.

    Returns
    -------
    dict
        ``{name: [(method name, Param), ...]}`` in registry order: each
        parameter name and the methods that declare it.

    Examples
    --------
    >>> from histeq_gui.core.methods import Method, Param, register, unregister
    >>> _ = register(Method(name="demo", label="Demo", summary="Demo.", reference="-",
    ...                     source="-", how="-", params=(Param("strength", 0.5, float, "how much"),),
    ...                     table=lambda cells, params: cells.level))
    >>> [m for m, _ in method_options()["strength"]]
    ['demo']
    >>> _ = unregister("demo")
    """
    found = {}
    for name in METHODS:
        for param in get_method(name).params:
            if param.name != "bins":
                found.setdefault(param.name, []).append((name, param))
    return found


def _flag(name):
    return "--" + name.replace("_", "-")


def _dest(name):
    return f"method_param_{name}"


def _metavar(param):
    if param.type is str and param.choices:
        return "{" + ",".join(param.choices) + "}"
    what = {int: "N", float: "X"}.get(param.type, "VALUE")
    if param.choices and param.type in (int, float):
        return "{" + ",".join((what,) + tuple(param.choices)) + "}"
    return what


def _default_text(param):
    describe = getattr(param, "describe_default", None)    # defaults that depend on the dtype
    return describe() if callable(describe) else repr(param.default)


def _option_help(users):
    first = users[0][1]
    if all(p == first for _, p in users):
        what = f"{first.describe()}, default {_default_text(first)}"
        text = f"{first.help} ({what}; used by {', '.join(m for m, _ in users)})"
    else:   # the same name means something else to each method: each its own words
        text = "; ".join(f"{m}: {p.help} ({p.describe()}, default {_default_text(p)})"
                         for m, p in users)
    return text.replace("%", "%%")


def _add_method_options(parser):
    options = method_options()
    if not options:
        return
    group = parser.add_argument_group(
        "method parameters",
        "Parameters of the methods (the methods that take each are named in its help); "
        "give only those of the chosen --method.")
    taken = set(parser._option_string_actions)
    for name, users in options.items():
        flag = _flag(name)
        if flag in taken:               # a parameter named like one of the command's options
            flag = _flag(f"param-{name}")
        group.add_argument(flag, dest=_dest(name), metavar=_metavar(users[0][1]),
                           default=None, help=_option_help(users))


def _option_flag(parser, name):
    action = next(a for a in parser._actions if a.dest == _dest(name))
    return action.option_strings[0]


def _from_text(param, text):
    """The value of ``param`` written as ``text`` on the command line (not yet range-checked).

    A parameter may declare how its text is read: ``param.parse(text)`` (for
    instance a path to a file, read into what the method takes).  Without
    one, ``int`` and ``float`` parameters read numbers (or one of their
    ``choices`` words, such as "auto"), ``str`` ones take the text, and any
    other (``type=object``) gets a :class:`pathlib.Path` for an existing
    file, an int for a whole number, else the text itself.
    """
    parse = getattr(param, "parse", None)
    if callable(parse):
        return parse(text)
    if param.choices and text in param.choices:
        return text
    if param.type is int:
        try:
            return int(text)
        except ValueError:
            return text                 # check() names what a valid value is
    if param.type is float:
        try:
            return float(text)
        except ValueError:
            return text
    if param.type is str:
        return text
    if os.path.exists(text):
        from pathlib import Path

        return Path(text)
    try:
        return int(text)
    except ValueError:
        return text


def _method_params(parser, args):
    """The chosen method's parameters given as options: ``{name: value}``; usage errors exit 2."""
    method = get_method(args.method)
    given = {name: getattr(args, _dest(name)) for name in method_options()
             if getattr(args, _dest(name), None) is not None}
    params = {}
    for name, text in given.items():
        flag = _option_flag(parser, name)
        param = method.param(name)
        if param is None:
            own = ", ".join(["--bins"] * (method.param("bins") is not None) +
                            [_option_flag(parser, p.name) for p in method.params
                             if p.name != "bins"]) or "none"
            parser.error(f"{flag} is not a parameter of the {method.name} method (its "
                         f"parameters: {own})")
        try:
            params[name] = param.check(_from_text(param, text))
        except StackError:
            raise                       # a file that cannot be read: an input error, exit 1
        except ValueError as exc:
            parser.error(f"argument {flag}: {exc}")
    return params


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
    """
    try:
        with _Signals(), _Quiet():
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.output is None and args.stats is None:
                parser.error("the following arguments are required: -o/--output (or --stats "
                             "STATS.csv for the statistics only)")
            if args.scheduler is not None and args.engine != "dask":
                parser.error("--scheduler needs --engine dask")
            args.params = _method_params(parser, args)
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
        _error("not enough memory for this stack; close other programs or split the stack")
        return _EXIT_ERROR
    if not args.quiet:
        for line in written:
            _say(line, sys.stdout)
    return 0


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

    Returns the lines describing what was written (one per file and its sidecar).
    """
    from .core.export import ExportSettings, check_target, export
    from .core.readers import open_reader

    settings = ExportSettings(method=args.method, bins=args.bins, scope=args.scope,
                              dtype=args.dtype, channel_axis=args.channel_axis,
                              params=args.params)
    # Cheap output checks first, so a long load is not wasted on a bad output path.
    if args.output is not None:
        check_target(args.output, source=args.input, overwrite=args.overwrite)
    if args.stats is not None:
        _check_stats(args)
    bar = _Progress(enabled=not args.quiet and sys.stderr.isatty())
    lines = []
    with open_reader(args.input, key=args.key) as images:
        try:
            if args.output is not None:
                output = export(images, args.output, settings, source=args.input,
                                overwrite=args.overwrite, progress=bar.update,
                                engine=args.engine, scheduler=args.scheduler)
                lines.append(_summary(output, getattr(images, "shape", None), settings,
                                      images.dtype, getattr(images, "n_images", None)))
            if args.stats is not None:
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
    from .core.export import _core
    from .core.stats import image_stats
    from .core.stats_csv import stats_to_csv
    from .core.io import sidecar_path

    # Images of different sizes (a ragged folder) are described image by image.
    stack = images if getattr(images, "ragged", False) else images.load()
    table = _core(image_stats, stack, settings.method, settings.bins, settings.scope,
                  channel_axis=settings.channel_axis, names=images.names,
                  progress=lambda done, total: bar.update("statistics", done, total),
                  **settings.params)
    source = os.path.abspath(args.input)
    path = stats_to_csv(table, args.stats, overwrite=args.overwrite, source=args.input,
                        info={"source": source})
    return (f"wrote {path}: statistics of {table.n_images} images, {len(table)} columns; "
            f"sidecar {sidecar_path(path)}")


def _summary(output, shape, settings, input_dtype, n_images=None):
    from .core.export import output_dtype
    from .core.io import output_kind, sidecar_path
    from .core.stack import guess_layout

    dtype = output_dtype(settings.dtype, input_dtype)
    sidecar = f"sidecar {sidecar_path(output)}"
    if shape is None:               # images of different sizes (a ragged folder)
        return (f"wrote {n_images} PNG files to {output}: images of different sizes, {dtype}; "
                f"{sidecar}")
    if output_kind(output) == "png-folder":
        n = guess_layout(shape, settings.channel_axis).n_images
        return f"wrote {n} PNG files to {output}: stack shape {tuple(shape)}, {dtype}; {sidecar}"
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
