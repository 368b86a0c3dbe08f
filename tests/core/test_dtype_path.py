"""equalize(..., dtype=...) is exactly the export's convert() of the float64 result.

The property, for every registered method (the loop follows the registry),
dtype pair, scope, mask, colour and layout: ``equalize(x, ..., dtype=d)``
equals ``convert(equalize(x, ...), d, x.dtype)`` element for element, dtype
included, and raises the same one-line ValueError where that raises.  Real
photographs (scikit-image's bundled images, the sample faces) and the hard
cases (constant, two-valued, saturated, 1x1, all-NaN, extreme values) are
checked, and hypothesis draws the rest.
"""

import os
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, from_dtype
from numpy.testing import assert_array_equal
from references import sample_stack
from skimage import data

from histeq_gui import equalize, histogram
from histeq_gui.core.export import convert
from histeq_gui.core.methods import METHODS, get_method

SETTINGS = settings(max_examples=int(os.environ.get("HISTEQ_FUZZ_EXAMPLES", 60)),
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

INPUTS = [np.uint8, np.int8, np.uint16, np.int16, np.uint32]
OUTPUTS = ["uint8", "uint16", "float32", "same"]


def photos(dtype, n=6, size=40):
    """Crops of real photographs in ``dtype``, plain, dark and bright, plus hard cases.

    Image 1 is constant, image 2 two-valued, image 3 (of more than 3)
    saturated at both ends of the dtype's range.
    """
    pictures = [data.camera(), data.moon(), data.coins(), data.page()]
    rng = np.random.default_rng(5)
    images = []
    for i in range(n):
        picture = pictures[i % len(pictures)]
        y, x = rng.integers(0, min(picture.shape) - size, 2)
        images.append((picture[y:y + size, x:x + size] / 255.0) ** [1, 2.5, 0.4][i % 3])
    unit = np.stack(images)
    hard = [unit[1, 5, 5], np.where(np.arange(size) % 3, 0.2, 0.7), None]
    for i, image in enumerate(hard[:n - 1], 1):
        unit[i] = image if image is not None else unit[i]
    if n > 3:
        unit[3, :, :5] = 0.0
        unit[3, :, -5:] = 1.0
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return unit.astype(dtype)
    info = np.iinfo(dtype)
    low, high = (0, 60000) if dtype.itemsize > 2 else (info.min, info.max)
    return np.round(low + unit * (high - low)).astype(dtype)


def expect_same(images, output, method, **kwargs):
    """Assert the property for one call; return the result (or None if both refused)."""
    try:
        expected = convert(equalize(images, method, **kwargs), output, np.asarray(images).dtype)
    except ValueError as error:
        with pytest.raises(ValueError) as raised:
            equalize(images, method, dtype=output, **kwargs)
        assert str(raised.value) == str(error)
        return None
    got = equalize(images, method, dtype=output, **kwargs)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert_array_equal(got, expected, strict=True)
    return got


def applicable(method, dtype, scope="image"):
    m = get_method(method)
    return m.supports(dtype) and scope in m.scopes


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", INPUTS)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("scope", ["image", "stack"])
def test_integer_images_equal_the_converted_float_result(method, dtype, output, scope):
    if not applicable(method, dtype, scope):
        pytest.skip(f"{method} does not take {np.dtype(dtype)} images in scope {scope}")
    stack = photos(dtype)[:, np.newaxis]            # (N, 1, H, W), as in the Q&A thread
    got = expect_same(stack, output, method, scope=scope, bins=64)
    target = np.dtype(dtype) if output == "same" else np.dtype(output)
    assert got.dtype == target
    # match divides by the reference dtype's range: uint32 photos spanning 0..60000 come out
    # near 0 (its documented scale), the others spread over the output's range.
    spread = not (method == "match" and np.dtype(dtype).itemsize > 2)
    if spread and (target.kind in "iu" and method != "numpy" or target == np.uint8):
        assert len(np.unique(got)) > 16                # the photos are spread over the range


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", INPUTS)
def test_masks_and_images_whose_mask_selects_nothing(method, dtype):
    if not applicable(method, dtype):
        pytest.skip(f"{method} does not take {np.dtype(dtype)} images")
    stack = photos(dtype, n=4)
    mask = np.zeros(stack.shape, bool)
    mask[0, 4:30, 10:20] = True
    mask[2] = True
    mask[3, 0, 0] = True                               # one pixel (image 1 selects none)
    for output in OUTPUTS:
        got = expect_same(stack, output, method, mask=mask, bins=32)
        if got is not None and got.dtype.kind in "iu":
            # Image 1 has no selected pixel: NaN in float64, the dtype's minimum here.
            assert (got[1] == np.iinfo(got.dtype).min).all()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_images_with_nan_and_inf(method, dtype):
    if not applicable(method, dtype):
        pytest.skip(f"{method} does not take {np.dtype(dtype)} images")
    stack = photos(dtype, n=4) * 3 - 1
    stack[0, 3, :7] = np.nan
    stack[2, 0, 0] = np.inf
    stack[3] = np.nan                                  # no finite pixel at all
    for output in OUTPUTS + ["float64"]:
        got = expect_same(stack, output, method, bins=100)
        if output == "uint8":
            assert (got[3] == 0).all() and (got[0, 3, :7] == 0).all()


@pytest.mark.parametrize("method", METHODS)
def test_colour_and_layouts(method):
    rgb = np.stack([photos(np.uint8, n=3)] * 3, axis=-1)          # (3, H, W, 3)
    rgb[..., 1] = 255 - rgb[..., 1]
    first = np.moveaxis(rgb, -1, 1)                               # (3, 3, H, W) channels first
    for output in OUTPUTS:
        expect_same(rgb, output, method, channel_axis=-1)
        expect_same(first, output, method, channel_axis=1)
        expect_same(rgb[0, ..., 0], output, method)              # one (H, W) image
        expect_same(rgb[:1, :1, :1, 0], output, method)          # 1x1


@pytest.mark.parametrize("method", METHODS)
def test_the_sample_faces(method):
    faces = sample_stack()
    for output in OUTPUTS:
        for scope in get_method(method).scopes:
            expect_same(faces, output, method, scope=scope)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint32, np.int64, np.float32])
