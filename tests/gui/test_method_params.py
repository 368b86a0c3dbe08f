"""The methods' own parameters in the viewer (issue 7): state, generated controls, computation,
export, transfer curve.  Parametrized over the registry where the property is generic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from skimage import data as skdata
from skimage.exposure import equalize_adapthist, match_histograms

from histeq_gui import equalize
from histeq_gui.cli import main as histeq_main
from histeq_gui.core.equalize import stack_params
from histeq_gui.core.io import sidecar_path
from histeq_gui.core.methods import METHODS, get_method
from histeq_gui.gui import param_controls
from histeq_gui.gui.compute import compute_view, params_key, resolve_stack_params
from histeq_gui.gui.param_controls import ReferenceControl
from histeq_gui.gui.preferences import Preferences
from histeq_gui.gui.setting import check_params
from histeq_gui.gui.stack_file import LoadedStack
from histeq_gui.gui.state import ViewerState

OWN = [(m, p) for m in METHODS for p in get_method(m).params if p.name != "bins"]


def some_value(param, n_images=4):
    """A valid non-default value of ``param`` (what a user would pick)."""
    if param.name == "reference":
        return 2
    if param.name == "value_range":          # clahe: the data's range, typed as low,high
        return "20,200"
    if param.type is int:
        return int(min(param.high or 1000, max(param.low or 0, 0) + 5))
    if param.type is float:
        low, high = param.low or 0.0, param.high or 10.0
        return round(low + (high - low) * 0.05, 4)
    if param.type is str:
        return next(c for c in param.choices if c != param.default)
    raise AssertionError(f"no test value for {param}")


def set_through_control(control, value):
    """Set ``value`` as a user would, through the control's own widgets."""
    if isinstance(control, ReferenceControl):
        control.combo.setCurrentIndex(control.combo.findData("index"))
        control.combo.activated.emit(control.combo.currentIndex())
        control.index_spin.setValue(value)
    elif hasattr(control, "spin"):
        control.spin.setValue(value)
    elif hasattr(control, "combo"):
        control.combo.setCurrentIndex(control.combo.findData(value))
        control.combo.activated.emit(control.combo.currentIndex())
    else:
        control.edit.setText(str(value))
        control.edit.setModified(True)
        control.edit.editingFinished.emit()


@pytest.fixture
def faces(window, wait_idle):
    """Four real photographs (scikit-image's lfw faces, float64 in [0, 1]) as uint8."""
    faces = (skdata.lfw_subset()[:4] * 255).round().astype(np.uint8)
    window.opener.set_stack(LoadedStack.from_array(faces))
    wait_idle(window)
    return faces


# ------------------------------------------------------------------ state
def test_params_are_checked_and_remembered_per_method():
    state = ViewerState()
    seen = []
    state.paramsChanged.connect(seen.append)
    state.set_method("clahe")
    state.set_param("clip_limit", 0.05)
    assert state.params == {"clip_limit": 0.05} and seen[-1] == {"clip_limit": 0.05}
    with pytest.raises(ValueError, match="clip_limit must be a number above 0 and at most 1"):
        state.set_param("clip_limit", 0)
    with pytest.raises(ValueError, match="no parameter 'levels'"):
        state.set_param("levels", 8)
    with pytest.raises(ValueError, match="no parameter 'bins'"):
        state.set_param("bins", 8)          # the viewer's bins are a setting of their own
    state.set_method("textbook")
    assert state.params == {} and seen[-1] == {}
    state.set_param("levels", 8)
    state.set_method("clahe")
    assert state.params == {"clip_limit": 0.05}
    state.reset_param("clip_limit")
    assert state.params == {}
    assert state.params_of("textbook") == {"levels": 8}
    n = len(seen)
    state.set_params({})                    # no change: no signal
    assert len(seen) == n


