"""Every compiled loop stays inside its arrays, whatever its inputs.

Each kernel is compiled a second time here with numba's ``boundscheck=True``
(from the very same Python source, helpers inlined into it), and fed
arbitrary inputs: garbage tables, NaN, inf, huge values, wrong sample
numbers, arrays of the wrong length.  The checked build raises IndexError on
any access outside an array, so "returns, or raises the kernel's own
ValueError" for every input proves that the unchecked build used by the
program never reads or writes outside its arrays for those inputs.

The checked builds are not cached on disk (numba's cache key does not tell
them from the program's own builds).  Breaking any clip in ``kernels.py``
(e.g. the guard that keeps ``_bin`` below ``bins``) makes these tests fail.
"""

import os

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from histeq_gui.core.engine import kernels

# A deeper run: HISTEQ_FUZZ_EXAMPLES=5000 python -m pytest tests/core/test_kernel_bounds.py
SETTINGS = settings(max_examples=int(os.environ.get("HISTEQ_FUZZ_EXAMPLES", 60)),
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_CHECKED = {}


def checked(kernel):
    """``kernel`` compiled with bounds checking (once per test session)."""
    if kernel not in _CHECKED:
        options = {k: v for k, v in kernel.targetoptions.items()
                   if k not in ("cache", "boundscheck", "nopython")}
        _CHECKED[kernel] = numba.njit(**options, boundscheck=True)(kernel.py_func)
    return _CHECKED[kernel]


def run(kernel, *args):
    """Call the checked build; an IndexError is an out-of-bounds access."""
    try:
        kernel(*args)
    except ValueError:
        pass                        # the kernel refused its inputs: allowed
    except IndexError as error:     # boundscheck: the unchecked build would corrupt memory
        pytest.fail(f"out-of-bounds access: {error}")


POOL = [-np.inf, -1e308, -2.0, -1.0, -0.5, 0.0, 5e-324, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 1e308,
        np.inf, np.nan]


def floats(dtype=np.float64):
    """Any float, often one of a few that make comparisons with each other go both ways."""
    with np.errstate(over="ignore"):
        pool = np.array(POOL, dtype).tolist()
    return st.one_of(st.sampled_from(pool).map(np.dtype(dtype).type),
                     st.floats(allow_nan=True, allow_infinity=True,
                               width=np.dtype(dtype).itemsize * 8))


def length(data, n, stride):
    """Mostly ``n * stride`` (a table that fits); now and then short or long by up to a sample.

    Each table draws its own, so in many examples all tables fit and the
    kernels reach their inner loops, and in many others one table is too
    short for the last sample's entries.
    """
    exact = max(n * stride, 0)
    if data.draw(st.integers(0, 5)):
        return exact
    return max(exact + data.draw(st.integers(-max(stride, 1), max(stride, 1))), 0)


def vec(dtype, elements, size):
    return arrays(dtype, size, elements=elements)


def mat(dtype, elements, max_rows=3, max_cols=5):
    return arrays(dtype, st.tuples(st.integers(0, max_rows), st.integers(0, max_cols)),
                  elements=elements)


small_ints = st.integers(-2, 6)
any_ints = st.integers(-2 ** 62, 2 ** 62)
bools = st.booleans()


def layout(data, rows):
    """Samples and stride: mostly valid sample numbers for ``rows`` rows, sometimes not."""
    n = data.draw(st.integers(0, 3))
    stride = data.draw(st.one_of(st.integers(2, 5), st.integers(-1, 1)))
    valid = st.integers(0, max(n - 1, 0))
    samples = data.draw(vec(np.intp, st.one_of(valid, valid, small_ints),
                            st.sampled_from([rows, rows, max(rows - 1, 0), rows + 1])))
    return n, stride, samples


@pytest.mark.parametrize("use_sel, weighted", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@SETTINGS
@given(data=st.data())
def test_count_bins_stays_inside(use_sel, weighted, dtype, data):
    x = data.draw(mat(dtype, floats(dtype)))
    n, stride, samples = layout(data, x.shape[0])
    offset = data.draw(st.one_of(st.just(0), st.integers(-6, 6)))
    run(checked(kernels.count_bins(use_sel, weighted)), x,
        data.draw(mat(np.bool_, bools)) if data.draw(bools) else np.ones(x.shape, bool),
        samples,
        data.draw(vec(np.bool_, bools, length(data, n, 1))),
        data.draw(vec(dtype, floats(dtype), length(data, n, 1))),
        data.draw(vec(dtype, floats(dtype), length(data, n, 1))),
        data.draw(vec(dtype, floats(dtype), length(data, n, stride))),
        stride, offset,
        data.draw(mat(np.int64, st.integers(0, 9))) if weighted else np.zeros((1, 1), np.int64),
        np.zeros(length(data, n, stride), np.int64))


@pytest.mark.parametrize("centred", [False, True])
@pytest.mark.parametrize("clamp", [False, True])
@SETTINGS
@given(data=st.data())
def test_map_bins_stays_inside(centred, clamp, data):
    x = data.draw(mat(np.float64, floats()))
    n, stride, samples = layout(data, x.shape[0])

    def per_sample():
        return data.draw(vec(np.float64, floats(), length(data, n, 1)))

    def per_bin():
        return data.draw(vec(np.float64, floats(), length(data, n, stride)))

    out_shape = data.draw(st.sampled_from([x.shape, (x.shape[0], max(x.shape[1] - 1, 0)),
                                           (x.shape[0] + 1, x.shape[1])]))
    run(checked(kernels.map_bins(centred, clamp)), x, samples,
        data.draw(vec(np.bool_, bools, length(data, n, 1))),
        per_sample(), per_sample(), per_sample(), per_bin(), stride, per_bin(), per_bin(),
        per_bin(), per_bin(), data.draw(floats()), np.empty(out_shape))


@pytest.mark.parametrize("clamp", [False, True])
@SETTINGS
@given(data=st.data())
def test_map_bin_table_stays_inside(clamp, data):
    x = data.draw(mat(np.float64, floats()))
    n, stride, samples = layout(data, x.shape[0])

    def per_sample():
        return data.draw(vec(np.float64, floats(), length(data, n, 1)))

    def per_bin():
        return data.draw(vec(np.float64, floats(), length(data, n, stride)))

    out_shape = data.draw(st.sampled_from([x.shape, (x.shape[0], max(x.shape[1] - 1, 0))]))
    run(checked(kernels.map_bin_table(clamp)), x, samples,
        data.draw(vec(np.bool_, bools, length(data, n, 1))),
        per_sample(), per_sample(), per_sample(), per_bin(), stride, per_bin(),
        np.empty(out_shape))


@pytest.mark.parametrize("use_sel", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.uint64])
@SETTINGS
@given(data=st.data())
def test_count_values_stays_inside(use_sel, dtype, data):
    info = np.iinfo(dtype)
    x = data.draw(mat(dtype, st.one_of(st.integers(0, 8), st.integers(int(info.min),
                                                                        int(info.max)))))
    n, width, samples = layout(data, x.shape[0])
    run(checked(kernels.count_values(use_sel)), x,
        data.draw(mat(np.bool_, bools)) if data.draw(bools) else np.ones(x.shape, bool),
        samples,
        data.draw(vec(np.int64, st.one_of(small_ints, any_ints), length(data, n, 1))),
        width, data.draw(st.one_of(st.just(0), st.integers(-6, 6))),
        np.zeros(length(data, n, width), np.int64))


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.uint64])
@SETTINGS
@given(data=st.data())
def test_map_values_stays_inside(dtype, data):
    info = np.iinfo(dtype)
    x = data.draw(mat(dtype, st.one_of(st.integers(0, 8), st.integers(int(info.min),
                                                                        int(info.max)))))
    n, width, samples = layout(data, x.shape[0])
    out_shape = data.draw(st.sampled_from([x.shape, (x.shape[0], max(x.shape[1] - 1, 0))]))
    run(checked(kernels.map_values()), x, samples,
        data.draw(vec(np.int64, st.one_of(small_ints, any_ints), length(data, n, 1))),
        width, data.draw(vec(np.float64, floats(), length(data, n, width))),
        np.empty(out_shape))


