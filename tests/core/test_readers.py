"""Lazy readers: the same pixels as load_stack, read piece by piece, with bounded memory."""

import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from references import sample_stack

import histeq_gui
from histeq_gui.core.errors import Cancelled, StackError
from histeq_gui.core.io import load_stack, mapped, npy, open_reader, reader_for, stack_axis, tiff
from histeq_gui.core.io.mapped import pread_into
from histeq_gui.core.stack import guess_layout, image_at

RNG = np.random.default_rng(11)


def _faces(n=12):
    return sample_stack()[:n]                       # (n, 1, 96, 96) uint8 photographs


def _write(path, array, how):
    path = Path(path)
    if how == "npy":
        np.save(path, array)
    elif how == "npy-fortran":
        np.save(path, np.asfortranarray(array))
    elif how in ("npz-stored", "npz-deflated"):
        with open(path, "wb") as fh:
            (np.savez if how == "npz-stored" else np.savez_compressed)(fh, images=array)
    elif how == "tif":
        tifffile.imwrite(path, array)
    elif how == "tif-zlib":
        tifffile.imwrite(path, array, compression="zlib")
    elif how == "tif-big-endian":
        tifffile.imwrite(path, array, byteorder=">")
    elif how == "folder":
        path.mkdir()
        for i, image in enumerate(array):
            iio.imwrite(path / f"img{i}.png", image)
    return path


CASES = [
    ("npy", "a.npy", (12, 1, 96, 96), "uint8"),
    ("npy", "a.npy", (1, 9, 20, 24), ">u2"),
    ("npy", "a.npy", (3, 7, 20, 24), "float32"),
    ("npy-fortran", "a.npy", (9, 20, 24), "int16"),
    ("npz-stored", "a.npz", (12, 1, 96, 96), "uint8"),
    ("npz-stored", "a.npz", (5, 16, 18, 3), "float64"),
    ("npz-deflated", "a.npz", (12, 1, 96, 96), "uint8"),
    ("npz-deflated", "a.npz", (2, 6, 16, 18), "<i4"),
    ("npz-deflated", "a.npz", (6, 16, 18), "float32"),
    ("tif", "a.tif", (12, 1, 96, 96), "uint8"),
    ("tif", "a.tif", (1, 9, 20, 24), "uint16"),
    ("tif", "a.tif", (7, 20, 24, 3), "uint8"),
    ("tif", "a.tif", (20, 24), "float32"),
    ("tif-zlib", "a.tif", (12, 1, 96, 96), "uint8"),
    ("tif-zlib", "a.tif", (7, 20, 24, 3), "uint8"),
    ("tif-big-endian", "a.tif", (6, 20, 24), "uint16"),
    ("folder", "frames", (8, 20, 24), "uint8"),
    ("folder", "frames", (5, 20, 24, 3), "uint8"),
]


def _data(shape, dtype):
    if shape[-2:] == (96, 96):
        return _faces(shape[0]).reshape(shape).astype(dtype)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return RNG.random(shape).astype(dtype)
    return RNG.integers(0, 250, shape).astype(dtype)


