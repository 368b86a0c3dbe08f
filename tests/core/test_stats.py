"""image_stats() against plain per-image references, on real photographs and hard cases.

Every column of the table is recomputed here image by image with plain NumPy
(``np.mean``, ``np.std``, ``np.percentile``, ``np.unique``, ``np.histogram``),
Pillow's ``Image.entropy()`` for 8-bit images, and CleanVision's formulas
re-typed from its source (``cleanvision_reference.py``; the checks beyond
brightness are tested in ``test_stats_cleanvision.py``).  The equalized
images come from the seed recipe of ``references.py``, not from the program.

The comparisons are exact (``assert_array_equal``): the table repeats NumPy's
and Pillow's floating point operations in their order.  On a machine where
that does not hold (not x86-64), float columns are compared to 1e-12
relative instead.
"""

import csv
import io
import math
import platform

import numpy as np
import pytest
from cleanvision_reference import cv_scores
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image
from references import REFERENCES, sample_stack
from skimage import data

from histeq_gui.core.errors import Cancelled
from histeq_gui.core.stats import (
    COLUMNS,
    DATASET_COLUMNS,
    MAD_SCALE,
    THRESHOLDS,
    image_stats,
    outliers,
    robust_z,
)
from histeq_gui.core.stats_csv import check_stats_target, stats_to_csv

BIT_EXACT = platform.machine().lower() in ("x86_64", "amd64")
M_LOG2E = 1.44269504088896340736     # Pillow multiplies by C's M_LOG2E


# ------------------------------------------------------------- the other references


def pil_formula_entropy(counts):
    """Pillow's _entropy (src/_imaging.c) re-typed, for histograms Pillow cannot hold."""
    fsum = float(sum(int(c) for c in counts))
    entropy = 0.0
    for c in counts:
        p = float(c) / fsum
        if p != 0.0:
            entropy += p * math.log(p) * M_LOG2E
    return -entropy


def histogram_entropy(values):
    """The table's entropy of non-8-bit values: 256 equal bins over their range."""
    values = values.astype(np.float64)
    try:
        counts = np.histogram(values, bins=256)[0]
    except ValueError:                   # range too narrow for 256 bins: a bin per value
        counts = np.unique(values, return_counts=True)[1]
    return pil_formula_entropy(counts)


def entropy_8bit(levels):
    """Pillow's Image.entropy() of a 2-D array of 256 levels (mode "L")."""
    return Image.fromarray(np.ascontiguousarray(levels, dtype=np.uint8)).entropy()


def scale_range(stack):
    """(lo, hi) of the [0, 1] scale: value_range "auto" as histeq_gui/core/value_range.py states it.

    8-bit integers: the dtype's range; wider ones: the smallest of ImageJ's
    bit depths 8, 10, 12, 14, 15, 16 holding every value when none is
    negative, else the dtype's range; floats: [0, 1] when the finite values
    lie in it, else their 0.175th and 99.825th percentiles (ImageJ's 0.35 %
    saturated; the data's range if those are equal).
    """
    if stack.dtype.kind in "iu":
        info = np.iinfo(stack.dtype)
        if stack.dtype.itemsize > 1 and stack.size and stack.min() >= 0:
            for bits in (8, 10, 12, 14, 15, 16):
                if stack.max() <= 2 ** bits - 1 <= info.max:
                    return 0.0, float(2 ** bits - 1)
        return float(info.min), float(info.max)
    finite = stack[np.isfinite(stack)].astype(np.float64)
    if not finite.size or (finite.min() >= 0 and finite.max() <= 1):
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [0.175, 99.825])
    if lo < hi:
        return float(lo), float(hi)
    return (finite.min(), finite.max()) if finite.min() < finite.max() else \
        (finite.min(), finite.min() + 1.0)


def luminance(rgb, lo):
    """CleanVision's pixel brightness before / 255, on channels from lo (below lo: lo)."""
    r, g, b = (np.maximum(rgb[..., c].astype(np.float64) - lo, 0.0) for c in range(3))
    return np.sqrt(0.241 * (r * r) + 0.691 * (g * g) + 0.068 * (b * b)) + lo


