"""The references every method must reproduce, written out from the seed thread.

``seed_recipe`` is the NumPy answer of the Q&A thread this program starts
from, kept as the thread wrote it (variable names and all); the program's
"numpy" method is its result divided by 255.  ``skimage_recipe`` is
``skimage.exposure.equalize_hist``.  The ``*_finite`` variants state what the
program promises for NaN / inf pixels and masks: the reference computed on
the selected finite pixels alone, applied to every finite pixel.

Whole-image methods (``clahe``, ``match``) have no "stack" scope: their
references raise a ValueError for anything but one 2-D image, as
``equalize`` refuses the scope.  :func:`params` gives the parameters the
tests that loop over every method pass (``match`` needs its reference).
"""

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
from skimage import data, exposure

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_stack.npy"


def seed_recipe(image, number_bins=256):
    # from the thread (http://www.janeriksolem.net/histogram-equalization-with-python-and.html)
    # get image histogram
    image_histogram, bins = np.histogram(image.flatten(), number_bins, density=True)
    cdf = image_histogram.cumsum()  # cumulative distribution function
    cdf = 255 * cdf / cdf[-1]  # normalize
    # use linear interpolation of cdf to find new pixel values
    image_equalized = np.interp(image.flatten(), bins[:-1], cdf)
    return image_equalized.reshape(image.shape), cdf


def _selection(image, mask):
    """Finite pixels, the chosen ones among them, and an all-NaN result to fill."""
    finite = np.isfinite(image) if image.dtype.kind == "f" else np.ones(image.shape, bool)
    chosen = finite if mask is None else finite & mask
    return finite, chosen, np.full(image.shape, np.nan)


def numpy_reference(image, bins, mask=None):
    """The "numpy" method for one image: the seed recipe / 255, NaN-aware, masked."""
    finite, chosen, out = _selection(image, mask)
    if not chosen.any():
        return out
    hist, edges = np.histogram(image[chosen], bins, density=True)
    cdf = hist.cumsum()
    cdf = 255 * cdf / cdf[-1]
    out[finite] = np.interp(image[finite], edges[:-1], cdf) / 255
    return out


def ecdf_reference(image, mask=None):
    """What ``equalize_hist`` computes for integers: the fraction of chosen pixels <= each value.

    ``np.interp`` works in float64 over the CDF at every integer of the
    chosen range: a value gets the fraction of chosen pixels whose float64
    is <= its float64 (integers beyond 2**53 that round together count as
    one), and a value whose float64 is below the smallest chosen one gets
    the first CDF value, the fraction equal to the smallest chosen integer.
    Used where ``equalize_hist`` itself would need a bin per integer of a
    huge range.
    """
    chosen = np.ones(image.shape, bool) if mask is None else np.broadcast_to(mask, image.shape)
    picked = image[chosen]
    values = np.sort(picked.astype(np.float64))
    x = image.astype(np.float64)
    out = np.searchsorted(values, x, side="right") / values.size
    out[x < values[0]] = np.count_nonzero(picked == picked.min()) / values.size
    return out


def skimage_reference(image, bins, mask=None):
    """The "skimage" method for one image: equalize_hist, NaN-aware, masked."""
    finite, chosen, out = _selection(image, mask)
    if not chosen.any():
        return out
    if image.dtype.kind in "iu" and int(image.max()) - min(int(image.min()), 0) > 2 ** 22:
        # equalize_hist would allocate a bin per integer from min(0, minimum) to the
        # maximum (32 GB for one uint32 pixel of 2**32 - 2), and breaks beyond int64.
        return ecdf_reference(image, mask)
    if finite.all():
        return exposure.equalize_hist(image, bins, mask=mask).astype(np.float64)
    # equalize_hist cannot take NaN: give the non-finite pixels a chosen value
    # (they are not in the mask, so they do not count) and drop them after.
    filled = np.where(finite, image, image[chosen][0])
    result = exposure.equalize_hist(filled, bins, mask=chosen)
    out[finite] = result[finite]
    return out


