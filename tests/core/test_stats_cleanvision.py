"""image_stats against CleanVision's checks, on real faces and photographs read from a folder.

The references are ``cleanvision_reference.py``: CleanVision's code re-typed
from its source, run on what CleanVision's dataset gives it (``Image.open``
of each file, in its own mode), so the folder is read twice, by Pillow here
and by this program's reader.  Scores are compared exactly on x86-64 (1e-9
elsewhere), flags and duplicate sets as they are.  The real CleanVision
package (which pins its own pandas and Pillow) is compared the same way by
``scripts/verify_cleanvision.py``.
"""

import math
import platform
import shutil
import sys
import tracemalloc
from pathlib import Path

import imagehash
import numpy as np
import pytest
from cleanvision_reference import (
    cv_aspect_ratio,
    cv_blurriness,
    cv_blurry_scores,
    cv_duplicate_sets,
    cv_grayscale_score,
    cv_odd_size_scores,
    cv_scores,
    cv_set_scores,
)
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image
from skimage import data

from histeq_gui.core.duplicates import MAX_RADIUS, near_duplicate_sets
from histeq_gui.core.io import open_reader
from histeq_gui.core.stats import COLUMNS, DATASET_COLUMNS, image_stats

BIT_EXACT = platform.machine().lower() in ("x86_64", "amd64")
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def assert_scores(actual, expected, name):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if BIT_EXACT:
        assert_array_equal(actual, expected, err_msg=name)
    else:
        assert_allclose(actual, expected, rtol=0, atol=1e-9, err_msg=name)


def first_members(sets, n):
    """A ``first`` column (the set's first index for every member, else -1) from lists."""
    first = np.full(n, -1)
    for s in sets:
        first[s] = min(s)
    return first


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder of 150 real images (make_hard_cases.audit_folder) and a few planted for sure."""
    sys.path.insert(0, str(SCRIPTS))
    from make_hard_cases import audit_folder

    out = tmp_path_factory.mktemp("audit")
    audit_folder(out, n=150, seed=3)
    astronaut = data.astronaut()[::3, ::3]
    Image.fromarray(astronaut).save(out / "90000_astronaut.png")
    shutil.copyfile(out / "90000_astronaut.png", out / "90001_astronaut_copy.png")
    Image.fromarray(astronaut).save(out / "90002_astronaut.jpg", quality=92)   # re-encoded
    camera = data.camera()
    Image.fromarray(camera[::2, ::2]).save(out / "90003_camera.png")
    Image.fromarray(camera[::2, ::2]).save(out / "90004_camera_again.png")       # same pixels
    Image.fromarray(camera[::4, ::4]).save(out / "90005_camera_small.png")       # resized
    logo = data.logo()                                                           # RGBA
    Image.fromarray(logo).save(out / "90006_logo.png")
    Image.fromarray(camera[:40, :400]).save(out / "90007_strip.png")             # odd aspect
    Image.fromarray(np.full((30, 20), 77, np.uint8)).save(out / "90008_flat.png")
    Image.fromarray(data.coins()[50:150, 100:250]).save(out / "90009_coins.png")
    shutil.copyfile(out / "90009_coins.png", out / "90010_coins_copy.png")
    return out


@pytest.fixture(scope="module")
def cleanvision(folder):
    """CleanVision's findings on the folder, from its re-typed code, by file name."""
    paths = sorted(p for p in folder.iterdir())                  # CleanVision sorts paths
    images = [Image.open(p) for p in paths]
    for image in images:
        image.load()
    n = len(images)
    found = {"name": [p.name for p in paths], "images": images}
    scores = [cv_scores(image) for image in images]
    for key in scores[0]:
        found[key] = np.array([s[key] for s in scores])
    blur = np.array([cv_blurriness(image) for image in images])
    found["blurriness"], found["blurriness_grayscale_std"] = blur[:, 0], blur[:, 1]
    found["blurry_score"] = cv_blurry_scores(blur[:, 0], blur[:, 1])
    found["is_blurry"] = found["blurry_score"] < 0.29
    found["grayscale_score"] = np.array([cv_grayscale_score(image) for image in images], float)
    found["is_grayscale"] = found["grayscale_score"] == 0
    found["odd_aspect_ratio_score"] = np.array([cv_aspect_ratio(image) for image in images])
    found["is_odd_aspect_ratio"] = found["odd_aspect_ratio_score"] < 0.35
    found["odd_size_score"], found["is_odd_size"] = cv_odd_size_scores(images)
    exact, near, phashes = cv_duplicate_sets(images)
    found["exact_sets"], found["near_sets"], found["phash"] = exact, near, phashes
    found["exact_duplicates_score"], found["is_exact"] = cv_set_scores(exact, n)
    found["near_duplicates_score"], found["is_near_duplicate"] = cv_set_scores(near, n)
    return found


