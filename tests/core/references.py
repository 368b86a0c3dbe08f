"""The references every method must reproduce, written out from the seed thread.

``seed_recipe`` is the NumPy answer of the Q&A thread this program starts
from, kept as the thread wrote it (variable names and all); the program's
"numpy" method is its result divided by 255.  ``skimage_recipe`` is
``skimage.exposure.equalize_hist``.  The ``*_finite`` variants state what the
program promises for NaN / inf pixels and masks: the reference computed on
the selected finite pixels alone, applied to every finite pixel.
"""

from pathlib import Path

import numpy as np
from skimage import exposure

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

    Below the smallest chosen value ``np.interp`` holds the first CDF value,
    so each value counts as at least that smallest one.  ``np.interp`` works
    in float64, so the values are compared as float64 (integers beyond 2**53
    that round together get the fraction of the largest of them).  Used where
    ``equalize_hist`` itself would need a bin per integer of a huge range.
    """
    chosen = np.ones(image.shape, bool) if mask is None else np.broadcast_to(mask, image.shape)
    values = np.sort(image[chosen].astype(np.float64))
    at_least = np.maximum(image.astype(np.float64), values[0])
    return np.searchsorted(values, at_least, side="right") / values.size


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


REFERENCES = {"numpy": numpy_reference, "skimage": skimage_reference}


def per_image(reference, stack, bins, mask=None):
    """Apply a one-image reference to every image (last two axes) of a stack."""
    images = stack.reshape(-1, *stack.shape[-2:])
    out = np.stack([reference(image, bins, mask) for image in images])
    return out.reshape(stack.shape)


def sample_stack():
    """The bundled sample: real photographs, (100, 1, 96, 96) uint8."""
    return np.load(SAMPLE, allow_pickle=False)
