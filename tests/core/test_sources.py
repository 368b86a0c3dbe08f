"""core.io.folders, core.io.tiff and core.channels: the names of a folder's images, the colour
axis a TIFF declares, the colour-axis choices."""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from skimage import data

from histeq_gui import load_stack
from histeq_gui.core.channels import channel_axis_choices, channel_axis_text, parse_channel_axis
from histeq_gui.core.errors import StackError
from histeq_gui.core.io import declared_channel_axis, folder_images


def test_folder_images_are_in_the_order_load_stack_stacks_them(tmp_path):
    names = ["img10.png", "img2.png", "IMG1.PNG", "b.tif", "a3.jpg", "img2b.png"]
    for i, name in enumerate(names):
        image = np.full((6, 5), 10 * (i + 1), np.uint8)     # each file its own value
        if name.endswith(".jpg"):
            iio.imwrite(tmp_path / name, image, extension=".jpg", quality=100)
        elif name.endswith(".tif"):
            tifffile.imwrite(tmp_path / name, image)
        else:
            iio.imwrite(tmp_path / name, image, extension=".png")
    (tmp_path / ".hidden.png").write_bytes((tmp_path / "img2.png").read_bytes())
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "folder.png").mkdir()                       # a folder named like an image
    files = folder_images(tmp_path)
    assert [p.name for p in files] == ["a3.jpg", "b.tif", "IMG1.PNG", "img2.png", "img2b.png",
                                       "img10.png"]
    stack = load_stack(tmp_path)
    assert len(stack) == len(files)
    for image, path in zip(stack, files):      # image i of the stack is file i
        expected = 10 * (names.index(path.name) + 1)
        assert abs(int(np.median(image)) - expected) <= 1


def test_folder_images_of_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(StackError, match="no such file or folder") as info:
        folder_images(tmp_path / "gone")
    assert "\n" not in str(info.value)


def test_channel_axis_spellings_round_trip():
    for text, value in [("auto", "auto"), ("AUTO", "auto"), ("none", None), ("1", 1),
                        ("-1", -1)]:
        assert parse_channel_axis(text) == value
        assert parse_channel_axis(channel_axis_text(value)) == value
    with pytest.raises(ValueError, match="axis number"):
        parse_channel_axis("rgb")


def test_channel_axis_choices_of_multipage_rgb():
    shape = (2, 3, 10, 10)
    choices = dict((str(c), layout) for c, layout in channel_axis_choices(shape))
    assert choices["auto"].channel_axis is None                   # the shared automatic rule
    assert choices["1"].channel_axis == 1 and choices["1"].n_images == 2
    assert choices["1"].channels == 3 and choices["1"].name == "N×C×H×W"
    assert [c for c, _ in channel_axis_choices((5, 5))] == ["auto", None]


def test_declared_channel_axis_reads_the_tiff(tmp_path):
    skimage_file = Path(data.__file__).parent / "multipage_rgb.tif"
    assert declared_channel_axis(skimage_file, (2, 3, 10, 10)) == 1
    assert declared_channel_axis(skimage_file, (6, 10, 10)) is None     # another shape
    last = tmp_path / "last.tif"
    tifffile.imwrite(last, np.zeros((2, 8, 8, 3), np.uint8), photometric="rgb")
    assert declared_channel_axis(last, (2, 8, 8, 3)) == 3
    gray = tmp_path / "gray.tif"
    tifffile.imwrite(gray, np.zeros((4, 8, 8), np.uint8), photometric="minisblack")
    assert declared_channel_axis(gray, (4, 8, 8)) is None
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"II*\x00 not a tiff")
    assert declared_channel_axis(broken, (4, 8, 8)) is None
    assert declared_channel_axis(tmp_path / "x.npy", (2, 3, 8, 8)) is None
    assert declared_channel_axis(None, (2, 3, 8, 8)) is None