@pytest.fixture(scope="module")
def table(folder):
    with open_reader(folder, mixed=True) as images:
        return image_stats(images, channel_axis="auto", names=images.names)


def test_the_folder_holds_what_the_checks_look_for(cleanvision):
    modes = {image.mode for image in cleanvision["images"]}
    sizes = {image.size for image in cleanvision["images"]}
    assert {"L", "RGB", "RGBA"} <= modes and len(sizes) > 50
    for flag in ("is_dark", "is_low_information", "is_blurry", "is_grayscale",
                 "is_odd_aspect_ratio", "is_odd_size", "is_near_duplicate"):
        assert 0 < cleanvision[flag].sum() < len(sizes), flag
    assert len(cleanvision["exact_sets"]) >= 2 and len(cleanvision["near_sets"]) >= 2


def test_every_score_and_flag_equals_cleanvision(table, cleanvision):
    assert table["name"].tolist() == cleanvision["name"]        # same order, both sort by name
    for name in ("dark_score", "light_score", "low_information_score", "blurriness",
                 "blurriness_grayscale_std", "blurry_score", "grayscale_score",
                 "odd_aspect_ratio_score", "odd_size_score", "exact_duplicates_score",
                 "near_duplicates_score"):
        assert_scores(table[name], cleanvision[name], name)
    for flag in ("is_dark", "is_light", "is_low_information", "is_blurry", "is_grayscale",
                 "is_odd_aspect_ratio", "is_odd_size", "is_near_duplicate"):
        assert_array_equal(table[flag], cleanvision[flag], err_msg=flag)
    assert_array_equal(table["exact_duplicates_score"] < 1, cleanvision["is_exact"])
    assert table["phash"].tolist() == cleanvision["phash"]


def test_duplicate_sets_equal_cleanvision(table, cleanvision):
    n = table.n_images
    exact_first = np.where(table["duplicate_of"] >= 0, table["duplicate_of"], -1)
    exact_first[exact_first[exact_first >= 0]] = exact_first[exact_first >= 0]
    assert_array_equal(exact_first, first_members(cleanvision["exact_sets"], n))
    assert_array_equal(table["near_duplicate_of"], first_members(cleanvision["near_sets"], n))
    names = table["name"].tolist()
    copy = names.index("90001_astronaut_copy.png")
    assert table["duplicate_of"][copy] == names.index("90000_astronaut.png")
    # two copies of the camera and a smaller one: an exact pair within a near set of three
    camera = [names.index(f"9000{k}_camera{s}.png") for k, s in
              ((3, ""), (4, "_again"), (5, "_small"))]
    assert table["near_duplicate_of"][camera].tolist() == [camera[0]] * 3
    assert table["exact_duplicates_score"][camera].tolist() == [0.5, 0.5, 1.0]
    # two copies alone are an exact set, not also a near set (CleanVision's rule)
    coins = names.index("90010_coins_copy.png")
    assert table["is_duplicate"][coins] and not table["is_near_duplicate"][coins]


