"""Tests of histeq_gui.core.export: the one export pipeline of the CLI and the viewer."""

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from throwaway_methods import registered as _power

import histeq_gui
from histeq_gui.core import export as export_module
from histeq_gui.core import io
from histeq_gui.core.equalize import equalize
from histeq_gui.core.errors import Cancelled, StackError
from histeq_gui.core.export import (
    OUTPUT_DTYPES,
    ExportSettings,
    check_target,
    convert,
    export,
    export_steps,
    output_dtype,
)
from histeq_gui.core.io import load_stack, read_sidecar, save_stack, sidecar, sidecar_path, writer
from histeq_gui.core.methods import METHODS, get_method
from histeq_gui.core.stack import guess_layout

RNG = np.random.default_rng(20240601)
TARGETS = ["out.npy", "out.npz", "out.tif", "frames"]


def _gray(n=30, dtype="uint8", shape=(12, 10)):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return RNG.random((n, 1) + shape).astype(dtype)
    return RNG.integers(0, 200, (n, 1) + shape).astype(dtype)


def _colour(n=6):
    return RNG.integers(0, 256, (n, 12, 14, 3)).astype(np.uint8)


def _listing(folder):
    return sorted(os.listdir(folder))


def _snapshot(path):
    path = Path(path)
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir())}
    return path.read_bytes()


def _run_steps(steps):
    """Drain a generator of steps; return (steps, returned value)."""
    seen = []
    while True:
        try:
            seen.append(next(steps))
        except StopIteration as stop:
            return seen, stop.value


# --- round trips ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("scope", ["image", "stack"])
def test_gray_n1hw_round_trip(tmp_path, name, scope):
    stack = _gray()
    settings = ExportSettings(method="numpy", bins=64, scope=scope)
    out = export(stack, tmp_path / name, settings)
    assert out == tmp_path / name
    expected = convert(equalize(stack, "numpy", 64, scope), "same", stack.dtype)
    back = load_stack(out)
    assert back.dtype == np.uint8
    if name == "frames":
        assert back.shape == (30, 12, 10)           # one grayscale PNG per image
        assert len(os.listdir(out)) == 30
    else:
        assert back.shape == (30, 1, 12, 10)        # the layout is kept
    np.testing.assert_array_equal(back.reshape(expected.shape), expected)
    assert _listing(tmp_path) == sorted([name, name + ".json"])


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float64"])
@pytest.mark.parametrize("method", [m for m in METHODS if "stack" in get_method(m).scopes])
def test_stack_scope_equals_equalize_stack_scope(tmp_path, dtype, method):
    stack = _gray(20, dtype)
    if stack.dtype.kind == "f":
        stack[3, 0, 2, 2] = np.nan
    settings = ExportSettings(method=method, bins=100, scope="stack", dtype="float64")
    out = export(stack, tmp_path / "s.npy", settings)
    expected = equalize(stack, method, 100, "stack")
    back = load_stack(out)
    assert back.dtype == np.float64
    assert np.isnan(back).sum() == np.isnan(stack).sum()
    np.testing.assert_array_equal(back, expected)      # NaN positions equal too


@pytest.mark.parametrize("scope", ["image", "stack"])
@pytest.mark.parametrize("name", ["c.npy", "c.tif", "frames"])
def test_colour_channels_last_round_trip(tmp_path, scope, name):
    stack = _colour()
    out = export(stack, tmp_path / name, ExportSettings(scope=scope, bins=32))
    expected = convert(equalize(stack, "numpy", 32, scope, channel_axis=-1), "same", np.uint8)
    back = load_stack(out)
    assert back.shape == stack.shape
    np.testing.assert_array_equal(back, expected)
    if name == "frames":
        assert len(os.listdir(out)) == 6            # one RGB PNG per image
    assert read_sidecar(out)["channel_axis"] == 3


def test_colour_is_equalized_per_channel_not_as_gray(tmp_path):
    stack = _colour()
    as_colour = export(stack, tmp_path / "c.npy", ExportSettings())
    as_gray = export(stack, tmp_path / "g.npy", ExportSettings(channel_axis=None))
    assert not np.array_equal(load_stack(as_colour), load_stack(as_gray))
    np.testing.assert_array_equal(
        load_stack(as_gray), convert(equalize(stack, channel_axis=None), "same", np.uint8))


@pytest.mark.parametrize("scope", ["image", "stack"])
def test_explicit_channel_axis(tmp_path, scope):
    stack = RNG.integers(0, 1000, (5, 3, 9, 11)).astype(np.uint16)
    settings = ExportSettings(scope=scope, channel_axis=1, dtype="float64")
    back = load_stack(export(stack, tmp_path / "x.tif", settings))
    np.testing.assert_array_equal(back, equalize(stack, scope=scope, channel_axis=1))


def test_single_image(tmp_path):
    image = RNG.integers(0, 256, (20, 30)).astype(np.uint8)
    out = export(image, tmp_path / "one.tif", ExportSettings(bins=16))
    np.testing.assert_array_equal(load_stack(out),
                                  convert(equalize(image, bins=16), "same", np.uint8))


def test_output_dtypes(tmp_path):
    stack = _gray(8, "uint16")
    values = equalize(stack)
    for dtype in OUTPUT_DTYPES:
        back = load_stack(export(stack, tmp_path / f"{dtype}.npy", ExportSettings(dtype=dtype)))
        assert back.dtype == output_dtype(dtype, np.uint16)
        np.testing.assert_array_equal(back, convert(values, dtype, np.uint16))


@pytest.mark.parametrize("scope", ["image", "stack"])
@pytest.mark.parametrize("name", ["c.npy", "c.tif", "frames"])
def test_chunking_gives_the_same_bytes(tmp_path, scope, name):
    stack = _gray(30)
    settings = ExportSettings(scope=scope, bins=50)
    (tmp_path / "one").mkdir()
    (tmp_path / "seven").mkdir()
    steps, one = _run_steps(export_steps(stack, tmp_path / "one" / name, settings,
                                         chunk_images=30))
    chunked_steps, seven = _run_steps(export_steps(stack, tmp_path / "seven" / name, settings,
                                                   chunk_images=7))
    assert _snapshot(one) == _snapshot(seven)
    assert [s for s in steps if s[0] == "equalize"] == [("equalize", 0, 30), ("equalize", 30, 30)]
    assert [s[1] for s in chunked_steps if s[0] == "equalize"] == [0, 7, 14, 21, 28, 30]


def test_chunks_along_the_first_long_batch_axis(tmp_path):
    stack = RNG.integers(0, 256, (1, 9, 8, 8)).astype(np.uint8)    # (1, N, H, W)
    steps, out = _run_steps(export_steps(stack, tmp_path / "a.npy", ExportSettings(),
                                         chunk_images=4))
    assert [s[1] for s in steps if s[0] == "equalize"] == [0, 4, 8, 9]
    np.testing.assert_array_equal(load_stack(out), convert(equalize(stack), "same", np.uint8))


