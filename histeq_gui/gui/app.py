"""Start the viewer: command-line options, QApplication setup, ``main()``.

``histeq-gui [PATH] [--key NAME] [--method M] [--bins N] [--scope S] [--index I]
[--view V] [--compare M] [--compare-bins N] [--compare-scope S]
[--compare-param NAME=VALUE] [--output-levels L]
[--screenshot OUT.png]`` and the display options of :mod:`.view_options`
(also ``python -m histeq_gui``).  Without PATH the bundled sample stack opens.
With ``--screenshot`` the window is built exactly as a user would see it,
rendered offscreen, saved as a PNG, and the program exits: 0 on success, 1
(with the reason on stderr and no PNG) when the stack cannot be loaded or its
image cannot be equalized with those settings.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .._version import __version__
from ..cli_options import (
    OneLineParser,
    add_method_options,
    add_setting_options,
    bins_type,
    method_params,
    param_from_text,
)
from ..core.methods import METHODS, SCOPES
from .bindings import summary as keys_summary

__all__ = ["main", "build_parser", "quiet_harmless_qt_notes", "SCREENSHOT_SIZE"]

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (1400, 860)
MIN_SCREENSHOT = (1024, 600)      # a netbook's screen: the viewer's panels fit in it
_EXIT_ERROR = 1


def _levels(text):
    from ..core.worked import check_levels
    try:
        return check_levels(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc) if text.strip().lstrip("-").isdigit() else
                                         f"{text!r} is not a whole number; use e.g. "
                                         "--output-levels 8") from None


def _index(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _size(text):
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1400x860") from None
    if width < MIN_SCREENSHOT[0] or height < MIN_SCREENSHOT[1]:
        raise argparse.ArgumentTypeError(f"{text!r} is too small; use at least "
                                         f"{MIN_SCREENSHOT[0]}x{MIN_SCREENSHOT[1]}")
    return width, height


def _inspect(text):
    from .inspect_options import parse_inspect
    try:
        return parse_inspect(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser():
    """The argparse parser of ``histeq-gui``."""
    parser = OneLineParser(
        prog="histeq-gui",
        description="Look through an image stack, see what histogram equalization does to it, "
                    "and export the result.",
        epilog=f"{keys_summary()}  Image indices count from 0.")
    parser.add_argument("path", nargs="?", metavar="PATH",
                        help="stack file or folder of images (default: the bundled sample)")
    parser.add_argument("--key", metavar="NAME",
                        help="the array to open from an .npz file that holds several "
                             "(default: ask)")
    add_setting_options(parser, remembered=True)
    parser.add_argument("--index", type=_index, default=0, metavar="I",
                        help="image to show first, counted from 0 (default: 0)")
    parser.add_argument("--inspect", type=_inspect, default={}, help=argparse.SUPPRESS)
    from .views import VIEW_NAMES
    parser.add_argument("--view", choices=VIEW_NAMES, default="viewer",
                        help="start in this view: the viewer, the statistics table (stats) or "
                             "the thumbnail grid (montage) beside the images, or a teaching "
                             "view filling the window (default: viewer)")
    parser.add_argument("--compare", choices=METHODS, metavar="METHOD",
                        help="the comparison view's second method (setting B; default: the "
                             "next method after --method)")
    parser.add_argument("--compare-bins", type=bins_type, metavar="N",
                        help="setting B's bins, 1..65536 (default: as --bins)")
    parser.add_argument("--compare-scope", choices=SCOPES,
                        help="setting B's scope (default: image)")
    parser.add_argument("--compare-param", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter of setting B's method, as histeq's option would give "
                             "it (e.g. clip_limit=0.05, reference=stack); repeat for more")
    parser.add_argument("--output-levels", type=_levels, metavar="L",
                        help="L, the output levels of the worked table (default: 256 for 8-bit, "
                             "65536 for 16-bit, the bins for floats)")
    parser.add_argument("--screenshot", metavar="OUT.png", type=Path,
                        help="render the window offscreen to this PNG and exit")
    parser.add_argument("--size", type=_size, default=SCREENSHOT_SIZE, metavar="WxH",
                        help="window size for --screenshot, at least 1024x600 "
                             "(default: 1400x860)")
    parser.add_argument("--settings", metavar="FILE.ini", type=Path,
                        help="keep preferences in this file instead of the user's settings")
    parser.add_argument("--show-export", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--show-method-help", action="store_true", help=argparse.SUPPRESS)
    from .view_options import add_view_options
    add_view_options(parser)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_method_options(parser)                  # --clip-limit, --reference, ... as histeq
    return parser


# Qt notes that say nothing to a user: the offscreen platform has no window
# manager to pass size hints to, and root sessions have no XDG_RUNTIME_DIR.
_HARMLESS_QT_NOTES = ("does not support propagateSizeHints", "does not support raise()",
                      "XDG_RUNTIME_DIR not set")


def quiet_harmless_qt_notes():
    """Drop Qt's harmless notes; pass every other Qt message on to stderr."""
    from PyQt5.QtCore import qInstallMessageHandler

    def handler(kind, context, message):
        if not any(note in message for note in _HARMLESS_QT_NOTES):
            print(message, file=sys.stderr)
    qInstallMessageHandler(handler)