def test_blur_and_hash_of_small_odd_and_alpha_images():
    """Pillow's FIND_EDGES copies images under 3x3 and borders; alpha is resized premultiplied."""
    rng = np.random.default_rng(2)
    photo = data.astronaut()
    images = [np.full((1, 1), 200, np.uint8), photo[:2, :7, 0], photo[:3, :3, 1],
              photo[100:103, 50:250, 2], photo[:300, :4].copy(),
              np.zeros((9, 9), np.uint8), photo[::5, ::5].copy(),
              np.ascontiguousarray(data.logo()[::3, ::3]),                        # RGBA
              np.ascontiguousarray(photo[::4, ::4, [0, 2]]),                       # gray + alpha
              rng.integers(0, 256, (65, 64), dtype=np.uint8)]
    table = image_stats(images, channel_axis=-1)
    for i, image in enumerate(images):
        picture = Image.fromarray(image)
        blurriness, std = cv_blurriness(picture)
        assert_scores([table["blurriness"][i], table["blurriness_grayscale_std"][i]],
                      [blurriness, std], f"blur {i}")
        assert table["phash"][i] == str(imagehash.phash(picture, hash_size=8)), i
    assert table["phash"][5] == "0000000000000000"         # a flat image: no coefficient > 0
    assert table["is_grayscale"].tolist() == [True] * 4 + [False, True, False, False, True, True]


@pytest.mark.parametrize("photo, shape", [("camera", (405, 104)), ("camera", (96, 96)),
                                          ("astronaut", (120, 90)), ("astronaut", (300, 451)),
                                          ("coffee", (33, 200)), ("moon", (20, 40))])
def test_a_stack_of_one_shape_is_resized_as_pillow_resizes_each_image(photo, shape):
    """The batched resize (Pillow's passes, in the order the installed Pillow runs them)."""
    from histeq_gui.core.stats_checks import pass_order

    picture = getattr(data, photo)()
    rng = np.random.default_rng(sum(shape))
    starts = rng.integers(0, np.array(picture.shape[:2]) - shape + 1, (12, 2))
    stack = np.stack([picture[y:y + shape[0], x:x + shape[1]] for y, x in starts])
    table = image_stats(stack, channel_axis=-1 if stack.ndim == 4 else None)
    for i, image in enumerate(stack):
        picture_i = Image.fromarray(image)
        assert_scores([table["blurriness"][i], table["blurriness_grayscale_std"][i]],
                      list(cv_blurriness(picture_i)), f"blur {i}")
        assert table["phash"][i] == str(imagehash.phash(picture_i, hash_size=8)), i
    assert pass_order(shape[:2], (32, 32), "lanczos") in ("hv", "vh")


def test_a_shape_pillow_resizes_otherwise_goes_through_pillow(monkeypatch):
    from histeq_gui.core import stats_checks
    stack = np.stack([data.camera()[i:i + 100, i:i + 80] for i in range(0, 120, 10)])
    expected = image_stats(stack)
    monkeypatch.setattr(stats_checks, "pass_order", lambda shape, size, name: None)
    for name in ("blurriness", "blurriness_grayscale_std", "phash"):
        assert_array_equal(image_stats(stack)[name], expected[name], err_msg=name)


def test_other_dtypes_are_checked_on_256_levels_of_the_value_range():
    unit = data.camera()[::4, ::4].astype(np.float64) / 255
    twelve = np.rint(200 + unit * 3800).astype(np.uint16)          # 12-bit data in uint16
    floats = unit * 3 - 1                                          # floats beyond [0, 1]
    for stack, lo, hi in ((twelve[None], 0.0, 4095.0),
                          (floats[None], *np.percentile(floats, [0.175, 99.825]))):
        table = image_stats(stack)
        assert table.info["value_range"] == [lo, hi]
        levels = np.clip(np.rint((stack[0].astype(np.float64) - lo) * (255.0 / (hi - lo))),
                         0, 255).astype(np.uint8)
        picture = Image.fromarray(levels)
        assert_scores([table["blurriness"][0]], [cv_blurriness(picture)[0]], "blurriness")
        assert table["phash"][0] == str(imagehash.phash(picture, hash_size=8))


def test_mixed_gray_and_colour_images_each_get_their_own_row():
    photo, camera = data.chelsea(), data.camera()
    images = [camera[:90, :120], photo[:70, :50].copy(), camera[200:260, 40:300],
              np.ascontiguousarray(data.logo()[::5, ::5]), photo[::6, ::6].copy()]
    table = image_stats(images, channel_axis="auto")
    for i, image in enumerate(images):
        alone = image_stats([image], channel_axis="auto")
        for column in COLUMNS:
            if column in ("index", "name") or column in DATASET_COLUMNS:
                continue
            assert_array_equal(table[column][i], alone[column][0], err_msg=f"{column} {i}")
    assert table["is_grayscale"].tolist() == [True, False, True, False, False]
    assert table["width"].tolist() == [120, 50, 260, 100, 76]
    with pytest.raises(ValueError, match="mix gray and colour"):
        image_stats(images, channel_axis="auto", scope="stack")


