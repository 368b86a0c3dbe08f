"""The I/O package's rules, read from its source: public names only across modules, no import
circle (function-level imports included), and one table that names each format once."""

import ast
from pathlib import Path

import pytest

import histeq_gui
from histeq_gui.core.io import formats

PACKAGE = Path(histeq_gui.__file__).parent
IO = PACKAGE / "core" / "io"


def _name(path):
    """The dotted module name of a file of the package (a package is its __init__.py)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(path): path for path in PACKAGE.rglob("*.py")}
SOURCES = {name: path.read_text(encoding="utf-8") for name, path in MODULES.items()}
IO_MODULES = {name for name, path in MODULES.items() if path.parent == IO}


def _resolve(name, node):
    """The absolute module an ``ast.ImportFrom`` in module ``name`` names."""
    if node.level == 0:
        return node.module
    here = name.split(".")
    package = here if MODULES[name].name == "__init__.py" else here[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(name):
    """``[(module, name or None, line)]``: every import of module ``name``, at any depth.

    ``name`` is what ``from module import name`` takes from ``module``; an
    imported submodule is given as ``(submodule, None)``.
    """
    found = []
    for node in ast.walk(ast.parse(SOURCES[name])):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(name, node)
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.append((sub, None, node.lineno) if sub in MODULES
                             else (module, alias.name, node.lineno))
    return found


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_names_taken(names):
    """``["file:line: module.name", ...]``: private names the modules ``names`` take from others.

    Counted: ``from m import _x``, and ``m._x`` where ``m`` is a module the
    file imported (``import m``, ``from p import m``).
    """
    taken = []
    for name in sorted(names):
        where = MODULES[name].relative_to(PACKAGE.parent)
        bound = {}                                  # local name -> module it stands for
        for module, item, line in _imports(name):
            if item is not None and _private(item) and module != name:
                taken.append(f"{where}:{line}: {module}.{item}")
            if item is None:
                bound[module.rsplit(".", 1)[-1]] = module
        for node in ast.walk(ast.parse(SOURCES[name])):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in bound and _private(node.attr) \
                    and bound[node.value.id] != name:
                taken.append(f"{where}:{node.lineno}: {bound[node.value.id]}.{node.attr}")
    return taken


def import_graph():
    """``{module: {module it imports, ...}}`` over the package's own modules."""
    graph = {}
    for name in MODULES:
        targets = set()
        for module, _, _ in _imports(name):
            if module in MODULES:
                targets.add(module)
        graph[name] = targets - {name}
    return graph


def circles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_io_package_is_read_whole():
    """The rules below look at every format module and follow imports inside functions."""
    assert {"histeq_gui.core.io", "histeq_gui.core.io.npy", "histeq_gui.core.io.tiff",
            "histeq_gui.core.io.images", "histeq_gui.core.io.gif", "histeq_gui.core.io.folders",
            "histeq_gui.core.io.zarr_store", "histeq_gui.core.io.formats"} <= IO_MODULES
    graph = import_graph()
    assert "histeq_gui.core.io.reader" in graph["histeq_gui.core.io.npy"]
    assert "histeq_gui.core.io.formats" in graph["histeq_gui.core.io.load"]
    # export.py imports the io package at the top, stats.py inside a function
    assert "histeq_gui.core.io" in graph["histeq_gui.core.export"]
    assert "histeq_gui.core.io" in graph["histeq_gui.core.stats"]


def test_no_io_module_takes_a_private_name_from_another_module():
    assert private_names_taken(IO_MODULES) == []


def test_the_io_modules_are_in_no_import_circle():
    tangled = [component for component in circles(import_graph())
               if IO_MODULES & set(component)]
    assert tangled == []


def test_the_checks_see_what_they_forbid(monkeypatch):
    """A private name taken, and a circle closed by a function-level import, are both found."""
    npy = "histeq_gui.core.io.npy"
    monkeypatch.setitem(SOURCES, npy, SOURCES[npy] + (
        "\n\ndef _broken():\n"
        "    from .files import _reason\n"
        "    from .load import load_stack\n"
        "    return _reason, load_stack\n"))
    assert any("histeq_gui.core.io.files._reason" in line
               for line in private_names_taken(["histeq_gui.core.io.npy"]))
    assert any("histeq_gui.core.io.npy" in component and "histeq_gui.core.io.load" in component
               for component in circles(import_graph()))


def test_each_extension_and_output_kind_is_declared_once():
    inputs = [(entry.folder, suffix) for entry in formats.INPUTS for suffix in entry.suffixes]
    outputs = [suffix for entry in formats.OUTPUTS for suffix in entry.suffixes]
    kinds = [entry.kind for entry in formats.OUTPUTS]
    assert len(inputs) == len(set(inputs)) and len(outputs) == len(set(outputs))
    assert sorted(kinds) == sorted(set(kinds)) == ["npy", "npz", "png", "png-folder", "tif",
                                                   "zarr"]
    assert [entry for entry in formats.INPUTS if entry.folder and not entry.suffixes] \
        == list(formats.folders.INPUTS)         # one reader for every other folder


@pytest.mark.parametrize("path, folder, module", [
    ("a.npy", False, "npy"), ("a.NPZ", False, "npy"), ("a.tiff", False, "tiff"),
    ("a.jpeg", False, "images"), ("a.gif", False, "images"), ("a.zarr", True, "zarr_store"),
    ("shots", True, "folders"), ("shots.npy", True, "folders")])
def test_a_path_is_read_by_the_module_that_declares_it(path, folder, module):
    assert formats.input_for(path, folder) in getattr(formats, module).INPUTS


def test_what_no_module_declares_is_not_read():
    assert formats.input_for("a.zarr", False) is None       # a Zarr array is a folder
    assert formats.input_for("notes.txt", False) is None
