"""Command-line options for what the viewer shows: levels, colour axis, region, traced pixel.

``histeq-gui PATH --levels percentile --channel-axis 1 --roi 10,10,40,30 --trace 20,15
--log-counts --hist-range dtype --eq-scale unit`` opens the viewer (or renders
``--screenshot``) as a user who chose those would see it.  :func:`add_view_options`
adds them to a parser, :func:`apply_view_options` sets them on a
:class:`~histeq_gui.gui.state.ViewerState` before the stack is opened (the
state applies the colour axis and clips the region when the stack arrives).
"""

from __future__ import annotations

import argparse

from ..cli_options import channel_axis_type
from ..core.display import LEVEL_MODES, check_saturated
from .state import EQ_SCALES, HIST_RANGES

__all__ = ["add_view_options", "apply_view_options"]


def _numbers(count, what):
    def parse(text):
        try:
            values = [float(part) for part in text.split(",")]
        except ValueError:
            values = []
        if len(values) != count:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return tuple(values)
    return parse


def _saturated(text):
    try:
        return check_saturated(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_view_options(parser):
    """Add the display options to ``parser`` (an argparse parser)."""
    group = parser.add_argument_group("what the window shows")
    group.add_argument("--levels", choices=[m for m in LEVEL_MODES if m != "manual"],
                       help="display levels of the original: auto (8-bit: dtype range, else "
                            "saturated percentiles), dtype, stack, image, percentile "
                            "(default: the last used, else auto)")
    group.add_argument("--saturated", type=_saturated, metavar="PERCENT",
                       help="percent of pixels saturated by --levels percentile (default 0.35)")
    group.add_argument("--display-range", type=_numbers(2, "LOW,HIGH, e.g. 0,4095"),
                       metavar="LOW,HIGH", help="manual display levels of the original")
    group.add_argument("--channel-axis", type=channel_axis_type, metavar="auto|none|N",
                       help="colour axis, as histeq --channel-axis (default: auto)")
    group.add_argument("--roi", type=_numbers(4, "X,Y,WIDTH,HEIGHT, e.g. 10,10,40,30"),
                       metavar="X,Y,W,H", help="a region whose pixels make the histogram")
    group.add_argument("--trace", type=_numbers(2, "X,Y, e.g. 20,15"), metavar="X,Y",
                       help="trace the pixel at column X, row Y (as if the mouse were on it)")
    group.add_argument("--log-counts", action="store_true", default=None,
                       help="histogram counts on a log scale")
    group.add_argument("--hist-range", choices=HIST_RANGES,
                       help="the original histogram's x axis: the data's range or the dtype's")
    group.add_argument("--eq-scale", choices=EQ_SCALES,
                       help="equalized values in the export's scale or in 0..1")
    group.add_argument("--link-axes", action="store_true", default=None,
                       help="the same axes for both histograms")
    return parser


def apply_view_options(state, args):
    """Set the options given in ``args`` (parsed by a parser with :func:`add_view_options`)."""
    if args.levels is not None:
        state.set_levels_mode(args.levels)
    if args.saturated is not None:
        state.set_saturated(args.saturated)
    if args.display_range is not None:
        state.set_manual_levels(*args.display_range)
    if args.channel_axis is not None:
        state.set_channel_axis(args.channel_axis)
    if args.roi is not None:
        state.set_roi(args.roi)
    if args.trace is not None:
        state.set_cursor(tuple(int(v) for v in args.trace))
    if args.log_counts is not None:
        state.set_log_counts(True)
    if args.hist_range is not None:
        state.set_hist_range(args.hist_range)
    if args.eq_scale is not None:
        state.set_eq_scale(args.eq_scale)
    if args.link_axes is not None:
        state.set_link_histograms(True)
