"""``clahe``: ``skimage.exposure.equalize_adapthist``, image by image, compiled.

Contrast Limited Adaptive Histogram Equalization (Zuiderveld, Graphics Gems
IV, 1994): the image's values are stretched to 14 bits and binned into
``bins`` gray bins, and the image is cut into tiles of ``kernel_size``
pixels; each tile's histogram is clipped at ``clip_limit`` times the
tile's pixel count, the excess spread over all bins, and its CDF is the
tile's map; every pixel blends the maps of its four nearest tiles
bilinearly.  So there is no single input -> output map:
:func:`~histeq_gui.core.equalize.histogram` gives the image's plain
histogram with ``global_map`` False, and the viewer draws no transfer
curve.

The result is ``equalize_adapthist(image, kernel_size, clip_limit,
nbins=bins)`` of each image (scikit-image 0.26, ``exposure/_adapthist.py``),
computed by the compiled loops of :mod:`histeq_gui.core.engine.clahe_kernels`
over blocks of whole images (the same values, bit for bit: they repeat its
arithmetic step by step); until those are compiled ("ready" kernels, the
viewer) scikit-image itself is called image by image.  What each image is
given to ``equalize_adapthist`` as:

- **uint8, uint16, and float images whose finite values all lie in [0, 1]**
  (scikit-image's float convention): as they are, so the result IS the
  per-image call (float64; float32 for float32 images, as scikit-image
  returns them).  Float16 is given as float32: ``equalize_adapthist``
  overflows on float16 (its ``img_as_uint`` multiplies by 65535 in
  float16, whose largest value is 65504).
- **int8, int16**: shifted to uint8, uint16 (``x - dtype min``: -128 -> 0),
  exactly; ``equalize_adapthist`` itself would clip every negative value
  to 0.
- **any other image** (32- and 64-bit integers, floats outside [0, 1]):
  ``(x - min) / (max - min)`` over its finite values, in float64.
  ``equalize_adapthist`` refuses floats outside [-1, 1], clips negative
  values and keeps the top 16 bits of 32/64-bit integers; CLAHE itself
  rescales every image to 14 bits of its own min..max first, so this loses
  nothing it would keep.
- **constant images** come back 1.0 everywhere, as ``equalize_adapthist``
  returns them.
- **NaN and inf** pixels are replaced by the median of the image's finite
  pixels (of two middle values, the lower) for the computation: a neutral
  grey that widens no range; they come back NaN.  An image with no finite
  pixel comes back all NaN.
- **masks** are refused: CLAHE's tiles use every pixel and scikit-image has
  no mask.
- **colour** (``channel_axis``): channel by channel.  ``equalize_adapthist``
  given an RGB image equalizes its HSV value instead.
- **stacks**: always image by image.  ``equalize_adapthist`` given an (N, H,
  W) array treats it as one 3-D volume with 3-D tiles: on the bundled
  sample stack (100, 96, 96) that differs from the per-image loop by up to
  0.946 (mean 0.244), on ``skimage.data.lfw_subset()`` (200, 25, 25) by up
  to 1.0 (mean 0.217).  ``scope="stack"`` has no meaning and is refused.

``bins`` is scikit-image's ``nbins``: the number of gray bins of each tile's
histogram (the same meaning as for every other method, so the viewer's bins
control, ``--bins`` and the export sidecar cover it).  scikit-image bins its
14-bit levels ``1 + 16384 // nbins`` at a time, so 256 bins are in fact 253
bins of 65 levels, and any ``bins`` above 16384 gives one bin per level.

``kernel_size``: ``"auto"`` (scikit-image's None: 1/8 of the image's height
by 1/8 of its width, at least 1) or one int for both axes.  A kernel larger
than the image is allowed: scikit-image pads the image by reflection.  A
``(height, width)`` pair could come later as a second parameter type (the
hook passes ``kernel_size`` through, and ``equalize_adapthist`` takes one
int per axis).

``value_range``: which values scikit-image's first step stretches to its
14 bits (``rescale_intensity(image, in_range=..., out_range=(0, 16383))``,
rounded).  ``"image"`` (the default, scikit-image's own): each image's
min..max.  So 12-bit data in uint16 fills the bins as 8-bit data does (on
the 12-bit hard case, 239 to 253 of the 253 bins of ``bins=256``; over the
dtype's 0..65535 it would fill 16): scikit-image does not scale uint16 over
its dtype's range here.  But each image's bins then mean other values, and
one hot pixel stretches an image's range.  ``(low, high)`` (text
``"low,high"``, say ``"0,4095"`` for 12-bit data): the data's range, the
same levels for every image, values outside clipped to it.  A range given
is applied to the pixels themselves: ``round((clip(x, low, high) - low) /
(high - low) * 16383)``, which for uint8 and uint16 images is exactly
``rescale_intensity`` of ``img_as_uint(x)`` with that range; floats skip
``img_as_uint``'s 16-bit rounding there.  The rest is scikit-image's
``_clahe`` and final rescale, unchanged.

OpenCV's ``cv2.createCLAHE(clipLimit=40, tileGridSize=(8, 8))`` counts its
clip limit in multiples of the mean bin count of a tile (tile pixels / 256
for 8-bit images), scikit-image in a fraction of the tile's pixels: the
same per-bin limit is ``clipLimit ~= 256 * clip_limit`` for 8-bit images
(``65536 * clip_limit`` for 16-bit).  So scikit-image's default 0.01 is
OpenCV's 2.56, and OpenCV's default 40 is scikit-image's 0.156.  The two
still differ in other ways (OpenCV pads with BORDER_REFLECT_101, works on
256 levels, redistributes the clipped counts differently, and does not
stretch its result to [0, 1] as ``equalize_adapthist`` does; the stretch
dominates below a clip limit of about 0.01).  The ``opencv-clahe`` method
is OpenCV's CLAHE itself.
"""

