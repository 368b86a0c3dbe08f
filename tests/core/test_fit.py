"""fit(): one histogram from chunks equals histogram() of the chunks concatenated, bit for bit.

Every test loops over the registry: a method with one map for all pixels
(a ``nodes`` or ``table`` hook) is fitted and compared with
``histogram(np.concatenate(chunks))``; a whole-image method is refused.
"""

import json
import subprocess
import sys
import threading

import numpy as np
import pytest
from references import REFERENCES, sample_stack
from skimage import data
from throwaway_methods import power_reference, registered

from histeq_gui.core import equalize as eq
from histeq_gui.core.engine import pool
from histeq_gui.core.errors import Cancelled
from histeq_gui.core.fit import (
    chunk_counts,
    chunk_range,
    fit,
    fit_each,
    merge_ranges,
    single_threaded,
    start,
)
from histeq_gui.core.methods import METHODS, Method, get_method, register, unregister

DTYPES = ["uint8", "uint16", "int16", "int64-wide", "float32", "float64"]


def has_stack_histogram(name):
    method = get_method(name)
    return method.image is None and "stack" in method.scopes


def global_methods():
    """The registered methods with one map for all pixels of a stack (a stack histogram)."""
    return [m for m in METHODS if has_stack_histogram(m)]


def image_methods():
    """The others: whole-image methods (CLAHE, matching), no stack scope."""
    return [m for m in METHODS if not has_stack_histogram(m)]


def supported(method, dtype):
    if not get_method(method).supports(np.dtype(dtype)):
        pytest.skip(f"{method} does not take {dtype} images")


