"""``imagej`` and ``imagej-classic``: ImageJ's Process > Enhance Contrast > Equalize.

ImageJ (``ij/plugin/ContrastEnhancer.java``, ``equalize(ImageProcessor ip,
int[] histogram)`` and ``getWeightedValue``; code by Richard Kirk,
unchanged in ImageJ's history since 2008) builds one look-up table per
image from its histogram ``h`` over the levels ``0 .. max`` (``max = range
= 255`` for 8-bit images, 65535 for 16-bit), in double precision:

1. the weight of a level is ``w(i) = sqrt(h[i])``, or ``h[i]`` itself when
   ``h[i] < 2`` (counts of 0 and 1 are not square-rooted) or with the Alt
   key held ("classic" equalization: ``w(i) = h[i]``);
2. ``sum = w(0)``, then ``sum += 2 * w(i)`` for ``i = 1 .. max - 1``, then
   ``sum += w(max)``: the trapezoidal area, the end levels counted once and
   the inner ones twice; ``scale = range / sum``;
3. ``lut[0] = 0``; ``sum = w(0)``; for ``i = 1 .. max - 1``: ``sum +=
   w(i)``, ``lut[i] = (int) Math.round(sum * scale)``, ``sum += w(i)``; and
   ``lut[max] = max``: the two end levels are pinned (saturated ends).

``Math.round`` rounds half up (to the nearest integer, ties towards
positive infinity; exactly, unlike ``floor(x + 0.5)`` near 0.5).  Each
level's value is the area under the weighted histogram up to the middle of
its own bar: a level holding many pixels is spread around its centre rather
than pushed to its end.  The square root tames the big peaks ("its effects
are less extreme", says the source).

Here, as float64 in [0, 1]: ``lut / max``, so that ``255 * equalize(x,
"imagej")`` is exactly ImageJ's 8-bit result (``255 * (k / 255) == k`` in
float64 for every ``k``; also ``65535 * v`` for 16-bit images).  The loops
are evaluated with the very additions of the Java code, in its order
(NumPy's ``cumsum`` adds one term after the other), so the tables are bit
for bit ImageJ's.

Every dtype:

- **uint8 / uint16**: ImageJ's 8- and 16-bit images, exactly.
- **int8 / int16**: shifted to unsigned levels, ``level = value - the
  dtype's minimum`` (int8 -128 is level 0, 127 is 255), then as uint8 /
  uint16.
- **int32, uint32, int64, uint64 and floats** (ImageJ refuses 32-bit
  images): ``bins`` equal-width bins over the image's range, exactly as
  ``np.histogram(image, bins)`` makes and fills them, are the levels:
  ``max = range = bins - 1`` (so ``bins`` >= 2) and each pixel takes its
  bin's ``lut[bin] / (bins - 1)``.
- **masks**: the masked pixels make the histogram, the table is applied to
  every pixel (ImageJ's ROI: ``getHistogram`` of the ROI, then
  ``resetRoi`` and ``applyTable`` on the whole image).
- **NaN and inf** are left out of the histogram and come back NaN.
- ``histogram(image, "imagej").apply(other)`` maps values outside the
  histogram's range to its end values, as for every method (ImageJ's own
  table would give 0 below the first level of a 16-bit image and 65535
  above the last one); uint8 tables cover all 256 levels, so for 8-bit
  images ``apply`` is ImageJ's table everywhere.
- **constant images**: a level strictly inside ``1 .. max - 1`` maps to
  ``round(range / 2) / max`` (128 / 255 for uint8: the middle of its own
  bar); level 0 to 0 and level ``max`` to 1.
- **colour** (``channel_axis``): each channel is equalized with its own
  histogram.  ImageJ's RGB images differ: one table, from the histogram of
  their brightness ((r + g + b) / 3, or weighted; ``ColorProcessor.
  getHistogram``), is applied to all three channels.

Stacks: ``scope="image"`` equalizes every image with its own histogram.
ImageJ does not quite: with "Process all slices" and without "Use stack
histogram" it equalizes every slice with the histogram of slice 1 (its
loop over the slices takes the histogram in the first pass and keeps it:
``if (histogram==null) histogram = ip.getHistogram()``; so since 2012,
ImageJ 1.46g).  ``scope="stack"`` is ImageJ's "Use stack histogram": one
table from the histogram of the whole stack (``StackStatistics``).
"""

