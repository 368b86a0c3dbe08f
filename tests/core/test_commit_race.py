"""Exports racing to one output: exactly one wins a new output, and a pair is never mixed.

Several ``histeq`` processes export different inputs to the same output.  Each one stops once
its output and sidecar are written under their temporary names (the last step before the
commit) and waits there for the others; then all are released at once, so that every commit
runs at the same moment (a barrier on their standard input: no sleeps).  The folder's commit
lock (:func:`histeq_gui.core.io.atomic.folder_lock`) is tested both ways it can be taken:
``flock`` on the folder, and the lock file used where a folder cannot be locked.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import histeq_gui
from histeq_gui import equalize
from histeq_gui.core.io import atomic, read_sidecar

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock and processes of POSIX")

RACERS = 4
REPO = Path(histeq_gui.__file__).resolve().parent.parent

_RACER = textwrap.dedent("""
    import sys
    from histeq_gui import cli
    from histeq_gui.core.io import atomic, sidecar

    if sys.argv.pop(1) == "lock-file":          # as where a folder cannot be locked itself
        atomic._lock_folder = lambda folder: atomic._lock_file(folder / atomic._LOCK_FILE)
    write_json = sidecar.write_json

    def write_then_wait(*args, **kwargs):       # the pair is written: wait for the others
        write_json(*args, **kwargs)
        print("ready", flush=True)
        sys.stdin.readline()
    sidecar.write_json = write_then_wait
    sys.exit(cli.main(sys.argv[1:]))
""")


def _race(tmp_path, how, *options):
    """Run RACERS exports of in<k>.npy to out.npy, all committing at once: [(code, stderr)]."""
    inputs = []
    for k in range(RACERS):
        stack = np.random.default_rng(k).integers(0, 256, (3, 24, 24)).astype(np.uint8)
        np.save(tmp_path / f"in{k}.npy", stack)
        inputs.append(stack)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    racers = [subprocess.Popen([sys.executable, "-c", _RACER, how, str(tmp_path / f"in{k}.npy"),
                                "-o", str(tmp_path / "out.npy"), "-q", *options],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
              for k in range(RACERS)]
    try:
        for racer in racers:
            assert racer.stdout.readline() == "ready\n", racer.communicate(timeout=60)
        for racer in racers:                    # every pair is written: go, all of them
            racer.stdin.write("go\n")
            racer.stdin.flush()
        results = []
        for racer in racers:
            _, err = racer.communicate(timeout=60)
            results.append((racer.returncode, err))
    finally:
        for racer in racers:
            racer.kill()
            racer.wait()
    return inputs, results


def _winner(tmp_path, inputs):
    """The input whose export the output and its sidecar both are (asserting they agree)."""
    out = tmp_path / "out.npy"
    source = Path(read_sidecar(out)["source"]).name
    k = int(source[len("in"):-len(".npy")])
    np.testing.assert_array_equal(np.load(out), equalize(inputs[k], dtype="same"))
    return k


@pytest.mark.parametrize("how", ["folder", "lock-file"])
def test_of_racing_exports_to_a_new_output_exactly_one_wins(tmp_path, how):
    inputs, results = _race(tmp_path, how)
    codes = [code for code, _ in results]
    assert codes.count(0) == 1, results
    winner = codes.index(0)
    for k, (code, err) in enumerate(results):
        if k != winner:
            assert (code, err) == (1, f"histeq: error: '{tmp_path / 'out.npy'}' exists; pass "
                                      "--overwrite to replace it\n")
    assert results[winner][1] == ""
    assert _winner(tmp_path, inputs) == winner
    assert sorted(os.listdir(tmp_path)) == sorted(
        [f"in{k}.npy" for k in range(RACERS)] + ["out.npy", "out.npy.json"])


def test_racing_exports_with_overwrite_leave_one_whole_pair(tmp_path):
    """Every run may replace the output: all succeed, one after the other, and the pair left is
    one run's output with that run's sidecar."""
    inputs, results = _race(tmp_path, "folder", "--overwrite")
    assert results == [(0, "")] * RACERS
    _winner(tmp_path, inputs)
    assert sorted(os.listdir(tmp_path)) == sorted(
        [f"in{k}.npy" for k in range(RACERS)] + ["out.npy", "out.npy.json"])


_HOLDER = textwrap.dedent("""
    import sys
    from histeq_gui.core.io import atomic

    if sys.argv[2] == "lock-file":
        atomic._lock_folder = lambda folder: atomic._lock_file(folder / atomic._LOCK_FILE)
    with atomic.folder_lock(sys.argv[1]):
        print("held", flush=True)
        sys.stdin.readline()
""")


@pytest.mark.parametrize("how", ["folder", "lock-file"])
def test_a_killed_holder_leaves_no_lock_held(tmp_path, monkeypatch, how):
    """A child holds the folder's lock: it is held (a non-blocking attempt fails) until the child
    is killed with SIGKILL, then free at once; a lock file left by the kill is reused and
    removed by the next holder."""
    import fcntl

    if how == "lock-file":
        monkeypatch.setattr(atomic, "_lock_folder",
                            lambda folder: atomic._lock_file(folder / atomic._LOCK_FILE))
    child = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path), how],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert child.stdout.readline() == "held\n"
        path = tmp_path if how == "folder" else tmp_path / atomic._LOCK_FILE
        fd = os.open(path, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            child.kill()
            child.wait()
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)      # the kernel released it
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        child.kill()
        child.wait()
    assert os.listdir(tmp_path) == ([] if how == "folder" else [atomic._LOCK_FILE])
    with atomic.folder_lock(tmp_path):
        pass
    assert os.listdir(tmp_path) == []
