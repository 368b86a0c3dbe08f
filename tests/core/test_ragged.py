"""Folders of images of different sizes: a ragged reader, statistics, and per-image export.

References: every image loaded by hand with imageio and equalized alone with
``equalize``; exported bytes compared with ``convert(equalize(image), ...)``
as imageio writes and reads it back.
"""

import json
import os

import imageio.v3 as iio
import numpy as np
import pytest
from skimage import data

from histeq_gui import equalize, image_stats, load_stack
from histeq_gui.core.errors import StackError
from histeq_gui.core.export import ExportSettings, convert, export
from histeq_gui.core.fit import fit_each
from histeq_gui.core.io import open_reader

NAMES = ["camera.png", "crop 300x200.png", "coins.png", "one pixel.png", "moon été.png"]


def _images():
    camera = data.camera()
    return [camera, camera[100:300, 50:350], data.coins(), np.array([[77]], np.uint8),
            data.moon()[::4, ::3].copy()]


@pytest.fixture
def ragged(tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    for name, image in zip(NAMES, _images()):
        iio.imwrite(folder / name, image)
    return folder


def _by_hand(folder):
    """The images in the loader's order (natural order of names), read by imageio."""
    from histeq_gui.core.io import natural_key
    names = sorted(NAMES, key=natural_key)
    return names, [iio.imread(folder / n) for n in names]


def test_a_folder_of_sizes_opens_ragged_and_load_stack_refuses_it(ragged):
    names, images = _by_hand(ragged)
    with open_reader(ragged) as reader:
        assert reader.ragged and reader.n_images == 5 and reader.names == names
        assert reader.shapes == [im.shape for im in images]
        for i, image in enumerate(images):
            np.testing.assert_array_equal(reader.image(i), image)
    with pytest.raises(StackError) as info:
        load_stack(ragged)
    message = str(info.value)
    assert "\n" not in message and "different sizes" in message
    assert "open it in the viewer, or export it to a folder" in message


def test_statistics_of_a_ragged_reader_equal_those_of_each_image(ragged):
    names, images = _by_hand(ragged)
    with open_reader(ragged) as reader:
        table = image_stats(reader, names=reader.names)
    assert list(table["name"]) == names
    for i, image in enumerate(images):
        assert table["mean"][i] == pytest.approx(image.mean())
        assert table["std"][i] == pytest.approx(image.std())
        assert table["max"][i] == image.max()


@pytest.mark.parametrize("scope", ["image", "stack"])
def test_export_writes_each_image_under_its_own_name(ragged, tmp_path, scope):
    names, images = _by_hand(ragged)
    out = tmp_path / "out"
    with open_reader(ragged) as reader:
        export(reader, out, ExportSettings(scope=scope), source=ragged)
    assert sorted(os.listdir(out)) == sorted(n.rsplit(".", 1)[0] + ".png" for n in names)
    if scope == "stack":        # one histogram of every pixel of every image
        (hist,) = fit_each(lambda: [[im] for im in images], 1, "numpy", 256)
    for name, image in zip(names, images):
        eq = hist.apply(image) if scope == "stack" else equalize(image, "numpy", 256)
        expected = convert(eq, "same", image.dtype)
        np.testing.assert_array_equal(iio.imread(out / (name.rsplit(".", 1)[0] + ".png")),
                                      expected)
    info = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert info["files"] == {n.rsplit(".", 1)[0] + ".png": n for n in names}
    assert info["shapes"] == [list(im.shape) for im in images] and info["scope"] == scope


def test_stack_scope_pools_pixels_not_images(ragged, tmp_path):
    """Scope "stack" = equalizing one image made of every pixel of every image, cut back."""
    names, images = _by_hand(ragged)
    pooled = np.concatenate([im.ravel() for im in images])[np.newaxis]
    reference = convert(equalize(pooled, "numpy", 256), "same", np.uint8)[0]
    with open_reader(ragged) as reader:
        export(reader, tmp_path / "out", ExportSettings(scope="stack"))
    start = 0
    for name, image in zip(names, images):
        expected = reference[start:start + image.size].reshape(image.shape)
        start += image.size
        np.testing.assert_array_equal(iio.imread(tmp_path / "out" / (name.rsplit(".", 1)[0]
                                                                    + ".png")), expected)


@pytest.mark.parametrize("output", ["out.npy", "out.npz", "out.tif", "out.zarr"])
def test_ragged_into_one_file_is_refused_up_front(ragged, tmp_path, output):
    with open_reader(ragged) as reader, pytest.raises(StackError) as info:
        export(reader, tmp_path / output, ExportSettings())
    assert str(info.value).endswith("images of different sizes can only be exported to a "
                                    "folder; give an output without extension")
    assert sorted(os.listdir(tmp_path)) == ["shots"]


def test_sixteen_bit_pngs_of_different_sizes(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    a = (data.camera().astype(np.uint16) * 257)
    b = (data.coins().astype(np.uint16) * 251)[:50, :70]
    iio.imwrite(folder / "a.png", a)
    iio.imwrite(folder / "b.png", b)
    with open_reader(folder) as reader:
        assert reader.ragged and reader.dtype == np.uint16
        export(reader, tmp_path / "out", ExportSettings(bins=1024))
    for name, image in (("a.png", a), ("b.png", b)):
        expected = convert(equalize(image, "numpy", 1024), "same", np.uint16)
        np.testing.assert_array_equal(iio.imread(tmp_path / "out" / name), expected)


@pytest.mark.parametrize("colour", [3, 4])
def test_gray_among_colour_is_read_as_colour_with_gray_replicated(tmp_path, colour):
    folder = tmp_path / "mixed"
    folder.mkdir()
    gray, rgb = data.camera()[::16, ::16], data.astronaut()[::20, ::20]
    if colour == 4:
        rgb = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    iio.imwrite(folder / "a.png", gray)
    iio.imwrite(folder / "b c.png", rgb)
    with open_reader(folder) as reader:
        assert reader.ragged and reader.channels == colour
        assert reader.shapes == [gray.shape + (colour,), rgb.shape]
        expected = np.dstack([gray] * 3 + ([np.full(gray.shape, 255, np.uint8)]
                                           if colour == 4 else []))
        np.testing.assert_array_equal(reader.image(0), expected)
        np.testing.assert_array_equal(reader.image(1), rgb)


def test_eight_and_sixteen_bits_are_refused_naming_both_files(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    iio.imwrite(folder / "a.png", np.zeros((8, 8), np.uint8))
    iio.imwrite(folder / "b c.png", np.zeros((5, 7), np.uint16))
    with pytest.raises(StackError) as info:
        open_reader(folder)
    message = str(info.value)
    assert "\n" not in message and "'b c.png' is (5, 7) uint16 but 'a.png' is (8, 8) uint8" \
        in message


def test_an_unreadable_file_is_one_line(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    iio.imwrite(folder / "a.png", np.zeros((8, 8), np.uint8))
    (folder / "b.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(StackError) as info:
        open_reader(folder)
    assert "\n" not in str(info.value) and "b.png" in str(info.value)


def test_names_that_collide_as_png_are_refused_before_writing(tmp_path):
    folder = tmp_path / "same"
    folder.mkdir()
    iio.imwrite(folder / "a.png", np.zeros((8, 8), np.uint8))
    iio.imwrite(folder / "a.jpg", np.full((8, 9), 9, np.uint8))
    with open_reader(folder) as reader, pytest.raises(StackError) as info:
        export(reader, tmp_path / "out", ExportSettings())
    assert "'a.jpg' and 'a.png' would both be written as 'a.png'" in str(info.value) or \
        "'a.png' and 'a.jpg' would both be written as 'a.png'" in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["same"]


def test_a_folder_of_one_size_keeps_its_names_and_can_be_overwritten(tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    images = {"b 2.png": data.camera()[:64, :64], "é 10.png": data.coins()[:64, :64]}
    for name, image in images.items():
        iio.imwrite(folder / name, image)
    for overwrite in (False, True):
        with open_reader(folder) as reader:
            assert not reader.ragged
            export(reader, tmp_path / "out", ExportSettings(), overwrite=overwrite)
    for name, image in images.items():
        np.testing.assert_array_equal(iio.imread(tmp_path / "out" / name),
                                      convert(equalize(image), "same", np.uint8))
    info = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert info["files"] == {name: name for name in images}


def test_a_reference_file_is_read_once_for_a_folder_of_sizes(tmp_path, monkeypatch):
    """match with a reference file over images of different sizes: one read, each image right."""
    import histeq_gui.core.io as io

    folder = tmp_path / "in"
    folder.mkdir()
    sizes = [(40, 50), (60, 30), (35, 35), (50, 44)]
    for i, (h, w) in enumerate(sizes):
        iio.imwrite(folder / f"{i}.png", data.camera()[:h, :w])
    reference = data.moon()[:32, :32]
    np.save(tmp_path / "ref.npy", reference)
    reads = []
    real = io.load_stack
    monkeypatch.setattr(io, "load_stack", lambda *a, **k: reads.append(a[0]) or real(*a, **k))
    with open_reader(folder) as images:
        export(images, tmp_path / "out", ExportSettings(
            method="match", dtype="uint16", params={"reference": tmp_path / "ref.npy"}))
    assert reads == [tmp_path / "ref.npy"]
    for i, (h, w) in enumerate(sizes):
        expected = equalize(data.camera()[:h, :w], "match", reference=reference, dtype="uint16")
        np.testing.assert_array_equal(iio.imread(tmp_path / "out" / f"{i}.png"), expected)
