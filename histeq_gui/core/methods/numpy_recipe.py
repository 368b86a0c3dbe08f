"""``numpy``: the recipe of the Q&A thread this program starts from.

``np.histogram(image, bins, density=True)``; its cumulative sum, scaled to
``255 * cdf / cdf[-1]``; each pixel becomes ``np.interp(pixel, left bin
edges, cdf) / 255``.  Anchoring the CDF at the LEFT bin edges shifts every
pixel up by up to one bin: the pixel at a bin's left edge already gets
that bin's whole count (scikit-image's bin centres avoid that).

The density divides each count by the bin width taken in the bin dtype
(float16 widths round in float16) and by the number of pixels; here row by
row, the same operations in the same order, so the result is bit for bit
the per-image recipe's.
"""

from __future__ import annotations

import numpy as np

from .base import Method, Nodes, RowLoop, bins_param, how_from_docstring

__all__ = ["METHOD", "nodes", "nodes_loop"]


def nodes(counts, edges, dtype, params):
    """Nodes of the seed recipe: the density CDF scaled to 255 at the LEFT bin edges.

    ``np.histogram(density=True)`` is ``n / db / n.sum()`` with ``db`` the
    bin widths taken in the bin dtype (float16 widths round in float16), then
    ``cumsum`` and ``255 * cdf / cdf[-1]``; here row by row, the same
    operations in the same order, so bit-identical to the per-image recipe.
    An empty sample gives NaN.
    """
    with np.errstate(all="ignore"):
        widths = np.diff(edges, axis=1).astype(np.float64)
        density = counts / widths / counts.sum(axis=1, keepdims=True)
        cdf = np.cumsum(density, axis=1)
        fp = 255 * cdf / cdf[:, -1:]
    return Nodes(edges[:, :-1].astype(np.float64, copy=False), fp, 255.0, anchor="left")


def nodes_loop(counts, edges, args, fp):
    """:func:`nodes` of one sample, as a loop the engine compiles (the same bits)."""
    bins = counts.shape[0]
    total = 0
    for k in range(bins):
        total += counts[k]
    pixels = np.float64(total)
    cdf = 0.0
    for k in range(bins):
        cdf += counts[k] / (edges[k + 1] - edges[k]) / pixels
        fp[k] = cdf
    for k in range(bins):
        fp[k] = 255 * fp[k] / cdf


METHOD = Method(
    name="numpy",
    label="NumPy recipe",
    summary="The Q&A thread's answer: np.histogram CDF interpolated at the LEFT bin edges.",
    reference="the NumPy answer of the seed Q&A thread (image_histogram_equalization), "
              "divided by 255",
    source="http://www.janeriksolem.net/histogram-equalization-with-python-and.html "
           "(written out in tests/core/references.py: seed_recipe)",
    formula=("C<sub>k</sub> = &Sigma;<sub>j&le;k</sub> n<sub>j</sub> / (N &Delta;<sub>j</sub>) "
             "(np.histogram's density, cumulated); "
             "T(x) = interp(x, left edges e<sub>k</sub>, 255 C<sub>k</sub> / C<sub>K</sub>) / 255"),
    how=how_from_docstring(__doc__),
    params=(bins_param(help="number of equal-width bins over the image's range"),),
    nodes=nodes,
    nodes_loop=RowLoop(nodes_loop, scale=255.0),
)
