"""The NumPy twins of the compiled loops give the same bits, and the choice between them works.

Two levels:

- every kernel call the engine makes, for every method, dtype, scope, mask
  and bin count (and hypothesis' extreme images), is run by both the
  compiled kernel and its NumPy twin (a "twin" backend), whose outputs must
  be identical, NaN and the sign of zero included;
- the public results (``equalize`` in float64 and integer outputs,
  ``histogram``'s counts, edges and CDF, ``apply``) with the NumPy kernels
  equal those with the compiled kernels, bit for bit.

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

from histeq_gui import equalize, histogram
from histeq_gui.core.engine import backend, kernels, numpy_kernels
from histeq_gui.core.equalize import warm_up
from histeq_gui.core.methods import METHODS, get_method

SETTINGS = settings(max_examples=int(os.environ.get("HISTEQ_FUZZ_EXAMPLES", 60)),
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FACTORIES = ("count_bins", "map_bins", "map_bin_table", "count_values", "map_values")
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

    for name in FACTORIES:
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