def test_a_mixed_folder_keeps_each_image_as_its_file_for_the_statistics(folder):
    with open_reader(folder) as images:                      # for the viewer or an export
        assert images.ragged and images.channels == 4
        assert {s[2:] for s in images.shapes} == {(4,)}
    with open_reader(folder, mixed=True) as images:
        assert images.ragged and {len(s) for s in images.shapes} == {2, 3}
        names = images.names
        for i in (0, 1, 2, len(names) - 1):
            assert_array_equal(images.image(i), np.asarray(Image.open(folder / names[i])))


# ------------------------------------------------------------------------ duplicates


def test_a_flipped_or_shifted_image_is_no_duplicate():
    """Equal statistics are not equal pixels: every match is confirmed by the bytes."""
    camera = data.camera()[::4, ::4]
    stack = np.stack([camera, camera[:, ::-1], camera[::-1], camera.T, np.roll(camera, 1),
                      camera])
    table = image_stats(stack)
    assert table["mean"][1] == table["mean"][0] and table["entropy"][2] == table["entropy"][0]
    assert table["duplicate_of"].tolist() == [-1, -1, -1, -1, -1, 0]
    assert table["exact_duplicates_score"].tolist() == [0.5, 1, 1, 1, 1, 0.5]


def test_a_digest_collision_makes_no_duplicate(monkeypatch):
    from histeq_gui.core import stats
    monkeypatch.setattr(stats, "image_digest", lambda pixels, shape: b"same digest")
    camera = data.camera()[::4, ::4]
    stack = np.stack([camera, camera[:, ::-1], camera, camera[:, ::-1], camera[::-1]])
    table = image_stats(stack)
    assert table["duplicate_of"].tolist() == [-1, -1, 0, 1, -1]


def test_the_same_bytes_in_another_shape_is_no_duplicate():
    table = image_stats([np.zeros((10, 20), np.uint8), np.zeros((20, 10), np.uint8),
                         np.zeros((10, 20), np.uint8)])
    assert table["duplicate_of"].tolist() == [-1, -1, 0]


def test_an_image_alone_in_its_shape_is_not_hashed(monkeypatch):
    """Images of different sizes: only those sharing a shape are digested, and their
    duplicates found; colour and gray images of one size are not duplicates."""
    from histeq_gui.core import stats
    hashed = []
    real = stats.image_digest
    monkeypatch.setattr(stats, "image_digest", lambda pixels, shape: hashed.append(shape) or
                        real(pixels, shape))
    camera, astronaut = data.camera()[::8, ::8], data.astronaut()[::8, ::8]
    images = [camera, camera[:40], astronaut, camera[:40, :30], camera.copy(), astronaut.copy(),
              camera[:, ::-1], np.dstack([camera] * 3), astronaut[:20]]
    table = image_stats(images, channel_axis="auto")
    assert table["duplicate_of"].tolist() == [-1, -1, -1, -1, 0, 2, -1, -1, -1]
    assert sorted(hashed) == sorted([(64, 64)] * 3 + [(64, 64, 3)] * 3)


def test_duplicates_hold_no_copy_of_the_images(monkeypatch):
    """Memory does not grow with the images: twice the images (half of them repeated), same peak.

    The blocks read at a time are made small (a few images), so that what
    is left is what the table keeps per image.
    """
    from histeq_gui.core import stats
    monkeypatch.setattr(stats, "_CHUNK_PIXELS", 1 << 16)
    monkeypatch.setattr(stats, "_EQUALIZE_CHUNKS", 1)
    faces = np.rint(data.lfw_subset() * 255).astype(np.uint8)
    rng = np.random.default_rng(0)
    distinct = np.stack([np.tile(faces[i % 200], (5, 5)) ^ rng.integers(0, 4, (125, 125),
                                                                       dtype=np.uint8)
                         for i in range(400)])                        # 6 MB
    small = np.concatenate([distinct[:200], distinct[:200]])
    large = np.concatenate([distinct, distinct])
    peaks = []
    for stack in (small, large):
        image_stats(stack[:4])                                       # compiled, cached
        tracemalloc.start()
        table = image_stats(stack)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        half = len(stack) // 2
        assert table["duplicate_of"][half:].tolist() == list(range(half))
    assert peaks[1] - peaks[0] < 0.1 * (large.nbytes - small.nbytes), peaks


