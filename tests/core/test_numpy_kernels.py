"""The NumPy twins of the compiled loops give the same bits, and the choice between them works.

Three levels:

- every kernel call the engine makes, for every method, dtype, scope, mask
  and bin count (and hypothesis' extreme images), is run by both the
  compiled kernel and its NumPy twin (a "twin" backend), whose outputs must
  be identical, NaN and the sign of zero included;
- the public results (``equalize`` in float64 and integer outputs,
  ``histogram``'s counts, edges and CDF, ``apply``) with the NumPy kernels
  equal those with the compiled kernels, bit for bit;
- a method's compiled loop over one sample (``table_loop``, ``nodes_loop``)
  gives its NumPy hook's bits for any counts, and the one compiled pass per
  8-bit image they serve (count, table, look-up) gives the bits of the
  tables path the NumPy kernels take.

And the choice itself: "numpy" never touches a compiled kernel (even in the
engine's pool threads, and without importing numba at all), "ready" switches
to the compiled kernels once ``warm_up`` has marked the dtype ready.
"""

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, from_dtype
from numpy.testing import assert_array_equal
from skimage import data
from throwaway_methods import HALF, registered

from histeq_gui import equalize, histogram
from histeq_gui.core import histogram as hg
from histeq_gui.core.engine import backend, kernels, numpy_kernels
from histeq_gui.core.engine import tables as engine_tables
from histeq_gui.core.equalize import warm_up
from histeq_gui.core.methods import METHODS, Cells, get_method

SETTINGS = settings(max_examples=int(os.environ.get("HISTEQ_FUZZ_EXAMPLES", 60)),
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FACTORIES = ("count_bins", "map_bins", "map_bin_table", "count_values", "map_values")
ONE_PASS = ("equalize_table_each", "equalize_nodes_each", "compiled_loop")
DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64, np.uint64,
          np.float16, np.float32, np.float64]


def same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert_array_equal(a, b)
    if a.dtype.kind == "f":
        nan = np.isnan(a)
        assert (np.isnan(b) == nan).all()
        assert (np.signbit(a)[~nan] == np.signbit(b)[~nan]).all()


class Twin:
    """A kernels module whose every kernel runs compiled AND in NumPy and compares outputs.

    Every kernel's last argument is the array it writes (counts or out);
    the NumPy twin writes into a copy.  ``calls`` records (factory, flags).
    """

    def __init__(self):
        self.calls = set()

    def __getattr__(self, name):
        if name not in FACTORIES:
            raise AttributeError(name)

        def factory(*flags):
            compiled = getattr(kernels, name)(*flags)
            twin = getattr(numpy_kernels, name)(*flags)

            def run(*args):
                self.calls.add((name, flags))
                copy = args[-1].copy()
                try:
                    compiled(*args)
                except ValueError:
                    with pytest.raises(ValueError):
                        twin(*args[:-1], copy)
                    raise
                twin(*args[:-1], copy)
                same_bits(args[-1], copy)
            return run
        return factory


@pytest.fixture
def twin(monkeypatch):
    t = Twin()
    monkeypatch.setattr(backend, "kernels_for", lambda dtype: t)
    return t


def photos(dtype, n=5, size=36):
    """Crops of real photographs in ``dtype``: plain, dark, bright, constant, saturated."""
    pictures = [data.camera(), data.moon(), data.coins(), data.text()]
    rng = np.random.default_rng(11)
    unit = []
    for i in range(n):
        picture = pictures[i % len(pictures)]
        y, x = rng.integers(0, min(picture.shape) - size, 2)
        unit.append((picture[y:y + size, x:x + size] / 255.0) ** [1, 3, 0.3][i % 3])
    unit = np.stack(unit)
    unit[3] = unit[3, 2, 2]
    unit[4, :, :4], unit[4, :, -4:] = 0.0, 1.0
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        out = (unit * 5 - 2).astype(dtype)
        out[0, 1, :5] = np.nan
        out[2, 0, 0] = -np.inf
        return out
    info = np.iinfo(dtype)
    low = max(float(info.min), -2.0 ** 40)
    high = min(float(info.max), 2.0 ** 40)
    return np.round(low + unit * (high - low)).astype(dtype)


