"""Thumbnails of a stack's images, made a page at a time and kept in a bounded cache.

:class:`Thumbnails` makes the small pictures the grid draws.  It works on a
*batch* of images (a page of the grid): the images of one shape are stacked
and handled by whole-array NumPy, and the equalized ones come from ONE call
of :func:`histeq_gui.equalize` per shape (for scope "image"; scope "stack"
maps them all with the whole stack's histogram, :meth:`Histogram.apply`).
Each image may have its own shape: a thumbnail keeps the image's aspect
ratio within a ``size`` x ``size`` square (the grid letterboxes it).

Display: the original with the levels the image view starts with (8-bit
data its dtype's range, other data the stack's saturated percentiles,
:meth:`Thumbnails.original_levels`: one outlier pixel does not turn every
thumbnail black), the equalized image over [0, 1]; NaN pixels in
the viewer's NaN colour; colour images as RGB (alpha is not drawn; gray +
alpha as gray).  Big images are reduced by averaging blocks of pixels (a
block holding NaN is NaN), small ones enlarged by repeating pixels, so the
painter always draws a thumbnail one to one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor, QImage

from ..core.equalize import equalize
from ..core.methods import Method, get_method
from ..core.stack import as_channels_first
from .compute import needs_stack, params_dict, params_key, resolve_stack_params, stack_histograms
from .image_views import NAN_COLOUR

__all__ = ["Variant", "ORIGINAL", "Thumbnails", "thumbnail_shape", "reduce_images", "fit_square",
           "display_bytes", "to_qimages", "DEFAULT_SIZE", "SYNC_VALUES"]

DEFAULT_SIZE = 96
#: A page whose missing thumbnails hold at most this many pixel values is made
#: at once, in the paint (a page of 60 96x96 images is 0.55 M); more goes to a job.
SYNC_VALUES = 1 << 21
_CACHE_BYTES = 96 << 20     # thumbnails kept (a 96x96 gray one is 9 KB, colour 36 KB)
_JOB_VALUES = 1 << 22       # values per step of a thumbnail job (it can stop between steps)
_NAN_RGB = QColor(NAN_COLOUR).getRgb()[:3]


class Variant(NamedTuple):
    """Which picture of an image: the original, or equalized with these settings.

    ``bins`` is None when the method ignores it for the stack (skimage on
    integers), so that changing it keeps the thumbnails.  (A named tuple:
    it is a cache key, hashed for every cell drawn.)
    """

    kind: str = "original"
    method: Method | None = None
    bins: int | None = None
    scope: str | None = None
    params: tuple = ()

    @classmethod
    def equalized(cls, method, bins, scope, params=None):
        """The equalized variant for these settings (``bins`` None: ignored by the method).

        ``method``: a :class:`~histeq_gui.core.methods.Method` or its name;
        ``params``: the method's own parameters (``state.params``), kept as
        :func:`~histeq_gui.gui.compute.params_key` (hashable).
        """
        return cls("equalized", get_method(method), None if bins is None else int(bins), scope,
                   params_key(params))

    @property
    def params_dict(self):
        """The method's own parameters as a dict."""
        return params_dict(self.params)

    @property
    def bins_used(self):
        """The bin count to pass on (any valid one when the method ignores it)."""
        return 256 if self.bins is None else self.bins


ORIGINAL = Variant()