# ------------------------------------------------------------------ near duplicates


def real_hashes(n, seed=0):
    """Perceptual hashes of ``n`` crops of real faces and photographs (many close ones)."""
    rng = np.random.default_rng(seed)
    faces = np.rint(data.lfw_subset() * 255).astype(np.uint8)
    photos = [data.camera(), data.moon(), data.coins(), data.page(), data.brick()]
    images = []
    for i in range(n):
        if i % 2:
            y, x = rng.integers(0, 4, 2)
            face = faces[rng.integers(len(faces))][y:y + 21, x:x + 21].astype(np.int16)
            images.append(np.clip(face + rng.integers(-20, 20), 0, 255).astype(np.uint8))
        else:
            photo = photos[rng.integers(len(photos))]
            side = rng.integers(16, 48)
            y, x = rng.integers(0, min(photo.shape) - side, 2)
            images.append(np.ascontiguousarray(photo[y:y + side, x:x + side]))
    table = image_stats(images)
    return np.array([int(h, 16) for h in table["phash"]], np.uint64)


def brute_force_sets(hashes, radius):
    """Connected components of "within radius bits", every pair compared."""
    from scipy.sparse.csgraph import connected_components
    xor = hashes[:, None] ^ hashes[None, :]
    bits = np.unpackbits(xor.view(np.uint8).reshape(len(hashes), len(hashes), 8), axis=2)
    _, label = connected_components(bits.sum(axis=2) <= radius, directed=False)
    size = np.bincount(label)
    first = np.full(label.max() + 1, len(hashes))
    np.minimum.at(first, label, np.arange(len(hashes)))
    return np.where(size[label] > 1, first[label], -1)


@pytest.mark.parametrize("radius", range(MAX_RADIUS + 1))
def test_radius_sets_are_every_pair_within_the_radius(radius):
    hashes = real_hashes(700)
    assert_array_equal(near_duplicate_sets(hashes, radius), brute_force_sets(hashes, radius))


def test_the_radius_search_compares_few_pairs():
    """Multi-index hashing: at 20,000 images a small share of the pairs is ever compared."""
    hashes = real_hashes(20000, seed=1)
    distinct = len(np.unique(hashes))
    for radius in (2, 6, MAX_RADIUS):
        report = {}
        first = near_duplicate_sets(hashes, radius, report=report)
        assert 0 < report["compared"] < 0.05 * distinct * (distinct - 1) / 2, radius
        assert (first >= 0).sum() > 0


def test_a_radius_joins_a_cropped_copy_cleanvision_misses(tmp_path):
    photo = data.chelsea()[::2, ::2]
    Image.fromarray(photo).save(tmp_path / "a.png")
    Image.fromarray(photo[4:, 4:]).save(tmp_path / "b.jpg", quality=80)     # 4 pixels off
    Image.fromarray(data.coffee()[::2, ::2]).save(tmp_path / "c.png")
    with open_reader(tmp_path) as images:
        strict = image_stats(images, channel_axis="auto")
        loose = image_stats(images, channel_axis="auto", near_duplicate_radius=6)
    a, b = (int(h, 16) for h in strict["phash"][:2])
    assert 0 < bin(a ^ b).count("1") <= 6
    assert strict["near_duplicate_of"].tolist() == [-1, -1, -1]
    assert loose["near_duplicate_of"].tolist() == [0, 0, -1]
    assert loose.info["near_duplicate_radius"] == 6


@pytest.mark.parametrize("radius", [-1, 11, 2.5, "3", True])
def test_a_bad_radius_is_one_line(radius):
    with pytest.raises(ValueError, match="whole number of bits from 0 to 10"):
        image_stats(np.zeros((2, 4, 4), np.uint8), near_duplicate_radius=radius)


# ------------------------------------------------------------------------ value range