def test_histogram_apply_converts_the_same_way(method, dtype):
    if not applicable(method, dtype):
        pytest.skip(f"{method} does not take {np.dtype(dtype)} images")
    stack = photos(dtype, n=3)
    h = histogram(stack[0], method, 64)
    for output in OUTPUTS:
        for images in (stack, stack[1], stack[:0]):
            got = h.apply(images, dtype=output)
            assert_array_equal(got, convert(h.apply(images), output, stack.dtype), strict=True)


def test_wide_integer_ranges_use_ranks_and_bins_and_still_agree():
    rng = np.random.default_rng(3)
    wide = rng.integers(-2 ** 62, 2 ** 62, (3, 30, 30), dtype=np.int64)
    wide[1] = np.iinfo(np.int64).max
    full32 = rng.integers(0, 2 ** 32, (3, 30, 30), dtype=np.uint64).astype(np.uint32)
    for method in METHODS:
        for images in (wide, full32):
            if applicable(method, images.dtype):
                for output in OUTPUTS:
                    expect_same(images, output, method, bins=300)
                    expect_same(images, output, method, bins=300, scope="stack") \
                        if applicable(method, images.dtype, "stack") else None


ANY_DTYPE = st.sampled_from([np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32,
                             np.int64, np.uint64, np.float16, np.float32, np.float64])


@st.composite
def cases(draw):
    dtype = np.dtype(draw(ANY_DTYPE))
    shape = draw(st.sampled_from([(1, 1), (3, 5), (2, 4, 6), (3, 1, 4, 4), (2, 5, 5, 3)]))
    elements = from_dtype(dtype, allow_nan=True, allow_infinity=True) if dtype.kind == "f" \
        else from_dtype(dtype)
    images = draw(arrays(dtype, shape, elements=elements))
    method = draw(st.sampled_from(list(METHODS)))
    scope = draw(st.sampled_from(get_method(method).scopes))
    output = draw(st.sampled_from(OUTPUTS + ["float64"]))
    bins = draw(st.sampled_from([2, 7, 256]))
    kwargs = dict(bins=bins, scope=scope)
    if len(shape) == 4 and shape[-1] == 3:
        kwargs["channel_axis"] = -1
    if draw(st.booleans()):
        mask = draw(arrays(bool, shape[-2:]))
        if mask.any():
            kwargs["mask"] = mask
    return images, method, output, kwargs


@SETTINGS
@given(cases())
def test_any_images_any_output(case):
    images, method, output, kwargs = case
    with np.errstate(all="raise"):          # no warning may escape either
        expect_same(images, output, method, **kwargs)