def test_cli_and_api_write_the_same_bytes(tmp_path):
    stack = _gray(12, "float32")
    settings = ExportSettings(method="skimage", bins=77, scope="stack", dtype="uint16")
    a = export(stack, tmp_path / "a.tif", settings)
    _, b = _run_steps(export_steps(stack, tmp_path / "b.tif", settings, chunk_images=5))
    assert a.read_bytes() == b.read_bytes()


# --- progress ------------------------------------------------------------------------------

def test_progress_stages_in_order_and_monotone(tmp_path):
    stack = _gray(30)
    seen = []
    export(stack, tmp_path / "a.tif", ExportSettings(scope="stack"),
           progress=lambda *step: seen.append(step))
    stages = [s for s, _, _ in seen]
    assert stages == sorted(stages, key=["histogram", "equalize", "write"].index)
    assert set(stages) == {"histogram", "equalize", "write"}
    for stage in ("histogram", "equalize", "write"):
        done = [d for s, d, t in seen if s == stage]
        totals = {t for s, d, t in seen if s == stage}
        assert done == sorted(done) and len(totals) == 1 and done[-1] == totals.pop()


def test_image_scope_has_no_histogram_stage(tmp_path):
    steps, _ = _run_steps(export_steps(_gray(4), tmp_path / "a.npy", ExportSettings()))
    assert {s for s, _, _ in steps} == {"equalize", "write"}


def test_yield_from_returns_the_path(tmp_path):
    def outer():
        return (yield from export_steps(_gray(3), tmp_path / "a.npz", ExportSettings()))
    assert _run_steps(outer())[1] == tmp_path / "a.npz"


# --- sidecar -------------------------------------------------------------------------------

def test_sidecar_says_how_the_output_was_made(tmp_path):
    stack = _gray(5)
    source = tmp_path / "in.npy"
    save_stack(source, stack)
    loaded = load_stack(source)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    settings = ExportSettings(method="skimage", bins=64, scope="stack", dtype="float32")
    out = export(loaded, tmp_path / "out.tif", settings, source=source)
    info = json.loads(sidecar_path(out).read_text())
    assert sidecar_path(out) == tmp_path / "out.tif.json"
    created = datetime.fromisoformat(info.pop("created"))
    assert created.utcoffset().total_seconds() == 0
    assert before <= created <= datetime.now(timezone.utc)
    assert info == {
        "program": "histeq-gui",
        "version": histeq_gui.__version__,
        "source": str(source.absolute()),
        "output": "out.tif",
        "format": "tif",
        "shape": [5, 1, 12, 10],
        "input_dtype": "uint8",
        "output_dtype": "float32",
        "method": "skimage",
        "bins": 64,
        "bins_ignored": True,       # scikit-image bins integers one value per bin
        "params": {"bins": 64},     # every parameter of the method, as resolved
        "scope": "stack",
        "region": None,             # every pixel made the histograms
        "channel_axis": None,
        "engine": "local",
    }


def test_sidecar_without_source_and_bins_used(tmp_path):
    out = export(_gray(3, "float32"), tmp_path / "frames", ExportSettings(dtype="uint8"))
    info = read_sidecar(out)
    assert sidecar_path(out) == tmp_path / "frames.json"
    assert info["source"] is None
    assert info["bins_ignored"] is False
    assert info["format"] == "png-folder"
    assert (info["input_dtype"], info["output_dtype"]) == ("float32", "uint8")


# --- convert -------------------------------------------------------------------------------

def test_convert_uint8_rounds_half_to_even():
    values = np.array([0.0, 0.5 / 255, 1.5 / 255, 2.5 / 255, 0.5, 254.5 / 255, 1.0])
    # 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 127.5 -> 128, 254.5 -> 254 (np.rint)
    expected = np.rint(255 * values).astype(np.uint8)
    out = convert(values, "uint8", np.float64)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    assert out[0] == 0 and out[-1] == 255 and out[4] == 128


def test_convert_same_keeps_integer_dtypes_full_range():
    values = np.array([0.0, 0.25, 0.5, 1.0, np.nan])
    out8 = convert(values, "same", np.uint8)
    assert out8.dtype == np.uint8 and out8.tolist() == [0, 64, 128, 255, 0]
    out16 = convert(values, "same", np.uint16)
    assert out16.dtype == np.uint16 and out16.tolist() == [0, 16384, 32768, 65535, 0]
    assert convert(values, "uint16", np.uint8).tolist() == [0, 16384, 32768, 65535, 0]


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint32", "uint64"])
def test_convert_same_for_other_integers(dtype):
    info = np.iinfo(dtype)
    values = np.array([0.0, 0.5, 1.0, np.nan, 1e-3])
    out = convert(values, "same", dtype)
    assert out.dtype == np.dtype(dtype)
    assert out[0] == info.min and out[2] == info.max
    assert out[3] == info.min                       # NaN -> the dtype's minimum
    span = float(info.max) - float(info.min)
    for v, got in zip(values[[1, 4]], out[[1, 4]]):
        want = float(info.min) + np.rint(v * span)
        assert abs(int(got) - want) <= span * 2 ** -52 + 1


def test_convert_signed_rule_exactly():
    values = np.linspace(0, 1, 1001)
    out = convert(values, "same", np.int16)
    np.testing.assert_array_equal(out, (-32768 + np.rint(values * 65535)).astype(np.int16))
    assert convert([0.5], "same", np.int8).tolist() == [0]      # -128 + rint(127.5) = 0


def test_convert_clips_out_of_range_values():
    assert convert([-0.5, 1.5], "uint8", np.uint8).tolist() == [0, 255]
    assert convert([-0.5, 1.5], "same", np.int8).tolist() == [-128, 127]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_convert_same_keeps_float_dtypes(dtype):
    values = np.array([0.0, 1 / 3, 1.0, np.nan])
    out = convert(values, "same", dtype)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, values.astype(dtype))
    assert np.isnan(out[3])


def test_convert_float64_is_exactly_the_api_values():
    values = equalize(_gray(3, "float32"))
    out = convert(values, "float64", np.float32)
    assert out.dtype == np.float64
    assert out.tobytes() == values.tobytes()
    assert np.isnan(convert([np.nan], "float32", np.uint8)[0])


def test_convert_same_uses_native_byte_order():
    out = convert([0.0, 1.0], "same", ">u2")
    assert out.dtype == np.dtype("=u2") and out.tolist() == [0, 65535]


def test_convert_is_monotone():
    values = np.sort(RNG.random(10_000))
    for dtype in ("uint8", "uint16", "float32"):
        assert (np.diff(convert(values, dtype, np.uint8).astype(np.float64)) >= 0).all()


def test_convert_refuses_bad_names():
    with pytest.raises(ValueError, match="unknown output dtype 'int7'; choose one of"):
        convert([0.5], "int7", np.uint8)
    with pytest.raises(ValueError, match="choose uint8, uint16, float32 or float64"):
        convert([0.5], "same", bool)


# --- settings and validation before computing ----------------------------------------------