def thumbnail_shape(shape, size):
    """``(h, w)`` of the thumbnail of an ``(H, W)`` image, fitted in ``size`` x ``size``.

    An image larger than the square fills it on its longer side: shrunk by
    an integer block factor (:func:`reduce_images`: the longer side between
    ``size`` and twice it), then scaled smoothly to ``size``; a smaller one
    grows by an integer repeat factor (pixels stay square).  The aspect
    ratio is kept.

    Examples
    --------
    >>> thumbnail_shape((128, 128), 96), thumbnail_shape((50, 200), 96)
    ((96, 96), (24, 96))
    >>> thumbnail_shape((8, 8), 96), thumbnail_shape((96, 96), 96)
    ((96, 96), (96, 96))
    """
    height, width = int(shape[0]), int(shape[1])
    longest = max(height, width, 1)
    if longest > size:
        return (max(round(height * size / longest), 1), max(round(width * size / longest), 1))
    k = max(size // longest, 1)
    return height * k, width * k


def reduce_images(batch, size):
    """A batch ``(m, H, W[, C])`` made small for :func:`thumbnail_shape` (float64, or as is).

    Block means when shrinking, by the largest factor that keeps the longer
    side at least ``size`` (NaN spreads to its block; the grid's image is
    then scaled smoothly to fit, :func:`fit_square`); repeated pixels when
    enlarging.
    """
    height, width = batch.shape[1:3]
    longest = max(height, width, 1)
    if longest > size:
        k = longest // size
        h, w = max(height // k, 1), max(width // k, 1)
        if height < k or width < k:           # a thin strip: sample, do not average
            rows = np.minimum(np.arange(h) * k, height - 1)
            cols = np.minimum(np.arange(w) * k, width - 1)
            return batch[:, rows][:, :, cols]
        part = batch[:, :h * k, :w * k].astype(np.float64, copy=False)
        shape = (batch.shape[0], h, k, w, k) + batch.shape[3:]
        return part.reshape(shape).mean(axis=(2, 4))
    k = max(size // longest, 1)
    if k == 1:
        return batch
    return np.repeat(np.repeat(batch, k, axis=1), k, axis=2)


def display_bytes(batch, lo, hi):
    """``(uint8 pixels, NaN mask or None)`` of a batch drawn with levels ``[lo, hi]``."""
    if batch.dtype == np.uint8 and lo == 0 and hi == 255:
        return np.ascontiguousarray(batch), None
    nan = None
    if batch.dtype.kind == "f" and not np.isfinite(batch).all():
        nan = np.isnan(batch)
        batch = np.nan_to_num(batch, nan=lo, posinf=hi, neginf=lo)
        if nan.ndim == 4:
            nan = nan.any(axis=-1)
        if not nan.any():
            nan = None
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    x = np.subtract(batch, lo, dtype=np.float32)        # one pass each, in float32
    x *= np.float32(scale)
    x += np.float32(0.5)
    np.clip(x, 0, 255, out=x)
    return x.astype(np.uint8), nan


def fit_square(image: QImage, shape: tuple, size: int) -> QImage:
    """``image`` at its :func:`thumbnail_shape`, scaled smoothly if it is larger.

    ``image`` is made by :func:`reduce_images` of an image of ``shape``.
    """
    h, w = thumbnail_shape(shape, size)
    if (image.height(), image.width()) == (h, w):
        return image
    return image.scaled(w, h, Qt.IgnoreAspectRatio, Qt.SmoothTransformation)


def to_qimages(pixels, nan=None):
    """One QImage per image of ``pixels`` (m, h, w) gray or (m, h, w, 3) RGB uint8."""
    m, h, w = pixels.shape[:3]
    if pixels.ndim == 3 and nan is None:
        return [QImage(pixels[i].data, w, h, w, QImage.Format_Grayscale8).copy()
                for i in range(m)]
    rgb = pixels if pixels.ndim == 4 else np.repeat(pixels[..., None], 3, axis=-1)
    bgra = np.empty((m, h, w, 4), np.uint8)
    bgra[..., 0] = rgb[..., 2]
    bgra[..., 1] = rgb[..., 1]
    bgra[..., 2] = rgb[..., 0]
    bgra[..., 3] = 255
    if nan is not None:
        bgra[nan] = (_NAN_RGB[2], _NAN_RGB[1], _NAN_RGB[0], 255)
    return [QImage(bgra[i].data, w, h, 4 * w, QImage.Format_RGB32).copy() for i in range(m)]


def _drawable(image):
    """What is drawn of an image: RGB of RGB(A), the gray of gray + alpha."""
    if image.ndim == 3 and image.shape[-1] > 3:
        return image[..., :3]
    if image.ndim == 3 and image.shape[-1] == 2:
        return image[..., 0]
    return image


class Thumbnails:
    """Thumbnails of one stack: made in batches, kept in a least-recently-used cache.

    Parameters
    ----------
    stack : LoadedStack
        ``stack.image(i)`` gives image ``i`` (each may have its own shape);
        ``stack.levels`` and ``stack.percentile_levels()`` the display levels of the
        originals (:meth:`original_levels`).
    size : int
        Longest side of a thumbnail, in pixels.
    cache_bytes : int
        Memory the cache may hold; the least recently used go first.

    Notes
    -----
    :meth:`make` may run in a worker thread (it creates only QImages, which
    are not tied to the GUI thread); :meth:`store` and :meth:`get` belong to
    the GUI thread.
    """

    def __init__(self, stack, size=DEFAULT_SIZE, cache_bytes=_CACHE_BYTES):
        self.stack = stack
        self.size = int(size)
        self._cache = OrderedDict()         # (variant, index) -> QImage or None (failed)
        self._bytes = 0
        self._budget = int(cache_bytes)
        self._hists = {}                    # (method, bins) -> whole-stack histograms
        self._levels = None
        self._lock = threading.Lock()

    def original_levels(self):
        """The display levels of the originals: the image view's first choice for the stack.

        ``stack.levels`` (the dtype's range) for 8-bit data; for wider
        integers and floats the stack's saturated percentiles (ImageJ's
        automatic contrast, ``stack.percentile_levels()``), which a few
        extreme pixels cannot move, where the full range of a float stack
        with one pixel of 1e30 would draw every other image black.
        """
        if self._levels is None:
            stack = self.stack
            mode = getattr(stack, "default_levels_mode", "dtype")
            self._levels = stack.percentile_levels() if mode == "percentile" else stack.levels
        return self._levels

    # ------------------------------------------------------------------ the cache
    def get(self, variant, index):
        """``(found, QImage or None)``; None means the thumbnail could not be made."""
        key = (variant, int(index))
        if key not in self._cache:
            return False, None
        self._cache.move_to_end(key)
        return True, self._cache[key]

    def missing(self, variant, indices):
        """The indices among ``indices`` whose thumbnail is not made yet (in order)."""
        cache = self._cache
        return [int(i) for i in indices if (variant, int(i)) not in cache]

    def store(self, variant, made):
        """Keep ``made`` (index -> QImage or None) from :meth:`make`."""
        for index, image in made.items():
            key = (variant, int(index))
            old = self._cache.pop(key, None)
            if old is not None:
                self._bytes -= old.sizeInBytes()
            self._cache[key] = image
            if image is not None:
                self._bytes += image.sizeInBytes()
        while self._bytes > self._budget and len(self._cache) > 1:
            _, image = self._cache.popitem(last=False)
            if image is not None:
                self._bytes -= image.sizeInBytes()

    def clear(self):
        """Forget every thumbnail."""
        self._cache.clear()
        self._bytes = 0

    def __len__(self):
        return len(self._cache)

    @property
    def nbytes(self):
        """Memory held by the cached thumbnails."""
        return self._bytes

    # ------------------------------------------------------------------ making
    def values(self, indices):
        """How many pixel values the images ``indices`` hold (the cost of making them)."""
        return len(indices) * self.stack.pixels_per_image

    def ready(self, variant):
        """True if :meth:`make` needs no whole-stack pass first (scope "stack")."""
        if variant.kind == "equalized" and needs_stack(variant.method):
            return ("params",) + variant[1:] in self._hists
        return variant.scope != "stack" or (variant.method, variant.bins_used,
                                            variant.params) in self._hists

    def make(self, variant, indices, progress=None):
        """Make the thumbnails of ``indices``: a dict index -> QImage (None if it failed).

        The images of one shape are made together: one call of ``equalize``
        for the equalized variant.  ``progress(done, total)`` is called
        between steps of about four million values; it may raise to stop.
        """
        indices = [int(i) for i in indices]
        steps = self._steps(indices)
        hists, params = None, variant.params_dict
        if variant.kind == "equalized" and variant.scope == "stack":
            hists = self._stack_histograms(variant, progress)
        if variant.kind == "equalized" and needs_stack(variant.method):
            params = self._stack_params(variant, progress)
        made = {}
        for done, step in enumerate(steps):
            if progress is not None:
                progress(done, len(steps))
            for members, batch in self._groups(step, small=variant.kind == "original"):
                for i, thumb in zip(members, self._batch(variant, batch, hists, params)):
                    made[i] = thumb
        if progress is not None:
            progress(len(steps), len(steps))
        return made

    def _groups(self, indices, small=False):
        """``[(indices, batch)]``: the images as batches ``(m, H, W[, C])`` of one shape each.

        A stack of one shape in memory (a :class:`LoadedStack`) gives one
        batch, taken with one indexing of its array; other stacks (read on
        demand, or each image its own shape) are asked image by image
        (``read_image``, not filling the stack's cache of current images;
        ``small``: ``read_small``, a folder's JPEG files decoded at a
        reduced size, for the originals) and grouped by shape.
        """
        stack = self.stack
        layout = getattr(stack, "layout", None)
        if getattr(stack, "in_memory", False) and layout is not None \
                and sum(layout.shape[a] > 1 for a in layout.batch_axes) <= 1:
            # one batch axis (others of length 1): a view with the images along axis 1
            channels = as_channels_first(stack.array, layout)
            flat = channels.reshape(channels.shape[0], layout.n_images, *layout.image_shape)
            batch = np.moveaxis(flat[:, indices], 0, -1)         # (m, H, W, C), a copy
            if batch.shape[-1] in (1, 2):                       # gray (+ alpha): the gray
                return [(indices, batch[..., 0])]
            return [(indices, batch[..., :3])]                  # RGB(A): RGB
        groups = {}
        read = getattr(stack, "read_image", stack.image)
        if small and hasattr(stack, "read_small"):
            def read(i):
                return stack.read_small(i, self.size)
        for i in indices:
            image = _drawable(read(i))
            groups.setdefault((image.shape, image.dtype.str), []).append((i, image))
        return [([i for i, _ in members], np.stack([image for _, image in members]))
                for members in groups.values()]

    def _steps(self, indices):
        steps, current, values = [], [], 0
        per = max(self.stack.pixels_per_image, 1)
        for i in indices:
            current.append(i)
            values += per
            if values >= _JOB_VALUES:
                steps.append(current)
                current, values = [], 0
        if current:
            steps.append(current)
        return steps

    def _stack_histograms(self, variant, progress):
        key = (variant.method, variant.bins_used, variant.params)
        with self._lock:
            hists = self._hists.get(key)
        if hists is None:
            # (progress may raise to cancel: give it a chance during this pass)
            report = None if progress is None else (lambda stage, done, total: progress(0, 1))
            hists = stack_histograms(self.stack, variant.method, variant.bins_used, report,
                                     params=variant.params_dict)
            with self._lock:
                self._hists[key] = hists
        return hists

    def _stack_params(self, variant, progress):
        """The stack-aware parameters resolved against the whole stack, once (cached)."""
        key = ("params",) + variant[1:]
        with self._lock:
            params = self._hists.get(key)
        if params is None:
            report = None if progress is None else (lambda stage, done, total: progress(0, 1))
            try:
                params = resolve_stack_params(self.stack, variant.method, variant.bins_used,
                                              variant.params_dict, progress=report)
            except ValueError as exc:       # a reference out of range: every thumbnail fails
                params = exc
            with self._lock:
                self._hists[key] = params
        return params

    def _batch(self, variant, batch, hists, params=None):
        """QImages (or None) of a batch ``(m, H, W[, C])`` of one shape."""
        if variant.kind == "original":
            lo, hi = self.original_levels()
            pixels = batch
        else:
            lo, hi = 0.0, 1.0
            pixels = (None if isinstance(params, Exception) else
                      self._equalize(variant, batch, hists, params))
            if pixels is None:
                return [None] * len(batch)
        failed = None
        if isinstance(pixels, list):             # equalized one by one: some failed
            failed = [p is None for p in pixels]
            pixels = np.stack([np.full(batch.shape[1:], np.nan) if p is None else p
                               for p in pixels])
        small = reduce_images(pixels, self.size)
        u8, nan = display_bytes(small, lo, hi)
        images = [fit_square(image, batch.shape[1:3], self.size)
                  for image in to_qimages(u8, nan)]
        if failed is not None:
            images = [None if bad else image for bad, image in zip(failed, images)]
        return images

    @staticmethod
    def _equalize(variant, batch, hists, params=None):
        """The equalized batch (float64 in [0, 1]): one call; per image only if it fails."""
        axis = -1 if batch.ndim == 4 else None
        params = dict(params or {})
        channels = batch.shape[-1] if axis is not None else 1
        for name, value in params.items():      # RGBA drawn as RGB, gray + alpha as gray
            if isinstance(value, tuple) and len(value) > channels:
                params[name] = value[:channels]
        if hists is not None:
            if axis is None:
                return hists[0].apply(batch)
            return np.stack([hists[c].apply(batch[..., c]) for c in range(batch.shape[-1])],
                            axis=-1)
        args = dict(method=variant.method, bins=variant.bins_used, scope="image",
                    channel_axis=axis, **params)
        try:
            return equalize(batch, **args)
        except ValueError:          # an image this method refuses (a too narrow float range)
            out = []
            for image in batch:
                try:
                    out.append(equalize(image[None], **args)[0])
                except ValueError:
                    out.append(None)
            return out