def reference_row(image, equalized, lo, hi):
    """Every column of one image (H, W) or (H, W, C), plainly.  ``equalized`` in [0, 1]."""
    colour = image.ndim == 3 and image.shape[-1] >= 3
    gray = image[..., 0] if image.ndim == 3 else image
    y = luminance(image, lo) if colour else gray
    finite = np.isfinite(y)
    values = y[finite].astype(np.float64)
    span = hi - lo if hi > lo else 1.0
    row = {"nan_count": int(np.isnan(y).sum()), "inf_count": int(np.isinf(y).sum()),
           "distinct": len(np.unique(y[finite]))}
    if values.size:
        row.update(mean=np.mean(values), std=np.std(values), min=values.min(),
                   max=values.max(), p01=np.percentile(values, 1),
                   p99=np.percentile(values, 99))
        brightness = (values - lo) / span
        row["dark_score"] = np.percentile(brightness, 99)
        row["light_score"] = 1 - np.percentile(brightness, 5)
    else:
        row.update({k: np.nan for k in ("mean", "std", "min", "max", "p01", "p99",
                                        "dark_score", "light_score")})
    eight_bit = y.dtype in (np.uint8, np.int8)
    if not values.size:
        row["entropy"] = np.nan
    elif eight_bit:
        row["entropy"] = entropy_8bit(y.astype(np.int16) + (128 if y.dtype == np.int8 else 0))
    else:
        row["entropy"] = histogram_entropy(values)
    # low information: Pillow's entropy of the image as CleanVision opens it (all bands)
    if image.ndim == 2:
        band = row["entropy"]
    elif image.dtype == np.uint8:
        band = Image.fromarray(image).entropy() if image.shape[-1] in (3, 4) \
            else pil_formula_entropy(np.concatenate(
                [np.bincount(image[..., c].ravel(), minlength=256)
                 for c in range(image.shape[-1])]))
    else:
        fin = image[np.isfinite(image)].astype(np.float64)
        counts = [np.histogram(image[..., c][np.isfinite(image[..., c])].astype(np.float64),
                               bins=256, range=(fin.min(), fin.max()))[0]
                  for c in range(image.shape[-1])]
        band = pil_formula_entropy(np.concatenate(counts))
    low = 0.1 * band
    row["low_information_score"] = 1.0 if low > 1 else low
    with np.errstate(invalid="ignore"):
        row["is_dark"] = row["dark_score"] < THRESHOLDS["dark"]
        row["is_light"] = row["light_score"] < THRESHOLDS["light"]
        row["is_low_information"] = row["low_information_score"] < THRESHOLDS["low_information"]
    channels = image[..., None] if image.ndim == 2 else image
    row["is_constant"] = all(len(np.unique(c[np.isfinite(c)])) <= 1
                             for c in np.moveaxis(channels, -1, 0))
    # after equalization: the uint8 export's levels, NaN left out
    levels = np.rint(255 * equalized)
    if colour:
        after = luminance(levels, 0.0)
        after = after[np.isfinite(after)]
        row["distinct_after"] = len(np.unique(after))
        row["entropy_after"] = histogram_entropy(after) if after.size else np.nan
        v = luminance(equalized, 0.0)
    else:
        level = levels[..., 0] if levels.ndim == 3 else levels
        kept = level[~np.isnan(level)]
        row["distinct_after"] = len(np.unique(kept))
        row["entropy_after"] = (pil_formula_entropy(np.bincount(kept.astype(np.int64),
                                                                minlength=256))
                                if kept.size else np.nan)
        if kept.size and level.ndim == 2 and not np.isnan(level).any():
            assert row["entropy_after"] == entropy_8bit(level)     # Pillow itself
        v = equalized[..., 0] if equalized.ndim == 3 else equalized
    row["levels_lost"] = row["distinct"] - row["distinct_after"]
    change = np.abs(v[finite] - (y[finite].astype(np.float64) - lo) / span)
    row["mean_abs_change"] = np.mean(change) if change.size else np.nan
    return row


def equalize_reference(images, method="numpy", bins=256, scope="image"):
    """The seed recipe (or equalize_hist) per image and channel; images (N, H, W[, C])."""
    reference = REFERENCES[method]
    colour = images.ndim == 4
    channels = images if colour else images[..., None]
    out = np.empty(channels.shape)
    for c in range(channels.shape[-1]):
        if scope == "stack":
            out[..., c] = reference(channels[..., c], bins)
        else:
            for i in range(len(images)):
                try:
                    out[i, ..., c] = reference(channels[i, ..., c], bins)
                except ValueError:       # np.histogram: range too narrow for the bins
                    out[i, ..., c] = np.nan
    return out if colour else out[..., 0]