@pytest.mark.parametrize("method", [m for m in METHODS if "stack" not in get_method(m).scopes])
def test_a_method_without_stack_scope_coerces_it_and_gives_it_back(method):
    state = ViewerState(method="numpy", scope="stack")
    scopes = []
    state.scopeChanged.connect(scopes.append)
    state.set_method(method)
    assert state.scope == "image" and scopes == ["image"]
    with pytest.raises(ValueError, match="no 'stack' scope"):
        state.set_scope("stack")
    state.set_method("numpy")                 # the scope asked for comes back
    assert state.scope == "stack"


def test_params_survive_a_restart(tmp_path):
    prefs = Preferences.from_file(tmp_path / "p.ini")
    state = ViewerState()
    prefs.follow(state)
    state.set_method("clahe")
    state.set_param("clip_limit", 0.03)
    state.set_param("kernel_size", 16)
    state.set_method("match")
    state.set_param("reference", Path("/somewhere/ref.png"))
    state.set_method("textbook")
    state.set_param("levels", 8)
    prefs.sync()
    again = ViewerState()
    Preferences.from_file(tmp_path / "p.ini").restore_view(again)
    assert again.method == "textbook" and again.params == {"levels": 8}
    assert again.params_of("clahe") == {"clip_limit": 0.03, "kernel_size": 16}
    assert again.params_of("match") == {"reference": Path("/somewhere/ref.png")}


def test_remembered_params_that_are_no_longer_valid_are_skipped(tmp_path):
    prefs = Preferences.from_file(tmp_path / "p.ini")
    prefs.set_params("clahe", {"clip_limit": 7.0})
    prefs._set("params/textbook", "not json")
    state = ViewerState()
    prefs.restore_view(state)
    assert state.params_of("clahe") == {} and state.params_of("textbook") == {}


# ------------------------------------------------------------------ controls
@pytest.mark.parametrize("method, param", OWN, ids=[f"{m}-{p.name}" for m, p in OWN])
def test_every_param_gets_a_control_that_sets_the_state_and_the_image(window, faces, method,
                                                                       param):
    state = window.state
    state.set_method(method)
    panel = window.panel("settings")
    controls = panel.param_controls
    assert set(controls) == {p.name for p in get_method(method).params if p.name != "bins"}
    control = controls[param.name]
    assert param.help in control.toolTip() and param.describe() in control.toolTip()
    value = some_value(param)
    set_through_control(control, value)
    assert state.params[param.name] == param.check(value)     # as checked: "20,200" a pair
    # The image shown is the API's for the whole stack, image shown.
    expected = equalize(faces, method, state.bins, **state.params)[state.index]
    np.testing.assert_array_equal(window.controller.result.equalized, expected)


def test_controls_are_rebuilt_with_the_method_and_follow_the_state(window, faces):
    state, panel = window.state, window.panel("settings")
    state.set_method("numpy")
    assert panel.param_controls == {}
    state.set_method("clahe")
    clip = panel.param_controls["clip_limit"]
    kernel = panel.param_controls["kernel_size"]
    assert clip.spin.value() == pytest.approx(0.01)
    assert kernel.spin.text() == "auto"          # the word below the range
    state.set_param("kernel_size", 12)           # state -> widget
    assert kernel.spin.value() == 12
    kernel.spin.setValue(kernel.spin.minimum())  # widget -> state: back to 'auto'
    assert state.params["kernel_size"] == "auto"
    state.set_method("textbook")
    levels = panel.param_controls["levels"]
    assert levels.spin.text().startswith("default")
    levels.spin.setValue(8)
    assert state.params == {"levels": 8}
    levels.spin.setValue(levels.spin.minimum())  # the image-dependent default again
    assert state.params == {}
    assert state.params_of("clahe") == {"kernel_size": "auto"}     # remembered per method


def test_scope_control_says_why_stack_is_not_offered(window, faces):
    panel = window.panel("settings")
    window.state.set_method("clahe")
    button = panel.scope_buttons["stack"]
    assert not button.isEnabled() and "n/a" in button.text()
    assert "clahe works on each image by itself" in button.toolTip()
    window.state.set_method("numpy")
    assert button.isEnabled() and button.text() == "Whole stack"


