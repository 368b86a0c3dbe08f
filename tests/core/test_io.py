"""Tests of histeq_gui.core.io: loaders, atomic writers and sidecars, on real files in tmp_path."""

import json
import os
import struct
import zlib
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from histeq_gui.core import io
from histeq_gui.core.errors import Cancelled, KeyNeeded, StackError
from histeq_gui.core.io import (
    ChunkWriter,
    files,
    load_stack,
    output_kind,
    read_sidecar,
    save_stack,
    sidecar_path,
    tiff,
    write_sidecar,
    writer,
)
from histeq_gui.core.stack import guess_layout

RNG = np.random.default_rng(1234)


def _stack(shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return RNG.random(shape).astype(dtype)
    return RNG.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)


def _listing(folder):
    """All names in a folder, hidden ones included (temp files are hidden)."""
    return sorted(os.listdir(folder))


def _png16_colour(path, image):
    """Write a 16-bit RGB PNG by hand (Pillow cannot)."""
    h, w, _ = image.shape
    raw = b"".join(b"\x00" + image[y].astype(">u2").tobytes() for y in range(h))

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)     # 16 bits, colour type 2 = RGB
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# --- round trips ---------------------------------------------------------------------------

ROUND_TRIPS = [((6, 1, 12, 10), "uint8"), ((5, 12, 10), "uint16"), ((4, 12, 10), "float32"),
               ((12, 10), "float64"), ((2, 3, 4, 16, 16), "int16")]


@pytest.mark.parametrize("ext", [".npy", ".npz", ".tif", ".tiff"])
@pytest.mark.parametrize("shape,dtype", ROUND_TRIPS)
def test_round_trip_keeps_shape_dtype_and_values(tmp_path, ext, shape, dtype):
    array = _stack(shape, dtype)
    target = tmp_path / f"out{ext}"
    assert save_stack(target, array) == target
    back = load_stack(target)
    assert back.shape == array.shape
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)
    assert _listing(tmp_path) == [target.name]


def test_tif_round_trip_colour_writes_rgb_pages(tmp_path):
    array = _stack((4, 16, 20, 3), "uint8")
    save_stack(tmp_path / "c.tif", array)
    with tifffile.TiffFile(tmp_path / "c.tif") as tif:
        assert len(tif.pages) == 4
        assert tif.pages[0].photometric == tifffile.PHOTOMETRIC.RGB
    np.testing.assert_array_equal(load_stack(tmp_path / "c.tif"), array)


def test_npy_and_tif_keep_nan_and_byte_order_values(tmp_path):
    array = _stack((3, 8, 8), "float32")
    array[0, 0, 0] = np.nan
    big = array.astype(">f4")
    for name in ("a.npy", "a.npz", "a.tif"):
        save_stack(tmp_path / name, big)
        back = load_stack(tmp_path / name)
        np.testing.assert_array_equal(back, array)     # equal values, NaN at the same place
        assert np.isnan(back[0, 0, 0])


def test_npy_loads_as_read_only_memmap(tmp_path):
    array = _stack((3, 8, 8), "uint8")
    np.save(tmp_path / "a.npy", array)
    back = load_stack(tmp_path / "a.npy")
    assert isinstance(back, np.memmap)
    assert not back.flags.writeable


def test_non_contiguous_input_is_written_in_c_order(tmp_path):
    array = np.asfortranarray(_stack((4, 10, 12), "uint16"))[:, ::2, 1:]
    for name in ("f.npy", "f.npz", "f.tif"):
        save_stack(tmp_path / name, array)
        np.testing.assert_array_equal(load_stack(tmp_path / name), array)


@pytest.mark.parametrize("shape,dtype", [((5, 12, 10), "uint8"), ((5, 12, 10), "uint16"),
                                         ((4, 12, 10, 3), "uint8"), ((3, 12, 10, 4), "uint8")])
def test_png_folder_round_trip(tmp_path, shape, dtype):
    array = _stack(shape, dtype)
    calls = []
    target = save_stack(tmp_path / "frames", array, progress=lambda d, t: calls.append((d, t)))
    assert sorted(os.listdir(target)) == [f"{i:05d}.png" for i in range(shape[0])]
    back = load_stack(target)
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)
    n = shape[0]
    assert calls[:n] == [(i, 2 * n) for i in range(1, n + 1)]      # one call per image written
    assert calls[-1] == (2 * n, 2 * n)
    assert _listing(tmp_path) == ["frames"]


def test_png_folder_from_n1hw_stack_holds_one_image_per_frame(tmp_path):
    array = _stack((12, 1, 9, 7), "uint8")
    save_stack(tmp_path / "out", array)
    names = sorted(os.listdir(tmp_path / "out"))
    assert names[0] == "00000.png" and names[-1] == "00011.png"
    np.testing.assert_array_equal(load_stack(tmp_path / "out"), array[:, 0])


def test_png_folder_with_explicit_channel_axis(tmp_path):
    array = _stack((2, 3, 10, 12), "uint8")        # (N, C, H, W)
    save_stack(tmp_path / "out", array, layout=guess_layout(array.shape, 1))
    np.testing.assert_array_equal(load_stack(tmp_path / "out"), np.moveaxis(array, 1, -1))


# --- readers ------------------------------------------------------------------------------

