"""preview_target: an output checked as it is typed, writing nothing (the export dialog's)."""

import os

import numpy as np
import pytest
from skimage import data

from histeq_gui.core.errors import StackError
from histeq_gui.core.export import ExportSettings, check_target, export, preview_target
from histeq_gui.core.io import open_reader, save_stack


def _listing(folder):
    return sorted(os.listdir(folder))


@pytest.fixture
def stack():
    return np.stack([data.camera()[::8, ::8], data.moon()[::8, ::8]])


def test_a_new_output_of_each_kind(tmp_path, stack):
    before = _listing(tmp_path)
    for name, kind in (("a.npy", "npy"), ("a.npz", "npz"), ("a.tif", "tif"),
                       ("frames", "png-folder")):
        assert preview_target(tmp_path / name, stack, ExportSettings()) == (kind, None, False)
    assert _listing(tmp_path) == before                 # nothing created, nothing removed


@pytest.mark.parametrize("name, settings, match", [
    ("a.png", ExportSettings(), "a .png file holds one image, not 2"),
    ("frames", ExportSettings(dtype="float32"), "PNG files hold only uint8 or uint16"),
    ("a.bmp", ExportSettings(), "bmp"),
])
def test_what_the_export_refuses_is_refused(tmp_path, stack, name, settings, match):
    with pytest.raises(StackError, match=match):
        preview_target(tmp_path / name, stack, settings)
    with pytest.raises(StackError, match=match):
        export(stack, tmp_path / name, settings)


def test_an_existing_output_is_found_and_judged_without_writing(tmp_path, stack):
    out = export(stack, tmp_path / "frames", ExportSettings())
    before = _listing(out)
    assert preview_target(out, stack, ExportSettings()) == ("png-folder", None, True)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(StackError, match="holds files other than numbered PNGs"):
        preview_target(out, stack, ExportSettings())
    with pytest.raises(StackError, match="holds files other than numbered PNGs"):
        check_target(out, overwrite=True)
    assert _listing(out) == sorted(before + ["notes.txt"])


def test_a_folder_input_keeps_its_names_and_images_of_different_sizes_need_a_folder(tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    save_stack(folder / "b.png", data.camera()[::4, ::4])
    save_stack(folder / "a one.png", data.coins()[:60, :50])
    with open_reader(folder) as reader:
        assert preview_target(tmp_path / "out", reader, ExportSettings(), source=folder) == \
            ("png-folder", ["a one.png", "b.png"], False)
        with pytest.raises(StackError, match="images of different sizes can only be exported "
                                             "to a folder"):
            preview_target(tmp_path / "out.npy", reader, ExportSettings())
        with pytest.raises(StackError, match="it is the input"):
            preview_target(folder, reader, ExportSettings(), source=folder)
