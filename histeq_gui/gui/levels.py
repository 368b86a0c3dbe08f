"""The original's display levels for the state's choice (the numbers come from the core).

:func:`current_levels` is what every panel that draws the original (the
image, the settings' numbers) asks; it never scans pixels itself: the dtype
range, the stack's range and percentiles are the
:class:`~histeq_gui.gui.stack_file.LoadedStack`'s (computed once and kept),
the image's range is the :class:`~histeq_gui.gui.compute.ViewResult`'s.
"""

from __future__ import annotations

from ..core.display import widen

__all__ = ["current_levels", "effective_mode", "MODE_TEXT", "describe_mode"]

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