def _application(offscreen):
    """The QApplication (created if needed, offscreen if asked) with name, icon and style."""
    from PyQt5.QtGui import QIcon
    from PyQt5.QtWidgets import QApplication

    from .resources import ICON, resource_path
    app = QApplication.instance()
    if app is None:
        quiet_harmless_qt_notes()
        if offscreen:       # the platform is chosen when the application is created
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QApplication([sys.argv[0] if sys.argv else "histeq-gui"])
        app.setStyle("Fusion")
    app.setApplicationName("histeq-gui")
    app.setOrganizationName("histeq-gui")
    app.setApplicationVersion(__version__)
    try:
        app.setWindowIcon(QIcon(str(resource_path(ICON))))
    except FileNotFoundError:
        log.warning("the application icon is missing")
    return app


def _install_excepthook():
    """Log unexpected exceptions in Qt callbacks and tell the user in one line."""
    from PyQt5.QtWidgets import QApplication, QMessageBox

    from .jobs import user_message

    def hook(kind, value, traceback):
        log.error("unexpected error", exc_info=(kind, value, traceback))
        app = QApplication.instance()
        # A box only while a window is open: after the last one closed, a modal
        # box nobody sees would keep the process alive.
        if app is not None and not isinstance(value, KeyboardInterrupt) and \
                any(w.isVisible() for w in app.topLevelWidgets()):
            QMessageBox.critical(None, "histeq-gui", user_message(value))
    sys.excepthook = hook


def _exit_now_if_jobs_are_left(code):
    """End the process at once when a closed window left a job running.

    Only loads and computations are ever left (an export is waited for: it
    cleans up after itself), and they only read; such a thread (the compiler
    preparing the fast kernels, say) cannot be stopped from outside, and
    waiting for it made the process linger for seconds after the window
    closed.
    """
    from .jobs import left_running
    from .warmup import preparing

    left = left_running()
    if left:
        log.info("not waiting for %d background job(s) after the window closed: %s",
                 len(left), ", ".join(job.name for job in left))
    compiling = preparing()
    if compiling:
        log.info("not waiting for the fast kernels being prepared")
    if left or compiling:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _render(window, path, show_export=False, show_help=False):
    """Save what ``window`` (and the export dialog or the method's help, if asked) shows."""
    from PyQt5.QtWidgets import QApplication

    app = QApplication.instance()
    for _ in range(5):
        app.processEvents()
    pixmap = window.grab()
    if show_export:
        dialog = window.open_export_dialog()
        dialog.adjustSize()
        for _ in range(5):
            app.processEvents()
        _draw_dialog(pixmap, dialog.grab(), dialog.windowTitle(), window.palette())
        dialog.reject()
    if show_help:
        from .method_help import show_method_help

        box = show_method_help(window, window.state.method)
        box.resize(min(760, pixmap.width() - 80), pixmap.height() - 120)
        for _ in range(5):
            app.processEvents()
        _draw_dialog(pixmap, box.grab(), box.windowTitle(), window.palette())
        box.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(path), "PNG"):
        raise OSError(f"cannot write '{path}'; check the folder's permissions")
    return pixmap.width(), pixmap.height()