def test_folder_natural_order_and_filtering(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for number in (10, 2, 1, 33, 3):                # created out of order
        iio.imwrite(folder / f"img{number}.png", np.full((6, 5), number, np.uint8))
    iio.imwrite(folder / "IMG4.PNG", np.full((6, 5), 4, np.uint8))   # extension case-insensitive
    (folder / "notes.txt").write_text("not an image")
    iio.imwrite(folder / ".hidden.png", np.full((9, 9), 99, np.uint8))
    calls = []
    stack = load_stack(folder, progress=lambda d, t: calls.append((d, t)))
    assert stack.shape == (6, 6, 5)
    assert list(stack[:, 0, 0]) == [1, 2, 3, 4, 10, 33]
    assert calls == [(i, 6) for i in range(1, 7)]


def test_folder_of_tiffs(tmp_path):
    for i in range(3):
        tifffile.imwrite(tmp_path / f"p{i}.tif", np.full((4, 4), i, np.uint16))
    stack = load_stack(tmp_path)
    assert stack.dtype == np.uint16
    assert list(stack[:, 0, 0]) == [0, 1, 2]


def test_folder_with_mismatched_sizes_names_the_odd_file(tmp_path):
    for name, shape in (("a1.png", (8, 8)), ("a2.png", (8, 8)), ("a10.png", (8, 9))):
        iio.imwrite(tmp_path / name, np.zeros(shape, np.uint8))
    # A folder of several sizes opens as a ragged stack, which is not one array: load_stack
    # refuses it in one line that names an odd file and says what to do.
    with pytest.raises(StackError, match=r"'a10\.png' is 9x8\); open it in the viewer, or "
                                         r"export it to a folder"):
        load_stack(tmp_path)


def test_folder_with_mixed_dtypes_is_refused(tmp_path):
    iio.imwrite(tmp_path / "1.png", np.zeros((8, 8), np.uint8))
    iio.imwrite(tmp_path / "2.png", np.zeros((8, 8), np.uint16))
    with pytest.raises(StackError, match=r"'2\.png' is \(8, 8\) uint16"):
        load_stack(tmp_path)


def test_animated_gif_gives_all_frames(tmp_path):
    values = [0, 80, 160, 240]
    frames = np.stack([np.full((10, 12, 3), (v, 255 - v, 40), np.uint8) for v in values])
    iio.imwrite(tmp_path / "a.gif", frames, loop=0, duration=50)
    stack = load_stack(tmp_path / "a.gif")
    assert stack.shape == (4, 10, 12, 3)
    assert list(stack[:, 5, 5, 0]) == values


def test_still_gif_is_one_image(tmp_path):
    iio.imwrite(tmp_path / "s.gif", np.full((10, 12, 3), (7, 90, 200), np.uint8))
    assert load_stack(tmp_path / "s.gif").shape == (10, 12, 3)
    iio.imwrite(tmp_path / "g.gif", np.full((10, 12), 7, np.uint8))
    assert load_stack(tmp_path / "g.gif").shape == (10, 12)       # grey: one grey image


@pytest.mark.parametrize("size, frames", [(512, 10), (24, 3)])
def test_a_grey_animated_gif_gives_grey_frames(tmp_path, size, frames):
    """Written by imageio: 512x512 was 'decodes to 1 frames but declares 10', 24x24 was RGB."""
    from PIL import Image

    written = np.random.default_rng(size).integers(0, 256, (frames, size, size), np.uint8)
    iio.imwrite(tmp_path / "grey.gif", written)
    stack = load_stack(tmp_path / "grey.gif")
    assert stack.shape == (frames, size, size) and stack.dtype == np.uint8
    with Image.open(tmp_path / "grey.gif") as image:            # Pillow, frame by frame
        for i in range(frames):
            image.seek(i)
            np.testing.assert_array_equal(stack[i], np.asarray(image.convert("L")))
    read = iio.imread(tmp_path / "grey.gif", plugin="pillow")
    np.testing.assert_array_equal(stack, read if read.ndim == 3 else read[..., 0])


def test_a_colour_gif_reads_as_imageio_reads_it(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(3)
    frames = [Image.fromarray(rng.integers(0, 256, (20, 30, 3), np.uint8)) for _ in range(4)]
    frames[0].save(tmp_path / "c.gif", save_all=True, append_images=frames[1:], loop=0)
    stack = load_stack(tmp_path / "c.gif")
    np.testing.assert_array_equal(stack, iio.imread(tmp_path / "c.gif", plugin="pillow"))
    assert stack.shape == (4, 20, 30, 3)


@pytest.mark.parametrize("shape", [(9, 11), (9, 11, 3), (9, 11, 4)])
def test_single_png(tmp_path, shape):
    image = _stack(shape, "uint8")
    iio.imwrite(tmp_path / "one.png", image)
    back = load_stack(tmp_path / "one.png")
    assert back.shape == shape
    np.testing.assert_array_equal(back, image)


def test_single_uint16_png(tmp_path):
    image = _stack((9, 11), "uint16")
    iio.imwrite(tmp_path / "one.png", image)
    np.testing.assert_array_equal(load_stack(tmp_path / "one.png"), image)


def test_16bit_colour_png_is_refused_not_truncated(tmp_path):
    _png16_colour(tmp_path / "c16.png", _stack((5, 6, 3), "uint16"))
    assert iio.imread(tmp_path / "c16.png").dtype == np.uint8   # what Pillow silently does
    with pytest.raises(StackError, match="16-bit colour PNG"):
        load_stack(tmp_path / "c16.png")


def test_imagej_stack(tmp_path):
    array = _stack((7, 16, 12), "uint16")
    tifffile.imwrite(tmp_path / "ij.tif", array, imagej=True)
    calls = []
    back = load_stack(tmp_path / "ij.tif", progress=lambda d, t: calls.append((d, t)))
    np.testing.assert_array_equal(back, array)
    assert calls[-1] == (7, 7)


def test_imagej_hyperstack_keeps_its_axes(tmp_path):
    array = _stack((2, 3, 16, 12), "float32")       # T, Z, Y, X
    tifffile.imwrite(tmp_path / "hyper.tif", array, imagej=True, metadata={"axes": "TZYX"})
    back = load_stack(tmp_path / "hyper.tif")
    assert back.shape == (2, 3, 16, 12)
    np.testing.assert_array_equal(back, array)


def test_plain_multipage_tiff_without_metadata(tmp_path):
    array = _stack((5, 8, 8), "uint8")
    tifffile.imwrite(tmp_path / "plain.tif", array, metadata=None)
    np.testing.assert_array_equal(load_stack(tmp_path / "plain.tif"), array)


def test_npz_single_array_without_key(tmp_path):
    array = _stack((3, 8, 8), "uint8")
    np.savez(tmp_path / "one.npz", whatever=array)
    np.testing.assert_array_equal(load_stack(tmp_path / "one.npz"), array)


def test_npz_several_arrays_need_a_key(tmp_path):
    a, b = _stack((3, 8, 8), "uint8"), _stack((2, 4, 4), "float32")
    np.savez(tmp_path / "many.npz", images=a, labels=b)
    with pytest.raises(StackError, match=r"several arrays \(images, labels\).*--key NAME"):
        load_stack(tmp_path / "many.npz")
    np.testing.assert_array_equal(load_stack(tmp_path / "many.npz", key="labels"), b)
    np.testing.assert_array_equal(load_stack(tmp_path / "many.npz", key="images"), a)
    with pytest.raises(StackError, match=r"no array named 'masks'; it holds: images, labels"):
        load_stack(tmp_path / "many.npz", key="masks")


def test_key_for_other_formats_is_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((4, 4)))
    with pytest.raises(StackError, match="only applies to .npz"):
        load_stack(tmp_path / "a.npy", key="images")


@pytest.mark.parametrize("ext", [".npy", ".npz", ".tif", ".png"])
def test_load_never_modifies_the_input(tmp_path, ext):
    array = _stack((4, 8, 8), "uint8")
    path = tmp_path / f"in{ext}"
    if ext == ".png":
        iio.imwrite(path, array[0])
    else:
        save_stack(path, array)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    before = path.read_bytes()
    loaded = load_stack(path)
    assert loaded.size > 0
    del loaded
    assert path.read_bytes() == before
    assert path.stat().st_mtime == 1_000_000_000
    assert _listing(tmp_path) == [path.name]


# --- bad inputs ---------------------------------------------------------------------------

def _assert_one_line(excinfo, *fragments):
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_pickled_object_array_is_refused(tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(StackError) as excinfo:
        load_stack(path)
    _assert_one_line(excinfo, "obj.npy", "pickled", "never loaded")


def test_pickled_object_array_in_npz_is_refused(tmp_path):
    np.savez(tmp_path / "obj.npz", x=np.array([[object()]], dtype=object))
    with pytest.raises(StackError) as excinfo:
        load_stack(tmp_path / "obj.npz")
    _assert_one_line(excinfo, "obj.npz", "pickled data")


def test_truncated_npy(tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, _stack((10, 16, 16), "uint16"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StackError) as excinfo:
        load_stack(path)
    _assert_one_line(excinfo, "cut.npy", "truncated")


def test_npy_cut_inside_the_header(tmp_path):
    path = tmp_path / "head.npy"
    np.save(path, np.zeros((3, 3)))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(StackError, match="not a valid .npy file"):
        load_stack(path)


@pytest.mark.parametrize("name,what", [("fake.tif", "TIFF"), ("fake.tiff", "TIFF"),
                                       ("fake.png", "image"), ("fake.npy", ".npy"),
                                       ("fake.npz", ".npz"), ("fake.gif", "image")])
def test_text_file_with_an_image_extension(tmp_path, name, what):
    (tmp_path / name).write_text("this is just some text\nsecond line\n")
    with pytest.raises(StackError) as excinfo:
        load_stack(tmp_path / name)
    _assert_one_line(excinfo, name, f"not a valid {what}", "convert it to .npy/.tif")


def test_missing_file(tmp_path):
    with pytest.raises(StackError) as excinfo:
        load_stack(tmp_path / "nope.tif")
    _assert_one_line(excinfo, "nope.tif", "no such file")


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(StackError, match="holds no PNG, JPEG, TIFF, BMP or WebP images"):
        load_stack(tmp_path / "empty")


def test_unsupported_extension(tmp_path):
    (tmp_path / "data.csv").write_text("1,2\n3,4\n")
    with pytest.raises(StackError, match=r"unsupported file type '\.csv'.*\.npy, \.npz"):
        load_stack(tmp_path / "data.csv")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_unreadable_file(tmp_path):
    path = tmp_path / "locked.npy"
    np.save(path, np.zeros((3, 3)))
    path.chmod(0)
    try:
        with pytest.raises(StackError, match="permission denied"):
            load_stack(path)
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize("array,match", [
    (np.zeros((3, 3), np.complex64), "complex"),
    (np.zeros(5), "not images"),
    (np.zeros((0, 4, 4)), "no pixels"),
    (np.zeros((3, 3), dtype=[("a", "f4"), ("b", "i4")]), "not numbers"),
    (np.array([["a", "b"]]), "not numbers"),
])
def test_non_image_arrays_are_refused(tmp_path, array, match):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(StackError, match=match):
        load_stack(tmp_path / "bad.npy")


TIFF_WRITES = {"shaped": {}, "imagej": {"imagej": True}, "no-metadata": {"metadata": None},
               "zlib": {"compression": "zlib"}, "tiled": {"tile": (16, 16)}}


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.999])
@pytest.mark.parametrize("variant", sorted(TIFF_WRITES))
def test_truncated_multipage_tiff_is_refused(tmp_path, variant, fraction):
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, _stack((10, 32, 32), "uint16"), **TIFF_WRITES[variant])
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(StackError) as excinfo:
        load_stack(path)
    _assert_one_line(excinfo, "cut.tif")