def check_table(table, images, method="numpy", bins=256, scope="image", names=None):
    """Compare every column of ``table`` with the per-image reference; images (N, H, W[, C])."""
    assert list(table) == list(COLUMNS)
    n = len(images)
    for name, (dtype, _) in COLUMNS.items():
        column = table[name]
        assert column.shape == (n,), name
        assert column.dtype.kind == np.dtype(dtype if dtype != "str" else "U").kind, name
    assert_array_equal(table["index"], np.arange(n))
    assert table["name"].tolist() == (list(names) if names is not None else [""] * n)
    lo, hi = scale_range(images)
    equalized = equalize_reference(images, method, bins, scope)
    rows = [reference_row(images[i], equalized[i], lo, hi) for i in range(n)]
    for name in rows[0] if rows else ():
        expected = np.array([row[name] for row in rows])
        actual = table[name]
        if actual.dtype.kind == "f" and not BIT_EXACT:
            assert_allclose(actual, expected, rtol=1e-12, atol=0, equal_nan=True,
                            err_msg=name)
        else:
            assert_array_equal(actual, expected.astype(actual.dtype), err_msg=name)
    # duplicates: the first earlier image with the same bytes
    first = {}
    expected = []
    for i in range(n):
        key = images[i].tobytes()
        if key in first:
            expected.append(first[key])
        else:
            first[key] = i
            expected.append(-1)
    assert_array_equal(table["duplicate_of"], expected)
    assert_array_equal(table["is_duplicate"], np.array(expected) >= 0)


# ------------------------------------------------------------------------- real data


def photo_crops(n=24, size=64, seed=3):
    """Gray crops of scikit-image's photographs, some darkened, brightened or flattened."""
    photos = [data.camera(), data.moon(), data.coins(), data.page(), data.text(),
              data.grass(), data.gravel(), data.brick()]
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        photo = photos[i % len(photos)]
        y, x = rng.integers(0, min(photo.shape) - size, 2)
        crop = photo[y:y + size, x:x + size].astype(np.float64) / 255
        crop = crop ** [1, 3.0, 0.3][i % 3]
        if i % 5 == 4:
            crop = 0.45 + 0.1 * crop
        images.append(crop)
    return np.stack(images)


def as_uint8(unit):
    return np.rint(unit * 255).astype(np.uint8)


def planted(stack):
    """Plant a black, a dark, a bright, a constant image and two duplicates into a uint8 stack."""
    stack = stack.copy()
    stack[1] = 0                                       # all black
    stack[3] = stack[3] // 8                           # dark (max about 31)
    stack[5] = 255 - (255 - stack[5]) // 12            # bright
    stack[7] = 117                                     # constant grey
    stack[9] = stack[2]                                # duplicate of 2
    stack[11] = stack[2]                               # duplicate of 2 again
    return stack


def test_photographs_uint8_every_column():
    images = planted(as_uint8(photo_crops()))
    names = [f"crop_{i:02d}.png" for i in range(len(images))]
    table = image_stats(images[:, None], names=names)
    check_table(table, images, names=names)


def test_planted_images_are_flagged_and_ordinary_ones_not():
    images = planted(as_uint8(photo_crops()))
    table = image_stats(images[:, None])
    assert table["is_dark"][[1, 3]].all() and table["is_light"][5]
    assert table["is_constant"][[1, 7]].all()
    assert table["is_low_information"][[1, 7]].all()
    assert table["duplicate_of"][[9, 11]].tolist() == [2, 2]
    assert not table["is_duplicate"][2]                 # the first occurrence
    ordinary = [6, 12, 15, 18, 21]                       # plain crops of photographs
    for flag in ("is_dark", "is_light", "is_constant", "is_duplicate", "is_low_information"):
        assert not table[flag][ordinary].any(), flag
    # and a planted pair in the bundled sample of real photographs
    sample = sample_stack().copy()
    sample[10] = sample[40]
    sample[20] = 3
    table = image_stats(sample)
    assert table["duplicate_of"][40] == 10 and table["is_duplicate"].sum() == 1
    assert table["is_constant"][20] and table["is_dark"][20]


def test_sample_stack_and_its_seed_layout():
    stack = sample_stack()                               # (100, 1, 96, 96) uint8 photographs
    table = image_stats(stack, method="skimage", bins=64)
    check_table(table, stack[:, 0], method="skimage", bins=64)


def test_lfw_faces_float64_and_as_uint8():
    faces = data.lfw_subset()                            # (200, 25, 25) float64 in [0, 1]
    check_table(image_stats(faces), faces)
    faces8 = as_uint8(faces)
    check_table(image_stats(faces8, bins=32), faces8, bins=32)


def test_digits_small_images_with_duplicates():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits().images.astype(np.uint8) * 15     # (1797, 8, 8)
    table = image_stats(digits)
    check_table(table, digits)


def test_photographs_16bit_and_signed():
    unit = photo_crops(n=10, size=40)
    u16 = np.rint(unit * 60000 + 1000).astype(np.uint16)
    check_table(image_stats(u16), u16)
    i16 = np.rint(unit * 20000 - 9000).astype(np.int16)
    check_table(image_stats(i16), i16)
    i8 = (np.rint(unit * 255) - 128).astype(np.int8)
    check_table(image_stats(i8), i8)
    big = (unit * 1e4).astype(np.int64) + 2 ** 60     # beyond 2**53: float64 columns round
    big[1] = 2 ** 60                                   # constant
    big[2, 0, :3] = [2 ** 60 + 1, 2 ** 60 + 2, 2 ** 60 + 3]   # distinct as stored
    check_table(image_stats(big), big)


