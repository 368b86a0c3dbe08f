"""``opencv-clahe``: OpenCV's CLAHE, ``cv2.createCLAHE(clipLimit, tileGridSize).apply``.

OpenCV (``modules/imgproc/src/clahe.cpp``, ``CLAHE_Impl::apply``) takes
8- and 16-bit images and works on their values as levels (256 or 65536):

1. the image is cut into ``tiles_x`` by ``tiles_y`` tiles; when the grid
   does not divide its size, it is first extended at the bottom and right
   (both, whichever does not divide) by ``tiles - size % tiles`` pixels,
   reflected without repeating the edge (BORDER_REFLECT_101);
2. each tile's histogram is clipped at ``int(clipLimit * tile pixels /
   levels)`` (at least 1; a ``clipLimit`` of 0 clips nothing): the limit is
   counted in multiples of the mean bin count;
3. the clipped pixels go back evenly, ``clipped // levels`` to every level,
   and the rest one each to levels ``0, step, 2 step, ...`` with ``step =
   levels // rest``;
4. the tile's table is ``saturate_cast(sum * lutScale)`` with ``lutScale =
   (levels - 1.f) / tile pixels``: single precision, rounded half to even;
5. each pixel blends the tables of its four nearest tile centres in single
   precision, ``(lut11 * xa1 + lut12 * xa) * ya1 + (lut21 * xa1 + lut22 *
   xa) * ya`` with ``xa = x / tile width - 0.5`` less its floor, and is
   rounded half to even.

Here the same arithmetic runs in the compiled loops of
:mod:`histeq_gui.core.engine.clahe_kernels` (and, until they are compiled,
in NumPy), and the result is divided by ``levels - 1``:

- **uint8, uint16**: exactly OpenCV: ``255 * equalize(x, "opencv-clahe")``
  (``65535 *`` for uint16) equals ``cv2.createCLAHE(clip_limit, (tiles_x,
  tiles_y)).apply(x)`` pixel for pixel.  12-bit data in uint16 is 12-bit
  data in OpenCV's 65536 levels, as there.
- **int8, int16**: shifted to uint8, uint16 (``x - dtype min``), exactly.
- **floats and 32/64-bit integers**: ``bins`` equal-width bins over the
  image's finite range, with the edges ``np.histogram(image, bins)`` makes,
  are the levels (each pixel's level is the bin its edges give it); the
  result is ``level / (bins - 1)``, so ``bins`` >= 2.
- **NaN and inf** pixels are filled with the median of the image's finite
  pixels for the computation (as for ``clahe``) and come back NaN.
- **constant images** go through the same steps as any other (OpenCV maps
  a constant 8-bit image of value v to ``round(255 * (v + 1) / 256)`` with
  no clipping, less with it).
- **masks** are refused, as OpenCV takes none; **colour** goes channel by
  channel (OpenCV's CLAHE takes one channel); a stack image by image.

Parameters in OpenCV's units and defaults: ``clip_limit`` 40 (0: no
clipping), a tile grid of ``tiles_x`` by ``tiles_y`` = 8 by 8.  The
``clahe`` method's ``clip_limit`` (scikit-image's, a fraction of a tile's
pixels) is about ``clip_limit / 256`` of this one for 8-bit images.
"""

from __future__ import annotations

import numpy as np

from .. import histogram as hg
from ..engine import backend
from .base import Method, Param, bins_param, how_from_docstring, image_from_images
from .clahe import fill_non_finite

__all__ = ["METHOD", "image", "images", "levels_of", "TILES_MAX", "CLIP_MAX"]

TILES_MAX = 1024        # largest tile grid per axis
CLIP_MAX = 65536.0      # at and above the level count, nothing is clipped