@pytest.mark.parametrize("fields,match", [
    ({"method": "opencv2"}, "unknown method 'opencv2'"),
    ({"bins": 0}, "at least 1"),
    ({"bins": 2.5}, "whole number"),
    ({"scope": "all"}, "unknown scope 'all'"),
    ({"dtype": "int8"}, "unknown output dtype 'int8'"),
    ({"channel_axis": "last"}, "channel_axis must be 'auto', None or an axis number"),
    ({"channel_axis": True}, "channel_axis must be"),
])
def test_settings_validate(fields, match):
    settings = ExportSettings(**fields)
    with pytest.raises(ValueError, match=match) as excinfo:
        settings.validate()
    assert "\n" not in str(excinfo.value)


def test_valid_settings_validate_to_themselves():
    settings = ExportSettings(method="skimage", bins=3, scope="stack", dtype="uint16",
                              channel_axis=-1)
    assert settings.validate() is settings
    assert ExportSettings().validate() == ExportSettings("numpy", 256, "image", "same", "auto")


def _refuse_computing(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("computed before validating")
    monkeypatch.setattr(export_module, "stack_params", boom)
    monkeypatch.setattr(export_module, "equalize_piece", boom)
    monkeypatch.setattr(export_module.fit, "fit_each", boom)


@pytest.mark.parametrize("make,match", [
    (lambda p: (_gray(2), p / "x.npy", ExportSettings(bins=-1)), "at least 1"),
    (lambda p: (_gray(2), p / "x.jpg", ExportSettings()), "unsupported output type"),
    (lambda p: (_gray(2), p / "x.png", ExportSettings()), "a .png file holds one image, not 2"),
    (lambda p: (_gray(2, "float32"), p / "frames", ExportSettings()), "PNG files hold only"),
    (lambda p: (_gray(2, "uint16"), p / "frames", ExportSettings(dtype="float32")),
     "choose --dtype uint8 or uint16"),
    (lambda p: (_colour(2).astype(np.uint16), p / "frames", ExportSettings()),
     "only for grayscale"),
    (lambda p: (_gray(2), p / "missing" / "x.npy", ExportSettings()), "does not exist"),
    (lambda p: (_gray(2), p / "x.npy", ExportSettings(channel_axis=7)), "out of range"),
    (lambda p: (np.zeros((3, 4, 4), bool), p / "x.npy", ExportSettings()), "boolean"),
    (lambda p: (np.zeros((0, 4, 4)), p / "x.npy", ExportSettings()), "no pixels"),
])
def test_invalid_exports_fail_when_called(tmp_path, monkeypatch, make, match):
    _refuse_computing(monkeypatch)
    images, output, settings = make(tmp_path)
    with pytest.raises(ValueError, match=match) as excinfo:
        export_steps(images, output, settings)      # raises before a generator exists
    assert "\n" not in str(excinfo.value)
    assert _listing(tmp_path) == []


def test_existing_output_is_refused_without_overwrite(tmp_path, monkeypatch):
    save_stack(tmp_path / "x.npy", _gray(2))
    before = _snapshot(tmp_path / "x.npy")
    _refuse_computing(monkeypatch)
    with pytest.raises(StackError, match="exists; pass --overwrite"):
        export_steps(_gray(2), tmp_path / "x.npy", ExportSettings())
    assert _snapshot(tmp_path / "x.npy") == before


@pytest.mark.parametrize("name", TARGETS)
def test_overwrite_replaces_output_and_sidecar(tmp_path, name):
    first = export(_gray(4), tmp_path / name, ExportSettings(bins=8))
    stack = _gray(3)
    export(stack, tmp_path / name, ExportSettings(bins=16), overwrite=True)
    back = load_stack(first)
    np.testing.assert_array_equal(back.reshape(3, 1, 12, 10),
                                  convert(equalize(stack, bins=16), "same", np.uint8))
    assert read_sidecar(first)["bins"] == 16
    assert _listing(tmp_path) == sorted([name, name + ".json"])


def test_writing_onto_the_source_is_refused_even_with_overwrite(tmp_path):
    source = tmp_path / "in.npy"
    save_stack(source, _gray(3))
    before = source.read_bytes()
    (tmp_path / "link.npy").symlink_to(source)
    os.link(source, tmp_path / "hard.npy")
    loaded = load_stack(source)
    for output, given in [(source, source), (tmp_path / "link.npy", source),
                          (source, tmp_path / "link.npy"), (tmp_path / "hard.npy", source),
                          (tmp_path / "sub" / ".." / "in.npy", source),
                          (source, None)]:      # None: the memmap knows its file
        with pytest.raises(StackError, match="it is the input"):
            export_steps(loaded, output, ExportSettings(), source=given, overwrite=True)
    assert source.read_bytes() == before


def test_output_folder_holding_the_source_is_refused(tmp_path):
    (tmp_path / "frames").mkdir()
    source = tmp_path / "frames" / "00000.png"
    io.save_stack(tmp_path / "tmpframes", _gray(1)[:, 0])
    os.replace(tmp_path / "tmpframes" / "00000.png", source)
    with pytest.raises(StackError, match="it is the input"):
        check_target(tmp_path / "frames", source=source, overwrite=True)


def test_check_target(tmp_path):
    assert check_target(tmp_path / "a.tiff") == "tif"
    assert check_target(tmp_path / "frames") == "png-folder"
    save_stack(tmp_path / "a.npy", _gray(1))
    with pytest.raises(StackError, match="exists"):
        check_target(tmp_path / "a.npy")
    assert check_target(tmp_path / "a.npy", overwrite=True) == "npy"
    assert _listing(tmp_path) == ["a.npy"]


def test_data_the_settings_cannot_handle_is_a_stack_error(tmp_path):
    stack = np.full((2, 8, 8), 1.0, np.float32)
    stack[:, 0, 0] = np.nextafter(np.float32(1), np.float32(2))     # a range of one ulp
    with pytest.raises(StackError, match="cannot equalize the stack: too many bins"):
        export(stack, tmp_path / "x.npy", ExportSettings(bins=1000))
    assert _listing(tmp_path) == []


def test_input_memmap_is_never_modified(tmp_path):
    source = tmp_path / "in.npy"
    save_stack(source, _gray(10))
    os.utime(source, (1_000_000_000, 1_000_000_000))
    before = source.read_bytes()
    loaded = load_stack(source)
    for scope in ("image", "stack"):
        export(loaded, tmp_path / f"{scope}.npy", ExportSettings(scope=scope), source=source)
    del loaded
    assert source.read_bytes() == before
    assert source.stat().st_mtime == 1_000_000_000


# --- cancel and failure: nothing remains ---------------------------------------------------

def _existing(tmp_path, name):
    export(_gray(2, shape=(6, 6)), tmp_path / name, ExportSettings(bins=4))
    return _snapshot(tmp_path / name), _snapshot(sidecar_path(tmp_path / name))


def _unchanged_or_absent(tmp_path, name, existing):
    if existing:
        assert _snapshot(tmp_path / name) == existing[0]
        assert _snapshot(sidecar_path(tmp_path / name)) == existing[1]
        assert _listing(tmp_path) == sorted([name, name + ".json"])
    else:
        assert _listing(tmp_path) == []


@pytest.mark.parametrize("stage,count", [("histogram", 1), ("equalize", 1), ("equalize", 3),
                                         ("write", 1), ("write", "last")])
@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("exists", [False, True])
def test_closing_the_generator_leaves_nothing(tmp_path, stage, count, name, exists):
    existing = _existing(tmp_path, name) if exists else None
    steps = export_steps(_gray(30), tmp_path / name, ExportSettings(scope="stack"),
                         overwrite=exists, chunk_images=4)
    seen = 0
    for current, done, total in steps:
        seen += current == stage
        if seen == count or (count == "last" and current == stage and done == total):
            break
    else:
        pytest.fail(f"no step {count} of stage {stage}")
    if count == "last":     # written and verified, not yet moved into place
        assert any("-tmp-" in entry for entry in _listing(tmp_path))
    steps.close()
    _unchanged_or_absent(tmp_path, name, existing)


@pytest.mark.parametrize("stage", ["histogram", "equalize", "write"])
@pytest.mark.parametrize("exc", [Cancelled, KeyboardInterrupt])
@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("exists", [False, True])
def test_progress_raising_stops_and_leaves_nothing(tmp_path, stage, exc, name, exists):
    existing = _existing(tmp_path, name) if exists else None

    def progress(current, done, total):
        if current == stage and done > 0:
            raise exc()

    with pytest.raises(exc):
        export(_gray(30), tmp_path / name, ExportSettings(scope="stack"), overwrite=exists,
               progress=progress)
    _unchanged_or_absent(tmp_path, name, existing)


@pytest.mark.parametrize("name", TARGETS)
def test_failed_verification_leaves_nothing(tmp_path, name, monkeypatch):
    existing = _existing(tmp_path, name)
    monkeypatch.setattr(writer, "digest", lambda data: object())      # never equal
    with pytest.raises(StackError, match="does not read back as written"):
        export(_gray(5), tmp_path / name, ExportSettings(), overwrite=True)
    _unchanged_or_absent(tmp_path, name, existing)


def test_failed_sidecar_leaves_nothing(tmp_path, monkeypatch):
    existing = _existing(tmp_path, "out.npy")

    def fail(*args, **kwargs):
        raise StackError("cannot write the sidecar; test")
    monkeypatch.setattr(sidecar, "write_json", fail)
    with pytest.raises(StackError, match="sidecar"):
        export(_gray(5), tmp_path / "out.npy", ExportSettings(), overwrite=True)
    _unchanged_or_absent(tmp_path, "out.npy", existing)


@pytest.mark.parametrize("name", TARGETS)
def test_failed_commit_restores_the_old_output(tmp_path, name, monkeypatch):
    existing = _existing(tmp_path, name)
    replace = os.replace

    moved = []

    def failing_replace(src, dst):
        if Path(dst) == sidecar_path(tmp_path / name):     # the last move of the commit
            raise OSError(28, "No space left on device")
        moved.append(Path(dst).name)
        return replace(src, dst)
    monkeypatch.setattr(export_module.os, "replace", failing_replace)
    with pytest.raises(StackError, match="no space left on the device; free some space"):
        export(_gray(5), tmp_path / name, ExportSettings(), overwrite=True)
    monkeypatch.undo()
    assert name in moved        # the new output was in place before the sidecar failed
    _unchanged_or_absent(tmp_path, name, existing)


def test_output_created_meanwhile_is_not_replaced(tmp_path):
    steps = export_steps(_gray(5), tmp_path / "out.npy", ExportSettings())
    next(steps)
    save_stack(tmp_path / "out.npy", _gray(1))
    before = _snapshot(tmp_path / "out.npy")
    with pytest.raises(StackError, match="exists; pass --overwrite"):
        _run_steps(steps)
    assert _snapshot(tmp_path / "out.npy") == before
    assert _listing(tmp_path) == ["out.npy"]


def test_a_sidecar_left_without_its_output_is_replaced(tmp_path):
    sidecar_path(tmp_path / "out.npy").write_text(
        '{"program": "histeq-gui", "output": "out.npy", "bins": 3}')     # ours, left over
    export(_gray(2), tmp_path / "out.npy", ExportSettings(bins=5))
    assert read_sidecar(tmp_path / "out.npy")["bins"] == 5
    assert _listing(tmp_path) == ["out.npy", "out.npy.json"]


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "uint32", "int64", "float16",
                                   ">u2", ">f4"])