def test_truncated_tiff_is_refused_where_tifffile_returns_one_page(tmp_path):
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, _stack((10, 32, 32), "uint16"), imagej=True)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with tifffile.TiffFile(path) as tif:                # the trap: a silent short read
        assert tif.series[0].asarray().shape == (32, 32)
    with pytest.raises(StackError, match="truncated or damaged"):
        load_stack(path)


def test_truncated_tiff_does_not_print_tifffile_log_lines(tmp_path, capfd):
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, _stack((10, 32, 32), "uint16"), metadata=None)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(StackError):
        load_stack(path)
    assert "invalid page offset" not in capfd.readouterr().err


def test_truncated_png_in_folder(tmp_path):
    iio.imwrite(tmp_path / "1.png", np.zeros((8, 8), np.uint8))
    iio.imwrite(tmp_path / "2.png", _stack((64, 64), "uint8"))
    data = (tmp_path / "2.png").read_bytes()
    (tmp_path / "2.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(StackError, match="2.png"):
        load_stack(tmp_path)


def test_cancel_from_progress_propagates_while_loading(tmp_path):
    for i in range(5):
        iio.imwrite(tmp_path / f"{i}.png", np.zeros((4, 4), np.uint8))

    def progress(done, total):
        if done == 2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        load_stack(tmp_path, progress=progress)


def test_other_progress_errors_propagate_unchanged(tmp_path):
    save_stack(tmp_path / "a.tif", _stack((5, 8, 8), "uint8"))

    def progress(done, total):
        raise RuntimeError("bug in the caller")

    with pytest.raises(RuntimeError, match="bug in the caller"):
        load_stack(tmp_path / "a.tif", progress=progress)
    with pytest.raises(RuntimeError, match="bug in the caller"):
        save_stack(tmp_path / "b.tif", _stack((5, 8, 8), "uint8"), progress=progress)
    assert _listing(tmp_path) == ["a.tif"]


# --- writing: refusals --------------------------------------------------------------------

def test_existing_target_is_refused_without_overwrite(tmp_path):
    target = tmp_path / "out.npy"
    target.write_bytes(b"precious")
    with pytest.raises(StackError, match=r"exists; pass --overwrite to replace it"):
        save_stack(target, np.zeros((2, 2), np.uint8))
    assert target.read_bytes() == b"precious"
    (tmp_path / "frames").mkdir()
    with pytest.raises(StackError, match="--overwrite"):
        save_stack(tmp_path / "frames", np.zeros((2, 8, 8), np.uint8))


@pytest.mark.parametrize("name", ["out.npy", "out.npz", "out.tif", "frames"])
def test_overwrite_replaces(tmp_path, name):
    first, second = _stack((3, 8, 8), "uint8"), _stack((2, 8, 8), "uint8")
    save_stack(tmp_path / name, first)
    save_stack(tmp_path / name, second, overwrite=True)
    np.testing.assert_array_equal(load_stack(tmp_path / name), second)
    assert _listing(tmp_path) == [name]


def test_overwrite_refuses_a_folder_of_other_files(tmp_path):
    folder = tmp_path / "Documents"
    folder.mkdir()
    (folder / "thesis.docx").write_text("years of work")
    with pytest.raises(StackError, match="other than numbered PNGs"):
        save_stack(folder, np.zeros((2, 8, 8), np.uint8), overwrite=True)
    assert (folder / "thesis.docx").read_text() == "years of work"


def test_missing_parent_folder(tmp_path):
    with pytest.raises(StackError, match="does not exist; create it first"):
        save_stack(tmp_path / "no" / "such" / "out.npy", np.zeros((2, 2)))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "bool"])
