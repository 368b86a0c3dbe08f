"""Sphinx extension: the parts of the documentation made from the code at build time.

Directives (used from the Markdown pages as ```` ```{histeq-methods} ````):

``histeq-methods-table``
    The overview table of the method registry
    (:func:`histeq_gui.core.methods.markdown_table`).
``histeq-methods``
    One section per registered method: label, summary, what it reproduces,
    its formula, how it works, its source and its parameters.
``histeq-usage``
    The ``--help`` text of a command, from its argparse parser
    (``histeq_gui.cli.build_parser`` or ``histeq_gui.gui.app.build_parser``).
``histeq-keys``
    The viewer's keys, from its key bindings
    (``histeq_gui.gui.bindings.markdown_table``).
``histeq-layout``
    The code layout: every module of the package with the first line of its
    docstring, read from the files (nothing is imported, so modules that need
    Qt or napari are listed too).

It also resolves a reference to a name that is documented under another name
(``histeq_gui.core.io.open_reader`` is documented as
``histeq_gui.open_reader``): the two are the same Python object, so the
reference goes to the one description.  A reference to anything that is not
documented stays unresolved and fails the nitpicky build.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import os
import re
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import make_refnode

PACKAGE = "histeq_gui"
ROOT = Path(__file__).resolve().parents[2]
USAGE_WIDTH = "100"


class _Markdown(SphinxDirective):
    """A directive whose output is Markdown made at build time, parsed as the page is."""

    def markdown(self):
        raise NotImplementedError

    def run(self):
        return self.parse_text_to_nodes(self.markdown(), allow_section_headings=True)


def _methods():
    from histeq_gui.core.methods import METHODS, get_method

    return [get_method(name) for name in METHODS]


def methods_table():
    """The registry's overview table (Markdown): one row per method."""
    from histeq_gui.core.methods import markdown_table

    table = markdown_table().split("\n\n")[0]
    if not table.startswith("| method |"):
        raise ValueError("markdown_table() no longer starts with its table; "
                         "update docs/_ext/histeq_docs.py")
    return table + "\n"


class MethodsTable(_Markdown):
    """The registry's overview table: one row per method."""

    def markdown(self):
        return methods_table()


def _inline(text):
    """Plain text as Markdown: asterisks and underscores stay literal, code spans untouched."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(part if part.startswith("`") else
                   part.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")
                   for part in parts)


def _rst_inline(text):
    """A docstring's first lines as Markdown: roles and double backquotes become code spans."""
    def code(match):
        target = match.group(2)
        return f"`{target.split('.')[-1] if match.group(1) else target}`"

    text = re.sub(r":[\w:]+:`(~?)([^`]*)`", code, text)
    return _inline(text.replace("``", "`"))


def methods_sections():
    """A section (Markdown) per registered method, from its declaration."""
    parts = []
    for method in _methods():
        parts.append(f"({method.name}-method)=\n### `{method.name}`: {method.label}\n")
        parts.append(f"{_inline(method.summary)}\n")
        parts.append(f"**Reproduces:** {_inline(method.reference)}.\n")
        if method.formula:
            # The formula is HTML (entities, <sub>): the viewer's help shows it as is.
            parts.append("```{raw} html\n<p class=\"histeq-formula\">" + method.formula +
                         "</p>\n```\n")
        # Markdown already (the method module's docstring, how_from_docstring).
        parts.append(f"**How it works:**\n\n{method.how}\n")
        parts.append(f"**Source:** {_inline(method.source)}.\n")
        scopes = ", ".join(f"`{s}`" for s in method.scopes)
        rows = [f"- scopes: {scopes}"]
        for param in method.params:
            rows.append(f"- `{param.name}`: {_inline(param.help)} "
                        f"({_inline(param.describe())}, default "
                        f"{_inline(param.describe_default())})")
        parts.append("\n".join(rows) + "\n")
    return "\n".join(parts)


class Methods(_Markdown):
    """A section per method, from its declaration."""

    def markdown(self):
        return methods_sections()


_PARSERS = {"histeq": "histeq_gui.cli", "histeq-gui": "histeq_gui.gui.app"}


class Usage(SphinxDirective):
    """``PROGRAM --help``, from the program's argparse parser."""

    required_arguments = 1

    def run(self):
        program = self.arguments[0]
        if program not in _PARSERS:
            raise self.error(f"no parser for {program!r}; known: {', '.join(_PARSERS)}")
        parser = importlib.import_module(_PARSERS[program]).build_parser()
        with _environ(COLUMNS=USAGE_WIDTH, NO_COLOR="1"):
            text = parser.format_help()
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


@contextlib.contextmanager
def _environ(**values):
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Keys(_Markdown):
    """The viewer's keys: the table of its key bindings, as F1 shows it."""

    def markdown(self):
        from histeq_gui.gui.bindings import markdown_table

        return markdown_table()


