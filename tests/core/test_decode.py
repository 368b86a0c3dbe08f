"""Image files decoded by Pillow directly, on the decoding pool, the free memory checked per batch.

References: imageio's Pillow plugin (what the reader used before; its pixels are kept) and
Pillow itself, on files made from scikit-image's photographs in every mode those formats
write; the folder readers are spied on to check how often they open a file and look at the
free memory, and on which threads they decode.
"""

import os
import signal
import threading
import time

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from PIL import Image
from skimage import data

from histeq_gui.core.errors import StackError
from histeq_gui.core.io import images, load_stack, memory, open_reader, threads
from histeq_gui.core.io.images import read_image, read_thumbnail

PHOTO = data.astronaut()[::8, ::8]                  # 64x64 RGB
GRAY = data.camera()[::8, ::8]                      # 64x64 gray


def _variants(tmp_path):
    """name -> path of one file per (format, mode) Pillow writes and reads back."""
    made = {}

    def save(name, image, **options):
        path = tmp_path / name
        image.save(path, **options)
        made[name] = path

    rgb, gray = Image.fromarray(PHOTO), Image.fromarray(GRAY)
    save("gray.png", gray)
    save("rgb.png", rgb)
    save("rgba.png", Image.fromarray(np.dstack([PHOTO, GRAY])))
    save("la.png", Image.fromarray(np.dstack([GRAY, GRAY[::-1]])).convert("LA"))
    save("palette.png", rgb.quantize(64))
    transparent = rgb.quantize(16)
    save("palette_transparent.png", transparent, transparency=3)
    save("gray_transparent.png", gray, transparency=7)
    save("bilevel.png", gray.convert("1"))
    save("gray16.png", Image.fromarray(GRAY.astype(np.uint16) * 257))
    save("gray.jpg", gray, quality=90)
    save("rgb.jpg", rgb, quality=90)
    save("cmyk.jpg", rgb.convert("CMYK"), quality=90)
    save("rgb.bmp", rgb)
    save("palette.bmp", rgb.quantize(16))
    save("rgb.webp", rgb, lossless=True)
    save("rgba.webp", Image.fromarray(np.dstack([PHOTO, GRAY])), lossless=True)
    return made


def test_every_mode_decodes_to_imageios_pixels(tmp_path):
    for name, path in _variants(tmp_path).items():
        ours = read_image(path)
        theirs = iio.imread(path, plugin="pillow")
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, name
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
        assert ours.flags.writeable, name
        assert images.probe_image(path) == (theirs.shape, theirs.dtype), name


def test_a_file_is_told_by_its_bytes_not_its_name(tmp_path):
    Image.fromarray(PHOTO).save(tmp_path / "photo.png", format="JPEG")
    with Image.open(tmp_path / "photo.png") as pillow:
        assert pillow.format == "JPEG"
        np.testing.assert_array_equal(read_image(tmp_path / "photo.png"), np.asarray(pillow))


@pytest.mark.parametrize("name", ["moving.png", "moving.webp"])
def test_an_animated_png_or_webp_gives_all_its_frames(tmp_path, name):
    frames = [Image.fromarray(np.roll(PHOTO, 8 * k, axis=1)) for k in range(4)]
    frames[0].save(tmp_path / name, save_all=True, append_images=frames[1:], lossless=True)
    stack = load_stack(tmp_path / name)
    assert stack.shape[:3] == (4, 64, 64)
    with Image.open(tmp_path / name) as pillow:
        for k in range(4):
            pillow.seek(k)
            np.testing.assert_array_equal(stack[k], np.asarray(pillow))     # WebP: RGBA
            np.testing.assert_array_equal(stack[k][..., :3], np.roll(PHOTO, 8 * k, axis=1))


def test_a_jpeg_thumbnail_is_pillows_draft(tmp_path):
    photo = Image.fromarray(data.astronaut())                   # 512x512
    photo.save(tmp_path / "big.jpg", quality=90)
    small = read_thumbnail(tmp_path / "big.jpg", 96)
    with Image.open(tmp_path / "big.jpg") as pillow:
        pillow.draft("RGB", (102, 102))        # 512 // 5 = 1/5 asked: the decoder gives 1/4
        expected = np.asarray(pillow)
    assert small.shape == (128, 128, 3)
    np.testing.assert_array_equal(small, expected)
    Image.fromarray(GRAY).save(tmp_path / "gray.png")
    assert read_thumbnail(tmp_path / "gray.png", 96) is None


