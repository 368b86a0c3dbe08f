"""``opencv``: OpenCV's ``cv2.equalizeHist``, and its natural extension to every dtype.

OpenCV (``modules/imgproc/src/histogram.cpp``, ``cv::equalizeHist``) takes
8-bit images only and builds one look-up table per image:

1. the histogram ``hist`` over the 256 levels;
2. ``i`` = the first non-empty level; if ``hist[i] == total`` (a constant
   image) the image is returned as it is (``dst.setTo(i)``);
3. ``scale = (256 - 1.f) / (total - hist[i])`` in single precision;
4. ``lut[i] = 0``; for every later level ``sum += hist[level]`` and
   ``lut[level] = saturate_cast<uchar>(sum * scale)``: ``sum`` converted to
   float, a single precision product, rounded half to even (``cvRound``) and
   clamped to 0..255.

So the first occupied level always maps to 0 and the last to 255: unlike
the CDF methods, the darkest pixels are pulled to black.

Here, as float64 in [0, 1] (``lut / (levels - 1)``):

- **uint8**: exactly OpenCV: ``255 * equalize(x, "opencv")`` equals
  ``cv2.equalizeHist(x)`` for every pixel, with no rounding needed
  (``255 * (k / 255) == k`` in float64 for every ``k`` in 0..255; the
  export's ``round(255 * v)`` gives the same bytes).
- **other integers**: the same formula over the dtype's levels, in single
  precision like OpenCV: 65536 levels for (u)int16 (so ``65535 * v`` is
  the table, exactly), ``2 ** 32`` and ``2 ** 64`` for 32- and 64-bit types
  (where single precision rounds the table to about 7 significant digits,
  as ``sum * scale`` does in OpenCV).  Signed types are shifted: level =
  value - the dtype's minimum (int8 -128 is level 0).
- **floats**: ``bins`` equal-width bins over the image's range, exactly as
  ``np.histogram(image, bins)`` makes and fills them, are the levels (so
  ``bins`` >= 2); each pixel takes its bin's value ``lut[bin] / (bins - 1)``.
- **constant images** (every counted pixel on one level) map to themselves:
  each pixel keeps its own level (``level / (levels - 1)``; a float image,
  whose one value sits in the middle bin, gets ``(bins // 2) / (bins - 1)``).
- **masks**: the masked pixels make the table; other pixels use it too: a
  level below the first counted one maps to 0 (OpenCV leaves those table
  entries undefined), above the last to 1.
- **NaN and inf** are left out and come back NaN; ``scope="stack"`` builds
  one table from the whole stack (OpenCV has no such thing).
"""

from __future__ import annotations

import numpy as np

from .base import Method, RowLoop, bins_param, how_from_docstring

__all__ = ["METHOD", "table", "table_loop"]


def table(cells, params):
    """OpenCV's ``EqualizeHistLut``, over any number of levels, for many samples.

    Parameters
    ----------
    cells : Cells
        Counts per level present (integer values, or bins for floats), the
        level of each cell and the number of levels.

    Returns
    -------
    ndarray of float64, shape (samples, cells)
        ``lut / (levels - 1)``, with ``lut`` computed in single precision as
        OpenCV does; a constant sample keeps each level.
    """
    counts = cells.counts
    levels = float(cells.levels)
    rows = np.arange(counts.shape[0])
    total = counts.sum(axis=1)
    first = np.argmax(counts > 0, axis=1)               # while (!hist[i]) ++i;
    h = counts[rows, first]
    # sum after the first level: hist[i+1] + ... + hist[level]; 0 at and below i.
    sums = np.cumsum(counts, axis=1) - h[:, np.newaxis]
    np.maximum(sums, 0, out=sums)
    top = np.float32(levels - 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = top / (total - h).astype(np.float32)    # (hdims - 1.f) / (total - hist[i])
        lut = np.rint(sums.astype(np.float32) * scale[:, np.newaxis])  # cvRound(sum * scale)
    np.clip(lut, 0, top, out=lut)                       # saturate_cast
    out = lut.astype(np.float64) / (levels - 1)
    # For 32-bit types the single precision top, float32(2**32 - 1), is 2**32: the top level
    # would map to 1 + 2**-32.
    np.minimum(out, 1.0, out=out)
    constant = h == total                               # dst = src: each level keeps itself
    if constant.any():
        own = np.broadcast_to(cells.level / (levels - 1), counts.shape)
        out[constant] = own[constant]
    return out


def table_loop(counts, level0, levels, args, out):
    """:func:`table` of one sample, as a loop the engine compiles (the same bits)."""
    width = counts.shape[0]
    total = 0
    for k in range(width):
        total += counts[k]
    first = 0
    while first < width - 1 and counts[first] == 0:
        first += 1
    h = counts[first]
    if h == total:                                      # dst = src: each level keeps itself
        for k in range(width):
            out[k] = (level0 + k) / (levels - 1)
        return
    top = np.float32(levels - 1)
    scale = top / np.float32(total - h)
    running = 0
    for k in range(width):
        if k > first:
            running += counts[k]
        lut = np.float32(np.rint(np.float32(running) * scale))
        out[k] = np.float64(min(lut, top)) / (levels - 1)


METHOD = Method(
    name="opencv",
    label="OpenCV equalizeHist",
    summary="cv2.equalizeHist: a look-up table from the histogram; the first occupied level "
            "goes to 0, the last to the top.",
    reference="cv2.equalizeHist(image) / 255 for uint8, pixel for pixel; the same formula "
              "over the dtype's levels for other integers, over bins for floats",
    source="OpenCV modules/imgproc/src/histogram.cpp (cv::equalizeHist, "
           "EqualizeHistLut_Invoker)",
    formula=("s<sub>k</sub> = round((cdf(r<sub>k</sub>) &minus; cdf<sub>min</sub>) / "
             "(N &minus; cdf<sub>min</sub>) &middot; 255) in single precision; "
             "T(r<sub>k</sub>) = s<sub>k</sub> / 255"),
    how=how_from_docstring(__doc__),
    params=(bins_param(dtypes="f", low=2, help="levels for float images: equal-width bins "
                                               "over the image's range (integer images use "
                                               "their dtype's levels)"),),
    value_cells="ui",
    table=table,
    table_loop=RowLoop(table_loop),
)
