"""Zarr v3 arrays: round trips, lazy reading by chunk, atomic writing, and the optional extra."""

import builtins
import json
import os
import sys

import numpy as np
import pytest
from references import sample_stack

from histeq_gui.core.equalize import equalize
from histeq_gui.core.errors import StackError
from histeq_gui.core.export import ExportSettings, convert, export, export_steps
from histeq_gui.core.io import (
    ChunkWriter,
    load_stack,
    open_reader,
    read_sidecar,
    save_stack,
    sidecar_path,
    writer,
    zarr_store,
)

zarr = pytest.importorskip("zarr")
RNG = np.random.default_rng(9)


def _listing(folder):
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("shape,dtype", [((12, 1, 96, 96), "uint8"), ((7, 20, 24, 3), "uint16"),
                                         ((1, 9, 20, 24), "float32"), ((20, 24), "float64"),
                                         ((5, 20, 24), "int16")])
def test_save_and_load_round_trip(tmp_path, shape, dtype):
    stack = sample_stack()[:12] if shape[-1] == 96 else (RNG.random(shape) * 1000).astype(dtype)
    out = save_stack(tmp_path / "s.zarr", stack)
    assert _listing(tmp_path) == ["s.zarr"]
    back = load_stack(out)
    assert back.dtype == stack.dtype and back.shape == stack.shape
    np.testing.assert_array_equal(back, stack)
    on_disk = zarr.open_array(out, mode="r")                # a plain Zarr v3 array
    assert on_disk.metadata.zarr_format == 3
    np.testing.assert_array_equal(on_disk[...], stack)


def test_chunked_along_the_image_axis(tmp_path):
    stack = (RNG.random((300, 1, 128, 128)) * 255).astype(np.uint8)   # 16 kB per image
    out = save_stack(tmp_path / "s.zarr", stack)
    chunks = zarr.open_array(out, mode="r").chunks
    assert chunks[1:] == (1, 128, 128) and 1 <= chunks[0] <= 300
    one = save_stack(tmp_path / "one.zarr", np.zeros((1, 9, 20, 24), np.uint8))
    assert zarr.open_array(one, mode="r").chunks[0] == 1     # (1, N, H, W): along axis 1
    assert zarr.open_array(one, mode="r").chunks[2:] == (20, 24)


def test_the_reader_reads_ranges_and_images(tmp_path):
    stack = (RNG.random((10, 2, 16, 18)) * 100).astype(np.float32)
    path = tmp_path / "s.zarr"
    zarr.create_array(store=str(path), data=stack, chunks=(3, 2, 16, 18))
    with open_reader(path) as reader:
        assert (reader.kind, reader.shape, reader.dtype) == ("zarr", stack.shape, stack.dtype)
        np.testing.assert_array_equal(reader.read(2, 7), stack[2:7])
        np.testing.assert_array_equal(reader.read(1, 2, axis=1), stack[:, 1:2])
        pieces = [p for _, _, p in reader.chunks(images=4)]
        np.testing.assert_array_equal(np.concatenate(pieces), stack)


@pytest.mark.parametrize("scope", ["image", "stack"])
@pytest.mark.parametrize("chunk", [1, 5, None])
def test_export_to_zarr_equals_the_in_memory_result(tmp_path, scope, chunk):
    stack = sample_stack()[:20]
    settings = ExportSettings(scope=scope, bins=80, method="skimage")
    name = f"out-{chunk}.zarr"
    steps = export_steps(stack, tmp_path / name, settings, chunk_images=chunk)
    for _ in steps:
        pass
    expected = convert(equalize(stack, "skimage", 80, scope), "same", np.uint8)
    np.testing.assert_array_equal(load_stack(tmp_path / name), expected)
    info = read_sidecar(tmp_path / name)
    assert info["format"] == "zarr" and info["output"] == name
    assert _listing(tmp_path) == [name, name + ".json"]


def test_export_from_zarr_equals_from_memory(tmp_path):
    stack = sample_stack()[:15]
    zarr.create_array(store=str(tmp_path / "in.zarr"), data=stack, chunks=(4, 1, 96, 96))
    with open_reader(tmp_path / "in.zarr") as reader:
        export(reader, tmp_path / "a.tif", ExportSettings(scope="stack"))
    export(stack, tmp_path / "b.tif", ExportSettings(scope="stack"))
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()


def test_zarr_output_is_atomic_and_replaced_only_with_overwrite(tmp_path):
    first = export(sample_stack()[:3], tmp_path / "o.zarr", ExportSettings(bins=5))
    with pytest.raises(StackError, match="exists; pass --overwrite"):
        export(sample_stack()[:3], tmp_path / "o.zarr", ExportSettings(bins=6))
    export(sample_stack()[:4], first, ExportSettings(bins=6), overwrite=True)
    assert load_stack(first).shape == (4, 1, 96, 96)
    assert read_sidecar(first)["bins"] == 6
    assert _listing(tmp_path) == ["o.zarr", "o.zarr.json"]


