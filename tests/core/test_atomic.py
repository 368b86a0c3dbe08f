"""Tests of histeq_gui.core.io.atomic: temporary names, cleaning up after killed runs, and the
commit protocol at every crash point (injected exceptions in-process, SIGKILL in a forked
child), on real files in tmp_path."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from histeq_gui.core import io
from histeq_gui.core.errors import StackError
from histeq_gui.core.io import atomic, clean_up, load_stack, read_sidecar, save_stack, sidecar_path

pytestmark = pytest.mark.skipif(os.name != "posix", reason="processes and signals of POSIX")

TARGETS = ["out.npy", "out.tif", "frames"]


def _listing(folder):
    return sorted(os.listdir(folder))


def _hidden(folder):
    return [name for name in _listing(folder) if name.startswith(".")]


def _dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def live_pid():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def _name(stem, kind, pid, suffix="", ns=None):
    return f".{stem}-histeq-{kind}-{ns or atomic._NS}-{pid}-1a2b3c4d{suffix}"


# --- names --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["out.npy", "out.npy.json", "frames", ".hidden.tif"])
def test_temporary_names_say_program_and_process(tmp_path, name):
    temp = atomic.temp_path(tmp_path / name, "tmp")
    assert temp.parent == tmp_path
    stem = name.lstrip(".").rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    assert re.fullmatch(rf"\.{re.escape(stem)}-histeq-tmp-[0-9a-f]{{4}}-{os.getpid()}-"
                        rf"[0-9a-f]{{8}}{re.escape((tmp_path / name).suffix)}", temp.name)
    assert atomic._NAME.fullmatch(temp.name)["pid"] == str(os.getpid())


def test_temporary_names_fit_in_255_bytes(tmp_path):
    long = "é" * 120 + ".npy"                # 244 bytes
    assert len(os.fsencode(long)) == 244
    temp = atomic.temp_path(tmp_path / long, "tmp")
    assert len(os.fsencode(temp.name)) <= 255
    assert atomic._NAME.fullmatch(temp.name) is not None
    save_stack(tmp_path / long, np.zeros((2, 3, 3), np.uint8))
    assert _listing(tmp_path) == [long]


# --- clean_up -----------------------------------------------------------------------------

def test_clean_up_removes_only_leftovers_of_gone_processes(tmp_path, live_pid):
    dead = _dead_pid()
    gone = [_name("out", "tmp", dead, ".npy"), _name("frames", "tmp", dead),
            _name("out", "probe", dead, ".tif"), _name("out", "jtmp", dead, ".json")]
    kept = [_name("out", "tmp", os.getpid(), ".npy"),         # this process: maybe writing
            _name("out", "tmp", live_pid, ".npy"),            # a live process
            _name("out", "tmp", dead, ".npy", ns="ffff" if atomic._NS != "ffff" else "fffe"),
            _name("out", "old", dead, ".npy"),                # a backup outside a journal
            f".out-tmp-{dead}-1a2b3c4d.npy", f"out-histeq-tmp-{atomic._NS}-{dead}-1a2b3c4d",
            ".mine.npy", "data.npy"]
    for name in gone + kept:
        if "frames" in name:
            (tmp_path / name).mkdir()
            (tmp_path / name / "00000.png").write_bytes(b"partial")
        else:
            (tmp_path / name).write_bytes(b"partial")
    removed = clean_up(tmp_path)
    assert sorted(p.name for p in removed) == sorted(gone)
    assert _listing(tmp_path) == sorted(kept)


def test_clean_up_knows_a_reused_pid(tmp_path, live_pid):
    """A file last written before its pid's current process started was not written by it."""
    stale = tmp_path / _name("out", "tmp", live_pid, ".npy")
    fresh = tmp_path / _name("new", "tmp", live_pid, ".npy")
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    assert clean_up(tmp_path) == [stale]
    assert _listing(tmp_path) == [fresh.name]