def test_integer_outputs_need_no_float64_per_pixel():
    # A uint8 stack into uint8: the tables are converted once and each pixel
    # looked up straight into the output; the float64 result would be 8 bytes
    # a pixel, the path keeps far below that (the output itself is 1; the
    # images are large enough for their tables of 256 values not to count).
    stack = np.random.default_rng(0).integers(0, 256, (40, 1, 256, 256), dtype=np.uint8)
    for method in METHODS:
        if get_method(method).kind(stack.dtype) == "image":
            continue
        # match's default reference, the whole stack, is counted first (a pass of its own,
        # measured in benchmarks); the mapping path is the same for one image as reference.
        params = {"reference": 0} if get_method(method).param("reference") else {}
        equalize(stack[:2], method, dtype="uint8", **params)   # kernels loaded, pool started
        tracemalloc.start()
        try:
            out = equalize(stack, method, dtype="uint8", **params)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert out.dtype == np.uint8
        assert peak < 2 * stack.size, f"{method}: {peak / stack.size:.1f} bytes a pixel"


def test_unknown_output_dtypes_are_one_line_errors():
    image = np.zeros((4, 4), np.uint8)
    for bad in ("int7", "bool", np.complex64, 3.5):
        with pytest.raises(ValueError, match="unknown output dtype") as raised:
            equalize(image, dtype=bad)
        assert "\n" not in str(raised.value)
    assert equalize(image, dtype=np.uint16).dtype == np.uint16
    assert equalize(image, dtype=None).dtype == np.float64
    assert_array_equal(equalize(image, dtype="float64"), equalize(image), strict=True)


def _nodes_methods(dtype):
    """The methods that map 8-bit images through a table of their nodes evaluated per value."""
    return [name for name in METHODS if get_method(name).supports(dtype)
            and get_method(name).kind(dtype) == "nodes"]


def _eight_bit_cases(dtype):
    """8-bit stacks: photographs with their hard cases, a constant stack, a 1x1 image."""
    stack = photos(dtype, n=5, size=24)
    info = np.iinfo(dtype)
    constant = np.full((2, 3, 3), info.max, dtype)
    constant[1] = info.min
    return [stack, constant, stack[:1, :1, :1]]


@pytest.mark.parametrize("kernels", ["compiled", "numpy"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_eight_bit_value_tables_equal_the_map_pixel_by_pixel(kernels, dtype):
    # 8-bit images map through a table of their map evaluated at each of the
    # 256 values; the very same images in float64 are mapped pixel by pixel
    # (bins, np.interp's segments per pixel): the same bins, the same nodes
    # and the same float64 evaluation at the same values, so the results,
    # float64 and converted, are identical bit for bit, for every bin count,
    # mask, scope and both kernel backends.
    from histeq_gui.core.engine import backend
    methods = _nodes_methods(np.dtype(dtype))
    assert "numpy" in methods
    rng = np.random.default_rng(11)
    with backend.use(kernels):
        for images in _eight_bit_cases(dtype):
            wide = images.astype(np.float64)
            masks = [None]
            if images.size > 1:
                mask = rng.random(images.shape[-2:]) < 0.3
                mask[0, 0] = True
                masks.append(mask)
            for method in methods:
                for bins in (1, 2, 3, 255, 256, 257, 4096, 65536):
                    for mask in masks:
                        for scope in get_method(method).scopes:
                            kwargs = dict(bins=bins, scope=scope, mask=mask)
                            table = equalize(images, method, **kwargs)
                            pixels = equalize(wide, method, **kwargs)
                            assert_array_equal(table, pixels, strict=True)
                            for output in ("uint8", "same"):
                                got = equalize(images, method, dtype=output, **kwargs)
                                assert_array_equal(
                                    got, convert(pixels, output, images.dtype), strict=True)


def test_the_value_table_path_is_the_one_taken_for_eight_bit_images(monkeypatch):
    # The check above would pass trivially if 8-bit images were mapped pixel by
    # pixel too: the engine's tables for them are per value (256 entries), and
    # with the compiled loops and no mask each image takes one compiled pass of
    # its own (count, table, look-up; the method's nodes loop).
    from histeq_gui.core.engine import tables
    passes = []
    real = tables.equalize_each
    monkeypatch.setattr(tables, "equalize_each", lambda *args: passes.append(1) or real(*args))
    for dtype in (np.uint8, np.int8):
        for method in _nodes_methods(np.dtype(dtype)):
            h = histogram(photos(dtype, n=2, size=24)[0], method, 64)
            assert h.tables.kind == "values" and h.tables.width == 256
            assert h.tables.lut.shape == (256,)
            passes.clear()
            equalize(photos(dtype, n=2, size=24), method, 64)
            assert passes and get_method(method).nodes_loop is not None
    assert tables.counted_first(get_method("numpy"), np.uint8, 3) is not None