from __future__ import annotations

import numpy as np

from ..engine import backend
from .base import Method, Param, bins_param, how_from_docstring, image_from_images

__all__ = ["METHOD", "image", "images", "prepared", "fill_non_finite", "check_value_range",
           "levels_note", "KERNEL_MAX"]

KERNEL_MAX = 1024       # largest kernel_size: scikit-image pads the image to ~1.5 kernels
_TOP = 2 ** 14 - 1      # scikit-image's 14-bit levels: 0 .. 16383


def fill_non_finite(x):
    """``x`` with NaN and inf replaced by the median of its finite values.

    The median is one of the values (of two middle ones, the lower): a
    neutral grey that widens no range, with no arithmetic.  ``x`` itself
    when every value is finite.

    Parameters
    ----------
    x : ndarray
        Values with at least one finite one.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> fill_non_finite(np.array([np.nan, 3.0, 1.0, np.inf, 2.0])).tolist()
    [2.0, 3.0, 1.0, 2.0, 2.0]
    """
    if x.dtype.kind != "f":
        return x
    finite = np.isfinite(x)
    if finite.all():
        return x
    values = x[finite]
    k = (values.size - 1) // 2
    return np.where(finite, x, np.partition(values, k)[k])


def prepared(pixels):
    """The image as it is given to ``equalize_adapthist`` (see the module docstring).

    Parameters
    ----------
    pixels : ndarray, shape (H, W)
        One image of any supported dtype; NaN and inf allowed if it has a
        finite pixel.

    Returns
    -------
    ndarray
        uint8, uint16, float32 or float64 (the image itself when it is
        given as it is).

    Examples
    --------
    >>> prepared(np.array([[-128, 0], [1, 127]], np.int8)).tolist()
    [[0, 128], [129, 255]]
    >>> prepared(np.array([[np.nan, 2.0], [4.0, 6.0]])).tolist()
    [[0.5, 0.0], [0.5, 1.0]]
    """
    x = np.asarray(pixels)
    dtype = x.dtype
    if dtype in (np.uint8, np.uint16):
        return x
    if dtype in (np.int8, np.int16):
        unsigned = np.uint8 if dtype == np.int8 else np.uint16
        return (x.astype(np.int32) - int(np.iinfo(dtype).min)).astype(unsigned)
    if dtype.kind == "f":
        x = fill_non_finite(x.astype(np.float32) if dtype == np.float16 else x)
        low, high = x.min(), x.max()
        if low >= 0 and high <= 1:
            return x
    # Everything else: the range to [0, 1] in float64 (a constant image to 0).
    values = x.astype(np.float64)
    low, high = values.min(), values.max()
    if not np.isfinite(high - low):          # +-1e308: halve first (exact for normal floats)
        values, low, high = values / 2, low / 2, high / 2
    values -= low
    if high > low:
        values /= high - low
    return values


