"""match: skimage.exposure.match_histograms image by image, divided into [0, 1].

The requirement is agreement with the per-image call to 1e-9 (after the
documented division by the reference dtype's range); it is checked to
1e-12.  (Against integer references a value may differ from the plain
division by an ulp or two: where it would land across a half-integer for
the export, it is nudged back.)
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from references import match_reference, match_scale, sample_stack
from skimage import data
from skimage.exposure import match_histograms

from histeq_gui import equalize, histogram
from histeq_gui.cli_options import param_from_text
from histeq_gui.core.equalize import channel_params, stack_params
from histeq_gui.core.errors import StackError
from histeq_gui.core.export import convert
from histeq_gui.core.methods import get_method
from histeq_gui.core.methods.match import Reference, reference_of
from histeq_gui.core.param_files import read_file_param


def same(actual, expected):
    """The requirement (1e-9), checked to 1e-12."""
    assert actual.dtype == np.float64 and actual.shape == expected.shape
    assert_allclose(actual, expected, rtol=0, atol=1e-12, equal_nan=True)


def match(image, reference):
    """``match_histograms``, through its np.unique path where its np.bincount path cannot go.

    (A count per integer up to 2**32 for uint32 images, or a float template.)
    """
    if image.dtype.kind == "u" and (image.max() >= 2 ** 22 or reference.dtype.kind != "u"):
        image = image.astype(np.int64)
    return match_histograms(image, reference)


def scaled(matched, reference):
    low, high = match_scale(reference)
    return (np.asarray(matched, np.float64) - low) / (high - low)


def photos(size=48):
    """Crops of camera, moon and coins in [0, 1]: plain, dark, bright, low contrast."""
    images = []
    for photo in (data.camera(), data.moon(), data.coins()):
        crop = photo[90:90 + size, 110:110 + size].astype(np.float64) / 255
        images += [crop, crop ** 2.5, crop ** 0.4, 0.45 + 0.1 * crop]
    return np.stack(images)


def as_dtype(stack01, dtype):
    if dtype == np.uint8:
        return np.round(stack01 * 255).astype(np.uint8)
    if dtype == np.uint16:
        return np.round(stack01 * 60000 + 1000).astype(np.uint16)
    if dtype == np.int16:
        return np.round(stack01 * 20000 - 9000).astype(np.int16)
    if dtype == np.int8:
        return np.round(stack01 * 250 - 125).astype(np.int8)
    if dtype == np.uint32:
        return np.round(stack01 * 3e9 + 7).astype(np.uint32)
    return stack01.astype(dtype)


DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
def test_real_photos_equal_match_histograms_per_image(dtype):
    stack = as_dtype(photos(), dtype)[:, np.newaxis]                 # the seed's (N, 1, H, W)
    reference = as_dtype(data.astronaut()[::6, ::6, 1] / 255, dtype)  # another photo
    out = equalize(stack, "match", reference=reference)
    expected = [scaled(match_histograms(image[0], reference), reference) for image in stack]
    same(out, np.stack(expected)[:, np.newaxis])
    # An index: that image of the stack; "stack": all its pixels.
    same(equalize(stack, "match", reference=5),
         np.stack([scaled(match_histograms(image, stack[5]), stack) for image in stack]))
    same(equalize(stack, "match", reference=-1), equalize(stack, "match", reference=len(stack) - 1))
    same(equalize(stack, "match"),                                   # the default
         np.stack([scaled(match_histograms(image[np.newaxis], stack), stack)[0]
                   for image in stack]))


def test_the_sample_stack_and_a_reference_of_another_dtype():
    stack = sample_stack()[:40]                                      # (40, 1, 96, 96) uint8
    for reference in (data.moon()[::8, ::8].astype(np.uint16) * 200,
                      data.camera()[::8, ::8] / 255.0, data.camera()[::8, ::8] - 100.5):
        expected = np.stack([scaled(match_histograms(image[0].astype(np.int64), reference),
                                    reference) for image in stack])[:, np.newaxis]
        same(equalize(stack, "match", reference=reference), expected)


def test_a_dark_face_matched_to_a_bright_one_has_the_bright_ones_histogram():
    faces = data.lfw_subset()[:100]                                  # the faces, float64 in [0, 1]
    means = faces.mean(axis=(1, 2))
    dark, bright = faces[means.argmin()], faces[means.argmax()]
    out = equalize(dark, "match", reference=bright)
    same(out, match_histograms(dark, bright))                       # [0, 1]: its own units
    before = np.abs(np.histogram(dark, 16, (0, 1))[0] - np.histogram(bright, 16, (0, 1))[0])
    after = np.abs(np.histogram(out, 16, (0, 1))[0] - np.histogram(bright, 16, (0, 1))[0])
    assert before.sum() > 0.5 * dark.size and after.sum() <= 0.01 * dark.size
    assert_allclose(np.percentile(out, [10, 50, 90]), np.percentile(bright, [10, 50, 90]),
                    atol=1e-3)
    # "Make all faces the same lighting": every face matched to the bright one.
    all_matched = equalize(faces, "match", reference=bright)
    assert means.std() > 0.05 and all_matched.mean(axis=(1, 2)).std() < 1e-3


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int8, np.uint32])
def test_exporting_integers_matched_to_their_own_dtype_gives_the_matched_values(dtype):
    faces = as_dtype(data.lfw_subset()[:100], dtype)
    bright = faces[faces.mean(axis=(1, 2)).argmax()]
    out = equalize(faces, "match", reference=bright)
    matched = np.stack([match(face, bright) for face in faces])
    assert_allclose(out, scaled(matched, bright), rtol=0, atol=1e-12)
    # Matched values a few ulps beside a half-integer (int16: 9 of 625 pixels of
    # the darkest face) would round the other way after (m + 32768) / 65535:
    # they are nudged so that the export writes what rint(m) is.
    assert_array_equal(convert(out, "same", dtype), np.rint(matched).astype(dtype))
    sample = as_dtype(sample_stack()[:20, 0] / 255, dtype)
    out = equalize(sample, "match", reference=7)
    matched = np.stack([match(image, sample[7]) for image in sample])
    assert_array_equal(convert(out, "same", dtype), np.rint(matched).astype(dtype))


def test_the_scale_is_the_reference_dtypes_range():
    image = data.camera()[::16, ::16]
    cases = [(np.array([[0, 100], [200, 255]], np.uint8), 255.0, 0.0),
             (np.array([[0, 100], [200, 255]], np.uint16), 65535.0, 0.0),
             (np.array([[-5, 100], [200, 255]], np.int16), 65535.0, -32768.0),
             (np.array([[0.2, 0.3], [0.5, 0.9]]), 1.0, 0.0),            # [0, 1]: as it is
             (np.array([[0.0, 10.0], [20.0, 200.0]]), 200.0, 0.0),       # 0..200: / 200
             (np.array([[-2.0, 0.5], [0.7, 0.8]]), 3.0, -2.0)]           # [-2, 1]
    for reference, span, low in cases:
        m = match_histograms(image.astype(np.int64), reference)
        same(equalize(image, "match", reference=reference), (m - low) / span)
        r = reference_of(reference)
        assert (r.low, r.high - r.low) == (low, span)


def test_float32_images_are_rounded_as_match_histograms_returns_them():
    image = (data.coins()[::4, ::4] / 255).astype(np.float32)
    reference = data.moon()[::8, ::8] / 255.0
    m = match_histograms(image, reference)
    assert m.dtype == np.float32
    same(equalize(image, "match", reference=reference), m.astype(np.float64))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float64])
def test_a_mask_chooses_the_pixels_of_the_images_histogram(dtype):
    stack = as_dtype(photos(), dtype)
    mask = np.zeros(stack.shape[1:], bool)
    mask[5:30, 10:40] = True
    reference = as_dtype(data.astronaut()[::6, ::6, 0] / 255, dtype)
    out = equalize(stack, "match", mask=mask, reference=reference)
    for image, result in zip(stack, out):
        # The selected pixels: match_histograms of them alone.
        m = match_histograms(image[mask], reference.ravel())
        same(result[mask], scaled(m, reference))
    same(out, np.stack([match_reference(image, 0, mask, reference) for image in stack]))
    # The references taken from the stack count its selected pixels too.
    same(equalize(stack, "match", mask=mask, reference=3),
         equalize(stack, "match", mask=mask, reference=stack[3][mask][np.newaxis]))
    same(equalize(stack, "match", mask=mask),
         equalize(stack, "match", mask=mask,
                  reference=stack[np.broadcast_to(mask, stack.shape)][np.newaxis]))


def test_nan_is_left_out_of_both_histograms_and_comes_back_nan():
    stack = photos()[:4].copy()
    stack[0, 3:6, 3:30] = np.nan
    stack[1, 0, 0] = np.inf
    stack[2] = np.nan
    reference = data.moon()[::8, ::8] / 255.0
    reference[0, :10] = np.nan
    out = equalize(stack, "match", reference=reference)
    assert np.isnan(out[~np.isfinite(stack)]).all() and np.isnan(out[2]).all()
    same(out, np.stack([match_reference(image, 0, None, reference) for image in stack]))
    finite = np.isfinite(stack[0])
    same(out[0][finite], scaled(match_histograms(stack[0][finite],
                                                 reference[np.isfinite(reference)]), reference))
    with pytest.raises(ValueError, match="reference has no finite") as error:
        equalize(stack, "match", reference=np.full((3, 3), np.nan))
    assert "\n" not in str(error.value)


def test_colour_is_matched_channel_by_channel():
    rgb = data.astronaut()[::8, ::8]                                 # (64, 64, 3)
    stack = np.stack([rgb, rgb[::-1] // 2, rgb[:, ::-1]])
    reference = data.coffee()[::8, ::8]                              # an (H, W, 3) photo
    out = equalize(stack, "match", channel_axis=-1, reference=reference)
    for i in range(3):
        for c in range(3):
            same(out[i, ..., c], match_histograms(stack[i, ..., c], reference[..., c]) / 255)
    # match_histograms(..., channel_axis=-1) fills an array of the input's dtype:
    # for uint8 it truncates each matched value; here nothing is truncated.
    truncated = match_histograms(stack[0], reference, channel_axis=-1)
    assert truncated.dtype == np.uint8
    assert_array_equal(truncated, np.floor(255 * out[0]))
    # The same layout as the images (channels on axis 1), and a gray reference for all.
    first = np.moveaxis(stack, -1, 1)
    same(np.moveaxis(equalize(first, "match", channel_axis=1,
                              reference=np.moveaxis(reference, -1, 0)[np.newaxis]), 1, -1), out)
    gray = reference[..., 0]
    shared = equalize(stack, "match", channel_axis=-1, reference=gray)
    for c in range(3):
        same(shared[..., c], equalize(stack[..., c], "match", reference=gray))
    # "stack" and an index: per channel too.
    whole = equalize(stack, "match", channel_axis=-1)
    for c in range(3):
        same(whole[..., c], equalize(stack[..., c], "match", reference="stack"))
        same(equalize(stack, "match", channel_axis=-1, reference=1)[..., c],
             equalize(stack[..., c], "match", reference=1))


def test_a_stack_equalized_in_parts_uses_the_whole_stacks_reference():
    stack = sample_stack()[:24]
    rgb = np.repeat(stack[:, 0, :, :, np.newaxis], 3, axis=-1)
    rgb[..., 2] //= 3
    for images, axis in ((stack, None), (rgb, -1)):
        for reference in ("stack", 7):
            p = stack_params(images, "match", channel_axis=axis, reference=reference)
            assert set(p) == {"reference"} and len(p["reference"]) == (3 if axis else 1)
            assert all(isinstance(r, Reference) for r in p["reference"])
            whole = equalize(images, "match", channel_axis=axis, reference=reference)
            for part in (slice(0, 5), slice(5, 24)):
                same(equalize(images[part], "match", channel_axis=axis, **p), whole[part])
    # One channel of a colour stack, as the viewer draws it.
    p = stack_params(rgb, "match", channel_axis=-1)
    h = histogram(rgb[4, ..., 2], "match", **channel_params("match", p, 2))
    same(h.apply(rgb[4, ..., 2]), equalize(rgb, "match", channel_axis=-1)[4, ..., 2])


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_histogram_gives_the_map_from_source_levels_to_matched_values(dtype):
    image = as_dtype(photos()[2], dtype)
    reference = as_dtype(photos()[9], dtype)
    h = histogram(image, "match", reference=reference)
    out = equalize(image, "match", reference=reference)
    assert h.global_map and h.value_bins
    # Integers: the engine's table per value; floats: the curve hook's map per value.
    assert (h.tables is None) == h.mapped == (dtype == np.float32)
    assert h.counts.sum() == image.size and len(h.edges) == len(h.counts) + 1
    assert (np.diff(h.cdf_x) > 0).all() and (np.diff(h.cdf) >= 0).all()
    present = np.unique(image)
    at = np.searchsorted(h.cdf_x, present.astype(np.float64))
    assert_array_equal(h.cdf_x[at], present)                         # every value is a node
    for value, y in zip(present, h.cdf[at]):
        assert (out[image == value] == y).all()                      # and its output
    if dtype != np.float32:
        assert_array_equal(h.cdf_x, np.arange(image.min(), int(image.max()) + 1))
    same(h.apply(image), out)
    x, y = h.transfer_curve()
    assert x[0] == h.edges[0] and y[-1] == out.max()
    assert h.coarsened(10).counts.sum() == image.size


def test_scope_stack_is_refused_in_one_line():
    with pytest.raises(ValueError, match="no 'stack' scope; use scope='image'") as error:
        equalize(sample_stack()[:3], "match", scope="stack")
    assert "\n" not in str(error.value)
    assert get_method("match").scopes == ("image",)


def test_integers_too_wide_to_count_per_value_are_matched_as_match_histograms_does():
    rng = np.random.default_rng(3)
    for dtype, high in ((np.uint32, 2 ** 32), (np.int64, 2 ** 60), (np.uint64, 2 ** 64)):
        image = rng.integers(0, high, (20, 20), dtype=dtype)
        image[:4] = image[0, 0]                                      # ties
        reference = data.camera()[::32, ::32]
        same(equalize(image, "match", reference=reference),
             match_reference(image, 0, None, reference))
    image = rng.integers(0, 2 ** 32, (20, 20), dtype=np.uint32)
    same(equalize(image, "match", reference=reference),
         match_histograms(image.astype(np.int64), reference) / 255)


@pytest.mark.parametrize("value, message", [
    ("nonsense", "reference must be an image array, an index into the stack or 'stack', got "
                 "'nonsense'; for an image file pass a pathlib.Path"),
    (True, "reference must be"), (np.arange(5), "at least 2 dimensions"),
    (np.zeros((3, 3), bool), "reference: boolean images"), ({"a": 1}, "got a dict"),
    (12, "reference image 12 is out of range: the stack has 3 images"),
    (-4, "out of range"), ((), "reference must be"),
])
def test_bad_references_say_what_to_pass(value, message):
    with pytest.raises(ValueError, match=message) as error:
        equalize(np.zeros((3, 8, 8), np.uint8), "match", reference=value)
    assert "\n" not in str(error.value)


def test_a_reference_from_a_file(tmp_path):
    """A path is read at the edge (param_files), never by the method: same result as the array."""
    import imageio.v3 as iio

    reference = data.moon()[::8, ::8]
    path = tmp_path / "moon.png"
    iio.imwrite(path, reference)
    image = data.camera()[::8, ::8]
    expected = equalize(image, "match", reference=reference)
    param = get_method("match").param("reference")
    assert param.files
    same(equalize(image, "match", reference=path), expected)                    # a Path
    same(equalize(image, "match", reference=read_file_param(param, path)), expected)
    same(equalize(image, "match", reference=param_from_text(param, str(path))), expected)
    assert param_from_text(param, "stack") == "stack" and param_from_text(param, "3") == 3
    assert param_from_text(param, "-2") == -2
    np.save(tmp_path / "moon.npy", reference)
    assert_array_equal(read_file_param(param, tmp_path / "moon.npy"), reference)
    for bad, message in ((tmp_path / "missing.png", "no such file"),
                         (tmp_path / "empty.npy", "reference has no finite")):
        if bad.suffix == ".npy":
            np.save(bad, np.full((4, 4), np.nan))
        with pytest.raises(StackError, match=message) as error:
            read_file_param(param, bad)
        assert "\n" not in str(error.value)
        with pytest.raises(StackError, match=message):
            equalize(image, "match", reference=bad)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(StackError, match="unsupported file type"):
        equalize(image, "match", reference=tmp_path / "notes.txt")
    np.save(tmp_path / "mask.npy", np.ones((4, 4), bool))
    with pytest.raises(StackError) as error:
        read_file_param(param, tmp_path / "mask.npy")
    said = str(error.value)        # the parameter named once, in front
    assert said.startswith(f"cannot use '{tmp_path / 'mask.npy'}' as the reference: ")
    assert "reference: reference" not in said and "bool" in said


def test_the_method_module_reads_no_file():
    """The registry sits below the I/O: no method module imports it, even lazily."""
    import ast
    import pathlib

    import histeq_gui.core.methods as methods

    for path in pathlib.Path(methods.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                assert not module.startswith(("..io", "...io", "histeq_gui.core.io")), \
                    (path.name, module)
                assert not module.startswith(("..param_files", "histeq_gui.core.param")), \
                    (path.name, module)


def test_the_reference_parameter_is_described_for_the_registry():
    p = get_method("match").param("reference")
    assert p.describe() == ("an image array, an index into the stack, 'stack', or (histeq, "
                            "the viewer) an image file path")
    assert p.default == "stack" and p.resolve is not None
    assert get_method("match").ignores_bins(np.float64)


def test_the_input_and_a_read_only_reference_are_not_changed(tmp_path):
    path = tmp_path / "ref.npy"
    np.save(path, data.moon()[::8, ::8])
    written = path.read_bytes()
    reference = np.load(path, mmap_mode="r")
    stack = sample_stack()[:5]
    before = stack.copy()
    out = equalize(stack, "match", reference=reference)
    same(out, equalize(stack, "match", reference=np.array(reference)))
    assert_array_equal(stack, before)
    assert path.read_bytes() == written


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float64])
def test_unselected_values_beyond_the_selected_ones_map_as_the_nearest_selected(dtype):
    image = np.zeros((8, 8), dtype)
    image[:, 2:5], image[:, 5:] = 50, 100                 # selected: half 50, half 100
    image[:, 1] = 200                                      # unselected, brighter
    mask = np.zeros(image.shape, bool)
    mask[:, 2:8] = True
    reference = data.camera()[::16, ::16]
    out = equalize(image, "match", mask=mask, reference=reference)
    assert (out[:, 0] == out[0, 2]).all()                  # 0: as 50, not as F = 0
    assert (out[:, 1] == out[0, 5]).all() and out[0, 1] == reference.max() / 255
    assert out[0, 2] > reference.min() / 255
    same(out, match_reference(image, 0, mask, reference))


# ------------------------------------------- a stack read piece by piece (the export's)


def _stream(stack, piece):
    """``stack`` (N, H, W) as a StackStream of pieces of ``piece`` images, counting reads."""
    from histeq_gui.core.methods import StackStream
    from histeq_gui.core.stack import guess_layout

    rows = stack.reshape(len(stack), -1)
    reads = []

    def read_pieces():
        for a in range(0, len(rows), piece):
            reads.append(len(rows[a:a + piece]))
            yield [rows[a:a + piece].copy()]

    def read_image(i):
        reads.append(1)
        return [rows[i].copy()]
    return StackStream(len(stack), 1, guess_layout(stack.shape), stack.dtype, read_pieces,
                       read_image), reads


def _same_reference(a, b):
    assert a.dtype == b.dtype and a.pixels == b.pixels and (a.low, a.high) == (b.low, b.high)
    assert a.values.tobytes() == b.values.tobytes()
    assert a.quantiles.tobytes() == b.quantiles.tobytes()


@pytest.mark.parametrize("kind", ["uint8", "int16", "uint16", "float32-nan", "float64",
                                  "int64-wide", "uint64-top"])
def test_a_reference_read_piece_by_piece_equals_the_whole_stacks(kind):
    rng = np.random.default_rng(11)
    if kind == "float32-nan":
        stack = photos(20).astype(np.float32)
        stack[1, :4] = np.nan
        stack[2] = np.nan                               # a piece with no finite pixel
    elif kind == "float64":
        stack = photos(20) * 3 - 1
    elif kind == "int64-wide":                          # np.unique, not np.bincount
        stack = rng.integers(-2 ** 60, 2 ** 60, (12, 20, 20))
    elif kind == "uint64-top":                          # near 2**64: counted from a low value
        stack = np.uint64(2 ** 64 - 1) - rng.integers(0, 5000, (12, 20, 20)).astype(np.uint64)
    else:
        stack = as_dtype(photos(20), np.dtype(kind)) if kind != "int16" else \
            (np.round(photos(20) * 20000) - 9000).astype(np.int16)
    whole = reference_of(stack)
    for piece in (1, 5, len(stack)):
        stream, reads = _stream(stack, piece)
        (ref,) = get_method("match").param("reference").resolve("stack", stream)
        assert sum(reads) == len(stack)                 # one pass
        _same_reference(ref, whole)
        # equalizing with it gives the bits of equalizing the whole stack at once
        assert equalize(stack[:3], "match", reference=ref).tobytes() == \
            equalize(stack, "match")[:3].tobytes()


def test_an_index_reads_one_image_of_the_stream():
    stack = as_dtype(photos(16), np.uint8)
    stream, reads = _stream(stack, 4)
    (ref,) = get_method("match").param("reference").resolve(-2, stream)
    assert reads == [1]
    _same_reference(ref, reference_of(stack[-2]))
    with pytest.raises(ValueError, match="reference image 12 is out of range: the stack has 12"):
        get_method("match").param("reference").resolve(12, stream)
    assert stack_params(stream, "match", reference=3)["reference"][0].pixels == 16 * 16


def test_many_distinct_values_are_merged_as_they_come_and_stay_exact():
    # three pieces of 600k distinct floats: merged once more than 2**20 wait
    rng = np.random.default_rng(2)
    stack = rng.random((3, 600, 1000))
    stack[2, :300] = stack[0, :300]                     # values seen in two pieces
    stream, _ = _stream(stack, 1)
    (ref,) = get_method("match").param("reference").resolve("stack", stream)
    _same_reference(ref, reference_of(stack))
    assert ref.quantiles[-1] == 1.0 and len(ref.values) == 3 * 600_000 - 300_000


def test_a_mask_and_colour_in_pieces():
    from histeq_gui.core.methods import StackView
    from histeq_gui.core.methods.match import references_of_pieces
    from histeq_gui.core.stack import guess_layout

    rgb = as_dtype(photos(16), np.uint8).reshape(3, 4, 16, 16).transpose(1, 2, 3, 0)
    rows = np.moveaxis(rgb, -1, 0).reshape(3 * 4, -1)
    mask = np.zeros(rows.shape, bool)
    mask[:, ::3] = True
    view = StackView(rows, mask, 3, guess_layout(rgb.shape, -1))
    refs = references_of_pieces(view)
    for c in range(3):
        _same_reference(refs[c], reference_of(rgb[..., c], mask[4 * c:4 * c + 4]))
    with pytest.raises(ValueError, match="a StackStream has no mask"):
        stack_params(_stream(rgb[..., 0], 2)[0], "match", mask=np.ones((16, 16), bool))


@pytest.mark.parametrize("dtype", ["uint8", "float64"])
def test_a_masked_histogram_applies_its_mask_again(dtype):
    """histogram(x, "match", mask=m).apply(x) == equalize(x, "match", mask=m): floats keep no
    table, so the histogram keeps the mask (the viewer's region draws through apply)."""
    from histeq_gui import equalize, histogram

    image = data.camera()[::4, ::4].astype(dtype)
    if image.dtype.kind == "f":
        image /= 255.0
    reference = data.moon()[::4, ::4].astype(dtype)
    mask = np.zeros(image.shape, bool)
    mask[20:80, 10:60] = True
    expected = equalize(image, "match", reference=reference, mask=mask)
    assert not np.array_equal(expected, equalize(image, "match", reference=reference))
    h = histogram(image, "match", reference=reference, mask=mask)
    np.testing.assert_array_equal(h.apply(image), expected)
    assert (h.tables is None) == (image.dtype.kind == "f")   # floats: the mask is kept
    if h.tables is None:
        with pytest.raises(ValueError, match="made with a mask of shape") as error:
            h.apply(image[:10, :10])
        assert "\n" not in str(error.value)
