"""A method registered for one test, with parameters of every kind a front end must carry.

``power-test`` is a node method: the seed recipe's left-edge nodes with the
CDF raised to ``power`` (float), floored at ``floor_level / 100`` (int, a
name with an underscore: ``--floor-level`` on the command line) and turned
upside down with ``curve="down"`` (str with choices).  Each parameter
changes the result, so a test can tell that a value reached the hook.  Its
hook is a module-level function, so a Dask worker can unpickle it.
"""

from contextlib import contextmanager

import numpy as np

from histeq_gui.core.methods import Method, Nodes, Param, bins_param, register, unregister

__all__ = ["POWER", "power_nodes", "registered", "power_reference"]


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


@contextmanager
def registered(method=POWER):
    """``method`` in the registry for the duration of the block."""
    register(method)
    try:
        yield method
    finally:
        unregister(method.name)