def test_float_with_outliers_nan_and_inf():
    images = photo_crops(n=10, size=32) * 3 - 1
    images[0, 0, 0] = 1e6                                # outliers
    images[0, 5, 5] = -1e6
    images[1, :4] = np.nan                               # some NaN
    images[2, 3, 3] = np.inf
    images[2, 4, 4] = -np.inf
    images[3] = np.nan                                   # all NaN
    images[4, 1:] = np.nan                               # one finite row
    images[5] = 0.25                                     # constant
    images[6] = np.where(np.arange(32) % 2, 1.0, np.nextafter(1.0, 2))   # two values 1 ulp apart
    table = image_stats(images)
    check_table(table, images)
    assert table["nan_count"][3] == 32 * 32 and np.isnan(table["mean"][3])
    assert table["distinct"][3] == 0 and table["is_constant"][3]
    assert not table["is_dark"][3] and not table["is_light"][3]
    assert table["inf_count"][2] == 2 and table["distinct"][6] == 2
    check_table(image_stats(images.astype(np.float32)), images.astype(np.float32))


def test_colour_channels_last_and_channel_axis_1():
    rng = np.random.default_rng(5)
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    crops = []
    for i in range(9):
        photo = photos[i % len(photos)]
        y, x = rng.integers(0, min(photo.shape[:2]) - 48, 2)
        crops.append(photo[y:y + 48, x:x + 48])
    rgb = np.stack(crops)                                # (9, 48, 48, 3) uint8
    rgb[1] = rgb[1] // 10                                # dark
    rgb[2] = (10, 200, 30)                               # constant colour
    rgb[3] = rgb[0]                                      # duplicate
    last = image_stats(rgb, channel_axis=-1)
    check_table(last, rgb)
    # CleanVision itself on the PIL images (RGB mode): same scores and flags
    for i in range(len(rgb)):
        expected = cv_scores(Image.fromarray(rgb[i]))
        for name, value in expected.items():
            assert last[name][i] == value, (name, i)
    assert last["is_dark"][1] and last["is_constant"][2] and last["duplicate_of"][3] == 0
    # the same stack with the channels on axis 1: the same table
    first = image_stats(np.ascontiguousarray(np.moveaxis(rgb, -1, 1)), channel_axis=1)
    for name in COLUMNS:
        if name not in ("duplicate_of", "is_duplicate"):
            assert_array_equal(first[name], last[name], err_msg=name)
    assert first["duplicate_of"][3] == 0
    # RGBA (alpha counted in the low-information entropy, as Pillow does) and gray + alpha
    alpha = rng.integers(0, 256, rgb.shape[:3] + (1,), dtype=np.uint8)
    rgba = np.concatenate([rgb, alpha], axis=-1)
    check_table(image_stats(rgba, channel_axis=-1), rgba)
    for i in range(3):
        assert image_stats(rgba[i:i + 1], channel_axis=-1)["low_information_score"][0] == \
            cv_scores(Image.fromarray(rgba[i], "RGBA"))["low_information_score"]
    gray_alpha = np.ascontiguousarray(rgba[..., [0, 3]])
    check_table(image_stats(gray_alpha, channel_axis=-1), gray_alpha)
    # float colour
    rgb_float = rgb.astype(np.float64) / 255 - 0.2
    rgb_float[4, 0, 0, 1] = np.nan
    check_table(image_stats(rgb_float, channel_axis=-1), rgb_float)


def test_gray_matches_cleanvision_on_photographs():
    images = planted(as_uint8(photo_crops(n=12)))
    table = image_stats(images)
    for i in range(len(images)):
        for name, value in cv_scores(Image.fromarray(images[i])).items():
            assert table[name][i] == value, (name, i)


@pytest.mark.parametrize("shape", [(1, 1), (5, 1, 1), (3, 1, 7), (2, 2, 1, 6, 5)])
def test_tiny_and_odd_shapes(shape):
    rng = np.random.default_rng(len(shape))
    stack = rng.integers(0, 256, shape, dtype=np.uint8)
    table = image_stats(stack)
    check_table(table, stack.reshape(-1, *shape[-2:]))
    floats = rng.random(shape)
    check_table(image_stats(floats), floats.reshape(-1, *shape[-2:]))


def test_scope_stack_and_method_skimage(monkeypatch):
    from histeq_gui.core import stats
    monkeypatch.setattr(stats, "_CHUNK_PIXELS", 4 * 32 * 32)        # several chunks,
    monkeypatch.setattr(stats, "_EQUALIZE_CHUNKS", 1)               # each equalized alone
    images = planted(as_uint8(photo_crops(n=12, size=32)))
    check_table(image_stats(images, scope="stack", bins=40), images, bins=40, scope="stack")
    floats = photo_crops(n=6, size=24)
    check_table(image_stats(floats, method="skimage", bins=100), floats, method="skimage",
                bins=100)