def test_12_bit_data_in_uint16_is_scored_over_its_bit_depth():
    photos = [data.camera(), data.moon(), data.coins()[:, :384]]
    twelve = np.stack([np.rint(200 + p[:256, :256] / 255 * 3895) for p in photos])
    twelve = twelve.astype(np.uint16)
    auto = image_stats(twelve)
    assert auto.info["value_range"] == [0.0, 4095.0]
    assert auto.info["value_range_rule"] == "12-bit range 0..4095 (ImageJ)"
    assert not auto["is_dark"].any()
    assert_array_equal(auto["dark_score"], np.percentile(twelve.reshape(3, -1) / 4095.0, 99,
                                                         axis=1))
    dtype = image_stats(twelve, value_range="dtype")
    assert dtype["is_dark"].all() and dtype["dark_score"].max() < 0.07     # what it was
    assert image_stats(twelve.astype(np.uint16) * 16).info["value_range"] == [0.0, 65535.0]
    assert image_stats(twelve.astype(np.int16) - 300).info["value_range"] == [-32768.0, 32767.0]
    assert image_stats(twelve >> 4).info["value_range"] == [0.0, 255.0]      # 8 bits in uint16
    given = image_stats(twelve, value_range=(0, 5000))
    assert_array_equal(given["dark_score"], np.percentile(twelve.reshape(3, -1) / 5000.0, 99,
                                                          axis=1))


def test_one_outlier_changes_no_other_images_flags():
    faces = data.lfw_subset()[:12].astype(np.float32) * 2.0          # floats beyond [0, 1]
    faces[5] *= 0.3                                                  # one dark image
    outlier, neighbour = faces.copy(), faces.copy()
    outlier[3, 10, 10] = 1e30
    neighbour[3, 10, 10] = faces[3, 10, 11]
    with_outlier, without = image_stats(outlier), image_stats(neighbour)
    others = np.arange(12) != 3
    for flag in ("is_dark", "is_light", "is_low_information", "is_blurry", "is_near_duplicate"):
        assert_array_equal(with_outlier[flag][others], without[flag][others], err_msg=flag)
    assert with_outlier["is_dark"].tolist() == [False] * 5 + [True] + [False] * 6
    lo, hi = with_outlier.info["value_range"]
    assert hi < 2.0 and "saturated" in with_outlier.info["value_range_rule"]
    # the stack's extremes (value_range="data", the old rule): every image dark
    assert image_stats(outlier, value_range="data")["is_dark"].all()


def test_value_range_choices_and_errors():
    floats = data.lfw_subset()[:3]
    assert image_stats(floats).info["value_range"] == [0.0, 1.0]
    data_range = image_stats(floats, value_range="data").info["value_range"]
    assert data_range == [float(floats.min()), float(floats.max())]
    for bad, words in (("bright", "unknown value range"), ((1, 1), "lo < hi"),
                       ((0, np.inf), "finite"), ("1,2", "unknown value range"),
                       ((1, 2, 3), "two")):
        with pytest.raises(ValueError, match=words):
            image_stats(floats, value_range=bad)


# ---------------------------------------------------------------------- streaming


def test_a_reader_is_read_block_by_block_never_loaded(tmp_path, no_whole_loads):
    stack = np.rint(data.lfw_subset() * 255).astype(np.uint8)
    stack[150:] = stack[:50]
    path = tmp_path / "faces.npy"
    np.save(path, stack)
    with open_reader(path) as images:
        streamed = image_stats(images)
    whole = image_stats(stack)
    for name in COLUMNS:
        assert_array_equal(streamed[name], whole[name], err_msg=name)
    assert streamed["duplicate_of"][150:].tolist() == list(range(50))


def test_math_sqrt_as_cleanvision_for_the_sizes():
    """odd_size uses sqrt(w) * sqrt(h) (CleanVision's calc_image_area_sqrt), not sqrt(w * h)."""
    sizes = [(3, 7), (5, 11), (13, 2), (7, 7), (64, 3)]
    table = image_stats([np.zeros(s, np.uint8) for s in sizes])
    images = [Image.new("L", (w, h)) for h, w in sizes]
    scores, flags = cv_odd_size_scores(images)
    assert_scores(table["odd_size_score"], scores, "odd_size_score")
    assert_array_equal(table["is_odd_size"], flags)
    assert any(math.sqrt(w) * math.sqrt(h) != math.sqrt(w * h) for h, w in sizes)