def opencv_reference(image, bins, mask=None):
    """The "opencv" method for one image: OpenCV's equalizeHist written out, and its extension.

    From ``modules/imgproc/src/histogram.cpp`` (``cv::equalizeHist``): the
    histogram over the levels; ``i`` the first non-empty level; a constant
    image is returned as it is; ``scale = (levels - 1.f) / (total -
    hist[i])`` in float32; ``lut[i] = 0`` and for each later level ``sum +=
    hist[level]``, ``lut[level] = saturate_cast(sum * scale)`` (a float32
    product, ``cvRound`` rounds half to even).  The loop runs over the
    dtype's levels for integers (value - minimum; only the levels present
    matter), over ``np.histogram``'s bins for floats.  Pixels outside the
    mask below the first counted level get 0.  The result is ``lut / (levels
    - 1)``, at most 1; for uint8 the tests check this function against cv2
    itself.
    Fewer than 2 levels make no table (the method declares bins >= 2).
    """
    if bins < 2:
        raise ValueError("opencv needs at least 2 levels")
    finite, chosen, out = _selection(image, mask)
    if not chosen.any():
        return out
    pixels = image[finite]
    if image.dtype.kind in "iu":
        levels = 2 ** (8 * image.dtype.itemsize)
        low = int(np.iinfo(image.dtype).min)
        present, hist = np.unique(image[chosen], return_counts=True)
        # The cell of each pixel: the last counted value <= it (-1: below them all).
        cell = np.searchsorted(present, pixels, side="right") - 1
    else:
        levels = bins
        hist, edges = np.histogram(image[chosen], bins)
        cell = np.clip(np.searchsorted(edges, pixels, side="right") - 1, 0, bins - 1)
    total = int(hist.sum())
    i = int(np.flatnonzero(hist)[0])          # while (!hist[i]) ++i;
    top = levels - 1
    if hist[i] == total:                       # dst.setTo(i): every level stays
        if image.dtype.kind in "iu":      # level / (levels - 1) in float64
            own = [np.float64(int(v) - low) / np.float64(top) for v in pixels]
        else:
            own = cell / top
        out[finite] = own
        return out
    scale = np.float32(top) / np.float32(total - int(hist[i]))
    lut = np.zeros(len(hist))                  # lut[i] = 0, and 0 below i
    running = 0
    for k in range(i + 1, len(hist)):
        running += int(hist[k])
        value = np.rint(np.float32(running) * scale)          # cvRound(sum * scale)
        lut[k] = float(min(max(value, np.float32(0)), np.float32(top)))  # saturate_cast
    # lut / (levels - 1), at most 1: float32(2**32 - 1) is 2**32, one level more than 32-bit
    # types have.
    out[finite] = np.minimum(np.where(cell >= 0, lut[np.maximum(cell, 0)], 0.0) / top, 1.0)
    return out


def java_math_round(x):
    """Java's ``Math.round(double)``: the nearest integer, ties towards positive infinity.

    Java 7+ defines it as ``floor(x + 1/2)`` taken exactly (not in double
    arithmetic).  Python's ``round`` is exact too but sends ties to the even
    neighbour; a tie sent down is ``2 * x == 2 * r + 1`` (exact: doubling a double
    and comparing a float with an int are exact in Python), and then Java
    goes one up.  (NaN gives 0 in Java; these loops never make one for an
    image with pixels.)
    """
    r = round(x)
    return r + 1 if 2 * x == 2 * r + 1 else r


