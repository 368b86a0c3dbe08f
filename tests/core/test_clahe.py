"""clahe: skimage.exposure.equalize_adapthist image by image, on real photographs.

The requirement is agreement with the per-image call to 1e-9.  The method's
compiled loops repeat scikit-image's arithmetic step for step, so the
results are checked to be identical, for every layout, dtype and channel,
with the compiled loops (the default) and with scikit-image itself (the
stand-in until they are compiled), against ``equalize_adapthist`` called on
each image as the method defines it.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from references import clahe_reference, sample_stack
from skimage import data
from skimage.exposure import equalize_adapthist

from histeq_gui import equalize, histogram
from histeq_gui.core.engine import backend
from histeq_gui.core.methods import get_method
from histeq_gui.core.methods.clahe import prepared


def same(actual, expected):
    """The requirement (1e-9), and in fact identity."""
    assert actual.dtype == np.float64 and actual.shape == expected.shape
    assert_allclose(actual, expected, rtol=0, atol=1e-9, equal_nan=True)
    assert_array_equal(actual, expected)


def photos(size=64):
    """Crops of camera, moon and coins (uint8), plus a dark and a bright variant."""
    images = []
    for photo in (data.camera(), data.moon(), data.coins()):
        crop = photo[100:100 + size, 120:120 + size].astype(np.float64) / 255
        images += [crop, crop ** 2.5, crop ** 0.4]
    return np.stack(images)


def as_dtype(stack01, dtype):
    if dtype == np.uint8:
        return np.round(stack01 * 255).astype(np.uint8)
    if dtype == np.uint16:
        return np.round(stack01 * 60000 + 1000).astype(np.uint16)
    return stack01.astype(dtype)


SETTINGS = [
    {},                                                          # 0.01, 1/8 of the image, 256
    {"clip_limit": 0.03, "kernel_size": 8, "bins": 128},
    {"clip_limit": 1.0, "kernel_size": 20, "bins": 64},          # no clipping: plain AHE
    {"clip_limit": 0.005, "kernel_size": 100, "bins": 1000},     # a kernel larger than the image
]


def skimage_call(image, clip_limit=0.01, kernel_size="auto", bins=256):
    return equalize_adapthist(image, kernel_size=None if kernel_size == "auto" else kernel_size,
                              clip_limit=clip_limit, nbins=bins).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("settings", SETTINGS)
def test_real_photos_equal_the_per_image_call(dtype, settings):
    stack = as_dtype(photos(), dtype)[:, np.newaxis]                 # the seed's (N, 1, H, W)
    out = equalize(stack, "clahe", **settings)
    expected = np.stack([skimage_call(image[0], **settings) for image in stack])[:, np.newaxis]
    same(out, expected)
    assert out.min() == 0 and out.max() == 1


def test_lfw_faces_and_the_sample_stack_equal_the_per_image_call():
    faces = data.lfw_subset()[:60]                                   # (60, 25, 25) float64
    same(equalize(faces, "clahe"), np.stack([skimage_call(face) for face in faces]))
    sample = sample_stack()[:30]                                     # (30, 1, 96, 96) uint8
    same(equalize(sample, "clahe", clip_limit=0.02),
         np.stack([skimage_call(image[0], 0.02) for image in sample])[:, np.newaxis])


def test_a_stack_is_image_by_image_not_one_volume_as_equalize_adapthist_would_make_it():
    stack = sample_stack()[:, 0]                                     # (100, 96, 96) uint8
    per_image = np.stack([skimage_call(image) for image in stack])
    volume = equalize_adapthist(stack)                               # 3-D tiles across images
    difference = np.abs(volume - per_image)
    # The figure the method's documentation quotes.
    assert round(float(difference.max()), 3) == 0.946
    assert round(float(difference.mean()), 3) == 0.244
    same(equalize(stack, "clahe"), per_image)
    with pytest.raises(ValueError, match="no 'stack' scope; use scope='image'") as error:
        equalize(stack, "clahe", scope="stack")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("image", [
    np.full((16, 16), 7, np.uint8),                                  # constant
    np.full((16, 16), 0.3),
    np.where(np.arange(64).reshape(8, 8) % 3, 200, 10).astype(np.uint8),   # two values
    np.random.default_rng(0).integers(0, 256, (8, 8)).astype(np.uint8),    # 8x8: kernel 1
    np.array([[5]], np.uint8),                                       # 1x1
    np.arange(15, dtype=np.uint16).reshape(3, 5) * 999,
    data.camera()[::64, ::64],                                       # 8x8 of a photo
], ids=["constant", "constant-float", "two-valued", "8x8", "1x1", "3x5", "camera-8x8"])
@pytest.mark.parametrize("kernel_size", ["auto", 1, 3, 16, 100])
def test_hard_cases_equal_the_call(image, kernel_size):
    # scikit-image pads by reflection, so kernels larger than the image work.
    same(equalize(image, "clahe", kernel_size=kernel_size),
         skimage_call(image, kernel_size=kernel_size))


def test_constant_images_come_back_one_as_scikit_image_returns_them():
    for image in (np.zeros((9, 9), np.uint8), np.full((9, 9), -5, np.int32),
                  np.full((9, 9), 1e6), np.full((9, 9), 0.25, np.float16)):
        assert_array_equal(equalize(image, "clahe"), np.ones((9, 9)))


def test_signed_integers_are_shifted_to_unsigned_exactly():
    photo = data.camera()[::4, ::4]
    int16 = (photo.astype(np.int32) * 200 - 25000).astype(np.int16)
    same(equalize(int16, "clahe"),
         equalize((int16.astype(np.int32) + 32768).astype(np.uint16), "clahe"))
    int8 = (photo.astype(np.int16) - 128).astype(np.int8)
    same(equalize(int8, "clahe"), skimage_call(photo))                # int8 + 128 is the photo
    # equalize_adapthist itself would clip every negative value to 0.
    assert np.abs(skimage_call(int16) - equalize(int16, "clahe")).max() > 0.1


def test_other_images_are_scaled_from_their_range_first():
    photo = data.moon()[::4, ::4]
    for image in (photo.astype(np.float64) * 3 - 100,                # floats outside [0, 1]
                  photo.astype(np.float64) / 255 - 0.5,              # in [-1, 1]: not clipped
                  photo.astype(np.int32) * 70000,                    # beyond 16 bits
                  photo.astype(np.uint64) + 2 ** 40):
        scaled = (image - image.min()) / (image.max() - image.min())
        same(equalize(image, "clahe"), skimage_call(scaled.astype(np.float64)))
    with pytest.raises(ValueError, match="between -1 and 1"):
        equalize_adapthist(photo.astype(np.float64) * 3 - 100)       # what it would do
    # float16 as float32: equalize_adapthist overflows on float16 (65535 > 65504).
    half = (photo / 255).astype(np.float16)
    same(equalize(half, "clahe"), skimage_call(half.astype(np.float32)))
    with np.errstate(all="ignore"):
        assert np.abs(equalize_adapthist(half) - skimage_call(half.astype(np.float32))).max() > 0.5
    assert prepared(photo) is photo                                  # as it is, no copy


def test_nan_is_filled_with_the_median_for_the_computation_and_comes_back_nan():
    image = data.coins()[::4, ::4].astype(np.float64) / 255
    image[10:14, 20:30] = np.nan
    image[0, 0] = np.inf
    out = equalize(image, "clahe")
    finite = np.isfinite(image)
    assert np.isnan(out[~finite]).all() and np.isfinite(out[finite]).all()
    values = np.sort(image[finite])
    filled = np.where(finite, image, values[(values.size - 1) // 2])
    assert_array_equal(out[finite], skimage_call(filled)[finite])
    same(out, clahe_reference(image, 256))
    stack = np.stack([image, np.full(image.shape, np.nan)])
    assert np.isnan(equalize(stack, "clahe")[1]).all()


def test_colour_is_equalized_channel_by_channel_not_in_hsv():
    rgb = data.astronaut()[::8, ::8]                                 # (64, 64, 3) uint8
    stack = np.stack([rgb, rgb[::-1]])
    out = equalize(stack, "clahe", channel_axis=-1, clip_limit=0.02)
    for i in range(2):
        for c in range(3):
            same(out[i, ..., c], skimage_call(stack[i, ..., c], 0.02))
    # equalize_adapthist given an RGB image equalizes its HSV value instead.
    assert np.abs(equalize_adapthist(rgb, clip_limit=0.02) - out[0]).max() > 0.1
    same(np.moveaxis(equalize(np.moveaxis(stack, -1, 1), "clahe", channel_axis=1,
                              clip_limit=0.02), 1, -1), out)


def test_a_mask_is_refused_in_one_line():
    with pytest.raises(ValueError, match="the clahe method takes no mask") as error:
        equalize(np.zeros((2, 8, 8), np.uint8), "clahe", mask=np.ones((8, 8), bool))
    assert "\n" not in str(error.value)
    assert not get_method("clahe").masks


@pytest.mark.parametrize("kwargs, message", [
    ({"clip_limit": 0}, "clip_limit must be a number above 0 and at most 1, got 0"),
    ({"clip_limit": 1.5}, "clip_limit must be"), ({"clip_limit": "0.1"}, "clip_limit must be"),
    ({"kernel_size": 0}, "kernel_size must be a whole number from 1 to 1024, or 'auto'"),
    ({"kernel_size": 1025}, "kernel_size must be"), ({"kernel_size": None}, "kernel_size"),
    ({"kernel_size": "big"}, "kernel_size"), ({"nbins": 128}, "no parameter 'nbins'"),
])
def test_bad_parameters_say_what_to_pass(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        equalize(np.zeros((8, 8), np.uint8), "clahe", **kwargs)
    assert "\n" not in str(error.value)


def test_bins_is_scikit_images_nbins():
    image = data.camera()[::4, ::4]
    same(equalize(image, "clahe", 32), skimage_call(image, bins=32))
    assert not np.array_equal(equalize(image, "clahe", 32), equalize(image, "clahe", 256))
    assert not get_method("clahe").ignores_bins(np.uint8)


def test_histogram_is_the_plain_one_without_a_transfer_curve():
    image = data.camera()[::4, ::4]
    h = histogram(image, "clahe", 64)
    assert not h.global_map and h.tables is None
    assert_array_equal(h.counts, np.histogram(image, 64)[0])
    assert_array_equal(h.apply(image), equalize(image, "clahe", 64))


@pytest.mark.parametrize("clip_limit", [0.02, 0.05])
@pytest.mark.parametrize("name", ["camera", "moon", "coins"])
def test_opencv_clip_limit_is_about_256_times_scikit_images(name, clip_limit):
    cv2 = pytest.importorskip("cv2")
    photo = getattr(data, name)()
    h, w = (s - s % 8 for s in photo.shape)
    photo = np.ascontiguousarray(photo[:h, :w])
    ours = 255 * equalize(photo, "clahe", clip_limit=clip_limit, kernel_size=h // 8) \
        if h == w else 255 * skimage_call(photo, clip_limit, (h // 8, w // 8))
    # Among clipLimits a factor 2 apart, 256 * clip_limit gives the closest image.
    errors = {}
    for factor in (0.25, 0.5, 1, 2, 4):
        clahe = cv2.createCLAHE(clipLimit=256 * clip_limit * factor, tileGridSize=(8, 8))
        errors[factor] = np.abs(clahe.apply(photo) - ours).mean()
    assert min(errors, key=errors.get) == 1
    assert errors[1] < 2.5                                           # grey levels of 255


# ------------------------------------------------------------------ compiled loops


@pytest.fixture(params=["compiled", "numpy"])
def kernels(request):
    """Both ways the method runs: the compiled loops, and scikit-image until they are ready."""
    with backend.use(request.param):
        yield request.param


def camera_crop(dtype, shape=(61, 83)):
    """A crop of the camera photograph in ``dtype`` (sizes 8 does not divide)."""
    photo = data.camera()[150:150 + shape[0], 200:200 + shape[1]].astype(np.float64) / 255
    return as_dtype(photo[np.newaxis], dtype)[0] if dtype != np.int16 else \
        (photo * 50000 - 25000).astype(np.int16)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
@pytest.mark.parametrize("clip_limit", [0.001, 0.01, 0.3, 1.0])
@pytest.mark.parametrize("kernel_size", ["auto", 5, 16, 200])
def test_every_dtype_clip_limit_and_kernel_equals_the_call(kernels, dtype, clip_limit,
                                                           kernel_size):
    image = camera_crop(dtype)
    expected = clahe_reference(image, 256, clip_limit=clip_limit,
                               kernel_size=None if kernel_size == "auto" else kernel_size)
    same(equalize(image, "clahe", clip_limit=clip_limit, kernel_size=kernel_size), expected)


@pytest.mark.parametrize("bins", [2, 3, 7, 255, 256, 1000, 16384, 16385, 65536])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_every_bin_count_equals_the_call(kernels, bins, dtype):
    # Above 16384 bins scikit-image bins one 14-bit level each, but its
    # clipping still redistributes over all the (empty) bins.
    image = camera_crop(dtype, (40, 52))
    for clip_limit in (0.005, 0.05):
        same(equalize(image, "clahe", bins, clip_limit=clip_limit, kernel_size=9),
             skimage_call(image, clip_limit, 9, bins))


def test_real_images_of_every_kind_equal_the_call(kernels):
    moon = data.moon()                                               # (512, 512) uint8
    same(equalize(moon, "clahe"), skimage_call(moon))
    astronaut = data.astronaut()                                     # colour, channel by channel
    out = equalize(astronaut, "clahe", channel_axis=-1, clip_limit=0.03, kernel_size=40)
    for c in range(3):
        same(out[..., c], skimage_call(astronaut[..., c], 0.03, 40))
    faces = data.lfw_subset()                                        # (200, 25, 25) float64
    same(equalize(faces, "clahe", 64), np.stack([skimage_call(f, bins=64) for f in faces]))
    sample = sample_stack()                                          # (100, 1, 96, 96) uint8
    same(equalize(sample, "clahe"),
         np.stack([skimage_call(image[0]) for image in sample])[:, np.newaxis])


def test_random_and_degenerate_shapes_equal_the_call(kernels):
    rng = np.random.default_rng(5)
    cases = [rng.integers(0, 256, (37, 29), dtype=np.uint8),
             rng.integers(0, 65536, (23, 31), dtype=np.uint16),
             rng.random((19, 41)).astype(np.float32),
             data.camera()[100, :300].reshape(1, 300),                   # 1 x N
             data.camera()[:300, 100].reshape(300, 1).copy(),             # N x 1
             np.array([[0, 255]], np.uint8), np.array([[7]], np.uint16),
             np.full((13, 17), 0.5), np.full((5, 5), 65535, np.uint16)]
    for image in cases:
        for kernel_size in ("auto", 1, 2, 7, 1024):
            for clip_limit in (0.01, 1.0):
                same(equalize(image, "clahe", clip_limit=clip_limit, kernel_size=kernel_size),
                     skimage_call(image, clip_limit, kernel_size))


def test_images_without_a_finite_pixel_are_nan_and_the_others_the_call(kernels):
    image = data.coins()[::6, ::6] / 255
    stack = np.stack([image, np.full(image.shape, np.nan), image ** 2])
    stack[2, :3, :5] = np.inf
    out = equalize(stack.astype(np.float32), "clahe")
    assert np.isnan(out[1]).all()
    same(out[0], clahe_reference(stack[0].astype(np.float32), 256))
    same(out[2], clahe_reference(stack[2].astype(np.float32), 256))


def test_the_compiled_loops_run_once_compiled_and_scikit_image_until_then(monkeypatch):
    # "ready" kernels (the viewer) call scikit-image until the dtype is
    # warmed up, the compiled loops after: the same values either way.
    from skimage import exposure

    calls = []
    original = exposure.equalize_adapthist

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(exposure, "equalize_adapthist", counted)
    image = data.camera()[::8, ::8]
    backend.forget_ready()
    try:
        with backend.use("ready"):
            before = equalize(np.stack([image, image.T]), "clahe")
            assert len(calls) == 2
            backend.mark_ready(np.uint8)
            after = equalize(np.stack([image, image.T]), "clahe")
            assert len(calls) == 2
    finally:
        backend.forget_ready()
    same(before, after)


# -------------------------------------------------------------------- value_range


def twelve_bit(n=3):
    """12-bit camera-like data in uint16 (200..4095; the hard cases' camera16, smaller)."""
    from skimage import transform

    photos = [data.camera(), data.moon(), data.coins()[:, :384]]
    crops = [transform.resize(p, (72, 96), anti_aliasing=True) for p in photos[:n]]
    return np.round(200 + np.stack(crops) * 3895).astype(np.uint16)


def range_reference(image, low, high, clip_limit=0.01, kernel_size=None, bins=256):
    """scikit-image's own steps with in_range=(low, high): rescale, _clahe, final rescale."""
    from skimage.exposure import rescale_intensity
    from skimage.exposure._adapthist import _clahe
    from skimage.util import img_as_uint

    scale = 257 if image.dtype == np.uint8 else 1          # img_as_uint of uint8
    levels = np.round(rescale_intensity(img_as_uint(image), in_range=(low * scale, high * scale),
                                        out_range=(0, 16383))).astype(np.uint16)
    kernel = [max(s // 8, 1) for s in image.shape] if kernel_size is None else [kernel_size] * 2
    return rescale_intensity(_clahe(levels, kernel, clip_limit, bins).astype(np.float64))


def bins_filled(image, low, high, bins=256):
    """How many of CLAHE's bins the 14-bit levels of ``image`` over ``low..high`` fill."""
    levels = np.round((np.clip(image, low, high) - low) / (high - low) * 16383).astype(int)
    return len(np.unique(levels // (1 + 16384 // bins)))


def test_12_bit_data_fills_the_bins_as_scikit_image_stretches_each_images_range():
    # Issue 14 item 10 said CLAHE sees 5 of 256 bins of 12-bit data in uint16,
    # scaling over 0..65535: scikit-image stretches each image's own
    # min..max, so the data fills them; over 0..65535 it would fill 16.
    for image in twelve_bit():                  # here 244, 162, 234 bins against 15, 15, 13
        assert bins_filled(image, image.min(), image.max()) >= 10 * bins_filled(image, 0, 65535)
        assert bins_filled(image, 0, 65535) <= 16
        same(equalize(image, "clahe"), skimage_call(image))
        same(equalize(image, "clahe"), range_reference(image, image.min(), image.max()))


@pytest.mark.parametrize("value_range", [(0, 4095), "0,4095", (100, 3000), "0, 65535"])
def test_a_given_range_is_scikit_images_rescale_with_that_in_range(kernels, value_range):
    low, high = (float(v) for v in (value_range.split(",") if isinstance(value_range, str)
                                    else value_range))
    stack = twelve_bit()
    out = equalize(stack, "clahe", value_range=value_range)
    for image, result in zip(stack, out):
        same(result, range_reference(image, low, high))
    assert not np.array_equal(out, equalize(stack, "clahe"))      # not each image's own range


def test_a_given_range_for_uint8_int16_and_floats():
    photo = data.camera()[::4, ::4]
    same(equalize(photo, "clahe", value_range=(20, 200), kernel_size=10),
         range_reference(photo, 20, 200, kernel_size=10))
    # int16 and floats: the same 14-bit levels from the values themselves.
    int16 = (photo.astype(np.int16) - 128) * 100
    same(equalize(int16, "clahe", value_range=(-10800, 7200), kernel_size=10),
         range_reference(photo, 20, 200, kernel_size=10))
    floats = photo / 255.0
    floats[0, :4] = np.nan
    out = equalize(floats, "clahe", value_range=(20 / 255, 200 / 255), kernel_size=10)
    filled = np.where(np.isnan(floats), np.sort(floats[np.isfinite(floats)])[
        (np.isfinite(floats).sum() - 1) // 2], floats)
    levels = np.round((np.clip(filled, 20 / 255, 200 / 255) - 20 / 255) /
                      (200 / 255 - 20 / 255) * 16383)
    assert np.isnan(out[0, :4]).all()
    same(out[np.isfinite(floats)],
         range_reference(levels.astype(np.uint16), 0, 16383, kernel_size=10)[np.isfinite(floats)])


@pytest.mark.parametrize("value", ["stack", "4095,0", "1,1", "a,b", (1,), (0, np.inf), None, 3])
def test_a_bad_value_range_says_what_to_pass(value):
    with pytest.raises(ValueError, match="value_range must be 'image' or two numbers low,high") \
            as error:
        equalize(np.zeros((8, 8), np.uint16), "clahe", value_range=value)
    assert "\n" not in str(error.value)


_WARM_UP_CLAHE = """
import json, sys
import numpy as np
from histeq_gui.core.engine import clahe_kernels
from histeq_gui.core.equalize import equalize, histogram, warm_up

def compiled():
    return {f.__name__: [str(s) for s in f.signatures]
            for f in (clahe_kernels.skimage_clahe, clahe_kernels.opencv_clahe)}

dtype = np.dtype(sys.argv[1])
assert not any(compiled().values())                        # a fresh process
warm_up(dtype)
before = compiled()
# What the viewer asks for while paging through a stack of this dtype.
stack = (np.arange(3 * 40 * 30) % 97).reshape(3, 1, 40, 30).astype(dtype)
if dtype.kind == "f":
    stack[1, 0, 3, 4] = np.nan
# A given value_range bins 14-bit levels: the 16-bit loop, which uint8 alone does not warm up.
ranges = [{"value_range": (0, 50)}] if dtype != np.uint8 else []
for params in [{}, {"clip_limit": 0.5, "kernel_size": 7}] + ranges:
    for image in stack[:, 0]:
        histogram(image, "clahe", 64, **params).apply(image)
    equalize(stack, "clahe", 64, dtype="uint8", **params)
for image in stack[:, 0]:
    histogram(image, "opencv-clahe", 64, tiles_x=3).apply(image)
equalize(stack, "opencv-clahe", 64, clip_limit=0)
print(json.dumps(before))
print(json.dumps(compiled()))
"""


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "float32", "float64"])
def test_warm_up_compiles_the_clahe_loops_the_viewer_then_uses(dtype):
    # In a fresh interpreter: warm_up(dtype) compiles (or loads from numba's
    # cache) both CLAHE loops for this dtype; the viewer's calls then compile
    # nothing more ("ready" kernels switch to them once warm_up is done).
    import json
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run([sys.executable, "-c", _WARM_UP_CLAHE, dtype], capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[2], timeout=600)
    assert result.returncode == 0, result.stderr
    before, after = (json.loads(line) for line in result.stdout.splitlines()[-2:])
    assert all(before.values()), f"warm_up({dtype}) compiled no CLAHE loop: {before}"
    assert after == before, "the viewer's calls compiled CLAHE loops warm_up had not"
