"""An input file that changes while it is exported is refused in one line, and nothing is written.

The change is made at a deterministic point of the export (no sleeps): while the generator of
:func:`export_steps` is suspended at one of its progress steps, i.e. during the stack fit
("histogram", between the two passes of scope "stack") or after the last piece was read and
written ("write", verifying), before anything is committed.  The file is either replaced by
another (a new inode: what an editor's "save" or ``mv`` does) or rewritten in place with more
images (same inode, another size), so the change is visible whatever the file system's
timestamp resolution.
"""

import os

import numpy as np
import pytest
import tifffile
from references import sample_stack

from histeq_gui import cli, equalize
from histeq_gui.core.errors import StackError
from histeq_gui.core.export import ExportSettings, export, export_steps
from histeq_gui.core.io import load_stack, open_reader

FORMATS = ["npy", "tif", "npz"]
STACK = sample_stack()[:12, 0]             # real photographs, (12, 96, 96) uint8
OTHER = 255 - sample_stack()[12:24, 0]     # what the file holds after the change


def _save(path, stack):
    if path.suffix == ".npy":
        np.save(path, stack)
    elif path.suffix == ".npz":
        np.savez(path, images=stack)
    else:
        tifffile.imwrite(path, stack)


def _change(path, how):
    if how == "replaced":                   # a new file moved over the old one
        new = path.with_name("new" + path.suffix)
        _save(new, OTHER)
        os.replace(new, path)
    else:                                   # the same file rewritten, one image more
        _save(path, np.concatenate([OTHER, OTHER[:1]]))


def _export_changing(tmp_path, fmt, scope, at, how, source="reader", stages=None):
    """Export ``in.<fmt>`` and change it when the steps first reach stage ``at``.

    Returns the stages seen (also appended to ``stages`` as they come)."""
    path = tmp_path / f"in.{fmt}"
    _save(path, STACK)
    settings = ExportSettings(scope=scope, method="skimage", bins=64)
    stages = [] if stages is None else stages
    with open_reader(path) as reader:
        images = reader if source == "reader" else load_stack(path)
        steps = export_steps(images, tmp_path / "out.npy", settings, chunk_images=4)
        try:
            for stage, _, _ in steps:
                stages.append(stage)
                if stage == at and stages.count(at) == 1:
                    _change(path, how)
        finally:
            steps.close()
    return stages


@pytest.mark.parametrize("how", ["replaced", "rewritten"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scope", ["image", "stack"])
def test_a_file_changed_after_the_last_read_is_refused(tmp_path, fmt, scope, how):
    with pytest.raises(StackError) as caught:       # every piece read and written: verifying
        _export_changing(tmp_path, fmt, scope, "write", how)
    assert str(caught.value) == (f"cannot read '{tmp_path / ('in.' + fmt)}': the file changed "
                                 "during the export (it was replaced or modified); export "
                                 "again once it is complete")
    assert sorted(os.listdir(tmp_path)) == [f"in.{fmt}"]      # nothing written, nothing left


@pytest.mark.parametrize("how", ["replaced", "rewritten"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_changed_during_the_stack_fit_is_refused_before_the_second_pass(tmp_path, fmt,
                                                                               how):
    stages = []
    with pytest.raises(StackError, match="the file changed during the export"):
        _export_changing(tmp_path, fmt, "stack", "histogram", how, stages=stages)
    # refused between the passes, not at the end
    assert "histogram" in stages and "equalize" not in stages
    assert sorted(os.listdir(tmp_path)) == [f"in.{fmt}"]


@pytest.mark.parametrize("at", ["histogram", "equalize", "write"])
def test_a_memory_map_from_load_stack_is_checked_too(tmp_path, at):
    with pytest.raises(StackError, match="the file changed during the export"):
        _export_changing(tmp_path, "npy", "stack", at, "rewritten", source="map")
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_changed_as_the_second_pass_starts_is_refused(tmp_path, fmt):
    """Changed after the fit was checked, before the second pass reads: the pieces read then
    are of the new file, or cannot be read as the old one (a CRC, a TIFF page): refused, and
    named as a change."""
    with pytest.raises(StackError, match="the file changed during the export"):
        _export_changing(tmp_path, fmt, "stack", "equalize", "rewritten")
    assert sorted(os.listdir(tmp_path)) == [f"in.{fmt}"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scope", ["image", "stack"])
def test_an_unchanged_file_exports_as_the_api_equalizes(tmp_path, fmt, scope):
    """The checks refuse nothing else: the same steps, no change, give equalize's bytes."""
    stages = _export_changing(tmp_path, fmt, scope, "no such stage", "replaced")
    assert stages[-1] == "write"
    expected = equalize(STACK, "skimage", bins=64, scope=scope, dtype="same")
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_a_match_reference_read_from_the_stack_is_checked_before_the_second_pass(tmp_path):
    """match's reference "stack" reads the file once before equalizing: a change then is
    refused before any piece is equalized."""
    path = tmp_path / "in.npy"
    _save(path, STACK)
    stages = []
    with open_reader(path) as reader:
        steps = export_steps(reader, tmp_path / "out.npy", ExportSettings(method="match"),
                             chunk_images=4)
        with pytest.raises(StackError, match="the file changed during the export"):
            for stage, _, _ in steps:
                stages.append(stage)
                if stage == "histogram" and stages.count(stage) == 1:
                    _change(path, "replaced")
    assert "histogram" in stages and "equalize" not in stages
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


def test_the_cli_says_so_in_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    path = tmp_path / "in.tif"
    _save(path, STACK)
    update = cli._Progress.update

    def change_when_written(self, stage, done, total):
        if stage == "write" and not (tmp_path / "new.tif").exists():
            _change(path, "rewritten")
            (tmp_path / "new.tif").touch()
        return update(self, stage, done, total)
    monkeypatch.setattr(cli._Progress, "update", change_when_written)
    code = cli.main([str(path), "-o", str(tmp_path / "out.npy"), "--scope", "stack"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (1, "")
    assert captured.err == (f"histeq: error: cannot read '{path}': the file changed during the "
                            "export (it was replaced or modified); export again once it is "
                            "complete\n")
    assert sorted(os.listdir(tmp_path)) == ["in.tif", "new.tif"]


def test_export_without_steps_refuses_too(tmp_path):
    """export() (the viewer's and the API's call) reports a change through its progress."""
    path = tmp_path / "in.npz"
    _save(path, STACK)
    seen = []

    def progress(stage, done, total):
        seen.append(stage)
        if stage == "write" and seen.count("write") == 1:
            _change(path, "replaced")
    with open_reader(path) as reader, pytest.raises(StackError, match="changed during"):
        export(reader, tmp_path / "o.tif", ExportSettings(scope="stack"), progress=progress)
    assert sorted(os.listdir(tmp_path)) == ["in.npz"]