def test_dtype_same_keeps_every_input_dtype(tmp_path, dtype):
    rng = np.random.default_rng(4)
    stack = (rng.random((6, 1, 20, 24)) * 100).astype(dtype)
    out = export(stack, tmp_path / "out.npy", ExportSettings())
    written = load_stack(out)
    native = np.dtype(dtype).newbyteorder("=")
    assert written.dtype == native and written.shape == stack.shape
    np.testing.assert_array_equal(written, convert(equalize(stack), "same", stack.dtype))


def test_an_output_inside_an_input_folder_is_refused(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        save_stack(folder / f"{i}.tif", np.full((20, 24), i * 50, np.uint8))
    stack = load_stack(folder)
    with pytest.raises(StackError, match="input"):
        export_steps(stack, folder / "eq.tif", ExportSettings(), source=folder)
    with pytest.raises(StackError, match="input"):
        check_target(folder / "eq.tif", source=folder)
    assert sorted(p.name for p in folder.iterdir()) == ["0.tif", "1.tif", "2.tif"]


# --- the sidecar never replaces a file the program did not write --------------------------

def _foreign(path, text='{"my": "own data"}\n'):
    path.write_text(text)
    return path.read_bytes()


@pytest.mark.parametrize("name", ["data", "res.npy", "res.tif"])
@pytest.mark.parametrize("text", ['{"my": "own data"}\n', "not json at all\n",
                                  '{"program": "histeq-gui"}\n', "[1, 2]\n"])
def test_an_unrelated_sidecar_name_is_never_replaced_without_overwrite(tmp_path, name, text):
    before = _foreign(sidecar_path(tmp_path / name), text)
    with pytest.raises(StackError, match=r"\.json' exists and was not written by histeq-gui "
                                         r"for .*; pass --overwrite"):
        check_target(tmp_path / name)
    with pytest.raises(StackError, match="was not written by histeq-gui"):
        export_steps(_gray(3), tmp_path / name, ExportSettings())
    assert sidecar_path(tmp_path / name).read_bytes() == before
    assert _listing(tmp_path) == [sidecar_path(tmp_path / name).name]


def test_overwrite_replaces_an_unrelated_sidecar(tmp_path):
    _foreign(tmp_path / "data.json")
    export(_gray(3), tmp_path / "data", ExportSettings(bins=9), overwrite=True)
    assert read_sidecar(tmp_path / "data")["bins"] == 9


def test_a_sidecar_of_another_output_is_not_ours(tmp_path):
    export(_gray(2), tmp_path / "a.npy", ExportSettings())
    os.replace(sidecar_path(tmp_path / "a.npy"), sidecar_path(tmp_path / "b.npy"))
    before = sidecar_path(tmp_path / "b.npy").read_bytes()
    with pytest.raises(StackError, match="not written by histeq-gui for 'b.npy'"):
        export(_gray(2), tmp_path / "b.npy", ExportSettings())
    assert sidecar_path(tmp_path / "b.npy").read_bytes() == before
    assert _listing(tmp_path) == ["a.npy", "b.npy.json"]


def test_a_sidecar_name_that_is_not_a_regular_file_is_refused(tmp_path):
    os.mkfifo(sidecar_path(tmp_path / "out.npy"))       # reading it would hang
    with pytest.raises(StackError, match="was not written by histeq-gui"):
        export(_gray(2), tmp_path / "out.npy", ExportSettings())
    (tmp_path / "big.npy.json").write_bytes(b'{"program": "histeq-gui", "output": "big.npy"'
                                            + b" " * (2 << 20) + b"}")
    with pytest.raises(StackError, match="was not written by histeq-gui"):
        export(_gray(2), tmp_path / "big.npy", ExportSettings())
    assert _listing(tmp_path) == ["big.npy.json", "out.npy.json"]


def test_an_unrelated_sidecar_created_during_the_export_is_not_replaced(tmp_path):
    steps = export_steps(_gray(5), tmp_path / "out.npy", ExportSettings())
    next(steps)
    before = _foreign(sidecar_path(tmp_path / "out.npy"))
    with pytest.raises(StackError, match="was not written by histeq-gui"):
        _run_steps(steps)
    assert sidecar_path(tmp_path / "out.npy").read_bytes() == before
    assert _listing(tmp_path) == ["out.npy.json"]


def test_our_own_sidecar_is_replaced_with_the_output(tmp_path):
    export(_gray(2), tmp_path / "out.npy", ExportSettings(bins=5))
    os.unlink(tmp_path / "out.npy")             # the user removed the output, not the sidecar
    export(_gray(2), tmp_path / "out.npy", ExportSettings(bins=6))
    assert read_sidecar(tmp_path / "out.npy")["bins"] == 6


# --- a stack mapped from a .npy file is read with file reads --------------------------------

@pytest.mark.parametrize("scope", ["image", "stack"])
@pytest.mark.parametrize("shape,axis", [((9, 1, 12, 10), "auto"), ((5, 3, 12, 10), 1),
                                        ((3, 12, 10, 4), "auto"), ((12, 10), None)])
@pytest.mark.parametrize("fortran", [False, True])
def test_a_mapped_stack_exports_the_same_bytes_as_in_memory(tmp_path, scope, shape, axis,
                                                             fortran):
    stack = RNG.integers(0, 256, shape).astype(np.uint8)
    np.save(tmp_path / "in.npy", np.asfortranarray(stack) if fortran else stack)
    mapped = load_stack(tmp_path / "in.npy")
    assert isinstance(mapped, np.memmap)
    settings = ExportSettings(scope=scope, channel_axis=axis)
    export(mapped, tmp_path / "a.npy", settings)
    export(np.array(stack), tmp_path / "b.npy", settings)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()


def test_a_mapped_file_replaced_since_loading_is_refused(tmp_path):
    np.save(tmp_path / "in.npy", _gray(4))
    mapped = load_stack(tmp_path / "in.npy")
    np.save(tmp_path / "new.npy", _gray(4))
    os.replace(tmp_path / "new.npy", tmp_path / "in.npy")
    with pytest.raises(StackError, match="changed during the export .it was replaced"):
        export(mapped, tmp_path / "out.npy", ExportSettings())
    assert _listing(tmp_path) == ["in.npy"]


_TRUNCATE = '''
import os, sys
from histeq_gui.core import export
from histeq_gui import cli

source = sys.argv[1]
export._CHUNK_VALUES = 64 * 64          # one image per chunk
read_piece, calls = export.read_piece, []
def read_then_cut(*args):
    calls.append(1)
    if len(calls) == 2:                 # the input is cut while the export runs
        os.truncate(source, 4096)
    return read_piece(*args)
export.read_piece = read_then_cut
sys.exit(cli.main(sys.argv[1:]))
'''


@pytest.mark.parametrize("scope", ["image", "stack"])
def test_an_input_cut_during_the_export_is_one_line_not_sigbus(tmp_path, scope):
    import subprocess
    import sys

    source = tmp_path / "in.npy"
    np.save(source, RNG.integers(0, 256, (40, 64, 64)).astype(np.uint8))
    repo = Path(histeq_gui.__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(repo))
    result = subprocess.run([sys.executable, "-c", _TRUNCATE, source, "-o", tmp_path / "out.tif",
                             "--scope", scope], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.stderr == (f"histeq: error: cannot read '{source}': the file changed during "
                             "the export (it is now 4096 bytes, 163968 expected); export again "
                             "once it is complete\n")
    assert _listing(tmp_path) == ["in.npy"]


@pytest.mark.parametrize("name", TARGETS)
def test_an_export_whose_last_chunk_reads_back_wrong_writes_nothing(tmp_path, name, monkeypatch):
    """The read-back returns the right shape and first chunks, and a wrong last chunk."""
    from histeq_gui.core.io import files, folders
    from histeq_gui.core.io.npy import NpyReader, NpzReader
    from histeq_gui.core.io.tiff import TiffReader

    monkeypatch.setattr(files, "PIECE_BYTES", 12 * 10)       # one image per chunk
    monkeypatch.setattr(export_module, "_CHUNK_VALUES", 12 * 10)
    existing = _existing(tmp_path, name)

    def wrong_last(array):
        array = np.array(array)
        array.reshape(-1)[-1] ^= 1
        return array
    if name.endswith((".npy", ".npz")):
        reader = NpyReader if name.endswith(".npy") else NpzReader
        rows = reader._read_rows

        def read_rows(self, r0, r1, out):
            rows(self, r0, r1, out)
            if r1 * self.dtype.itemsize == self.nbytes:
                out[...] = wrong_last(out)
        monkeypatch.setattr(reader, "_read_rows", read_rows)
    elif name.endswith(".tif"):
        pages = TiffReader._read_pages

        def read_pages(self, start, stop, out):
            pages(self, start, stop, out)
            if stop == self.pages:
                out[...] = wrong_last(out)
        monkeypatch.setattr(TiffReader, "_read_pages", read_pages)
    else:
        load_image = folders.read_image
        monkeypatch.setattr(folders, "read_image", lambda path, folder_item=False: (
            wrong_last(load_image(path, folder_item)) if path.name == "00029.png"
            else load_image(path, folder_item)))
    with pytest.raises(StackError, match="does not read back as written"):
        export(_gray(30), tmp_path / name, ExportSettings(), overwrite=True)
    _unchanged_or_absent(tmp_path, name, existing)


# --- streaming: chunk writers, lazy readers, bounded memory --------------------------------

def _faces(n=30):
    from references import sample_stack

    return sample_stack()[:n]


def _reference_bytes(tmp_path, name, stack, settings):
    """What the in-memory path writes: equalize the whole stack, convert, save_stack."""
    layout = guess_layout(stack.shape, settings.channel_axis)
    values = equalize(stack, settings.method, settings.bins, settings.scope,
                      channel_axis=layout.channel_axis)
    folder = tmp_path / "reference"
    folder.mkdir(exist_ok=True)
    out = save_stack(folder / name, convert(values, settings.dtype, stack.dtype), layout=layout,
                     overwrite=True)
    return _content(out)


def _content(path):
    """The bytes of an output; for .npz the bytes of its member (the zip stamps the time)."""
    path = Path(path)
    if path.suffix == ".npz":
        import zipfile

        with zipfile.ZipFile(path) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist()}
    return _snapshot(path)


STREAM_CASES = {
    "faces": (lambda: _faces(), ExportSettings(bins=64)),
    "colour": (lambda: RNG.integers(0, 256, (7, 20, 24, 3)).astype(np.uint8),
               ExportSettings(method="skimage")),
    "float-nan": (lambda: np.where(RNG.random((9, 20, 24)) < 0.02, np.nan,
                                   RNG.random((9, 20, 24))).astype(np.float32),
                  ExportSettings(bins=100, dtype="uint16")),
    "channels-first": (lambda: RNG.integers(0, 4000, (3, 5, 20, 24)).astype(np.uint16),
                       ExportSettings(channel_axis=0, dtype="uint8")),
    "1xN": (lambda: RNG.integers(0, 256, (1, 9, 20, 24)).astype(np.uint8), ExportSettings()),
}


@pytest.mark.parametrize("case", sorted(STREAM_CASES))
@pytest.mark.parametrize("scope", ["image", "stack"])
@pytest.mark.parametrize("name", ["out.npy", "out.npz", "out.tif", "frames"])
def test_streaming_equals_the_in_memory_path(tmp_path, case, scope, name):
    make, settings = STREAM_CASES[case]
    stack = make()
    settings = ExportSettings(**{**settings.__dict__, "scope": scope})
    expected = _reference_bytes(tmp_path, name, stack, settings)
    for chunk in (1, 4, None):
        folder = tmp_path / f"chunk-{chunk}"
        folder.mkdir()
        _run_steps(export_steps(stack, folder / name, settings, chunk_images=chunk))
        assert _content(folder / name) == expected, f"chunks of {chunk} images"


def _input_file(tmp_path, how, stack):
    path = {"npy": "in.npy", "npz-stored": "in.npz", "npz-deflated": "in.npz",
            "tif": "in.tif", "folder": "in"}[how]
    path = tmp_path / path
    if how == "npy":
        np.save(path, stack)
    elif how.startswith("npz"):
        with open(path, "wb") as fh:
            (np.savez if how == "npz-stored" else np.savez_compressed)(fh, images=stack)
    elif how == "tif":
        save_stack(path, stack)
    else:
        save_stack(path, stack[:, 0])
        stack = stack[:, 0]
    return path, stack


@pytest.mark.parametrize("how", ["npy", "npz-stored", "npz-deflated", "tif", "folder"])
@pytest.mark.parametrize("scope", ["image", "stack"])
def test_a_lazy_input_exports_the_same_bytes_as_in_memory(tmp_path, how, scope):
    from histeq_gui.core.io import open_reader

    path, stack = _input_file(tmp_path, how, _faces(12))
    settings = ExportSettings(scope=scope, bins=50, method="skimage")
    export(stack, tmp_path / "a.tif", settings)
    with open_reader(path) as reader:
        _run_steps(export_steps(reader, tmp_path / "b.tif", settings, source=path,
                                chunk_images=5))
        assert reader.read(0, 1).shape[0] == 1      # the caller's reader stays open
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()
    assert read_sidecar(tmp_path / "b.tif")["source"] == str(path.absolute())


def test_a_reader_input_is_never_written_onto(tmp_path):
    from histeq_gui.core.io import open_reader

    path, _ = _input_file(tmp_path, "tif", _faces(3))
    with open_reader(path) as reader, pytest.raises(StackError, match="it is the input"):
        export_steps(reader, path, ExportSettings(), overwrite=True)


class _Usage:
    def __init__(self, free):
        self.total, self.used, self.free = 10 * free, 9 * free, free


@pytest.mark.parametrize("name", ["out.npy", "out.tif"])
def test_a_stack_too_big_for_the_disk_is_refused_up_front(tmp_path, monkeypatch, name):
    computed = []
    monkeypatch.setattr(export_module, "equalize_piece", lambda *a, **k: computed.append(1))
    monkeypatch.setattr(export_module.shutil, "disk_usage", lambda path: _Usage(2_000_000))
    stack = np.zeros((300, 100, 100), np.uint8)                  # 3 MB of output
    with pytest.raises(StackError) as excinfo:
        export_steps(stack, tmp_path / name, ExportSettings(dtype="float32"))
    assert str(excinfo.value) == (
        f"cannot write '{tmp_path / name}': the equalized stack needs 13.0 MB (shape "
        "(300, 100, 100) float32) but its disk has only 2.0 MB free; free some space or write "
        "elsewhere")
    assert computed == [] and _listing(tmp_path) == []


def test_compressed_outputs_are_not_refused_for_their_raw_size(tmp_path, monkeypatch):
    monkeypatch.setattr(export_module.shutil, "disk_usage", lambda path: _Usage(2_000_000))
    stack = np.zeros((300, 100, 100), np.uint8)
    export(stack, tmp_path / "out.npz", ExportSettings())        # compresses to a few kB
    assert load_stack(tmp_path / "out.npz").shape == stack.shape


def test_a_stack_larger_than_the_free_memory_is_exported(tmp_path, monkeypatch):
    """No whole copy of the result is kept any more, so nothing is refused for memory."""
    from histeq_gui.core.io import memory

    np.save(tmp_path / "in.npy", _faces(30))
    monkeypatch.setattr(memory, "available", lambda: 100_000)       # less than the stack
    stack = load_stack(tmp_path / "in.npy")
    out = export(stack, tmp_path / "out.npy", ExportSettings(scope="stack"))
    np.testing.assert_array_equal(load_stack(out),
                                  convert(equalize(_faces(30), scope="stack"), "same", np.uint8))


_PEAK = '''
import sys
import numpy as np
from histeq_gui.core import export
from histeq_gui.core.io import open_reader

def hwm():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmHWM"))

source, output, scope, values, method = sys.argv[1:6]
export._CHUNK_VALUES = int(values)
settings = export.ExportSettings(scope=scope, method=method)
export.export(np.zeros((4, 64, 64), np.uint8), output + ".warm.npy",
              settings)                                 # compile and import everything first
before = hwm()
with open_reader(source) as reader:
    export.export(reader, output, settings)
print(hwm() - before)
'''


def _export_peak(tmp_path, mb, scope, chunk_values, method="numpy"):
    import subprocess
    import sys

    image = (np.arange(512 * 512) % 251).astype(np.uint8).reshape(512, 512)
    source = tmp_path / "in.npy"
    np.save(source, np.ascontiguousarray(np.broadcast_to(image, (mb * 4, 512, 512))))
    repo = Path(histeq_gui.__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", _PEAK, source, tmp_path / "out.npy", scope,
                             str(chunk_values), method], capture_output=True, text=True,
                            timeout=600,
                            env=dict(os.environ, PYTHONPATH=str(repo)))
    assert result.returncode == 0, result.stderr
    out = np.load(tmp_path / "out.npy", mmap_mode="r")
    assert out.shape == (mb * 4, 512, 512)
    return int(result.stdout)


