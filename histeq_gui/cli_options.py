"""The command-line options ``histeq`` and ``histeq-gui`` share, read the same way by both.

The equalization setting (``--method``, ``--bins``, ``--scope``), the
method's own parameters (every parameter of every registered method but
``bins``, as ``--<name>`` with dashes for underscores: ``clip_limit`` is
``--clip-limit``; read from the registry each time a parser is built, so a
newly registered method's parameters are options too) and the colour axis
(``--channel-axis``, :func:`channel_axis_type`).  :class:`OneLineParser`
makes every usage error one line (``histeq: error: <what is wrong>; see
'histeq --help'``, exit 2).

Importing this module imports the method registry (and so NumPy) and
nothing heavier: ``histeq --help`` stays fast.

Examples
--------
>>> parser = OneLineParser(prog="demo")
>>> add_setting_options(parser)
>>> add_method_options(parser)
>>> args = parser.parse_args(["--method", "clahe", "--clip-limit", "0.05"])
>>> (args.method, args.bins, method_params(parser, args))
('clahe', 256, {'clip_limit': 0.05})
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .core.errors import StackError
from .core.methods import METHODS, SCOPES, Method, Param, get_method, registered

__all__ = ["OneLineParser", "bins_type", "channel_axis_type", "add_setting_options",
           "add_method_options", "method_options", "method_params", "param_from_text"]


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: what is wrong and where to look."""

    def error(self, message):
        """argparse: exit with status 2 after one line, the message and "see '<prog> --help'"."""
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def bins_type(text: str) -> int:
    """``--bins``: a whole number in the core's range (``check_bins``), with its message."""
    from .core.histogram import check_bins

    try:
        bins = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; use e.g. "
                                         "--bins 256") from None
    try:
        return check_bins(bins)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def channel_axis_type(text: str):
    """``--channel-axis``: "auto", None for "none", or an axis (``parse_channel_axis``)."""
    from .core.channels import parse_channel_axis

    try:
        return parse_channel_axis(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_setting_options(parser: argparse.ArgumentParser, remembered: bool = False) -> None:
    """Add ``--method``, ``--bins`` and ``--scope`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    remembered : bool
        False (``histeq``): they default to numpy, 256 bins and "image".
        True (``histeq-gui``): they default to None, and the viewer keeps
        the setting it remembers from the last run.
    """
    def default(value):
        return f"the last used, else {value}" if remembered else "%(default)s"

    parser.add_argument("--method", choices=tuple(METHODS),
                        default=None if remembered else "numpy",
                        help=f"equalization method (default: {default('numpy')}); its own "
                             "parameters are the options under 'method parameters'")
    parser.add_argument("--bins", type=bins_type, default=None if remembered else 256,
                        metavar="N",
                        help=f"number of histogram bins, 1..65536 (default: {default(256)}; "
                             "methods with one cell per integer value, e.g. skimage and "
                             "opencv on uint8, ignore it for integer images)")
    parser.add_argument("--scope", choices=SCOPES, default=None if remembered else "image",
                        help="one histogram per image, or one for the whole stack "
                             f"(default: {default('image')})")


def add_method_options(parser: argparse.ArgumentParser) -> None:
    """Add an option for each parameter of the registered methods (see the module docstring).

    Call it after every other option is added: a parameter named like one
    of the command's own options becomes ``--param-<name>``.
    """
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


def method_options() -> dict[str, list[tuple[str, Param]]]:
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
    ...                     source="-", how="-",
    ...                     params=(Param("strength", 0.5, float, "how much"),),
    ...                     table=lambda cells, params: cells.level))
    >>> [m for m, _ in method_options()["strength"]]
    ['demo']
    >>> _ = unregister("demo")
    """
    found = {}
    for method in registered():
        for param in method.params:
            if param.name != "bins":
                found.setdefault(param.name, []).append((method.name, param))
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


def _option_flag(parser, name):
    action = next(a for a in parser._actions if a.dest == _dest(name))
    return action.option_strings[0]


def param_from_text(param: Param, text: str):
    """The value of ``param`` written as ``text`` on the command line (not yet range-checked).

    A parameter may declare how its text is read: ``param.parse(text)`` (for
    instance a path to a file, read into what the method takes).  Without
    one, ``int`` and ``float`` parameters read numbers (or one of their
    ``choices`` words, such as "auto"), ``str`` ones take the text, and any
    other (``type=object``) gets a :class:`pathlib.Path` for an existing
    file if it takes files (``param.files``: read by the engine's edge),
    an int for a whole number, else the text itself.
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
    if param.files and os.path.exists(text):
        return Path(text)
    try:
        return int(text)
    except ValueError:
        return text


def method_params(parser: argparse.ArgumentParser, args: argparse.Namespace,
                  method: Method | None = None) -> dict:
    """The parameters given as options for ``method`` (default ``args.method``): a dict.

    Each is read by :func:`param_from_text` and checked by the registry.  An
    option of a parameter the method does not take, or a bad value, is a
    usage error (``parser.error``: one line, exit 2); a reference file that
    cannot be read, or a value of a parameter that takes files which is not
    a word the parameter takes and names no file, raises the StackError of
    reading that path (an input error).
    """
    method = get_method(args.method) if method is None else method
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
            params[name] = param.check(param_from_text(param, text))
        except StackError:
            raise                       # a file that cannot be read: an input error, exit 1
        except ValueError as exc:
            if param.files:
                # Neither a file there, nor a number, nor a word the parameter takes: a file
                # name that names nothing (missing, unreadable), said as the io says it.
                from .core.io import stat_input

                stat_input(text)
            parser.error(f"argument {flag}: {exc}")
    return params