def test_many_chunks_equal_one(monkeypatch):
    from histeq_gui.core import stats
    images = planted(as_uint8(photo_crops(n=30, size=32)))
    whole = image_stats(images)
    monkeypatch.setattr(stats, "_CHUNK_PIXELS", 3 * 32 * 32)
    for per_call in (1, 3):                     # chunks per call of equalize
        monkeypatch.setattr(stats, "_EQUALIZE_CHUNKS", per_call)
        chunked = image_stats(images)
        for name in COLUMNS:
            assert_array_equal(chunked[name], whole[name], err_msg=name)


def test_input_is_not_modified_and_memory_maps_work(tmp_path):
    images = planted(as_uint8(photo_crops(n=12, size=16)))
    path = tmp_path / "stack.npy"
    np.save(path, images)
    mapped = np.load(path, mmap_mode="r")
    table = image_stats(mapped)
    assert_array_equal(np.load(path), images)
    check_table(table, images)


def test_big_endian_and_empty_stack():
    images = as_uint8(photo_crops(n=4, size=16)).astype(">u2")
    check_table(image_stats(images), images.astype(np.uint16))
    empty = image_stats(np.zeros((0, 1, 8, 8), np.uint8))
    assert list(empty) == list(COLUMNS) and all(len(v) == 0 for v in empty.values())


def test_warm_up_compiles_the_loops_for_a_dtype():
    from histeq_gui.core import stats_kernels
    from histeq_gui.core.stats import warm_up
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float16, np.float32,
                  np.float64):
        warm_up(dtype)
    assert stats_kernels.gray8_summary.signatures and stats_kernels.gray8_after.signatures
    compiled = {str(sig[0].dtype) for sig in stats_kernels.histogram256.signatures}
    assert {"uint16", "int16", "int32", "float32", "float64"} <= compiled


def test_errors_are_one_line():
    with pytest.raises(ValueError, match="boolean"):
        image_stats(np.zeros((2, 4, 4), bool))
    with pytest.raises(ValueError, match="one name per image"):
        image_stats(np.zeros((2, 4, 4), np.uint8), names=["a"])
    with pytest.raises(ValueError, match="unknown method"):
        image_stats(np.zeros((2, 4, 4), np.uint8), method="nope")
    with pytest.raises(ValueError, match="scope"):
        image_stats(np.zeros((2, 4, 4), np.uint8), scope="nope")
    with pytest.raises(ValueError, match="channels"):
        image_stats(np.zeros((2, 4, 4, 5), np.uint8), channel_axis=-1)
    with pytest.raises(ValueError, match="2 dimensions"):
        image_stats(np.zeros(4, np.uint8))


def test_progress_reports_and_cancels(monkeypatch):
    from histeq_gui.core import stats
    monkeypatch.setattr(stats, "_CHUNK_PIXELS", 4 * 16 * 16)
    images = as_uint8(photo_crops(n=20, size=16))
    calls = []
    image_stats(images, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 5) and calls[-1] == (5, 5)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    def cancel(done, total):
        if done >= 2:
            raise Cancelled()
    with pytest.raises(Cancelled):
        image_stats(images, progress=cancel)
    with pytest.raises(Cancelled):
        image_stats(images, scope="stack", progress=cancel)
    calls = []
    image_stats(images, scope="stack", progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 10) and calls[-1] == (10, 10)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    calls = []
    image_stats(images[:0], progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 1), (1, 1)]


# ----------------------------------------------------------------- dataset-relative


def test_robust_z_on_a_worked_example():
    table = {"x": np.array([1.0, 2.0, 3.0, 4.0, 100.0, np.nan])}
    # median 3; |x - 3| = 2, 1, 0, 1, 97 -> MAD 1; z = (x - 3) / 1.4826
    z = robust_z(table, "x")
    assert_allclose(z[:5], np.array([-2, -1, 0, 1, 97]) / 1.4826, rtol=1e-15)
    assert np.isnan(z[5]) and MAD_SCALE == 1.4826
    assert outliers(table, "x").tolist() == [False, False, False, False, True, False]
    assert outliers(table, "x", side="low").sum() == 0
    assert outliers(table, "x", threshold=0.5, side="low").tolist()[:2] == [True, True]
    # MAD 0 (most values equal): the mean absolute deviation, scaled by 1.253314
    flat = {"x": np.array([5.0, 5.0, 5.0, 5.0, 9.0])}
    assert_allclose(robust_z(flat, "x"), np.array([0, 0, 0, 0, 4]) / (1.253314 * 0.8))
    assert robust_z({"x": np.ones(4)}, "x").tolist() == [0.0] * 4
    with pytest.raises(ValueError, match="no column"):
        robust_z(table, "nope")


