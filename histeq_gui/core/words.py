"""Counts said in words: "1 image", "2 images", "1,800 images" (messages, titles, summaries)."""

from __future__ import annotations

__all__ = ["count"]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, in the plural unless ``n`` is 1, with thousands separated.

    Examples
    --------
    >>> count(1, "image"), count(1800, "image"), count(2, "PNG file"), count(0, "pixel")
    ('1 image', '1,800 images', '2 PNG files', '0 pixels')
    >>> count(3, "index", "indices")
    '3 indices'
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