def imagej_reference(image, bins, mask=None, classic=False):
    """The "imagej" method for one image: ImageJ's Equalize written out from the Java source.

    ``ij/plugin/ContrastEnhancer.java``, ``equalize(ImageProcessor ip, int[]
    histogram)`` and ``getWeightedValue(int[] histogram, int i)`` (ImageJ
    1.54; unchanged since 2008), line for line below in Python floats (IEEE
    doubles, as Java's): ``max = range = 255`` for 8-bit, 65535 for 16-bit
    images; ``classic`` is ``classicEqualization`` (the Alt key).  The
    histogram is ``ip.getHistogram()``: one count per level, of the masked
    pixels (the ROI); the table is then applied to every pixel.

    The extension to other dtypes (ImageJ refuses 32-bit images): int8 and
    int16 are shifted to unsigned levels (value - minimum); other integers
    and floats use ``np.histogram(image, bins)``'s bins as the levels,
    ``max = range = bins - 1``, each pixel in its bin (outside the counted
    range: the nearest bin).  The result is ``lut / max``; NaN and inf are
    left out and come back NaN.
    """
    if bins < 2:
        raise ValueError("imagej needs at least 2 levels")
    finite, chosen, out = _selection(image, mask)
    if not chosen.any():
        return out
    pixels = image[finite]
    if image.dtype.kind in "iu" and image.dtype.itemsize <= 2:
        low = int(np.iinfo(image.dtype).min)
        histogram = np.bincount(image[chosen].astype(np.int64).ravel() - low,
                                minlength=2 ** (8 * image.dtype.itemsize)).tolist()
        level = pixels.astype(np.int64) - low
    else:
        counts, edges = np.histogram(image[chosen], bins)
        histogram = counts.tolist()
        level = np.clip(np.searchsorted(edges, pixels, side="right") - 1, 0, bins - 1)

    # --- ContrastEnhancer.equalize(ImageProcessor ip, int[] histogram) ---
    max = range_ = len(histogram) - 1         # 255 (8-bit), 65535 (16-bit); here also bins - 1

    def getWeightedValue(histogram, i):      # noqa: N802 (the Java name)
        h = histogram[i]
        if h < 2 or classic:
            return float(h)
        return math.sqrt(float(h))

    sum = getWeightedValue(histogram, 0)
    for i in range(1, max):
        sum += 2 * getWeightedValue(histogram, i)
    sum += getWeightedValue(histogram, max)
    scale = range_ / sum
    lut = [0] * (range_ + 1)
    lut[0] = 0
    sum = getWeightedValue(histogram, 0)
    for i in range(1, max):
        delta = getWeightedValue(histogram, i)
        sum += delta
        lut[i] = java_math_round(sum * scale)
        sum += delta
    lut[max] = max
    # --- applyTable(ip, lut), returned as lut / max ---
    out[finite] = np.array(lut, dtype=np.float64)[level] / max
    return out


def imagej_classic_reference(image, bins, mask=None):
    """The "imagej-classic" method: :func:`imagej_reference` with Alt held (plain counts)."""
    return imagej_reference(image, bins, mask, classic=True)


def textbook_reference(image, bins, mask=None, levels=None):
    """The "textbook" method for one image: s_k = round((L - 1) * c_k / N) / (L - 1).

    Gonzalez & Woods, Digital Image Processing (3rd ed., Eq. 3.3-8): ``c_k``
    the counted pixels at or below the pixel's level (integers: its value;
    floats: ``np.histogram(image, bins)``'s bin, outside the counted range
    the nearest bin), ``N`` all counted pixels; ``(L - 1) * c_k / N`` in
    float64 as ``((L - 1) * c_k) / N``, rounded to the nearest integer with
    halves up, exactly (as a Fraction).  ``L`` defaults to the dtype's
    levels for integers, ``bins`` for floats (at least 2).
    """
    if bins < 2:
        raise ValueError("textbook needs at least 2 bins")
    finite, chosen, out = _selection(image, mask)
    if not chosen.any():
        return out
    pixels = image[finite]
    if image.dtype.kind in "iu":
        L = 2 ** (8 * image.dtype.itemsize) if levels is None else levels
        counted = np.sort(image[chosen].ravel())
        c = np.searchsorted(counted, pixels, side="right")        # pixels <= the value
    else:
        L = bins if levels is None else levels
        counts, edges = np.histogram(image[chosen], bins)
        cell = np.clip(np.searchsorted(edges, pixels, side="right") - 1, 0, bins - 1)
        c = np.cumsum(counts)[cell]
    n = int(np.count_nonzero(chosen))
    top = float(L - 1)
    table = {}
    for k in np.unique(c).tolist():
        s = math.floor(Fraction((top * k) / n) + Fraction(1, 2))   # round half up, exactly
        table[k] = s / top
    out[finite] = [table[k] for k in c.tolist()]
    return out