def _draw_dialog(pixmap, shot, title, palette):
    """Paint a dialog, with a simple title bar, centred over the dimmed window picture.

    Offscreen windows have no window manager, so the frame is drawn here.
    """
    from PyQt5.QtCore import QRect, Qt
    from PyQt5.QtGui import QColor, QFont, QPainter, QPen

    bar = 30
    x = (pixmap.width() - shot.width()) // 2
    y = (pixmap.height() - shot.height() - bar) // 2
    frame = QRect(x - 1, y - 1, shot.width() + 1, shot.height() + bar + 1)
    painter = QPainter(pixmap)
    painter.fillRect(pixmap.rect(), QColor(0, 0, 0, 110))          # dim the window behind
    painter.fillRect(frame.adjusted(4, 4, 6, 6), QColor(0, 0, 0, 90))  # shadow
    painter.fillRect(QRect(x, y, shot.width(), bar), palette.window().color().darker(115))
    font = QFont()
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(palette.windowText().color())
    painter.drawText(QRect(x + 10, y, shot.width() - 20, bar), Qt.AlignVCenter | Qt.AlignLeft,
                     title)
    painter.drawPixmap(x, y + bar, shot)
    painter.setPen(QPen(QColor("#5f6368")))
    painter.drawRect(frame)
    painter.end()


def _arrange(window, args):
    """Bring the view ``--view`` asks for to the front (a shown window)."""
    if args.view != "viewer":
        window.show_view(args.view)


def _inspected(window, args):
    """Wait for the statistics, apply ``--inspect``, wait for the thumbnails; True if done."""
    from .inspect_options import apply_inspect, wait_for_inspection
    if not wait_for_inspection(window):
        return False
    apply_inspect(window, args.inspect)
    return wait_for_inspection(window)


def _screenshot(window, args):
    from .jobs import user_message

    errors = []

    def no_one_to_ask(path, error, problem=None):     # an .npz of several arrays, no --key
        errors.append(user_message(error))
        return None

    warnings = []
    window.opener.warned.connect(warnings.append)
    window.opener.report_error = lambda title, message: errors.append(message)
    window.opener.ask_array = no_one_to_ask
    from PyQt5.QtCore import QSize
    window.fit(QSize(*args.size))
    window.show()
    _arrange(window, args)
    if args.path:
        window.opener.open_path(args.path, args.index, key=args.key)
    else:
        window.opener.open_sample(args.index)
    if not window.wait_until_idle(timeout_ms=600_000) or window.state.stack is None:
        failures = errors or ["loading did not finish"]
    elif (args.view in ("stats", "montage") or args.inspect) and not _inspected(window, args):
        failures = [*errors, "the statistics or thumbnails did not finish"]
    elif window.controller.problem() is not None:     # no picture without the equalized image
        failures = [*errors, f"image {window.state.index}: {window.controller.problem()}"]
    else:
        failures = []
    if failures:
        for message in failures:
            print(f"histeq-gui: error: {message}", file=sys.stderr)
        window.close()
        return _EXIT_ERROR
    try:
        width, height = _render(window, args.screenshot, args.show_export,
                                args.show_method_help)
    except OSError as exc:
        print(f"histeq-gui: error: {exc}", file=sys.stderr)
        return _EXIT_ERROR
    finally:
        window.close()
        window.deleteLater()
    if (width, height) != tuple(args.size):        # a view whose panels need more room
        warnings.append(f"the window needs at least {width}x{height} for this view, more than "
                        f"--size {args.size[0]}x{args.size[1]}; the picture is {width}x{height}")
    for message in [*errors, *warnings]:
        print(f"histeq-gui: warning: {message}", file=sys.stderr)
    print(f"{args.screenshot} ({width}x{height})")
    return 0