def test_png_folder_refuses_other_dtypes(tmp_path, dtype):
    with pytest.raises(StackError, match="--dtype uint8 or uint16"):
        save_stack(tmp_path / "out", np.zeros((2, 8, 8), dtype))
    assert _listing(tmp_path) == []


def test_png_folder_refuses_uint16_colour(tmp_path):
    with pytest.raises(StackError, match="uint16 only for grayscale"):
        save_stack(tmp_path / "out", np.zeros((2, 8, 8, 3), np.uint16))


@pytest.mark.parametrize("name", ["out.jpg", "out.h5", "out.txt", "out.gif"])
def test_unsupported_output_extension(tmp_path, name):
    with pytest.raises(StackError, match=r"unsupported output type.*\.npy, \.npz, \.tif"):
        save_stack(tmp_path / name, np.zeros((2, 8, 8), np.uint8))
    assert _listing(tmp_path) == []


def test_save_refuses_non_image_arrays(tmp_path):
    with pytest.raises(StackError, match="not images"):
        save_stack(tmp_path / "a.npy", np.zeros(4))
    with pytest.raises(StackError, match="complex"):
        save_stack(tmp_path / "a.npy", np.zeros((2, 2), complex))


def test_output_kind():
    assert output_kind("a.npy") == "npy"
    assert output_kind("a.NPZ") == "npz"
    assert output_kind("a.tif") == output_kind("a.TIFF") == "tif"
    assert output_kind("some/folder") == "png-folder"
    assert output_kind("some/folder/") == "png-folder"
    assert output_kind("a.png") == output_kind("a.PNG") == "png"
    with pytest.raises(StackError, match="unsupported output type '.jpg'"):
        output_kind("a.jpg")


def test_bigtiff_above_threshold(tmp_path, monkeypatch):
    monkeypatch.setattr(tiff, "_BIGTIFF_BYTES", 100)
    save_stack(tmp_path / "big.tif", _stack((3, 8, 8), "uint8"))
    with tifffile.TiffFile(tmp_path / "big.tif") as tif:
        assert tif.is_bigtiff
    save_stack(tmp_path / "small.tif", _stack((1, 8, 8), "uint8"))
    with tifffile.TiffFile(tmp_path / "small.tif") as tif:
        assert not tif.is_bigtiff


def test_written_files_get_normal_permissions(tmp_path):
    save_stack(tmp_path / "a.npy", np.zeros((2, 2)))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.npy").stat().st_mode & 0o777 == 0o666 & ~umask


# --- writing: atomicity -------------------------------------------------------------------

TARGETS = ["out.npy", "out.npz", "out.tif", "frames"]


def _previous(tmp_path, name):
    """An existing output whose bytes must survive a failed write."""
    old = _stack((2, 6, 6), "uint8")
    save_stack(tmp_path / name, old)
    if (tmp_path / name).is_dir():
        return {p.name: p.read_bytes() for p in (tmp_path / name).iterdir()}
    return (tmp_path / name).read_bytes()


def _current(tmp_path, name):
    if (tmp_path / name).is_dir():
        return {p.name: p.read_bytes() for p in (tmp_path / name).iterdir()}
    return (tmp_path / name).read_bytes()


@pytest.mark.parametrize("name", TARGETS)
def test_failed_verification_leaves_nothing(tmp_path, name, monkeypatch):
    monkeypatch.setattr(writer, "digest", lambda data: object())   # never equal
    with pytest.raises(StackError, match="does not read back as written"):
        save_stack(tmp_path / name, _stack((4, 8, 8), "uint8"))
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("name", TARGETS)
def test_failed_verification_keeps_previous_output(tmp_path, name, monkeypatch):
    before = _previous(tmp_path, name)
    monkeypatch.setattr(writer, "digest", lambda data: object())   # never equal
    with pytest.raises(StackError):
        save_stack(tmp_path / name, _stack((4, 8, 8), "uint8"), overwrite=True)
    assert _current(tmp_path, name) == before
    assert _listing(tmp_path) == [name]


@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("exc", [Cancelled, KeyboardInterrupt])
def test_interrupt_from_progress_mid_write(tmp_path, name, exc, monkeypatch):
    before = _previous(tmp_path, name)
    monkeypatch.setattr(files, "PIECE_BYTES", 64)     # one row per chunk: progress per row
    seen = []

    def progress(done, total):
        seen.append(done)
        if done >= 2:
            raise exc()

    array = _stack((6, 8, 8), "uint8")
    with pytest.raises(exc):
        save_stack(tmp_path / name, array, overwrite=True, progress=progress)
    assert seen[-1] == 2
    assert _current(tmp_path, name) == before
    assert _listing(tmp_path) == [name]


