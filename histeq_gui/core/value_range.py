"""The range of values over which :func:`~histeq_gui.core.stats.image_stats` scores brightness.

CleanVision divides 8-bit pixels by 255: an image is dark when its 99th
percentile lies below 0.32 of that range.  For other data the range must be
chosen, and a poor choice makes the flags say nothing: 12-bit microscopy in
16-bit files scored over 0..65535 is all "dark", and one pixel of 1e30 in
a float stack makes every image "dark" if the stack's extremes are the
range.  :func:`resolve_value_range` makes the choice explicit
(``value_range=`` of ``image_stats``, ``histeq --value-range``, the
statistics table's caption):

- ``"auto"`` (default): uint8 and int8 their dtype's range, as CleanVision;
  wider integers the smallest of ImageJ's "16-bit range" bit depths (8, 10,
  12, 14, 15 or 16 bits) that holds every value of the stack when none is
  negative (12-bit data in uint16: 0..4095), else the dtype's range; floats
  [0, 1] when every finite value lies in it, else the stack's saturated
  percentiles, ImageJ's automatic contrast as the viewer's display uses it
  (:func:`~histeq_gui.core.display.saturated_levels`, 0.35 %: the 0.175th
  and 99.825th percentiles of the finite values), which one outlier
  cannot move;
- ``"dtype"``: the dtype's range (floats: [0, 1]);
- ``"data"``: the stack's smallest and largest finite value;
- ``(lo, hi)``: these two numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np

from .display import DEFAULT_SATURATED, dtype_range, saturated_levels

__all__ = ["RULES", "BIT_DEPTHS", "SAMPLE_VALUES", "ValueRange", "check_value_range",
           "needs_scan", "resolve_value_range", "parse_value_range"]

#: The named rules of ``value_range`` (a pair of numbers is the fifth choice).
RULES = ("auto", "dtype", "data")

#: ImageJ's "16-bit range" choices (Edit > Options > Appearance), in bits.
BIT_DEPTHS = (8, 10, 12, 14, 15, 16)

#: Values of a big float stack the saturated percentiles are taken from: every
#: k-th value of the stack in order, so that at most this many are held.
SAMPLE_VALUES = 1 << 22


class ValueRange(NamedTuple):
    """The range ``[lo, hi]`` of the brightness scale and how it was chosen.

    ``rule`` names it in words, e.g. ``"12-bit range 0..4095"``; ``spec``
    is what was asked (``"auto"``, ``"dtype"``, ``"data"`` or ``"given"``).
    """

    lo: float
    hi: float
    rule: str
    spec: str


def check_value_range(value_range) -> str | tuple:
    """``value_range`` as a rule name or a ``(lo, hi)`` pair of floats, else a one-line ValueError.

    Examples
    --------
    >>> check_value_range(None), check_value_range("Data"), check_value_range([0, 4095])
    ('auto', 'data', (0.0, 4095.0))
    """
    if value_range is None:
        return "auto"
    if isinstance(value_range, str):
        word = value_range.strip().lower()
        if word in RULES:
            return word
        raise ValueError(f"unknown value range {value_range!r}; choose 'auto', 'dtype', 'data' "
                         "or two numbers lo,hi")
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value range {value_range!r} is not 'auto', 'dtype', 'data' or two "
                         "numbers (lo, hi)") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"value range ({lo:g}, {hi:g}) needs two finite numbers with "
                         "lo < hi")
    return lo, hi


def parse_value_range(text: str) -> str | tuple:
    """The spelling ``histeq --value-range`` takes: a rule name or ``LO,HI``.

    Examples
    --------
    >>> parse_value_range("auto"), parse_value_range("0,4095")
    ('auto', (0.0, 4095.0))
    """
    text = str(text).strip()
    if "," in text:
        parts = text.split(",")
        try:
            return check_value_range([float(p) for p in parts])
        except ValueError:
            raise ValueError(f"{text!r} is not two numbers LO,HI with LO < HI") from None
    return check_value_range(text)


def needs_scan(value_range, dtype) -> bool:
    """Whether :func:`resolve_value_range` reads the data for this choice and dtype."""
    spec = check_value_range(value_range)
    dtype = np.dtype(dtype)
    return spec == "data" or (spec == "auto" and not (dtype.kind in "iu" and dtype.itemsize == 1))


def resolve_value_range(value_range, dtype, scan: Callable[[], Iterable[np.ndarray]]
                        ) -> ValueRange:
    """The brightness range of a stack of ``dtype`` for ``value_range``.

    Parameters
    ----------
    value_range : None, str or pair of float
        See the module's docstring (None: ``"auto"``).
    dtype : dtype-like
        The stack's dtype (integer or float).
    scan : callable
        ``scan()`` yields the stack's values as arrays of any shape, a
        block at a time; called at most once, and only when the rule needs
        the data (not for 8-bit integers, ``"dtype"`` or a pair).

    Returns
    -------
    ValueRange

    Examples
    --------
    >>> twelve = np.array([[0, 4000], [17, 4095]], np.uint16)
    >>> resolve_value_range("auto", twelve.dtype, lambda: [twelve])[:3]
    (0.0, 4095.0, '12-bit range 0..4095 (ImageJ)')
    >>> outlier = np.array([0.5, 2.0, 1e30])
    >>> resolve_value_range("data", outlier.dtype, lambda: [outlier]).hi
    1e+30
    """
    spec = check_value_range(value_range)
    dtype = np.dtype(dtype)
    if isinstance(spec, tuple):
        return ValueRange(spec[0], spec[1], f"given {spec[0]:g}..{spec[1]:g}", "given")
    integer = dtype.kind in "iu"
    lo, hi = dtype_range(dtype)
    if not needs_scan(spec, dtype):
        name = f"{dtype} range" if integer else "float range"
        why = " (CleanVision)" if dtype == np.uint8 else ""
        return ValueRange(lo, hi, f"{name} {_number(lo)}..{_number(hi)}{why}", spec)
    found = _scan(scan, floating=not integer, sample=spec == "auto" and not integer)
    if found is None:                                  # no finite value at all
        return ValueRange(lo, hi, f"no finite value: {_number(lo)}..{_number(hi)}", spec)
    low, high, sample = found
    if spec == "data":
        return ValueRange(low, high, f"data range {_number(low)}..{_number(high)}", spec)
    if integer:
        if low >= 0:
            for bits in BIT_DEPTHS:
                top = float(2 ** bits - 1)
                if high <= top and top <= hi:
                    return ValueRange(0.0, top, f"{bits}-bit range 0..{int(top)} (ImageJ)",
                                      spec)
        return ValueRange(lo, hi, f"{dtype} range {_number(lo)}..{_number(hi)}", spec)
    if low >= 0.0 and high <= 1.0:
        return ValueRange(0.0, 1.0, "float range 0..1", spec)
    p_lo, p_hi = saturated_levels(sample, DEFAULT_SATURATED)
    if not p_lo < p_hi:                # most values equal: the data's range, else one unit
        p_lo, p_hi = (low, high) if low < high else (low, low + 1.0)
        return ValueRange(p_lo, p_hi, f"data range {_number(p_lo)}..{_number(p_hi)}", spec)
    return ValueRange(p_lo, p_hi, f"{DEFAULT_SATURATED:g}% saturated {_number(p_lo)}.."
                      f"{_number(p_hi)} (ImageJ auto)", spec)


def _scan(scan, floating, sample):
    """``(min, max, sample)`` of the finite values, or None when there is none.

    ``sample``: also keep every k-th finite value, k doubling whenever more
    than :data:`SAMPLE_VALUES` are held, so that the percentiles of a stack
    of any size come from at most that many evenly spread values (all of
    them for a smaller stack).
    """
    low, high = np.inf, -np.inf
    kept, held, step, position = [], 0, 1, 0
    for block in scan():
        values = np.asarray(block).reshape(-1)
        if floating:
            values = values[np.isfinite(values)]
        if not values.size:
            continue
        low = min(low, float(values.min()))
        high = max(high, float(values.max()))
        if not sample:
            continue
        start = (-position) % step
        position += values.size
        kept.append(values[start::step].astype(np.float64))
        held += kept[-1].size
        while held > SAMPLE_VALUES:        # keep every other one: every 2k-th of the stack
            kept = [np.concatenate(kept)[::2]]
            step *= 2
            held = sum(k.size for k in kept)
    if low > high:
        return None
    return low, high, (np.concatenate(kept) if kept else np.zeros(0))


def _number(value):
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