@pytest.mark.parametrize("scope, method", [("image", "numpy"), ("stack", "numpy"),
                                           ("image", "match")])
def test_the_export_peak_memory_is_bounded_by_the_chunk(tmp_path, scope, method):
    # 96 MB in and out, chunks of 4 images (1 Mi values: 8 MB of float64); match reads the
    # stack once more, piece by piece, for its reference "stack"
    peak = _export_peak(tmp_path, 96, scope, 1 << 20, method)
    assert peak < 64 << 20, f"{peak / 2**20:.0f} MB more to export 96 MB in chunks of 8 MB"


@pytest.mark.slow
@pytest.mark.parametrize("scope", ["image", "stack"])
def test_the_export_peak_memory_is_bounded_by_the_chunk_at_1_gb(tmp_path, scope):
    peak = _export_peak(tmp_path, 1024, scope, 1 << 23)         # default chunks (64 MB)
    assert peak < 512 << 20, f"{peak / 2**20:.0f} MB more to export 1 GB"


def _refuse_loading(monkeypatch):
    from histeq_gui.core.io import ArrayReader, Reader
    from histeq_gui.core.io.folders import FolderReader
    from histeq_gui.core.io.npy import NpyReader, NpzReader
    from histeq_gui.core.io.tiff import TiffReader

    def refuse(self, progress=None):
        raise AssertionError("the whole stack was loaded")
    for cls in (Reader, ArrayReader, NpyReader, NpzReader, TiffReader, FolderReader):
        monkeypatch.setattr(cls, "load", refuse)
    monkeypatch.setattr(export_module, "_CHUNK_VALUES", 3 * 96 * 96)    # 3 images a chunk