@pytest.mark.parametrize("name", TARGETS)
def test_cancel_during_verification_writes_nothing(tmp_path, name, monkeypatch):
    monkeypatch.setattr(files, "PIECE_BYTES", 64)
    array = _stack((6, 8, 8), "uint8")

    def progress(done, total):
        if done > total // 2:       # the second half of the count is verification
            raise Cancelled()

    with pytest.raises(Cancelled):
        save_stack(tmp_path / name, array, progress=progress)
    assert _listing(tmp_path) == []


def test_write_error_is_a_stack_error_and_cleans_up(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tifffile, "imwrite", broken)
    with pytest.raises(StackError) as excinfo:
        save_stack(tmp_path / "out.tif", _stack((2, 8, 8), "uint8"))
    _assert_one_line(excinfo, "cannot write", "out.tif", "no space left on the device")
    assert _listing(tmp_path) == []


def test_failed_folder_swap_restores_the_old_folder(tmp_path, monkeypatch):
    before = _previous(tmp_path, "frames")
    real_replace = os.replace

    def replace(src, dst):
        if str(src).endswith(tuple("0123456789abcdef")) and "-tmp-" in str(src):
            raise OSError(5, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(StackError, match="cannot write .*frames.*Input/output error"):
        save_stack(tmp_path / "frames", _stack((3, 8, 8), "uint8"), overwrite=True)
    assert _current(tmp_path, "frames") == before
    assert _listing(tmp_path) == ["frames"]


# --- staged: several outputs moved into place together ----------------------------------

def _write_pair(temp, temp_json, value):
    save = np.full((2, 4, 4), value, np.uint8)
    io.write_stack(temp, save)
    io.write_json(temp_json, {"value": value})


@pytest.mark.parametrize("name", TARGETS)
def test_staged_temps_are_hidden_and_of_the_same_kind(tmp_path, name):
    target = tmp_path / name
    with io.staged([target, sidecar_path(target)]) as temps:
        assert [t.parent for t in temps] == [tmp_path, tmp_path]
        assert all(t.name.startswith(".") and "-tmp-" in t.name for t in temps)
        assert output_kind(temps[0]) == output_kind(target)
        assert temps[1].suffix == ".json"
        _write_pair(*temps, 7)
    assert _listing(tmp_path) == sorted([name, name + ".json"])
    assert load_stack(target)[0, 0, 0] == 7 and read_sidecar(target) == {"value": 7}


@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("exc", [StackError, Cancelled, KeyboardInterrupt])
def test_staged_block_raising_removes_temps_and_keeps_targets(tmp_path, name, exc):
    with io.staged([tmp_path / name, sidecar_path(tmp_path / name)]) as temps:
        _write_pair(*temps, 1)
    before = _current(tmp_path, name), (tmp_path / (name + ".json")).read_bytes()
    with pytest.raises(exc):
        with io.staged([tmp_path / name, sidecar_path(tmp_path / name)], True) as temps:
            _write_pair(*temps, 2)
            raise exc("stop")
    assert (_current(tmp_path, name), (tmp_path / (name + ".json")).read_bytes()) == before
    assert _listing(tmp_path) == sorted([name, name + ".json"])


def test_staged_in_a_closed_generator_leaves_nothing(tmp_path):
    def steps():
        with io.staged([tmp_path / "out.npy"]) as (temp,):
            io.write_stack(temp, np.zeros((2, 2)))
            yield "written"

    gen = steps()
    assert next(gen) == "written"
    assert len(_listing(tmp_path)) == 1
    gen.close()
    assert _listing(tmp_path) == []


def test_staged_overwrite_flags_per_target(tmp_path):
    out, info = tmp_path / "out.npy", tmp_path / "out.npy.json"
    info.write_text("stale")
    with io.staged([out, info], overwrite=[False, True]) as temps:
        _write_pair(*temps, 3)
    assert read_sidecar(out) == {"value": 3}
    before = out.read_bytes(), info.read_bytes()
    with pytest.raises(StackError, match="out.npy' exists; pass --overwrite"):
        with io.staged([out, info], overwrite=[False, True]) as temps:
            _write_pair(*temps, 4)
    assert (out.read_bytes(), info.read_bytes()) == before
    assert _listing(tmp_path) == ["out.npy", "out.npy.json"]


@pytest.mark.parametrize("name", TARGETS)
def test_staged_failed_last_move_restores_every_target(tmp_path, name, monkeypatch):
    target, info = tmp_path / name, sidecar_path(tmp_path / name)
    with io.staged([target, info]) as temps:
        _write_pair(*temps, 1)
    before = _current(tmp_path, name), info.read_bytes()
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst) == info and "-tmp-" in str(src):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(StackError, match="no space left on the device; free some space"):
        with io.staged([target, info], True) as temps:
            _write_pair(*temps, 2)
    monkeypatch.undo()
    assert (_current(tmp_path, name), info.read_bytes()) == before
    assert _listing(tmp_path) == sorted([name, name + ".json"])


def test_staged_replaces_a_lone_file_in_one_step(tmp_path, monkeypatch):
    save_stack(tmp_path / "a.npy", np.zeros((2, 2)))
    moves = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (moves.append(Path(dst).name),
                                                          real_replace(src, dst)))
    save_stack(tmp_path / "a.npy", np.ones((2, 2)), overwrite=True)
    assert moves == ["a.npy"]       # never moved aside, so never missing


# --- sidecar ------------------------------------------------------------------------------

def test_sidecar_round_trip(tmp_path):
    out = tmp_path / "result.tif"
    info = {"source": tmp_path / "in.npy", "shape": (np.int64(3), 8, 8), "dtype": np.dtype("uint8"),
            "method": "numpy", "bins": np.int32(256), "scope": "image", "version": "0.1.0",
            "created": "2024-01-01T00:00:00"}
    path = write_sidecar(out, info)
    assert path == tmp_path / "result.tif.json" == sidecar_path(out)
    text = path.read_text()
    assert text.startswith("{\n  ")            # pretty-printed
    back = read_sidecar(out)
    assert back == json.loads(text)
    assert back["shape"] == [3, 8, 8]
    assert back["dtype"] == "uint8"
    assert back["bins"] == 256
    assert back["source"] == str(tmp_path / "in.npy")
    assert _listing(tmp_path) == ["result.tif.json"]


