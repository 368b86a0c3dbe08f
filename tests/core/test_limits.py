"""Bombs and large files under an address-space limit, in child processes.

Every case here runs ``histeq`` (or a few lines of Python) in a child
process whose address space is capped with ``RLIMIT_AS``
(:data:`bomb_files.AS_LIMIT`, 3 GiB, or less where a case says so), as
``ulimit -v`` does on HPC schedulers: whatever the child would allocate
beyond the bound fails there, so the tests are safe on a 24 GB machine.  A
bomb must be refused in one line (exit 1) before memory grows past the
bound; a large valid file must be read in pieces, never mapped whole.
"""

import numpy as np
import pytest
import tifffile
from bomb_files import AS_LIMIT, gif_bomb, page_bomb, run_limited, tiled_bomb

from histeq_gui.core.errors import StackError
from histeq_gui.core.io import load_stack, memory, open_reader
from histeq_gui.core.io.tiff import first_series

pytestmark = pytest.mark.skipif(memory.resource is None, reason="needs POSIX resource limits")

_VM = "next(int(l.split()[1]) << 10 for l in open('/proc/self/status') if l.startswith('{}'))"


def _one_line_error(result, *needles):
    """The child failed with exit 1 and one line on stderr holding every needle."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, (result.returncode, result.stderr[-2000:])
    assert lines[0].startswith("histeq: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_the_address_space_limit_is_memory_left():
    code = (f"from histeq_gui.core.io import memory; "
            f"print(memory.address_limit(), memory.address_room(), memory.available(), "
            f"{_VM.format('VmSize')})")
    limit = 2 << 30
    result = run_limited([], limit, code)
    bound, room, free, used = map(int, result.stdout.split())
    assert bound == limit and room == limit - used and free <= room
    assert memory.address_limit() is None           # the test process itself is not limited


def test_many_small_images_equalize_in_bounded_memory():
    """4,800 images of two uint16 pixels took 5 GB: every group's tables were kept to the end."""
    code = ("import numpy as np; from histeq_gui import equalize; "
            "x = np.zeros((4800, 1, 2), np.uint16); x[:, 0, 1] = 65535; "
            "y = equalize(x, 'opencv'); "
            f"assert y.shape == x.shape and y[:, 0, 1].min() == 1; print({_VM.format('VmHWM')})")
    result = run_limited([], AS_LIMIT, code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) < 1 << 30             # resident: under 1 GiB (5 GB before)


def test_a_tiff_of_many_pages_is_refused_before_they_are_parsed(tmp_path):
    """400,000 pages of one pixel (40 MB): about 1.6 GB of page objects, refused under 1 GiB."""
    path = page_bomb(tmp_path / "pages.tif", 400_000)
    result = run_limited([path, "-o", tmp_path / "out.npy"], 1 << 30)
    _one_line_error(result, f"cannot read '{path}'", "400000 TIFF pages to parse",
                    "of address space left (ulimit -v allows 1.1 GB)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pages.tif"]


def test_many_tiff_pages_of_two_kinds_make_their_series_in_one_pass(tmp_path, monkeypatch):
    """tifffile groups such pages pairwise (hours for 200,000 pages): the series is made here."""
    small = page_bomb(tmp_path / "small.tif", 40, mixed=True)
    with tifffile.TiffFile(small) as tif:
        expected = tif.series[0]
        shape, pages = expected.shape, [p.offset for p in expected.pages]
    path = page_bomb(tmp_path / "mixed.tif", 3000, mixed=True)
    monkeypatch.setattr(tifffile.TiffFile, "series", property(lambda self: 1 / 0))
    with tifffile.TiffFile(path) as tif:
        series = first_series(tif)
        assert series.kind == "generic" and series.shape == (1500,) + shape[1:]
        assert [p.offset for p in series.pages[:20]] == pages[:20]     # every other page
    with open_reader(path) as reader:
        assert reader.shape == (1500,) + shape[1:]
        np.testing.assert_array_equal(reader.read(0, 1500), np.zeros(reader.shape, np.uint8))


def test_a_tiled_tiff_declaring_a_2_gb_page_is_refused_by_the_export(tmp_path):
    """17 kB declaring 45000 x 45000 pixels: the export needs 4 GB, more than the bound leaves."""
    path = tiled_bomb(tmp_path / "t.tif", 45000)
    assert path.stat().st_size < 20_000
    result = run_limited([path, "-o", tmp_path / "t.npz"], AS_LIMIT)
    _one_line_error(result, f"cannot export '{path}': it needs 4.0 GB of memory (one image of "
                            "2025000000 uint8 values, equalized to uint8), more than the",
                    "of address space left (ulimit -v allows 3.2 GB)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.tif"]


def test_the_per_piece_read_checks_the_size_too(tmp_path, monkeypatch):
    """The read itself refuses a piece that does not fit, naming the file (statistics, viewer)."""
    path = tiled_bomb(tmp_path / "t.tif", 45000)
    monkeypatch.setattr(memory, "available", lambda: 1_000_000_000)
    with open_reader(path) as reader, pytest.raises(StackError) as excinfo:
        reader.read(0, 45000)
    assert str(excinfo.value) == (
        f"cannot read '{path}': it would decode to 2.0 GB (images 0:45000 along axis 0 of "
        "shape (45000, 45000) uint8), more than the 1.0 GB of memory available; use a smaller "
        "file or free some memory")


