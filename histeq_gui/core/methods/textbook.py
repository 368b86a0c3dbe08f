"""``textbook``: the textbook's discrete formula ``s_k = round((L - 1) * CDF(r_k))``.

Gonzalez & Woods, *Digital Image Processing* (3rd ed., Section 3.3.1,
Eq. 3.3-8; Example 3.5 and Table 3.1): an image of ``MN`` pixels with
``n_j`` pixels at level ``r_j`` is equalized by

    s_k = T(r_k) = (L - 1) * sum_{j <= k} n_j / MN,

"rounded to the nearest integer".  Here:

- ``c_k`` is the number of counted pixels at or below the pixel's cell,
  ``N`` the number of counted pixels;
- ``s_k = round_half_up((L - 1) * c_k / N)``, computed in float64 as
  ``((L - 1) * c_k) / N`` (the product is exact while it stays below
  2**53, so the ties are exact: with ``L`` up to 65536 for fewer than 2**37
  pixels), then rounded to the nearest integer with halves rounded UP
  (2.5 -> 3; hand computation's rule, and Java's; ``np.rint`` would give 2);
- the result is ``s_k / (L - 1)`` in [0, 1], so ``(L - 1) * equalize(x,
  "textbook", levels=L)`` rounds back to ``s_k`` exactly (the teaching
  table's ``s`` column).

Cells and ``L`` for each dtype:

- **integers**: one cell per integer value (``r_k`` the level, value minus
  the dtype's minimum; values that no pixel holds have no cell, which
  changes nothing: the CDF is flat there).  ``L`` defaults to the dtype's
  number of levels: 256 for (u)int8, 65536 for (u)int16, 2**32 and 2**64
  for 32- and 64-bit integers (where ``s_k / (L - 1)`` is the CDF rounded
  to float64's precision).  ``bins`` is not used.
- **floats**: ``bins`` equal-width bins over the image's range, exactly as
  ``np.histogram(image, bins)`` makes and fills them, are the cells; each
  pixel takes its bin's value.  ``L`` defaults to ``bins``.
- ``L`` may differ from the number of input levels: ``levels=8`` on a uint8
  image quantises the output to 8 levels (``s_k / 7``); a larger ``L`` only
  rounds more finely.
- **masks**: the counted pixels make the CDF, every pixel is mapped: an
  integer value below every counted one has ``c_k = 0``, so ``s_k = 0``; a
  float outside the counted range takes the nearest bin.
- **NaN and inf** are left out and come back NaN; a constant image (every
  counted pixel at one level) maps to 1, as the formula says.
- ``scope="stack"``: the CDF of the whole stack.
"""

from __future__ import annotations

import numpy as np

from .base import Method, Param, RowLoop, bins_param, how_from_docstring, round_half_up

__all__ = ["METHOD", "table", "table_loop", "default_levels"]

MAX_LEVELS = 2 ** 64


def default_levels(dtype, bins=256):
    """``L`` when none is given: the dtype's number of levels for integers, ``bins`` for floats.

    Examples
    --------
    >>> default_levels(np.dtype("uint8")), default_levels(np.dtype("int16"))
    (256, 65536)
    >>> default_levels(np.dtype("float32"), 100)
    100
    """
    dtype = np.dtype(dtype)
    return 2 ** (8 * dtype.itemsize) if dtype.kind in "iu" else int(bins)


def table(cells, params):
    """``round_half_up((L - 1) * c_k / N) / (L - 1)`` for every cell of every sample.

    Parameters
    ----------
    cells : Cells
        Counts per cell (integer value or bin), in increasing order.
    params : dict
        ``levels``: ``L``.

    Returns
    -------
    ndarray of float64, shape (samples, cells)
        ``s_k / (L - 1)``; NaN for a sample without pixels.
    """
    top = float(params["levels"] - 1)
    cumulative = np.cumsum(cells.counts, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = (top * cumulative) / cumulative[:, -1:]
    return round_half_up(scaled) / top


def table_loop(counts, level0, levels, args, out):
    """:func:`table` of one sample, as a loop the engine compiles (``args``: ``L - 1``)."""
    top = args[0]
    total = 0
    for k in range(counts.shape[0]):
        total += counts[k]
    cumulative = 0
    for k in range(counts.shape[0]):
        cumulative += counts[k]
        scaled = (top * np.float64(cumulative)) / np.float64(total)
        whole = np.floor(scaled)
        out[k] = (whole + (1.0 if scaled - whole >= 0.5 else 0.0)) / top


def _loop_args(params):
    return (float(params["levels"] - 1),)


METHOD = Method(
    name="textbook",
    label="Textbook (Gonzalez and Woods)",
    summary="The textbook's discrete formula: s_k = round((L - 1) * CDF(r_k)), output s_k / "
            "(L - 1).",
    reference="Gonzalez and Woods' discrete histogram equalization: s_k = round((L - 1) * "
              "(n_0 + ... + n_k) / MN), output s_k / (L - 1); their Example 3.5 (L = 8) "
              "reproduced",
    source="R. C. Gonzalez, R. E. Woods, Digital Image Processing, 3rd ed., Section 3.3.1 "
           "(Eq. 3.3-8), Example 3.5 and Table 3.1",
    formula=("s<sub>k</sub> = round((L &minus; 1) &Sigma;<sub>j&le;k</sub> n<sub>j</sub> / N); "
             "T(r<sub>k</sub>) = s<sub>k</sub> / (L &minus; 1)"),
    how=how_from_docstring(__doc__),
    params=(bins_param(dtypes="f", low=2, help="number of equal-width bins for float images "
                                               "(integer images: one cell per value)"),
            Param("levels", default_levels, int,
                  "L, the number of output levels: s = round((L - 1) * cdf), output s / (L - 1)",
                  low=2, high=MAX_LEVELS,
                  default_text="the dtype's levels for integers (256 for uint8, 65536 for "
                               "uint16), bins for floats")),
    value_cells="ui",
    table=table,
    table_loop=RowLoop(table_loop, _loop_args),
)
