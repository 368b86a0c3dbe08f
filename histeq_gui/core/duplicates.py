"""Exact and near duplicates among a stack's images, as CleanVision finds them, in bounded memory.

:func:`exact_duplicates` groups images by a digest of their pixels and
confirms every match by comparing the bytes once more, so that memory holds
16 bytes per image, never a copy of one.  :func:`near_duplicate_sets` groups
perceptual hashes that are equal (CleanVision's rule) or, with a radius,
within that many differing bits, by multi-index hashing
(:func:`~histeq_gui.core.stats_kernels.hamming_sets`): the work grows with
the number of images and the pairs that share a block of bits, not with the
number of pairs.  :func:`set_scores` gives CleanVision's score of a set
member, one over the size of its set.

Sets are given as an int64 array ``first`` with one entry per image: the
index of the set's first image for every member (that image included), -1
for an image in no set.

CleanVision (https://github.com/cleanlab/cleanvision v0.3.7, commit
2f69ae8a, ``src/cleanvision/issue_managers/duplicate_issue_manager.py``):
exact duplicates share ``hashlib.md5(np.asarray(image).tobytes())``, near
duplicates ``str(imagehash.phash(image, hash_size=8))``; a set is every
group of more than one image; a near-duplicate set with exactly the members
of an exact-duplicate set is dropped (``_remove_exact_duplicates_from_near``);
a member's score is ``1 / len(set)``, 1 for the other images, and a member
has the issue (``score != 1``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from itertools import combinations

import numpy as np

from .stats_kernels import hamming_sets

__all__ = ["MAX_RADIUS", "image_digest", "exact_duplicates", "near_duplicate_sets",
           "drop_exact_sets", "set_scores", "hamming_search_plan", "check_radius"]

#: Largest Hamming radius :func:`near_duplicate_sets` accepts (of 64 bits).
MAX_RADIUS = 10


def image_digest(pixels: np.ndarray, shape: tuple) -> bytes:
    """MD5 of an image's shape and pixel bytes (16 bytes), its key among the stack's images.

    ``pixels`` is any C-contiguous array (it is not copied).  The shape is
    hashed too, so that a 10x20 and a 20x10 image of the same bytes differ
    (CleanVision's MD5 of the bytes alone calls them duplicates).
    """
    digest = hashlib.md5(repr(tuple(int(s) for s in shape)).encode())
    digest.update(np.ascontiguousarray(pixels).view(np.uint8).reshape(-1))
    return digest.digest()


def exact_duplicates(digests: list, same: Callable[[int, int], bool]) -> np.ndarray:
    """Sets of images with the same pixels: the first member's index per image, else -1.

    Parameters
    ----------
    digests : list of bytes
        :func:`image_digest` of every image, in order.
    same : callable
        ``same(i, j)`` is True when images ``i`` and ``j`` hold the same
        shape and bytes (it reads them again and compares).  Called once for
        each image whose digest an earlier image has, with that set's first
        image: a digest collision never makes two images duplicates.

    Returns
    -------
    ndarray of int64
        ``first`` (see the module's docstring).
    """
    first = np.full(len(digests), -1, np.int64)
    seen = {}                           # digest -> the first image of each set with it
    for i, key in enumerate(digests):
        heads = seen.setdefault(key, [])
        j = next((j for j in heads if same(j, i)), None)
        if j is None:
            heads.append(i)
        else:
            first[i] = first[j] = j
    return first


def hamming_search_plan(radius: int) -> tuple:
    """Blocks of the 64 bits and the masks to try in each, for a search within ``radius`` bits.

    ``radius + 1`` blocks up to 4 (each compared exactly: a pair within
    ``radius`` agrees on one of them), else 4 blocks of 16 bits compared
    within ``radius // 4`` bits.  Returns ``(shifts, widths, patterns,
    counts)`` as :func:`~histeq_gui.core.stats_kernels.hamming_sets` takes them.
    """
    blocks = min(radius + 1, 4)
    inner = radius // blocks
    cuts = [round(64 * b / blocks) for b in range(blocks + 1)]
    shifts = np.array(cuts[:-1], np.int64)
    widths = np.diff(cuts).astype(np.int64)
    masks = []
    for width in widths:
        found = [0]
        for k in range(1, inner + 1):
            found += [sum(1 << bit for bit in bits) for bits in combinations(range(width), k)]
        masks.append(found)
    counts = np.array([len(m) for m in masks], np.int64)
    patterns = np.zeros((blocks, int(counts.max())), np.uint64)
    for b, found in enumerate(masks):
        patterns[b, :len(found)] = found
    return shifts, widths, patterns, counts


def near_duplicate_sets(hashes: np.ndarray, radius: int = 0, *,
                        report: dict | None = None) -> np.ndarray:
    """Sets of images whose perceptual hashes are within ``radius`` bits of each other.

    Parameters
    ----------
    hashes : ndarray of uint64
        One 64-bit hash per image.
    radius : int
        0 (CleanVision's rule): images with equal hashes form a set.  Up to
        :data:`MAX_RADIUS`: two images whose hashes differ in at most
        ``radius`` bits are in one set, and sets that share an image are one
        set (single linkage).
    report : dict, optional
        Receives ``"compared"``: the pairs of distinct hashes compared.

    Returns
    -------
    ndarray of int64
        ``first`` (see the module's docstring).

    Raises
    ------
    ValueError
        For a radius that is not a whole number in 0..MAX_RADIUS.

    Examples
    --------
    >>> h = np.array([0b1011, 0b1011, 0b0011, 0xFF00], np.uint64)
    >>> near_duplicate_sets(h).tolist(), near_duplicate_sets(h, radius=1).tolist()
    ([0, 0, -1, -1], [0, 0, 0, -1])
    """
    radius = check_radius(radius)
    hashes = np.asarray(hashes, np.uint64).reshape(-1)
    n = len(hashes)
    if n == 0:
        return np.zeros(0, np.int64)
    unique, inverse = np.unique(hashes, return_inverse=True)
    inverse = inverse.reshape(-1)
    label = np.arange(len(unique), dtype=np.int64)
    compared = 0
    if radius > 0 and len(unique) > 1:
        compared = int(hamming_sets(unique, radius, *hamming_search_plan(radius), label))
    if report is not None:
        report["compared"] = compared
    group = label[inverse]                             # one label per image
    size = np.bincount(group, minlength=len(unique))
    first_of = np.full(len(unique), n, np.int64)
    np.minimum.at(first_of, group, np.arange(n, dtype=np.int64))
    return np.where(size[group] > 1, first_of[group], -1)


def drop_exact_sets(near: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """``near`` without the sets whose members are exactly those of an exact-duplicate set.

    CleanVision's ``_remove_exact_duplicates_from_near``: two copies of an
    image are an exact duplicate, not also a near-duplicate set; a set of
    two copies and a re-encoded third stays.
    """
    near = np.asarray(near, np.int64).copy()
    members = near >= 0
    if not members.any():
        return near
    n = len(near)
    near_size = np.bincount(near[members], minlength=n)
    exact_size = np.bincount(exact[exact >= 0], minlength=n)
    # Per near set: does one exact set hold all its members?
    key = near[members]
    ex = exact[members]
    lowest = np.full(n, n, np.int64)
    highest = np.full(n, -1, np.int64)
    np.minimum.at(lowest, key, ex)
    np.maximum.at(highest, key, ex)
    one_exact = (lowest == highest) & (highest >= 0)
    same = one_exact & (near_size == exact_size[np.maximum(highest, 0)])
    near[members & same[np.maximum(near, 0)]] = -1
    return near


def set_scores(first: np.ndarray) -> np.ndarray:
    """CleanVision's duplicate score: ``1 / len(set)`` for a set's members, 1.0 otherwise."""
    first = np.asarray(first, np.int64)
    size = np.bincount(first[first >= 0], minlength=len(first))
    scores = np.ones(len(first))
    members = first >= 0
    scores[members] = 1.0 / size[first[members]]
    return scores


def check_radius(radius) -> int:
    """``radius`` as an int in 0..MAX_RADIUS, else a one-line ValueError."""
    whole = isinstance(radius, (int, np.integer)) and not isinstance(radius, (bool, np.bool_))
    if isinstance(radius, (float, np.floating)) and float(radius).is_integer():
        radius, whole = int(radius), True
    if not whole or not 0 <= radius <= MAX_RADIUS:
        raise ValueError(f"near_duplicate_radius must be a whole number of bits from 0 to "
                         f"{MAX_RADIUS}, got {radius!r}; 0 is CleanVision's rule (equal "
                         "hashes)")
    return int(radius)
