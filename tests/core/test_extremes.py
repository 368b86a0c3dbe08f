"""Extreme values never crash: every method, both scopes, with and without masks.

Hypothesis throws images of every dtype holding the values that break
arithmetic: +-1e308 and the largest and smallest finite values of float16,
float32 and float64, subnormals, the limits of every integer dtype (int64
spanning 2**62, uint64's maximum), mixed with NaN and inf.  The result must
be either the reference's (the seed recipe, ``equalize_hist``; bit for bit
on x86-64) or, exactly where the reference refuses the range, a one-line
ValueError.  No NumPy warning may escape either.

The tests run in this process: a crash (a segfault from a compiled loop
writing out of bounds) kills the test run, which then fails (pytest's
faulthandler prints where; under xdist the crashed worker's test is
reported as failed).
"""

import os
import platform
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, from_dtype
from numpy.testing import assert_allclose, assert_array_equal
from references import REFERENCES, params

from histeq_gui import equalize, histogram
from histeq_gui.core.methods import METHODS, get_method

BIT_EXACT = platform.machine().lower() in ("x86_64", "amd64")
# A deeper run: HISTEQ_FUZZ_EXAMPLES=3000 python -m pytest tests/core/test_extremes.py
SETTINGS = settings(max_examples=int(os.environ.get("HISTEQ_FUZZ_EXAMPLES", 60)),
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])

FLOATS = [np.float16, np.float32, np.float64]
INTS = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64, np.int64]
BINS = [1, 2, 3, 7, 256, 65536]


def extremes(dtype):
    """The values that break arithmetic, for ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        info = np.finfo(dtype)
        big = [info.max, info.max / 2, info.max / 3, 1e308, 1e38, 6e4]
        small = [info.tiny, info.smallest_subnormal, 3 * info.smallest_subnormal]
        values = [0.0, 1.0, 0.5, np.nan, np.inf] + big + small
        values += [-v for v in values if v == v]
        with np.errstate(over="ignore"):
            return sorted(set(np.array(values, dtype).tolist()), key=repr)
    info = np.iinfo(dtype)
    values = [info.min, info.max, info.min + 1, info.max - 1, 0, 1, -1, 2 ** 62, -2 ** 62,
              2 ** 62 + 1, 2 ** 53 + 1, 2 ** 31, -2 ** 31, 2 ** 16, 255, 256, 65535]
    return sorted({int(v) for v in values if info.min <= v <= info.max})


def images(dtype):
    """Stacks (N, H, W) of extreme values, mixed with anything ``dtype`` can hold."""
    shape = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4))
    elements = st.one_of(st.sampled_from(extremes(dtype)), from_dtype(np.dtype(dtype)))
    return arrays(dtype, shape, elements=elements)


def masks(shape):
    """No mask, one mask for every image, or one per image."""
    return st.one_of(st.none(), arrays(np.bool_, shape[1:]), arrays(np.bool_, shape))


def expected_result(method, stack, bins, scope, mask):
    """The reference's result, or None where the reference refuses (raises)."""
    reference = REFERENCES[method]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            if scope == "stack":
                whole = None if mask is None else np.broadcast_to(mask, stack.shape)
                return reference(stack, bins, whole)
            per_image = [None] * len(stack) if mask is None else np.broadcast_to(mask,
                                                                                 stack.shape)
            return np.stack([reference(image, bins, m) for image, m in zip(stack, per_image)])
        except (ValueError, IndexError, OverflowError, MemoryError):
            return None


def check(method, stack, bins, scope, mask):
    """Compare ``equalize`` with the reference: "compared", or "refused" (both refuse)."""
    selects_nothing = mask is not None and not np.asarray(mask).any()
    expected = None if selects_nothing else expected_result(method, stack, bins, scope, mask)
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no NumPy warning may escape
        try:
            out = equalize(stack, method, bins, scope=scope, mask=mask, **params(method))
        except ValueError as error:
            assert "\n" not in str(error)
            assert expected is None, f"refused what the reference computes: {error}"
            return "refused"
    assert expected is not None, "computed what the reference refuses"
    assert out.shape == stack.shape and out.dtype == np.float64
    if BIT_EXACT:
        assert_array_equal(out, expected)
    else:
        tol = 1e-6 if stack.dtype in (np.float16, np.float32) else 1e-9
        assert_allclose(out, expected, rtol=0, atol=tol, equal_nan=True)
    if scope == "image" and mask is None:
        # The viewer's path: histogram() of one image, applied to it.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                h = histogram(stack[0], method, bins, **params(method))
            except ValueError as error:
                # CLAHE's plot bins the values as np.histogram does (and refuses
                # likewise); its equalized image needs no bins.
                assert get_method(method).kind(stack.dtype) == "image"
                assert "\n" not in str(error)
                assert "bins" in str(error) or "np.histogram" in str(error)
            else:
                assert_array_equal(h.apply(stack[0]), out[0])
    return "compared"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_extreme_floats_give_the_reference_or_one_line(method, dtype):
    outcomes = []

    @SETTINGS
    @given(data=st.data())
    @example(data=None)
    def run(data):
        if data is None:                      # the issue's file: [[1e308, -1e308], [0, 1]] x 3
            with np.errstate(over="ignore"):
                stack = np.array([[[1e308, -1e308], [0., 1.]]] * 3).astype(dtype)
            for bins in BINS:
                for scope in ("image", "stack"):
                    outcomes.append(check(method, stack, bins, scope, None))
            return
        stack = data.draw(images(dtype), label="stack")
        outcomes.append(check(method, stack, data.draw(st.sampled_from(BINS), label="bins"),
                              data.draw(st.sampled_from(["image", "stack"]), label="scope"),
                              data.draw(masks(stack.shape), label="mask")))

    run()
    assert "compared" in outcomes, "every input was refused: nothing was compared"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", INTS)
def test_extreme_integers_give_the_reference_or_one_line(method, dtype):
    outcomes = []

    @SETTINGS
    @given(data=st.data())
    def run(data):
        stack = data.draw(images(dtype), label="stack")
        outcomes.append(check(method, stack, data.draw(st.sampled_from(BINS), label="bins"),
                              data.draw(st.sampled_from(["image", "stack"]), label="scope"),
                              data.draw(masks(stack.shape), label="mask")))

    run()
    assert "compared" in outcomes, "every input was refused: nothing was compared"


@pytest.mark.parametrize("method", METHODS)
def test_the_issue_file_is_refused_in_one_line(method, tmp_path):
    path = tmp_path / "ext.npy"
    np.save(path, np.array([[[1e308, -1e308], [0., 1.]]] * 3))
    if expected_result(method, np.load(path), 256, "image", None) is not None:
        # Whole-image methods that make no bins of floats compute it (as their references do).
        assert get_method(method).kind(np.float64) == "image"
        out = equalize(np.load(path), method, **params(method))
        assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
        return
    with pytest.raises(ValueError, match="wider than float64") as error:
        equalize(np.load(path), method)
    assert "\n" not in str(error.value)
