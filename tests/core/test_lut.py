"""Integer images through tables in the output dtype: the same bytes as float64 then convert."""

import numpy as np
import pytest
from skimage import data

from histeq_gui.core import lut
from histeq_gui.core.equalize import equalize, histogram
from histeq_gui.core.export import ExportSettings, convert, equalize_piece, output_dtype
from histeq_gui.core.methods import METHODS, get_method
from histeq_gui.core.stack import guess_layout

RNG = np.random.default_rng(17)


def _photos(dtype, n=10, size=48):
    photos = [data.camera(), data.moon(), data.coins(), data.page()]
    images = []
    for i in range(n):
        photo = photos[i % 4].astype(np.float64) / 255
        y, x = RNG.integers(0, min(photo.shape) - size, 2)
        images.append(photo[y:y + size, x:x + size] ** [1, 2.5, 0.4][i % 3])
    stack = np.stack(images)
    stack[3] = stack[3, 5, 5]                           # constant
    stack[4] = np.where(stack[4] > 0.5, 0.9, 0.2)       # two values
    info = np.iinfo(dtype)
    span = min(info.max - info.min, 60000)
    return (info.min + 7 + np.round(stack * (span - 14))).astype(dtype)


@pytest.mark.parametrize("method, scope", [(m, s) for m in METHODS
                                           for s in get_method(m).scopes])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", ">u2"])
@pytest.mark.parametrize("out", ["same", "uint8", "uint16", "float32", "float64"])
@pytest.mark.parametrize("bins", [3, 256, 4096])
def test_tables_give_the_bytes_of_float64_then_convert(method, dtype, scope, out, bins):
    stack = _photos(dtype)
    layout = guess_layout(stack.shape)
    settings = ExportSettings(method=method, bins=bins, scope=scope, dtype=out)
    maps = [histogram(stack, method, bins)] if scope == "stack" else None
    got = equalize_piece(stack, settings, layout, maps, 0, 0, stack.dtype)
    expected = convert(equalize(stack, method, bins, scope), out, stack.dtype)
    assert got.dtype == expected.dtype == output_dtype(out, stack.dtype)
    assert got.tobytes() == expected.tobytes()
    assert lut.applies(np.dtype(dtype).newbyteorder("="), scope) == \
        (np.dtype(dtype).itemsize == 1 or scope == "stack")


@pytest.mark.parametrize("scope", ["image", "stack"])
def test_colour_channels_through_tables(scope):
    stack = np.stack([_photos("uint8", 6)[:, :, :40], _photos("uint8", 6)[:, :, 8:] // 2,
                      255 - _photos("uint8", 6)[:, :, 4:44]], axis=-1)
    layout = guess_layout(stack.shape, "auto")
    settings = ExportSettings(scope=scope, method="skimage")
    maps = [histogram(stack[..., c], "skimage") for c in range(3)] if scope == "stack" else None
    got = equalize_piece(stack, settings, layout, maps, 0, 0, stack.dtype)
    expected = convert(equalize(stack, "skimage", 256, scope, channel_axis=-1), "same", np.uint8)
    assert got.tobytes() == expected.tobytes()


def test_big_images_of_several_blocks():
    stack = np.tile(_photos("uint8", 5), (1, 24, 24))          # 1152x1152: two blocks each
    settings = ExportSettings(bins=100)
    got = equalize_piece(stack, settings, guess_layout(stack.shape), None, 0, 0, stack.dtype)
    assert got.tobytes() == convert(equalize(stack, bins=100), "same", np.uint8).tobytes()


def test_the_look_up_never_reads_outside_its_table():
    x = np.array([[0, 5, 200, 255]], np.uint8)
    table = np.array([[10, 11, 12]], np.uint16)            # narrower than the values
    np.testing.assert_array_equal(lut.look_up(x, table, 0), [[10, 12, 12, 12]])
    np.testing.assert_array_equal(lut.look_up(x, table, 100), [[10, 10, 12, 12]])
    with pytest.raises(ValueError, match="do not fit"):
        lut.look_up(x, np.zeros((2, 3)), 0)
