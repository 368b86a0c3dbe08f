"""A region of interest: the rows and columns of every image whose pixels make the histograms.

The viewer draws it as a rectangle; ``histeq --region Y0:Y1,X0:X1`` and
:attr:`~histeq_gui.core.export.ExportSettings.region` take it as the NumPy
slices ``image[Y0:Y1, X0:X1]``.  Equalizing with a region is equalizing with
its mask, ``equalize(images, mask=region_mask(region, (H, W)))``: the
region's pixels make each histogram, whose mapping is applied to every
pixel of the image.

Examples
--------
>>> region = parse_region("1:3,0:2")
>>> region, region_text(region), describe_region(region)
((1, 3, 0, 2), '1:3,0:2', 'rows 1:3, columns 0:2')
>>> region_mask(region, (4, 3)).astype(int).tolist()
[[0, 0, 0], [1, 1, 0], [1, 1, 0], [0, 0, 0]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["Region", "check_region", "parse_region", "region_text", "describe_region",
           "region_of_rect", "region_mask"]

Region = tuple  # (y0, y1, x0, x1): rows y0:y1 and columns x0:x1 of each image

_EXAMPLE = "e.g. 10:50,20:80 for rows 10 to 49 and columns 20 to 79"


def check_region(region) -> Region:
    """``region`` as a tuple of four ints ``(y0, y1, x0, x1)``, or a one-line ValueError.

    Each range must hold at least one pixel and start at 0 or later.

    Examples
    --------
    >>> check_region([0, 4, 2, 3])
    (0, 4, 2, 3)
    >>> check_region((5, 5, 0, 1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: a region needs rows y0:y1 and columns x0:x1 with ..., got rows 5:5, columns 0:1; ...
    """
    try:
        values = tuple(region)
        ok = len(values) == 4 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
            for v in values)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"a region is four whole numbers (y0, y1, x0, x1), got {region!r}; "
                         f"{_EXAMPLE}")
    y0, y1, x0, x1 = (int(v) for v in values)
    if not (0 <= y0 < y1 and 0 <= x0 < x1):
        raise ValueError("a region needs rows y0:y1 and columns x0:x1 with 0 <= y0 < y1 and "
                         f"0 <= x0 < x1, got rows {y0}:{y1}, columns {x0}:{x1}; {_EXAMPLE}")
    return y0, y1, x0, x1


def parse_region(text: str) -> Region:
    """The region written ``Y0:Y1,X0:X1`` (``histeq --region``), checked.

    Examples
    --------
    >>> parse_region(" 10:50 , 20:80 ")
    (10, 50, 20, 80)
    >>> parse_region("10-50,20-80")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: '10-50,20-80' is not Y0:Y1,X0:X1; e.g. 10:50,20:80 for rows 10 to 49 ...
    """
    try:
        rows, columns = str(text).split(",")
        (y0, y1), (x0, x1) = (tuple(int(v) for v in part.split(":")) for part in (rows, columns))
    except ValueError:
        raise ValueError(f"{text!r} is not Y0:Y1,X0:X1; {_EXAMPLE}") from None
    return check_region((y0, y1, x0, x1))


def region_text(region: Region) -> str:
    """``"Y0:Y1,X0:X1"``, as ``histeq --region`` takes it."""
    y0, y1, x0, x1 = region
    return f"{y0}:{y1},{x0}:{x1}"


def describe_region(region: Region) -> str:
    """``"rows Y0:Y1, columns X0:X1"``, for people."""
    y0, y1, x0, x1 = region
    return f"rows {y0}:{y1}, columns {x0}:{x1}"


def region_of_rect(rect) -> Region:
    """The region of a rectangle ``(x, y, width, height)`` (the viewer's), checked.

    Examples
    --------
    >>> region_of_rect((20, 10, 60, 40))
    (10, 50, 20, 80)
    """
    x, y, width, height = (int(v) for v in rect)
    return check_region((y, y + height, x, x + width))


def region_mask(region: Region, image_shape, clip: bool = False) -> np.ndarray:
    """The ``(H, W)`` boolean mask of ``region`` for images of ``image_shape`` ``(H, W, ...)``.

    Parameters
    ----------
    region : tuple
        ``(y0, y1, x0, x1)``.
    image_shape : tuple
        The image's height and width first.
    clip : bool
        False: a region reaching beyond the image is a ValueError.  True:
        the region is cut to the image (images of different sizes), and may
        then select nothing.

    Raises
    ------
    ValueError
        One line, when ``clip`` is False and the region does not lie inside
        the image.
    """
    y0, y1, x0, x1 = check_region(region)
    height, width = int(image_shape[0]), int(image_shape[1])
    if not clip and (y1 > height or x1 > width):
        raise ValueError(f"the region ({describe_region(region)}) reaches beyond the images "
                         f"of {height}x{width} pixels (height x width); give rows within "
                         f"0:{height} and columns within 0:{width}")
    mask = np.zeros((height, width), bool)
    mask[y0:y1, x0:x1] = True
    return mask