def refused(function, *args, **kwargs):
    """``function(*args, **kwargs)``, or None where the range checks refuse (float16 bins)."""
    try:
        return function(*args, **kwargs)
    except ValueError as error:
        assert "bins" in str(error) or "range" in str(error), error
        return None


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_kernel_call_of_the_engine_gives_the_same_bits_in_numpy(twin, dtype):
    stack = photos(dtype)
    mask = np.zeros(stack.shape[-2:], bool)
    mask[5:20, 3:30] = True
    outside = np.concatenate([stack[:2], stack[:2][::-1] // 2 if stack.dtype.kind in "iu"
                              else stack[:2] * 3])
    for method in METHODS:
        m = get_method(method)
        if not m.supports(stack.dtype) or m.kind(stack.dtype) == "image":
            continue
        for bins in (2, 7, 256, 3000):
            for scope in m.scopes:
                refused(equalize, stack, method, bins, scope=scope)
                refused(equalize, stack, method, bins, scope=scope, mask=mask)
            h = refused(histogram, stack[:2], method, bins)
            if h is not None:                                  # values outside its range
                refused(histogram, h.apply(outside), method, bins)
        if stack.dtype.kind in "iu":
            for output in ("uint8", "uint16", "float32", "same"):
                equalize(stack, method, dtype=output)
    expected = {"count_bins", "map_bins", "map_bin_table"} if np.dtype(dtype).kind == "f" \
        else {"count_values", "map_values", "count_bins", "map_bins"}
    assert {name for name, _ in twin.calls} >= expected


@SETTINGS
@given(st.sampled_from(DTYPES).flatmap(
    lambda d: arrays(d, st.sampled_from([(1, 1), (2, 3, 4), (3, 1, 5, 5)]),
                     elements=from_dtype(np.dtype(d), allow_nan=True, allow_infinity=True)
                     if np.dtype(d).kind == "f" else from_dtype(np.dtype(d)))),
       st.sampled_from([1, 2, 5, 256]), st.sampled_from(["image", "stack"]))
def test_extreme_values_give_the_same_bits_or_the_same_refusal(images, bins, scope):
    t = Twin()
    for method in METHODS:
        m = get_method(method)
        if not m.supports(images.dtype) or scope not in m.scopes:
            continue
        old = backend.kernels_for
        backend.kernels_for = lambda dtype: t
        try:
            with np.errstate(all="ignore"):
                equalize(images, method, bins, scope=scope)
        except ValueError:
            pass                    # refused by the range checks: the same for both
        finally:
            backend.kernels_for = old


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.uint32, np.float32,
                                   np.float64])
def test_public_results_are_the_same_with_either_kernels(method, dtype):
    m = get_method(method)
    if not m.supports(dtype):
        pytest.skip(f"{method} does not take {np.dtype(dtype)} images")
    stack = photos(dtype)
    results = {}
    for choice in ("compiled", "numpy"):
        with backend.use(choice):
            out = []
            for scope in m.scopes:
                out.append(equalize(stack, method, 64, scope=scope))
                out.append(equalize(stack, method, 64, scope=scope, dtype="uint8"))
                out.append(equalize(stack, method, 64, scope=scope, dtype="same"))
            for image in stack[:3]:
                h = histogram(image, method, 64)
                eq = h.apply(image)
                he = histogram(eq, method, 64)
                out += [h.counts, h.edges, h.cdf_x, h.cdf, eq, he.counts, he.edges, he.cdf]
            results[choice] = out
    for a, b in zip(results["compiled"], results["numpy"]):
        same_bits(np.asarray(a), np.asarray(b))


def test_numpy_choice_never_runs_a_compiled_kernel_even_in_pool_threads(monkeypatch):
    # A stack of several groups runs on the engine's thread pool; the choice
    # must reach those threads.
    def refuse(*flags):
        raise AssertionError(f"a compiled kernel was asked for in {threading.current_thread()}")

    for name in FACTORIES + ONE_PASS:
        monkeypatch.setattr(kernels, name, refuse)
    stack = np.random.default_rng(0).integers(0, 256, (600, 1, 64, 64), dtype=np.uint8)
    with backend.use("numpy"):
        for method in METHODS:
            if get_method(method).kind(stack.dtype) != "image":
                equalize(stack, method, dtype="uint8")
                for scope in get_method(method).scopes:
                    equalize(stack.astype(np.float32), method, scope=scope)
    with pytest.raises(AssertionError, match="compiled kernel"):
        equalize(stack[:2], "numpy")


def test_ready_choice_switches_once_warm_up_marks_the_dtype(monkeypatch):
    used = []
    monkeypatch.setattr(backend, "_ready", set())
    real = backend.kernels_for

    def spy(dtype):
        module = real(dtype)
        # Only this test's work (which carries its "ready" choice into the pool's threads):
        # a thread an earlier test left finishing in the background runs "compiled".
        if backend.current() == "ready":
            used.append(module.__name__.rsplit(".", 1)[-1])
        return module
    monkeypatch.setattr(backend, "kernels_for", spy)
    image = photos(np.int16)[0]
    with backend.use("ready"):
        before = equalize(image, "numpy")
        assert set(used) == {"numpy_kernels"}
        used.clear()
        warm_up(np.int16)                  # compiles (or loads) and marks int16 ready
        assert backend.is_ready(np.int16) and not backend.is_ready(np.uint8)
        used.clear()
        after = equalize(image, "numpy")
        assert set(used) == {"kernels"}
        used.clear()
        equalize(image.astype(np.uint8), "numpy")
        assert set(used) == {"numpy_kernels"}
    same_bits(before, after)