def test_how_it_works_opens_the_methods_help(window, faces):
    window.state.set_method("clahe")
    window.panel("settings").help_button.click()
    box = window._method_help
    assert box.isVisible() and "equalize_adapthist" in box.text()
    box.close()


def test_reference_index_whole_stack_and_file(window, faces, tmp_path, monkeypatch,
                                              message_boxes):
    state = window.state
    state.set_method("match")
    control = window.panel("settings").param_controls["reference"]
    assert control.combo.currentData() == "stack" and not control.index_spin.isVisible()
    state.set_index(1)
    np.testing.assert_array_equal(window.controller.result.equalized,
                                  equalize(faces, "match")[1])
    set_through_control(control, 3)
    assert state.params == {"reference": 3}
    # Image 1 matched to image 3: scikit-image's own result, divided by 255.
    np.testing.assert_allclose(window.controller.result.equalized,
                               match_histograms(faces[1], faces[3]) / 255, atol=1e-12)
    assert control.index_spin.maximum() == len(faces) - 1
    # A file: read by the loader; a reference that cannot be read is a message, nothing changes.
    reference = (skdata.camera()[::8, ::8]).astype(np.uint8)
    good = tmp_path / "ref.npy"
    np.save(good, reference)
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not an array")
    monkeypatch.setattr(param_controls, "choose_reference_file", lambda parent: str(bad))
    control.combo.setCurrentIndex(control.combo.findData("file"))
    control.combo.activated.emit(control.combo.currentIndex())
    assert message_boxes.texts("warning") and state.params == {"reference": 3}
    assert control.combo.currentData() == "index"
    monkeypatch.setattr(param_controls, "choose_reference_file", lambda parent: str(good))
    control.combo.setCurrentIndex(control.combo.findData("file"))
    control.combo.activated.emit(control.combo.currentIndex())
    assert state.params == {"reference": good}
    assert control.file_label.text() == "ref.npy"
    np.testing.assert_allclose(window.controller.result.equalized,
                               match_histograms(faces[1], reference) / 255, atol=1e-12)
    state.set_param("reference", 99)         # out of range: one line, the viewer keeps going
    assert "out of range" in window.controller.problem()


# ------------------------------------------------------------------ computation
def test_stack_aware_params_resolve_once_per_stack(window, faces, monkeypatch):
    from histeq_gui.gui import controller as controller_module
    calls = []
    real = controller_module.resolve_stack_params

    def counting(*args, **kwargs):
        calls.append(args[1].name)          # the controller passes the Method
        return real(*args, **kwargs)
    monkeypatch.setattr(controller_module, "resolve_stack_params", counting)
    window.state.set_method("match")
    for i in range(len(faces)):
        window.state.set_index(i)
    assert calls == ["match"]               # once for the stack, not per image
    window.opener.set_stack(LoadedStack.from_array(faces[:2].copy()))
    assert calls == ["match", "match"]      # a new stack: resolved again
    np.testing.assert_array_equal(window.controller.result.equalized,
                                  equalize(faces[:2], "match")[0])


HARD = {
    "float-outliers": lambda: np.where(np.arange(3 * 20 * 24).reshape(3, 20, 24) % 97 == 0,
                                       1e6, np.random.default_rng(1).random((3, 20, 24))),
    "uint16": lambda: (skdata.camera()[None, ::8, ::8].astype(np.uint16) * 257
                       + np.arange(3, dtype=np.uint16)[:, None, None]),
    "colour": lambda: skdata.astronaut()[None, ::16, ::16].repeat(2, axis=0),
}


@pytest.mark.parametrize("method, params", [("clahe", {"clip_limit": 0.05, "kernel_size": 5}),
                                            ("match", {"reference": "stack"}),
                                            ("match", {"reference": 1}),
                                            ("textbook", {"levels": 8})])
