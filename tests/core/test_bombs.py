"""Truncated animated GIFs and decompression bombs: refused in one line, before decoding.

The bombs are built here, small: a GIF of one-pixel frames on a huge canvas, a zlib TIFF of
zeros, an .npz member of zeros, a folder of many images.  Where the real free memory of the
test machine would let a bomb through, ``memory.available`` is replaced by a small figure;
one case per format declares more than any machine has, against the real figure.
"""

import os
import struct
import zipfile
import zlib

import imageio.v3 as iio
import numpy as np
import pytest
from bomb_files import gif_bomb
from PIL import Image

from histeq_gui.core.errors import StackError
from histeq_gui.core.io import gif, load_stack, memory

RNG = np.random.default_rng(6)


def _listing(folder):
    return sorted(os.listdir(folder))


def _frames_gif(path, n=3, size=(24, 32)):
    """An animated GIF of ``n`` different noisy frames, written by Pillow."""
    from PIL import Image

    frames = [Image.fromarray(RNG.integers(0, 256, size + (3,), dtype=np.uint8))
              for _ in range(n)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    return path


# --- GIF structure --------------------------------------------------------------------------

def test_scan_gif_agrees_with_pillow_on_a_real_animation(tmp_path):
    from PIL import Image

    path = _frames_gif(tmp_path / "a.gif", n=5)
    info = gif.scan_gif(path.read_bytes())
    with Image.open(path) as image:
        assert (info.width, info.height, info.frames) == (*image.size, image.n_frames) == \
            (32, 24, 5)
    assert info.problem is None


def test_the_hand_made_gif_decodes_as_declared(tmp_path):
    path = tmp_path / "dots.gif"
    path.write_bytes(gif_bomb(7, 5, 3))
    frames = load_stack(path)
    assert frames.shape == (3, 5, 7)            # black and white: grey frames
    assert gif.scan_gif(path.read_bytes()).frames == 3


def test_a_truncated_animated_gif_is_refused_wherever_it_is_cut(tmp_path):
    whole = _frames_gif(tmp_path / "whole.gif").read_bytes()
    assert load_stack(tmp_path / "whole.gif").shape[0] == 3
    cut = tmp_path / "cut.gif"
    short = []
    for end in range(13, len(whole), 3):
        cut.write_bytes(whole[:end])
        try:
            frames = load_stack(cut)
        except StackError as exc:
            assert "\n" not in str(exc)
            continue
        short.append((end, frames.shape))
    assert short == []                  # never fewer frames, never a traceback


def test_a_gif_cut_before_its_trailer_says_so(tmp_path):
    whole = _frames_gif(tmp_path / "whole.gif").read_bytes()
    (tmp_path / "cut.gif").write_bytes(whole[:-1])          # every frame, no trailer
    with pytest.raises(StackError, match=r"the GIF file is truncated or damaged \(it ends "
                                         r"before its trailer, after 3 complete frames\)"):
        load_stack(tmp_path / "cut.gif")


# --- bombs ----------------------------------------------------------------------------------

@pytest.fixture
def little_memory(monkeypatch):
    """Pretend that only 2 GB (or what a test sets) of memory is free."""
    monkeypatch.setattr(memory, "available", lambda: 2_000_000_000)


def test_the_gif_bomb_of_the_issue(tmp_path, little_memory):
    path = tmp_path / "bomb.gif"
    path.write_bytes(gif_bomb(4000, 4000, 200))
    assert path.stat().st_size < 5000               # 4.6 KB ...
    with pytest.raises(StackError) as excinfo:      # ... of 200 grey frames: 3.2 GB, and a
        load_stack(path)                            # frame's work (12 bytes a pixel)
    assert str(excinfo.value) == (
        f"cannot read '{path}': it would decode to 3.4 GB (200 frames of 4000x4000 pixels), "
        "more than the 2.0 GB of memory available; use a smaller file or free some memory")


def test_a_gif_over_pillows_pixel_limit_is_one_clear_line(tmp_path):
    """62 bytes declaring 65535x65535: imageio said 'An unknown error occurred ... pillow'."""
    path = tmp_path / "bomb.gif"
    path.write_bytes(gif_bomb(65535, 65535, 1))
    assert path.stat().st_size < 70
    with pytest.raises(StackError) as excinfo:
        load_stack(path)
    assert str(excinfo.value) == (
        f"cannot read '{path}': its canvas of 65535x65535 pixels is larger than Pillow "
        f"decodes (at most {2 * Image.MAX_IMAGE_PIXELS} pixels); the file is damaged or not "
        "meant to be decoded")


def test_a_colour_gif_bomb_counts_its_colours(tmp_path, monkeypatch):
    """Transparent colours decode to RGBA: four bytes a pixel, and a frame's work."""
    path = tmp_path / "bomb.gif"
    path.write_bytes(gif_bomb(4000, 4000, 20, transparent=True,
                                           colours=b"\xff\x00\x00\x00\x00\xff"))
    monkeypatch.setattr(memory, "available", lambda: 1_000_000_000)
    with pytest.raises(StackError, match=r"would decode to 1.5 GB \(20 frames of 4000x4000 "
                                         r"pixels\), more than the 1.0 GB"):
        load_stack(path)


def _zlib_tiff(path, width, height, strip=None):
    """A one-page, one-strip, zlib-compressed uint8 TIFF of zeros, written by hand.

    ``strip`` replaces the compressed data (to declare more than is there).
    """
    if strip is None:
        squeeze = zlib.compressobj(9)
        row = bytes(width)
        strip = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 8), (262, 3, 1),
            (273, 4, 8), (277, 3, 1), (278, 4, height), (279, 4, len(strip))]
    ifd = struct.pack("<H", len(tags)) + b"".join(
        struct.pack("<HHI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3
                                             else struct.pack("<I", value))
        for tag, kind, value in tags) + b"\x00\x00\x00\x00"
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8 + len(strip)) + strip + ifd)
    return path


