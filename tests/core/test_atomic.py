"""Tests of histeq_gui.core.atomic: temporary names, cleaning up after killed runs, and the
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

from histeq_gui.core import atomic, io
from histeq_gui.core.atomic import clean_up
from histeq_gui.core.errors import StackError
from histeq_gui.core.io import load_stack, read_sidecar, save_stack, sidecar_path

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
    temp = atomic._temp_path(tmp_path / name, "tmp")
    assert temp.parent == tmp_path
    stem = name.lstrip(".").rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    assert re.fullmatch(rf"\.{re.escape(stem)}-histeq-tmp-[0-9a-f]{{4}}-{os.getpid()}-"
                        rf"[0-9a-f]{{8}}{re.escape((tmp_path / name).suffix)}", temp.name)
    assert atomic._NAME.fullmatch(temp.name)["pid"] == str(os.getpid())


def test_temporary_names_fit_in_255_bytes(tmp_path):
    long = "é" * 120 + ".npy"                # 244 bytes
    assert len(os.fsencode(long)) == 244
    temp = atomic._temp_path(tmp_path / long, "tmp")
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
