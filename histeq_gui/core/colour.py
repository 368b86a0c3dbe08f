"""Colour and equalization: equalize the luminance only, keeping the colours.

Equalizing the red, green and blue channels one by one stretches each with
its own map, so the proportions between them change and the colours shift
(a blue sky turns cyan, skin turns green-grey).  Equalizing only the
brightness keeps them: convert to a luminance / colour space, equalize the
luminance with any method, convert back.  Two spaces are offered:

``"ycbcr"``
    Luma ``Y = 0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601, as JPEG and
    OpenCV's ``COLOR_RGB2YCrCb``) and the colour differences
    ``Cb = (B - Y) / 1.772``, ``Cr = (R - Y) / 1.402``; only ``Y`` changes.
    Hue and colourfulness (``Cb``, ``Cr``) are kept exactly wherever the
    result stays inside the RGB cube; pixels pushed out of it are clipped.
``"hsv"``
    Value ``V = max(R, G, B)``; each pixel is scaled by ``V' / V``, which
    keeps hue and saturation exactly and never leaves the cube.

All functions are pure: arrays in, new arrays out, float64 RGB in [0, 1].
"""

from __future__ import annotations

import numpy as np

from .equalize import equalize
from .histogram import check_dtype

__all__ = ["SPACES", "KR", "KB", "as_unit_rgb", "rgb_to_ycbcr", "ycbcr_to_rgb",
           "equalize_luminance", "hue", "hue_shift"]

SPACES = ("ycbcr", "hsv")
#: BT.601 luma weights of red and blue (green: 1 - KR - KB).
KR, KB = 0.299, 0.114


