"""The method registry: one declaration per method, read by everything else."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from references import REFERENCES
from skimage import data

from histeq_gui import equalize, histogram
from histeq_gui.core import methods
from histeq_gui.core.methods import (
    METHODS,
    Method,
    Nodes,
    Param,
    bins_param,
    check_method,
    get_method,
    markdown_table,
    register,
    unregister,
)
from histeq_gui.core.methods.base import round_half_up

ROOT = Path(__file__).resolve().parents[2]


def test_methods_lists_the_registered_methods_in_order():
    assert tuple(METHODS)[:2] == ("numpy", "skimage")
    assert METHODS == tuple(METHODS) and list(METHODS) == [m for m in METHODS]
    assert "numpy" in METHODS and "nonsense" not in METHODS and 3 not in METHODS
    assert METHODS[0] == "numpy" and len(METHODS) == len(tuple(METHODS))
    for name in METHODS:
        method = get_method(name)
        assert isinstance(method, Method) and method.name == name and check_method(name) == name
        assert method.label and method.summary and method.reference and method.source
        assert method.how and "\n" not in method.summary


def test_every_method_has_a_reference_the_tests_compare_with():
    assert set(METHODS) <= set(REFERENCES), "add the new method's reference to references.py"


@pytest.mark.parametrize("name", [None, "", "NUMPY", "opencv2", 3])
def test_unknown_methods_are_one_line_errors_listing_the_names(name):
    with pytest.raises(ValueError, match="choose one of: numpy, skimage") as error:
        get_method(name)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="unknown method"):
        equalize(np.zeros((4, 4), np.uint8), name)


def test_params_are_completed_and_checked():
    numpy = get_method("numpy")
    assert numpy.resolve_params("uint8") == {"bins": 256}
    assert numpy.resolve_params("float32", bins=7) == {"bins": 7}
    with pytest.raises(ValueError, match="has no parameter 'levels'; its parameters: bins"):
        numpy.resolve_params("uint8", levels=3)
    with pytest.raises(ValueError, match="has no parameter 'levels'"):
        equalize(np.zeros((4, 4), np.uint8), "numpy", levels=3)
    with pytest.raises(ValueError, match="at most 65536"):
        numpy.resolve_params("uint8", bins=70000)


@pytest.mark.parametrize("param, value, message", [
    (Param("k", 3, int, "k", low=1, high=9), 0, "k must be a whole number from 1 to 9, got 0"),
    (Param("k", 3, int, "k", low=1, high=9), 2.5, "whole number"),
    (Param("k", 3, int, "k", low=1, high=9), True, "whole number"),
    (Param("c", 0.1, float, "c", low=0), -1.0, "c must be a number of at least 0"),
    (Param("c", 0.1, float, "c", low=0), float("nan"), "a number"),
    (Param("c", 0.1, float, "c", low=0), "1", "a number"),
    (Param("ref", "a", str, "r", choices=("a", "b")), "c", "one of 'a', 'b'"),
])
def test_a_bad_parameter_value_names_the_valid_range(param, value, message):
    with pytest.raises(ValueError, match=message) as error:
        param.check(value, "demo")
    assert str(error.value).startswith("demo: ") and "\n" not in str(error.value)


def test_param_values_come_back_in_their_type():
    assert Param("k", 3, int, "k", low=1).check(np.int16(4)) == 4
    assert type(Param("c", 0.5, float, "c").check(2)) is float


def test_ignores_bins_says_when_bins_are_ignored():
    skimage = get_method("skimage")
    assert skimage.ignores_bins(np.uint8) and skimage.ignores_bins(np.int64)
    assert not skimage.ignores_bins(np.float32)
    assert not any(get_method("numpy").ignores_bins(dt) for dt in (np.uint8, np.int32, np.float64))


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "bad name"}, "letters, digits"),
    ({"scopes": ("all",)}, "scopes"),
    ({"dtypes": "b"}, "dtypes"),
    ({"nodes": None}, "give a nodes, table or image hook"),
    ({"value_cells": "u"}, "value_cells needs a table hook"),
    ({"value_bits": 12}, "value_bits must be 8, 16, 32 or 64"),
    ({"image": lambda x, m, p: x}, "an image method has no nodes hook"),
    ({"image": lambda x, m, p: x, "nodes": None, "table": lambda c, p: c.counts,
      "scopes": ("image",)}, "a table hook only with value_cells"),
    ({"params": (bins_param(), bins_param())}, "repeat"),
])
def test_a_declaration_that_cannot_work_is_refused(kwargs, message):
    fields = dict(name="demo", label="Demo", summary="s", reference="r", source="s", how="h",
                  nodes=lambda *args: None)
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Method(**fields)


def test_a_method_name_registers_once():
    with pytest.raises(ValueError, match="already registered"):
        register(get_method("numpy"))


def test_importing_the_registry_and_the_api_loads_neither_numba_nor_scikit_image():
    """Nor the I/O stack: the engine reads a parameter's file only when it is given one."""
    code = ("import sys\n"
            "import histeq_gui.core.methods, histeq_gui.core.equalize\n"
            "from histeq_gui.core.methods import METHODS, get_method, markdown_table\n"
            "[get_method(m).resolve_params('uint8') for m in METHODS]\n"
            "markdown_table()\n"
            "heavy = ('numba', 'skimage', 'PIL', 'tifffile', 'imagecodecs')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _identity_table(cells, params):
    # Each cell keeps its own level: x / 255 for uint8, bin k -> k / (bins - 1) for floats.
    return np.broadcast_to(cells.level / (cells.levels - 1), cells.counts.shape).copy()


def _stretch(image, mask, params):
    chosen = np.isfinite(image) if mask is None else np.isfinite(image) & mask
    low, high = image[chosen].min(), image[chosen].max()
    return np.clip((image - low) / max(high - low, 1), 0, 1) ** params["gamma"]


@pytest.fixture
def throwaway_methods():
    """Two methods registered for one test (a table and a whole-image one), then removed."""
    table = Method(name="levels-test", label="Levels", summary="Every level stays.",
                   reference="the identity", source="this test", how="Keeps each level.",
                   params=(bins_param(dtypes="f"),), value_cells="ui", table=_identity_table)
    image = Method(name="stretch-test", label="Stretch", summary="Min-max stretch.",
                   reference="(x - min) / (max - min)", source="this test", how="Stretches.",
                   params=(Param("gamma", 1.0, float, "exponent", low=0.1, high=10),),
                   scopes=("image",), image=_stretch)
    register(table)
    register(image)
    yield table, image
    unregister("levels-test")
    unregister("stretch-test")
    assert "levels-test" not in METHODS and "stretch-test" not in METHODS


def test_a_registered_method_reaches_the_command_the_readme_and_the_engine(throwaway_methods):
    from histeq_gui.cli import build_parser

    assert tuple(METHODS)[-2:] == ("levels-test", "stretch-test")
    parser = build_parser()
    method_action = next(a for a in parser._actions if a.dest == "method")
    assert "levels-test" in method_action.choices and "stretch-test" in method_action.choices
    args = parser.parse_args(["in.npy", "-o", "out.npy", "--method", "levels-test"])
    assert args.method == "levels-test"
    table = markdown_table()
    assert "| `levels-test` | the identity |" in table and "`stretch-test`" in table
    assert "`gamma` (a number from 0.1 to 10, default 1.0)" in table

    # The table method runs through the engine: integer cells and bins.
    x = np.random.default_rng(0).integers(0, 256, (3, 1, 9, 9)).astype(np.uint8)
    assert_array_equal(equalize(x, "levels-test"), x / 255)
    assert_array_equal(equalize(x, "levels-test", scope="stack"), x / 255)
    levels = get_method("levels-test")
    assert levels.ignores_bins(np.uint8) and not levels.ignores_bins(float)
    floats = x.astype(np.float64)
    out = equalize(floats, "levels-test", bins=4)
    for image, result in zip(floats, out):
        edges = np.histogram(image, 4)[1]
        bins = np.clip(np.searchsorted(edges, image, side="right") - 1, 0, 3)
        assert_array_equal(result, bins / 3)
    h = histogram(floats[0, 0], "levels-test", 4)
    assert h.steps
    assert_array_equal(h.transfer_curve()[1], [0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1])
    assert_array_equal(h.transfer_curve()[0], np.concatenate([[h.edges[0]],
                                                              np.repeat(h.edges, 2)[1:-1],
                                                              [h.edges[-1]]]))

    # The whole-image method: per image, NaN kept, parameters checked, no stack scope.
    floats[1, 0, 2, 2] = np.nan
    out = equalize(floats, "stretch-test", gamma=2.0)
    for image, result in zip(floats[:, 0], out[:, 0]):
        assert_array_equal(result, _stretch(image, None, {"gamma": 2.0}))
    assert np.isnan(out[1, 0, 2, 2])
    assert_array_equal(histogram(floats[0, 0], "stretch-test", gamma=2.0).apply(floats[0, 0]),
                       out[0, 0])
    with pytest.raises(ValueError, match="no 'stack' scope"):
        equalize(floats, "stretch-test", scope="stack")
    with pytest.raises(ValueError, match="gamma must be a number from 0.1 to 10"):
        equalize(floats, "stretch-test", gamma=20)


def test_the_registry_module_lists_its_api():
    for name in methods.__all__:
        assert hasattr(methods, name)


def test_value_bits_map_narrow_integers_by_value_and_wider_ones_by_bins():
    # ImageJ's way: 8- and 16-bit images by their levels, 32/64-bit ones by bins.
    narrow = Method(name="narrow-test", label="Narrow", summary="Every level stays.",
                    reference="the identity", source="this test", how="Keeps each level.",
                    params=(bins_param(),), value_cells="ui", value_bits=16,
                    table=_identity_table)
    assert narrow.by_value(np.uint8) and narrow.by_value(np.int16)
    assert not narrow.by_value(np.int32) and not narrow.by_value(np.float32)
    assert narrow.kind(np.int32) == narrow.kind(np.uint8) == "table"
    register(narrow)
    try:
        assert get_method("narrow-test").ignores_bins(np.uint16)
        assert not get_method("narrow-test").ignores_bins(np.uint32)
        assert not get_method("narrow-test").ignores_bins(np.float64)
        assert "| `narrow-test` | the identity | float and 32/64-bit integer images only |" \
            in markdown_table()
        x = np.random.default_rng(1).integers(0, 60000, (2, 9, 9))
        assert_array_equal(equalize(x.astype(np.uint16), "narrow-test", 4), x / 65535)
        wide = x.astype(np.int32)
        out = equalize(wide, "narrow-test", 4)
        for image, result in zip(wide, out):
            edges = np.histogram(image, 4)[1]
            bins = np.clip(np.searchsorted(edges, image, side="right") - 1, 0, 3)
            assert_array_equal(result, bins / 3)
        assert not histogram(wide[0], "narrow-test", 4).value_bins
        assert histogram(wide[0].astype(np.int16), "narrow-test", 4).value_bins
    finally:
        unregister("narrow-test")


def test_a_default_may_depend_on_the_dtype_and_bins():
    levels = Param("levels", lambda dtype, bins: 2 ** (8 * dtype.itemsize) if dtype.kind in "iu"
                   else bins, int, "L", low=2, default_text="the dtype's levels, or bins")
    assert levels.default_for("uint8") == 256 and levels.default_for("float32", 9) == 9
    assert levels.describe_default() == "the dtype's levels, or bins"
    assert Param("k", 3, int, "k").describe_default() == "3"
    method = Method(name="levels-default-test", label="L", summary="s", reference="r",
                    source="s", how="h", params=(bins_param(dtypes="f"), levels),
                    value_cells="ui", table=_identity_table)
    assert method.resolve_params("int16") == {"bins": 256, "levels": 65536}
    assert method.resolve_params("float64", bins=17) == {"bins": 17, "levels": 17}
    assert method.resolve_params("float64", bins=17, levels=5) == {"bins": 17, "levels": 5}
    with pytest.raises(ValueError, match="levels must be a whole number of at least 2"):
        method.resolve_params("uint8", levels=1)


def test_round_half_up_rounds_ties_up_exactly():
    ties = np.array([0.5, 1.5, 2.5, 126.5, 65534.5])
    assert_array_equal(round_half_up(ties), ties + 0.5)
    assert_array_equal(np.rint(ties), [0, 2, 2, 126, 65534])      # NumPy: halves to even
    below = np.nextafter(ties, 0)                                    # just under each tie
    assert_array_equal(round_half_up(below), ties - 0.5)
    # floor(x + 0.5) in float64 is wrong here; the exact rule is not.
    assert np.floor(0.49999999999999994 + 0.5) == 1 and round_half_up(0.49999999999999994) == 0
# ------------------------------------------------- what whole-image methods may declare


@pytest.mark.parametrize("param, good, bad, message", [
    (Param("c", 0.01, float, "c", low=0, high=1, low_open=True), [1e-12, 0.5, 1],
     [0, -0.1, 1.5], "c must be a number above 0 and at most 1"),
    (Param("k", "auto", int, "k", low=1, high=9, choices=("auto",)), ["auto", 1, 9],
     ["big", 0, 2.5, None], "k must be a whole number from 1 to 9, or 'auto'"),
])
def test_open_ranges_and_words_besides_numbers(param, good, bad, message):
    for value in good:
        assert param.check(value) == value
    for value in bad:
        with pytest.raises(ValueError, match=message):
            param.check(value, "demo")


def test_an_object_parameter_is_checked_by_its_validator_and_described_by_its_text():
    def validate(value):
        if not isinstance(value, np.ndarray):
            raise ValueError(f"template must be an array, got a {type(value).__name__}")
        return value

    p = Param("template", None, object, "t", text="an array", validate=validate)
    assert p.describe() == "an array"
    x = np.zeros(3)
    assert p.check(x) is x
    with pytest.raises(ValueError, match="^demo: template must be an array, got a str$"):
        p.check("x", "demo")
    with pytest.raises(ValueError, match="needs validate and text"):
        Param("template", None, object, "t")


def _offset_validate(value):
    if isinstance(value, (tuple, str, int, float, np.integer)):
        return value
    raise ValueError(f"offset must be an index into the stack or 'stack', got {value!r}")


def _offset_resolve(value, view):
    """Per channel: the mean of the given image (or of the stack) of that channel."""
    if isinstance(value, tuple):                # resolved already
        return value
    if isinstance(value, float):                # one channel's, resolved already
        return (value,) * view.channels
    out = []
    for c in range(view.channels):
        rows, mask = view.channel(c)
        chosen = rows if value == "stack" else rows[value]
        out.append(float(chosen.mean()))
    return tuple(out)


def _minus_offset(image, mask, params):
    return np.clip((image - params["offset"]) / 255 + 0.5, 0, 1)


def _offset_curve(pixels, mask, params):
    from histeq_gui.core.methods import Curve
    values, counts = np.unique(pixels, return_counts=True)
    x = values.astype(np.float64)
    return Curve(counts, np.append(x - 0.5, x[-1] + 0.5), x, _minus_offset(x, None, params))


@pytest.fixture
def offset_method():
    """A whole-image method with a stack-aware parameter and a curve, registered for one test."""
    method = Method(name="offset-test", label="Offset", summary="Minus a mean.",
                    reference="x - mean", source="this test", how="Subtracts.",
                    params=(Param("offset", "stack", object, "whose mean",
                                  text="an index into the stack or 'stack'",
                                  validate=_offset_validate, resolve=_offset_resolve),),
                    scopes=("image",), masks=False, image=_minus_offset, curve=_offset_curve)
    register(method)
    yield method
    unregister("offset-test")


def test_stack_aware_parameters_resolve_against_the_whole_stack_per_channel(offset_method):
    from histeq_gui.core.equalize import channel_params, stack_params

    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (4, 6, 5, 3)).astype(np.uint8)
    rgb[..., 1] //= 2
    means = [[float(rgb[i, ..., c].mean()) for c in range(3)] for i in range(4)]
    out = equalize(rgb, "offset-test", channel_axis=-1, offset=2)
    for c in range(3):
        assert_array_equal(out[..., c], np.clip((rgb[..., c] - means[2][c]) / 255 + 0.5, 0, 1))
    whole = [float(rgb[..., c].mean()) for c in range(3)]
    p = stack_params(rgb, "offset-test", channel_axis=-1)
    assert p == {"offset": tuple(whole)}
    # Resolved once, passed on to parts of the stack: the whole stack's values.
    assert_array_equal(equalize(rgb[:1], "offset-test", channel_axis=-1, **p),
                       equalize(rgb, "offset-test", channel_axis=-1)[:1])
    one = channel_params("offset-test", p, 1)
    assert one == {"offset": whole[1]}
    h = histogram(rgb[0, ..., 1], "offset-test", **one)
    assert h.mapped and h.global_map and h.tables is None and h.value_bins
    assert_array_equal(h.cdf, np.clip((h.cdf_x - whole[1]) / 255 + 0.5, 0, 1))
    assert_array_equal(h.apply(rgb[0, ..., 1]), out_whole := equalize(
        rgb, "offset-test", channel_axis=-1)[0, ..., 1])
    assert out_whole.shape == (6, 5)
    with pytest.raises(ValueError, match="takes no mask"):
        equalize(rgb, "offset-test", channel_axis=-1, mask=np.ones((6, 5), bool))
    with pytest.raises(ValueError, match="takes no mask"):
        histogram(rgb[0, ..., 0], "offset-test", mask=np.ones((6, 5), bool))
    assert "`offset` (an index into the stack or 'stack', default 'stack')" in markdown_table()