def test_a_folder_that_is_not_a_zarr_array_is_never_replaced(tmp_path):
    (tmp_path / "data.zarr").mkdir()
    (tmp_path / "data.zarr" / "notes.txt").write_text("mine")
    with pytest.raises(StackError, match="will not replace .* it is not a Zarr array"):
        export(sample_stack()[:2], tmp_path / "data.zarr", ExportSettings(), overwrite=True)
    assert _listing(tmp_path / "data.zarr") == ["notes.txt"]


def test_a_failed_verification_leaves_the_old_array(tmp_path, monkeypatch):
    export(sample_stack()[:3], tmp_path / "o.zarr", ExportSettings(bins=5))
    before = load_stack(tmp_path / "o.zarr")
    monkeypatch.setattr(writer, "digest", lambda data: object())
    with pytest.raises(StackError, match="does not read back as written"):
        export(sample_stack()[:3], tmp_path / "o.zarr", ExportSettings(bins=9), overwrite=True)
    monkeypatch.undo()
    np.testing.assert_array_equal(load_stack(tmp_path / "o.zarr"), before)
    assert _listing(tmp_path) == ["o.zarr", "o.zarr.json"]


def test_a_tampered_chunk_is_caught(tmp_path, monkeypatch):
    verify = ChunkWriter.verify

    def tamper_then_verify(self, progress=None):
        array = zarr.open_array(str(self.path), mode="r+")
        array[-1, 0, -1, -1] = array[-1, 0, -1, -1] ^ 1
        return verify(self, progress)
    monkeypatch.setattr(ChunkWriter, "verify", tamper_then_verify)
    with pytest.raises(StackError, match="images .* differ"):
        export(sample_stack()[:30], tmp_path / "o.zarr", ExportSettings())
    assert _listing(tmp_path) == []


def test_a_group_or_a_v2_store_is_refused_in_one_line(tmp_path):
    zarr.create_group(store=str(tmp_path / "g.zarr"))
    (tmp_path / "v2.zarr").mkdir()
    (tmp_path / "v2.zarr" / ".zarray").write_text(json.dumps({"zarr_format": 2}))
    for name in ("v2.zarr",):
        with pytest.raises(StackError, match="not a Zarr v3 array"):
            load_stack(tmp_path / name)
    with pytest.raises(StackError, match="cannot read .*g.zarr"):
        load_stack(tmp_path / "g.zarr")


