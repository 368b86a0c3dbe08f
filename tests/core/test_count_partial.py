"""The partial-histogram loop of count_values stays inside its arrays and counts right.

``kernels._count_partial`` is compiled on its own (not inlined: its loop runs
twice as fast that way), so the bounds tests of test_kernel_bounds.py, which
compile each kernel with ``boundscheck=True``, would call its unchecked
build.  Here both the kernel and the helper are compiled with bounds
checking, and fed rows long enough to take that path (8- and 16-bit tables
covering their dtype) with right and wrong companions.
"""

import os

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from histeq_gui.core.engine import kernels, numpy_kernels

SETTINGS = settings(max_examples=int(os.environ.get("HISTEQ_FUZZ_EXAMPLES", 60)),
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def bounds_checked(dispatcher):
    options = {k: v for k, v in dispatcher.targetoptions.items()
               if k not in ("cache", "boundscheck", "nopython")}
    return numba.njit(**options, boundscheck=True)(dispatcher.py_func)


@pytest.fixture(scope="module")
def checked_count():
    """count_values(False) and its helper, both bounds-checked."""
    helper = kernels._count_partial
    kernels._count_partial = bounds_checked(helper)
    try:
        yield bounds_checked(kernels.count_values(False))
    finally:
        kernels._count_partial = helper


@st.composite
def rows(draw):
    dtype = np.dtype(draw(st.sampled_from([np.uint8, np.int8])))
    info = np.iinfo(dtype)
    width = 256
    n_rows = draw(st.integers(0, 3))
    pixels = draw(st.sampled_from([4 * width, 4 * width + 1, 4 * width + 3, 5000]))
    x = draw(arrays(dtype, (n_rows, pixels),
                    elements=st.integers(int(info.min), int(info.max))))
    n = draw(st.integers(0, 3))
    samples = draw(arrays(np.intp, draw(st.sampled_from([n_rows, max(n_rows - 1, 0)])),
                          elements=st.integers(-1, 3)))
    right = int(info.min)
    base = draw(arrays(np.int64, n, elements=st.sampled_from([right, right, right - 1,
                                                              right + 1, -2 ** 62])))
    offset = draw(st.sampled_from([0, 0, width, -3]))
    length = draw(st.sampled_from([n * width, n * width, max(n * width - 7, 0),
                                   n * width + 5]))
    return x, samples, base, width, offset, length


@SETTINGS
@given(rows())
def test_partial_counting_never_leaves_its_arrays(checked_count, case):
    x, samples, base, width, offset, length = case
    counts = np.zeros(length, np.int64)
    try:
        checked_count(x, np.ones((1, 1), bool), samples, base, width, offset, counts)
    except ValueError:
        return                              # refused its inputs: allowed
    except IndexError as error:             # the unchecked build would corrupt memory
        pytest.fail(f"out-of-bounds access: {error}")
    # It ran: the counts are the NumPy twin's.
    twin = np.zeros(length, np.int64)
    numpy_kernels.count_values(False)(x, np.ones((1, 1), bool), samples, base, width, offset,
                                      twin)
    np.testing.assert_array_equal(counts, twin)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_real_photographs_are_counted_exactly(dtype):
    from references import sample_stack
    faces = sample_stack().reshape(100, -1)
    x = faces if dtype == np.uint8 else (faces.astype(np.int16) - 128).astype(np.int8)
    base = np.full(100, np.iinfo(dtype).min, np.int64)
    counts = np.zeros(100 * 256, np.int64)
    kernels.count_values(False)(x, np.ones((1, 1), bool), np.arange(100), base, 256, 0, counts)
    expected = np.stack([np.bincount(row.astype(np.int64) - np.iinfo(dtype).min, minlength=256)
                         for row in x])
    np.testing.assert_array_equal(counts.reshape(100, 256), expected)