def test_sidecar_of_a_folder_sits_beside_it(tmp_path):
    assert sidecar_path(tmp_path / "frames") == tmp_path / "frames.json"
    assert sidecar_path(str(tmp_path / "frames") + "/") == tmp_path / "frames.json"


def test_sidecar_replaces_an_old_one(tmp_path):
    write_sidecar(tmp_path / "a.npy", {"bins": 1})
    write_sidecar(tmp_path / "a.npy", {"bins": 2})
    assert read_sidecar(tmp_path / "a.npy") == {"bins": 2, "program": "histeq-gui",
                                                "output": "a.npy"}
    assert _listing(tmp_path) == ["a.npy.json"]


def test_sidecar_never_replaces_a_file_it_did_not_write(tmp_path):
    (tmp_path / "a.npy.json").write_text('{"bins": 1}')
    with pytest.raises(StackError, match="'.*a.npy.json' exists and was not written by "
                                         "histeq-gui for 'a.npy'; pass --overwrite"):
        write_sidecar(tmp_path / "a.npy", {"bins": 2})
    assert (tmp_path / "a.npy.json").read_text() == '{"bins": 1}'
    write_sidecar(tmp_path / "a.npy", {"bins": 3}, overwrite=True)
    assert read_sidecar(tmp_path / "a.npy")["bins"] == 3
    assert _listing(tmp_path) == ["a.npy.json"]


def test_bad_sidecar(tmp_path):
    with pytest.raises(StackError, match="no such file"):
        read_sidecar(tmp_path / "x.npy")
    (tmp_path / "x.npy.json").write_text("[1, 2]")
    with pytest.raises(StackError, match="expected a JSON object"):
        read_sidecar(tmp_path / "x.npy")
    (tmp_path / "x.npy.json").write_text("{broken")
    with pytest.raises(StackError, match="not a valid JSON sidecar"):
        read_sidecar(tmp_path / "x.npy")


def test_tiff_page_pointing_past_the_end_is_refused(tmp_path):
    path = tmp_path / "damaged.tif"
    tifffile.imwrite(path, _stack((4, 16, 16), "uint16"), metadata=None, photometric="minisblack")
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tag = tif.pages[-1].tags["StripOffsets"]
        tag.overwrite(tuple(offset + 100_000 for offset in tag.value))
    with pytest.raises(StackError, match="truncated or damaged.*beyond the end of the file"):
        load_stack(path)


def test_npz_array_is_stored_under_key(tmp_path):
    array = _stack((2, 5, 5), "uint8")
    save_stack(tmp_path / "k.npz", array, key="stack")
    with np.load(tmp_path / "k.npz") as archive:
        assert archive.files == ["stack"]
    np.testing.assert_array_equal(load_stack(tmp_path / "k.npz", key="stack"), array)


def test_overwriting_the_file_a_memmap_was_loaded_from(tmp_path):
    path = tmp_path / "a.npy"
    save_stack(path, np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    mapped = load_stack(path)
    save_stack(path, mapped[::-1], overwrite=True)      # reads the old data while replacing it
    expected = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)[::-1]
    np.testing.assert_array_equal(load_stack(path), expected)
    assert _listing(tmp_path) == ["a.npy"]


# --- check_output: what save_stack would refuse, before any work ---------------------------

def _unwritable_folder(tmp_path):
    """A folder that refuses new files: permission bits, or /sys when running as root."""
    if os.name == "posix" and os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    try:
        open("/sys/.histeq-probe", "xb").close()
    except OSError:
        return Path("/sys")
    os.unlink("/sys/.histeq-probe")
    pytest.skip("no folder refuses new files here")


def test_check_output_returns_the_kind_and_leaves_no_probe(tmp_path):
    assert io.check_output(tmp_path / "a.npy") == "npy"
    assert io.check_output(tmp_path / "a.TIF", dtype="float32") == "tif"
    assert io.check_output(tmp_path / "frames", dtype="uint16",
                           layout=guess_layout((3, 8, 8))) == "png-folder"
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("name,kwargs,match", [
    ("a.jpg", {}, "unsupported output type '.jpg'"),
    ("frames", {"dtype": "float32"}, "PNG files hold only uint8 or uint16"),
    ("frames", {"dtype": "uint16", "layout": guess_layout((3, 8, 8, 3), "auto")},
     "only for grayscale"),
    ("frames", {"dtype": "uint8", "layout": guess_layout((3, 5, 8, 8), 1)}, "not 5 channels"),
    ("missing/a.npy", {}, "does not exist; create it first"),
])
def test_check_output_refuses(tmp_path, name, kwargs, match):
    with pytest.raises(StackError, match=match):
        io.check_output(tmp_path / name, **kwargs)
    assert _listing(tmp_path) == []


def test_check_output_existing_target(tmp_path):
    save_stack(tmp_path / "a.npy", np.zeros((2, 2)))
    with pytest.raises(StackError, match="exists; pass --overwrite"):
        io.check_output(tmp_path / "a.npy")
    assert io.check_output(tmp_path / "a.npy", overwrite=True) == "npy"
    (tmp_path / "d.tif").mkdir()
    with pytest.raises(StackError, match="it is a folder"):
        io.check_output(tmp_path / "d.tif", overwrite=True)
    assert _listing(tmp_path) == ["a.npy", "d.tif"]


def test_check_output_unwritable_folder(tmp_path):
    folder = _unwritable_folder(tmp_path)
    try:
        with pytest.raises(StackError, match="permission denied") as excinfo:
            io.check_output(folder / "a.npy")
        assert "\n" not in str(excinfo.value)
    finally:
        if folder != Path("/sys"):
            folder.chmod(0o755)


# --- one line, never a traceback or a hang ------------------------------------------------

def _assert_line(excinfo, *fragments):
    text = str(excinfo.value)
    assert "\n" not in text and "Traceback" not in text
    for fragment in fragments:
        assert fragment in text, text


