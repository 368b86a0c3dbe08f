"""Starting the viewer: options, --screenshot, python -m histeq_gui."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PyQt5.QtGui import QImage

from histeq_gui.gui.app import build_parser, main


def image_of(path):
    image = QImage(str(path))
    assert not image.isNull()
    return image


def pixels(path):
    """The picture as an (H, W, 4) array of bytes."""
    image = image_of(path).convertToFormat(QImage.Format_RGB32)
    data = image.constBits().asstring(image.sizeInBytes())
    return np.frombuffer(data, np.uint8).reshape(image.height(), image.width(), 4)


def colours(region):
    """Number of distinct colours in an (h, w, 4) region."""
    return len(np.unique(region.reshape(-1, 4), axis=0))


def test_screenshot_of_the_sample(tmp_path, capsys):
    out = tmp_path / "shot.png"
    assert main(["--screenshot", str(out)]) == 0
    image = image_of(out)
    assert image.width() >= 1200 and image.height() >= 750
    assert str(out) in capsys.readouterr().out


def test_screenshot_changes_with_method_and_bins(tmp_path):
    shots = {}
    for name, args in {"numpy256": ["--method", "numpy", "--bins", "256"],
                       "numpy8": ["--method", "numpy", "--bins", "8"],
                       "skimage": ["--method", "skimage"]}.items():
        shots[name] = tmp_path / f"{name}.png"
        assert main([*args, "--screenshot", str(shots[name])]) == 0
    a, b, c = (pixels(shots[k]) for k in ("numpy256", "numpy8", "skimage"))
    assert a.shape == b.shape == c.shape
    assert (a != b).mean() > 0.01 and (a != c).mean() > 0.01


def test_screenshot_of_a_given_file(tmp_path):
    data = np.random.default_rng(2).integers(0, 60000, (4, 50, 70), dtype=np.uint16)
    path = tmp_path / "given.npy"
    np.save(path, data)
    out = tmp_path / "given.png"
    # exit 0: the stack loaded and the window showed an equalized image (else 1)
    assert main([str(path), "--index", "2", "--scope", "stack", "--screenshot", str(out)]) == 0
    shot = pixels(out)
    height, width = shot.shape[:2]
    assert width >= 1200 and height >= 750
    # The middle of each image view shows the noise image, not a blank view.
    rows = slice(int(0.25 * height), int(0.45 * height))
    original = shot[rows, int(0.10 * width):int(0.25 * width)]
    equalized = shot[rows, int(0.47 * width):int(0.62 * width)]
    assert colours(original) > 50 and colours(equalized) > 50
    assert (original != equalized).any()


def test_screenshot_says_when_the_index_was_clamped(tmp_path, capsys):
    path = tmp_path / "four.npy"
    np.save(path, np.random.default_rng(3).integers(0, 255, (4, 20, 20), dtype=np.uint8))
    out = tmp_path / "clamped.png"
    assert main([str(path), "--index", "5000", "--screenshot", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: image 5000 does not exist" in err and "showing image 3" in err
    assert out.exists()


def test_screenshot_of_a_bad_file_fails_cleanly(tmp_path, capsys):
    path = tmp_path / "bad.npy"
    path.write_text("not numpy")
    assert main([str(path), "--screenshot", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert "bad.npy" in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_screenshot_without_an_equalized_image_fails(tmp_path, capsys):
    path = tmp_path / "half.npy"
    np.save(path, np.random.default_rng(6).random((2, 32, 32)).astype(np.float16))
    out = tmp_path / "half.png"
    assert main([str(path), "--bins", "4096", "--screenshot", str(out)]) == 1
    err = capsys.readouterr().err
    assert "too many bins (4096)" in err and "Traceback" not in err
    assert not out.exists()


def test_screenshot_of_an_npz_of_several_arrays_needs_a_key(tmp_path, capsys):
    path = tmp_path / "two.npz"
    np.savez(path, a=np.zeros((2, 8, 8), np.uint8),
             b=np.arange(192, dtype=np.uint8).reshape(3, 8, 8))
    out = tmp_path / "two.png"
    assert main([str(path), "--screenshot", str(out)]) == 1
    err = capsys.readouterr().err
    assert "holds several arrays" in err and "--key" in err and not out.exists()
    assert main([str(path), "--key", "b", "--screenshot", str(out)]) == 0
    assert image_of(out).width() >= 1200


def test_screenshot_with_the_export_dialog(tmp_path):
    plain, with_dialog = tmp_path / "plain.png", tmp_path / "export.png"
    assert main(["--index", "5", "--screenshot", str(plain)]) == 0
    assert main(["--index", "5", "--show-export", "--screenshot", str(with_dialog)]) == 0
    a, b = pixels(plain), pixels(with_dialog)
    assert a.shape == b.shape and b.shape[1] >= 1200
    height, width = a.shape[:2]
    middle = (slice(height // 3, 2 * height // 3), slice(width // 3, 2 * width // 3))
    assert (a[middle] != b[middle]).any(axis=-1).mean() > 0.5   # the dialog covers the middle
    corner = (slice(0, 20), slice(0, 20))
    assert (b[corner].astype(int).sum() < a[corner].astype(int).sum())   # the window is dimmed


@pytest.mark.parametrize("args", [["--bins", "0"], ["--bins", "65537"], ["--method", "cv2"],
                                  ["--index", "-1"], ["--scope", "all"]])
def test_bad_options_are_usage_errors(args, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(args)
    assert info.value.code == 2


@pytest.mark.parametrize("args, error", [
    (["--bins", "0"], "argument --bins: bins must be"),
    (["--method", "cv2"], "argument --method: invalid choice: 'cv2'"),
    (["--channel-axis", "x"], "argument --channel-axis: "),
])
def test_usage_errors_are_one_line_as_histeqs(args, error, capsys, tmp_path):
    """histeq-gui reads the options it shares with histeq the same way, with the same line."""
    from histeq_gui.cli import main as histeq_main
    lines = {}
    for prog, run in (("histeq-gui", lambda: build_parser().parse_args(args)),
                      ("histeq", lambda: histeq_main([str(tmp_path / "in.npy"), "-o",
                                                      str(tmp_path / "out.npy"), *args]))):
        with pytest.raises(SystemExit) as info:
            run()
        err = capsys.readouterr().err
        assert info.value.code == 2 and err.count("\n") == 1, err
        assert err.startswith(f"{prog}: error: {error}")
        assert err.rstrip().endswith(f"see '{prog} --help'")
        lines[prog] = err.removeprefix(f"{prog}: ").split("; see")[0]
    assert lines["histeq-gui"] == lines["histeq"]


def test_a_bad_method_parameter_is_the_same_usage_error_in_both_commands(capsys, tmp_path):
    from histeq_gui.cli import main as histeq_main
    from histeq_gui.gui.app import _set_method_params
    from histeq_gui.gui.state import ViewerState
    argv = ["--method", "clahe", "--clip-limit", "5"]
    parser = build_parser()
    with pytest.raises(SystemExit):
        _set_method_params(parser, parser.parse_args(argv), ViewerState(method="clahe"))
    gui = capsys.readouterr().err
    with pytest.raises(SystemExit):
        histeq_main([str(tmp_path / "in.npy"), "-o", str(tmp_path / "out.npy"), *argv])
    cli = capsys.readouterr().err
    assert gui.startswith("histeq-gui: error: argument --clip-limit: clip_limit must be a number")
    assert gui.replace("histeq-gui", "histeq") == cli


def test_the_viewer_takes_nothing_from_the_histeq_command():
    """Both commands use histeq_gui.cli_options; the viewer's start imports no histeq_gui.cli."""
    code = ("import sys\n"
            "from histeq_gui.gui.app import build_parser\n"
            "build_parser().parse_args(['--method', 'clahe', '--clip-limit', '0.1', '--bins', "
            "'64', '--channel-axis', 'none'])\n"
            "print('histeq_gui.cli' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "False\n"


def test_options_parse():
    args = build_parser().parse_args(["stack.tif", "--method", "skimage", "--bins", "64",
                                      "--scope", "stack", "--index", "3"])
    assert (args.path, args.method, args.bins, args.scope, args.index) == \
        ("stack.tif", "skimage", 64, "stack", 3)


def run_main_without_a_loop(monkeypatch, qapp, args):
    """``main(args)`` with the window's show and the event loop stubbed; the window made."""
    from histeq_gui.gui.main_window import MainWindow
    windows = []
    monkeypatch.setattr(MainWindow, "show", lambda self: windows.append(self))
    monkeypatch.setattr(type(qapp), "exec_", lambda self: 0)    # no event loop to run
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)      # main() installs its own
    assert main(args) == 0
    [window] = windows
    return window