def test_outliers_flag_few_where_fixed_thresholds_flag_all():
    faces = as_uint8(data.lfw_subset()[:60] * 0.25)       # a uniformly dark dataset
    faces[17] = as_uint8(data.lfw_subset()[17])          # one normally lit face
    table = image_stats(faces)
    assert table["is_dark"].sum() >= 59                  # CleanVision: nearly all dark
    flagged = outliers(table, "mean")
    assert flagged[17] and flagged.sum() <= 3


# ----------------------------------------------------------------------------- CSV


def read_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def parse(value, dtype):
    if dtype == "bool":
        assert value in ("true", "false")
        return value == "true"
    if dtype == "str":
        return value
    if dtype == "int64":
        return int(value)
    return float(value)


def test_csv_round_trip(tmp_path):
    images = planted(as_uint8(photo_crops(n=12, size=24))).astype(np.float64) / 255
    images[0, 0, 0] = np.nan
    images[1, 0, 0] = np.inf
    names = ['a,b.png', 'quote"d.png', "new\nline.png", "ünïcode.png", " space.png"] + \
        [f"{i}.png" for i in range(7)]
    table = image_stats(images, names=names)
    path = tmp_path / "stats.csv"
    stats_to_csv(table, path)
    text = path.read_text(encoding="utf-8")
    header, rows = read_csv(text)
    assert header == list(COLUMNS) and len(rows) == len(images)
    for name, (dtype, _) in COLUMNS.items():
        column = [parse(row[header.index(name)], dtype) for row in rows]
        expected = table[name].tolist()
        if dtype == "float64":
            assert_array_equal(np.array(column), table[name], err_msg=name)   # exact
        else:
            assert column == expected, name
    assert [p.name for p in tmp_path.iterdir()] == ["stats.csv"]          # no temporaries
    # to an open file: the same text
    buffer = io.StringIO()
    stats_to_csv(table, buffer)
    assert buffer.getvalue() == text


def test_csv_is_atomic_and_writes_a_sidecar(tmp_path, monkeypatch):
    from histeq_gui.core import stats_csv
    table = image_stats(as_uint8(photo_crops(n=4, size=16)))
    path = tmp_path / "stats.csv"
    path.write_text("old")
    with pytest.raises(ValueError, match="exists"):
        stats_to_csv(table, path, overwrite=False)
    assert path.read_text() == "old"
    write = stats_csv._write

    def fail_halfway(columns, fh):
        write({name: values[:2] for name, values in columns.items()}, fh)
        raise OSError("no space left on device")
    monkeypatch.setattr(stats_csv, "_write", fail_halfway)
    with pytest.raises(ValueError, match="no space left"):
        stats_to_csv(table, path, info={})
    monkeypatch.setattr(stats_csv, "_write", write)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.csv"]
    stats_to_csv(table, path, info={"source": "faces.npy"})
    assert path.read_text().startswith("index,name,label,mean")
    import json
    sidecar = json.loads((tmp_path / "stats.csv.json").read_text())
    assert sidecar["source"] == "faces.npy" and sidecar["method"] == "numpy"
    assert sidecar["thresholds"] == THRESHOLDS and sidecar["rows"] == 4


# ------------------------------------------------------------------ building blocks


def test_equal_bins_match_np_histogram_at_the_edges():
    """The 256-bin counts behind the entropy are np.histogram's, also for values on the edges."""
    from histeq_gui.core.stats import _bin256
    rng = np.random.default_rng(11)
    rows = []
    for lo, hi in [(0.0, 1.0), (-3.7, 12.9), (1e6, 1e6 + 0.3), (-1e-3, 2e-3), (0.1, 0.7),
                   (5.0, 5.0 + 255 * 2.0 ** -40), (-1e300, 1e300)]:
        edges = np.histogram(np.array([lo, hi]), bins=256)[1]
        values = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf),
                                 rng.uniform(lo, hi, 229)])
        rows.append(np.clip(values, lo, hi)[:1000])
    y = np.stack(rows)
    y[3, :5] = np.nan
    finite = np.isfinite(y)
    lo = np.array([row[np.isfinite(row)].min() for row in y])
    hi = np.array([row[np.isfinite(row)].max() for row in y])
    counts = _bin256(y, finite, lo, hi, np.ones(len(y), bool))
    for i, row in enumerate(y):
        expected = np.histogram(row[np.isfinite(row)], bins=256)[0]
        assert_array_equal(counts[i], expected, err_msg=str(i))
    for values in (y[:6].astype(np.float32), (y[[0, 4]] * 60000).astype(np.uint16)):
        f64 = values.astype(np.float64)
        counts = _bin256(values, np.isfinite(f64), np.nanmin(f64, axis=1), np.nanmax(f64, axis=1),
                         np.ones(len(values), bool))
        for i, row in enumerate(f64):
            assert_array_equal(counts[i], np.histogram(row[np.isfinite(row)], bins=256)[0])


