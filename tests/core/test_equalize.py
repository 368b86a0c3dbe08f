"""equalize() against the seed thread's recipe and scikit-image, image by image.

The requirement is agreement to 1e-9 (1e-6 for float32 with scikit-image);
on x86-64, where NumPy's np.interp does not fuse multiply-adds, the results
are also checked to be bit-identical.
"""

import platform
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from references import MATCH_REFERENCE, REFERENCES, params, per_image, sample_stack, seed_recipe
from skimage import data, exposure

from histeq_gui import equalize, histogram
from histeq_gui.core.errors import Cancelled
from histeq_gui.core.methods import METHODS, get_method

BIT_EXACT = platform.machine().lower() in ("x86_64", "amd64")
BINS = [1, 2, 3, 17, 256, 1000, 1500, 4096, 65536]


def close(actual, expected, dtype=np.float64):
    """Assert the requirement (1e-9, float32+skimage 1e-6) and, on x86-64, bit equality."""
    tol = 1e-6 if dtype in (np.float16, np.float32) else 1e-9
    assert actual.dtype == np.float64 and actual.shape == expected.shape
    assert_allclose(actual, expected, rtol=0, atol=tol, equal_nan=True)
    if BIT_EXACT:
        assert_array_equal(actual, expected)


def real_stack(dtype, n=12, size=48):
    """Crops of real photographs (camera, moon, coins...) in ``dtype``: dark, bright, flat."""
    photos = [data.camera(), data.moon(), data.coins(), data.page(), data.text()]
    rng = np.random.default_rng(7)
    images = []
    for i in range(n):
        photo = photos[i % len(photos)]
        y, x = rng.integers(0, min(photo.shape) - size, 2)
        crop = photo[y:y + size, x:x + size].astype(np.float64) / 255
        crop = crop ** [1, 2.5, 0.4][i % 3]            # plain, dark, bright
        if i % 4 == 3:
            crop = 0.45 + 0.1 * crop                   # low contrast
        images.append(crop)
    stack = np.stack(images)[:, np.newaxis]
    if dtype == np.uint8:
        return np.round(stack * 255).astype(np.uint8)
    if dtype == np.uint16:
        return np.round(stack * 60000 + 1000).astype(np.uint16)
    if dtype == np.int16:
        return np.round(stack * 20000 - 9000).astype(np.int16)
    return (stack * 3 - 1).astype(dtype)


def hard_stack(dtype):
    """Real images plus the edge cases: constant, two values, few distinct values."""
    stack = real_stack(dtype, n=8, size=32)
    stack[1] = stack[1, 0, 5, 5]                      # constant
    stack[2] = np.where(np.arange(32) % 2, stack[2, 0, 0, 0], stack[2, 0, 9, 9])
    few = np.array([3, 7, 7, 200], dtype=np.float64)
    stack[3] = (few[np.arange(32 * 32).reshape(32, 32) % 4]).astype(dtype)
    return stack


DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bins", BINS)
def test_numpy_method_equals_the_seed_recipe(dtype, bins):
    stack = hard_stack(dtype)
    expected = np.stack([seed_recipe(img[0], bins)[0] / 255 for img in stack])[:, np.newaxis]
    close(equalize(stack, "numpy", bins), expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bins", BINS)
def test_skimage_method_equals_equalize_hist(dtype, bins):
    stack = hard_stack(dtype)
    expected = np.stack([exposure.equalize_hist(img, bins).astype(np.float64) for img in stack])
    close(equalize(stack, "skimage", bins), expected, dtype)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bins", [1, 2, 3, 17, 256, 4096])
def test_float16_images_equal_the_reference_or_are_refused_likewise(method, bins):
    # float16 edges and bin widths round in float16, as np.histogram makes
    # them; many bins over a narrow float16 range cannot be distinct, and
    # np.histogram refuses those ranges: so does equalize, in one line.
    for image in hard_stack(np.float16)[:, 0]:
        try:
            expected = REFERENCES[method](image, bins)
        except ValueError:
            with pytest.raises(ValueError, match="bins") as error:
                equalize(image, method, bins, **params(method))
            assert "\n" not in str(error.value)
        else:
            close(equalize(image, method, bins, **params(method)), expected, np.float16)


def test_the_sample_stack_in_the_seed_layout():
    stack = sample_stack()
    assert stack.shape == (100, 1, 96, 96) and stack.dtype == np.uint8
    for method in METHODS:
        reference = REFERENCES[method]
        close(equalize(stack, method, 256, **params(method)), per_image(reference, stack, 256))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_stack_scope_is_the_reference_on_the_whole_stack(method, dtype):
    stack = real_stack(dtype)
    if "stack" not in get_method(method).scopes:
        with pytest.raises(ValueError, match="no 'stack' scope; use scope='image'") as error:
            equalize(stack, method, 100, scope="stack", **params(method))
        assert "\n" not in str(error.value)
        return
    whole = REFERENCES[method](stack, 100)
    close(equalize(stack, method, 100, scope="stack"), whole, dtype)


@pytest.mark.parametrize("shape", [(40, 30), (5, 40, 30), (5, 1, 40, 30), (2, 3, 40, 30)])
@pytest.mark.parametrize("method", METHODS)
def test_any_leading_axes_are_batch_axes(shape, method):
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    out = equalize(x, method, 64, **params(method))
    assert out.shape == shape
    close(out, per_image(REFERENCES[method], x, 64), np.float32)


@pytest.mark.parametrize("method", METHODS)
def test_colour_channels_are_equalized_one_by_one(method):
    rgb = data.astronaut()[::8, ::8]                   # (64, 64, 3) uint8
    stack = np.stack([rgb, rgb[::-1], rgb[:, ::-1] // 3])
    out = equalize(stack, method, 50, channel_axis=-1, **params(method))
    assert out.shape == stack.shape
    for c in range(3):
        close(out[..., c], per_image(REFERENCES[method], stack[..., c], 50))
    if "stack" in get_method(method).scopes:
        whole = equalize(stack, method, 50, scope="stack", channel_axis=-1)
        for c in range(3):
            close(whole[..., c], REFERENCES[method](stack[..., c], 50))
    first = equalize(np.moveaxis(stack, -1, 1), method, 50, channel_axis=1, **params(method))
    assert_array_equal(np.moveaxis(first, 1, -1), out)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_a_mask_chooses_the_pixels_that_drive_the_mapping(method, dtype):
    stack = real_stack(dtype, n=6)[:, 0]
    mask = np.zeros(stack.shape[1:], bool)
    mask[10:30, 5:25] = True
    if not get_method(method).masks:
        with pytest.raises(ValueError, match="takes no mask") as error:
            equalize(stack, method, 40, mask=mask, **params(method))
        assert "\n" not in str(error.value)
        return
    out = equalize(stack, method, 40, mask=mask, **params(method))
    close(out, np.stack([REFERENCES[method](img, 40, mask) for img in stack]), dtype)
    per_image_masks = np.random.default_rng(3).random(stack.shape) < 0.3
    out = equalize(stack, method, 40, mask=per_image_masks, **params(method))
    expected = np.stack([REFERENCES[method](img, 40, m) for img, m in zip(stack, per_image_masks)])
    close(out, expected, dtype)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_inf_are_left_out_and_come_back_nan(method, dtype):
    stack = real_stack(dtype, n=5)[:, 0]
    stack[0, 3, 4] = np.nan
    stack[1, :, :5] = np.inf
    stack[2, 7, 7] = -np.inf
    stack[3] = np.nan                                   # no finite pixel at all
    out = equalize(stack, method, 30, **params(method))
    assert np.isnan(out[3]).all()
    assert np.isnan(out[~np.isfinite(stack)]).all()
    close(out, np.stack([REFERENCES[method](img, 30) for img in stack]), dtype)


def test_integers_with_a_huge_range_are_ranked_not_binned_per_integer():
    rng = np.random.default_rng(5)
    stack = rng.integers(-2 ** 40, 2 ** 40, size=(3, 30, 30), dtype=np.int64)
    stack[:, :5] = 17                                    # ties
    out = equalize(stack, "skimage")
    for image, result in zip(stack, out):
        # equalize_hist would need 2**41 bins; what it computes is the
        # empirical CDF at each value: the fraction of pixels <= it.
        ecdf = np.searchsorted(np.sort(image.ravel()), image, side="right") / image.size
        assert_array_equal(result, ecdf)
    close(equalize(stack, "numpy"), per_image(REFERENCES["numpy"], stack, 256))
    h = histogram(stack[0], "skimage")
    assert h.value_bins and h.counts.sum() == stack[0].size


@pytest.mark.parametrize("method", METHODS)
def test_images_larger_than_a_block(method):
    image = np.tile(data.camera(), (3, 2))[:1100, :1000]   # 1.1 million pixels
    stack = np.stack([image, 255 - image])
    p = params(method)
    close(equalize(stack, method, 300, **p), per_image(REFERENCES[method], stack, 300))
    floats = stack.astype(np.float32) / 7
    close(equalize(floats, method, 300, **p), per_image(REFERENCES[method], floats, 300),
          np.float32)


def test_bins_so_narrow_that_only_numpy_itself_can_say():
    # 400 distinct float32 values one ulp apart: bins a few ulps wide.
    x = (np.float32(1) + np.arange(400, dtype=np.float32) * np.spacing(np.float32(1)))
    x = x.reshape(1, 20, 20)
    for method in METHODS:
        for bins in (2, 10, 50, 300):
            try:
                expected = REFERENCES[method](x[0], bins)[np.newaxis]
            except ValueError:
                with pytest.raises(ValueError, match="bins"):
                    equalize(x, method, bins, **params(method))
            else:
                close(equalize(x, method, bins, **params(method)), expected, np.float32)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_the_mapping_is_monotone_and_spans_zero_to_one(method, dtype):
    stack = real_stack(dtype)[:, 0]
    out = equalize(stack, method, 128, **params(method))
    m = get_method(method)
    local = m.kind(dtype) == "image" and m.curve is None      # CLAHE: a map per tile
    top = MATCH_REFERENCE.max() / 255 if method == "match" else 1.0
    for image, result in zip(stack, out):
        order = np.argsort(image, axis=None, kind="stable")
        assert local or (np.diff(result.ravel()[order]) >= 0).all()
        assert result.min() >= 0.0 and result.max() <= 1.0
        # The last bin of a float image reaches 1 in every method but match (255 * cdf /
        # cdf[-1] / 255 can land one ulp under 1 in the seed recipe); matching reaches the
        # reference's top, no more.  On integers ImageJ's table reaches 1 only at level 255
        # (its trapezoid stops half a bar short elsewhere), so there the top is the
        # reference's.
        expected = top if dtype != np.uint8 else REFERENCES[method](image, 128).max()
        assert result.max() == pytest.approx(expected, abs=1e-12)


def test_a_read_only_memory_map_is_read_not_changed(tmp_path):
    path = tmp_path / "stack.npy"
    np.save(path, sample_stack()[:20])
    before = path.read_bytes()
    stack = np.load(path, mmap_mode="r")
    assert_array_equal(equalize(stack), equalize(np.array(stack)))
    assert path.read_bytes() == before


def test_progress_is_reported_and_can_cancel():
    stack = real_stack(np.uint8, n=40)
    calls = []
    equalize(stack, progress=lambda done, total: calls.append((done, total)))
    assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1] > 0

    def stop(done, total):
        if done:
            raise Cancelled()

    with pytest.raises(Cancelled):
        equalize(np.repeat(stack, 60, axis=0), scope="stack", progress=stop)


@pytest.mark.parametrize("kwargs, message", [
    ({"bins": 0}, "bins"), ({"bins": -3}, "bins"), ({"bins": 2.5}, "bins"),
    ({"bins": True}, "bins"), ({"bins": 65537}, "at most 65536"),
    ({"method": "opencv2"}, "method"), ({"scope": "all"}, "scope"),
])
def test_bad_arguments_say_what_to_pass(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        equalize(np.zeros((2, 4, 4), np.uint8), **kwargs)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("images, message", [
    (np.zeros((4, 4), bool), "uint8"), (np.zeros((4, 4), complex), "dtype"),
    (np.zeros(16), "2 dimensions"), (np.zeros((4, 4), np.float128), "float64"),
])
def test_unusable_images_say_what_to_do(images, message):
    with pytest.raises(ValueError, match=message):
        equalize(images)


def test_masks_that_fit_nothing_or_select_nothing():
    stack = np.zeros((3, 8, 8), np.uint8)
    with pytest.raises(ValueError, match="does not fit"):
        equalize(stack, mask=np.ones((5, 5), bool))
    with pytest.raises(ValueError, match="selects no pixel"):
        equalize(stack, mask=np.zeros((8, 8), bool))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
def test_warm_up_prepares_every_dtype_and_refuses_what_cannot_be_equalized(dtype):
    from histeq_gui.core.equalize import warm_up
    warm_up(dtype)
    image = hard_stack(dtype)[0, 0]
    close(equalize(image, "numpy", 33), seed_recipe(image, 33)[0] / 255)
    with pytest.raises(ValueError, match="uint8"):
        warm_up(bool)


@pytest.mark.parametrize("dtype", [">u2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("method", METHODS)
def test_big_endian_images_from_files_are_equalized_like_native_ones(dtype, method):
    stack = real_stack(np.float64, n=3)
    stack = (stack * 1000).astype(dtype) if dtype[1] in "iu" else stack.astype(dtype)
    native = stack.astype(np.dtype(dtype).newbyteorder("="))
    p = params(method)
    assert_array_equal(equalize(stack, method, 50, **p), equalize(native, method, 50, **p))
    assert_array_equal(histogram(stack[0], method, 50, **p).apply(stack[0]),
                       equalize(native[0], method, 50, **p))


_WARM_UP_CHECK = """
import json, sys
import numpy as np
from histeq_gui.core.engine import kernels
from histeq_gui.core.equalize import equalize, histogram, warm_up
from histeq_gui.core.methods import METHODS, get_method

dtype = np.dtype(sys.argv[1])
assert not any(kernels.compiled_signatures().values())     # a fresh process
warm_up(dtype)
before = kernels.compiled_signatures()
# What the viewer asks for while paging through a stack of this dtype.
stack = (np.arange(3 * 40 * 30) % 97).reshape(3, 1, 40, 30).astype(dtype)
if dtype.kind == "f":
    stack[1, 0, 3, 4] = np.nan
for method in METHODS:
    for image in stack[:, 0]:
        h = histogram(image, method, 64)
        histogram(h.apply(image), method, 64)
    histogram(stack, method, 64).apply(stack)
    for scope in get_method(method).scopes:
        equalize(stack, method, 64, scope=scope)
    for output in ("uint8", "uint16", "float32", "same"):     # what an export writes
        equalize(stack, method, 64, dtype=output)
        histogram(stack, method, 64).apply(stack, dtype=output)
after = kernels.compiled_signatures()
print(json.dumps({name: [str(s) for s in sigs] for name, sigs in before.items()}))
print(json.dumps({name: [str(s) for s in sigs] for name, sigs in after.items()}))
"""


@pytest.mark.parametrize("dtype, array_type", [
    ("uint8", "Array(uint8"), ("int16", "Array(int16"), ("uint16", "Array(uint16"),
    ("float32", "Array(float32"), ("float64", "Array(float64"),
])
def test_warm_up_compiles_what_the_viewer_then_uses(dtype, array_type):
    # In a fresh interpreter: the kernels' dispatchers start empty, warm_up()
    # compiles (or loads from numba's cache) those for this dtype, and then
    # nothing the viewer does compiles anything more.
    import json
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run([sys.executable, "-c", _WARM_UP_CHECK, dtype], capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[2], timeout=600)
    assert result.returncode == 0, result.stderr
    before, after = (json.loads(line) for line in result.stdout.splitlines()[-2:])
    assert any(sig.startswith(f"({array_type}") for sigs in before.values() for sig in sigs), \
        f"warm_up({dtype}) compiled nothing for {dtype}: {before}"
    assert after == before, "the viewer's calls compiled kernels warm_up had not"


# --------------------------------------------------------------- an injectable thread pool

class _CountingPool(ThreadPoolExecutor):
    """A caller's pool that counts the items the engine hands it."""

    def __init__(self, workers):
        super().__init__(workers, thread_name_prefix="caller-pool")
        self.items = 0

    def map(self, function, *iterables, **kwargs):
        items = list(iterables[0])
        self.items += len(items)
        return super().map(function, items, **kwargs)


def _thread_names(n):
    from histeq_gui.core.engine import pool

    return pool.run(lambda i: threading.current_thread().name, range(n))


def test_use_executor_runs_the_engine_on_the_callers_pool():
    from histeq_gui.core.equalize import use_executor

    stack = sample_stack()
    expected = equalize(stack, "skimage", 64)
    with _CountingPool(2) as pool:
        with use_executor(pool):
            out = equalize(stack, "skimage", 64)
            names = _thread_names(8)
        assert pool.items > 0                       # the engine's blocks went to this pool
    np.testing.assert_array_equal(out, expected)    # the result does not depend on the pool
    assert all(n.startswith("caller-pool") for n in names)


def test_use_executor_none_runs_in_the_calling_thread_only():
    from histeq_gui.core.equalize import use_executor
    from histeq_gui.core.fit import single_threaded

    me = threading.current_thread().name
    for block in (use_executor(None), single_threaded()):
        with block:
            assert set(_thread_names(8)) == {me}
    assert _thread_names(1) == [me]                 # a single item never goes to a pool


def test_work_on_a_pool_never_waits_on_a_pool_from_inside_it():
    # Each item of a one-thread pool runs the engine again: serial inside, so no deadlock.
    from histeq_gui.core.engine import pool as engine_pool
    from histeq_gui.core.equalize import use_executor

    with _CountingPool(1) as pool, use_executor(pool):
        inner = engine_pool.run(lambda i: _thread_names(4), range(3))
    assert all(len(set(names)) == 1 and names[0].startswith("caller-pool") for names in inner)