def test_a_tiff_declaring_40_gb_is_refused_in_one_line_naming_it(tmp_path):
    path = tiled_bomb(tmp_path / "huge.tif", 200_000, tile=4096)
    result = run_limited([path, "-o", tmp_path / "t.npz"], AS_LIMIT)
    _one_line_error(result, f"cannot export '{path}': it needs 80.0 GB of memory (one image of "
                            "40000000000 uint8 values, equalized to uint8)")


def _sparse_npy(path, shape):
    """A .npy of zeros with a header, its data a hole in the file (no disk used)."""
    array = np.lib.format.open_memmap(path, "w+", np.uint8, shape)
    array[-1, -1, -1] = 7
    array.flush()
    del array
    return path


def test_a_large_npy_exports_under_an_address_space_limit(tmp_path):
    """1.5 GB of .npy under a 2 GiB limit: mapped whole it was 'not a valid .npy file'."""
    path = _sparse_npy(tmp_path / "big.npy", (1500, 1000, 1000))
    result = run_limited([path, "-o", tmp_path / "out.npz"], 2 << 30)
    assert result.returncode == 0, result.stderr[-2000:]
    with open_reader(tmp_path / "out.npz") as reader:
        assert reader.shape == (1500, 1000, 1000)
        assert reader.read(1499, 1500)[0, -1, -1] == 255


def test_load_stack_of_an_npy_larger_than_the_address_space_says_so(tmp_path):
    path = _sparse_npy(tmp_path / "big.npy", (1500, 1000, 1000))
    code = ("import sys; from histeq_gui import load_stack, StackError\n"
            "try:\n    load_stack(sys.argv[1])\nexcept StackError as exc:\n    print(exc)")
    result = run_limited([path], 1 << 30, code)
    assert result.returncode == 0 and result.stdout.startswith(
        f"cannot map '{path}' whole (1.5 GB): not enough address space (ulimit -v allows "
        "1.1 GB); raise the limit"), result.stdout + result.stderr[-2000:]
    assert load_stack(path).shape == (1500, 1000, 1000)     # unlimited, it maps


def test_a_gif_of_20_large_frames_decodes_frame_by_frame(tmp_path):
    """499 bytes of 20 colour frames of 4000x4000: 0.96 GB of frames, 1.9 GB at peak before."""
    path = tmp_path / "big.gif"
    path.write_bytes(gif_bomb(4000, 4000, 20, colours=b"\xff\x00\x00\x00\x00\xff"))
    assert path.stat().st_size < 500
    code = ("import sys; from histeq_gui import load_stack; s = load_stack(sys.argv[1]); "
            f"print(s.shape, s[:, 0, 0, 0].min(), {_VM.format('VmHWM')})")
    result = run_limited([path], AS_LIMIT, code)
    assert result.returncode == 0, result.stderr[-2000:]
    shape, low, peak = result.stdout.rsplit(" ", 2)
    assert shape == "(20, 4000, 4000, 3)" and low == "255"      # red, the pixel at (0, 0)
    assert int(peak) < 1_400_000_000            # the frames and one frame's work


def test_a_10_gb_gif_is_refused_at_once(tmp_path):
    path = tmp_path / "bomb.gif"
    path.write_bytes(gif_bomb(4000, 4000, 200, transparent=True,
                              colours=b"\xff\x00\x00\x00\x00\xff"))
    result = run_limited([path, "-o", tmp_path / "out.npy"], AS_LIMIT)
    _one_line_error(result, f"cannot read '{path}': it would decode to 13.0 GB (200 frames of "
                            "4000x4000 pixels), more than the", "of address space left")


def test_the_command_names_address_space_when_it_runs_out_of_it(tmp_path, monkeypatch, capsys):
    """A MemoryError under ulimit -v is 'not enough address space', not 'not enough memory'."""
    from histeq_gui import cli
    from histeq_gui.core import export as export_module

    def out_of_memory(*args, **kwargs):
        raise MemoryError()
    np.save(tmp_path / "in.npy", np.zeros((2, 8, 8), np.uint8))
    monkeypatch.setattr(export_module, "export", out_of_memory)
    assert cli.main([str(tmp_path / "in.npy"), "-o", str(tmp_path / "out.npy")]) == 1
    assert capsys.readouterr().err == ("histeq: error: not enough memory; free some memory or "
                                       "use a smaller stack\n")
    monkeypatch.setattr(memory, "address_limit", lambda: 2 << 30)
    monkeypatch.setattr(memory, "address_room", lambda: 1 << 30)
    assert cli.main([str(tmp_path / "in.npy"), "-o", str(tmp_path / "out.npy")]) == 1
    assert capsys.readouterr().err == (
        "histeq: error: not enough address space (ulimit -v allows 2.1 GB); raise the limit "
        "(ulimit -v, or the job's memory request) or use a smaller stack\n")
