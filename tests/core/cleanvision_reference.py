"""CleanVision's checks re-typed from its source, for the tests: per PIL image, then per dataset.

https://github.com/cleanlab/cleanvision v0.3.7 (commit 2f69ae8a):
``src/cleanvision/issue_managers/image_property.py`` (line numbers below),
``image_property_issue_manager.py`` (defaults, lines 57-73) and
``duplicate_issue_manager.py``, with imagehash's ``phash`` and Pillow as
CleanVision calls them.  Every function takes what CleanVision's dataset
gives it: ``Image.open(path)`` of a file (or ``Image.fromarray``), in its own
mode.  Nothing here comes from histeq_gui.
"""

import hashlib
import math

import imagehash
import numpy as np
from PIL import ImageFilter, ImageStat

# image_property_issue_manager.py, get_default_params (lines 57-73)
DEFAULTS = {"dark": 0.32, "light": 0.05, "odd_aspect_ratio": 0.35, "low_information": 0.3,
            "low_information_factor": 0.1, "blurry": 0.29, "blurry_factor": 0.01,
            "blurry_color_threshold": 0.18, "iqr_factor": 3.0}


def cv_calculate_brightness(red, green, blue):
    # image_property.py lines 91-100 (calculate_brightness)
    cur_bright = (
        np.sqrt(0.241 * (red * red) + 0.691 * (green * green) + 0.068 * (blue * blue))
    ) / 255
    return cur_bright


def cv_calc_percentile_brightness(imarr, percentiles):
    # image_property.py lines 103-119 (calc_percentile_brightness), on np.asarray(image)
    if len(imarr.shape) == 3:
        r, g, b = (
            imarr[:, :, 0].astype("int"),
            imarr[:, :, 1].astype("int"),
            imarr[:, :, 2].astype("int"),
        )
        pixel_brightness = cv_calculate_brightness(r, g, b)
    else:
        pixel_brightness = imarr / 255.0
    perc_values = np.percentile(pixel_brightness, percentiles)
    return perc_values


def cv_scores(pil_image):
    """CleanVision's dark, light and low-information scores and flags of one PIL image."""
    # BrightnessProperty.calculate, lines 139-146
    percentiles = [1, 5, 10, 15, 90, 95, 99]
    perc_values = cv_calc_percentile_brightness(np.asarray(pil_image), percentiles)
    raw = {f"brightness_perc_{p}": value for p, value in zip(percentiles, perc_values)}
    # BrightnessProperty.get_scores, lines 158-163: dark uses perc_99, light 1 - perc_5
    dark = raw["brightness_perc_99"]
    light = 1 - raw["brightness_perc_5"]
    # calc_entropy + EntropyProperty.get_scores, lines 199-233 (normalizing_factor 0.1,
    # image_property_issue_manager.py line 64); scores above 1 become 1
    low = 0.1 * pil_image.entropy()
    low = 1 if low > 1 else low
    # mark_issue, lines 50-61: score < threshold; defaults lines 59-64
    return {"dark_score": dark, "light_score": light, "low_information_score": low,
            "is_dark": dark < 0.32, "is_light": light < 0.05, "is_low_information": low < 0.3}


def cv_blurriness(image):
    """``BlurrinessProperty.calculate`` (lines 257-269): blurriness and grayscale std."""
    ratio = max(image.width, image.height) / 64           # MAX_RESOLUTION_FOR_BLURRY_DETECTION
    if ratio > 1:
        resized_image = image.resize(
            (max(int(image.width // ratio), 1), max(int(image.height // ratio), 1))
        )
    else:
        resized_image = image.copy()
    gray_image = resized_image.convert("L")
    edges = gray_image.filter(ImageFilter.FIND_EDGES)     # get_edges, lines 291-293
    blurriness = np.sqrt(ImageStat.Stat(edges).var[0])    # calc_blurriness, lines 236-239
    std = np.std(gray_image.histogram())                  # calc_std_grayscale, lines 242-243
    return blurriness, std


def cv_blurry_scores(blurriness, std):
    """``BlurrinessProperty.get_scores`` (lines 271-288) with the defaults, on arrays."""
    blur_scores = 1 - np.exp(-1 * np.asarray(blurriness) * DEFAULTS["blurry_factor"])
    std_scores = 1 - np.exp(-1 * np.asarray(std) * DEFAULTS["blurry_factor"])
    std_scores[std_scores <= DEFAULTS["blurry_color_threshold"]] = 0
    return np.minimum(blur_scores + std_scores, 1)


def cv_grayscale_score(image):
    """``ColorSpaceProperty`` (lines 305-341): 0 for mode "L" (the issue), else 1."""
    return 0 if image.mode == "L" else 1


def cv_aspect_ratio(image):
    """``calc_aspect_ratio`` (lines 167-171)."""
    width, height = image.size
    return min(width / height, height / width)


def cv_odd_size_scores(images):
    """``SizeProperty.get_scores`` and ``mark_issue`` (lines 358-405): scores and flags."""
    size = np.array([math.sqrt(im.size[0]) * math.sqrt(im.size[1]) for im in images])
    q1, q3 = np.percentile(size, [25, 75])
    size_iqr = q3 - q1
    min_threshold, max_threshold = (q1 - DEFAULTS["iqr_factor"] * size_iqr,
                                    q3 + DEFAULTS["iqr_factor"] * size_iqr)
    mid_threshold = (min_threshold + max_threshold) / 2
    threshold_gap = max_threshold - min_threshold
    distance = np.absolute(size - mid_threshold)
    if threshold_gap > 0:
        norm_value, threshold = threshold_gap, 0.5
    else:
        norm_value, threshold = mid_threshold, 1.0
    scores = 1 - np.clip(distance / norm_value, 0, 1)
    return scores, scores < threshold


def cv_hashes(image):
    """``get_hash`` (duplicate_issue_manager.py lines 18-44) with the default params."""
    md5 = hashlib.md5(np.asarray(image).tobytes()).hexdigest()
    phash = str(imagehash.phash(image, hash_size=8))
    return md5, phash


def cv_sets(hashes):
    """``_get_duplicate_sets``: lists of indices sharing a hash, more than one, in order."""
    groups = {}
    for i, h in enumerate(hashes):
        groups.setdefault(h, []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def cv_duplicate_sets(images):
    """Exact and near-duplicate sets (``_update_info``, ``_remove_exact_duplicates_from_near``)."""
    md5s, phashes = zip(*(cv_hashes(im) for im in images))
    exact = cv_sets(md5s)
    near = [s for s in cv_sets(phashes) if s not in exact]
    return exact, near, list(phashes)


def cv_set_scores(sets, n):
    """``_update_issues`` (lines 197-217): ``1 / len(set)`` for members, else 1; issue: != 1."""
    scores = np.ones(n)
    for s in sets:
        scores[s] = 1.0 / len(s)
    return scores, scores != 1
