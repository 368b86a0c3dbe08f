"""The Dask engine when the cluster is not what it should be: one line, no hang, no traceback.

- ``--scheduler`` at a service that is not a Dask scheduler (a TCP server that says nothing, one
  that answers garbage, the scheduler's own web server, a worker) gives up after the connect
  timeout with "cannot reach the Dask scheduler at ...";
- a scheduler lost during the export (its process killed) and a worker that dies running a task
  (``KilledWorker``) are "the Dask cluster failed (...)".

Servers are plain sockets in this process; clusters are real ``LocalCluster`` s (in this process
where possible, in a child process for the one that is killed).
"""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from references import sample_stack

import histeq_gui
from histeq_gui import cli
from histeq_gui.core import dask_engine

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

REPO = Path(histeq_gui.__file__).resolve().parent.parent
TIMEOUT = 2.0           # the connect timeout in these tests (the command's is 10 s)
_HTTP_LOCAL = {"dashboard_address": "127.0.0.1:0"}


class _Server:
    """A TCP server on 127.0.0.1 that accepts and then says nothing, or answers garbage."""

    def __init__(self, garbage):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.garbage, self.connections = garbage, []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections.append(connection)
            if self.garbage:
                try:
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi" * 64)
                except OSError:
                    pass

    def close(self):
        self.socket.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def server(request):
    served = _Server(garbage=request.param == "garbage")
    yield f"tcp://127.0.0.1:{served.port}"
    served.close()


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp://", host="127.0.0.1", dashboard_address=None,
                                  scheduler_kwargs=_HTTP_LOCAL) as local:
        yield local


def _input(tmp_path):
    np.save(tmp_path / "in.npy", sample_stack()[:8, 0])
    return tmp_path / "in.npy"


def _export(capsys, tmp_path, address):
    code = cli.main([str(_input(tmp_path)), "-o", str(tmp_path / "out.npy"), "--engine", "dask",
                     "--scheduler", address])
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    return code, err


# --- not a scheduler ------------------------------------------------------------------------

@pytest.mark.parametrize("server, reason", [
    ("silent", f"nothing answered as a Dask scheduler within {TIMEOUT:g} s"),
    ("garbage", "the service there does not speak Dask's protocol")], indirect=["server"])
def test_a_service_that_is_not_a_scheduler_is_one_line(tmp_path, capsys, monkeypatch, server,
                                                       reason):
    monkeypatch.setattr(dask_engine, "DASK_CONNECT_TIMEOUT", TIMEOUT)
    code, err = _export(capsys, tmp_path, server)
    assert code == 1
    assert err == (f"histeq: error: cannot reach the Dask scheduler at '{server}' ({reason}); "
                   "check the address and that the scheduler runs\n")
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


def test_the_schedulers_web_server_is_not_the_scheduler(tmp_path, capsys, monkeypatch, cluster):
    """The dashboard's port (HTTP) answers, but not as Dask does."""
    monkeypatch.setattr(dask_engine, "DASK_CONNECT_TIMEOUT", TIMEOUT)
    port = cluster.scheduler.http_server.port
    code, err = _export(capsys, tmp_path, f"tcp://127.0.0.1:{port}")
    assert code == 1 and err.startswith(f"histeq: error: cannot reach the Dask scheduler at "
                                        f"'tcp://127.0.0.1:{port}' (")
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


def test_a_workers_address_is_not_the_schedulers(tmp_path, capsys, monkeypatch, cluster):
    monkeypatch.setattr(dask_engine, "DASK_CONNECT_TIMEOUT", TIMEOUT)
    worker = next(iter(cluster.scheduler.workers))
    code, err = _export(capsys, tmp_path, worker)
    assert code == 1
    assert err == (f"histeq: error: cannot reach the Dask scheduler at '{worker}' (the service "
                   "there is a Dask Worker, not a scheduler); check the address and that the "
                   "scheduler runs\n")


def test_the_scheduler_itself_answers(cluster):
    assert dask_engine.scheduler_problem(distributed, cluster.scheduler_address, TIMEOUT) is None


_COMMAND = textwrap.dedent("""
    import sys
    from histeq_gui import cli
    from histeq_gui.core import dask_engine

    dask_engine.DASK_CONNECT_TIMEOUT = float(sys.argv.pop(1))
    kill = int(sys.argv.pop(1))             # a process to kill when the equalizing starts
    if kill:
        import os, signal
        update = cli._Progress.update

        def kill_at_equalize(self, stage, done, total):
            if stage == "equalize":
                os.kill(kill, signal.SIGKILL)
            return update(self, stage, done, total)
        cli._Progress.update = kill_at_equalize
    sys.exit(cli.main(sys.argv[1:]))
""")


def _command(tmp_path, address, kill=0):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", _COMMAND, str(TIMEOUT), str(kill),
                           str(_input(tmp_path)), "-o", str(tmp_path / "out.npy"),
                           "--engine", "dask", "--scheduler", address],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("server", ["silent", "garbage"], indirect=True)
def test_the_command_prints_one_line_and_nothing_at_exit(tmp_path, server):
    """No "Exception ignored in Client.__del__" (nor any other traceback) when it exits."""
    result = _command(tmp_path, server)
    assert result.returncode == 1
    assert result.stderr.startswith(f"histeq: error: cannot reach the Dask scheduler at "
                                    f"'{server}'")
    assert result.stderr.count("\n") == 1, result.stderr


# --- a cluster that fails during the export -------------------------------------------------

_CLUSTER = textwrap.dedent("""
    import sys
    import distributed

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp://", host="127.0.0.1", dashboard_address=None,
                                  scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as c:
        print(c.scheduler_address, flush=True)
        sys.stdin.readline()
""")


def test_a_scheduler_lost_during_the_export_is_one_line(tmp_path):
    """The scheduler's process is killed when the equalizing starts (a deterministic point)."""
    child = subprocess.Popen([sys.executable, "-c", _CLUSTER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        address = child.stdout.readline().strip()
        assert address.startswith("tcp://")
        result = _command(tmp_path, address, kill=child.pid)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL          # it was killed by the export's hook
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("histeq: error: the Dask cluster failed (the connection to the "
                             "scheduler was lost); check the scheduler and its workers, then "
                             "export again\n")
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


STARTED, RELEASE = threading.Event(), threading.Event()
_EQUALIZE = dask_engine.equalize_task


def _blocking_equalize(*args, **kwargs):
    """A task that waits until the test has closed its worker (this module: the worker runs in
    this process and finds it by name)."""
    STARTED.set()
    RELEASE.wait(60)
    return _EQUALIZE(*args, **kwargs)


def test_a_worker_dying_during_a_task_is_one_line(tmp_path, capsys, monkeypatch):
    """KilledWorker: the worker running a task goes away (allowed failures: none)."""
    STARTED.clear()
    RELEASE.clear()
    monkeypatch.setattr(dask_engine, "equalize_task", _blocking_equalize)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                         protocol="tcp://", host="127.0.0.1",
                                         dashboard_address=None, scheduler_kwargs=_HTTP_LOCAL)
    try:
        def close_the_worker():
            if STARTED.wait(60):
                worker = next(iter(local.workers.values()))
                local.sync(worker.close, executor_wait=False)
            RELEASE.set()
        closer = threading.Thread(target=close_the_worker, daemon=True)
        closer.start()
        code, err = _export(capsys, tmp_path, local.scheduler_address)
        closer.join(60)
    finally:
        RELEASE.set()
        local.close()
    assert code == 1
    assert err == ("histeq: error: the Dask cluster failed (a worker died while running a task; "
                   "its log says why); check the scheduler and its workers, then export again\n")
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]