def test_pairwise_sum_is_numpys():
    from histeq_gui.core.stats_kernels import pairwise_sum
    rng = np.random.default_rng(12)
    for n in [0, 1, 7, 8, 9, 127, 128, 129, 255, 1000, 9216, 65537]:
        a = rng.random(n) * 10.0 ** rng.uniform(-8, 8, n)
        assert pairwise_sum(a, 0, n) == np.add.reduce(a), n
        if n > 10:
            assert pairwise_sum(a, 3, n - 5) == np.add.reduce(a[3:n - 2]), n


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([np.uint8, np.int8, np.uint16, np.int32, np.float32, np.float64]),
       st.integers(1, 5), st.integers(1, 9), st.integers(1, 9), st.integers(0, 2 ** 32 - 1),
       st.booleans())
def test_random_stacks_against_the_reference(dtype, n, h, w, seed, specials):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        low, high = max(info.min, -5000), min(info.max, 5000)
        span = rng.integers(1, high - low + 1)
        start = rng.integers(low, high - span + 1)
        images = rng.integers(start, start + span + 1, (n, h, w)).astype(dtype)
    else:
        images = (rng.normal(size=(n, h, w)) * 10.0 ** rng.uniform(-3, 3)).astype(dtype)
        images = np.round(images, int(rng.integers(0, 3))).astype(dtype)   # repeated values
        if specials:
            mask = rng.random(images.shape) < 0.2
            images[mask] = rng.choice([np.nan, np.inf, -np.inf], mask.sum())
    if n > 2:
        images[-1] = images[0]                      # a duplicate
    bins = int(rng.integers(2, 300))
    check_table(image_stats(images, bins=bins), images, bins=bins)