@pytest.mark.parametrize("how,name,shape,dtype", CASES)
def test_reads_what_load_stack_loads(tmp_path, how, name, shape, dtype):
    path = _write(tmp_path / name, _data(shape, dtype), how)
    whole = np.asarray(load_stack(path))
    with open_reader(path) as reader:
        assert reader.shape == whole.shape and reader.dtype == whole.dtype
        assert reader.kind == how.split("-")[0]
        if how.startswith("tif"):
            assert (reader._raw is None) == (how == "tif-zlib")
        assert reader.names == (sorted(os.listdir(path), key=lambda n: int(n[3:-4]))
                                if how == "folder" else None)
        for axis in range(max(reader.ndim - 2, 1)):
            length = reader.shape[axis]
            for start, stop in [(0, length), (0, 1), (length - 1, length), (1, max(length - 1, 1)),
                                (length // 2, length // 2)]:
                key = (slice(None),) * axis + (slice(start, stop),)
                got = reader.read(start, stop, axis)
                assert got.dtype == whole.dtype
                np.testing.assert_array_equal(got, whole[key])
        layout = guess_layout(whole.shape, "auto")
        for i in {0, layout.n_images // 2, layout.n_images - 1}:
            np.testing.assert_array_equal(reader.image(i, layout), image_at(whole, layout, i))
        np.testing.assert_array_equal(reader.load(), whole)


@pytest.mark.parametrize("how,name,shape,dtype", CASES)
def test_chunks_cover_the_stack_in_order(tmp_path, how, name, shape, dtype):
    path = _write(tmp_path / name, _data(shape, dtype), how)
    whole = np.asarray(load_stack(path))
    axis = stack_axis(guess_layout(whole.shape, "auto")) or 0
    seen = []
    with open_reader(path) as reader:
        pieces = list(reader.chunks(axis, images=2, progress=lambda d, t: seen.append((d, t))))
    assert [(a, b) for a, b, _ in pieces] == [(i, min(i + 2, whole.shape[axis]))
                                              for i in range(0, whole.shape[axis], 2)]
    np.testing.assert_array_equal(np.concatenate([p for _, _, p in pieces], axis=axis), whole)
    assert seen[-1] == (whole.shape[axis], whole.shape[axis])


def test_stack_axis_of_the_usual_layouts():
    assert stack_axis(guess_layout((1800, 1, 96, 96))) == 0
    assert stack_axis(guess_layout((1, 9, 8, 8))) == 1
    assert stack_axis(guess_layout((3, 9, 8, 8), 0)) == 1
    assert stack_axis(guess_layout((9, 8, 8, 3), "auto")) == 0
    assert stack_axis(guess_layout((1, 1, 8, 8))) is None
    assert stack_axis(guess_layout((8, 8, 3), "auto")) is None


def test_an_array_in_memory_is_read_as_views():
    stack = _faces(6)
    reader = reader_for(stack)
    piece = reader.read(2, 4)
    assert np.shares_memory(piece, stack)
    assert reader_for(reader) is reader
    with pytest.raises(IndexError, match="outside the stack"):
        reader.read(4, 7)
    with pytest.raises(IndexError, match="axis 5 is out of range"):
        reader.read(0, 1, axis=5)


def _mapped_files():
    with open("/proc/self/maps") as fh:
        return {line.split(maxsplit=5)[-1].strip() for line in fh if len(line.split()) > 5}


def test_an_npy_is_read_with_file_reads_and_never_mapped(tmp_path, monkeypatch):
    """No map of the file: a map takes the file's size of address space (ulimit -v)."""
    path = _write(tmp_path / "a.npy", _faces(8), "npy")
    calls = []
    monkeypatch.setattr(npy, "pread_into", lambda fd, data, position, *rest: (
        calls.append(position), mapped.pread_into(fd, data, position, *rest))[1])
    with open_reader(path) as reader:
        assert isinstance(reader, npy.NpyReader)
        piece = reader.read(3, 5)
        assert str(path) not in _mapped_files()
    assert calls == [128 + 3 * 96 * 96]         # one pread of the two images after the header
    np.testing.assert_array_equal(piece, _faces(8)[3:5])


def test_a_mapped_npy_is_read_with_file_reads_not_through_its_pages(tmp_path, monkeypatch):
    path = _write(tmp_path / "a.npy", _faces(8), "npy")
    stack = load_stack(path)
    assert isinstance(stack, np.memmap)
    calls = []
    monkeypatch.setattr(mapped, "pread_into", lambda fd, data, position, *rest: (
        calls.append(position), pread_into(fd, data, position, *rest))[1])
    with reader_for(stack) as reader:
        piece = reader.read(3, 5)
    assert not np.shares_memory(piece, stack)
    assert calls == [128 + 3 * 96 * 96]
    np.testing.assert_array_equal(piece, _faces(8)[3:5])


def test_tiff_pages_are_read_in_batches(tmp_path, monkeypatch):
    path = _write(tmp_path / "a.tif", _faces(40), "tif-zlib")
    calls = []
    pages = tiff._tiff_pages
    monkeypatch.setattr(tiff, "_tiff_pages",
                        lambda path, series, start, stop, out: (
                            calls.append((start, stop)), pages(path, series, start, stop, out)))
    with open_reader(path) as reader:
        assert reader.depth == 2 and reader.pages == 40 and reader._raw is None
        out = np.concatenate([p for _, _, p in reader.chunks(images=16)])
    assert calls == [(0, 16), (16, 32), (32, 40)]   # a batch of pages per chunk, not one each
    np.testing.assert_array_equal(out, _faces(40))


@pytest.mark.parametrize("how", ["tif", "tif-big-endian"])
def test_raw_tiff_pages_are_read_with_one_pread_per_chunk(tmp_path, monkeypatch, how):
    stack = _faces(40).astype(np.uint16) * 257
    path = _write(tmp_path / "a.tif", stack, how)
    calls = []
    preadv = os.preadv
    monkeypatch.setattr(os, "preadv", lambda fd, buffers, offset: (
        calls.append(offset), preadv(fd, buffers, offset))[1])
    monkeypatch.setattr(tiff, "_tiff_pages", None)          # tifffile's page path unused
    with open_reader(path) as reader:
        assert reader._raw is not None
        out = np.concatenate([p for _, _, p in reader.chunks(images=16)])
        assert out.dtype == np.uint16                           # native, as load_stack gives
    assert len(calls) == 3 and calls[1] - calls[0] == 16 * 96 * 96 * 2
    np.testing.assert_array_equal(out, stack)


def test_a_raw_tiff_cut_after_opening_is_one_line(tmp_path):
    path = _write(tmp_path / "a.tif", _faces(20), "tif")
    with open_reader(path) as reader:
        os.truncate(path, 30000)
        np.testing.assert_array_equal(reader.read(0, 2), _faces(2))
        with pytest.raises(StackError, match="the file changed while it was read .it ends "
                                             "before page 3"):
            reader.read(2, 20)


def test_tiff_errors_logged_in_another_thread_are_caught(tmp_path, monkeypatch):
    """tifffile logs (not raises) signs of damage; a read in another thread still sees them."""
    import logging

    path = _write(tmp_path / "a.tif", _faces(6), "tif-zlib")      # decoded by tifffile
    pages = tiff._tiff_pages

    def logging_pages(path, series, start, stop, out):
        logging.getLogger("tifffile").error("<TiffPage 3> simulated: strip is missing")
        pages(path, series, start, stop, out)
    with open_reader(path) as reader:
        monkeypatch.setattr(tiff, "_tiff_pages", logging_pages)
        result = {}

        def work():
            try:
                result["value"] = reader.read(0, 2)
            except StackError as exc:
                result["error"] = exc
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    assert str(result["error"]) == (f"cannot read '{path}': the TIFF file is truncated or "
                                    "damaged (simulated: strip is missing); check the file or "
                                    "copy it again")


def test_a_compressed_npz_member_is_streamed_forward_and_restarted_backward(tmp_path,
                                                                            monkeypatch):
    stack = _faces(12)
    path = _write(tmp_path / "a.npz", stack, "npz-deflated")
    opened = []
    with open_reader(path) as reader:
        original = reader._archive.open
        monkeypatch.setattr(reader._archive, "open",
                            lambda member: (opened.append(1), original(member))[1])
        for start in (0, 4, 8):
            np.testing.assert_array_equal(reader.read(start, start + 4), stack[start:start + 4])
        assert len(opened) == 1                     # one stream, read forward
        np.testing.assert_array_equal(reader.read(2, 3), stack[2:3])
        assert len(opened) == 2                     # backward: the stream starts again


def _flip_data_byte(path, offset_from_end=10):
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        member = archive.infolist()[0]
    # the member's data ends before the central directory; flip a byte of the pixels
    end = member.header_offset + 30 + len(member.filename) + len(member.extra) + \
        member.compress_size
    data[end - offset_from_end] ^= 0x55
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["npz-stored", "npz-deflated"])
def test_a_damaged_npz_member_is_refused_when_read_to_its_end(tmp_path, how):
    path = _write(tmp_path / "a.npz", _faces(6), how)
    _flip_data_byte(path)
    with open_reader(path) as reader:
        with pytest.raises(StackError) as excinfo:
            for _ in reader.chunks(images=2):
                pass
    message = str(excinfo.value)
    assert message.startswith(f"cannot read '{path}'") and "\n" not in message
    assert "CRC" in message or "Error -3" in message or "invalid" in message


def test_an_npy_cut_after_opening_is_one_line(tmp_path):
    path = _write(tmp_path / "a.npy", _faces(8), "npy")
    with open_reader(path) as reader:
        os.truncate(path, 4096)
        with pytest.raises(StackError, match="changed during the export .it is now 4096 bytes"):
            reader.read(4, 8)


def test_a_folder_image_of_another_size_is_named_when_read(tmp_path, monkeypatch):
    # An image replaced by one of another size after the folder was opened (a folder of
    # several sizes from the start opens as a ragged stack: tests/core/test_ragged.py).  A
    # small folder is decoded when opened and read from memory; this one is read from its
    # files.
    from histeq_gui.core.io import folders

    monkeypatch.setattr(folders, "_KEEP_BYTES", 0)
    path = _write(tmp_path / "frames", _faces(4)[:, 0], "folder")
    with open_reader(path) as reader:
        iio.imwrite(path / "img2.png", np.zeros((5, 5), np.uint8))
        np.testing.assert_array_equal(reader.read(0, 2), _faces(2)[:, 0])
        with pytest.raises(StackError, match="'img2.png' is \\(5, 5\\) uint8 but 'img0.png' is"):
            reader.read(0, 4)


def test_open_reader_refuses_what_load_stack_refuses(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((4, 4), np.uint8))
    with pytest.raises(StackError, match="only applies to .npz files"):
        open_reader(tmp_path / "a.npy", key="x")
    os.mkfifo(tmp_path / "pipe.npy")
    with pytest.raises(StackError, match="not a regular file .a named pipe"):
        open_reader(tmp_path / "pipe.npy")
    (tmp_path / "a.xyz").write_bytes(b"1")
    with pytest.raises(StackError, match="unsupported file type"):
        open_reader(tmp_path / "a.xyz")
    np.save(tmp_path / "cut.npy", np.zeros((40, 40), np.uint8))
    os.truncate(tmp_path / "cut.npy", 500)
    with pytest.raises(StackError, match="truncated"):
        open_reader(tmp_path / "cut.npy")
    np.save(tmp_path / "c.npy", np.zeros((4, 4), np.complex64))
    with pytest.raises(StackError, match="complex"):
        open_reader(tmp_path / "c.npy")


def test_a_cancel_from_progress_stops_the_chunks(tmp_path):
    path = _write(tmp_path / "a.tif", _faces(10), "tif")

    def progress(done, total):
        if done >= 4:
            raise Cancelled()
    with open_reader(path) as reader, pytest.raises(Cancelled):
        for _ in reader.chunks(images=2, progress=progress):
            pass


def test_an_image_file_is_read_whole(tmp_path):
    iio.imwrite(tmp_path / "one.png", _faces(1)[0, 0])
    with open_reader(tmp_path / "one.png") as reader:
        assert reader.kind == "image" and reader.shape == (96, 96)
        layout = guess_layout(reader.shape, "auto")
        np.testing.assert_array_equal(reader.image(0, layout), _faces(1)[0, 0])


# --- resident memory stays bounded by the chunk size ---------------------------------------

_RSS = '''
import sys
import numpy as np
from histeq_gui.core.io import open_reader

def hwm():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmHWM"))

path, images = sys.argv[1], int(sys.argv[2])
reader = open_reader(path)
before, total = hwm(), 0
for start, stop, chunk in reader.chunks(images=images):
    total += int(chunk[:, ..., 0].sum())
print(hwm() - before, total)
'''


def _peak_while_reading(path, images):
    repo = Path(histeq_gui.__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", _RSS, str(path), str(images)],
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=str(repo)))
    assert result.returncode == 0, result.stderr
    grown, total = map(int, result.stdout.split())
    return grown, total


def _rss_case(tmp_path, how, mb):
    image = np.arange(256 * 1024, dtype=np.uint32).astype(np.uint8).reshape(512, 512)
    n = mb * 4                                  # images of 256 kB
    name = {"npy": "a.npy", "npz-stored": "a.npz", "npz-deflated": "a.npz", "tif": "a.tif"}[how]
    path = tmp_path / name
    stack = np.broadcast_to(image, (n, 512, 512))
    if how == "tif":
        tifffile.imwrite(path, stack)
    else:
        _write(path, np.ascontiguousarray(stack), how)
    grown, total = _peak_while_reading(path, images=16)     # chunks of 4 MB
    assert total == n * int(image[:, 0].sum())
    return grown


@pytest.mark.parametrize("how", ["npy", "npz-stored", "npz-deflated", "tif"])
def test_resident_memory_is_bounded_by_the_chunk(tmp_path, how):
    grown = _rss_case(tmp_path, how, 48)
    assert grown < 24 << 20, f"{grown / 2**20:.0f} MB for chunks of 4 MB of a 48 MB stack"


@pytest.mark.slow
@pytest.mark.parametrize("how", ["npy", "npz-stored", "tif"])
def test_resident_memory_is_bounded_by_the_chunk_at_400_mb(tmp_path, how):
    grown = _rss_case(tmp_path, how, 400)
    assert grown < 24 << 20, f"{grown / 2**20:.0f} MB for chunks of 4 MB of a 400 MB stack"