def _one_image(image, method):
    if image.ndim != 2:
        raise ValueError(f"{method} works on one image at a time: no 'stack' scope")


def clahe_reference(image, bins, mask=None, clip_limit=0.01, kernel_size=None):
    """The "clahe" method for one image: ``equalize_adapthist``, as the method module defines.

    uint8, uint16 and floats in [0, 1] go to ``equalize_adapthist`` as they
    are (float16 as float32); int8/int16 shifted to unsigned; anything else
    ``(x - min) / (max - min)`` in float64.  Non-finite pixels are filled
    with the median of the finite ones (of two middle values, the lower) and
    come back NaN.  No mask.
    """
    _one_image(image, "clahe")
    if mask is not None:
        raise ValueError("clahe takes no mask")
    finite, chosen, out = _selection(image, mask)
    if not chosen.any():
        return out
    x = image.astype(np.float32) if image.dtype == np.float16 else image
    if not finite.all():
        values = np.sort(x[finite])
        x = np.where(finite, x, values[(values.size - 1) // 2])
    if x.dtype in (np.int8, np.int16):
        unsigned = np.uint8 if x.dtype == np.int8 else np.uint16
        x = (x.astype(np.int64) - np.iinfo(x.dtype).min).astype(unsigned)
    elif x.dtype not in (np.uint8, np.uint16) and not (
            x.dtype.kind == "f" and x.min() >= 0 and x.max() <= 1):
        x = x.astype(np.float64)
        low, high = x.min(), x.max()
        if not np.isfinite(high - low):
            x, low, high = x / 2, low / 2, high / 2
        x = (x - low) / (high - low) if high > low else np.zeros(x.shape)
    result = exposure.equalize_adapthist(x, kernel_size=kernel_size, clip_limit=clip_limit,
                                         nbins=bins)
    out[finite] = result[finite]
    return out


def _fill_median(image, finite):
    """Non-finite pixels replaced by the finite median (of two middle values, the lower)."""
    if finite.all():
        return image
    values = np.sort(image[finite])
    return np.where(finite, image, values[(values.size - 1) // 2])


def opencv_clahe_lut(levels, count, clip_limit, tiles_x, tiles_y):
    """OpenCV's CLAHE of an image of integer ``levels`` (``0 .. count - 1``), written out.

    From ``modules/imgproc/src/clahe.cpp`` (``CLAHE_Impl::apply``,
    ``CLAHE_CalcLut_Body``, ``CLAHE_Interpolation_Body``) for any number of
    levels ``count`` (``histSize``: 256 for 8-bit, 65536 for 16-bit images);
    returns ``dst`` as int64.  The tests check it against cv2 itself.
    """
    h, w = levels.shape
    if w % tiles_x == 0 and h % tiles_y == 0:
        ext = levels
    else:   # copyMakeBorder(..., 0, ty - h % ty, 0, tx - w % tx, BORDER_REFLECT_101)
        def reflect(n, size):
            idx = np.arange(n)
            if size == 1:
                return np.zeros(n, np.int64)
            idx %= 2 * (size - 1)
            return np.where(idx >= size, 2 * (size - 1) - idx, idx)
        rows = reflect(h + tiles_y - h % tiles_y, h)
        cols = reflect(w + tiles_x - w % tiles_x, w)
        ext = levels[rows][:, cols]
    th, tw = ext.shape[0] // tiles_y, ext.shape[1] // tiles_x
    area = th * tw
    lut_scale = np.float32(count - 1) / np.float32(area)   # static_cast<float>(histSize-1) / area
    limit = 0
    if clip_limit > 0:
        limit = max(int(clip_limit * area / count), 1)
    lut = np.zeros((tiles_y, tiles_x, count), np.float32)
    for ty in range(tiles_y):
        for tx in range(tiles_x):
            tile = ext[ty * th:(ty + 1) * th, tx * tw:(tx + 1) * tw]
            hist = np.bincount(tile.ravel(), minlength=count).astype(np.int64)
            if limit > 0:
                clipped = int(np.maximum(hist - limit, 0).sum())
                hist = np.minimum(hist, limit)
                batch = clipped // count
                residual = clipped - batch * count
                hist += batch
                if residual != 0:
                    step = max(count // residual, 1)
                    i = 0
                    while i < count and residual > 0:
                        hist[i] += 1
                        i += step
                        residual -= 1
            total = np.cumsum(hist).astype(np.float32)
            lut[ty, tx] = np.clip(np.rint(total * lut_scale), 0, count - 1)   # saturate_cast
    xs = np.arange(w, dtype=np.float32) * (np.float32(1) / np.float32(tw)) - np.float32(0.5)
    ys = np.arange(h, dtype=np.float32) * (np.float32(1) / np.float32(th)) - np.float32(0.5)
    tx1 = np.floor(xs).astype(np.int64)
    ty1 = np.floor(ys).astype(np.int64)
    xa = xs - tx1.astype(np.float32)
    ya = (ys - ty1.astype(np.float32))[:, None]
    xa1, ya1 = np.float32(1) - xa, np.float32(1) - ya
    tx2 = np.minimum(tx1 + 1, tiles_x - 1)
    ty2 = np.minimum(ty1 + 1, tiles_y - 1)[:, None]
    tx1 = np.maximum(tx1, 0)
    ty1 = np.maximum(ty1, 0)[:, None]
    res = (lut[ty1, tx1, levels] * xa1 + lut[ty1, tx2, levels] * xa) * ya1 + \
          (lut[ty2, tx1, levels] * xa1 + lut[ty2, tx2, levels] * xa) * ya
    return np.clip(np.rint(res), 0, count - 1).astype(np.int64)


def opencv_clahe_reference(image, bins, mask=None, clip_limit=40.0, tiles_x=8, tiles_y=8):
    """The "opencv-clahe" method for one image: ``cv2.createCLAHE(...).apply / (levels - 1)``.

    uint8 and uint16 images go to cv2 itself (to :func:`opencv_clahe_lut`
    without it); int8 and int16 shifted to them; any other image's levels are
    its ``np.histogram`` bins (``bins`` of them), through
    :func:`opencv_clahe_lut`.  Non-finite pixels are filled with the finite
    median and come back NaN.  No mask; no stack.
    """
    _one_image(image, "opencv-clahe")
    if mask is not None:
        raise ValueError("opencv-clahe takes no mask")
    if bins < 2:
        raise ValueError("opencv-clahe needs at least 2 levels")
    finite, chosen, out = _selection(image, mask)
    if not chosen.any():
        return out
    x = _fill_median(image, finite)
    if x.dtype in (np.int8, np.int16):
        unsigned = np.uint8 if x.dtype == np.int8 else np.uint16
        x = (x.astype(np.int64) - np.iinfo(x.dtype).min).astype(unsigned)
    if x.dtype in (np.uint8, np.uint16):
        count = 2 ** (8 * x.dtype.itemsize)
        try:
            import cv2
        except ImportError:
            dst = opencv_clahe_lut(x.astype(np.int64), count, clip_limit, tiles_x, tiles_y)
        else:
            dst = cv2.createCLAHE(clipLimit=clip_limit,
                                  tileGridSize=(tiles_x, tiles_y)).apply(np.ascontiguousarray(x))
    else:
        count = bins
        _, edges = np.histogram(x, bins)
        levels = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
        dst = opencv_clahe_lut(levels, count, clip_limit, tiles_x, tiles_y)
    out[finite] = (dst.astype(np.float64) / (count - 1))[finite]
    return out


def _moon():
    crop = data.moon()[200:264, 150:214]           # a real photo, 64x64 uint8, grey 60..190
    return np.ascontiguousarray(crop)


MATCH_REFERENCE = _moon()


def match_scale(reference):
    """``(low, high)``: the reference dtype's range; floats: the smallest holding [0, 1] too."""
    reference = np.asarray(reference)
    if reference.dtype.kind in "iu":
        info = np.iinfo(reference.dtype)
        return float(info.min), float(info.max)
    finite = reference[np.isfinite(reference)]
    return min(0.0, float(finite.min())), max(1.0, float(finite.max()))


def match_reference(image, bins, mask=None, reference=MATCH_REFERENCE):
    """The "match" method for one image: ``match_histograms`` divided into [0, 1].

    The selected finite pixels are matched by ``match_histograms`` itself
    (both given flat: it needs equal dimensions, and it takes any shape);
    the other finite pixels, by the documented rule: ``F(v)`` = the fraction
    of selected pixels ``<= v`` (below them all: as the smallest),
    ``np.interp(F(v), G, reference values)``.
    scikit-image's unsigned path (``np.bincount``) cannot count a float or
    negative reference and would allocate a count per integer up to the
    image's maximum: for those images its other path (``np.unique``) is
    written out here.  float16/float32 results are float32, as it returns
    them.
    """
    _one_image(image, "match")
    finite, chosen, out = _selection(image, mask)
    if not chosen.any():
        return out
    reference = np.asarray(reference)
    template = reference[np.isfinite(reference)] if reference.dtype.kind == "f" \
        else reference.ravel()
    source = image[chosen]
    values, counts = np.unique(template, return_counts=True)
    quantiles = np.cumsum(counts) / template.size
    matched = np.empty(image.shape)
    if source.dtype.kind != "u" or (template.dtype.kind == "u" and source.max() < 2 ** 22):
        matched[chosen] = exposure.match_histograms(source, template).astype(np.float64)
    else:
        # Its np.bincount path would need a float or non-negative template, or
        # allocate a count per integer up to 2**64: its np.unique path, written out.
        src_values, src_lookup, src_counts = np.unique(source, return_inverse=True,
                                                       return_counts=True)
        src_quantiles = np.cumsum(src_counts) / source.size
        matched[chosen] = np.interp(src_quantiles, quantiles, values)[src_lookup]
    others = finite & ~chosen
    if others.any():
        below = np.searchsorted(np.sort(source), image[others], side="right")
        f = np.maximum(below, np.count_nonzero(source == source.min())) / source.size
        m = np.interp(f, quantiles, values)
        if image.dtype in (np.float16, np.float32):
            m = m.astype(np.float32)
        matched[others] = m
    low, high = match_scale(reference)
    out[finite] = (matched[finite] - low) / (high - low)
    return out


REFERENCES = {"numpy": numpy_reference, "skimage": skimage_reference,
              "opencv": opencv_reference, "imagej": imagej_reference,
              "imagej-classic": imagej_classic_reference, "textbook": textbook_reference,
              "clahe": clahe_reference, "opencv-clahe": opencv_clahe_reference,
              "match": match_reference}

PARAMS = {"match": {"reference": MATCH_REFERENCE}}


def params(method):
    """The parameters the tests that loop over every method pass to ``method``."""
    return dict(PARAMS.get(method, {}))


def per_image(reference, stack, bins, mask=None):
    """Apply a one-image reference to every image (last two axes) of a stack."""
    images = stack.reshape(-1, *stack.shape[-2:])
    out = np.stack([reference(image, bins, mask) for image in images])
    return out.reshape(stack.shape)


def sample_stack():
    """The bundled sample: real photographs, (100, 1, 96, 96) uint8."""
    return np.load(SAMPLE, allow_pickle=False)