@pytest.mark.parametrize("how", ["npy", "npz-stored", "npz-deflated", "tif", "folder"])
@pytest.mark.parametrize("scope", ["image", "stack"])
def test_the_command_never_loads_the_whole_input(tmp_path, monkeypatch, how, scope):
    from histeq_gui import cli

    path, stack = _input_file(tmp_path, how, _faces(12))
    _refuse_loading(monkeypatch)
    assert cli.main([str(path), "-o", str(tmp_path / "out.tif"), "--scope", scope, "-q"]) == 0
    monkeypatch.undo()
    np.testing.assert_array_equal(load_stack(tmp_path / "out.tif"),
                                  convert(equalize(stack, scope=scope), "same", np.uint8))


@pytest.mark.parametrize("name", ["m.npy", "m.tif"])
def test_chunks_match_the_whole_stacks_histogram_not_their_own(tmp_path, name):
    # match's default reference is the whole stack: resolved once, not per chunk.
    stack = _gray(30)
    stack[:10] //= 4                                    # dark images in the first chunk
    settings = ExportSettings(method="match")
    (tmp_path / "one").mkdir()
    (tmp_path / "seven").mkdir()
    _, one = _run_steps(export_steps(stack, tmp_path / "one" / name, settings, chunk_images=30))
    _, seven = _run_steps(export_steps(stack, tmp_path / "seven" / name, settings,
                                       chunk_images=7))
    assert _snapshot(one) == _snapshot(seven)
    expected = convert(equalize(stack, "match"), "same", np.uint8)
    np.testing.assert_array_equal(load_stack(seven), expected)
    assert not np.array_equal(expected[:7], convert(equalize(stack[:7], "match"), "same",
                                                    np.uint8))


