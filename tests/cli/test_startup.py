"""Start-up of the package and the ``histeq`` command, in fresh interpreters.

``histeq --help`` and ``--version`` import no compiler, no scikit-image and no Qt; the package
imports its heavy parts on first use; the numba cache falls back to a private temporary
folder when neither the package nor the home folder can hold it; Ctrl+C while the heavy
modules are being imported is one line and exit 130.
"""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import histeq_gui

REPO = Path(histeq_gui.__file__).resolve().parent.parent
HEAVY = ("numba", "skimage", "PyQt5", "PyQt6", "PySide2", "PySide6", "pyqtgraph", "tifffile",
         "imageio", "PIL")


def _python(code, *args, env=None, pythonpath=REPO, cwd=None):
    environment = dict(os.environ if env is None else env)
    environment["PYTHONPATH"] = str(pythonpath) + os.pathsep + os.environ.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                          capture_output=True, text=True, env=environment, timeout=300, cwd=cwd)


_HEAVY_LOADED = f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))"


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_import_nothing_heavy(option):
    result = _python(f"""
        import sys
        from histeq_gui.cli import main
        try:
            main([{option!r}])
        except SystemExit as exc:
            code = exc.code
        {_HEAVY_LOADED}
        print("heavy:", heavy, "code:", code, file=sys.stderr)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "heavy: [] code: 0"
    assert ("usage: histeq" in result.stdout) if option == "--help" else \
        result.stdout == f"histeq {histeq_gui.__version__}\n"


def test_help_lists_the_core_choices():
    from histeq_gui.core.equalize import SCOPES
    from histeq_gui.core.export import OUTPUT_DTYPES
    from histeq_gui.core.methods import METHODS

    result = _python("from histeq_gui.cli import main; main(['--help'])")
    text = " ".join(result.stdout.split())
    for names in (METHODS, SCOPES, OUTPUT_DTYPES):
        assert "{" + ",".join(names) + "}" in text


def test_front_end_names_are_the_cores():
    """The names --help offers without importing the compiler are the core's own."""
    from histeq_gui.core import choices, equalize, methods
    from histeq_gui.core.export import OUTPUT_DTYPES

    assert equalize.SCOPES is methods.SCOPES
    assert choices.OUTPUT_DTYPES is OUTPUT_DTYPES


def test_the_package_imports_its_heavy_parts_on_first_use():
    result = _python(f"""
        import sys
        import histeq_gui
        {_HEAVY_LOADED}
        print("after import:", heavy)
        names = sorted(histeq_gui.__all__)
        assert set(names) <= set(dir(histeq_gui)), names
        from histeq_gui import equalize, load_stack, StackError, METHODS, SCOPES
        import numpy as np
        print(equalize(np.arange(16, dtype=np.uint8).reshape(4, 4), bins=4).max())
        try:
            histeq_gui.no_such_name
        except AttributeError as exc:
            print("AttributeError:", exc)
        ns = {{}}
        exec("from histeq_gui import *", ns)
        print(sorted(set(ns) & set(names)) == names)
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "after import: []"
    assert lines[1] == "1.0"
    assert lines[2] == "AttributeError: module 'histeq_gui' has no attribute 'no_such_name'"
    assert lines[3] == "True"


def _unwritable_copy(tmp_path):
    """A copy of the package where numba can write neither beside the code nor in HOME.

    The tests run as root, for whom permission bits deny nothing: the ``__pycache__``
    folders are regular files instead (so they cannot be created), and HOME is a file.
    """
    copy = tmp_path / "site"
    shutil.copytree(REPO / "histeq_gui", copy / "histeq_gui",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for folder in [copy / "histeq_gui", *(p for p in (copy / "histeq_gui").rglob("*")
                                           if p.is_dir())]:
        (folder / "__pycache__").write_text("not a folder")
    (tmp_path / "home").write_text("not a folder")
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(tmp_path / "home"), TMPDIR=str(tmp_path / "tmp"),
               PYTHONDONTWRITEBYTECODE="1")
    (tmp_path / "tmp").mkdir()
    return copy, env


def test_no_writable_numba_cache_falls_back_to_a_private_temp_folder(tmp_path):
    copy, env = _unwritable_copy(tmp_path)
    np.save(tmp_path / "in.npy", np.arange(2 * 16, dtype=np.uint8).reshape(2, 4, 4))
    result = _python("""
        import sys
        from histeq_gui.cli import main
        sys.exit(main(sys.argv[1:]))
    """, tmp_path / "in.npy", "-o", tmp_path / "out.npy", env=env, pythonpath=copy,
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith(f"wrote {tmp_path / 'out.npy'}")
    caches = list((tmp_path / "tmp").iterdir())
    assert [p.name for p in caches] == [f"histeq-gui-numba-{os.getuid()}"]
    assert caches[0].stat().st_mode & 0o777 == 0o700
    assert any(p.suffix == ".nbi" for p in caches[0].rglob("*"))     # numba's cache index


def test_numba_cache_beside_the_code_is_left_alone(tmp_path):
    """Where numba can cache as usual, NUMBA_CACHE_DIR stays unset."""
    result = _python("""
        import os, histeq_gui
        print(os.environ.get("NUMBA_CACHE_DIR"))
    """, env={k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "None\n"


def test_ctrl_c_while_importing_the_compiler_is_one_line(tmp_path):
    """The console script does ``from histeq_gui.cli import main; sys.exit(main())``."""
    np.save(tmp_path / "in.npy", np.zeros((2, 4, 4), np.uint8))
    result = _python("""
        import sys

        class Interrupt:            # Ctrl+C arriving while numba is being imported
            def find_spec(self, name, path=None, target=None):
                if name == "numba":
                    raise KeyboardInterrupt
        sys.meta_path.insert(0, Interrupt())
        from histeq_gui.cli import main
        sys.exit(main())
    """, tmp_path / "in.npy", "-o", tmp_path / "out.npy")
    assert (result.returncode, result.stdout, result.stderr) == (130, "", "histeq: interrupted\n")
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


def test_the_public_names_are_the_core_functions():
    """Each lazily exported name is the very object of the module that defines it."""
    from histeq_gui.core import equalize, errors, export, fit, io, methods, stats, stats_csv, worked

    expected = {"equalize": equalize.equalize, "histogram": equalize.histogram,
                "Histogram": equalize.Histogram, "SCOPES": equalize.SCOPES,
                "METHODS": methods.METHODS, "load_stack": io.load_stack,
                "save_stack": io.save_stack, "StackError": errors.StackError,
                "Cancelled": errors.Cancelled, "worked_table": worked.worked_table,
                "image_stats": stats.image_stats, "robust_z": stats.robust_z,
                "outliers": stats.outliers, "stats_to_csv": stats_csv.stats_to_csv,
                "fit": fit.fit, "open_reader": io.open_reader,
                "use_executor": equalize.use_executor, "export": export.export,
                "ExportSettings": export.ExportSettings, "get_method": methods.get_method}
    assert set(histeq_gui.__all__) == set(expected) | {"__version__"}
    for name, value in expected.items():
        assert getattr(histeq_gui, name) is value, name