def test_clean_up_leaves_a_journal_that_is_not_ours(tmp_path):
    dead = _dead_pid()
    journal = tmp_path / _name("out", "journal", dead, ".json")
    temp = tmp_path / _name("out", "tmp", dead, ".npy")
    temp.write_bytes(b"x")
    (tmp_path / "precious.npy").write_bytes(b"keep")
    for moves in ([{"target": "../precious.npy", "temp": temp.name, "backup": None,
                    "existed": True}],
                  [{"target": "precious.npy", "temp": "precious.npy", "backup": None,
                    "existed": False}]):
        journal.write_text(json.dumps({"program": "histeq-gui", "pid": dead, "moves": moves}))
        assert clean_up(tmp_path) == []
    assert _listing(tmp_path) == sorted([journal.name, temp.name, "precious.npy"])


def test_staged_and_check_output_clean_up_first(tmp_path):
    dead = _dead_pid()
    for name in ("a", "b"):
        (tmp_path / _name("out", "tmp", dead, ".npy").replace("1a2b", name * 4)).write_bytes(
            b"x")
    io.check_output(tmp_path / "x.npy")
    assert _listing(tmp_path) == []
    (tmp_path / _name("out", "tmp", dead, ".npy")).write_bytes(b"x")
    with io.staged([tmp_path / "y.npy"]) as (temp,):
        assert _hidden(tmp_path) == []
        io.write_stack(temp, np.zeros((2, 2)))
    assert _listing(tmp_path) == ["y.npy"]


# --- the commit protocol at every crash point ---------------------------------------------

def _write_pair(temps, value):
    temp, temp_json = temps
    io.write_stack(temp, np.full((2, 4, 4), value, np.uint8))
    io.write_json(temp_json, {"value": value})


def _state(folder, name):
    """'old', 'new' or 'none' for a complete pair (or no pair); 'mixed' otherwise."""
    target, info = folder / name, sidecar_path(folder / name)
    if not target.exists() and not info.exists():
        return "none"
    try:
        values = {int(load_stack(target)[0, 0, 0]), read_sidecar(target)["value"]}
    except (StackError, KeyError):
        return "mixed"
    return {frozenset({1}): "old", frozenset({2}): "new"}.get(frozenset(values), "mixed")


def _commit_steps(existed):
    """The steps of committing an output and its sidecar, in order."""
    return ["journal"] + (["aside 0"] if existed else []) + ["moved 0", "moved 1", "synced",
                                                            "finished"]


def _prepare(tmp_path, name, existed):
    if existed:
        with io.staged([tmp_path / name, sidecar_path(tmp_path / name)]) as temps:
            _write_pair(temps, 1)
    return "old" if existed else "none"


def _after_commit(step, existed):
    """The pair a commit interrupted after ``step`` must leave: new once all is moved in."""
    steps = _commit_steps(existed)
    return "new" if steps.index(step) >= steps.index("moved 1") else ("old" if existed
                                                                      else "none")


def _fail_at(monkeypatch, step, exc):
    seen = []

    def fail(name):
        seen.append(name)
        if name == step and seen.count(name) == 1:      # once, as a signal would
            raise exc(f"injected at {name}")
    monkeypatch.setattr(atomic, "_step", fail)
    return seen


@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("existed", [True, False])
def test_commit_steps_are_the_documented_ones(tmp_path, monkeypatch, name, existed):
    _prepare(tmp_path, name, existed)
    seen = _fail_at(monkeypatch, None, RuntimeError)
    with io.staged([tmp_path / name, sidecar_path(tmp_path / name)], True) as temps:
        _write_pair(temps, 2)
    assert seen == _commit_steps(existed)
    assert _state(tmp_path, name) == "new"
    assert _hidden(tmp_path) == []


STEPS = [(existed, step) for existed in (True, False) for step in _commit_steps(existed)]