def _hide_zarr(monkeypatch):
    for name in list(sys.modules):
        if name == "zarr" or name.startswith("zarr."):
            monkeypatch.delitem(sys.modules, name)
    real_import = builtins.__import__

    def no_zarr(name, *args, **kwargs):
        if name == "zarr" or name.startswith("zarr."):
            raise ModuleNotFoundError("No module named 'zarr'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_zarr)


def test_without_zarr_a_zarr_path_says_how_to_install_it(tmp_path, monkeypatch):
    zarr.create_array(store=str(tmp_path / "in.zarr"), data=np.zeros((2, 4, 4), np.uint8))
    _hide_zarr(monkeypatch)
    with pytest.raises(StackError) as excinfo:
        load_stack(tmp_path / "in.zarr")
    assert str(excinfo.value) == (f"cannot read '{tmp_path / 'in.zarr'}': Zarr arrays need the "
                                  "zarr package, version 3 or newer; install it with pip install "
                                  '"histeq-gui[zarr]"')
    with pytest.raises(StackError, match=r"cannot write .*out.zarr.*pip install "
                                         r"\"histeq-gui\[zarr\]\""):
        export_steps(np.zeros((2, 4, 4), np.uint8), tmp_path / "out.zarr", ExportSettings())
    assert _listing(tmp_path) == ["in.zarr"]


def test_the_cli_without_zarr_is_one_line(tmp_path, monkeypatch, capsys):
    from histeq_gui import cli

    np.save(tmp_path / "in.npy", np.zeros((2, 4, 4), np.uint8))
    _hide_zarr(monkeypatch)
    assert cli.main([str(tmp_path / "in.npy"), "-o", str(tmp_path / "o.zarr")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "histeq-gui[zarr]"' in err


def test_an_old_zarr_is_refused_too(monkeypatch):
    class Old:
        __version__ = "2.18.3"
    monkeypatch.setitem(sys.modules, "zarr", Old())
    with pytest.raises(StackError, match=r"found zarr 2.18.3, which reads Zarr v2 only"):
        zarr_store.zarr_module("x.zarr")
    assert sidecar_path("x.zarr").name == "x.zarr.json"


# --- damage: missing and corrupted chunks, checksums; writes that outlive an error ---------

def _chunk_files(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()
                  and p.name != "zarr.json")


def test_outputs_carry_a_checksum_and_every_chunk(tmp_path, monkeypatch):
    """A stack of zeros (the fill value): Zarr would write no chunk at all."""
    monkeypatch.setattr(zarr_store, "_CHUNK_BYTES", 96 * 96)       # one image a Zarr chunk
    save_stack(tmp_path / "z.zarr", np.zeros((5, 96, 96), np.uint8))
    array = zarr.open_array(tmp_path / "z.zarr", mode="r")
    assert [type(codec).__name__ for codec in array.compressors] == ["ZstdCodec", "Crc32cCodec"]
    assert _chunk_files(tmp_path / "z.zarr") == [f"c/{i}/0/0" for i in range(5)]


def test_a_missing_input_chunk_is_one_line(tmp_path):
    stack = sample_stack()[:12]
    zarr.create_array(store=str(tmp_path / "in.zarr"), data=stack, chunks=(4, 1, 96, 96))
    (tmp_path / "in.zarr" / "c" / "1" / "0" / "0" / "0").unlink()         # images 4:8
    with open_reader(tmp_path / "in.zarr") as reader:
        np.testing.assert_array_equal(reader.read(0, 4), stack[:4])        # the others read
        with pytest.raises(StackError) as excinfo:
            export(reader, tmp_path / "out.npy", ExportSettings())
    message = str(excinfo.value)
    assert message.startswith(f"cannot read '{tmp_path / 'in.zarr'}': its chunk 'c/1/0/0/0' "
                              "(of images ") and "is missing" in message and "\n" not in message
    assert _listing(tmp_path) == ["in.zarr"]


def test_a_bit_flip_in_our_own_output_is_caught(tmp_path):
    out = export(sample_stack()[:8], tmp_path / "o.zarr", ExportSettings())
    chunk = next(p for p in (out / "c").rglob("*") if p.is_file())
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x10
    chunk.write_bytes(bytes(data))
    with pytest.raises(StackError, match=r"cannot read '.*o.zarr': a chunk of images 0:8 along "
                                         r"axis 0 is damaged \(its CRC-32C checksum does not "
                                         r"match\)"), open_reader(out) as reader:
        export(reader, tmp_path / "again.npy", ExportSettings())


def test_no_write_outlives_a_failed_zarr_export(tmp_path, monkeypatch):
    """No space left at one chunk: Zarr went on writing the others into the removed folder."""
    import errno
    import threading
    import time

    from zarr.storage import _local

    put, state = _local._put, {"running": 0, "most": 0, "calls": 0}
    lock = threading.Lock()

    def slow_put(path, value, exclusive=False):
        with lock:
            state["calls"] += 1
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
            calls = state["calls"]
        try:
            time.sleep(0.02)                                # a slow disk
            if calls == 4 and "/c/" in str(path):
                raise OSError(errno.ENOSPC, "No space left on device")
            return put(path, value, exclusive)
        finally:
            with lock:
                state["running"] -= 1

    monkeypatch.setattr(_local, "_put", slow_put)
    monkeypatch.setattr(zarr_store, "_CHUNK_BYTES", 96 * 96)       # one image a Zarr chunk
    with pytest.raises(StackError, match="no space left on the device") as excinfo:
        export(sample_stack()[:40], tmp_path / "o.zarr", ExportSettings())
    assert state["running"] == 0, excinfo.value        # nothing still writing when it returned
    assert state["most"] == 1                           # one chunk at a time
    assert _listing(tmp_path) == []


_SLOW_ZARR = '''
import sys, time
from zarr.storage import _local
from histeq_gui import cli
from histeq_gui.core.io import zarr_store

zarr_store._CHUNK_BYTES = 96 * 96           # one image a Zarr chunk
put = _local._put
def slow_put(path, value, exclusive=False):
    if "/c/" in str(path):
        print("busy", flush=True)
        time.sleep(0.05)                    # a slow disk
    return put(path, value, exclusive)
_local._put = slow_put
sys.exit(cli.main(sys.argv[1:]))
'''


@pytest.mark.skipif(os.name != "posix", reason="sends signals")
@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_a_signal_during_a_dask_export_to_zarr_leaves_nothing(tmp_path, signum):
    import signal
    import subprocess

    pytest.importorskip("dask")
    np.save(tmp_path / "in.npy", sample_stack()[:200])
    (tmp_path / "keep").mkdir()
    process = subprocess.Popen([sys.executable, "-c", _SLOW_ZARR, tmp_path / "in.npy", "-o",
                                tmp_path / "keep" / "out.zarr", "--engine", "dask"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "busy\n"        # writing chunks
        process.send_signal(getattr(signal, signum))
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == (143 if signum == "SIGTERM" else 130), err
    assert _listing(tmp_path / "keep") == []
