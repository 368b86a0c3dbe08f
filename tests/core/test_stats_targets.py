"""Where a statistics CSV goes: its sidecar never replaces a user's file, and a folder that takes
no new file (a read-only file system, a stale temporary that cannot be removed) is one line.

The writer (:func:`histeq_gui.core.stats_csv.stats_to_csv`) backs ``histeq --stats``, the
viewer's statistics export and the API alike, so the API and the command are both tested.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from references import sample_stack

import histeq_gui
from histeq_gui import cli, image_stats
from histeq_gui.core import stats_csv
from histeq_gui.core.errors import StackError
from histeq_gui.core.io import atomic, read_sidecar
from histeq_gui.core.stats_csv import stats_to_csv

REPO = Path(histeq_gui.__file__).resolve().parent.parent
STACK = sample_stack()[:6, 0]               # real photographs, (6, 96, 96) uint8
MINE = '{"notes": "my own file"}\n'


def _run(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _table():
    return image_stats(STACK, bins=64)


# --- the sidecar of the statistics ----------------------------------------------------------

def test_the_cli_never_replaces_a_users_file_at_the_stats_sidecar(tmp_path, capsys):
    np.save(tmp_path / "in.npy", STACK)
    (tmp_path / "S.csv.json").write_text(MINE)
    code, out, err = _run(capsys, tmp_path / "in.npy", "--stats", tmp_path / "S.csv")
    assert (code, out) == (1, "")
    assert err == (f"histeq: error: '{tmp_path / 'S.csv.json'}' exists and was not written by "
                   "histeq-gui for 'S.csv'; pass --overwrite to replace it, or choose another "
                   "output name\n")
    assert (tmp_path / "S.csv.json").read_text() == MINE
    assert sorted(os.listdir(tmp_path)) == ["S.csv.json", "in.npy"]
    code, _, err = _run(capsys, tmp_path / "in.npy", "--stats", tmp_path / "S.csv",
                        "--overwrite")
    assert (code, err) == (0, "")
    assert read_sidecar(tmp_path / "S.csv")["kind"] == "image statistics"


def test_the_api_never_replaces_a_users_file_at_the_stats_sidecar(tmp_path):
    (tmp_path / "S.csv.json").write_text(MINE)
    with pytest.raises(StackError, match="exists and was not written by histeq-gui for 'S.csv'"):
        stats_to_csv(_table(), tmp_path / "S.csv", overwrite=False, info={"source": "x"})
    assert (tmp_path / "S.csv.json").read_text() == MINE
    assert sorted(os.listdir(tmp_path)) == ["S.csv.json"]
    stats_to_csv(_table(), tmp_path / "S.csv", overwrite=False)     # no sidecar: nothing there
    assert (tmp_path / "S.csv.json").read_text() == MINE


def test_a_users_file_appearing_while_the_table_is_written_is_not_replaced(tmp_path,
                                                                           monkeypatch):
    """The check is repeated at the commit, under the folder's lock: a file created at the
    sidecar's name after the first check (another program, another export) is kept."""
    write_json = stats_csv.write_json

    def write_then_a_user_saves(path, info, target=None):
        write_json(path, info, target=target)
        (tmp_path / "S.csv.json").write_text(MINE)
    monkeypatch.setattr(stats_csv, "write_json", write_then_a_user_saves)
    with pytest.raises(StackError, match="exists and was not written by histeq-gui"):
        stats_to_csv(_table(), tmp_path / "S.csv", overwrite=False, info={})
    assert (tmp_path / "S.csv.json").read_text() == MINE
    assert sorted(os.listdir(tmp_path)) == ["S.csv.json"]


def test_a_stats_sidecar_of_ours_left_without_its_csv_is_replaced(tmp_path):
    stats_to_csv(_table(), tmp_path / "S.csv", info={"source": "first"})
    (tmp_path / "S.csv").unlink()
    stats_to_csv(_table(), tmp_path / "S.csv", overwrite=False, info={"source": "second"})
    assert read_sidecar(tmp_path / "S.csv")["source"] == "second"
    assert sorted(os.listdir(tmp_path)) == ["S.csv", "S.csv.json"]


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_folder_at_the_stats_sidecar_is_named_as_such(tmp_path, capsys, overwrite):
    np.save(tmp_path / "in.npy", STACK)
    (tmp_path / "S.csv.json").mkdir()
    (tmp_path / "S.csv.json" / "keep.txt").write_text("mine")
    code, out, err = _run(capsys, tmp_path / "in.npy", "--stats", tmp_path / "S.csv", *overwrite)
    assert (code, out) == (1, "")
    assert err == (f"histeq: error: cannot write the sidecar of 'S.csv': "
                   f"'{tmp_path / 'S.csv.json'}' is a folder; move or rename it, or choose "
                   "another output name\n")
    assert os.listdir(tmp_path / "S.csv.json") == ["keep.txt"]
    assert sorted(os.listdir(tmp_path)) == ["S.csv.json", "in.npy"]


