"""The display levels for the state's choice, of the original and of the equalized image.

:func:`current_levels` is what every panel that draws the original (the
image, the settings' numbers) asks; it never scans pixels itself: the dtype
range, the stack's range and percentiles are the
:class:`~histeq_gui.gui.stack_file.LoadedStack`'s (computed once and kept),
the image's range is the :class:`~histeq_gui.gui.compute.ViewResult`'s.
:func:`equalized_display_levels` is the equalized image's
(:func:`~histeq_gui.core.display.equalized_levels` of the result shown,
kept with it), as ImageJ's Brightness & Contrast works on any window.
"""

from __future__ import annotations

import weakref

from ..core.display import equalized_levels, widen

__all__ = ["current_levels", "effective_mode", "MODE_TEXT", "describe_mode",
           "equalized_display_levels", "EQ_MODE_TEXT", "EQ_MODE_TIPS", "describe_eq_levels"]

MODE_TEXT = {
    "auto": "Automatic",
    "dtype": "Full dtype range",
    "stack": "Stack range",
    "image": "This image's range",
    "percentile": "Saturated percentiles",
    "manual": "Manual",
}

MODE_TIPS = {
    "auto": "8-bit data: the full dtype range; other data: the stack's percentiles that "
            "saturate 0.35% of its pixels (ImageJ's automatic contrast)",
    "dtype": "The dtype's whole range (0..255 for uint8, 0..65535 for uint16; [0, 1] for "
             "floats)",
    "stack": "The smallest and largest finite value of the whole stack (one outlier can make "
             "every image dark)",
    "image": "The smallest and largest finite value of the image shown (changes as you page)",
    "percentile": "Levels that leave the given percent of the stack's pixels saturated, half "
                  "at each end (ImageJ: Enhance Contrast, saturated=0.35)",
    "manual": "The low and high levels typed in",
}


EQ_MODE_TEXT = {
    "auto": "Auto",
    "output": "0..1",
    "percentile": "Percent",
}

EQ_MODE_TIPS = {
    "auto": "The output range [0, 1]; for a result that fills less than a quarter of it "
            "(match to 12-bit data in uint16), its saturated percentiles",
    "output": "0 black, 1 white: the range every method maps into",
    "percentile": "Levels that leave the given percent of this result's pixels saturated, "
                  "half at each end (the same percent as the original's)",
}

_EQ_CACHE = weakref.WeakKeyDictionary()    # result -> {(mode, saturated): levels}


def equalized_display_levels(state, result, mode=None):
    """``(low, high)`` to draw ``result``'s equalized image with, for the state's choice.

    ``mode`` instead of the state's (what "auto" would give, say).  (0, 1)
    without an equalized image.  Computed once per result and choice.
    """
    if result is None or result.equalized is None:
        return 0.0, 1.0
    key = (state.eq_levels_mode if mode is None else mode, state.saturated)
    kept = _EQ_CACHE.setdefault(result, {})
    if key not in kept:
        kept[key] = equalized_levels(result.equalized, *key)
    return kept[key]


def describe_eq_levels(state, result):
    """A few words for the equalized view's title when its levels are not [0, 1], else ""."""
    low, high = equalized_display_levels(state, result)
    if (low, high) == (0.0, 1.0):
        return ""
    return f"shown {low:.2g}..{high:.2g}"


def effective_mode(state):
    """The state's levels mode with "auto" replaced by what it stands for with this stack."""
    mode = state.levels_mode
    if mode == "auto":
        return "dtype" if state.stack is None else state.stack.default_levels_mode
    return mode


def current_levels(state, result=None):
    """``(low, high)`` to draw the original with, for the state's choice.

    Parameters
    ----------
    state : ViewerState
    result : ViewResult, optional
        The result shown (for "this image's range").

    Returns
    -------
    tuple of float
        ``low < high`` always (a flat range is widened by 0.5 each way);
        (0, 1) without a stack.
    """
    stack = state.stack
    if stack is None:
        return 0.0, 1.0
    mode = effective_mode(state)
    if mode == "dtype":
        return widen(stack.dtype_levels)
    if mode == "image" and result is not None:
        return widen(result.image_range, stack.levels)
    if mode == "percentile":
        return stack.percentile_levels(state.saturated)
    if mode == "manual" and state.manual_levels is not None:
        return state.manual_levels
    return widen(stack.levels)


def describe_mode(state):
    """A few words for titles: "saturated 0.35%", "full dtype range", ..."""
    mode = effective_mode(state)
    if mode == "percentile":
        return f"saturated {state.saturated:g}%"
    return MODE_TEXT[mode].lower()
