"""Tests of the ``histeq`` command: in-process through ``main`` and through real subprocesses."""

import io as stdio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tifffile

import histeq_gui
from histeq_gui import cli
from histeq_gui.core import export as export_module
from histeq_gui.core.export import ExportSettings, convert, export
from histeq_gui.core.io import load_stack, read_sidecar, save_stack
from histeq_gui.core.stack import guess_layout
from histeq_gui.core.stats import COLUMNS

RNG = np.random.default_rng(7)
REPO = Path(histeq_gui.__file__).resolve().parent.parent


def _stack(shape=(24, 1, 16, 12), dtype="uint8"):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return RNG.random(shape).astype(dtype)
    return RNG.integers(0, min(np.iinfo(dtype).max, 5000), shape, endpoint=True).astype(dtype)


def _input(tmp_path, array=None, name="in.npy"):
    path = tmp_path / name
    save_stack(path, _stack() if array is None else array)
    return path


def _listing(folder):
    return sorted(os.listdir(folder))


def _run(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _expected(array, **settings):
    s = ExportSettings(**settings)
    axis = guess_layout(array.shape, s.channel_axis).channel_axis
    values = histeq_gui.equalize(array, s.method, s.bins, s.scope, channel_axis=axis)
    return convert(values, s.dtype, array.dtype)


def _assert_same(back, expected):
    assert back.dtype == expected.dtype
    assert back.shape == expected.shape
    assert np.ascontiguousarray(back).tobytes() == expected.tobytes()


def _subprocess(*args, script=None, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [sys.executable, "-m", "histeq_gui.cli"] if script is None else \
        [sys.executable, "-c", script]
    kwargs.setdefault("timeout", 120)
    return subprocess.run(command + [str(a) for a in args], capture_output=True, text=True,
                          env=env, **kwargs)


# --- round trips ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["out.npy", "out.npz", "out.tif", "out.tiff"])
def test_round_trip_keeps_layout_and_equals_the_api(tmp_path, capsys, name):
    source = _input(tmp_path)
    code, out, err = _run(capsys, source, "-o", tmp_path / name)
    assert code == 0
    assert err == ""                    # no progress bar when stderr is not a terminal
    back = load_stack(tmp_path / name)
    assert back.shape == (24, 1, 16, 12)
    _assert_same(back, _expected(load_stack(source)))
    assert out == (f"wrote {tmp_path / name}: shape (24, 1, 16, 12), uint8; "
                   f"sidecar {tmp_path / name}.json\n")


def test_png_folder_output(tmp_path, capsys):
    source = _input(tmp_path)
    code, out, err = _run(capsys, source, "-o", tmp_path / "frames")
    assert (code, err) == (0, "")
    names = _listing(tmp_path / "frames")
    assert names == [f"{i:05d}.png" for i in range(24)]
    back = load_stack(tmp_path / "frames")
    _assert_same(back, _expected(load_stack(source)).reshape(24, 16, 12))
    assert out.startswith(f"wrote 24 PNG files to {tmp_path / 'frames'}: stack shape "
                          "(24, 1, 16, 12), uint8; sidecar ")
    assert read_sidecar(tmp_path / "frames")["shape"] == [24, 1, 16, 12]


@pytest.mark.parametrize("options,settings", [
    (["--method", "skimage"], {"method": "skimage"}),
    (["--bins", "7"], {"bins": 7}),
    (["--bins", "1000"], {"bins": 1000}),
    (["--scope", "stack"], {"scope": "stack"}),
    (["--method", "skimage", "--scope", "stack", "--bins", "40"],
     {"method": "skimage", "scope": "stack", "bins": 40}),
    (["--dtype", "uint16"], {"dtype": "uint16"}),
    (["--dtype", "float32"], {"dtype": "float32"}),
    (["--dtype", "float64"], {"dtype": "float64"}),
])
def test_options_equal_the_api(tmp_path, capsys, options, settings):
    source = _input(tmp_path)
    code, _, err = _run(capsys, source, "-o", tmp_path / "out.tif", *options)
    assert (code, err) == (0, "")
    _assert_same(load_stack(tmp_path / "out.tif"), _expected(load_stack(source), **settings))
    info = read_sidecar(tmp_path / "out.tif")
    for key, value in settings.items():
        assert info[key if key != "dtype" else "output_dtype"] == value


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_dtype_same_keeps_the_input_dtype(tmp_path, capsys, dtype):
    array = _stack((10, 14, 14), dtype)
    source = _input(tmp_path, array)
    assert _run(capsys, source, "-o", tmp_path / "out.npy")[0] == 0
    back = load_stack(tmp_path / "out.npy")
    assert back.dtype == np.dtype(dtype)
    values = histeq_gui.equalize(array)
    if dtype == "uint8":
        expected = np.rint(255 * values).astype(np.uint8)
    elif dtype == "uint16":
        expected = np.rint(65535 * values).astype(np.uint16)
    else:
        expected = values.astype(np.float32)
        assert 0 <= back.min() and back.max() == 1
    _assert_same(back, expected)
    assert back.max() == (1 if dtype == "float32" else np.iinfo(dtype).max)


def test_float64_output_is_exactly_the_api_result(tmp_path, capsys):
    array = _stack((6, 1, 20, 20), "float32")
    array[0, 0, 0, 0] = np.nan
    source = _input(tmp_path, array)
    assert _run(capsys, source, "-o", tmp_path / "out.npy", "--dtype", "float64")[0] == 0
    back = load_stack(tmp_path / "out.npy")
    assert back.tobytes() == histeq_gui.equalize(array).tobytes()


def test_cli_writes_the_same_bytes_as_the_export_api(tmp_path, capsys):
    source = _input(tmp_path)
    for name in ("cli.tif", "cli.npz", "cli"):
        assert _run(capsys, source, "-o", tmp_path / name, "--scope", "stack",
                    "--bins", "50")[0] == 0
        api = export(load_stack(source), tmp_path / name.replace("cli", "api"),
                     ExportSettings(scope="stack", bins=50))
        if api.is_dir():
            for file in api.iterdir():
                assert file.read_bytes() == (tmp_path / name / file.name).read_bytes()
        else:
            assert api.read_bytes() == (tmp_path / name).read_bytes()


def test_npz_key(tmp_path, capsys):
    np.savez(tmp_path / "two.npz", a=_stack((3, 9, 9)), b=_stack((4, 9, 9), "uint16"))
    code, _, err = _run(capsys, tmp_path / "two.npz", "--key", "b", "-o", tmp_path / "b.npy")
    assert (code, err) == (0, "")
    with np.load(tmp_path / "two.npz") as archive:
        _assert_same(load_stack(tmp_path / "b.npy"), _expected(archive["b"]))


def test_colour_input_is_equalized_per_channel(tmp_path, capsys):
    array = _stack((5, 12, 12, 3))
    source = _input(tmp_path, array, "rgb.tif")
    assert _run(capsys, source, "-o", tmp_path / "rgb")[0] == 0
    _assert_same(load_stack(tmp_path / "rgb"), _expected(array))
    assert read_sidecar(tmp_path / "rgb")["channel_axis"] == 3
    assert _run(capsys, source, "-o", tmp_path / "gray.npy", "--channel-axis", "none")[0] == 0
    _assert_same(load_stack(tmp_path / "gray.npy"), _expected(array, channel_axis=None))


def test_explicit_channel_axis(tmp_path, capsys):
    array = _stack((4, 3, 10, 10))
    source = _input(tmp_path, array)
    assert _run(capsys, source, "-o", tmp_path / "o.npy", "--channel-axis", "1")[0] == 0
    _assert_same(load_stack(tmp_path / "o.npy"), _expected(array, channel_axis=1))


def test_png_folder_input(tmp_path, capsys):
    array = _stack((4, 10, 10))
    save_stack(tmp_path / "frames", array)
    assert _run(capsys, tmp_path / "frames", "-o", tmp_path / "eq.npy")[0] == 0
    _assert_same(load_stack(tmp_path / "eq.npy"), _expected(array))
    assert read_sidecar(tmp_path / "eq.npy")["source"] == str(tmp_path / "frames")


def test_overwrite(tmp_path, capsys):
    source = _input(tmp_path)
    assert _run(capsys, source, "-o", tmp_path / "out.npy", "--bins", "4")[0] == 0
    assert _run(capsys, source, "-o", tmp_path / "out.npy", "--bins", "9", "--overwrite")[0] == 0
    _assert_same(load_stack(tmp_path / "out.npy"), _expected(load_stack(source), bins=9))
    assert read_sidecar(tmp_path / "out.npy")["bins"] == 9
    assert _listing(tmp_path) == ["in.npy", "out.npy", "out.npy.json"]


def test_quiet_prints_nothing(tmp_path, capsys):
    assert _run(capsys, _input(tmp_path), "-o", tmp_path / "o.npy", "-q") == (0, "", "")


def test_input_is_never_modified(tmp_path, capsys):
    source = _input(tmp_path)
    os.utime(source, (1_000_000_000, 1_000_000_000))
    before = source.read_bytes()
    for options in ([], ["--scope", "stack", "--overwrite"], ["--dtype", "float32", "--overwrite"]):
        assert _run(capsys, source, "-o", tmp_path / "o.npy", *options)[0] == 0
    assert _run(capsys, source, "-o", source, "--overwrite")[0] == 1
    assert source.read_bytes() == before
    assert source.stat().st_mtime == 1_000_000_000


def test_version(capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["--version"])
    assert excinfo.value.code == 0
    assert capsys.readouterr().out == f"histeq {histeq_gui.__version__}\n"


# --- progress bar --------------------------------------------------------------------------

class _Terminal(stdio.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    source = _input(tmp_path)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main([str(source), "-o", str(tmp_path / "a.npy"), "--scope", "stack"]) == 0
    text = terminal.getvalue()
    assert "equalize" in text and "write" in text and "histogram" in text
    assert "/24 [" in text         # the equalize bar counts images
    assert capsys.readouterr().out.startswith("wrote ")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main([str(source), "-o", str(tmp_path / "b.npy"), "--quiet"]) == 0
    assert terminal.getvalue() == ""


# --- bad input: one line, exit 1, nothing written ------------------------------------------

def _pickled(p):
    np.save(p / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return [p / "obj.npy", "-o", p / "out.npy"], "Python objects (pickled data)"


def _truncated(p):
    np.save(p / "cut.npy", _stack())
    data = (p / "cut.npy").read_bytes()
    (p / "cut.npy").write_bytes(data[:len(data) // 2])
    return [p / "cut.npy", "-o", p / "out.npy"], "truncated"


def _text_tif(p):
    (p / "text.tif").write_text("this is not an image\n")
    return [p / "text.tif", "-o", p / "out.npy"], "not a valid TIFF file"


def _missing(p):
    return [p / "missing.npy", "-o", p / "out.npy"], "no such file or folder; check the path"


def _npz_several(p):
    np.savez(p / "two.npz", first=_stack(), second=_stack())
    return [p / "two.npz", "-o", p / "out.npy"], "several arrays (first, second)"


def _npz_wrong_key(p):
    np.savez(p / "two.npz", first=_stack(), second=_stack())
    return [p / "two.npz", "--key", "third", "-o", p / "out.npy"], "no array named 'third'"


def _missing_folder(p):
    return [_input(p), "-o", p / "nowhere" / "out.npy"], "does not exist; create it first"


def _unwritable_folder(p):
    if os.geteuid() != 0:
        (p / "locked").mkdir()
        (p / "locked").chmod(0o555)
        return [_input(p), "-o", p / "locked" / "out.npy"], "permission denied"
    try:
        open("/sys/.histeq-probe", "xb").close()
    except OSError:
        return [_input(p), "-o", "/sys/histeq-out.npy"], "permission denied"
    pytest.skip("no folder refuses new files here")


def _exists(p):
    save_stack(p / "out.npy", _stack((2, 4, 4)))
    return [_input(p), "-o", p / "out.npy"], "exists; pass --overwrite to replace it"


def _onto_input(p):
    return [_input(p), "-o", p / "in.npy", "--overwrite"], "it is the input"


def _onto_input_via_symlink(p):
    (p / "link.npy").symlink_to(_input(p))
    return [p / "in.npy", "-o", p / "link.npy", "--overwrite"], "it is the input"


def _symlinked_input(p):
    (p / "link.npy").symlink_to(_input(p))
    return [p / "link.npy", "-o", p / "in.npy", "--overwrite"], "it is the input"


def _float_to_png(p):
    return [_input(p), "-o", p / "frames", "--dtype", "float32"], "PNG files hold only uint8"


def _float_input_to_png(p):
    return [_input(p, _stack(dtype="float32")), "-o", p / "frames"], "PNG files hold only uint8"


def _bad_extension(p):
    return [_input(p), "-o", p / "out.jpg"], "unsupported output type '.jpg'"


def _stack_to_one_png(p):
    return [_input(p), "-o", p / "out.png"], "a .png file holds one image, not 24"


def _channel_axis_out_of_range(p):
    return [_input(p), "-o", p / "o.npy", "--channel-axis", "9"], "out of range"


def _too_many_bins(p):
    array = np.ones((2, 6, 6), np.float32)
    array[:, 0, 0] = np.nextafter(np.float32(1), np.float32(2))
    return [_input(p, array), "-o", p / "o.npy", "--bins", "5000"], "too many bins"


def _loop_input(p):
    (p / "loop.npy").symlink_to(p / "loop.npy")
    return [p / "loop.npy", "-o", p / "out.npy"], "symbolic links"


def _loop_output(p):
    (p / "loop.npy").symlink_to(p / "loop.npy")
    return [_input(p), "-o", p / "loop.npy"], "exists; pass --overwrite"


def _long_input_name(p):
    return [p / ("i" * 256 + ".npy"), "-o", p / "out.npy"], "name is too long"


def _long_output_name(p):
    return [_input(p), "-o", p / ("o" * 256 + ".npy")], "name is too long"


def _long_sidecar_name(p):
    return [_input(p), "-o", p / ("o" * 250 + ".npy")], "name is too long"


def _fifo_input(p):
    os.mkfifo(p / "x.npy")
    return [p / "x.npy", "-o", p / "out.npy"], "not a regular file (a named pipe)"


def _npz_member_not_npy(p):
    import zipfile
    with zipfile.ZipFile(p / "n.npz", "w") as archive:
        archive.writestr("notes.txt", "hello")
    return [p / "n.npz", "-o", p / "out.npy"], "'notes.txt' in the archive is not a .npy array"


def _npy_dimension_above_int64(p):
    header = b"{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999, 2), }"
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    (p / "h.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header)
    return [p / "h.npy", "-o", p / "out.npy"], "more bytes than any file holds"


BAD = [_pickled, _truncated, _text_tif, _missing, _npz_several, _npz_wrong_key, _missing_folder,
       _unwritable_folder, _exists, _onto_input, _onto_input_via_symlink, _symlinked_input,
       _float_to_png, _float_input_to_png, _bad_extension, _stack_to_one_png,
       _channel_axis_out_of_range,
       _too_many_bins, _loop_input, _loop_output, _long_input_name, _long_output_name,
       _long_sidecar_name, _fifo_input, _npz_member_not_npy, _npy_dimension_above_int64]


def _contents(folder):
    return {name: (folder / name).read_bytes() if (folder / name).is_file() else None
            for name in _listing(folder)}


def test_a_symlink_loop_as_output_is_replaced_with_overwrite(tmp_path, capsys):
    (tmp_path / "loop.npy").symlink_to(tmp_path / "loop.npy")
    code, _, err = _run(capsys, _input(tmp_path), "-o", tmp_path / "loop.npy", "--overwrite")
    assert (code, err) == (0, "")
    assert not (tmp_path / "loop.npy").is_symlink()
    assert load_stack(tmp_path / "loop.npy").shape == (24, 1, 16, 12)


@pytest.mark.parametrize("make", [_fifo_input, _npz_member_not_npy, _npy_dimension_above_int64,
                                  _loop_input, _long_input_name],
                         ids=lambda f: f.__name__.strip("_"))
def test_subprocess_bad_input_never_hangs_nor_crashes(tmp_path, make):
    args, fragment = make(tmp_path)
    result = _subprocess(*args, timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.count("\n") == 1 and fragment in result.stderr


@pytest.mark.parametrize("make", BAD, ids=lambda f: f.__name__.strip("_"))
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, make):
    args, fragment = make(tmp_path)     # each case builds its files; returns (args, message)
    before = _contents(tmp_path)
    try:
        code, out, err = _run(capsys, *args)
    finally:
        if (tmp_path / "locked").exists():
            (tmp_path / "locked").chmod(0o755)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n")
    assert err.startswith("histeq: error: ")
    assert fragment in err
    assert "; " in err                  # what is wrong; what to do
    assert "Traceback" not in err
    assert _contents(tmp_path) == before    # nothing written or changed, no temp files


@pytest.mark.parametrize("option,value", [("--bins", "0"), ("--bins", "-5"), ("--bins", "2.5"),
                                          ("--bins", "lots"),
                                          ("--method", "opencv2"), ("--scope", "all"),
                                          ("--dtype", "int8"), ("--channel-axis", "last")])
def test_usage_errors_exit_2(tmp_path, capsys, option, value):
    source = _input(tmp_path)
    with pytest.raises(SystemExit) as excinfo:
        cli.main([str(source), "-o", str(tmp_path / "o.npy"), option, value])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1                     # one line, no usage block
    assert err.startswith(f"histeq: error: argument {option}")
    assert err.rstrip().endswith("see 'histeq --help'")
    assert "Traceback" not in err
    assert _listing(tmp_path) == ["in.npy"]


def test_missing_output_option_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main([str(_input(tmp_path))])
    assert excinfo.value.code == 2
    assert "-o/--output" in capsys.readouterr().err


# --- interruption --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["out.npy", "out.tif", "frames"])
def test_keyboard_interrupt_exits_130_and_writes_nothing(tmp_path, capsys, monkeypatch, name):
    source = _input(tmp_path)
    equalize, calls = export_module.equalize_piece, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return equalize(*args, **kwargs)
    monkeypatch.setattr(export_module, "equalize_piece", interrupted)
    monkeypatch.setattr(export_module, "_CHUNK_VALUES", 16 * 12 * 4)    # chunks of 4 images
    code, out, err = _run(capsys, source, "-o", tmp_path / name)
    assert (code, out, err) == (130, "", "histeq: interrupted\n")
    assert _listing(tmp_path) == ["in.npy"]


# --- real subprocesses ---------------------------------------------------------------------

def test_subprocess_success(tmp_path):
    source = _input(tmp_path)
    result = _subprocess(source, "-o", tmp_path / "out.tif", "--method", "skimage",
                         "--scope", "stack")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("wrote ")
    _assert_same(tifffile.imread(tmp_path / "out.tif"),
                 _expected(load_stack(source), method="skimage", scope="stack"))


@pytest.mark.parametrize("make", [_pickled, _truncated, _text_tif, _missing, _exists],
                         ids=lambda f: f.__name__.strip("_"))
def test_subprocess_bad_input(tmp_path, make):
    args, fragment = make(tmp_path)
    result = _subprocess(*args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("histeq: error: ")
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_subprocess_usage_error(tmp_path):
    result = _subprocess(_input(tmp_path), "-o", tmp_path / "o.npy", "--bins", "0")
    assert result.returncode == 2
    assert result.stderr == ("histeq: error: argument --bins: bins must be a whole number of "
                             "at least 1 and at most 65536, got 0; use e.g. bins=256; see "
                             "'histeq --help'\n")
    assert "Traceback" not in result.stderr
    assert _listing(tmp_path) == ["in.npy"]


_SLOW = textwrap.dedent("""
    import sys, time
    from histeq_gui.core import export
    from histeq_gui.core.io import ChunkWriter
    from histeq_gui import cli

    stage = sys.argv.pop(1)
    export._CHUNK_VALUES = 16 * 12      # one image per chunk
    if stage == "equalize":
        equalize_piece = export.equalize_piece
        def slow_piece(*args):
            print("busy", flush=True)
            time.sleep(0.2)
            return equalize_piece(*args)
        export.equalize_piece = slow_piece
    else:                               # writing is verified chunk by chunk: slow that down
        verify = ChunkWriter.verify
        def slow_verify(self, progress=None):
            def slow(done, total):
                print("busy", flush=True)
                time.sleep(0.2)
                progress(done, total)
            return verify(self, slow)
        ChunkWriter.verify = slow_verify
    sys.exit(cli.main(sys.argv[1:]))
""")


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
@pytest.mark.parametrize("stage", ["equalize", "write"])
@pytest.mark.parametrize("name", ["out.npy", "frames"])
def test_subprocess_ctrl_c_exits_130_and_leaves_nothing(tmp_path, stage, name):
    source = _input(tmp_path)
    existing = tmp_path / "keep"
    existing.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-c", _SLOW, stage, str(source), "-o",
                                str(existing / name)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout.readline() == "busy\n"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err == "histeq: interrupted\n"
    assert _listing(existing) == []
    assert _listing(tmp_path) == ["in.npy", "keep"]


# --- the sidecar never replaces a user's file ----------------------------------------------

@pytest.mark.parametrize("output,json_name", [("data", "data.json"), ("res.npy", "res.npy.json")])
def test_sidecar_never_replaces_an_unrelated_file(tmp_path, capsys, output, json_name):
    source = _input(tmp_path)
    (tmp_path / json_name).write_text('{"notes": "mine"}\n')
    code, out, err = _run(capsys, source, "-o", tmp_path / output)
    assert (code, out) == (1, "")
    assert err == (f"histeq: error: '{tmp_path / json_name}' exists and was not written by "
                   f"histeq-gui for '{output}'; pass --overwrite to replace it, or choose "
                   "another output name\n")
    assert (tmp_path / json_name).read_text() == '{"notes": "mine"}\n'
    assert _listing(tmp_path) == sorted(["in.npy", json_name])
    code, out, err = _run(capsys, source, "-o", tmp_path / output, "--overwrite")
    assert (code, err) == (0, "")
    assert read_sidecar(tmp_path / output)["program"] == "histeq-gui"


# --- library warnings never reach the terminal ---------------------------------------------

def _palette_png_with_byte_transparency(path):
    """A PNG that makes Pillow warn ("Palette images with Transparency expressed in bytes")."""
    from PIL import Image

    image = Image.fromarray((np.arange(64, dtype=np.uint8).reshape(8, 8) % 4), mode="P")
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    image.save(path, transparency=bytes([0, 128, 255, 255]))
    return path


def _shaped_tiff_declaring_another_shape(path):
    """A TIFF whose shape metadata disagrees with its pages (tifffile logs about it)."""
    tifffile.imwrite(path, np.zeros((2, 8, 8), np.uint8))
    path.write_bytes(path.read_bytes().replace(b"[2, 8, 8]", b"[2, 9, 9]"))
    return path


@pytest.mark.parametrize("extra", [[], ["--channel-axis", "9"]], ids=["ok", "error"])
@pytest.mark.parametrize("make", [_palette_png_with_byte_transparency,
                                  _shaped_tiff_declaring_another_shape])
def test_subprocess_library_warnings_never_reach_stderr(tmp_path, extra, make):
    source = make(tmp_path / ("in.png" if "png" in make.__name__ else "in.tif"))
    result = _subprocess(source, "-o", tmp_path / "out.npy", *extra)
    if "tiff" in make.__name__:
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1 and "truncated or damaged" in result.stderr
    elif extra:
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1 and "out of range" in result.stderr
    else:
        assert (result.returncode, result.stderr) == (0, "")


# --- SIGTERM, SIGKILL, Ctrl+C twice ----------------------------------------------------------

def _start(script, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _hidden(folder):
    return [name for name in _listing(folder) if name.startswith(".")]


@pytest.mark.skipif(os.name != "posix", reason="sends SIGTERM")
@pytest.mark.parametrize("stage", ["equalize", "write"])
@pytest.mark.parametrize("name", ["out.npy", "frames"])
def test_subprocess_sigterm_exits_143_and_leaves_nothing(tmp_path, stage, name):
    source = _input(tmp_path)
    (tmp_path / "keep").mkdir()
    process = _start(_SLOW, stage, source, "-o", tmp_path / "keep" / name)
    try:
        assert process.stdout.readline() == "busy\n"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert (process.returncode, err) == (143, "histeq: terminated\n")
    assert _listing(tmp_path / "keep") == []
    assert _listing(tmp_path) == ["in.npy", "keep"]


_SLOW_CLEAN_UP = textwrap.dedent("""
    import sys, time
    from histeq_gui.core.io import ChunkWriter, atomic
    from histeq_gui import cli

    verify = ChunkWriter.verify
    def slow_verify(self, progress=None):
        def slow(done, total):
            print("busy", flush=True)
            time.sleep(0.2)
            progress(done, total)
        return verify(self, slow)
    ChunkWriter.verify = slow_verify
    remove = atomic._remove
    def slow_remove(path):
        print("cleaning", flush=True)
        time.sleep(0.5)
        remove(path)
    atomic._remove = slow_remove
    sys.exit(cli.main(sys.argv[1:]))
""")


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM])
def test_subprocess_a_second_signal_during_clean_up_is_ignored(tmp_path, second):
    source = _input(tmp_path)
    (tmp_path / "keep").mkdir()
    process = _start(_SLOW_CLEAN_UP, source, "-o", tmp_path / "keep" / "out.tif")
    try:
        assert process.stdout.readline() == "busy\n"
        process.send_signal(signal.SIGINT)
        line = process.stdout.readline()
        while line == "busy\n":
            line = process.stdout.readline()
        assert line == "cleaning\n"
        process.send_signal(second)             # while the first clean-up runs
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert (process.returncode, err) == (130, "histeq: interrupted\n")
    assert _listing(tmp_path / "keep") == []


@pytest.mark.skipif(os.name != "posix", reason="sends SIGKILL")
@pytest.mark.parametrize("name", ["out.npy", "frames"])
def test_subprocess_sigkill_leftovers_are_removed_by_the_next_export(tmp_path, capsys, name):
    source = _input(tmp_path)
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / ".mine.npy").write_text("a hidden file of the user's")
    process = _start(_SLOW, "write", source, "-o", tmp_path / "keep" / name)
    try:
        assert process.stdout.readline() == "busy\n"
        process.kill()
        process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == -signal.SIGKILL
    left = _hidden(tmp_path / "keep")
    assert len(left) == 2 and ".mine.npy" in left       # the killed run's temporary
    assert "-histeq-tmp-" in left[0] + left[1] and f"-{process.pid}-" in left[0] + left[1]
    code, _, err = _run(capsys, source, "-o", tmp_path / "keep" / "other.tif")
    assert (code, err) == (0, "")
    assert _listing(tmp_path / "keep") == [".mine.npy", "other.tif", "other.tif.json"]


@pytest.mark.parametrize("odd", [b"odd\x1b]0;pwned\x07.png", b"odd\xff\n.png"])
def test_subprocess_names_from_files_are_printed_escaped(tmp_path, odd):
    import imageio.v3 as iio

    (tmp_path / "shots").mkdir()
    iio.imwrite(tmp_path / "shots" / "a.png", np.zeros((4, 5), np.uint8))
    # Of another size and bit depth: a folder of several sizes opens as a ragged stack (gray
    # and colour together are read as colour), but 8 and 16 bits together are refused,
    # naming both files.
    iio.imwrite(tmp_path / "shots" / os.fsdecode(odd), np.zeros((6, 5), np.uint16))
    result = _subprocess(tmp_path / "shots", "-o", tmp_path / "out.npy")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert all(ch.isprintable() for ch in result.stderr.rstrip("\n"))
    assert ("odd\\x1b]0;pwned\\x07.png" if b"\x1b" in odd else "odd\\xff\\n.png") in result.stderr


# --- one range of bins: the core's ----------------------------------------------------------

def test_bins_are_checked_by_the_core(tmp_path, capsys, monkeypatch):
    """The CLI takes what the core's check_bins takes (an upper bound there applies here)."""
    from histeq_gui.core import histogram

    def bounded(bins):
        if isinstance(bins, int) and bins > 65536:
            raise ValueError(f"bins must be at most 65536, got {bins}; use e.g. bins=256")
        return check_bins(bins)
    check_bins = histogram.check_bins
    monkeypatch.setattr(histogram, "check_bins", bounded)
    with pytest.raises(SystemExit) as excinfo:
        cli.main([str(_input(tmp_path)), "-o", str(tmp_path / "o.npy"), "--bins", "100000"])
    assert excinfo.value.code == 2
    assert capsys.readouterr().err == ("histeq: error: argument --bins: bins must be at most "
                                       "65536, got 100000; use e.g. bins=256; see 'histeq "
                                       "--help'\n")
    code, _, err = _run(capsys, tmp_path / "in.npy", "-o", tmp_path / "o.npy", "--bins", "65536")
    assert (code, err) == (0, "")


# --- a single image to one PNG file ---------------------------------------------------------

@pytest.mark.parametrize("name,image", [
    ("camera.png", "camera"), ("astronaut.png", "astronaut"), ("gray16.tif", "uint16")])
def test_a_single_image_exports_to_one_png(tmp_path, capsys, name, image):
    import imageio.v3 as iio
    from skimage import data
    array = getattr(data, image)()[::4, ::4] if image != "uint16" else \
        (data.camera()[::4, ::4].astype(np.uint16) * 257)
    iio.imwrite(tmp_path / name, array) if name.endswith(".png") else \
        tifffile.imwrite(tmp_path / name, array)
    code, out, err = _run(capsys, tmp_path / name, "-o", tmp_path / "eq.png")
    assert (code, err) == (0, "")
    assert out == (f"wrote {tmp_path / 'eq.png'}: shape {array.shape}, {array.dtype}; "
                   f"sidecar {tmp_path / 'eq.png'}.json\n")
    written = iio.imread(tmp_path / "eq.png")
    _assert_same(written, _expected(array))
    info = read_sidecar(tmp_path / "eq.png")
    assert info["format"] == "png" and info["output"] == "eq.png"
    assert _listing(tmp_path) == sorted([name, "eq.png", "eq.png.json"])


# --- the methods' parameters as options ------------------------------------------------------

def _help(capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["--help"])
    assert excinfo.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def _usage_error(capsys, *args):
    with pytest.raises(SystemExit) as excinfo:
        cli.main([str(a) for a in args])
    err = capsys.readouterr().err
    assert excinfo.value.code == 2 and err.count("\n") == 1, err
    assert err.startswith("histeq: error: ") and err.rstrip().endswith("see 'histeq --help'")
    return err


def test_every_parameter_of_every_registered_method_is_an_option():
    from histeq_gui.core.methods import METHODS, get_method

    parser = cli.build_parser()
    flags = {s: a for a in parser._actions for s in a.option_strings}
    for method in METHODS:
        for param in get_method(method).params:
            if param.name == "bins":
                continue
            flag = "--" + param.name.replace("_", "-")
            if flags[flag].dest != f"method_param_{param.name}":    # the command's own option
                flag = "--param-" + param.name.replace("_", "-")
            action = flags[flag]
            assert method in action.help and param.help.replace("%", "%%") in action.help


def test_a_registered_methods_parameters_are_options_that_reach_the_export(tmp_path, capsys):
    """Registered after the command was imported: the parser reads the registry when built."""
    from throwaway_methods import registered

    source = _input(tmp_path, _stack((6, 1, 16, 12), "float32"))
    assert "--power" not in _help(capsys)
    with registered():
        text = _help(capsys)
        assert ("--power X exponent of the CDF (a number from 0.5 to 4, default 1.0; used by "
                "power-test)") in text
        assert "--floor-level N lowest output, in percent (a whole number from 0 to 100, " \
               "default 0; used by power-test)" in text
        assert "--curve {up,down} direction of the map" in text
        code, _, err = _run(capsys, source, "-o", tmp_path / "out.npy", "--method", "power-test",
                            "--bins", "20", "--power", "2", "--floor-level", "10",
                            "--curve", "down", "--scope", "stack", "--dtype", "float64")
        assert (code, err) == (0, "")
        given = {"power": 2.0, "floor_level": 10, "curve": "down"}
        expected = histeq_gui.equalize(load_stack(source), "power-test", 20, "stack", **given)
        assert load_stack(tmp_path / "out.npy").tobytes() == expected.tobytes()
        assert read_sidecar(tmp_path / "out.npy")["params"] == {"bins": 20, **given}
        # the defaults when no option is given, recorded all the same
        code, _, err = _run(capsys, source, "-o", tmp_path / "plain.npy", "--method",
                            "power-test")
        assert (code, err) == (0, "")
        assert read_sidecar(tmp_path / "plain.npy")["params"] == {
            "bins": 256, "power": 1.0, "floor_level": 0, "curve": "up"}
    assert "--power" not in _help(capsys)


@pytest.mark.parametrize("args,message", [
    (["--method", "numpy", "--power", "2"],
     "--power is not a parameter of the numpy method (its parameters: --bins)"),
    (["--method", "power-test", "--power", "9"],
     "argument --power: power must be a number from 0.5 to 4, got 9.0"),
    (["--method", "power-test", "--power", "lots"],
     "argument --power: power must be a number from 0.5 to 4, got 'lots'"),
    (["--method", "power-test", "--floor-level", "2.5"],
     "argument --floor-level: floor_level must be a whole number from 0 to 100, got '2.5'"),
    (["--method", "power-test", "--curve", "sideways"],
     "argument --curve: curve must be one of 'up', 'down', got 'sideways'"),
])
def test_a_parameter_the_method_does_not_take_or_a_bad_value_is_a_usage_error(
        tmp_path, capsys, args, message):
    from throwaway_methods import registered

    source = _input(tmp_path)
    with registered():
        err = _usage_error(capsys, source, "-o", tmp_path / "o.npy", *args)
    assert message in err
    assert _listing(tmp_path) == ["in.npy"]


def test_a_parameter_may_say_how_its_text_is_read(tmp_path, capsys):
    """The hook for file-valued parameters: a Param with ``parse(text)`` gets the text."""
    from dataclasses import dataclass
    from typing import Callable

    from throwaway_methods import POWER, registered

    from histeq_gui.core.methods import Method, Param

    @dataclass(frozen=True)
    class FromFile(Param):
        parse: Callable = None

    np.save(tmp_path / "power.npy", np.array(3.0))
    power = FromFile("power", 1.0, float, "exponent, read from a .npy file", low=0.5, high=4,
                     parse=lambda text: float(np.load(text)))
    method = Method(**{**POWER.__dict__, "name": "file-power-test",
                       "params": (POWER.params[0], power) + POWER.params[2:]})
    source = _input(tmp_path)
    with registered(method):
        code, _, err = _run(capsys, source, "-o", tmp_path / "o.npy", "--method",
                            "file-power-test", "--power", tmp_path / "power.npy")
    assert (code, err) == (0, "")
    assert read_sidecar(tmp_path / "o.npy")["params"]["power"] == 3.0


def test_clahe_value_range_is_param_value_range_beside_the_stats_value_range(tmp_path, capsys):
    """clahe's value_range is named like --value-range (the statistics'): --param-value-range."""
    from skimage import data

    rng = np.random.default_rng(3)
    moon = data.moon()[:96, :80].astype(np.float64) * 15 + 200
    twelve = np.stack([moon, moon * 0.5 + 900]) + rng.normal(0, 3, (2, 96, 80))
    source = _input(tmp_path, np.clip(np.round(twelve), 0, 4095).astype(np.uint16))
    code, _, err = _run(capsys, source, "-o", tmp_path / "out.npy", "--method", "clahe",
                        "--param-value-range", "0,4095", "--dtype", "float64")
    assert (code, err) == (0, "")
    expected = histeq_gui.equalize(load_stack(source), "clahe", value_range=(0, 4095))
    assert load_stack(tmp_path / "out.npy").tobytes() == expected.tobytes()
    assert not np.array_equal(expected, histeq_gui.equalize(load_stack(source), "clahe"))
    # a bad range is the parameter's own usage error, not a missing file
    err = _usage_error(capsys, source, "-o", tmp_path / "bad.npy", "--method", "clahe",
                       "--param-value-range", "5")
    assert "argument --param-value-range: value_range must be 'image' or two numbers" in err
    assert not (tmp_path / "bad.npy").exists()


def test_a_parameter_named_like_an_option_gets_a_prefixed_flag(tmp_path, capsys):
    from throwaway_methods import POWER, registered

    from histeq_gui.core.methods import Param

    method = POWER.__class__(**{**POWER.__dict__, "name": "scope-test", "params": (
        POWER.params[0], Param("scope", 1.0, float, "a clash", low=0.5, high=4))})
    with registered(method):
        assert "--param-scope X a clash" in _help(capsys)


# --- --stats: the statistics table as CSV -----------------------------------------------------

def _read_csv(path):
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _assert_csv_equals_table(path, table):
    header, rows = _read_csv(path)
    assert header == list(table)
    assert len(rows) == table.n_images
    for k, name in enumerate(header):
        column = [row[k] for row in rows]
        values = table[name]
        if values.dtype.kind == "f":
            np.testing.assert_array_equal(np.array([float(v) for v in column]), values)
        elif values.dtype.kind == "b":
            assert column == ["true" if v else "false" for v in values]
        elif values.dtype.kind in "iu":
            assert [int(v) for v in column] == values.tolist()
        else:
            assert column == [str(v) for v in values]


def test_stats_alone_writes_the_image_stats_table(tmp_path, capsys):
    from skimage import data

    stack = np.stack([data.camera()[::8, ::8], data.moon()[::8, ::8],        # real photographs
                      data.coins()[::4, ::4][:64, :64], np.full((64, 64), 7, np.uint8)])
    source = _input(tmp_path, stack)
    code, out, err = _run(capsys, source, "--stats", tmp_path / "stats.csv", "--bins", "64")
    assert (code, err) == (0, "")
    assert out == (f"wrote {tmp_path / 'stats.csv'}: statistics of 4 images, {len(COLUMNS)} "
                   f"columns; sidecar {tmp_path / 'stats.csv.json'}\n")
    expected = histeq_gui.image_stats(load_stack(source), bins=64, channel_axis="auto")
    _assert_csv_equals_table(tmp_path / "stats.csv", expected)
    info = read_sidecar(tmp_path / "stats.csv")
    assert info["kind"] == "image statistics" and info["rows"] == 4
    assert info["source"] == str(source.absolute()) and info["bins"] == 64
    assert _listing(tmp_path) == ["in.npy", "stats.csv", "stats.csv.json"]


def test_stats_with_an_output_writes_both(tmp_path, capsys):
    from throwaway_methods import registered

    array = _stack((7, 1, 16, 12), "float32")
    array[2, 0, 3, 3] = np.nan
    source = _input(tmp_path, array)
    with registered():
        code, out, err = _run(capsys, source, "-o", tmp_path / "eq.tif", "--stats",
                              tmp_path / "s.csv", "--method", "power-test", "--power", "2",
                              "--scope", "stack")
        assert (code, err) == (0, "")
        expected = histeq_gui.image_stats(array, "power-test", scope="stack", power=2.0)
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"wrote {tmp_path / 'eq.tif'}")
    assert lines[1].startswith(f"wrote {tmp_path / 's.csv'}: statistics of 7 images")
    _assert_csv_equals_table(tmp_path / "s.csv", expected)
    assert read_sidecar(tmp_path / "s.csv")["method_params"] == {"power": 2.0}
    assert read_sidecar(tmp_path / "eq.tif")["params"]["power"] == 2.0
    assert _listing(tmp_path) == ["eq.tif", "eq.tif.json", "in.npy", "s.csv", "s.csv.json"]


def test_stats_of_a_folder_are_named_after_its_files(tmp_path, capsys):
    folder = tmp_path / "faces"
    stack = _stack((3, 16, 12))
    save_stack(folder, stack)
    names = sorted(os.listdir(folder))
    code, _, err = _run(capsys, folder, "--stats", tmp_path / "s.csv")
    assert (code, err) == (0, "")
    header, rows = _read_csv(tmp_path / "s.csv")
    assert [row[header.index("name")] for row in rows] == names
    _assert_csv_equals_table(tmp_path / "s.csv",
                             histeq_gui.image_stats(load_stack(folder), names=names,
                                                    channel_axis="auto"))


def test_stats_targets_are_checked_before_reading(tmp_path, capsys, monkeypatch):
    from histeq_gui.core import io

    source = _input(tmp_path)
    (tmp_path / "old.csv").write_text("keep")

    def refuse(*args, **kwargs):
        raise AssertionError("read before checking the targets")
    monkeypatch.setattr(io, "open_reader", refuse)
    for args, fragment in [
            (["--stats", tmp_path / "old.csv"], "exists; pass --overwrite"),
            (["--stats", tmp_path / "missing" / "s.csv"], "does not exist"),
            (["--stats", tmp_path], "is a folder"),
            (["--stats", source], "it is the input"),
            (["--stats", tmp_path / "o.npy", "-o", tmp_path / "o.npy"], "the same file"),
            (["--stats", tmp_path / "o.npy.json", "-o", tmp_path / "o.npy"], "the same file")]:
        code, out, err = _run(capsys, source, *args)
        assert code == 1 and err.count("\n") == 1 and fragment in err, err
    assert (tmp_path / "old.csv").read_text() == "keep"
    assert _listing(tmp_path) == ["in.npy", "old.csv"]


def test_stats_overwrite_replaces_atomically_and_a_failure_leaves_the_old_file(tmp_path, capsys,
                                                                                monkeypatch):
    from histeq_gui.core import stats_csv

    source = _input(tmp_path)
    (tmp_path / "s.csv").write_text("old")
    assert _run(capsys, source, "--stats", tmp_path / "s.csv", "--overwrite")[0] == 0
    assert (tmp_path / "s.csv").read_text().startswith("index,name,")

    def broken(columns, fh):
        fh.write("index,na")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(stats_csv, "_write", broken)
    before = (tmp_path / "s.csv").read_bytes()
    code, _, err = _run(capsys, source, "--stats", tmp_path / "s.csv", "--overwrite")
    assert code == 1 and err.count("\n") == 1
    assert (tmp_path / "s.csv").read_bytes() == before
    assert _listing(tmp_path) == ["in.npy", "s.csv", "s.csv.json"]


def test_neither_output_nor_stats_is_a_usage_error(tmp_path, capsys):
    err = _usage_error(capsys, _input(tmp_path))
    assert "-o/--output (or --stats STATS.csv" in err