@pytest.mark.parametrize("case", sorted(HARD))
def test_hard_cases_equal_the_api(window, wait_idle, case, method, params):
    images = HARD[case]()
    window.opener.set_stack(LoadedStack.from_array(images))
    wait_idle(window)
    axis = window.state.stack.layout.channel_axis
    assert (axis is not None) == (case == "colour")
    window.state.set_method(method)
    window.state.set_params(params)
    window.state.set_index(1)
    result = window.controller.result
    assert result.error is None, result.error
    expected = equalize(images, method, 256, channel_axis=axis, **params)[1]
    np.testing.assert_array_equal(result.equalized, expected)
    assert result.histograms and result.equalized_histograms   # the plots have data
    for h in result.equalized_histograms:
        assert h.counts.sum() == np.isfinite(expected[..., 0] if axis else expected).sum()


def test_compute_view_and_params_key_by_hand():
    stack = LoadedStack.from_array((skdata.lfw_subset()[:3] * 255).astype(np.uint8))
    match = get_method("match")
    resolved = resolve_stack_params(stack, match, 256, {"reference": 0})
    expected = stack_params(stack.array, "match", reference=0)
    assert set(resolved) == set(expected) == {"reference"}
    assert len(resolved["reference"]) == len(expected["reference"]) == 1     # one channel
    for got, want in zip(resolved["reference"], expected["reference"]):
        np.testing.assert_array_equal(got.values, want.values)
        np.testing.assert_array_equal(got.quantiles, want.quantiles)
        assert (got.low, got.high, got.pixels) == (want.low, want.high, want.pixels)
    view = compute_view(stack, 2, match, 256, "image", params=resolved)
    np.testing.assert_allclose(view.equalized, match_histograms(stack.array[2],
                                                                stack.array[0]) / 255,
                               atol=1e-12)
    image = np.zeros((2, 2))
    assert params_key({"reference": image}) == params_key({"reference": image})
    assert params_key({"reference": image}) != params_key({"reference": image.copy()})


# ------------------------------------------------------------------ transfer curve
def test_clahe_has_no_transfer_curve_and_says_why(window, faces, qtbot):
    window.state.set_method("clahe")
    panel = window.panel("transfer")
    assert not panel.plot.isVisibleTo(panel) and panel.note_label.isVisibleTo(panel)
    assert "CLAHE maps each pixel by its neighbourhood: no single transfer curve" in \
        panel.note_label.text()
    window.panel("images").views.hovered.emit(5, 7)        # the trace does not crash
    result = window.controller.result
    traces = panel.current_traces()
    assert traces[0].output == result.equalized[7, 5]        # the pixel's own output
    assert "neighbourhood" in panel.trace_label.text()
    window.state.set_cursor(None)
    window.state.set_probe(100.0)                            # a value alone has no output
    assert np.isnan(panel.current_traces()[0].output)
    # Its histograms: the original's plain counts, the output counted in plain bins.
    expected = equalize_adapthist(faces[0], clip_limit=0.01, nbins=256)
    np.testing.assert_allclose(result.equalized, expected, atol=1e-9)
    assert result.histograms[0].counts.sum() == faces[0].size
    assert result.equalized_histograms[0].counts.sum() == faces[0].size
    window.state.set_method("match")                         # a curve again
    assert panel.plot.isVisibleTo(panel) and not panel.note_label.isVisibleTo(panel)


