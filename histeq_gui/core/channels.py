"""Which axis of a stack holds colour: the automatic rule and the choices.

The viewer and the ``histeq`` command share one automatic rule,
:func:`histeq_gui.core.stack.guess_layout` with ``channel_axis="auto"``
(channels last of size 2, 3 or 4).  A channel-first stack such as
scikit-image's ``multipage_rgb.tif`` (2, 3, 10, 10) is not recognised by it,
and cannot safely be: tifffile writes a plain ``(3, H, W)`` array of three
grayscale images with the RGB photometric tag unless told otherwise, so the
tag alone does not prove colour.
:func:`~histeq_gui.core.io.declared_channel_axis` reads what a TIFF
declares, for a front end to *offer* that axis; :func:`channel_axis_choices`
lists what can be chosen for a shape, and :func:`parse_channel_axis` reads the
command line's spelling (``auto``, ``none``, an axis number).
"""

from __future__ import annotations

from .stack import guess_layout

__all__ = ["parse_channel_axis", "channel_axis_text", "channel_axis_choices"]


def parse_channel_axis(text):
    """``"auto"``, None or an int from the spelling ``histeq --channel-axis`` takes.

    Raises
    ------
    ValueError
        For anything but ``auto``, ``none`` or a whole number.

    Examples
    --------
    >>> parse_channel_axis("auto"), parse_channel_axis("None"), parse_channel_axis("-1")
    ('auto', None, -1)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if text is None:
        return None
    word = str(text).strip().lower()
    if word == "auto":
        return "auto"
    if word == "none":
        return None
    try:
        return int(word)
    except ValueError:
        raise ValueError(f"{text!r} is not 'auto', 'none' or an axis number such as 1") from None


def channel_axis_text(axis):
    """The spelling of a channel-axis choice: ``auto``, ``none`` or the number.

    Examples
    --------
    >>> channel_axis_text("auto"), channel_axis_text(None), channel_axis_text(1)
    ('auto', 'none', '1')
    """
    return "auto" if axis == "auto" else "none" if axis is None else str(int(axis))


def channel_axis_choices(shape):
    """Every channel axis that gives a valid layout for ``shape``, with its layout.

    Returns
    -------
    list of (choice, Layout)
        ``("auto", ...)`` first, then ``(None, ...)`` (grayscale), then each
        axis number (non-negative) that leaves two image axes.

    Examples
    --------
    >>> [(c, layout.name) for c, layout in channel_axis_choices((2, 3, 10, 10))][:4]
    [('auto', 'N×N2×H×W'), (None, 'N×N2×H×W'), (0, 'C×N×H×W'), (1, 'N×C×H×W')]
    """
    shape = tuple(int(s) for s in shape)
    choices = [("auto", guess_layout(shape, "auto")), (None, guess_layout(shape, None))]
    if len(shape) >= 3:
        choices += [(axis, guess_layout(shape, axis)) for axis in range(len(shape))]
    return choices