def check_value_range(value):
    """``value`` as a valid ``value_range``: "image" or a pair ``(low, high)``.

    Text ``"low,high"`` (the command line, the viewer's field) is read as
    the pair.

    Raises
    ------
    ValueError
        One line saying what is valid.

    Examples
    --------
    >>> check_value_range("0, 4095")
    (0.0, 4095.0)
    """
    if isinstance(value, str) and value == "image":
        return value
    pair = value
    if isinstance(value, str):
        parts = value.replace(" ", "").split(",")
        try:
            pair = tuple(float(p) for p in parts)
        except ValueError:
            pair = None
    try:
        low, high = (float(v) for v in pair)
        ok = np.isfinite(low) and np.isfinite(high) and low < high
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"value_range must be 'image' or two numbers low,high with low < high "
                         f"(e.g. 0,4095), got {value!r}")
    return low, high


def levels_note(dtype, bins, params):
    """How CLAHE fills its bins for images of ``dtype``: the viewer's bins note (or None).

    Said for integers wider than 8 bits, where a reader may expect the
    dtype's range to be binned (12-bit data in uint16).

    Examples
    --------
    >>> levels_note("uint16", 256, {})[:57]
    "CLAHE stretches each image's own min..max to 14 bits (sci"
    >>> levels_note("uint16", 256, {"value_range": "0,4095"})[:60]
    'CLAHE bins the values 0..4095 (value_range) into 253 bins of'
    >>> levels_note("uint8", 256, {}) is None
    True
    """
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu" or dtype.itemsize < 2:
        return None
    size = 1 + 16384 // bins
    used = min(_TOP // size + 1, bins)
    value_range = check_value_range(params.get("value_range", "image"))
    if value_range == "image":
        return (f"CLAHE stretches each image's own min..max to 14 bits (scikit-image) before "
                f"its {used} bins of {size} levels, so 12-bit data in {dtype} fills them as 8-bit "
                f"data does; value_range low,high (e.g. 0,4095) gives every image the same "
                f"levels.")
    low, high = value_range
    return (f"CLAHE bins the values {low:g}..{high:g} (value_range) into {used} bins of {size} "
            f"14-bit levels; values outside are clipped to them.")


def _kernel(params, shape):
    """``kernel_size`` per axis for images of ``shape`` (auto: 1/8 of each, at least 1)."""
    kernel = params["kernel_size"]
    if kernel == "auto":
        return max(shape[0] // 8, 1), max(shape[1] // 8, 1)
    return kernel, kernel


def _skimage_call(pixels, params):
    """``equalize_adapthist`` itself on one image (the kernels' stand-in until compiled)."""
    from skimage.exposure import equalize_adapthist

    kernel = params["kernel_size"]
    return equalize_adapthist(prepared(pixels), kernel_size=None if kernel == "auto" else kernel,
                              clip_limit=params["clip_limit"], nbins=params["bins"])


def _as_uint16(values):
    """``img_as_uint`` of floats in [0, 1]: ``rint(x * 65535)`` in their own precision."""
    scaled = np.multiply(values, 65535, dtype=values.dtype)
    return np.clip(np.rint(scaled), 0, 65535).astype(np.uint16)


def _gray_levels(pixels, low, high):
    """The 14-bit levels of a block of images for a given range, as uint16 (NaN filled)."""
    if pixels.dtype.kind == "f":
        pixels = np.stack([fill_non_finite(one) for one in pixels])
    x = np.clip(pixels.astype(np.float64), low, high)
    return np.rint((x - low) / (high - low) * _TOP).astype(np.uint16)


def images(pixels, params, out):
    """``equalize_adapthist`` of every image of a block, into ``out`` (the images hook).

    Parameters
    ----------
    pixels : ndarray, shape (n, H, W)
        Whole images of one dtype, each with a finite pixel.
    params : dict
        ``clip_limit``, ``kernel_size``, ``bins`` and ``value_range``.
    out : ndarray of float64, shape (n, H, W)
        Filled with each image's result, in [0, 1] (float32 values for
        float16 and float32 images, as scikit-image returns them).

    Notes
    -----
    The compiled loops run once compiled for the dtype (see
    :func:`histeq_gui.core.engine.backend.compiled`); before that,
    scikit-image itself equalizes each image.  A given ``value_range``
    has no such stand-in (scikit-image takes none): it uses the compiled
    loop for 14-bit levels, which ``warm_up`` prepares for every dtype but
    uint8 (for uint8 images it is compiled on first use, or loaded from
    numba's cache).
    """
    pixels = np.asarray(pixels)
    value_range = params.get("value_range", "image")
    if value_range == "image" and not backend.compiled(pixels.dtype):
        for i, one in enumerate(pixels):
            out[i] = _skimage_call(one, params)
        return
    from ..engine.clahe_bands import skimage_clahe_block

    kh, kw = _kernel(params, pixels.shape[1:])

    def run(x, factor, ranges, single, into):
        target = into if into.flags.c_contiguous else np.empty(into.shape)
        skimage_clahe_block(np.ascontiguousarray(x), factor, ranges, kh, kw,
                            params["clip_limit"], params["bins"], single, target)
        if target is not into:
            into[...] = target

    own = np.empty((0, 2))          # each image's own min..max
    dtype = pixels.dtype
    if value_range != "image":
        # The given range's 14-bit levels, then the kernel on levels 0..16383 as they are.
        low, high = check_value_range(value_range)
        levels = _gray_levels(pixels, low, high)
        run(levels, 1, np.tile([0.0, _TOP], (len(pixels), 1)), False, out)
    elif dtype in (np.uint8, np.int8):
        run(prepared(pixels), 257, own, False, out)
    elif dtype in (np.uint16, np.int16):
        run(prepared(pixels), 1, own, False, out)
    else:
        # Floats and wide integers: each image as scikit-image is given it,
        # then img_as_uint; float32 images stay float32 to the end.
        given = [prepared(one) for one in pixels]
        for single in (True, False):
            chosen = [i for i, g in enumerate(given) if (g.dtype == np.float32) == single]
            if chosen:
                block = np.stack([_as_uint16(given[i]) for i in chosen])
                into = np.empty(block.shape)
                run(block, 1, own, single, into)
                out[chosen] = into


image = image_from_images(images)    # one image: a block of one through images


METHOD = Method(
    name="clahe",
    label="scikit-image CLAHE",
    summary="Contrast limited adaptive equalization: each tile its own clipped histogram, "
            "the tiles' maps blended bilinearly.",
    reference="skimage.exposure.equalize_adapthist(image, kernel_size, clip_limit, "
              "nbins=bins), image by image, as float64",
    source="scikit-image skimage/exposure/_adapthist.py (equalize_adapthist, _clahe, "
           "clip_histogram, map_histogram); Zuiderveld, Graphics Gems IV (1994)",
    formula=("per tile: h'<sub>k</sub> = min(h<sub>k</sub>, clip) + excess / bins; "
             "T<sub>tile</sub>(x) = &Sigma;<sub>j&le;k(x)</sub> h'<sub>j</sub> / N<sub>tile</sub>; "
             "T(x) = bilinear blend of the 4 nearest tiles' T<sub>tile</sub>(x)"),
    how=how_from_docstring(__doc__),
    params=(
        Param("clip_limit", 0.01, float, "clipping limit, a fraction of a tile's pixels "
              "(higher: more contrast; 1: no clipping)", low=0.0, high=1.0, low_open=True),
        Param("kernel_size", "auto", int, "tile size in pixels ('auto': 1/8 of the image's "
              "height and width)", low=1, high=KERNEL_MAX, choices=("auto",)),
        bins_param(help="gray bins of each tile's histogram (scikit-image's nbins)"),
        Param("value_range", "image", object, "the values stretched to the 14 bits that are "
              "binned: 'image' (each image's min..max, scikit-image) or low,high (the data's "
              "range, e.g. 0,4095 for 12-bit data)",
              text="'image' or two numbers low,high", validate=check_value_range),
    ),
    scopes=("image",),
    masks=False,
    image=image,
    images=images,
    bins_note=levels_note,
)