def levels_of(pixels, bins):
    """The levels OpenCV's CLAHE works on for a block of images, and their number.

    Parameters
    ----------
    pixels : ndarray, shape (n, H, W)
        Images of one dtype, each with a finite pixel.
    bins : int
        Levels for floats and 32/64-bit integers (2 to 65536).

    Returns
    -------
    levels : ndarray of uint8 or uint16, shape (n, H, W)
        uint8 and uint16 images themselves; int8 and int16 shifted to them;
        any other image's bins over its finite range, as ``np.histogram``
        makes them (non-finite pixels in the bin of the finite median).
    count : int
        256, 65536 or ``bins``.

    Examples
    --------
    >>> levels_of(np.array([[[-128, 127]]], np.int8), 256)[0].tolist()
    [[[0, 255]]]
    >>> levels_of(np.array([[[0.0, 0.5, 1.0, np.nan]]]), 4)[0].tolist()
    [[[0, 2, 3, 2]]]
    """
    x = np.asarray(pixels)
    if x.dtype in (np.uint8, np.uint16):
        return x, 1 << (8 * x.dtype.itemsize)
    if x.dtype in (np.int8, np.int16):
        unsigned = np.uint8 if x.dtype == np.int8 else np.uint16
        shifted = (x.astype(np.int32) - int(np.iinfo(x.dtype).min)).astype(unsigned)
        return shifted, 1 << (8 * x.dtype.itemsize)
    levels = np.empty(x.shape, np.uint16)
    for i, one in enumerate(x):
        values = fill_non_finite(one)
        # np.histogram's edges (and its refusals, in one line).
        edges = hg.binning(hg.block_stats(values.reshape(1, -1))[0], bins, values.dtype).edges[0]
        levels[i] = hg.bin_of(values, edges)
    return levels, bins


def _reflect(index, n):
    """BORDER_REFLECT_101 of integer ``index`` into ``0 .. n - 1`` (periodic however far)."""
    if n == 1:
        return np.zeros_like(index)
    period = 2 * (n - 1)
    index = index % period
    return np.where(index >= n, period - index, index)


def _tile_size(size, tiles, divides):
    """OpenCV's tile size along an axis of ``size`` pixels.

    Unless the grid divides both axes, both are extended by ``tiles - size %
    tiles`` (a whole tile for an axis the grid divides).
    """
    return size // tiles if divides else (size + tiles - size % tiles) // tiles


def _blend_axis(size, tile, tiles):
    """Per pixel of an axis: the two tiles blended and the second one's weight, in float32."""
    t = np.arange(size, dtype=np.float32) * (np.float32(1.0) / np.float32(tile)) \
        - np.float32(0.5)
    first = np.floor(t).astype(np.int64)
    weight = t - first.astype(np.float32)
    return (np.clip(first, 0, tiles - 1), np.clip(first + 1, 0, tiles - 1), weight,
            np.float32(1.0) - weight)