def test_a_scope_the_method_does_not_have_is_refused(tmp_path):
    with pytest.raises(ValueError, match="the clahe method works on each image by itself and "
                                         "has no 'stack' scope") as error:
        export(_gray(4), tmp_path / "c.npy", ExportSettings(method="clahe", scope="stack"))
    assert "\n" not in str(error.value) and not (tmp_path / "c.npy").exists()


# --- match's reference "stack" through a reader: one more pass, piece by piece -------------

@pytest.mark.parametrize("how", ["npy", "npz-stored", "npz-deflated", "tif", "folder"])
def test_a_lazy_input_is_matched_to_the_whole_stack_without_loading_it(tmp_path, monkeypatch,
                                                                        how):
    from histeq_gui.core.io import open_reader

    faces = _faces(12).copy()
    faces[:4] //= 3                                     # dark images in the first pieces
    path, stack = _input_file(tmp_path, how, faces)
    _refuse_loading(monkeypatch)
    with open_reader(path) as reader:
        steps, out = _run_steps(export_steps(reader, tmp_path / "out.tif",
                                             ExportSettings(method="match"), chunk_images=5))
    monkeypatch.undo()
    expected = convert(equalize(stack, "match"), "same", np.uint8)
    np.testing.assert_array_equal(load_stack(out), expected)
    # the reference was read once, piece by piece, as a "histogram" stage
    assert [s for s in steps if s[0] == "histogram"][-1] == ("histogram", 12, 12)
    assert not np.array_equal(expected[:5], convert(equalize(stack[:5], "match"), "same",
                                                    np.uint8))


def test_only_a_stack_aware_parameter_reads_the_stack_first(tmp_path):
    steps, _ = _run_steps(export_steps(_gray(6), tmp_path / "a.npy", ExportSettings()))
    assert "histogram" not in {stage for stage, *_ in steps}
    steps, _ = _run_steps(export_steps(_gray(6), tmp_path / "b.npy",
                                       ExportSettings(method="clahe")))
    assert "histogram" not in {stage for stage, *_ in steps}


@pytest.mark.parametrize("layout", ["channels last", "channels first", "float nan"])
def test_colour_and_floats_are_matched_to_the_whole_stack_in_any_pieces(tmp_path, layout):
    """Pieces along the image axis, or along the channel axis (the writer's, for (C, N, H, W))."""
    from histeq_gui.core.io import open_reader

    if layout == "channels last":
        stack, axis = _colour(9), -1
        stack[:3, ..., 1] //= 4
    elif layout == "channels first":
        stack, axis = np.moveaxis(_colour(9), -1, 0).copy(), 0        # (3, 9, H, W)
        stack[1, :3] //= 4
    else:
        stack, axis = _gray(9, "float32"), None
        stack[:3] = stack[:3] ** 3
        stack[1, 0, :2] = np.nan
    np.save(tmp_path / "in.npy", stack)
    expected = convert(equalize(stack, "match", channel_axis=axis), "same", stack.dtype)
    settings = ExportSettings(method="match", channel_axis=axis)
    for chunk in (1, 2, 100):
        with open_reader(tmp_path / "in.npy") as reader:
            _, out = _run_steps(export_steps(reader, tmp_path / f"out{chunk}.npy", settings,
                                             chunk_images=chunk))
        got = np.load(out)
        assert got.tobytes() == expected.tobytes(), chunk