def test_remembered_scope_is_used_without_scope(tmp_path, monkeypatch, qapp):
    from histeq_gui.gui.preferences import Preferences
    settings = tmp_path / "settings.ini"
    remembered = Preferences.from_file(settings)
    remembered.set_scope("stack")
    remembered.sync()
    window = run_main_without_a_loop(monkeypatch, qapp, ["--settings", str(settings)])
    try:
        assert window.state.scope == "stack"
    finally:
        window.close()


def test_options_win_over_remembered_settings(tmp_path, monkeypatch, qapp):
    from histeq_gui.gui.main_window import MainWindow
    from histeq_gui.gui.preferences import Preferences
    settings = tmp_path / "settings.ini"
    remembered = Preferences.from_file(settings)
    remembered.set_method("skimage")
    remembered.set_bins(77)
    remembered.sync()
    windows = []
    monkeypatch.setattr(MainWindow, "show", lambda self: windows.append(self))
    monkeypatch.setattr(type(qapp), "exec_", lambda self: 0)    # no event loop to run
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)      # main() installs its own
    assert main(["--settings", str(settings), "--bins", "64", "--scope", "stack"]) == 0
    [window] = windows
    try:
        assert (window.state.method, window.state.bins, window.state.scope) == \
            ("skimage", 64, "stack")
    finally:
        window.close()


