"""8-bit images of many sizes described in batches from their levels, against each image alone.

A folder of many sizes (a ragged source) of uint8 or int8 images is described
a batch at a time by compiled loops (``stats_kernels.describe_levels``) from
the images' levels and the equalization's value of each level
(``engine.tables.value_luts``).  Every column must be the one the image gets
when it is described alone, as a stack of one (the array path: NumPy sorts
and histograms, ``equalize`` itself), bit for bit, and the numpy method's
columns the plain per-image reference of ``test_stats.py``.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from skimage import data

from histeq_gui import equalize
from histeq_gui.core import stats
from histeq_gui.core.engine.inputs import prepare
from histeq_gui.core.engine.tables import value_luts
from histeq_gui.core.methods import get_method
from histeq_gui.core.stats import COLUMNS, DATASET_COLUMNS, image_stats

TABLE_METHODS = ["numpy", "skimage", "opencv", "imagej", "imagej-classic", "textbook"]
PER_IMAGE = [c for c in COLUMNS if c not in DATASET_COLUMNS + ("index", "name", "label")]


def mixed_images():
    """Real photographs cut to many sizes: gray, RGB, RGBA, gray + alpha, constant, tiny."""
    astronaut, coffee, camera = data.astronaut(), data.coffee(), data.camera()
    rgba = np.dstack([coffee[:61, :47], np.linspace(0, 255, 61 * 47).reshape(61, 47)
                      .astype(np.uint8)])
    gray_alpha = np.dstack([camera[:33, :70], camera[40:73, :70]])
    return [camera[100:164, 200:290], astronaut[:97, 120:251], coffee[200:229, 300:309],
            rgba, gray_alpha, np.full((5, 7, 3), (200, 10, 30), np.uint8),
            np.full((6, 8, 3), 77, np.uint8), data.moon()[::9, ::7],
            astronaut[::3, ::5][:, :, ::-1].copy(), data.coins()[:40, :41], coffee[::2, ::2],
            camera[:2, :300]]


def assert_rows_alone(images, **kwargs):
    table = image_stats(images, channel_axis="auto", **kwargs)
    for i, image in enumerate(images):
        alone = image_stats(image[np.newaxis], channel_axis=-1 if image.ndim == 3 else None,
                            **kwargs)
        for column in PER_IMAGE:
            assert_array_equal(table[column][i], alone[column][0],
                               err_msg=f"{column} of image {i} {image.shape}")
    return table


@pytest.mark.parametrize("method", TABLE_METHODS)
def test_value_luts_are_what_equalize_gives_each_level(method):
    for bins in (256, 7):
        for image in mixed_images():
            channels = np.moveaxis(image, -1, 0) if image.ndim == 3 else image[None]
            m = get_method(method)
            p = prepare(channels, m, bins, {})
            counts = np.stack([np.bincount(c.ravel(), minlength=256) for c in channels])
            luts = value_luts(m, p, bins, channels.dtype, counts)
            out = equalize(image, method=method, bins=bins,
                           channel_axis=-1 if image.ndim == 3 else None)
            out = np.moveaxis(out, -1, 0) if image.ndim == 3 else out[None]
            assert_array_equal(np.stack([luts[c][x] for c, x in enumerate(channels)]), out)


@pytest.mark.parametrize("method", TABLE_METHODS)
def test_every_column_is_the_image_alone(method):
    images = mixed_images()
    table = assert_rows_alone(images, method=method, bins=256 if method != "textbook" else 64)
    assert table["is_constant"].tolist() == [False] * 5 + [True, True] + [False] * 5


def test_the_numpy_method_against_the_plain_reference():
    from references import REFERENCES
    from test_stats import reference_row  # tests/core is on sys.path

    images = mixed_images()
    table = image_stats(images, channel_axis="auto")
    for i, image in enumerate(images):
        channels = image[..., None] if image.ndim == 2 else image
        equalized = np.stack([REFERENCES["numpy"](channels[..., c], 256)
                              for c in range(channels.shape[-1])], axis=-1)
        row = reference_row(image, equalized if image.ndim == 3 else equalized[..., 0],
                            0.0, 255.0)
        for column, expected in row.items():
            assert_array_equal(table[column][i], expected, err_msg=f"{column} of image {i}")


@pytest.mark.parametrize("value_range", [(20, 200), (10.5, 240.25)])
def test_a_value_range_off_zero(value_range):
    """lo added back to the luminance; a lo between integers orders luminances by value."""
    assert_rows_alone(mixed_images(), value_range=value_range)


@pytest.mark.parametrize("method", ["numpy", "imagej"])
def test_int8_images_of_many_sizes(method):
    images = [(image.astype(np.int16) - 128).astype(np.int8) for image in mixed_images()]
    table = assert_rows_alone(images, method=method)
    assert table["min"][0] == images[0].min() and table["max"][1] >= -128


def test_batches_and_the_other_path_mixed(monkeypatch):
    """Large colour images and small batches: the same table as one batch of everything."""
    images = mixed_images() * 3
    whole = image_stats(images, channel_axis="auto")
    monkeypatch.setattr(stats, "_LEVELS_COLOUR", 500)       # larger colour images: NumPy path
    monkeypatch.setattr(stats, "_RAGGED_BATCH", 4)
    calls = []
    original = stats._describe_chunk
    monkeypatch.setattr(stats, "_describe_chunk", lambda *a, **k: calls.append(1) or
                        original(*a, **k))
    parts = image_stats(images, channel_axis="auto")
    assert len(calls) == 3 * 4                 # the four colour images above 500 pixels
    for column in COLUMNS:
        assert_array_equal(parts[column], whole[column], err_msg=column)


def test_methods_that_do_not_map_by_value_take_the_other_path(monkeypatch):
    monkeypatch.setattr(stats, "describe_levels", None)     # would fail if called
    images = mixed_images()[:3]
    table = image_stats(images, "clahe", channel_axis="auto")
    assert np.isfinite(table["mean_abs_change"]).all()
    table = image_stats([image.astype(np.uint16) for image in images], channel_axis="auto")
    assert table["max"][0] == images[0].max()


def test_luminances_on_the_bin_edges():
    """Gray pixels from 0 to 128 stored as RGB have luminances on the edges of 0.5-wide bins;
    beside each, a pixel one blue level brighter falls in the same bin."""
    from references import REFERENCES
    from test_stats import reference_row

    levels = np.resize(np.arange(129, dtype=np.uint8), (27, 43))
    ramp = np.dstack([levels, levels, levels])
    ramp[1::2, :, 2] = np.minimum(ramp[1::2, :, 2] + 1, 128)
    y = np.sqrt(0.241 * ramp[..., 0].astype(float) ** 2 + 0.691 * ramp[..., 1].astype(float) ** 2
                + 0.068 * ramp[..., 2].astype(float) ** 2)
    assert np.isin(y, np.arange(257) * 0.5).sum() > 100         # many land on an edge
    images = [ramp, data.astronaut()[:31, :29]]
    table = image_stats(images, channel_axis="auto")
    equalized = np.stack([REFERENCES["numpy"](ramp[..., c], 256) for c in range(3)], axis=-1)
    row = reference_row(ramp, equalized, 0.0, 255.0)
    for column, expected in row.items():
        assert_array_equal(table[column][0], expected, err_msg=column)


def test_images_of_more_colours_than_the_scratch_holds_are_described_again(monkeypatch):
    """Room for 64 distinct colours at first: the photographs are described again with more."""
    images = mixed_images()
    whole = image_stats(images, channel_axis="auto")
    monkeypatch.setattr(stats, "_TRIPLES", 64)
    monkeypatch.setattr(stats, "_describe_chunk", None)     # would fail if called
    calls = []
    original = stats.describe_levels
    monkeypatch.setattr(stats, "describe_levels", lambda *a: calls.append(len(a[1])) or
                        original(*a))
    small = image_stats(images, channel_axis="auto")
    assert len(calls) > 1
    for column in COLUMNS:
        assert_array_equal(small[column], whole[column], err_msg=column)


def test_images_stored_with_extra_axes_are_described_as_the_images_they_hold():
    """(1, H, W), a gray (H, W, 1) and (1, H, W, 3) in a list of sizes: the same rows as plain."""
    rng = np.random.default_rng(0)
    gray = [rng.integers(0, 256, (30, 40), np.uint8), rng.integers(0, 256, (50, 60), np.uint8)]
    colour = [data.astronaut()[:40, :50], data.coffee()[:60, :30]]
    plain_gray, plain_colour = image_stats(gray), image_stats(colour, channel_axis=-1)
    for stored, plain, axis in (([g[None] for g in gray], plain_gray, None),
                                ([g[..., None] for g in gray], plain_gray, -1),
                                ([c[None] for c in colour], plain_colour, -1)):
        table = image_stats(stored, channel_axis=axis)
        for column in PER_IMAGE:
            assert_array_equal(table[column], plain[column],
                               err_msg=f"{column} of {[s.shape for s in stored]}")
    # a gray image and the same image stored (H, W, 1) are exact duplicates
    table = image_stats([gray[0], gray[0][..., None], gray[1]], channel_axis=-1)
    assert table["duplicate_of"].tolist() == [-1, 0, -1]


def test_a_batch_of_large_colour_photographs_alone(monkeypatch):
    """Every image of a batch taken the other way (large colour ones): no empty look-up."""
    photo = np.ascontiguousarray(data.astronaut()[::2, ::2])
    images = [photo, photo[::-1].copy(), photo[:, ::-1].copy()[:250]]
    whole = image_stats(images, channel_axis=-1)
    monkeypatch.setattr(stats, "_LEVELS_COLOUR", 1000)          # each is "large" now
    large = image_stats(images, channel_axis=-1)
    for column in PER_IMAGE:
        assert_array_equal(large[column], whole[column], err_msg=column)


def test_a_large_photograph_of_a_folder_is_decoded_once(tmp_path, monkeypatch):
    """The images the batch leaves are described from the pixels in memory, not read again."""
    from pathlib import Path

    from PIL import Image

    from histeq_gui.core.io import folders, open_folder

    for i, picture in enumerate((data.astronaut(), data.coffee(), data.chelsea())):
        Image.fromarray(picture).save(tmp_path / f"{i}.png")
    monkeypatch.setattr(stats, "_LEVELS_COLOUR", 1000)          # each is "large" now
    calls = []
    real = folders.decode_image
    monkeypatch.setattr(folders, "decode_image", lambda path, *a, **k: calls.append(
        Path(path).name) or real(path, *a, **k))
    reader = open_folder(tmp_path, probe=False)     # decodes the first image
    table = image_stats(reader, channel_axis="auto")
    assert sorted(calls) == ["0.png", "1.png", "2.png"]
    alone = image_stats([np.asarray(Image.open(tmp_path / "1.png"))], channel_axis=-1)
    for column in PER_IMAGE:
        assert_array_equal(table[column][1], alone[column][0], err_msg=column)
