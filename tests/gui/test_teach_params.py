"""The teaching views with each method's own parameters (issues 7 and 9).

Setting B of the comparison view has its own parameters; stack-aware ones
(``match``'s reference) are resolved against the whole stack, so each side
equals ``equalize(stack, ..., **params)[i]``; the worked table and "why it is
not flat" use the viewer's parameters; the region tool says up front that a
method takes no mask.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from test_teach import (
    BOOK_N,
    book_stack,
    check_difference,
    column,
    comparison,
    not_flat_panel,
    open_stack,
    photos,
    table_panel,
)

from histeq_gui import equalize
from histeq_gui.core.methods import METHODS, get_method
from histeq_gui.core.worked import diagonal_distance, equalize_again, output_cdf, worked_table
from histeq_gui.gui import compare_model
from histeq_gui.gui.setting import Setting

# ------------------------------------------------------------------ compare: B's parameters

CASES = [
    # (A method, A params, B method, B params)
    ("numpy", {}, "match", {"reference": 2}),
    ("numpy", {}, "match", {"reference": "stack"}),
    ("skimage", {}, "clahe", {"clip_limit": 0.05}),
    ("numpy", {}, "textbook", {"levels": 8}),
    ("textbook", {"levels": 4}, "textbook", {"levels": 8}),
    ("match", {"reference": 0}, "match", {"reference": "stack"}),
]


@pytest.mark.parametrize("a_method, a_params, b_method, b_params", CASES)
def test_compare_b_uses_its_own_parameters_as_the_api(qtbot, window, wait_idle, a_method,
                                                      a_params, b_method, b_params):
    stack = photos()
    open_stack(window, stack, wait_idle, index=1)
    state = window.state
    state.set_method(a_method)
    state.set_params(a_params)
    state.compare.set_method(b_method)
    state.compare.set_params(b_params)
    window.show_view("compare")
    panel, result = comparison(qtbot, window)
    for i in (1, 3):
        if i != 1:
            state.set_index(i)
            panel, result = comparison(qtbot, window)
        a = equalize(stack, a_method, 256, **a_params)[i]
        b = equalize(stack, b_method, 256, **b_params)[i]
        check_difference(panel, result, a, b)
        assert np.nanmax(np.abs(a - b)) == result.difference.max_abs
    for name, value in b_params.items():
        assert f"{name}={value!r}" in panel.views.titles[1].text


def test_compare_b_parameter_controls_write_setting_b(qtbot, window, wait_idle):
    stack = photos()
    open_stack(window, stack, wait_idle)
    state = window.state
    window.show_view("compare")
    controls = window.panel("compare").controls_b
    controls.method_combo.setCurrentIndex(controls.method_combo.findData("clahe"))
    assert set(controls.param_controls) == {p.name for p in get_method("clahe").params} - {"bins"}
    controls.param_controls["clip_limit"].spin.setValue(0.07)
    assert state.compare.params == {"clip_limit": 0.07} and state.params == {}
    panel, result = comparison(qtbot, window)
    check_difference(panel, result, equalize(stack[0], "numpy", 256),
                     equalize(stack, "clahe", clip_limit=0.07)[0])
    # match: the reference control, image # 3 of the stack
    controls.method_combo.setCurrentIndex(controls.method_combo.findData("match"))
    reference = controls.param_controls["reference"]
    reference.combo.setCurrentIndex(reference.combo.findData("index"))
    reference.combo.activated.emit(reference.combo.currentIndex())
    reference.index_spin.setValue(3)
    assert state.compare.params == {"reference": 3}
    panel, result = comparison(qtbot, window)
    check_difference(panel, result, equalize(stack[0], "numpy", 256),
                     equalize(stack, "match", reference=3)[0])
    # each method keeps its own parameters in B
    controls.method_combo.setCurrentIndex(controls.method_combo.findData("clahe"))
    assert state.compare.params == {"clip_limit": 0.07}
    assert controls.param_controls["clip_limit"].spin.value() == pytest.approx(0.07)
    # a value the registry refuses is said, and nothing changes
    notes = []
    controls.notify = notes.append
    controls.params_form.pick("clip_limit", 5.0)
    assert state.compare.params == {"clip_limit": 0.07} and "clip_limit" in notes[0]


def test_compare_b_resolves_the_stack_reference_in_a_job_for_big_stacks(qtbot, window,
                                                                       wait_idle, monkeypatch):
    stack = photos()
    open_stack(window, stack, wait_idle, index=2)
    monkeypatch.setattr(compare_model, "SYNC_STACK_VALUES", 10)     # every stack is "big"
    panel = window.panel("compare")
    jobs = []
    panel.compare.runner.busyChanged.connect(jobs.append)
    window.state.compare.set_method("match")
    window.state.compare.set_params({"reference": "stack"})
    window.show_view("compare")
    panel, result = comparison(qtbot, window)
    assert True in jobs
    check_difference(panel, result, equalize(stack[2], "numpy", 256),
                     equalize(stack, "match", reference="stack")[2])
    # resolved once per stack: the next image needs no job
    jobs.clear()
    window.state.set_index(0)
    panel, result = comparison(qtbot, window)
    assert jobs == []
    check_difference(panel, result, equalize(stack[0], "numpy", 256),
                     equalize(stack, "match", reference="stack")[0])


def test_compare_b_refuses_a_scope_its_method_lacks(qtbot, window, wait_idle):
    open_stack(window, photos(2), wait_idle)
    window.show_view("compare")
    b = window.state.compare
    controls = window.panel("compare").controls_b
    b.set_method("numpy")
    b.set_scope("stack")
    b.set_method("clahe")
    assert b.scope == "image"
    item = controls.scope_combo.model().item(controls.scope_combo.findData("stack"))
    assert not item.isEnabled() and "no whole-stack scope" in controls.scope_combo.toolTip()
    with pytest.raises(ValueError, match="clahe.*no 'stack' scope"):
        b.set_scope("stack")
    assert b.scope == "image"
    b.set_method("skimage")         # the scope asked for comes back
    assert b.scope == "stack" and item.isEnabled()
    panel, result = comparison(qtbot, window)
    assert result.b.scope == "stack"


def test_compare_settings_parameters_and_swap(qtbot, window, wait_idle):
    settings = Setting("textbook")
    seen = []
    settings.paramsChanged.connect(seen.append)
    settings.set_param("levels", 8)
    settings.set_param("levels", 8)
    assert seen == [{"levels": 8}] and settings.params_of("textbook") == {"levels": 8}
    with pytest.raises(ValueError, match="no parameter 'clip_limit'"):
        settings.set_param("clip_limit", 0.1)
    with pytest.raises(ValueError, match="levels"):
        settings.set_param("levels", 1)
    settings.reset_param("levels")
    assert settings.params == {}
    with pytest.raises(ValueError):
        Setting("clahe", scope="stack")
    open_stack(window, photos(2), wait_idle)
    state = window.state
    state.set_method("clahe")
    state.set_params({"clip_limit": 0.03})
    state.compare.set_method("textbook")
    state.compare.set_params({"levels": 16})
    window.show_view("compare")
    window.panel("compare").swap_button.click()
    assert (state.method, state.params) == ("textbook", {"levels": 16})
    assert (state.compare.method, state.compare.params) == ("clahe", {"clip_limit": 0.03})


# ------------------------------------------------------------------ worked table with parameters



def test_worked_table_uses_the_methods_parameters(qtbot, window, wait_idle):
    stack = photos()
    open_stack(window, stack, wait_idle, index=2)
    state = window.state
    state.set_method("textbook")
    state.set_params({"levels": 8})
    window.show_view("worked-table")
    panel = table_panel(qtbot, window)
    # L on auto takes textbook's own levels: s are the viewer's output levels
    assert panel.table.levels == 8
    expected = worked_table(stack[2], "textbook", levels=8)
    assert_array_equal(panel.table["s"], expected["s"])
    viewer = equalize(stack, "textbook", levels=8)[2]
    s_of_level = dict(zip(panel.table["r"].tolist(), panel.table["s"].tolist()))
    shown = np.vectorize(s_of_level.get)(stack[2])
    assert_array_equal(shown / 7, viewer)           # the table's s is what the viewer shows
    assert "levels=8" in panel.summary.text() and "own levels" in panel.summary.text()
    assert len(set(column(panel, "s"))) <= 8
    # textbook's L is its own levels parameter: the L control is disabled and says so
    assert not panel.levels_spin.isEnabled() and "Settings" in panel.levels_spin.toolTip()
    assert panel.levels_spin.value() == 8
    state.set_output_levels(16)
    qtbot.waitUntil(lambda: panel.table is not None and panel.table.levels == 8)
    assert_array_equal(panel.table["s"], expected["s"])
    # without the parameter set: the viewer's default levels (256 for uint8)
    state.set_params({})
    qtbot.waitUntil(lambda: panel.table is not None and panel.table.levels == 256)
    assert_array_equal(panel.table["s"], worked_table(stack[2], "textbook")["s"])
    s_of_level = dict(zip(panel.table["r"].tolist(), panel.table["s"].tolist()))
    shown = np.vectorize(s_of_level.get)(stack[2])
    assert_array_equal(shown / 255, equalize(stack, "textbook")[2])
    # opencv (no parameters) on the textbook's image, still its L
    state.set_output_levels(8)
    open_stack(window, book_stack(), wait_idle)
    state.set_method("opencv")
    qtbot.waitUntil(lambda: panel.table is not None and panel.table.info["method"] == "opencv")
    assert panel.levels_spin.isEnabled() and panel.table.levels == 8
    assert column(panel, "n") == [str(n) for n in BOOK_N]
    assert_array_equal(panel.table["s"], worked_table(book_stack()[0], "opencv", levels=8)["s"])


def test_worked_table_of_match_and_clahe_says_why_in_one_line(qtbot, window, wait_idle):
    open_stack(window, photos(), wait_idle)
    state = window.state
    window.show_view("worked-table")
    panel = table_panel(qtbot, window)
    for method, params in (("match", {"reference": 1}), ("clahe", {"clip_limit": 0.05})):
        state.set_method(method)
        state.set_params(params)
        qtbot.waitUntil(lambda: "no table" in panel.summary.text(), timeout=20000)
        text = panel.summary.text()
        assert panel.table is None and "\n" not in text and method in text
        assert "no worked table" in text
        state.set_method("numpy")
        qtbot.waitUntil(lambda: panel.table is not None, timeout=20000)


# ------------------------------------------------------------------ not flat with parameters

def test_not_flat_uses_the_methods_parameters(qtbot, window, wait_idle):
    stack = photos()
    open_stack(window, stack, wait_idle, index=1)
    state = window.state
    state.set_method("textbook")
    state.set_params({"levels": 8})
    window.show_view("not-flat")
    panel = not_flat_panel(qtbot, window)
    qtbot.waitUntil(lambda: panel.numbers.table.levels == 8)
    eq = equalize(stack, "textbook", levels=8)[1]
    v, f = output_cdf(eq)
    assert panel.numbers.distance == diagonal_distance(v, f)
    table = worked_table(stack[1], "textbook", levels=8)
    s, k = table.inputs_per_output
    assert_array_equal(panel.bars.opts["x"], s) and assert_array_equal(panel.bars.opts["height"], k)
    again = equalize_again(stack[1], "textbook", levels=8)
    assert panel.numbers.again.difference.max_abs == again.difference.max_abs
    assert_array_equal(panel.numbers.again.first, again.first)


@pytest.mark.parametrize("reference", ["stack", 3])
def test_not_flat_with_match_shows_the_cdf_and_why_no_merged_levels(qtbot, window, wait_idle,
                                                                     reference):
    stack = photos()
    open_stack(window, stack, wait_idle, index=1)
    state = window.state
    state.set_method("match")
    state.set_params({"reference": reference})
    window.show_view("not-flat")
    panel = not_flat_panel(qtbot, window)
    eq = equalize(stack, "match", reference=reference)[1]
    v, f = output_cdf(eq)
    assert panel.numbers.distance == diagonal_distance(v, f)
    assert isinstance(panel.numbers.table, str)
    assert "no worked table" in panel.merged_text.text() and "\n" not in panel.merged_text.text()
    once = equalize_again(stack[1], "match",
                          reference=stack[reference] if reference != "stack" else stack)
    assert_array_equal(panel.numbers.again.once, eq)
    assert panel.numbers.again.difference.max_abs == once.difference.max_abs


# ------------------------------------------------------------------ region, method without mask

def test_the_region_tool_says_up_front_that_clahe_takes_no_mask(qtbot, window, wait_idle):
    stack = photos()
    open_stack(window, stack, wait_idle)
    state, panel = window.state, window.panel("images")
    notes = []
    panel.notify = notes.append
    state.set_roi((10, 20, 30, 40))
    state.set_method("clahe")
    wait_idle(window)
    # the region is set aside, the tool is off and says why; the image is clahe's, no error
    assert state.roi is None and not panel.roi_action.isEnabled()
    assert "takes no mask" in panel.roi_action.toolTip() and "set aside" in notes[-1]
    assert window.controller.result.error is None
    assert_array_equal(window.controller.result.equalized, equalize(stack, "clahe")[0])
    assert "cannot equalize" not in panel.views.equalized_title.text
    # another method that takes a mask: the region comes back and drives the histogram
    state.set_method("textbook")
    wait_idle(window)
    assert state.roi == (10, 20, 30, 40) and panel.roi_action.isEnabled()
    assert panel.roi_action.isChecked()
    mask = np.zeros(stack.shape[1:], bool)
    mask[20:60, 10:40] = True
    assert_array_equal(window.controller.result.equalized,
                       equalize(stack, "textbook", mask=mask)[0])
    # a new stack forgets the region set aside
    state.set_roi((1, 1, 5, 5))
    state.set_method("clahe")
    open_stack(window, photos(2), wait_idle)
    state.set_method("numpy")
    assert state.roi is None
    # every method without a mask in the registry is covered the same way
    for m in METHODS:
        state.set_method(m)
        assert panel.roi_action.isEnabled() == get_method(m).masks


# ------------------------------------------------------------------ histeq-gui --compare-param

def test_compare_param_option_sets_setting_bs_parameters(qtbot, window, wait_idle, tmp_path):
    from histeq_gui.gui.app import _set_compare, build_parser, main
    parser = build_parser()
    args = parser.parse_args(["--compare", "match", "--compare-param", "reference=2"])
    _set_compare(window, args, parser)
    assert window.state.compare.method == "match"
    assert window.state.compare.params == {"reference": 2}
    args = parser.parse_args(["--compare", "clahe", "--compare-param", "clip-limit=0.05",
                              "--compare-param", "kernel_size=auto"])
    _set_compare(window, args, parser)
    assert window.state.compare.params == {"clip_limit": 0.05, "kernel_size": "auto"}
    for bad in (["--compare", "clahe", "--compare-param", "levels=8"],
                ["--compare", "clahe", "--compare-param", "clip_limit=7"],
                ["--compare", "clahe", "--compare-param", "clip_limit"],
                ["--compare", "clahe", "--compare-scope", "stack"]):
        with pytest.raises(SystemExit) as exit_:
            _set_compare(window, parser.parse_args(bad), parser)
        assert exit_.value.code == 2
    path = tmp_path / "photos.npy"
    np.save(path, photos(3))
    out = tmp_path / "compare.png"
    assert main([str(path), "--view", "compare", "--compare", "textbook", "--compare-param",
                 "levels=8", "--screenshot", str(out)]) == 0
    assert out.stat().st_size > 10000


def test_compare_draws_no_transfer_curve_for_clahe(qtbot, window, wait_idle):
    open_stack(window, photos(2), wait_idle)
    window.state.compare.set_method("clahe")
    window.show_view("compare")
    panel, result = comparison(qtbot, window)
    assert len(panel._b_curves) == 0 and panel.transfer.curve_count() == 1
    assert "no curve for B (clahe" in panel.transfer.getPlotItem().titleLabel.text
    window.state.compare.set_method("skimage")
    panel, result = comparison(qtbot, window)
    assert len(panel._b_curves) == 1