# ------------------------------------------------------------------ export
@pytest.mark.parametrize("method, param, value, flag", [
    ("clahe", "clip_limit", 0.05, "--clip-limit"),
    ("match", "reference", 2, "--reference"),
    ("textbook", "levels", 8, "--levels"),
])
def test_export_with_params_equals_the_histeq_command(qtbot, window, wait_idle, tmp_path, method,
                                                      param, value, flag):
    # Real photographs big enough that CLAHE's tiles see the clip limit (128x128 each).
    data = np.stack([skdata.camera()[i::4, i::4][:128, :128] for i in range(3)]
                    + [skdata.moon()[i::4, i::4][:128, :128] for i in range(2)])[:, None]
    source = tmp_path / "faces.npy"
    np.save(source, data)
    window.opener.open_path(source)
    wait_idle(window)
    window.state.set_method(method)
    window.state.set_param(param, value)
    dialog = window.open_export_dialog()
    assert dialog.settings().params == {param: value}
    assert f"{param} = {value}" in dialog.params_label.text()
    out_gui = tmp_path / "gui.tif"
    dialog.output_edit.setText(str(out_gui))
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        assert dialog.start_export()
    out_cli = tmp_path / "cli.tif"
    assert histeq_main([str(source), "-o", str(out_cli), "--method", method, flag, str(value),
                        "-q"]) == 0
    assert out_gui.read_bytes() == out_cli.read_bytes()
    default = tmp_path / "default.tif"
    assert histeq_main([str(source), "-o", str(default), "--method", method, "-q"]) == 0
    assert out_gui.read_bytes() != default.read_bytes()     # the parameter mattered
    sidecar = json.loads(sidecar_path(out_gui).read_text())
    assert sidecar["params"][param] == value


def test_export_dialog_offers_no_stack_scope_for_clahe(window, faces):
    window.state.set_method("clahe")
    dialog = window.open_export_dialog()
    model = dialog.scope_combo.model()
    assert not model.item(dialog.scope_combo.findData("stack")).isEnabled()
    assert dialog.settings().scope == "image"
    dialog.method_combo.setCurrentIndex(dialog.method_combo.findData("numpy"))
    assert model.item(dialog.scope_combo.findData("stack")).isEnabled()
    assert dialog.settings().params == {}
    dialog.reject()


def test_check_params_names_the_method():
    with pytest.raises(ValueError, match="the numpy method has no parameter 'clip_limit'"):
        check_params(get_method("numpy"), {"clip_limit": 0.1})