def _first_line(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(root=ROOT / PACKAGE):
    """(dotted name, file, depth) of every module under ``root``, packages first."""
    found = []

    def walk(folder, depth):
        init = folder / "__init__.py"
        if init.exists():
            found.append((_module_name(init), init, depth))
        for path in sorted(folder.glob("*.py")):
            if path.name != "__init__.py":
                found.append((_module_name(path), path, depth + 1))
        subpackages = (p for p in folder.iterdir() if (p / "__init__.py").exists())
        for sub in sorted(subpackages):
            walk(sub, depth + 1)

    walk(root, 0)
    return found


def layout(documented=()):
    """The code layout (Markdown): a nested list of every module and what it does.

    Each module gets a target for ``{py:mod}`` links, except those in
    ``documented`` (the API reference describes them).
    """
    lines = []
    targets = []
    for name, path, depth in package_modules():
        what = _rst_inline(_first_line(path)) or "*(no docstring)*"
        shown = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py":
            shown = shown[: -len("__init__.py")]
        lines.append(f"{'  ' * depth}- {{py:mod}}`{shown} <{name}>`: {what}")
        if name not in documented:
            targets.append(name)
    modules = "".join(f"```{{py:module}} {name}\n:no-index-entry:\n:no-contents-entry:\n"
                      f"```\n" for name in targets)
    return modules + "\n".join(lines) + "\n"


class Layout(_Markdown):
    """Every module of the package with the first paragraph of its docstring."""

    def markdown(self):
        return layout(set(self.config.histeq_api_modules))


def _attribute_doc(name, value):
    """The ``#:`` comment documenting ``name`` where ``value`` is defined, or ""."""
    from sphinx.pycode import ModuleAnalyzer

    for module_name, path, _ in package_modules():
        if module_name.startswith((f"{PACKAGE}.gui", f"{PACKAGE}.napari")):
            continue        # the viewer and the plugin define no API constant (and need Qt)
        if f"{name} =" not in path.read_text(encoding="utf-8"):
            continue
        module = importlib.import_module(module_name)
        if getattr(module, name, None) is not value:
            continue
        docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
        if ("", name) in docs:
            return "\n".join(docs["", name]).strip()
    return ""


class Constants(SphinxDirective):
    """The public constants of a module (its ``__all__``), their values and ``#:`` comments.

    autodoc describes a module-level constant only where its ``#:`` comment
    stands, so a constant a module imports from another would be left out.
    """

    required_arguments = 1

    def run(self):
        import inspect

        from sphinx.pycode import ModuleAnalyzer

        module = importlib.import_module(self.arguments[0])
        own = ModuleAnalyzer.for_module(module.__name__).find_attr_docs()
        lines = []
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isroutine(value) or inspect.isclass(value) or inspect.ismodule(value):
                continue
            if ("", name) in own:
                continue        # automodule describes it where its comment is
            lines += [f".. py:data:: {name}", f"   :value: {value!r}", ""]
            lines += [f"   {line}" for line in _attribute_doc(name, value).splitlines()]
            lines.append("")
        from docutils.statemachine import StringList
        from sphinx.util.parsing import nested_parse_to_nodes

        return nested_parse_to_nodes(self.state, StringList(lines, source=self.arguments[0]),
                                     offset=self.content_offset)


def _import(dotted):
    """The object at ``dotted`` (a module or an attribute path), or None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _documented_objects(env):
    """id(object) -> documented name, for every Python object the pages describe."""
    cache = getattr(env, "_histeq_documented", None)
    if cache is None:
        cache = {}
        for name, entry in env.get_domain("py").objects.items():
            if entry.aliased or not name.startswith(PACKAGE):
                continue
            obj = _import(name)
            if obj is not None:
                cache.setdefault(id(obj), (name, entry))
        env._histeq_documented = cache
    return cache


def resolve_alias(app, env, node, contnode):
    """Resolve a reference to an object documented under another of its names."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    candidates = [target]
    module, cls = node.get("py:module"), node.get("py:class")
    if module:
        candidates += [f"{module}.{cls}.{target}"] if cls else []
        candidates.append(f"{module}.{target}")
    for candidate in candidates:
        if not candidate.startswith(PACKAGE):
            continue
        obj = _import(candidate)
        if obj is None or isinstance(obj, (str, int, float, bool)):
            continue   # equal constants may be one object: only functions, classes, ...
        found = _documented_objects(env).get(id(obj))
        if found is not None:
            name, entry = found
            return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id,
                                contnode, name)
    return None


def _forget(app, env, docnames):
    env.__dict__.pop("_histeq_documented", None)


def setup(app):
    app.add_config_value("histeq_api_modules", [], "env")
    app.add_directive("histeq-methods-table", MethodsTable)
    app.add_directive("histeq-methods", Methods)
    app.add_directive("histeq-usage", Usage)
    app.add_directive("histeq-keys", Keys)
    app.add_directive("histeq-layout", Layout)
    app.add_directive("histeq-constants", Constants)
    app.connect("missing-reference", resolve_alias)
    app.connect("env-before-read-docs", _forget)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