def test_the_hand_made_tiff_decodes(tmp_path):
    path = _zlib_tiff(tmp_path / "small.tif", 40, 30)
    np.testing.assert_array_equal(load_stack(path), np.zeros((30, 40), np.uint8))


def test_a_zlib_tiff_bomb(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "available", lambda: 50_000_000)
    path = _zlib_tiff(tmp_path / "bomb.tif", 10000, 10000)
    assert path.stat().st_size < 200_000            # 100 MB of zeros in ~100 KB
    with pytest.raises(StackError, match=r"it would decode to 100.0 MB \(1 page, shape "
                                         r"\(10000, 10000\) uint8\), more than the 50.0 MB"):
        load_stack(path)


def test_a_tiff_declaring_more_than_any_machine_has(tmp_path):
    path = _zlib_tiff(tmp_path / "huge.tif", 4_000_000_000, 4_000_000_000,
                      strip=zlib.compress(bytes(1000)))
    with pytest.raises(StackError, match=r"it would decode to 16000000.0 TB \(1 page, shape "
                                         r"\(4000000000, 4000000000\) uint8\), more than"):
        load_stack(path)


def _npz_of_zeros(path, shape):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("images.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array_header_1_0(
            member, {"descr": "|u1", "fortran_order": False, "shape": shape})
        block = bytes(1 << 20)
        left = int(np.prod(shape))
        while left:
            member.write(block[:min(left, len(block))])
            left -= min(left, len(block))
    return path


def test_an_npz_bomb(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "available", lambda: 100_000_000)
    path = _npz_of_zeros(tmp_path / "bomb.npz", (200, 1000, 1000))
    assert path.stat().st_size < 1_000_000
    with pytest.raises(StackError, match=r"would decode to 200.0 MB \(array 'images' of shape "
                                         r"\(200, 1000, 1000\) uint8\), more than the 100.0 MB"):
        load_stack(path)


def test_an_npz_member_declaring_more_than_it_holds(tmp_path):
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100), }"
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    with zipfile.ZipFile(tmp_path / "huge.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("images.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                         + header + bytes(4096))
    with pytest.raises(StackError, match=r"\(member 'images.npy'\): it is truncated \(4096 of "
                                         r"8000000000000 data bytes"):
        load_stack(tmp_path / "huge.npz")


def test_a_folder_too_big_for_memory(tmp_path, monkeypatch):
    for i in range(30):
        iio.imwrite(tmp_path / f"{i}.png", np.zeros((100, 100), np.uint8))
    monkeypatch.setattr(memory, "available", lambda: 200_000)
    with pytest.raises(StackError, match=r"cannot read '.*': it would decode to 300.0 kB "
                                         r"\(30 images of shape \(100, 100\) uint8\)"):
        load_stack(tmp_path)


@pytest.mark.parametrize("name", ["big.png", "big.webp"])
def test_an_image_too_big_for_memory(tmp_path, monkeypatch, name):
    iio.imwrite(tmp_path / name, np.zeros((300, 400, 3), np.uint8))
    monkeypatch.setattr(memory, "available", lambda: 100_000)
    with pytest.raises(StackError, match=r"would decode to 360.0 kB \(1 frame of 400x300 "
                                         r"pixels, RGB\)"):
        load_stack(tmp_path / name)


def test_available_memory_reads_the_kernel():
    with open("/proc/meminfo") as fh:
        fields = dict(line.split(":", 1) for line in fh)
    free = int(fields["MemAvailable"].split()[0]) * 1024
    measured = memory.available()
    assert 0 < measured <= free * 1.5 and measured >= min(free, memory._cgroup_room() or free) / 2


def test_an_export_is_not_refused_for_memory_since_it_streams(tmp_path, monkeypatch):
    """The export keeps no copy of the result (chunk writers): little memory is no refusal."""
    from histeq_gui.core.export import ExportSettings, export

    np.save(tmp_path / "in.npy", np.zeros((100, 100, 100), np.uint8))
    stack = load_stack(tmp_path / "in.npy")                 # mapped: loading costs nothing
    monkeypatch.setattr(memory, "available", lambda: 1_000_000)
    export(stack, tmp_path / "out.tif", ExportSettings(dtype="float64"))
    monkeypatch.undo()
    assert load_stack(tmp_path / "out.tif").shape == (100, 100, 100)
    assert _listing(tmp_path) == ["in.npy", "out.tif", "out.tif.json"]