# ------------------------------------------------------------------ thumbnails, statistics, app
def qimage_pixels(image):
    from PyQt5.QtGui import QImage
    image = image.convertToFormat(QImage.Format_RGB32)
    h, w = image.height(), image.width()
    buffer = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    return buffer.reshape(h, image.bytesPerLine() // 4, 4)[:, :w, 2].astype(np.int64)


@pytest.mark.parametrize("method, params", [("match", {"reference": 3}),
                                            ("match", {"reference": "stack"}),
                                            ("clahe", {"clip_limit": 0.05}),
                                            ("textbook", {"levels": 4})])
def test_thumbnails_use_the_params_and_the_whole_stacks_reference(method, params):
    from histeq_gui.gui.thumbnails import Thumbnails, Variant
    camera, moon = skdata.camera()[::4, ::4], skdata.moon()[::4, ::4]
    photos = np.stack([camera[r:r + 64, c:c + 64] for r in (0, 64) for c in (0, 64)]
                      + [moon[:64, :64], moon[64:, 64:]])
    thumbs = Thumbnails(LoadedStack.from_array(photos), size=64)
    variant = Variant.equalized(method, 256, "image", params)
    assert variant.params_dict == params
    made = thumbs.make(variant, [1, 4])             # a page without the reference image
    expected = equalize(photos, method, 256, **params) * 255
    for i in (1, 4):
        assert np.abs(qimage_pixels(made[i]) - expected[i]).max() <= 0.5 + 1e-4
    # Not what the page alone, or the method's defaults, would give.
    if params.get("reference") == "stack":
        other = (equalize(photos[[1, 4]], method, 256, **params) * 255)[1]
    else:
        other = (equalize(photos, method, 256) * 255)[4]
    assert np.abs(qimage_pixels(made[4]) - other).max() > 1


def test_statistics_use_the_params(qtbot, window, wait_idle):
    from histeq_gui.core.stats import image_stats
    photos = np.stack([skdata.camera()[i::4, i::4][:128, :128] for i in range(3)])
    window.opener.set_stack(LoadedStack.from_array(photos))
    wait_idle(window)
    window.state.set_method("clahe")
    window.state.set_param("clip_limit", 0.2)
    window.show_view("stats")
    qtbot.waitUntil(lambda: window.inspection.table is not None and not window.inspection.busy
                    and not window.inspection.stale, timeout=20000)
    table = window.inspection.table
    assert table.info["method_params"] == {"clip_limit": 0.2}
    expected = image_stats(photos, method="clahe", clip_limit=0.2)
    default = image_stats(photos, method="clahe")
    for column in ("entropy_after", "mean_abs_change"):
        np.testing.assert_array_equal(table[column], expected[column])
        assert not np.array_equal(table[column], default[column])


def test_app_takes_the_methods_options_as_histeq(capsys):
    from histeq_gui.gui.app import _set_method_params, build_parser
    parser = build_parser()
    args = parser.parse_args(["--method", "clahe", "--clip-limit", "0.05", "--kernel-size",
                              "auto"])
    state = ViewerState(method="clahe")
    _set_method_params(parser, args, state)
    assert state.params == {"clip_limit": 0.05, "kernel_size": "auto"}
    for argv in (["--method", "clahe", "--scope", "stack"], ["--method", "numpy",
                                                             "--clip-limit", "0.1"]):
        args = parser.parse_args(argv)
        state = ViewerState(method=argv[1])
        with pytest.raises(SystemExit) as exit_info:
            _set_method_params(parser, args, state)
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no 'stack' scope" in err and "--clip-limit is not a parameter of the numpy" in err


def test_a_method_registered_is_in_the_viewer_with_its_controls_help_and_result(qtbot, prefs,
                                                                               wait_idle):
    """Issue 7: a new method is one registry entry; the viewer's method control, its parameter
    controls, its help page and the image shown follow from it."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from throwaway_methods import power_reference, registered

    from histeq_gui.gui.main_window import MainWindow
    from histeq_gui.gui.method_help import method_help_html

    with registered():
        w = MainWindow(prefs)
        qtbot.addWidget(w)
        try:
            w.opener.open_sample()
            wait_idle(w)
            settings = w.panel("settings")
            combo = settings.method_combo
            assert combo.findData("power-test") >= 0
            w.state.set_method("power-test")
            assert set(settings.param_controls) == {"power", "floor_level", "curve"}
            assert "cdf ** power" in method_help_html("power-test")
            w.state.set_params({"power": 2.0, "curve": "down"})
            w.state.set_index(5)
            qtbot.waitUntil(lambda: not w.busy and w.controller.result is not None
                            and w.controller.result.index == 5, timeout=20000)
            image = w.state.stack.image(5)
            np.testing.assert_allclose(w.controller.result.equalized,
                                       power_reference(image, 256, power=2.0, curve="down"),
                                       rtol=0, atol=1e-12)
        finally:
            w.close()


@pytest.mark.parametrize("dtype, text", [("uint8", "default: 256"), ("uint16", "default: 65,536"),
                                         ("float32", "default")])
def test_a_default_that_depends_on_the_images_says_its_value_in_a_few_words(window, dtype, text):
    """textbook's L: the field shows what it is for this stack, not a sentence cut off."""
    scale = 1 if dtype == "uint8" else 257
    stack = skdata.camera()[::8, ::8][np.newaxis].astype(np.float64) * scale
    window.opener.set_stack(LoadedStack.from_array(stack.astype(dtype)))
    window.state.set_method("textbook")
    window.wait_until_idle()
    spin = window.panel("settings").param_controls["levels"].spin
    assert spin.specialValueText() == text and spin.value() == spin.minimum()
    assert spin.text() == text
    assert spin.width() >= spin.fontMetrics().horizontalAdvance(text)
