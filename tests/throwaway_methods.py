"""A method registered for one test, with parameters of every kind a front end must carry.

``power-test`` is a node method: the seed recipe's left-edge nodes with the
CDF raised to ``power`` (float), floored at ``floor_level / 100`` (int, a
name with an underscore: ``--floor-level`` on the command line) and turned
upside down with ``curve="down"`` (str with choices).  Each parameter
changes the result, so a test can tell that a value reached the hook.  Its
hook is a module-level function, so a Dask worker can unpickle it.

``half-test`` is a node method with a compiled loop (``nodes_loop``) whose
nodes are infinite where half of an image's pixels lie at or below a bin
(``1 / (cdf - 0.5)``): the engine must map such images with ``np.interp``,
as it does without the loop.

``rank-test`` is a whole-image method with both an ``image`` hook and an
``images`` hook (many images at once): each pixel becomes the fraction of
the image's selected finite pixels at or below it, to the ``power``.
"""

from contextlib import contextmanager

import numpy as np

from histeq_gui.core.methods import Method, Nodes, Param, RowLoop, bins_param, register, unregister

__all__ = ["POWER", "power_nodes", "registered", "power_reference", "HALF", "half_nodes",
           "half_loop", "RANK", "rank_image", "rank_images"]


def power_nodes(counts, edges, dtype, params):
    """The nodes: left bin edges, ``max(cdf ** power, floor_level / 100)``, flipped if "down"."""
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        cdf = np.cumsum(counts, axis=1) / total
    fp = np.maximum(cdf ** params["power"], params["floor_level"] / 100)
    if params["curve"] == "down":
        fp = 1 - fp
    return Nodes(edges[:, :-1].astype(np.float64), fp)


def power_reference(image, bins, power=1.0, floor_level=0, curve="up"):
    """The same map written out with NumPy for one image (finite pixels only)."""
    counts, edges = np.histogram(image, bins)
    cdf = np.cumsum(counts) / counts.sum()
    fp = np.maximum(cdf ** power, floor_level / 100)
    if curve == "down":
        fp = 1 - fp
    return np.interp(image, edges[:-1], fp)


POWER = Method(
    name="power-test", label="Power", summary="The CDF to a power.",
    reference="cdf ** power", source="tests/throwaway_methods.py", how="Raises the CDF.",
    params=(bins_param(),
            Param("power", 1.0, float, "exponent of the CDF", low=0.5, high=4),
            Param("floor_level", 0, int, "lowest output, in percent", low=0, high=100),
            Param("curve", "up", str, "direction of the map", choices=("up", "down"))),
    nodes=power_nodes)


def half_nodes(counts, edges, dtype, params):
    """Left-edge nodes ``1 / (cdf - 0.5)``: infinite at a bin holding exactly half the pixels."""
    with np.errstate(all="ignore"):
        cdf = np.cumsum(counts, axis=1) / counts.sum(axis=1, keepdims=True)
        fp = 1 / (cdf - 0.5)
    return Nodes(edges[:, :-1].astype(np.float64), fp, 4.0)


def half_loop(counts, edges, args, fp):
    """:func:`half_nodes` of one sample, as a loop for numba."""
    total = 0
    for k in range(counts.shape[0]):
        total += counts[k]
    cumulative = 0
    for k in range(counts.shape[0]):
        cumulative += counts[k]
        fp[k] = 1 / (cumulative / total - 0.5)


HALF = Method(
    name="half-test", label="Half", summary="Infinite nodes at the median.",
    reference="1 / (cdf - 0.5)", source="tests/throwaway_methods.py", how="Inverts the CDF.",
    params=(bins_param(),), nodes=half_nodes, nodes_loop=RowLoop(half_loop, scale=4.0))


def rank_image(pixels, mask, params):
    """Each pixel: the fraction of the selected finite pixels at or below it, to ``power``."""
    x = np.asarray(pixels, np.float64)
    chosen = np.isfinite(x) if mask is None else np.isfinite(x) & mask
    ranked = np.sort(x[chosen])
    return (np.searchsorted(ranked, x, side="right") / ranked.size) ** params["power"]


def rank_images(pixels, params, out):
    """:func:`rank_image` of every image of an ``(n, H, W)`` block, written into ``out``."""
    flat = pixels.reshape(len(pixels), -1).astype(np.float64)
    ranked = np.sort(flat, axis=1)                          # NaN last
    finite = np.isfinite(ranked).sum(axis=1)
    for i, row in enumerate(flat):
        below = np.searchsorted(ranked[i, :finite[i]], row, side="right")
        out[i] = (below / finite[i]).reshape(out.shape[1:]) ** params["power"]


RANK = Method(
    name="rank-test", label="Rank", summary="Each pixel's rank.", reference="rank ** power",
    source="tests/throwaway_methods.py", how="The fraction of pixels at or below each.",
    params=(Param("power", 1.0, float, "exponent of the rank", low=0.5, high=4),),
    scopes=("image",), image=rank_image, images=rank_images)


@contextmanager
def registered(method=POWER):
    """``method`` in the registry for the duration of the block."""
    register(method)
    try:
        yield method
    finally:
        unregister(method.name)