def as_unit_rgb(image, channel_axis=-1):
    """The image as float64 RGB(A) in [0, 1] with the channels last.

    Integers are scaled by their dtype's range (uint8 / 255).  Floats are
    taken as they are when their finite values lie in [0, 1], else scaled
    by their finite range.  NaN stays NaN.

    Raises
    ------
    ValueError
        If the channel axis does not hold 3 (RGB) or 4 (RGBA) channels.
    """
    x = np.moveaxis(np.asarray(image), channel_axis, -1)
    if x.shape[-1] not in (3, 4):
        raise ValueError(f"expected 3 (RGB) or 4 (RGBA) channels on axis {channel_axis}, got "
                         f"{x.shape[-1]}; the luminance needs red, green and blue")
    dtype = check_dtype(x.dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return (x.astype(np.float64) - float(info.min)) / (float(info.max) - float(info.min))
    out = x.astype(np.float64)
    finite = out[np.isfinite(out)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        low, high = float(finite.min()), float(finite.max())
        out = (out - low) / (high - low) if high > low else np.zeros_like(out)
    return out


def rgb_to_ycbcr(rgb):
    """RGB in [0, 1] (channels last) to BT.601 ``Y, Cb, Cr``.

    ``Y`` is in [0, 1], ``Cb`` and ``Cr`` in [-0.5, 0.5].

    Examples
    --------
    >>> import numpy as np
    >>> np.round(rgb_to_ycbcr(np.array([1.0, 0.0, 0.0])), 4).tolist()
    [0.299, -0.1687, 0.5]
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = KR * r + (1 - KR - KB) * g + KB * b
    return np.stack([y, (b - y) / (2 * (1 - KB)), (r - y) / (2 * (1 - KR))], axis=-1)


def ycbcr_to_rgb(ycbcr):
    """The inverse of :func:`rgb_to_ycbcr` (not clipped).

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.array([0.2, 0.5, 0.9])
    >>> bool(np.allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-15))
    True
    """
    ycbcr = np.asarray(ycbcr, dtype=np.float64)
    y, cb, cr = ycbcr[..., 0], ycbcr[..., 1], ycbcr[..., 2]
    r = y + 2 * (1 - KR) * cr
    b = y + 2 * (1 - KB) * cb
    g = (y - KR * r - KB * b) / (1 - KR - KB)
    return np.stack([r, g, b], axis=-1)


def hue(rgb):
    """The hue angle of RGB pixels, in radians (``atan2(Cr, Cb)`` of BT.601), NaN for grays."""
    ycbcr = rgb_to_ycbcr(rgb)
    cb, cr = ycbcr[..., 1], ycbcr[..., 2]
    gray = np.hypot(cb, cr) < 1e-9
    return np.where(gray, np.nan, np.arctan2(cr, cb))


def hue_shift(before, after, min_chroma=0.05):
    """The mean change of hue, in degrees, over the pixels that have a colour.

    Parameters
    ----------
    before, after : array_like
        RGB in [0, 1], channels last, one shape.
    min_chroma : float
        Pixels whose chroma ``hypot(Cb, Cr)`` is below this in ``before``
        (grays, whose hue means nothing) are left out.

    Returns
    -------
    float
        Mean absolute hue difference in degrees (0..180) over the pixels
        coloured in ``before`` that still have a hue in ``after``; NaN when
        there is none.

    Examples
    --------
    >>> import numpy as np
    >>> red, green = np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]])
    >>> round(hue_shift(red, red), 6), round(hue_shift(red, green), 1)
    (0.0, 123.0)
    """
    before = np.asarray(before, dtype=np.float64)
    ycbcr = rgb_to_ycbcr(before)
    coloured = np.hypot(ycbcr[..., 1], ycbcr[..., 2]) >= min_chroma
    if not coloured.any():
        return float("nan")
    turn = np.abs(np.angle(np.exp(1j * (hue(after) - hue(before)))))[coloured]
    turn = turn[np.isfinite(turn)]          # pixels turned gray have no hue left to compare
    return float(np.degrees(turn.mean())) if turn.size else float("nan")


def _luma_for_method(y, dtype):
    """The luminance handed to the method: in the image's own integer levels when it has them.

    (As ``cv2.cvtColor`` rounds ``Y`` to uint8 before ``equalizeHist``.)
    """
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        span = float(info.max) - float(info.min)
        levels = np.rint(np.nan_to_num(y) * span) + float(info.min)
        return np.clip(levels, float(info.min), float(info.max)).astype(dtype)
    return y


def equalize_luminance(image, method="numpy", bins=256, space="ycbcr", channel_axis=-1,
                       mask=None, **params):
    """Equalize the brightness of a colour image only, keeping its colours.

    Parameters
    ----------
    image : array_like
        One colour image, RGB or RGBA (alpha is kept as it is).
    method, bins, mask, **params
        As for :func:`~histeq_gui.equalize`, applied to the luminance.
    space : {"ycbcr", "hsv"}
        Which brightness is equalized (see the module's docstring).
    channel_axis : int
        The colour axis of ``image``.

    Returns
    -------
    ndarray of float64
        RGB(A) in [0, 1], channels last, the image's height and width.

    Raises
    ------
    ValueError
        An unknown space, not 3 or 4 channels, or what ``equalize`` raises.

    Notes
    -----
    For integer images the luminance is rounded to the image's dtype before
    it is equalized (what ``cv2.cvtColor(..., COLOR_RGB2YCrCb)`` followed
    by ``cv2.equalizeHist`` on the Y channel does), so the method sees the
    same kind of data as when it equalizes one channel.  With "ycbcr" the
    new ``Y'`` replaces ``Y`` and ``Cb, Cr`` are kept; RGB values pushed
    outside [0, 1] are clipped (only there can the hue change).  With "hsv"
    every channel is multiplied by ``V' / V`` (a black pixel becomes the gray
    ``V'``).

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.zeros((2, 2, 3), np.uint8)
    >>> rgb[..., 0] = [[40, 60], [80, 100]]      # shades of red
    >>> out = equalize_luminance(rgb, "skimage", space="hsv")
    >>> bool(np.all(out[..., 1:] == 0)), np.round(out[..., 0], 2).tolist()
    (True, [[0.25, 0.5], [0.75, 1.0]])
    """
    if space not in SPACES:
        raise ValueError(f"unknown colour space {space!r}; choose one of: {', '.join(SPACES)}")
    x = np.moveaxis(np.asarray(image), channel_axis, -1)
    dtype = check_dtype(x.dtype)
    unit = as_unit_rgb(x)
    rgb, alpha = unit[..., :3], unit[..., 3:]
    if space == "ycbcr":
        ycbcr = rgb_to_ycbcr(rgb)
        luma = ycbcr[..., 0]
    else:
        luma = rgb.max(axis=-1)
    new = equalize(_luma_for_method(luma, dtype), method, bins, mask=mask, **params)
    if space == "ycbcr":
        ycbcr = ycbcr.copy()
        ycbcr[..., 0] = new
        out = np.clip(ycbcr_to_rgb(ycbcr), 0.0, 1.0)
    else:
        lit = luma > 0
        scale = np.divide(new, luma, out=np.zeros_like(new), where=lit)
        out = np.where(lit[..., np.newaxis], rgb * scale[..., np.newaxis], new[..., np.newaxis])
        out = np.clip(out, 0.0, 1.0)     # rounding only: V' / V * max(RGB) is V'
    return np.concatenate([out, alpha], axis=-1) if alpha.size else out