def test_a_folder_opens_each_file_once_and_looks_at_the_memory_once_per_batch(tmp_path,
                                                                            monkeypatch):
    for i in range(120):
        Image.fromarray(np.roll(GRAY, i, axis=0)).save(tmp_path / f"{i:03d}.png")
    opened, looked = [], []
    real_open, real_available = images.open_input, memory.available

    def open_input(path, *args, **kwargs):
        opened.append(path.name)
        return real_open(path, *args, **kwargs)

    def available():
        looked.append(1)
        return real_available()
    monkeypatch.setattr(images, "open_input", open_input)
    monkeypatch.setattr(memory, "available", available)
    stack = load_stack(tmp_path)
    assert sorted(opened) == sorted(f"{i:03d}.png" for i in range(120))     # once each
    assert len(looked) <= 4             # the first image, the folder, the batch, the load
    np.testing.assert_array_equal(stack[7], np.roll(GRAY, 7, axis=0))


@pytest.mark.skipif(threads.workers() < 2, reason="one CPU: files are decoded in order")
def test_a_folders_files_are_decoded_on_the_pool(tmp_path, monkeypatch):
    for i in range(40):
        Image.fromarray(np.roll(PHOTO, i, axis=0)).save(tmp_path / f"{i:02d}.png")
    names = set()
    real = images.decode_image

    def decode(path, *args, **kwargs):
        names.add(threading.current_thread().name)
        return real(path, *args, **kwargs)
    from histeq_gui.core.io import folders
    monkeypatch.setattr(folders, "decode_image", decode)
    load_stack(tmp_path)
    assert any(name.startswith("histeq-decode") for name in names)


def test_in_order_gives_results_and_the_first_error_in_order():
    def work(k):
        time.sleep(0.002 * (10 - k))            # later items finish first
        if k in (3, 7):
            raise ValueError(f"item {k}")
        return k * k
    assert list(threads.in_order(work, [0, 1, 2])) == [0, 1, 4]
    assert list(threads.in_order(lambda k: k + 1, range(50), per_task=4)) == list(range(1, 51))
    with pytest.raises(ValueError, match="item 3"):
        list(threads.in_order(work, range(10)))


def test_an_image_of_a_folder_too_big_for_memory_is_refused_before_decoding(tmp_path,
                                                                          monkeypatch):
    (tmp_path / "a").mkdir()
    Image.fromarray(GRAY).save(tmp_path / "a" / "small.png")
    Image.fromarray(data.astronaut()).save(tmp_path / "a" / "zbig.png")       # 768 kB decoded
    decoded = []
    real = images._pixels
    monkeypatch.setattr(images, "_pixels", lambda image: decoded.append(image.size) or
                        real(image))
    monkeypatch.setattr(memory, "available", lambda: 200_000)
    with pytest.raises(StackError) as info:
        load_stack(tmp_path)
    assert str(info.value).startswith(f"cannot read '{tmp_path / 'a' / 'zbig.png'}': it would "
                                      "decode to 786.4 kB (1 frame of 512x512 pixels, RGB)")
    assert (512, 512) not in decoded


def test_a_png_declaring_a_huge_image_in_a_subfolder_is_one_line(tmp_path):
    import struct
    import zlib

    (tmp_path / "sub").mkdir()
    Image.fromarray(GRAY).save(tmp_path / "a.png")

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body))
    huge = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8,
                                                             0, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    (tmp_path / "sub" / "bomb.png").write_bytes(huge)
    with pytest.raises(StackError) as info:
        open_reader(tmp_path)
    message = str(info.value)
    assert "\n" not in message and "bomb.png" in message and "Pillow refuses images that large" \
        in message


