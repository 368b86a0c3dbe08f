"""The API and the command line never pull in Qt: proven in a fresh interpreter."""

import subprocess
import sys


def test_core_cli_and_api_import_no_qt():
    code = (
        "import sys, histeq_gui, histeq_gui.core.equalize, histeq_gui.core.export, histeq_gui.cli\n"
        "import numpy as np\n"
        "histeq_gui.equalize(np.zeros((2, 4, 4), np.uint8))\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PyQt5', 'PyQt6', 'PySide2',"
        " 'PySide6', 'pyqtgraph'))\n"
        "print(qt)\n"
        "sys.exit(1 if qt else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "[]"


def test_the_package_and_the_viewer_need_no_napari():
    """``import histeq_gui`` and the viewer's start-up modules never import napari (an extra)."""
    code = (
        "import sys, histeq_gui, histeq_gui.napari, histeq_gui.gui.app\n"
        "import histeq_gui.gui.main_window\n"
        "histeq_gui.equalize\n"
        "found = sorted(m for m in sys.modules if m.split('.')[0] in ('napari', 'npe2', 'qtpy'))\n"
        "print(found)\n"
        "sys.exit(1 if found else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "[]"


def test_the_napari_plugin_takes_qt_from_qtpy_or_pyqtgraph_only():
    """Every module the plugin imports, followed through the package, names no Qt binding.

    napari runs on whichever binding it was installed with; a module that
    imported PyQt5 itself would load a second binding beside it.  Read from
    the sources with ast (no napari needed): the plugin's modules, and every
    ``histeq_gui`` module they reach, import Qt only through ``qtpy`` or
    ``pyqtgraph.Qt``.
    """
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "histeq_gui"
    bindings = ("PyQt5", "PyQt6", "PySide2", "PySide6")

    def module_file(name):
        base = root.parent.joinpath(*name.split("."))
        return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")

    def imports(name, path):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1])
                    module = f"{base}.{node.module}" if node.module else base
                    found.add(module)
                    found |= {f"{module}.{alias.name}" for alias in node.names}
                else:
                    found.add(node.module)
        return found

    seen, todo, offenders = set(), [f"histeq_gui.napari.{p.stem}"
                                    for p in (root / "napari").glob("*.py")], []
    while todo:
        name = todo.pop()
        path = module_file(name)
        if name in seen or not path.exists():
            continue
        seen.add(name)
        for imported in imports(name, path):
            if imported.split(".")[0] in bindings:
                offenders.append(f"{name} imports {imported}")
            elif imported.startswith("histeq_gui."):
                todo.append(imported)
    assert "histeq_gui.gui.plots" in seen and "histeq_gui.gui.param_form" in seen
    assert not offenders, offenders

