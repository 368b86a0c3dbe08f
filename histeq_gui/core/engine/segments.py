"""Per-segment tables for evaluating ``np.interp`` pixel by pixel (:func:`segments`).

A method's :class:`~histeq_gui.core.methods.base.Nodes` say what to
interpolate; the compiled mapping loop (``kernels.map_bins``) finds each
pixel's segment from its bin and evaluates ``slope * (x - start) + value``,
the very operations ``np.interp`` performs.  The slopes are computed here
with NumPy as ``np.interp`` computes them, ``(fp[j+1] - fp[j]) / (xp[j+1] -
xp[j])``, so the result is bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Segments", "segments", "finish"]


@dataclass
class Segments:
    """Flat per-segment tables for evaluating ``np.interp`` on many samples.

    Segment ``s * (nodes + 1) + j`` of sample ``s`` starts at ``start``; the value
    there is ``slope * (x - start) + value``, the very operations
    ``np.interp`` performs.  Constant ends have slope 0.  ``start`` is None
    for left-edge nodes, where the kernels use each pixel's lower bin edge.
    """

    start: np.ndarray
    slope: np.ndarray
    value: np.ndarray

    def finite(self, samples):
        """Per sample: True when every slope and value is finite.

        ``np.interp`` has fallbacks for non-finite slopes (bins a few
        subnormals wide, nodes that overflow near the largest float); the
        kernels do not, so those samples are mapped by ``np.interp`` itself.
        """
        return (np.isfinite(self.slope.reshape(samples, -1)).all(axis=1)
                & np.isfinite(self.value.reshape(samples, -1)).all(axis=1))


def segments(nodes):
    """Segment tables for the mapping kernels.

    Parameters
    ----------
    nodes : Nodes
        With ``anchor="left"`` the nodes are the left bin edges: segment
        ``k`` is bin ``k`` (the last bin is flat at ``fp[-1]``).  With
        ``anchor="centre"`` segment 0 is the flat part left of the first
        centre and segment ``j + 1`` starts at centre ``j``.

    Returns
    -------
    Segments
        Tables of ``samples * (nodes + 1)`` entries.
    """
    xp, fp = nodes.xp, nodes.fp
    samples, n = xp.shape
    shift = 0 if nodes.anchor == "left" else 1
    slopes = np.zeros((samples, n + 1))
    values = np.empty((samples, n + 1))
    with np.errstate(all="ignore"):
        slopes[:, shift:n - 1 + shift] = (fp[:, 1:] - fp[:, :-1]) / (xp[:, 1:] - xp[:, :-1])
    values[:, shift:n + shift] = fp
    if shift:
        values[:, 0] = fp[:, 0]
    else:
        values[:, n] = fp[:, n - 1]
    start = None
    if shift:
        start = np.empty((samples, n + 1))
        start[:, 1:] = xp
        start[:, 0] = xp[:, 0]
        start = start.ravel()
    return Segments(start, slopes.ravel(), values.ravel())


def finish(values, nodes):
    """Divide by the scale and round as the method's reference does (in place)."""
    if nodes.scale != 1.0:
        values /= nodes.scale
    if nodes.rounding != np.float64:
        values[...] = values.astype(nodes.rounding)
    return values
