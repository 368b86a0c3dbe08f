"""The export's output dtypes, and equalized values converted to them.

:func:`output_dtype` names what an export writes for each choice of
:data:`~histeq_gui.core.choices.OUTPUT_DTYPES`; :func:`convert` turns the
API's float64 values in [0, 1] into it.  The export pipeline, the engine's
integer output path (``equalize(..., dtype=)``) and the viewer's axes all
use these two, so they agree to the bit.  (:mod:`histeq_gui.core.export`
re-exports both.)
"""

from __future__ import annotations

import numpy as np

from .choices import OUTPUT_DTYPES

__all__ = ["output_dtype", "convert"]


def output_dtype(dtype, input_dtype):
    """The dtype an export writes for ``dtype`` (one of :data:`OUTPUT_DTYPES`).

    ``"same"`` gives the input's dtype in native byte order; the other names
    give themselves.

    Examples
    --------
    >>> output_dtype("same", ">u2"), output_dtype("float32", "uint8")
    (dtype('uint16'), dtype('float32'))
    """
    if dtype not in OUTPUT_DTYPES:
        raise ValueError(f"unknown output dtype {dtype!r}; choose one of: "
                         f"{', '.join(OUTPUT_DTYPES)}")
    if dtype != "same":
        return np.dtype(dtype)
    source = np.dtype(input_dtype)
    if source.kind not in "iuf":
        raise ValueError(f"dtype 'same' keeps integer or float input dtypes, not {source}; "
                         "choose uint8, uint16, float32 or float64")
    return source.newbyteorder("=")


def convert(values, dtype, input_dtype):
    """Convert equalized values (float64 in [0, 1], NaN allowed) to an output dtype.

    Parameters
    ----------
    values : array_like of float64
        Equalized values, as :func:`histeq_gui.equalize` returns them.
    dtype : {"same", "uint8", "uint16", "float32", "float64"}
        Output dtype; ``"same"`` means the input's dtype (see
        :func:`output_dtype`).
    input_dtype : dtype-like
        Dtype of the images that were equalized (used by ``"same"``).

    Returns
    -------
    ndarray
        Same shape as ``values``.

    Notes
    -----
    Integer outputs use their full range: ``min + rint(v * (max - min))``,
    computed in float64 and clipped to the dtype's range, so uint8 gets
    ``rint(255 * v)``, uint16 ``rint(65535 * v)`` and int8 ``-128 + rint(255 * v)``.
    :func:`numpy.rint` rounds half to even: ``v = 0.5`` gives 128 for uint8
    (127.5 -> 128) and 32768 for uint16 (32767.5 -> 32768).  NaN becomes the
    dtype's minimum (0 for unsigned types).

    Float outputs keep the values in [0, 1], rounded to the nearest value of
    the float type; NaN stays NaN.  ``"float64"`` is exactly what the API
    returns.

    Examples
    --------
    >>> convert([0.0, 0.5, 1.0, np.nan], "uint8", "float32").tolist()
    [0, 128, 255, 0]
    >>> convert([0.0, 1.0], "same", "int16").tolist()
    [-32768, 32767]
    """
    target = output_dtype(dtype, input_dtype)
    values = np.asarray(values, dtype=np.float64)
    if target.kind == "f":
        return values.astype(target)
    info = np.iinfo(target)
    low, high = float(info.min), float(info.max)
    scaled = np.multiply(values, high - low)
    np.rint(scaled, out=scaled)
    scaled += low
    np.clip(scaled, low, high, out=scaled)
    scaled[np.isnan(scaled)] = low
    # float(max) of a 64-bit type rounds up to 2**63 or 2**64, which no cast can hold.
    top = scaled >= high
    scaled[top] = 0
    out = scaled.astype(target)
    out[top] = info.max
    return out