def test_python_dash_m(tmp_path):
    out = tmp_path / "m.png"
    result = subprocess.run([sys.executable, "-m", "histeq_gui", "--bins", "8", "--screenshot",
                             str(out)], capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert image_of(out).height() >= 750


def test_screenshot_size_has_a_minimum(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--size", "1000x600"])
    assert build_parser().parse_args(["--size", "1600x900"]).size == (1600, 900)


@pytest.mark.parametrize("size", ["1024x600", "1024x640"])
def test_a_netbook_screen_gets_a_picture_of_its_size(tmp_path, capsys, size):
    """1024x600 is accepted, and the window fits it: the PNG is that size, not wider."""
    out = tmp_path / "small.png"
    assert main(["--index", "5", "--trace", "52,30", "--size", size, "--screenshot",
                 str(out)]) == 0
    width, height = (int(v) for v in size.split("x"))
    assert (image_of(out).width(), image_of(out).height()) == (width, height)
    captured = capsys.readouterr()
    assert f"({width}x{height})" in captured.out and "warning" not in captured.err


def test_the_trace_under_the_transfer_curve_is_never_cut_off(qtbot, prefs, wait_idle):
    from PyQt5.QtCore import QSize

    from histeq_gui.gui.main_window import MainWindow
    w = MainWindow(prefs)
    qtbot.addWidget(w)
    w.fit(QSize(1024, 600))
    w.show()
    qtbot.waitExposed(w)
    try:
        w.opener.open_sample(5)
        wait_idle(w)
        w.state.set_cursor((52, 30))                  # five lines that wrap in a narrow dock
        label = w.panel("transfer").trace_label
        qtbot.waitUntil(lambda: "uint8 export" in label.text())
        panel = w.panel("transfer")
        needed = panel.trace_text_height(label.width())
        assert needed > panel._trace_height() and label.height() >= needed    # six lines here
    finally:
        w.close()