def test_no_qt_in_the_core():
    import subprocess
    import sys
    code = ("import sys, numpy as np\n"
            "from histeq_gui.core.stats import image_stats\n"
            "from histeq_gui.core.stats_csv import stats_to_csv\n"
            "image_stats(np.zeros((2, 4, 4), np.uint8))\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'pyqtgraph'))\n"
            "print(bad)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_csv_target_checks(tmp_path):
    table = image_stats(as_uint8(photo_crops(n=3, size=8)))
    source = tmp_path / "faces.npy"
    source.write_bytes(b"stack")
    with pytest.raises(ValueError, match="is the input"):
        stats_to_csv(table, source, source=source, overwrite=True)
    folder = tmp_path / "frames"
    folder.mkdir()
    with pytest.raises(ValueError, match="is the input"):
        check_stats_target(folder / "stats.csv", source=folder)
    with pytest.raises(ValueError, match="is a folder"):
        check_stats_target(folder)
    with pytest.raises(ValueError, match="does not exist"):
        check_stats_target(tmp_path / "missing" / "stats.csv")
    assert source.read_bytes() == b"stack"
    assert check_stats_target(tmp_path / "stats.csv", source=source) == tmp_path / "stats.csv"


# ---------------------------------------------------------------- a Reader (issue 10)
@pytest.mark.parametrize("scope", ["image", "stack"])
@pytest.mark.parametrize("case", ["faces_u8", "rgb_u8", "float_outliers", "big_endian_u16"])
def test_a_reader_gives_the_table_of_the_array(tmp_path, monkeypatch, scope, case):
    """image_stats of an open_reader (read block by block) equals that of the array."""
    from histeq_gui.core import stats
    from histeq_gui.core.io import open_reader

    rng = np.random.default_rng(11)
    axis = None
    if case == "faces_u8":
        x = sample_stack()[:60]
        x[4] = 0                                      # all black
        x[7] = x[2]                                   # a duplicate
    elif case == "rgb_u8":
        x = np.stack([data.astronaut()[::16, ::16]] * 3 + [data.coffee()[:32, :32]])
        axis = -1
    elif case == "float_outliers":
        x = rng.normal(size=(9, 1, 12, 10))
        x[2, 0, 3, 3] = 1e9
        x[5, 0, 0, 0] = np.nan
    else:
        x = rng.integers(0, 65535, (7, 10, 11), dtype=np.uint16).astype(">u2")
    np.save(tmp_path / "x.npy", x)
    expected = image_stats(x, "numpy", 64, scope, channel_axis=axis)
    monkeypatch.setattr(stats, "_CHUNK_PIXELS", 300)       # many small blocks
    with open_reader(tmp_path / "x.npy") as reader:
        got = image_stats(reader, "numpy", 64, scope, channel_axis=axis)
    for column in COLUMNS:
        assert_array_equal(got[column], expected[column], err_msg=column)
    assert got.info["shape"] == list(x.shape)


# ---------------------------------------------------------------- ragged images (issue 8)
def _ragged_faces():
    """Real photos cut to different sizes, a 1x1 image and a duplicate among them."""
    camera, coins = data.camera(), data.coins()
    return [camera[100:164, 200:290], coins[:37, :50], np.full((1, 1), 9, np.uint8),
            data.moon()[::8, ::8], camera[100:164, 200:290].copy()]


def test_ragged_images_each_get_the_row_they_get_alone():
    images = _ragged_faces()
    table = image_stats(images, "numpy", 256)
    assert table["index"].tolist() == list(range(5))
    assert table["duplicate_of"].tolist() == [-1, -1, -1, -1, 0]
    for i, image in enumerate(images):
        alone = image_stats(image[np.newaxis], "numpy", 256)
        for column in COLUMNS:
            if column in ("index", "name") or column in DATASET_COLUMNS:
                continue
            assert_array_equal(table[column][i], alone[column][0], err_msg=f"{column} {i}")
        # and against NumPy directly
        assert table["mean"][i] == np.mean(image.astype(np.float64))
        assert table["p99"][i] == np.percentile(image.astype(np.float64), 99)
    assert table["is_constant"].tolist() == [False, False, True, False, False]


def test_ragged_scope_stack_pools_every_pixel():
    from histeq_gui.core.equalize import histogram

    images = _ragged_faces()
    table = image_stats(images, "numpy", 64, scope="stack")
    pooled = histogram(np.concatenate([image.ravel() for image in images]), "numpy", 64)
    for i, image in enumerate(images):
        v = pooled.apply(image)
        assert_allclose(table["mean_abs_change"][i], np.mean(np.abs(v - image / 255.0)),
                        rtol=1e-12)
        assert table["distinct_after"][i] == len(np.unique(np.rint(255 * v)))


def test_ragged_16_bit_and_refusals():
    rng = np.random.default_rng(5)
    wide = [rng.integers(0, 65535, (9, 7), dtype=np.uint16),
            rng.integers(0, 4000, (3, 12), dtype=np.uint16)]
    table = image_stats(wide)
    assert table["max"].tolist() == [float(wide[0].max()), float(wide[1].max())]
    gray_and_colour = [np.zeros((4, 5), np.uint8), np.zeros((6, 5, 3), np.uint8)]
    with pytest.raises(ValueError, match="mix gray and colour"):
        image_stats(gray_and_colour, channel_axis="auto", scope="stack")
    with pytest.raises(ValueError, match="same dtype"):
        image_stats([np.zeros((4, 5), np.uint8), np.zeros((6, 5), np.uint16)])


@pytest.mark.parametrize("reference", ["stack", 3])
def test_after_columns_match_against_the_whole_stack_not_each_block(monkeypatch, reference):
    """match's reference "stack" (or an index) means the whole stack, whatever the blocks."""
    from histeq_gui import equalize
    from histeq_gui.core import stats

    monkeypatch.setattr(stats, "_CHUNK_PIXELS", 96 * 96 * 4)        # blocks of 4 images,
    monkeypatch.setattr(stats, "_EQUALIZE_CHUNKS", 1)                # each equalized alone
    faces = sample_stack()[:24].copy()
    faces[:6] //= 4                                                  # dark first blocks
    table = image_stats(faces, "match", reference=reference)
    after = equalize(faces, "match", reference=reference)
    for i in (0, 7, 23):
        change = np.mean(np.abs(after[i, 0] - faces[i, 0] / 255.0))
        assert table["mean_abs_change"][i] == pytest.approx(change, abs=1e-12)
    assert table.info["method_params"] == {"reference": reference}   # as given


def test_a_colour_image_with_an_all_nan_channel_can_be_constant():
    photo = data.astronaut()[::16, ::16].astype(np.float32) / 255      # (32, 32, 3), real
    flat = np.full_like(photo, 0.5)
    nan_red = flat.copy()
    nan_red[..., 0] = np.nan                        # one channel empty, the others constant
    nan_red_photo = photo.copy()
    nan_red_photo[..., 0] = np.nan                  # one channel empty, the others vary
    half_nan = flat.copy()
    half_nan[:16, :, 1] = np.nan                    # a channel half empty, constant elsewhere
    all_nan = np.full_like(photo, np.nan)
    stack = np.stack([nan_red, nan_red_photo, half_nan, all_nan, photo])
    table = image_stats(stack, channel_axis=-1)
    expected = [all(len(np.unique(c[np.isfinite(c)])) <= 1 for c in np.moveaxis(image, -1, 0))
                for image in stack]
    assert expected == [True, False, True, True, False]
    assert table["is_constant"].tolist() == expected
