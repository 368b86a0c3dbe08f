"""The Dask engine: the same bytes as the default engine, on a real dask.distributed cluster."""

import builtins
import os
import sys

import numpy as np
import pytest
from references import sample_stack

from histeq_gui import cli
from histeq_gui.core import dask_engine, fit
from histeq_gui.core.errors import StackError
from histeq_gui.core.export import ExportSettings, export, export_steps
from histeq_gui.core.io import load_stack, open_reader, read_sidecar, save_stack
from histeq_gui.core.methods import METHODS, get_method

distributed = pytest.importorskip("distributed")
RNG = np.random.default_rng(21)
# No dashboard; the scheduler's small HTTP server (health, metrics) on 127.0.0.1, any free port
_HTTP_LOCAL = {"dashboard_address": "127.0.0.1:0"}


@pytest.fixture(scope="module")
def cluster():
    """A real scheduler and worker talking TCP on 127.0.0.1 (in this process, no dashboard)."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp://", host="127.0.0.1", dashboard_address=None,
                                  scheduler_kwargs=_HTTP_LOCAL) as local:
        yield local.scheduler_address


def _pair(tmp_path, images, name, settings, **dask):
    (tmp_path / "local").mkdir(exist_ok=True)
    (tmp_path / "dask").mkdir(exist_ok=True)
    a = export(images, tmp_path / "local" / name, settings)
    b = export(images, tmp_path / "dask" / name, settings, engine="dask", **dask)
    return a, b


def _colour():
    return RNG.integers(0, 256, (9, 20, 24, 3)).astype(np.uint8)


def _floats():
    stack = RNG.random((11, 1, 20, 24)).astype(np.float32)
    stack[2, 0, :3, :3] = np.nan
    return stack


@pytest.mark.parametrize("method, scope", [(m, s) for m in METHODS for s in get_method(m).scopes])
@pytest.mark.parametrize("data", ["faces", "colour", "float32-nan", "int64-wide"])
def test_the_distributed_engine_writes_the_default_engines_bytes(tmp_path, cluster, method,
                                                                 scope, data):
    from histeq_gui.core.methods import get_method

    if scope not in get_method(method).scopes:
        pytest.skip(f"{method} has no {scope!r} scope")
    images = {"faces": lambda: sample_stack()[:30], "colour": _colour, "float32-nan": _floats,
              "int64-wide": lambda: RNG.integers(-2 ** 40, 2 ** 40, (6, 10, 12))}[data]()
    settings = ExportSettings(method=method, scope=scope, bins=90,
                              dtype="float64" if data == "int64-wide" else "same")
    a, b = _pair(tmp_path, images, "out.tif", settings, scheduler=cluster)
    assert a.read_bytes() == b.read_bytes()
    assert read_sidecar(b)["engine"] == "dask" and read_sidecar(a)["engine"] == "local"


@pytest.mark.parametrize("how", ["npy", "tif", "npz", "folder"])
@pytest.mark.parametrize("scope", ["image", "stack"])
def test_workers_read_the_input_file_themselves(tmp_path, cluster, how, scope):
    stack = sample_stack()[:24]
    path = tmp_path / {"npy": "in.npy", "tif": "in.tif", "npz": "in.npz", "folder": "in"}[how]
    save_stack(path, stack[:, 0] if how == "folder" else stack)
    settings = ExportSettings(scope=scope, method="skimage")
    with open_reader(path) as reader:
        assert dask_engine._source(reader)[0] == "file"
        steps = export_steps(reader, tmp_path / "b.npy", settings, engine="dask",
                             scheduler=cluster, chunk_images=5)
        for _ in steps:
            pass
    export(load_stack(path), tmp_path / "a.npy", settings)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()


@pytest.mark.parametrize("scope", ["image", "stack"])
def test_dasks_local_scheduler_without_an_address(tmp_path, scope):
    a, b = _pair(tmp_path, sample_stack()[:20], "frames", ExportSettings(scope=scope, bins=40))
    assert sorted(os.listdir(a)) == sorted(os.listdir(b))
    for name in os.listdir(a):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_a_memory_map_is_read_by_the_workers_from_its_file(tmp_path, cluster):
    np.save(tmp_path / "in.npy", sample_stack()[:10])
    mapped = load_stack(tmp_path / "in.npy")
    assert dask_engine._source(mapped)[0] == "file"
    assert dask_engine._source(np.array(mapped))[0] == "array"
    a, b = _pair(tmp_path, mapped, "o.npy", ExportSettings(scope="stack"), scheduler=cluster)
    assert a.read_bytes() == b.read_bytes()


def test_the_cli_with_a_scheduler(tmp_path, cluster, capsys):
    np.save(tmp_path / "in.npy", sample_stack()[:16])
    args = [str(tmp_path / "in.npy"), "--scope", "stack", "--method", "skimage", "-q"]
    assert cli.main(args + ["-o", str(tmp_path / "a.npy")]) == 0
    assert cli.main(args + ["-o", str(tmp_path / "b.npy"), "--engine", "dask",
                            "--scheduler", cluster]) == 0
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    assert capsys.readouterr().err == ""


def test_a_scheduler_without_the_dask_engine_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["in.npy", "-o", str(tmp_path / "o.npy"), "--scheduler", "tcp://x:1"])
    assert excinfo.value.code == 2
    assert "--scheduler needs --engine dask" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_one_line(tmp_path, monkeypatch, capsys):
    import socket

    monkeypatch.setattr(dask_engine, "DASK_CONNECT_TIMEOUT", 2.0)
    with socket.socket() as probe:             # a free port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    np.save(tmp_path / "in.npy", np.zeros((2, 8, 8), np.uint8))
    code = cli.main([str(tmp_path / "in.npy"), "-o", str(tmp_path / "o.npy"), "--engine", "dask",
                     "--scheduler", f"tcp://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(f"histeq: error: cannot reach the Dask scheduler at "
                          f"'tcp://127.0.0.1:{port}'")
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


def test_an_input_changed_during_a_dask_export_is_refused(tmp_path, cluster):
    np.save(tmp_path / "in.npy", sample_stack()[:10])
    with open_reader(tmp_path / "in.npy") as reader:
        steps = export_steps(reader, tmp_path / "o.npy", ExportSettings(scope="stack"),
                             engine="dask", scheduler=cluster)
        np.save(tmp_path / "in.npy", sample_stack()[10:20])       # replaced meanwhile
        with pytest.raises(StackError, match="the file changed during the export"):
            for _ in steps:
                pass
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


def test_tasks_run_the_core_single_threaded(monkeypatch):
    names = []
    chunk_range = fit.chunk_range

    from histeq_gui.core.engine import pool

    def spy(*args, **kwargs):
        names.append(pool.chosen_executor())           # the engine's pool choice in the task
        return chunk_range(*args, **kwargs)
    monkeypatch.setattr(fit, "chunk_range", spy)
    from histeq_gui.core.stack import guess_layout

    dask_engine.range_parts(sample_stack()[:3], guess_layout((3, 1, 96, 96)))
    assert names and all(choice is None for choice in names)    # use_executor(None): no pool


def _hide(monkeypatch, *packages):
    for name in list(sys.modules):
        if name.split(".")[0] in packages:
            monkeypatch.delitem(sys.modules, name)
    real_import = builtins.__import__

    def hidden(name, *args, **kwargs):
        if name.split(".")[0] in packages:
            raise ModuleNotFoundError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", hidden)


def test_without_dask_the_engine_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "in.npy", np.zeros((2, 8, 8), np.uint8))
    _hide(monkeypatch, "dask", "distributed")
    with pytest.raises(StackError, match=r'needs the dask package; install it with pip install '
                                         r'"histeq-gui\[dask\]"'):
        export_steps(np.zeros((2, 8, 8), np.uint8), tmp_path / "o.npy", ExportSettings(),
                     engine="dask")
    assert cli.main([str(tmp_path / "in.npy"), "-o", str(tmp_path / "o.npy"),
                     "--engine", "dask"]) == 1
    assert capsys.readouterr().err == ('histeq: error: the dask engine needs the dask package; '
                                       'install it with pip install "histeq-gui[dask]"\n')
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


def test_without_distributed_a_scheduler_says_how_to_install_it(monkeypatch):
    _hide(monkeypatch, "distributed")
    with pytest.raises(StackError, match=r"a scheduler address needs the distributed package"):
        dask_engine.DaskEngine("tcp://127.0.0.1:1")


@pytest.mark.parametrize("how", ["tif"])
def test_a_worker_in_another_process_gives_the_same_bytes(tmp_path, how):
    """Tasks, histograms and pieces pickled to a separate worker process and back."""
    stack = sample_stack()[:40]
    path = tmp_path / f"in.{how}"
    save_stack(path, stack)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  scheduler_kwargs=_HTTP_LOCAL) as local:
        # match: the whole stack's references (resolved here) pickled to the worker
        for scope, method in (("image", "numpy"), ("stack", "numpy"), ("image", "match")):
            settings = ExportSettings(scope=scope, method=method, bins=33)
            with open_reader(path) as reader:
                b = export(reader, tmp_path / f"b-{scope}-{method}.npz", settings,
                           engine="dask", scheduler=local.scheduler_address)
            a = export(stack, tmp_path / f"a-{scope}-{method}.npz", settings)
            np.testing.assert_array_equal(load_stack(a), load_stack(b))
            assert np.load(a)["images"].tobytes() == np.load(b)["images"].tobytes()


@pytest.mark.parametrize("scope", ["image", "stack"])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_method_parameters_reach_the_workers(tmp_path, cluster, scope, dtype):
    """A registered method's parameters travel with the graph: same bytes as the default engine,
    different from the defaults'."""
    from throwaway_methods import registered

    images = sample_stack()[:12].astype(dtype)
    given = {"power": 2.0, "floor_level": 10, "curve": "down"}
    with registered():
        settings = ExportSettings(method="power-test", scope=scope, bins=30, params=given)
        a, b = _pair(tmp_path, images, "out.npy", settings, scheduler=cluster)
        plain = export(images, tmp_path / "plain.npy",
                       ExportSettings(method="power-test", scope=scope, bins=30))
    assert a.read_bytes() == b.read_bytes() != plain.read_bytes()
    assert read_sidecar(b)["params"] == {"bins": 30, **given}