def test_a_curve_an_images_hook_or_a_stack_aware_parameter_needs_an_image_hook():
    aware = Param("offset", "stack", object, "o", text="t", validate=_offset_validate,
                  resolve=_offset_resolve)
    fields = dict(name="demo", label="Demo", summary="s", reference="r", source="s", how="h",
                  nodes=lambda *args: None)
    for extra in ({"curve": _offset_curve}, {"params": (aware,)},
                  {"images": lambda pixels, params, out: None}):
        with pytest.raises(ValueError, match="need an image hook"):
            Method(**fields, **extra)



def _weights_nodes(counts, edges, dtype, params):
    """The seed nodes scaled by the mean of ``weights``, which must arrive as an array."""
    weights = params["weights"]
    assert isinstance(weights, np.ndarray), f"the hook got a {type(weights).__name__}"
    with np.errstate(all="ignore"):
        cdf = np.cumsum(counts, axis=1) / counts.sum(axis=1, keepdims=True)
    return Nodes(edges[:, :-1].astype(np.float64), np.clip(cdf * weights.mean() / 128, 0, 1))


def _weights(value):
    array = np.asarray(value, np.float64)
    if array.ndim < 2:
        raise ValueError("weights must be an image")
    return array


def test_a_parameter_that_takes_files_reaches_the_hook_as_an_array_on_every_path(tmp_path):
    """equalize, the stack histogram (fit), the export and the statistics read the file."""
    from throwaway_methods import registered

    from histeq_gui.core import fit
    from histeq_gui.core.export import ExportSettings, export
    from histeq_gui.core.io import load_stack
    from histeq_gui.core.stats import image_stats

    method = Method(name="weights-test", label="W", summary="s", reference="r", source="s",
                    how="h", params=(bins_param(), Param("weights", None, object, "an image",
                                                         text="an image or its file",
                                                         validate=_weights, files=True)),
                    nodes=_weights_nodes)
    path = tmp_path / "w.npy"
    np.save(path, np.full((4, 4), 64, np.uint8))
    x = data.camera()[::16, ::16][None].repeat(3, 0)
    with registered(method):
        for scope in ("image", "stack"):
            expected = equalize(x, "weights-test", scope=scope, weights=np.load(path))
            assert_array_equal(equalize(x, "weights-test", scope=scope, weights=path), expected)
            table = image_stats(x, "weights-test", scope=scope, weights=path)
            assert np.isfinite(table["mean_abs_change"]).all()
            out = tmp_path / f"{scope}.npy"
            export(x, out, ExportSettings(method="weights-test", scope=scope, dtype="float64",
                                          params={"weights": path}))
            assert_array_equal(load_stack(out), expected)
        h = fit.fit(lambda: iter([x]), "weights-test", 256, weights=path)
        assert_array_equal(h.apply(x), equalize(x, "weights-test", scope="stack",
                                                weights=path))


def test_a_method_object_that_is_not_registered_works_through_a_histogram():
    """histogram(x, method).apply(x) equalizes with the object given, not a name lookup."""
    from dataclasses import replace

    own = replace(get_method("clahe"), name="my-clahe")
    image = data.camera()[::8, ::8]
    h = histogram(image, own, clip_limit=0.05)
    assert h.method == "my-clahe"
    assert_array_equal(h.apply(image), equalize(image, "clahe", clip_limit=0.05))