@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("existed,step", STEPS)
@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_an_error_between_commit_steps_leaves_the_old_or_the_new_pair(
        tmp_path, monkeypatch, name, existed, step, exc):
    _prepare(tmp_path, name, existed)
    _fail_at(monkeypatch, step, exc)
    with pytest.raises(StackError if exc is RuntimeError else exc):
        with io.staged([tmp_path / name, sidecar_path(tmp_path / name)], True) as temps:
            _write_pair(temps, 2)
    assert _state(tmp_path, name) == _after_commit(step, existed)
    assert _hidden(tmp_path) == []


def _killed_child(tmp_path, name, step, repair_step=None):
    """Fork a child that commits the new pair (or only repairs) and SIGKILLs itself at a step."""
    pid = os.fork()
    if pid == 0:                                    # the child: never returns
        try:
            def kill(current):
                if current == (step if repair_step is None else repair_step):
                    os.kill(os.getpid(), signal.SIGKILL)
            atomic._step = kill
            if repair_step is None:
                with io.staged([tmp_path / name, sidecar_path(tmp_path / name)], True) as temps:
                    _write_pair(temps, 2)
            else:
                clean_up(tmp_path)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("existed,step", STEPS)
def test_a_kill_between_commit_steps_is_detected_and_repaired_by_the_next_run(
        tmp_path, name, existed, step):
    _prepare(tmp_path, name, existed)
    assert _killed_child(tmp_path, name, step)
    state = _state(tmp_path, name)
    journals = [n for n in _hidden(tmp_path) if "-histeq-journal-" in n]
    assert state in ("old", "new", "none") or journals      # complete, or detectable
    clean_up(tmp_path)
    assert _state(tmp_path, name) == _after_commit(step, existed)
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("repair_step", ["undo", "restored 1", "restored 0", "temps removed"])
def test_a_kill_during_the_repair_is_repaired_by_the_run_after(tmp_path, name, repair_step):
    _prepare(tmp_path, name, True)
    assert _killed_child(tmp_path, name, "moved 0")        # new output, old sidecar
    assert _state(tmp_path, name) == "mixed"
    assert _killed_child(tmp_path, name, None, repair_step)
    clean_up(tmp_path)
    assert _state(tmp_path, name) == "old"
    assert _hidden(tmp_path) == []


def test_a_lone_file_is_replaced_in_one_rename_without_a_journal(tmp_path, monkeypatch):
    save_stack(tmp_path / "a.npy", np.zeros((2, 2)))
    seen = _fail_at(monkeypatch, None, RuntimeError)
    save_stack(tmp_path / "a.npy", np.ones((2, 2)), overwrite=True)
    assert seen == ["moved 0"]
    assert _listing(tmp_path) == ["a.npy"]


@pytest.mark.parametrize("name", TARGETS)
def test_written_files_and_folders_are_fsynced(tmp_path, monkeypatch, name):
    _prepare(tmp_path, name, True)
    synced = []
    fsync = os.fsync

    def record(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return fsync(fd)
    monkeypatch.setattr(os, "fsync", record)
    monkeypatch.setattr(atomic, "_step", lambda step: synced.append(step))
    with io.staged([tmp_path / name, sidecar_path(tmp_path / name)], True) as (temp, temp_json):
        _write_pair((temp, temp_json), 2)
        written = [str(p) for p in sorted(temp.iterdir())] if temp.is_dir() else [str(temp)]
        before = list(synced)
    assert set(written) <= set(before)                       # every file of the output
    assert str(temp_json) in before
    if temp.is_dir():
        assert before.index(str(temp)) > max(before.index(w) for w in written)   # then its folder
    after = synced[len(before):]
    assert "-histeq-jtmp-" in after[0]                       # the journal, before any rename
    assert after[1] == str(tmp_path) and after[2] == "journal"
    # the parent after the last rename, before the backup of the old output is removed
    assert after[after.index("moved 1") + 1:after.index("finished")] == [str(tmp_path),
                                                                         "synced"]
    assert after[-1] == str(tmp_path)