def test_npz_member_that_is_not_npy(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "notes.npz", "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(StackError) as excinfo:
        load_stack(tmp_path / "notes.npz")
    _assert_line(excinfo, "'notes.txt' in", "is not a .npy array")
    with zipfile.ZipFile(tmp_path / "two.npz", "w") as archive:
        archive.writestr("notes.txt", "hello")
        with archive.open("images.npy", "w") as member:
            np.lib.format.write_array(member, np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(StackError) as excinfo:
        load_stack(tmp_path / "two.npz", key="notes.txt")
    _assert_line(excinfo, "is not a .npy array")
    np.testing.assert_array_equal(load_stack(tmp_path / "two.npz", key="images"),
                                  np.zeros((2, 3, 3), np.uint8))


def _npy_with_header(path, header, data=b"\x00" * 64):
    text = header.encode("latin1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data)


@pytest.mark.parametrize("shape", ["(99999999999999999999, 2)", "(2, -3)",
                                   "(4294967296, 4294967296, 4294967296)"])
@pytest.mark.parametrize("ext", [".npy", ".npz"])
def test_npy_header_with_absurd_dimensions(tmp_path, shape, ext):
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }" % shape
    path = tmp_path / f"huge{ext}"
    if ext == ".npy":
        _npy_with_header(path, header)
    else:
        import zipfile
        _npy_with_header(tmp_path / "member.npy", header)
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(tmp_path / "member.npy", "images.npy")
    with pytest.raises(StackError) as excinfo:
        load_stack(path)
    _assert_line(excinfo, f"cannot read '{path}'")


def test_symlink_loop_as_input(tmp_path):
    (tmp_path / "loop.npy").symlink_to(tmp_path / "loop.npy")
    with pytest.raises(StackError) as excinfo:
        load_stack(tmp_path / "loop.npy")
    _assert_line(excinfo, "loop.npy", "symbolic link")


def test_name_longer_than_the_file_system_takes(tmp_path):
    path = tmp_path / ("a" * 300 + ".npy")
    with pytest.raises(StackError) as excinfo:
        load_stack(path)
    _assert_line(excinfo, "name is too long")
    with pytest.raises(StackError) as excinfo:
        save_stack(path, np.zeros((2, 2)))
    _assert_line(excinfo, "name is too long")
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("name", ["x.npy", "x.npz", "x.tif", "x.png", "x.gif"])
def test_a_fifo_is_refused_without_being_opened(tmp_path, monkeypatch, name):
    os.mkfifo(tmp_path / name)
    real_open = os.open

    def never_the_fifo(path, *args, **kwargs):
        assert Path(path) != tmp_path / name, "the FIFO was opened"
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", never_the_fifo)
    with pytest.raises(StackError) as excinfo:
        load_stack(tmp_path / name)
    _assert_line(excinfo, "not a regular file (a named pipe)")


def test_a_fifo_in_a_folder_of_images_is_skipped(tmp_path):
    iio.imwrite(tmp_path / "a.png", np.zeros((4, 5), np.uint8))
    os.mkfifo(tmp_path / "b.png")
    assert load_stack(tmp_path).shape == (1, 4, 5)


# --- codecs, permissions, names from files ------------------------------------------------

def test_imagecodecs_is_a_dependency():
    import tomllib

    root = Path(__file__).resolve().parents[2]
    with open(root / "pyproject.toml", "rb") as fh:
        dependencies = tomllib.load(fh)["project"]["dependencies"]
    assert any(d.split(">")[0].split("=")[0].strip() == "imagecodecs" for d in dependencies)


@pytest.mark.parametrize("compression", ["lzw", "zstd", "deflate", "packbits"])
def test_compressed_tiffs_load(tmp_path, compression):
    array = _stack((3, 20, 24), "uint16")
    tifffile.imwrite(tmp_path / "c.tif", array, compression=compression,
                     photometric="minisblack")
    np.testing.assert_array_equal(load_stack(tmp_path / "c.tif"), array)


def test_jpeg_compressed_tiff_loads_as_tifffile_decodes_it(tmp_path):
    from skimage import data

    photo = data.camera()[::4, ::4]                 # a real photo, 128x128 uint8
    stack = np.stack([photo, photo[::-1]])
    tifffile.imwrite(tmp_path / "j.tif", stack, compression="jpeg")
    loaded = load_stack(tmp_path / "j.tif")
    np.testing.assert_array_equal(loaded, tifffile.imread(tmp_path / "j.tif"))
    assert loaded.shape == stack.shape
    assert np.abs(loaded.astype(int) - stack).mean() < 3       # lossy, but the same photo


def test_a_missing_codec_says_to_install_imagecodecs(tmp_path):
    import subprocess
    import sys

    tifffile.imwrite(tmp_path / "lzw.tif", _stack((2, 8, 8), "uint8"), compression="lzw")
    code = ("import sys; sys.modules['imagecodecs'] = None\n"
            "from histeq_gui.core.io import load_stack\n"
            "try:\n    load_stack(sys.argv[1])\nexcept ValueError as exc:\n    print(exc)\n")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code, tmp_path / "lzw.tif"], text=True,
                            capture_output=True, env=dict(os.environ, PYTHONPATH=str(root)))
    assert result.stdout == (f"cannot read '{tmp_path / 'lzw.tif'}': its LZW compression needs "
                             "the imagecodecs package; install it (pip install imagecodecs)\n")