def _numpy_clahe(x, count, tiles_x, tiles_y, clip_limit, out):
    """The compiled loops' NumPy twin: OpenCV's CLAHE of each image's levels, into ``out``."""
    n, H, W = x.shape
    divides = W % tiles_x == 0 and H % tiles_y == 0
    tw = _tile_size(W, tiles_x, divides)
    th = _tile_size(H, tiles_y, divides)
    area = tw * th
    lut_scale = np.float32(count - 1) / np.float32(area)
    limit = max(int(clip_limit * area / count), 1) if clip_limit > 0 else 0
    rows = _reflect(np.arange(tiles_y * th), H)
    cols = _reflect(np.arange(tiles_x * tw), W)
    left, right, xa, xa1 = _blend_axis(W, tw, tiles_x)
    upper, lower, ya, ya1 = (a[:, np.newaxis] for a in _blend_axis(H, th, tiles_y))
    tiles = tiles_x * tiles_y
    k = np.arange(count)
    for i in range(n):
        levels = x[i].astype(np.int64)
        ext = levels[rows][:, cols].reshape(tiles_y, th, tiles_x, tw).transpose(0, 2, 1, 3)
        ext = ext.reshape(tiles, th * tw) + (np.arange(tiles) * count)[:, np.newaxis]
        hist = np.bincount(ext.ravel(), minlength=tiles * count).reshape(tiles, count)
        if limit > 0:
            clipped = np.maximum(hist - limit, 0).sum(axis=1)
            np.minimum(hist, limit, out=hist)
            batch = clipped // count
            residual = (clipped - batch * count)[:, np.newaxis]
            step = np.maximum(count // np.maximum(residual, 1), 1)
            hist += batch[:, np.newaxis] + ((k % step == 0) & (k // step < residual))
        total = np.cumsum(hist, axis=1).astype(np.float32)
        lut = np.clip(np.rint(total * lut_scale), 0, count - 1).reshape(tiles_y, tiles_x, count)
        res = (lut[upper, left, levels] * xa1 + lut[upper, right, levels] * xa) * ya1 + \
              (lut[lower, left, levels] * xa1 + lut[lower, right, levels] * xa) * ya
        out[i] = np.clip(np.rint(res), 0, count - 1).astype(np.float64) / (count - 1)


def images(pixels, params, out):
    """OpenCV's CLAHE of every image of a block, divided by ``levels - 1``, into ``out``.

    The images hook (see :mod:`histeq_gui.core.methods.base`): ``pixels``
    ``(n, H, W)`` of one dtype, each with a finite pixel; ``out`` float64
    of the same shape.  Compiled loops once compiled for the dtype, NumPy
    until then (the same values).
    """
    levels, count = levels_of(pixels, params["bins"])
    args = (np.ascontiguousarray(levels), count, params["tiles_x"], params["tiles_y"],
            float(params["clip_limit"]))
    if not backend.compiled(np.asarray(pixels).dtype):
        _numpy_clahe(*args, out)
        return
    from ..engine.clahe_bands import opencv_clahe_block

    target = out if out.flags.c_contiguous else np.empty(out.shape)
    opencv_clahe_block(*args, target)
    if target is not out:
        out[...] = target


image = image_from_images(images)    # one image: a block of one through images


METHOD = Method(
    name="opencv-clahe",
    label="OpenCV CLAHE",
    summary="cv2.createCLAHE: OpenCV's contrast limited adaptive equalization, its clip "
            "limit in mean bin counts over a grid of tiles.",
    reference="cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles_x, tiles_y))"
              ".apply(image) / 255 for uint8 (/ 65535 for uint16), pixel for pixel; over bins "
              "for floats",
    source="OpenCV modules/imgproc/src/clahe.cpp (CLAHE_Impl::apply, CLAHE_CalcLut_Body, "
           "CLAHE_Interpolation_Body)",
    formula=("per tile: h'<sub>k</sub> = min(h<sub>k</sub>, &lfloor;clip &middot; "
             "N<sub>tile</sub> / L&rfloor;) + redistributed; lut(k) = round(&Sigma;<sub>j&le;k"
             "</sub> h'<sub>j</sub> &middot; (L &minus; 1) / N<sub>tile</sub>); "
             "T(x) = round(bilinear blend of the 4 nearest tiles' lut(x)) / (L &minus; 1)"),
    how=how_from_docstring(__doc__),
    params=(
        Param("clip_limit", 40.0, float, "clip limit in multiples of a tile's mean bin count "
              "(OpenCV's clipLimit; 0: no clipping)", low=0.0, high=CLIP_MAX),
        Param("tiles_x", 8, int, "tiles across (OpenCV's tileGridSize width)", low=1,
              high=TILES_MAX),
        Param("tiles_y", 8, int, "tiles down (OpenCV's tileGridSize height)", low=1,
              high=TILES_MAX),
        bins_param(low=2, help="levels for floats and 32/64-bit integers: equal-width bins "
                               "over the image's range (8- and 16-bit images use their values)"),
    ),
    scopes=("image",),
    value_cells="ui",
    value_bits=16,
    masks=False,
    image=image,
    images=images,
)