def test_choices_are_checked_and_restored():
    assert backend.current() == "compiled"
    with backend.use("numpy"):
        assert backend.current() == "numpy"
        with backend.use("ready"):
            assert backend.current() == "ready"
        assert backend.current() == "numpy"
    assert backend.current() == "compiled"
    with pytest.raises(ValueError, match="unknown kernels"):
        with backend.use("fast"):
            pass
    old = backend.set_default("numpy")
    try:
        assert backend.current() == "numpy"
    finally:
        backend.set_default(old)


_NO_NUMBA = """
import sys
import numpy as np
from histeq_gui.core.engine import backend
from histeq_gui import equalize, histogram
from histeq_gui.core.methods import METHODS
stack = np.arange(2 * 40 * 30).reshape(2, 40, 30).astype(sys.argv[1])
with backend.use("numpy"):
    for method in METHODS:
        h = histogram(stack[0], method, 64)
        histogram(h.apply(stack[0]), method, 64)
        equalize(stack, method, 64, dtype="uint8")
assert "numba" not in sys.modules, "numba was imported"
print("ok")
"""


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_the_numpy_kernels_do_not_even_import_numba(dtype):
    result = subprocess.run([sys.executable, "-c", _NO_NUMBA, dtype], capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


# ------------------------------------------------- compiled loops and one pass per 8-bit image


def looped(kind):
    """The registered methods with a compiled loop of ``kind`` ("table" or "nodes")."""
    return [m for m in METHODS if getattr(get_method(m), f"{kind}_loop") is not None]


def hard_counts(width, rng):
    """Counts per value of real photographs, and the hard ones: empty, one value, the ends,
    two values, a single pixel, sparse, and counts beyond float32's 2**24."""
    photos_u8 = [data.camera(), data.moon(), data.coins(), data.text()]
    rows = [np.bincount(p.ravel(), minlength=256)[:width] for p in photos_u8]
    hard = np.zeros((8, width), np.int64)           # hard[0]: empty
    hard[1, width // 3] = 500                       # constant
    hard[2, [0, width - 1]] = [7, 9]                # saturated at both ends
    hard[3, [0, 1]] = [1, 1]                        # two values, one pixel each
    hard[4, width - 1] = 1                          # one pixel, at the top
    hard[5, rng.choice(width, 5, replace=False)] = rng.integers(1, 4, 5)
    hard[6] = rng.integers(0, 2 ** 40, width)       # beyond float32's exact integers
    hard[7, ::2] = rng.integers(2, 3000, len(hard[7, ::2]))
    return np.concatenate([np.stack(rows), hard])


@pytest.mark.parametrize("method", looped("table"))
def test_every_table_loop_gives_its_table_hooks_bits(method):
    m = get_method(method)
    rng = np.random.default_rng(7)
    counts = hard_counts(256, rng)
    level = np.arange(256, dtype=np.float64)[np.newaxis]
    levels_choices = (2, 8, 256, 1000, 2 ** 64) if m.param("levels") else (None,)
    loop = kernels.compiled_loop(m.table_loop.function, "table")
    for dtype, value in ((np.uint8, level), (np.int8, level - 128)):
        for levels in levels_choices:
            given = {} if levels is None else {"levels": levels}
            params = m.resolve_params(dtype, **given)
            expected = m.table(Cells(counts, level, 256.0, True, np.dtype(dtype), value), params)
            args = np.array(m.table_loop.args(params), np.float64)
            for row, want in zip(counts, expected):
                got = np.empty(256)
                loop(np.ascontiguousarray(row), 0.0, 256.0, args, got)
                same_bits(got, want)


@pytest.mark.parametrize("method", looped("nodes"))
@pytest.mark.parametrize("bins", [1, 2, 7, 256, 3000])
def test_every_nodes_loop_gives_its_nodes_hooks_bits(method, bins):
    m = get_method(method)
    rng = np.random.default_rng(8)
    values = hard_counts(256, rng)
    loop = kernels.compiled_loop(m.nodes_loop.function, "nodes")
    params = m.resolve_params(np.uint8, bins=bins)
    for row in values[values.sum(axis=1) > 0]:     # a sample has pixels
        present = np.flatnonzero(row)
        lo, hi = np.array([present[0]], np.uint8), np.array([present[-1]], np.uint8)
        stats = hg.Stats(lo, hi, np.array([row.sum()]), lo, hi)
        edges = hg.binning(stats, bins, np.dtype(np.uint8)).edges
        counts = rng.integers(0, 1000, (1, bins))
        counts[0, rng.integers(0, bins)] += 1
        nodes = m.nodes(counts, edges, np.dtype(np.uint8), params)
        assert nodes.anchor == "left" and nodes.scale == m.nodes_loop.scale
        assert nodes.rounding == np.float64
        np.testing.assert_array_equal(nodes.xp[0], edges[0, :-1])
        fp = np.empty(bins)
        loop(np.ascontiguousarray(counts[0]), np.ascontiguousarray(edges[0]),
             np.array(m.nodes_loop.args(params), np.float64), fp)
        same_bits(fp, nodes.fp[0])


def test_every_eight_bit_range_is_binned_exactly():
    # The one pass bins each 8-bit image itself, trusting that the guess and one step
    # find np.histogram's bin (the binning is "exact"): true for every range of 8-bit
    # values and bin count.  Bins are narrowest, and so hardest, for the narrowest
    # ranges: with 65536 bins those (a range of 1 or 2 values) and every 97th are tried.
    lo, hi = np.meshgrid(np.arange(256), np.arange(256))
    keep = lo <= hi
    lo, hi = lo[keep].astype(np.uint8), hi[keep].astype(np.uint8)
    narrow = (hi.astype(int) - lo <= 1) | (np.arange(len(lo)) % 97 == 0)
    for bins in (1, 2, 255, 256, 257, 65536):
        chosen = narrow if bins == 65536 else np.ones(len(lo), bool)
        stats = hg.Stats(lo[chosen], hi[chosen], np.ones(chosen.sum(), np.int64), lo[chosen],
                         hi[chosen])
        assert hg.binning(stats, bins, np.dtype(np.uint8)).exact.all()


def eight_bit_stacks(dtype):
    """Photographs with their hard cases, a constant stack, a 1x1 image, two values."""
    stack = photos(dtype)
    info = np.iinfo(dtype)
    constant = np.full((2, 3, 3), info.max, dtype)
    constant[1] = info.min
    two = np.full((1, 4, 4), info.min, dtype)
    two[0, :2] = info.min + 1
    return [stack, constant, stack[:1, :1, :1], two]


@pytest.fixture
def one_pass(monkeypatch):
    """Rows equalized by the one compiled pass (and how many of them were left)."""
    seen = {"rows": 0, "left": 0}
    real = engine_tables.equalize_each

    def spy(*args):
        ok = real(*args)
        seen["rows"] += len(ok)
        seen["left"] += int((~ok).sum())
        return ok
    monkeypatch.setattr(engine_tables, "equalize_each", spy)
    return seen


@pytest.mark.parametrize("method", looped("table") + looped("nodes"))
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_one_pass_per_image_gives_the_bits_of_the_tables_path(method, dtype, one_pass):
    m = get_method(method)
    bins_choices = (1, 2, 7, 256, 65536) if m.kind(dtype) == "nodes" else (256,)
    levels_choices = ({}, {"levels": 2}, {"levels": 8}, {"levels": 2 ** 64}) \
        if m.param("levels") else ({},)
    for images in eight_bit_stacks(dtype):
        for bins in bins_choices:
            for levels in levels_choices:
                for output in (None, "float32", "uint8", "uint16", "same"):
                    before = one_pass["rows"]
                    with backend.use("compiled"):
                        fast = equalize(images, method, bins, dtype=output, **levels)
                    assert one_pass["rows"] - before == len(images)
                    with backend.use("numpy"):
                        plain = equalize(images, method, bins, dtype=output, **levels)
                    same_bits(fast, plain)
    assert one_pass["left"] == 0


def test_the_one_pass_is_taken_only_where_it_applies(one_pass):
    stack = photos(np.uint8)
    mask = np.zeros(stack.shape[-2:], bool)
    mask[3:20, 5:30] = True
    equalize(stack, "opencv", mask=mask)                     # a mask: the tables
    equalize(stack, "opencv", scope="stack")                 # one sample: the tables
    equalize(stack.astype(np.uint16), "opencv")              # 16 bits: the tables
    with backend.use("numpy"):
        equalize(stack, "opencv")                            # the NumPy loops: the hooks
    assert one_pass["rows"] == 0
    equalize(stack, "opencv")
    assert one_pass["rows"] == len(stack)


def test_rows_whose_compiled_nodes_are_not_finite_are_mapped_by_np_interp(one_pass):
    half = np.zeros((3, 8, 8), np.uint8)
    half[:, :4] = 10
    half[:, 4:] = 200                       # half the pixels at or below every bin up to 200
    half[1, 0, :3] = 200                    # not exactly half: finite nodes
    with registered(HALF):
        with backend.use("compiled"):
            fast = equalize(half, "half-test", 16, dtype="uint16")
        with backend.use("numpy"):
            plain = equalize(half, "half-test", 16, dtype="uint16")
    same_bits(fast, plain)
    assert one_pass == {"rows": 3, "left": 2}