def _set_method_params(parser, args, state):
    """``--scope`` and the method's own options (``--clip-limit 0.05``, as ``histeq`` reads them).

    A scope the method does not have, or an option of another method, is a
    usage error (one line, exit 2).
    """
    params = method_params(parser, args, state.method_spec)
    if params:
        state.set_params({**state.params, **params})
    if args.scope is not None:
        try:
            state.set_scope(args.scope)
        except ValueError as exc:
            parser.error(f"argument --scope: {exc}")


def _set_compare(window, args, parser=None):
    """Setting B of the comparison view: ``--compare``, ``--compare-bins``, ``--compare-scope``.

    ``--compare-param NAME=VALUE`` (repeatable) sets B's method parameters,
    read as ``histeq``'s option for that parameter reads its text and checked
    by the registry; a bad one is a usage error (exit 2, one line).  A scope
    B's method lacks is one too.
    """
    from .setting import other_method

    def error(message):
        if parser is None:
            raise ValueError(message)
        parser.error(message)

    compare, state = window.state.compare, window.state
    compare.set_method(args.compare if args.compare is not None else other_method(state.method))
    compare.set_bins(args.compare_bins if args.compare_bins is not None else state.bins)
    if args.compare_scope is not None:
        try:
            compare.set_scope(args.compare_scope)
        except ValueError as exc:
            error(f"argument --compare-scope: {exc}")
    params = {}
    method = compare.method_spec
    for item in getattr(args, "compare_param", None) or ():
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        param = method.param(name)
        if not sep or param is None or name == "bins":
            own = ", ".join(p.name for p in method.params if p.name != "bins") or "none"
            error(f"argument --compare-param: give NAME=VALUE with NAME a parameter of the "
                  f"{method.name} method ({own}), got {item!r}")
        try:
            params[name] = param.check(param_from_text(param, text.strip()), method.name)
        except ValueError as exc:
            error(f"argument --compare-param: {exc}")
    if params:
        compare.set_params(params)


def main(argv=None):
    """Run the viewer; return the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success (the event loop's code for a normal run); 1 when
        ``--screenshot`` cannot load its stack, equalize the image shown or
        write the PNG.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from ..core.engine import backend

    # The window never waits on the compiler: NumPy loops until the compiled ones are
    # prepared in the background (gui/warmup.py).  A screenshot shows one image: NumPy only.
    old = backend.set_default("ready" if args.screenshot is None else "numpy")
    try:
        return _main(parser, args)
    finally:
        backend.set_default(old)


def _main(parser, args):
    app = _application(offscreen=args.screenshot is not None)

    from .main_window import MainWindow
    from .preferences import Preferences

    if args.screenshot is not None:
        prefs = Preferences()          # pictures never depend on remembered settings
    elif args.settings is not None:
        prefs = Preferences.from_file(args.settings)
    else:
        prefs = Preferences.for_user()
    window = MainWindow(prefs)          # with the remembered method, bins and scope
    if args.method is not None:
        window.state.set_method(args.method)
    if args.bins is not None:
        window.state.set_bins(args.bins)
    _set_method_params(parser, args, window.state)
    from .view_options import apply_view_options
    apply_view_options(window.state, args)
    _set_compare(window, args, parser)
    if args.output_levels is not None:
        window.state.set_output_levels(args.output_levels)
    if args.screenshot is not None:
        return _screenshot(window, args)

    _install_excepthook()
    window.show()
    _arrange(window, args)
    if args.inspect:
        from .inspect_options import apply_inspect_when_ready
        apply_inspect_when_ready(window, args.inspect)
    if args.path:
        window.opener.open_path(args.path, args.index, key=args.key)
    else:
        window.opener.open_sample(args.index)
    return _exit_now_if_jobs_are_left(app.exec_())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
