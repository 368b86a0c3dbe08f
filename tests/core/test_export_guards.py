"""Checks of the export that a plausible change of the code would silently lose.

Each test here fails if one such change is made (they were written against it):

- the no-overwrite check asks ``Path.exists``, which is False for a dangling symbolic link: a
  link at the output (there before the export, or made while it runs) would then be replaced;
- the PNG-folder verification skips comparing the folder's listing: an extra file in the
  output folder would go unseen;
- the progress of an export cut along the channel axis (a channels-first stack written channel
  by channel) counts channels, or rounds, instead of images.
"""

import os

import numpy as np
import pytest
from references import sample_stack

from histeq_gui import equalize
from histeq_gui.core.errors import StackError
from histeq_gui.core.export import ExportSettings, export, export_steps
from histeq_gui.core.io import atomic, load_stack, staged

PHOTOS = sample_stack()[:5, 0]              # real photographs, (5, 96, 96) uint8
TARGETS = ["out.npy", "out.tif", "frames"]


# --- a dangling symbolic link at the output ---------------------------------------------------

@pytest.mark.parametrize("name", TARGETS)
def test_a_dangling_link_at_the_output_is_not_replaced_without_overwrite(tmp_path, name):
    (tmp_path / name).symlink_to(tmp_path / "gone")
    with pytest.raises(StackError, match=f"'{tmp_path / name}' exists; pass --overwrite"):
        export(PHOTOS, tmp_path / name, ExportSettings())
    assert os.readlink(tmp_path / name) == str(tmp_path / "gone")
    assert sorted(os.listdir(tmp_path)) == [name]


@pytest.mark.parametrize("name", TARGETS)
def test_a_dangling_link_made_during_the_export_is_not_replaced(tmp_path, name):
    """The check at the commit (after the up-front one passed) sees a link made meanwhile."""
    steps = export_steps(PHOTOS, tmp_path / name, ExportSettings())
    with pytest.raises(StackError, match=f"'{tmp_path / name}' exists; pass --overwrite"):
        for stage, _, _ in steps:
            if stage == "write" and not (tmp_path / name).is_symlink():
                (tmp_path / name).symlink_to(tmp_path / "gone")
    assert os.readlink(tmp_path / name) == str(tmp_path / "gone")
    assert sorted(os.listdir(tmp_path)) == [name]


def test_staged_keeps_a_dangling_link_without_overwrite(tmp_path):
    (tmp_path / "a.txt").symlink_to("nowhere")
    with pytest.raises(StackError, match="exists; pass --overwrite"):
        with staged([tmp_path / "a.txt"]) as (temp,):
            temp.write_text("new")
    assert os.readlink(tmp_path / "a.txt") == "nowhere"
    with staged([tmp_path / "a.txt"], overwrite=True) as (temp,):
        temp.write_text("new")
    assert not (tmp_path / "a.txt").is_symlink() and (tmp_path / "a.txt").read_text() == "new"
    assert atomic.exists(tmp_path / "a.txt")


# --- an extra file in a PNG folder ----------------------------------------------------------

def test_a_file_that_appears_in_the_png_folder_before_it_is_verified_fails_the_export(tmp_path):
    steps = export_steps(PHOTOS, tmp_path / "frames", ExportSettings(), chunk_images=1)
    with pytest.raises(StackError) as caught:
        for stage, done, total in steps:
            if stage == "equalize" and done == total:       # every file written, not verified
                (temp,) = [p for p in tmp_path.iterdir() if "-histeq-tmp-" in p.name]
                assert sorted(os.listdir(temp)) == [f"{i:05d}.png" for i in range(5)]
                (temp / "extra.png").write_bytes((temp / "00000.png").read_bytes())
    assert str(caught.value) == (f"cannot write '{tmp_path / 'frames'}': the written file does "
                                 "not read back as written (6 files for 5 images); nothing was "
                                 "written, check the disk and retry")
    assert os.listdir(tmp_path) == []


def test_a_png_folder_without_extra_files_verifies(tmp_path):
    out = export(PHOTOS, tmp_path / "frames", ExportSettings(), progress=None)
    assert sorted(os.listdir(out)) == [f"{i:05d}.png" for i in range(5)]
    np.testing.assert_array_equal(load_stack(out), equalize(PHOTOS, dtype="same"))


# --- progress along the channel axis ----------------------------------------------------------

@pytest.mark.parametrize("engine", ["local", "dask"])
def test_progress_counts_images_when_chunks_are_cut_along_the_channel_axis(tmp_path, engine):
    """A (C, N, H, W) stack written to .npy channel by channel: each piece is one channel of
    all 10 images, 10/3 images' worth; the counts are whole images, in order, ending at 10."""
    if engine == "dask":
        pytest.importorskip("dask")
    stack = np.stack([sample_stack()[:10, 0], sample_stack()[10:20, 0],
                      sample_stack()[20:30, 0]])                   # (3, 10, 96, 96): C, N, H, W
    settings = ExportSettings(channel_axis=0)
    steps = list(export_steps(stack, tmp_path / "out.npy", settings, chunk_images=3,
                              engine=engine))
    assert [(done, total) for stage, done, total in steps if stage == "equalize"] == \
        [(0, 10), (3, 10), (7, 10), (10, 10)]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"),
                                  equalize(stack, channel_axis=0, dtype="same"))
