"""SIGTERM and SIGINT once the outputs are in place: the run still exits 0 and says what it wrote.

A real ``histeq`` process is paused at a deterministic point of its commit (a step of
:mod:`histeq_gui.core.io.atomic`'s protocol, or just after ``main`` returned), the signal is
sent while it waits there, then it is let go (no sleeps: it waits on its standard input).
Before the last move of a commit the signal still interrupts it, and nothing is written.
"""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from skimage import data

import histeq_gui
from histeq_gui import equalize
from histeq_gui.core.io import read_sidecar

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")

REPO = Path(histeq_gui.__file__).resolve().parent.parent
STACK = np.stack([data.camera()[::8, ::8], data.moon()[::8, ::8],    # real photographs
                  data.coins()[::4, ::4][:64, :64]])

_PAUSED = textwrap.dedent("""
    import sys
    from histeq_gui import cli
    from histeq_gui.core.io import atomic

    point = sys.argv.pop(1)
    seen = []

    def pause(step):                # a step of the commit protocol
        seen.append(step)
        if step == point and seen.count(step) == 1:
            print("paused", flush=True)
            sys.stdin.readline()
    atomic._step = pause
    code = cli.main()               # as the command runs it: sys.argv
    if point == "returned":
        print("paused", flush=True)
        sys.stdin.readline()
    sys.exit(code)
""")


def _paused_run(tmp_path, point, signum, *args):
    """Run histeq paused at ``point``, send ``signum`` there, let it go: (code, out, err)."""
    np.save(tmp_path / "in.npy", STACK)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-c", _PAUSED, point,
                                str(tmp_path / "in.npy"), *map(str, args)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        for line in process.stdout:
            if line == "paused\n":
                break
            lines.append(line)
        else:
            raise AssertionError(f"never paused at {point}: {process.communicate(timeout=60)}")
        process.send_signal(signum)
        out, err = process.communicate("go\n", timeout=60)
    finally:
        process.kill()
        process.wait()
    return process.returncode, "".join(lines) + out, err


def _assert_exported(tmp_path):
    out = tmp_path / "out.npy"
    np.testing.assert_array_equal(np.load(out), equalize(STACK, dtype="same"))
    assert read_sidecar(out)["output"] == "out.npy"


@pytest.mark.parametrize("point, signum", [("moved 1", signal.SIGTERM), ("synced", signal.SIGINT),
                                           ("finished", signal.SIGTERM),
                                           ("returned", signal.SIGINT),
                                           ("returned", signal.SIGTERM)])
def test_a_signal_once_the_output_is_in_place_exits_0(tmp_path, point, signum):
    code, out, err = _paused_run(tmp_path, point, signum, "-o", tmp_path / "out.npy")
    assert (code, err) == (0, "")
    assert out == (f"wrote {tmp_path / 'out.npy'}: shape (3, 64, 64), uint8; sidecar "
                   f"{tmp_path / 'out.npy.json'}\n")
    _assert_exported(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["in.npy", "out.npy", "out.npy.json"]


@pytest.mark.parametrize("signum, code, word", [(signal.SIGTERM, 143, "terminated"),
                                                (signal.SIGINT, 130, "interrupted")])
def test_a_signal_before_the_last_move_still_interrupts_and_writes_nothing(tmp_path, signum,
                                                                           code, word):
    """Between the output's move and its sidecar's, the pair is not complete: undone."""
    result = _paused_run(tmp_path, "moved 0", signum, "-o", tmp_path / "out.npy")
    assert result == (code, "", f"histeq: {word}\n")
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


def test_a_signal_after_the_export_but_before_the_statistics_still_terminates(tmp_path):
    """Every output counts: the export is complete, the statistics are not written."""
    code, out, err = _paused_run(tmp_path, "finished", signal.SIGTERM, "-o",
                                 tmp_path / "out.npy", "--stats", tmp_path / "s.csv")
    assert (code, out, err) == (143, "", "histeq: terminated\n")
    _assert_exported(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["in.npy", "out.npy", "out.npy.json"]


def test_a_signal_once_the_statistics_are_in_place_exits_0(tmp_path):
    code, out, err = _paused_run(tmp_path, "returned", signal.SIGTERM, "--stats",
                                 tmp_path / "s.csv")
    assert (code, err) == (0, "")
    assert out.startswith(f"wrote {tmp_path / 's.csv'}: statistics of 3 images")
    assert sorted(os.listdir(tmp_path)) == ["in.npy", "s.csv", "s.csv.json"]