def test_cancelling_while_the_reference_is_read_leaves_nothing(tmp_path):
    out = tmp_path / "out.npy"
    steps = export_steps(_gray(20), out, ExportSettings(method="match"), chunk_images=2)
    for stage, done, _ in steps:
        if stage == "histogram" and done >= 4:
            break
    steps.close()
    assert _listing(tmp_path) == []


def test_a_reference_that_cannot_be_made_is_one_line(tmp_path):
    stack = np.full((4, 1, 6, 6), np.nan, np.float32)
    with pytest.raises(StackError, match="^cannot equalize the stack: reference has no finite "
                                         r"\(selected\) pixel; choose another reference$"):
        export(stack, tmp_path / "out.npy", ExportSettings(method="match"))
    assert _listing(tmp_path) == []
# --- the method's parameters, end to end ------------------------------------------------------

POWER_PARAMS = {"power": 2.0, "floor_level": 10, "curve": "down"}


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("scope", ["image", "stack"])
def test_method_parameters_reach_the_core_and_the_sidecar(tmp_path, dtype, scope):
    """A registered method's parameters change the bytes exactly as the API's, chunk by chunk."""
    stack = _gray(9, dtype)
    if stack.dtype.kind == "f":
        stack[2, 0, 1, 1] = np.nan
    with _power():
        settings = ExportSettings(method="power-test", bins=20, scope=scope, dtype="uint16",
                                  params=POWER_PARAMS)
        expected = convert(equalize(stack, "power-test", 20, scope, **POWER_PARAMS), "uint16",
                           stack.dtype)
        plain = convert(equalize(stack, "power-test", 20, scope), "uint16", stack.dtype)
        assert not np.array_equal(expected, plain)
        for chunk in (1, 4, None):
            out = tmp_path / f"out-{chunk}.npy"
            _run_steps(export_steps(stack, out, settings, chunk_images=chunk))
            np.testing.assert_array_equal(load_stack(out), expected)
    info = read_sidecar(tmp_path / "out-1.npy")
    assert info["params"] == {"bins": 20, **POWER_PARAMS}
    assert info["method"] == "power-test"


def test_the_sidecar_records_the_defaults_of_parameters_not_given(tmp_path):
    with _power():
        out = export(_gray(3), tmp_path / "o.npy", ExportSettings(method="power-test",
                                                                   params={"power": 3}))
    assert read_sidecar(out)["params"] == {"bins": 256, "power": 3.0, "floor_level": 0,
                                           "curve": "up"}


@pytest.mark.parametrize("params,match", [
    ({"levels": 8}, "the power-test method has no parameter 'levels'; its parameters: bins, "
                    "power, floor_level, curve"),
    ({"power": 9}, "power-test: power must be a number from 0.5 to 4, got 9"),
    ({"floor_level": 2.5}, "floor_level must be a whole number from 0 to 100, got 2.5"),
    ({"curve": "sideways"}, "curve must be one of 'up', 'down', got 'sideways'"),
    ({"bins": 8}, "give bins as ExportSettings.bins"),
    ([("power", 2)], "params must be a dict"),
])
def test_bad_parameters_are_refused_before_computing(tmp_path, monkeypatch, params, match):
    _refuse_computing(monkeypatch)
    with _power():
        with pytest.raises(ValueError, match=match) as excinfo:
            export_steps(_gray(2), tmp_path / "x.npy", ExportSettings(method="power-test",
                                                                      params=params))
    assert "\n" not in str(excinfo.value)
    assert _listing(tmp_path) == []


def test_a_method_without_stack_scope_is_refused_by_the_settings():
    from histeq_gui.core.methods import Method, register, unregister

    register(Method(name="whole-image-test", label="W", summary="W.", reference="w",
                    source="this test", how="W.", scopes=("image",),
                    image=lambda image, mask, params: image))
    try:
        with pytest.raises(ValueError, match="has no 'stack' scope; use scope='image'"):
            ExportSettings(method="whole-image-test", scope="stack").validate()
        ExportSettings(method="whole-image-test", scope="image").validate()
    finally:
        unregister("whole-image-test")


def test_a_dtype_the_method_refuses_is_a_stack_error_before_computing(tmp_path, monkeypatch):
    from histeq_gui.core.methods import Method, Nodes, register, unregister

    _refuse_computing(monkeypatch)
    register(Method(name="ints-only-test", label="I", summary="I.", reference="i",
                    source="this test", how="I.", dtypes="ui",
                    nodes=lambda counts, edges, dtype, params: Nodes(edges[:, :-1], counts)))
    try:
        with pytest.raises(StackError, match="cannot export this stack: the ints-only-test "
                                             "method works on unsigned integer and signed "
                                             "integer images, not float32"):
            export_steps(_gray(2, "float32"), tmp_path / "x.npy",
                         ExportSettings(method="ints-only-test"))
    finally:
        unregister("ints-only-test")
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("method", histeq_gui.METHODS)
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_every_method_streams_the_bytes_of_the_in_memory_path(tmp_path, method, dtype):
    """Every registered method, in every scope it has: chunks of 1 and 4 images equal
    equalize() of the whole stack, converted."""
    from histeq_gui.core.methods import get_method

    m = get_method(method)
    if not m.supports(dtype):
        pytest.skip(f"{method} does not take {dtype}")
    stack = _faces(9).astype(dtype) * (1 if dtype == "uint8" else 97)
    if stack.dtype.kind == "f":
        stack[3, 0, :4, :4] = np.nan
    for scope in m.scopes:
        settings = ExportSettings(method=method, bins=50, scope=scope)
        expected = convert(equalize(stack, method, 50, scope), "same", stack.dtype)
        for chunk in (1, 4):
            out = tmp_path / f"{scope}-{chunk}.tif"
            _run_steps(export_steps(stack, out, settings, chunk_images=chunk))
            np.testing.assert_array_equal(load_stack(out), expected)


def test_export_settings_take_a_methods_name_not_the_method(tmp_path):
    """The sidecar records a name, and a name is what travels to other processes."""
    from histeq_gui.core.methods import get_method

    with pytest.raises(ValueError, match="method's name.*'clahe'") as error:
        ExportSettings(method=get_method("clahe")).validate()
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="method's name"):
        export(np.zeros((2, 4, 4), np.uint8), tmp_path / "out.npy",
               ExportSettings(method=get_method("numpy")))
    assert not list(tmp_path.iterdir())