from __future__ import annotations

import numpy as np

from .base import Method, RowLoop, bins_param, how_from_docstring, round_half_up

__all__ = ["IMAGEJ", "IMAGEJ_CLASSIC", "table", "table_loop", "java_round"]

_CHUNK = 1 << 20            # table entries per chunk of samples (bounds the intermediates)


def java_round(x):
    """Java's ``(int) Math.round(x)`` for the doubles of these loops, as float64.

    The nearest integer, halves up (:func:`~.base.round_half_up`); Java
    gives 0 for NaN (``0 * inf`` when a sample holds no pixel).

    Examples
    --------
    >>> java_round(np.array([0.5, 1.5, 2.5, 0.49999999999999994, np.nan])).tolist()
    [1.0, 2.0, 3.0, 0.0, 0.0]
    """
    out = round_half_up(x)
    return np.where(np.isnan(out), 0.0, out)


def _weights(counts, classic):
    """``getWeightedValue``: counts as doubles, square-rooted from 2 on unless classic."""
    w = counts.astype(np.float64)
    if not classic:
        np.sqrt(w, out=w, where=counts >= 2)
    return w


def _luts(counts, level, top, classic):
    """``lut[level] / max`` of ImageJ's loops for each sample (row) of ``counts``.

    ``level`` holds the level of each cell, in increasing order along a row;
    levels absent from the cells hold no pixel, and their weight 0 adds
    nothing to the Java sums (``sum + 0.0 == sum`` exactly), so running the
    loops over the cells alone repeats the Java additions exactly.
    """
    w = _weights(counts, classic)
    inner = (level > 0) & (level < top)
    # sum = w(0); sum += 2 * w(i) for the inner levels; sum += w(max).
    total = np.cumsum(np.where(inner, 2 * w, np.where(level <= top, w, 0.0)), axis=1)[:, -1]
    # sum = w(0); for each inner level: sum += w(i); lut[i] = round(sum * scale); sum += w(i).
    first = np.where(level == 0, w, 0.0).sum(axis=1)        # w(0): at most one cell
    half = np.where(inner, w, 0.0)
    steps = np.empty((w.shape[0], 2 * w.shape[1] + 1))
    steps[:, 0] = first
    steps[:, 1::2] = half
    steps[:, 2::2] = half
    running = np.cumsum(steps, axis=1)[:, 1::2]              # after the first += of each level
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = top / total                                  # double scale = range / sum
        lut = java_round(running * scale[:, np.newaxis])
    lut[level <= 0] = 0.0                                    # lut[0] = 0
    lut[level >= top] = top                                  # lut[max] = max (and beyond it)
    return lut / top