def _valid_arguments():
    """Right inputs for every kernel (real bins of real values), by kernel."""
    from histeq_gui.core import histogram as hg

    rng = np.random.default_rng(3)
    x = rng.random((3, 50))
    x[1, :5] = [np.nan, np.inf, -np.inf, 2.0, -1.0]      # outside the edges: clamped
    b = hg.binning(hg.block_stats(np.nan_to_num(x, posinf=1, neginf=0))[0], 8, x.dtype)
    samples = np.arange(3)
    stride = 9
    per_bin = rng.random(3 * stride)
    ints = rng.integers(100, 140, (3, 50)).astype(np.uint16)
    base, width = ints.min(axis=1).astype(np.int64), 45
    sel = np.ones(x.shape, bool)
    weights = np.ones(x.shape, np.int64)
    return {
        "count_bins": (kernels.count_bins(True, True),
                       [np.clip(x, 0, 1), sel, samples, b.exact, b.first, b.scale, b.lower,
                        stride, 0, weights, np.zeros(3 * stride, np.int64)]),
        "map_bins": (kernels.map_bins(True, True),
                     [x, samples, b.exact, b.first, b.last, b.scale, b.lower, stride,
                      per_bin.copy(), per_bin.copy(), per_bin.copy(), per_bin.copy(), 1.0,
                      np.empty(x.shape)]),
        "map_bin_table": (kernels.map_bin_table(True),
                          [x, samples, b.exact, b.first, b.last, b.scale, b.lower, stride,
                           per_bin.copy(), np.empty(x.shape)]),
        "count_values": (kernels.count_values(True),
                         [ints, sel, samples, base, width, 0, np.zeros(3 * width, np.int64)]),
        "map_values": (kernels.map_values(),
                       [ints, samples, base, width, rng.random(3 * width), np.empty(x.shape)]),
    }


@pytest.mark.parametrize("name", ["count_bins", "map_bins", "map_bin_table", "count_values",
                                  "map_values"])
def test_every_array_one_sample_too_short_is_refused_not_overrun(name):
    kernel, arguments = _valid_arguments()[name]
    run(checked(kernel), *arguments)                 # the right inputs run
    for i, argument in enumerate(arguments):
        if not isinstance(argument, np.ndarray):
            continue
        shorter = [argument[:-9] if argument.ndim == 1 else argument[:-1],
                   argument[:-1] if argument.ndim == 1 else argument[:, :-1]]
        for short in shorter:
            changed = list(arguments)
            changed[i] = short
            run(checked(kernel), *changed)