def photo_stack(dtype, n=9, size=40):
    """Crops of real photographs in ``dtype``, with a dark, a bright and a constant image."""
    photos = [data.camera(), data.moon(), data.coins(), data.page()]
    rng = np.random.default_rng(3)
    images = []
    for i in range(n):
        photo = photos[i % len(photos)]
        y, x = rng.integers(0, min(photo.shape) - size, 2)
        images.append((photo[y:y + size, x:x + size] / 255.0) ** [1, 2.5, 0.4][i % 3])
    stack = np.stack(images)[:, np.newaxis]
    stack[n // 2] = stack[n // 2, 0, 3, 3]             # a constant image
    dtype = dtype if dtype == "int64-wide" else np.dtype(dtype)
    if dtype == np.uint8:
        return np.round(stack * 255).astype(dtype)
    if dtype == np.uint16:
        return np.round(stack * 60000 + 1000).astype(dtype)
    if dtype == np.int16:
        return np.round(stack * 20000 - 9000).astype(dtype)
    if dtype == "int64-wide":                   # spans 2**41: ranks or float bins
        return np.round(stack * 2.0 ** 41 - 2.0 ** 40).astype(np.int64)
    return (stack * 3 - 1).astype(dtype)


def cuts(n):
    """Ways to cut n images into chunks: whole, one image each, uneven, with empty chunks."""
    return {"whole": [(0, n)], "single": [(i, i + 1) for i in range(n)],
            "uneven": [(0, 2), (2, 7), (7, n)], "empty": [(0, 0), (0, 4), (4, 4), (4, n)]}


def chunked(stack, cut):
    return lambda: [stack[a:b] for a, b in cut]


def assert_same(fitted, reference, probe):
    assert fitted.method == reference.method and fitted.bins == reference.bins
    assert fitted.value_bins == reference.value_bins
    for name in ("counts", "edges", "cdf_x", "cdf"):
        got, want = getattr(fitted, name), getattr(reference, name)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    a, b = fitted.apply(probe), reference.apply(probe)
    assert a.tobytes() == b.tobytes()       # bit for bit, NaN included


@pytest.mark.parametrize("method", global_methods())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cut", ["whole", "single", "uneven", "empty"])
@pytest.mark.parametrize("bins", [7, 256])
def test_fit_equals_histogram_of_the_concatenation(method, dtype, cut, bins):
    stack = photo_stack(dtype)
    supported(method, stack.dtype)
    if stack.dtype.kind == "f":
        stack[2, 0, :5, :5] = np.nan
        stack[6, 0, 0, 0] = np.inf
    pieces = chunked(stack, cuts(len(stack))[cut])
    reference = eq.histogram(np.concatenate(pieces()), method, bins)
    assert_same(fit(pieces, method, bins), reference, stack)
    # and the mapping is equalize(scope="stack"), itself checked against the references
    np.testing.assert_array_equal(fit(pieces, method, bins).apply(stack),
                                  eq.equalize(stack, method, bins, "stack"))


@pytest.mark.parametrize("method", global_methods())
@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_with_a_mask(method, dtype):
    stack = photo_stack(dtype, n=5)
    supported(method, stack.dtype)
    mask = np.zeros(stack.shape[-2:], bool)
    mask[5:30, 8:20] = True
    pieces = chunked(stack, [(0, 1), (1, 3), (3, 5)])
    reference = eq.histogram(stack, method, 64, mask=mask)
    assert_same(fit(pieces, method, 64, mask=mask), reference, stack)
    # a mask per chunk, as pairs
    pairs = lambda: [(stack[a:b], mask) for a, b in [(0, 2), (2, 5)]]    # noqa: E731
    assert_same(fit(pairs, method, 64), reference, stack)


@pytest.mark.parametrize("method", global_methods())
def test_fit_against_the_one_image_reference(method):
    """A stack cut in chunks, fitted, equals the reference applied to the stack as one image."""
    stack = sample_stack()[:40]
    whole = stack.reshape(-1, stack.shape[-1])          # the stack as one tall image
    expected = REFERENCES[method](whole, 100).reshape(stack.shape)
    h = fit(lambda: (stack[i:i + 7] for i in range(0, 40, 7)), method, 100)
    np.testing.assert_array_equal(h.apply(stack), expected)


@pytest.mark.parametrize("method", global_methods())
@pytest.mark.parametrize("case", ["constant chunks", "all nan but one chunk", "all nan",
                                  "inf only", "one pixel", "int64 wide", "int32 wide",
                                  "uint16 few pixels wide", "big-endian", "uint64 top",
                                  "float16", "two values"])
def test_fit_hard_cases(method, case):
    rng = np.random.default_rng(5)
    if case == "constant chunks":
        stack = np.concatenate([np.full((2, 6, 6), v, np.float32) for v in (3, 3, 8)])
    elif case == "all nan":
        stack = np.full((3, 5, 5), np.nan)
    elif case == "inf only":
        stack = np.full((2, 4, 4), np.inf, np.float32)
        stack[1] = -np.inf
    elif case == "uint64 top":                  # beyond 2**63 and 2**53
        stack = np.iinfo(np.uint64).max - rng.integers(0, 2 ** 20, (3, 6, 6)).astype(np.uint64)
    elif case == "float16":
        stack = rng.normal(0, 100, (3, 7, 7)).astype(np.float16)
    elif case == "two values":
        stack = np.where(rng.random((4, 8, 8)) < 0.3, 10, 200).astype(np.uint8)
    elif case == "all nan but one chunk":
        stack = np.full((4, 6, 6), np.nan)
        stack[3] = rng.random((6, 6))
    elif case == "one pixel":
        stack = np.array([[[7]]], np.uint8)
    elif case == "int64 wide":                  # skimage: ranks of the distinct values
        stack = rng.integers(-2 ** 40, 2 ** 40, (5, 8, 8))
    elif case == "int32 wide":
        stack = rng.integers(-2 ** 30, 2 ** 30, (5, 8, 8)).astype(np.int32)
    elif case == "uint16 few pixels wide":      # numpy: float bins on integers
        stack = rng.integers(0, 65536, (3, 5, 5)).astype(np.uint16)
    else:
        stack = rng.integers(0, 4000, (4, 9, 9)).astype(">u2")
    supported(method, stack.dtype)
    pieces = chunked(stack, [(i, i + 1) for i in range(len(stack))])
    assert_same(fit(pieces, method, 32), eq.histogram(stack, method, 32), stack)


@pytest.mark.parametrize("method", global_methods())
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_fit_each_fits_each_channel_of_colour_chunks(method, dtype):
    """Colour: one histogram per channel, each equal to histogram() of that channel."""
    grey = photo_stack(dtype, n=5)[:, 0]
    supported(method, grey.dtype)
    rgb = np.stack([grey, grey[::-1], grey[:, ::-1]], axis=-1)       # (5, 40, 40, 3)
    if grey.dtype.kind == "f":
        rgb[1, :4, :4, 2] = np.nan
    mask = np.zeros(rgb.shape[1:3], bool)
    mask[3:30, 5:25] = True

    def chunks():
        return ([c[..., k] for k in range(3)] for c in (rgb[:2], rgb[2:3], rgb[3:]))
    for m in (None, mask):
        fitted = fit_each(chunks, 3, method, 40, mask=m)
        for k in range(3):
            assert_same(fitted[k], eq.histogram(rgb[..., k], method, 40, mask=m), rgb[..., k])
    # and channel by channel that is equalize(scope="stack") with a colour axis
    out = np.stack([fitted[k].apply(rgb[..., k]) for k in range(3)], axis=-1)
    np.testing.assert_array_equal(out, eq.equalize(rgb, method, 40, "stack", mask=mask,
                                                   channel_axis=-1))


def test_fit_each_fits_every_channel_in_one_read():
    rgb = np.stack([photo_stack("uint8", n=4)[:, 0] for _ in range(3)], axis=-1)
    rgb[..., 1] //= 3
    rgb[..., 2] = 255 - rgb[..., 2]
    reads = []

    def chunks():
        reads.append(1)
        return ([c[..., k] for k in range(3)] for c in (rgb[:1], rgb[1:]))
    fitted = fit_each(chunks, 3, "skimage", 256)
    assert len(reads) == 1                      # uint8 value tables: one pass for all three
    for k in range(3):
        assert_same(fitted[k], eq.histogram(rgb[..., k], "skimage", 256), rgb[..., k])


@pytest.mark.parametrize("dtype,passes", [("uint8", 1), ("int16", 1), ("float32", 2),
                                           ("int32", 2), ("int64", 3)])
def test_passes_over_the_chunks(dtype, passes):
    stack = photo_stack("uint8", n=4).astype(dtype)
    calls = []

    def chunks():
        calls.append(1)
        return [stack[:2], stack[2:]]
    seen = []
    fit(chunks, "skimage", 50, progress=lambda done, total: seen.append((done, total)))
    assert len(calls) == passes     # int64: range, distinct values (ranks), counts
    assert [done for done, _ in seen] == list(range(1, 2 * passes + 1))
    if passes < 3:                  # the passes are known after the first chunk
        assert {total for _, total in seen} == {2 * passes}
    assert seen[-1] == (2 * passes, 2 * passes)


def test_progress_may_cancel():
    stack = photo_stack("float32", n=4)

    def progress(done, total):
        if done == 3:
            raise Cancelled()
    with pytest.raises(Cancelled):
        fit(lambda: [stack[:2], stack[2:]], progress=progress)


def test_errors_are_one_line_value_errors():
    with pytest.raises(ValueError, match="empty array"):
        fit(lambda: [])
    with pytest.raises(ValueError, match="empty array"):
        fit(lambda: [np.zeros((0, 4, 4), np.uint8)])
    with pytest.raises(ValueError, match="one dtype"):
        fit(lambda: [np.zeros((1, 4, 4), np.uint8), np.zeros((1, 4, 4), np.uint16)])
    with pytest.raises(ValueError, match="selects no pixel"):
        fit(lambda: [np.zeros((1, 4, 4))], mask=np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="unknown method"):
        fit(lambda: [np.zeros((1, 4, 4))], method="nope")
    with pytest.raises(ValueError, match="too many bins"):
        fit(lambda: [np.array([[1.0, np.nextafter(1.0, 2)]])], bins=4096)


@pytest.mark.parametrize("method", image_methods())
def test_a_whole_image_method_has_no_stack_histogram_to_fit(method):
    chunks = [photo_stack("uint8", n=2)]
    for call in (lambda: fit(lambda: chunks, method), lambda: fit_each(lambda: [chunks], 1, method),
                 lambda: start(chunk_range(chunks[0]), method)):
        with pytest.raises(ValueError, match=f"^the {method} method maps each image by itself, "
                                             "with no histogram of the whole stack to fit; use "
                                             "scope='image'$"):
            call()


def test_steps_merge_in_any_order():
    stack = photo_stack("float64", n=6)
    parts = [chunk_range(stack[i:i + 1]) for i in range(6)]
    forward, backward = parts[0], parts[-1]
    for p in parts[1:]:
        forward = merge_ranges(forward, p)
    for p in parts[-2::-1]:
        backward = merge_ranges(p, backward)
    t, counts = start(forward, "numpy", 30)
    assert counts is None                   # floats need a counting pass
    total = sum(chunk_counts(t, stack[i:i + 1]) for i in range(6))
    t2, _ = start(backward, "numpy", 30)
    np.testing.assert_array_equal(total, sum(chunk_counts(t2, stack[i:i + 2])
                                             for i in range(0, 6, 2)))


def test_single_threaded_runs_the_core_in_the_calling_thread(monkeypatch):
    threads = set()
    stack = np.tile(photo_stack("float64", n=20, size=100), (1, 1, 4, 4))   # 4 blocks
    block_stats = eq.hg.block_stats

    def spy(*args):
        threads.add(threading.current_thread().name)
        return block_stats(*args)
    monkeypatch.setattr(eq.hg, "block_stats", spy)
    monkeypatch.setattr(pool, "workers", lambda: 2)
    name = threading.current_thread().name
    with single_threaded():
        expected = eq.histogram(stack)
    assert threads == {name}                                        # no pool at all
    threads.clear()
    assert_same(fit(lambda: [stack]), expected, stack[:1])
    assert any(t.startswith("histeq-core_") for t in threads)      # the pool, outside


def _other_value(param):
    """A valid value of ``param`` other than its default, or None if there is no obvious one."""
    if param.choices:
        return next((c for c in param.choices if c != param.default), None)
    if param.type in (int, float) and param.low is not None and param.high is not None:
        for value in (param.low, param.high, (param.low + param.high) / 2):
            value = param.type(value) if param.type is int else float(value)
            if value != param.default:
                return value
    return None


@pytest.mark.parametrize("method", global_methods())
def test_a_methods_parameters_reach_the_fit(method):
    """Every parameter the registry declares (other than bins) is passed to the method's hook."""
    stack = photo_stack("float32", n=4)
    pieces = chunked(stack, [(0, 1), (1, 4)])
    m = get_method(method)
    others = {p.name: _other_value(p) for p in m.params if p.name != "bins"}
    others = {k: v for k, v in others.items() if v is not None}
    if not others:
        pytest.skip(f"{method} declares no parameter besides bins")
    reference = eq.histogram(stack, method, 32, **others)
    fitted = fit(pieces, method, 32, **others)
    assert_same(fitted, reference, stack)
    assert fitted.params == reference.params == m.resolve_params(stack.dtype, bins=32, **others)


@pytest.fixture
def power_method():
    """``power-test`` (tests/throwaway_methods.py) registered for one test."""
    with registered() as method:
        yield method


def test_a_registered_methods_parameter_reaches_the_fit_and_its_errors_are_one_line(
        power_method):
    stack = photo_stack("float64", n=5)
    pieces = chunked(stack, [(0, 2), (2, 5)])
    given = {"power": 2.0, "floor_level": 10, "curve": "down"}
    squared = fit(pieces, "power-test", 20, **given)
    assert squared.params == {"bins": 20, **given}
    assert_same(squared, eq.histogram(stack, "power-test", 20, **given), stack)
    finite = stack[np.isfinite(stack)]
    np.testing.assert_array_equal(squared.apply(finite), power_reference(finite, 20, **given))
    plain = fit(pieces, "power-test", 20)
    assert not np.array_equal(squared.apply(stack), plain.apply(stack))
    calls = []

    def counted():
        calls.append(1)
        return pieces()
    with pytest.raises(ValueError, match="has no parameter 'levels'; its parameters: bins, power, "
                                         "floor_level, curve"):
        fit(counted, "power-test", 20, levels=3)
    assert calls == []                          # refused before reading anything
    with pytest.raises(ValueError, match="power must be a number from 0.5 to 4, got 9"):
        fit(counted, "power-test", 20, power=9)
    assert calls == [1]                         # after the first chunk, not after every pass


def test_a_method_without_a_stack_histogram_registered_for_a_test_is_refused():
    from histeq_gui.core.methods import Nodes

    whole = register(Method(name="stretch-fit-test", label="Stretch", summary="Stretch.",
                            reference="min-max", source="this test", how="Stretches.",
                            scopes=("image",), image=lambda image, mask, params: image))
    per_image = register(Method(name="image-nodes-test", label="Nodes", summary="Nodes.",
                                reference="-", source="this test", how="-", scopes=("image",),
                                nodes=lambda c, e, d, p: Nodes(e[:, :-1], np.cumsum(c, 1))))
    try:
        for method in (whole, per_image):
            with pytest.raises(ValueError, match=f"^the {method.name} method maps each image "
                                                 "by itself, with no histogram of the whole "
                                                 "stack to fit; use scope='image'$"):
                fit(lambda: [np.zeros((1, 4, 4))], method.name)
    finally:
        unregister(whole.name)
        unregister(per_image.name)


_NAN_COUNT = """
import json
import numpy as np
from histeq_gui.core import histogram as hg
from histeq_gui.core.engine import tables as tb
from histeq_gui.core.methods import get_method
found = {}
for dtype in ("float64", "float32", "float16"):
    x = np.array([[0.0, 1.0, np.nan, 2.0, np.inf, -np.inf, 3.0, np.nan]] * 3, dtype)
    finite = np.isfinite(x)
    stats = hg.block_stats(x, finite)[0]
    stats = hg.merge_stats([(stats, np.arange(3))], np.zeros(3, np.intp), 1, x.dtype)
    m = get_method("numpy")
    t = tb.start(m, m.resolve_params(x.dtype), 4, x.dtype, stats, x.size, None)
    first, counts = tb.count(t, x, None, np.zeros(3, np.intp))   # NaN, inf and no selection
    right = tb.count(t, x, finite, np.zeros(3, np.intp))[1]
    found[dtype] = [first, counts.tolist(), right.tolist()]
print(json.dumps(found))
"""


def test_counting_nan_without_a_selection_stays_inside_the_counts():
    """The engine always passes a selection for non-finite pixels; without one the bounded
    kernel still writes inside its counts: NaN and +-inf land in bin 0 (a wrong count, never a
    wrong address).  In a subprocess, so that a crash would fail this test, not the run."""
    result = subprocess.run([sys.executable, "-c", _NAN_COUNT], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout)
    assert sorted(found) == ["float16", "float32", "float64"]
    for first, counts, right in found.values():
        assert first == 0
        assert right == [[3, 3, 3, 3]]              # with the selection: exactly np.histogram
        assert counts == [[3 + 3 * 4, 3, 3, 3]]     # without: 2 NaN, inf and -inf per row, bin 0
