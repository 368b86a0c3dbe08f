"""How the statistics table shows ``image_stats``: its column order, cell texts and headers.

Shared by the viewer's statistics panel and the napari plugin's statistics
widget; no Qt.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TABLE_ORDER", "format_cell", "header_label", "telling_flags"]


#: The table's columns, every one of ``image_stats``: what flags an image first, then
#: the scores behind the flags, the statistics, and what equalization does.
TABLE_ORDER = ("index", "name", "label", "is_dark", "is_light", "is_low_information",
               "is_blurry", "is_grayscale", "is_odd_aspect_ratio", "is_odd_size", "is_constant",
               "is_duplicate", "is_near_duplicate", "duplicate_of", "near_duplicate_of",
               "dark_score", "light_score", "low_information_score", "blurry_score",
               "grayscale_score", "odd_aspect_ratio_score", "odd_size_score",
               "exact_duplicates_score", "near_duplicates_score", "phash", "width", "height",
               "blurriness", "blurriness_grayscale_std", "mean", "std", "min", "max", "p01",
               "p99", "distinct", "nan_count", "inf_count", "entropy", "entropy_after",
               "distinct_after", "levels_lost", "mean_abs_change")


def format_cell(value):
    """A table value as shown: booleans "yes" or blank, integers as they are, 4 digits."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == int(value) and abs(value) < 1e9:
            return str(int(value))
        return f"{value:.1f}" if 1e4 <= abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


def header_label(name):
    """A column's header: its name, on two lines (at an underscore) when it is long."""
    if len(name) <= 7 or "_" not in name:
        return name
    cuts = [i for i, c in enumerate(name) if c == "_"]
    best = min(cuts, key=lambda i: max(i + 1, len(name) - i - 1))
    return name[:best + 1] + "\n" + name[best + 1:]


def telling_flags(table) -> dict:
    """The flag columns of ``table`` (``is_*``), each a bool array, that tell images apart.

    Grayscale counts only in a stack that also holds colour images: in a
    stack of gray images CleanVision's grayscale flag is on every image and
    tells nothing about any one of them (the column still says it).

    Examples
    --------
    >>> table = {"is_dark": np.array([True, False]), "is_grayscale": np.array([True, True])}
    >>> sorted(telling_flags(table))
    ['is_dark']
    """
    flags = {c: np.asarray(table[c], bool) for c in TABLE_ORDER
             if c.startswith("is_") and c in table}
    if "is_grayscale" in flags and flags["is_grayscale"].all():
        del flags["is_grayscale"]
    return flags