def table(cells, params, classic=False):
    """ImageJ's look-up table over the cells (8/16-bit levels, or bins), for many samples.

    Parameters
    ----------
    cells : Cells
        Counts per cell and each cell's level; ``max = cells.levels - 1``
        (255, 65535, or ``bins - 1``).
    params : dict
        Unused (``bins`` has made the cells already).
    classic : bool
        Plain counts as weights (ImageJ with the Alt key) instead of their
        square roots.

    Returns
    -------
    ndarray of float64, shape (samples, cells)
        ``lut / max``.
    """
    counts = cells.counts
    level = np.broadcast_to(cells.level, counts.shape)
    top = float(cells.levels) - 1
    out = np.empty(counts.shape)
    step = max(1, _CHUNK // max(counts.shape[1], 1))
    for r in range(0, counts.shape[0], step):
        out[r:r + step] = _luts(counts[r:r + step], level[r:r + step], top, classic)
    return out


def _classic_table(cells, params):
    return table(cells, params, classic=True)


def table_loop(counts, level0, levels, args, out):
    """:func:`table` of one sample, as a loop the engine compiles (``args``: classic 1, else 0).

    The very additions of :func:`_luts` in its order (its cumulative sums
    are sequential); ``out`` holds the weights until it holds the table.
    """
    classic = args[0] != 0.0
    top = levels - 1.0
    total = 0.0                                  # sum = w(0); sum += 2 * w(i); sum += w(max)
    first = 0.0
    for k in range(counts.shape[0]):
        level = level0 + k
        weight = np.float64(counts[k])
        if not classic and counts[k] >= 2:
            weight = np.sqrt(weight)
        out[k] = weight
        if 0 < level < top:
            total += 2 * weight
        elif level <= top:
            total += weight
        if level == 0:
            first = weight
    scale = top / total
    running = first                              # sum = w(0); sum += w(i); lut[i]; sum += w(i)
    for k in range(counts.shape[0]):
        level = level0 + k
        half = out[k] if 0 < level < top else 0.0
        running += half
        value = running * scale
        whole = np.floor(value)
        lut = whole + (1.0 if value - whole >= 0.5 else 0.0)
        if np.isnan(lut):                        # Java's (int) Math.round(NaN) is 0
            lut = 0.0
        running += half
        if level <= 0:
            lut = 0.0
        if level >= top:
            lut = top
        out[k] = lut / top


def _weighted_args(params):
    return (0.0,)


def _classic_args(params):
    return (1.0,)


def _bins():
    return bins_param(low=2, help="levels for float and 32/64-bit integer images: equal-width "
                                  "bins over the image's range (8- and 16-bit images use their "
                                  "256 or 65536 levels)")


_SOURCE = ("ImageJ ij/plugin/ContrastEnhancer.java (equalize(ImageProcessor, int[]), "
           "getWeightedValue), ImageJ 1.54")
_FORMULA = ("w<sub>k</sub> = {weight}; "
            "lut<sub>k</sub> = round(max &middot; (w<sub>0</sub> + 2 &Sigma;<sub>0&lt;j&lt;k</sub> "
            "w<sub>j</sub> + w<sub>k</sub>) / (w<sub>0</sub> + 2 &Sigma;<sub>0&lt;j&lt;max</sub> "
            "w<sub>j</sub> + w<sub>max</sub>)); T(r<sub>k</sub>) = lut<sub>k</sub> / max")
IMAGEJ = Method(
    name="imagej",
    label="ImageJ Equalize",
    summary="ImageJ's Process > Enhance Contrast > Equalize: square roots of the counts, "
            "accumulated to the middle of each level.",
    reference="ImageJ's Equalize (square-root weights): lut / 255 for 8-bit and lut / 65535 "
              "for 16-bit images, bit for bit; the same loops over bins for floats and wider "
              "integers",
    source=_SOURCE,
    formula=_FORMULA.format(
        weight="&radic;n<sub>k</sub> (n<sub>k</sub> when n<sub>k</sub> &le; 1)"),
    how=how_from_docstring(__doc__),
    params=(_bins(),),
    value_cells="ui",
    value_bits=16,
    table=table,
    table_loop=RowLoop(table_loop, _weighted_args),
)

IMAGEJ_CLASSIC = Method(
    name="imagej-classic",
    label="ImageJ Equalize (classic, Alt)",
    summary="ImageJ's Equalize with the Alt key: plain counts, accumulated to the middle of "
            "each level.",
    reference="ImageJ's Equalize with Alt held (plain counts): lut / 255 for 8-bit and lut / "
              "65535 for 16-bit images, bit for bit; the same loops over bins for floats and "
              "wider integers",
    source=_SOURCE,
    formula=_FORMULA.format(weight="n<sub>k</sub>"),
    how=how_from_docstring(__doc__),
    params=(_bins(),),
    value_cells="ui",
    value_bits=16,
    table=_classic_table,
    table_loop=RowLoop(table_loop, _classic_args),
)