def test_a_folder_at_an_exports_sidecar_is_named_as_such_too(tmp_path, capsys):
    np.save(tmp_path / "in.npy", STACK)
    (tmp_path / "out.npy.json").mkdir()
    code, _, err = _run(capsys, tmp_path / "in.npy", "-o", tmp_path / "out.npy", "--overwrite")
    assert code == 1
    assert err == (f"histeq: error: cannot write the sidecar of 'out.npy': "
                   f"'{tmp_path / 'out.npy.json'}' is a folder; move or rename it, or choose "
                   "another output name\n")
    assert sorted(os.listdir(tmp_path)) == ["in.npy", "out.npy.json"]


# --- folders that take no new file ----------------------------------------------------------

def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _stale_temp(folder):
    """What a run killed while writing S.csv leaves: a temporary of a process that is gone."""
    path = folder / f".S-histeq-tmp-{atomic._NS}-{_dead_pid()}-1a2b3c4d.csv"
    path.write_text("index,na")
    return path


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="permissions do not stop root")
def test_a_folder_without_write_permission_holding_a_stale_temporary_is_one_line(tmp_path,
                                                                                capsys):
    np.save(tmp_path / "in.npy", STACK)
    out = tmp_path / "out"
    out.mkdir()
    stale = _stale_temp(out)
    out.chmod(0o555)
    try:
        code, printed, err = _run(capsys, tmp_path / "in.npy", "--stats", out / "S.csv")
    finally:
        out.chmod(0o755)
    assert (code, printed) == (1, "")
    assert err == (f"histeq: error: cannot write '{out / 'S.csv'}': permission denied; check "
                   "the permissions of the file and its folder\n")
    assert os.listdir(out) == [stale.name]


_READ_ONLY = """
set -e
mount -t tmpfs -o size=4m none "$1"
cp "$2" "$1/in.npy"
touch "$1/$3"
mount -o remount,ro "$1"
shift 3
exec "$@"
"""


def _in_a_read_only_folder(tmp_path, stale_name, *args):
    """Run ``histeq in.npy ARGS`` in a read-only tmpfs (private mount namespace) holding the
    stale temporary ``stale_name``; skip where no such namespace can be made."""
    unshare = shutil.which("unshare")
    if unshare is None or os.name != "posix":
        pytest.skip("needs unshare(1)")
    folder = tmp_path / "ro"
    folder.mkdir()
    np.save(tmp_path / "in.npy", STACK)
    probe = subprocess.run([unshare, "-rm", "sh", "-c", "mount -t tmpfs none \"$0\"", folder],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("no private mount namespace here (unshare -rm)")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return folder, subprocess.run(
        [unshare, "-rm", "sh", "-c", _READ_ONLY, "sh", folder, tmp_path / "in.npy", stale_name,
         sys.executable, "-m", "histeq_gui.cli", folder / "in.npy", *args],
        capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("stale", [False, True])
def test_stats_onto_a_read_only_file_system_is_one_line(tmp_path, stale):
    name = f".S-histeq-tmp-{atomic._NS}-{_dead_pid()}-1a2b3c4d.csv" if stale else "nothing"
    folder, result = _in_a_read_only_folder(tmp_path, name, "--stats", tmp_path / "ro" / "S.csv")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"histeq: error: cannot write '{folder / 'S.csv'}': the file "
                             "system is read-only; write elsewhere\n")


def test_an_export_onto_a_read_only_file_system_is_one_line(tmp_path):
    name = f".out-histeq-tmp-{atomic._NS}-{_dead_pid()}-1a2b3c4d.npy"
    folder, result = _in_a_read_only_folder(tmp_path, name, "-o", tmp_path / "ro" / "out.npy")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"histeq: error: cannot write '{folder / 'out.npy'}': the file "
                             "system is read-only; write elsewhere\n")


def test_a_temporary_that_cannot_be_removed_never_hides_the_error(tmp_path, monkeypatch):
    """When the write fails and its temporary cannot be removed either (the file system turned
    read-only meanwhile), the write's one-line error is what is raised."""
    unlink = Path.unlink

    def read_only(self, *args, **kwargs):
        if "-histeq-tmp-" in self.name:
            raise OSError(30, "Read-only file system", str(self))
        return unlink(self, *args, **kwargs)

    def broken(columns, fh):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(Path, "unlink", read_only)
    monkeypatch.setattr(stats_csv, "_write", broken)
    with pytest.raises(StackError) as caught:
        stats_to_csv(_table(), tmp_path / "S.csv")
    assert str(caught.value) == (f"cannot write '{tmp_path / 'S.csv'}': no space left on the "
                                 "device; free some space or write elsewhere")
    assert not (tmp_path / "S.csv").exists()


def test_a_users_sidecar_is_checked_before_the_statistics_are_computed(tmp_path, capsys,
                                                                        monkeypatch):
    np.save(tmp_path / "in.npy", STACK)
    (tmp_path / "S.csv.json").write_text(json.dumps({"program": "histeq-gui",
                                                     "output": "other.csv"}))

    def refuse(*args, **kwargs):
        raise AssertionError("computed before checking the targets")
    monkeypatch.setattr(histeq_gui.core.stats, "image_stats", refuse)
    code, _, err = _run(capsys, tmp_path / "in.npy", "--stats", tmp_path / "S.csv")
    assert code == 1 and "exists and was not written by histeq-gui for 'S.csv'" in err