def test_a_truncated_jpeg_in_a_tree_is_one_line(tmp_path):
    (tmp_path / "cat").mkdir()
    Image.fromarray(PHOTO).save(tmp_path / "cat" / "a.jpg")
    Image.fromarray(PHOTO).save(tmp_path / "cat" / "b.jpg")
    data_ = (tmp_path / "cat" / "b.jpg").read_bytes()
    (tmp_path / "cat" / "b.jpg").write_bytes(data_[:len(data_) // 2])
    with pytest.raises(StackError) as info:
        load_stack(tmp_path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"cannot read '{tmp_path / 'cat' / 'b.jpg'}'")


def test_a_tiff_in_a_folder_is_read_by_tifffile(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", GRAY.astype(np.uint16) * 200)
    Image.fromarray(GRAY.astype(np.uint16) * 3).save(tmp_path / "b.png")
    stack = load_stack(tmp_path)
    np.testing.assert_array_equal(stack[0], GRAY.astype(np.uint16) * 200)
    np.testing.assert_array_equal(stack[1], GRAY.astype(np.uint16) * 3)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_decodes_on_a_pool_of_its_own(tmp_path):
    """The parent's pool has no thread in a forked child: waiting on it would hang for ever."""
    for i in range(30):
        Image.fromarray(np.roll(GRAY, i, axis=0)).save(tmp_path / f"{i:02d}.png")
    load_stack(tmp_path)                        # the parent's pool is made and used
    pid = os.fork()
    if pid == 0:
        try:
            code = 0 if load_stack(tmp_path).shape == (30, 64, 64) else 1
        finally:
            os._exit(locals().get("code", 2))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child did not finish reading the folder in 60 s")


def _plain_variants(tmp_path):
    """Files imagecodecs may decode (name -> path) and files that must stay Pillow's."""
    rgb, gray = Image.fromarray(PHOTO), Image.fromarray(GRAY)
    odd = Image.fromarray(data.astronaut()[:37, :51])
    plain = {"gray.png": (gray, {}), "rgb.png": (rgb, {}),
             "rgba.png": (Image.fromarray(np.dstack([PHOTO, GRAY])), {}),
             "la.png": (Image.fromarray(np.dstack([GRAY, GRAY[::-1]])).convert("LA"), {}),
             "gray.jpg": (gray, {"quality": 90}), "odd444.jpg": (odd, {"subsampling": 0}),
             "odd422.jpg": (odd, {"subsampling": 1}), "odd420.jpg": (odd, {"subsampling": 2}),
             "progressive.jpg": (rgb, {"progressive": True}),
             "optimized.jpg": (rgb, {"optimize": True, "quality": 95})}
    other = {"palette.png": (rgb.quantize(64), {}),
             "gray_transparent.png": (gray, {"transparency": 7}),
             "gray16.png": (Image.fromarray(GRAY.astype(np.uint16) * 257), {}),
             "cmyk.jpg": (rgb.convert("CMYK"), {})}
    paths = {}
    for name, (image, options) in {**plain, **other}.items():
        image.save(tmp_path / name, **options)
        paths[name] = tmp_path / name
    return {n: paths[n] for n in plain}, {n: paths[n] for n in other}


def test_plain_png_and_jpeg_files_are_decoded_by_imagecodecs_to_pillows_pixels(tmp_path,
                                                                             monkeypatch):
    plain, other = _plain_variants(tmp_path)
    decoded = []
    real = images._decode_plain

    def spy(decode, data, shape):
        decoded.append(shape)
        return real(decode, data, shape)
    monkeypatch.setattr(images, "_decode_plain", spy)
    for name, path in {**plain, **other}.items():
        decoded.clear()
        ours = read_image(path)
        theirs = iio.imread(path, plugin="pillow")
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, name
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
        assert decoded == ([theirs.shape] if name in plain else []), name


def test_a_broken_plain_file_is_pillows_to_refuse(tmp_path, monkeypatch):
    """The same one-line refusal as when Pillow reads every file."""
    _, _ = _plain_variants(tmp_path)
    png = bytearray((tmp_path / "rgb.png").read_bytes())
    # a text chunk before the pixels with a bad checksum: Pillow refuses the file
    chunk = b"tEXt" + b"Comment\0hello"
    broken = png[:33] + len(chunk[4:]).to_bytes(4, "big") + chunk + b"\0\0\0\0" + png[33:]
    (tmp_path / "crc.png").write_bytes(bytes(broken))
    jpeg = (tmp_path / "progressive.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(jpeg[:len(jpeg) * 2 // 3])
    idat = png.index(b"IDAT")
    (tmp_path / "cut.png").write_bytes(bytes(png[:idat + 40]))
    (tmp_path / "header.png").write_bytes(bytes(png[:20]))        # cut inside its header
    names = ("crc.png", "cut.jpg", "cut.png", "header.png")
    said = []
    for name in names:
        with pytest.raises(StackError) as info:
            read_image(tmp_path / name)
        said.append(str(info.value))
        assert said[-1].startswith(f"cannot read '{tmp_path / name}': "), name
    monkeypatch.setattr(images, "_plain", lambda head, fh: None)
    for name, message in zip(names, said):
        with pytest.raises(StackError) as info:
            read_image(tmp_path / name)
        assert str(info.value) == message, name


def test_a_file_too_large_to_hold_whole_is_pillows_to_stream(tmp_path, monkeypatch):
    """imagecodecs decodes a file read whole; above the limit the file goes to Pillow."""
    plain, _ = _plain_variants(tmp_path)
    decoded = []
    real = images._decode_plain
    monkeypatch.setattr(images, "_decode_plain",
                        lambda decode, data, shape: decoded.append(shape) or
                        real(decode, data, shape))
    path = plain["rgb.png"]
    monkeypatch.setattr(images, "_PLAIN_MAX_BYTES", path.stat().st_size - 1)
    np.testing.assert_array_equal(read_image(path), iio.imread(path, plugin="pillow"))
    assert decoded == []
    monkeypatch.setattr(images, "_PLAIN_MAX_BYTES", path.stat().st_size)
    read_image(path)
    assert len(decoded) == 1