def test_an_unreadable_png_in_a_folder_says_permission_denied(tmp_path, monkeypatch):
    """As root, chmod denies nothing: the opener is made to fail as it would for a user."""
    import builtins

    for name in ("a.png", "b.png"):
        iio.imwrite(tmp_path / name, np.zeros((4, 5), np.uint8))
    denied = str(tmp_path / "b.png")
    real_os_open, real_open = os.open, builtins.open

    def os_open(path, *args, **kwargs):
        if str(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real_os_open(path, *args, **kwargs)

    def open_(path, *args, **kwargs):
        if str(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    with pytest.raises(StackError) as excinfo:
        load_stack(tmp_path)
    assert str(excinfo.value) == (f"cannot read '{denied}': permission denied; check the "
                                  "permissions of the file and its folder")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_an_unreadable_png_in_a_folder_for_real(tmp_path):
    for name in ("a.png", "b.png"):
        iio.imwrite(tmp_path / name, np.zeros((4, 5), np.uint8))
    (tmp_path / "b.png").chmod(0)
    try:
        with pytest.raises(StackError, match="b.png': permission denied"):
            load_stack(tmp_path)
    finally:
        (tmp_path / "b.png").chmod(0o644)


def _no_controls(text):
    return all(ch.isprintable() for ch in text)


def test_npz_member_names_are_shown_escaped(tmp_path):
    import zipfile

    names = ["ev\x1b[2Jil", "new\nline", "rtl\u202eexe"]
    with zipfile.ZipFile(tmp_path / "n.npz", "w") as archive:
        for name in names:
            with archive.open(name + ".npy", "w") as member:
                np.lib.format.write_array(member, np.zeros((2, 2), np.uint8))
        archive.writestr("notes\x07.txt", "x")
    with pytest.raises(KeyNeeded) as excinfo:
        load_stack(tmp_path / "n.npz")
    assert _no_controls(str(excinfo.value))
    assert "ev\\x1b[2Jil, new\\nline, rtl\\u202eexe, notes\\x07.txt" in str(excinfo.value)
    assert excinfo.value.keys == names + ["notes\x07.txt"]       # for a chooser: the real names
    np.testing.assert_array_equal(load_stack(tmp_path / "n.npz", key=names[1]), np.zeros((2, 2)))
    for key in ("missing\x1b", "notes\x07.txt"):
        with pytest.raises(StackError) as excinfo:
            load_stack(tmp_path / "n.npz", key=key)
        assert _no_controls(str(excinfo.value))


@pytest.mark.parametrize("name", ["odd\x1b[31m.png", "odd\n.png", b"odd\xff.png"])
def test_folder_entry_names_are_shown_escaped(tmp_path, name):
    iio.imwrite(tmp_path / "a.png", np.zeros((4, 5), np.uint8))
    odd = os.fsdecode(name)
    iio.imwrite(tmp_path / odd, np.zeros((6, 5), np.uint8))
    with pytest.raises(StackError) as excinfo:
        load_stack(tmp_path)
    text = str(excinfo.value)
    assert _no_controls(text) and "\n" not in text
    assert ("odd\\x1b[31m.png" if "\x1b" in odd else "odd\\n.png" if "\n" in odd
            else "odd\\xff.png") in text


# --- a single image as one PNG file -------------------------------------------------------

@pytest.mark.parametrize("shape,dtype", [((12, 10), "uint8"), ((12, 10), "uint16"),
                                         ((1, 12, 10), "uint8"), ((1, 1, 12, 10), "uint16"),
                                         ((12, 10, 3), "uint8"), ((12, 10, 4), "uint8")])
def test_a_single_image_saves_as_one_png(tmp_path, shape, dtype):
    array = _stack(shape, dtype)
    save_stack(tmp_path / "one.png", array)
    assert _listing(tmp_path) == ["one.png"]
    back = load_stack(tmp_path / "one.png")
    np.testing.assert_array_equal(back, array.reshape(back.shape))
    np.testing.assert_array_equal(iio.imread(tmp_path / "one.png"), back)   # a plain PNG


@pytest.mark.parametrize("shape,dtype,match", [
    ((3, 12, 10), "uint8", "a .png file holds one image, not 3"),
    ((12, 10), "float32", "PNG files hold only uint8 or uint16"),
    ((12, 10, 3), "uint16", "only for grayscale"),
    ((12, 10, 2), "uint8", "not 2 channels")])
def test_what_one_png_cannot_hold_is_refused(tmp_path, shape, dtype, match):
    layout = guess_layout(shape, 2 if shape[-1] == 2 else "auto")
    with pytest.raises(StackError, match=match):
        io.check_output(tmp_path / "one.png", dtype=dtype, layout=layout)
    with pytest.raises(StackError, match=match):
        save_stack(tmp_path / "one.png", _stack(shape, dtype), layout=layout)
    assert _listing(tmp_path) == []


# --- verification catches wrong bytes anywhere, not only in the shape or the first chunk -----

def _tamper_late(path, kind, array):
    """Make the written file hold different values in its LAST image only (same shape, dtype).

    Raw files get one byte flipped near their end, as a faulty disk would; compressed ones
    (PNG, .npz) are rewritten as valid files that differ in the last image.
    """
    if kind == "npy":
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF
        path.write_bytes(bytes(data))
    elif kind == "tif":
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[len(tif.pages) - 1]
            offset = page.dataoffsets[-1] + page.databytecounts[-1] - 1
        data = bytearray(path.read_bytes())
        data[offset] ^= 0xFF
        path.write_bytes(bytes(data))
    elif kind == "npz":
        changed = np.array(array)
        changed[-1].flat[-1] ^= 1
        with open(path, "wb") as fh:
            np.savez(fh, images=changed)
    else:                                           # a PNG folder: the last file
        last = sorted(path.iterdir())[-1]
        image = iio.imread(last)
        image.flat[-1] ^= 1
        iio.imwrite(last, image)


def _tamper(monkeypatch, array):
    """Corrupt what write_stack writes, after writing and before it is read back."""
    verify = ChunkWriter.verify

    def corrupt_then_verify(self, progress=None):
        _tamper_late(self.path, self.kind, array)
        return verify(self, progress)
    monkeypatch.setattr(ChunkWriter, "verify", corrupt_then_verify)
    monkeypatch.setattr(files, "PIECE_BYTES", 8 * 8)    # one image per chunk: many chunks


@pytest.mark.parametrize("name", TARGETS)
def test_a_late_wrong_byte_is_caught_by_the_verification(tmp_path, monkeypatch, name):
    array = _stack((6, 8, 8), "uint8")
    _tamper(monkeypatch, array)
    with pytest.raises(StackError, match="does not read back as written") as excinfo:
        save_stack(tmp_path / name, array)
    assert "\n" not in str(excinfo.value)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("name", TARGETS)
def test_a_late_wrong_byte_keeps_the_previous_output(tmp_path, monkeypatch, name):
    before = _previous(tmp_path, name)
    array = _stack((6, 8, 8), "uint8")
    _tamper(monkeypatch, array)
    with pytest.raises(StackError, match="does not read back as written"):
        save_stack(tmp_path / name, array, overwrite=True)
    assert _current(tmp_path, name) == before
    assert _listing(tmp_path) == [name]


def test_a_wrong_single_png_is_caught(tmp_path, monkeypatch):
    verify = ChunkWriter.verify

    def corrupt_then_verify(self, progress=None):
        image = iio.imread(self.path)
        image[-1, -1] ^= 1
        iio.imwrite(self.path, image, extension=".png")
        return verify(self, progress)
    monkeypatch.setattr(ChunkWriter, "verify", corrupt_then_verify)
    with pytest.raises(StackError, match="does not read back as written"):
        save_stack(tmp_path / "one.png", _stack((8, 8), "uint8"))
    assert _listing(tmp_path) == []
