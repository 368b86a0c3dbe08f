"""The documentation: the README's links, and the parts the site generates from the code.

The generated parts are checked through the functions the Sphinx extension
(``docs/_ext/histeq_docs.py``) calls, without building the site: ``.ci/docs``
builds it (warnings as errors) and runs these tests in its environment; without
Sphinx installed the generator tests are skipped.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from histeq_gui.core.methods import METHODS, get_method

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _slug(heading):
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).strip().replace(" ", "-")


def test_every_link_of_the_readme_reaches_a_file_and_heading():
    links = re.findall(r"\]\(((?!https?:)[^)#]+)(?:#([^)]+))?\)", README)
    assert len(links) > 10
    for target, anchor in links:
        path = ROOT / target
        assert path.exists(), f"README links to {target}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)
            assert anchor in {_slug(h) for h in headings}, f"no heading #{anchor} in {target}"


def test_the_readme_keeps_no_hand_copy_of_a_generated_table():
    # The methods table lives in the documentation, made from the registry at build time.
    assert "| method | reproduces |" not in README
    assert "methods-table" not in README
    assert len(README.splitlines()) <= 160


def test_the_readme_commands_are_the_ones_ci_runs():
    for marker in ("<!-- install-and-run -->", "<!-- install-and-test -->"):
        assert README.count(marker) == 1
    assert ".venv/bin/python -m pytest" in README.split("<!-- install-and-test -->")[1]


def test_the_readme_script_rewrites_only_between_the_markers(tmp_path):
    from histeq_gui.gui.bindings import markdown_table

    readme = tmp_path / "README.md"
    readme.write_text("# x\n\nbefore\n<!-- keys-table -->\nold\n<!-- /keys-table -->\n"
                      "after\n", encoding="utf-8")
    script = ROOT / "scripts" / "update_readme.py"
    check = [sys.executable, str(script), "--readme", str(readme), "--check"]
    assert subprocess.run(check, capture_output=True).returncode == 1
    assert subprocess.run(check[:-1], capture_output=True).returncode == 0
    text = readme.read_text(encoding="utf-8")
    assert text == ("# x\n\nbefore\n<!-- keys-table -->\n" + markdown_table() +
                    "<!-- /keys-table -->\nafter\n")
    assert subprocess.run(check, capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def histeq_docs():
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        import histeq_docs
    finally:
        sys.path.remove(str(ROOT / "docs" / "_ext"))
    return histeq_docs


def test_the_methods_page_follows_the_registry(histeq_docs):
    from throwaway_methods import POWER, registered

    with registered(POWER):
        table = histeq_docs.methods_table()
        sections = histeq_docs.methods_sections()
    rows = [line for line in table.splitlines()[2:] if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == [*METHODS, POWER.name]
    for name in (*METHODS, POWER.name):
        method = POWER if name == POWER.name else get_method(name)
        section = sections.split(f"({name}-method)=")[1].split("-method)=")[0]
        assert f"### `{name}`: {method.label}" in section
        for param in method.params:
            assert f"- `{param.name}`:" in section
        if method.formula:
            assert method.formula in section
    assert POWER.name not in histeq_docs.methods_table()      # gone once unregistered


def test_the_layout_lists_every_module_with_its_docstring(histeq_docs):
    text = histeq_docs.layout(documented={"histeq_gui.core.io"})
    files = sorted(p for p in (ROOT / "histeq_gui").rglob("*.py"))
    assert len(files) > 50
    for path in files:
        shown = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py":
            shown = shown[: -len("__init__.py")]
        assert f"`{shown} <" in text, f"{shown} missing from the layout"
    assert "```{py:module} histeq_gui.core.io\n" not in text      # the API page's target
    assert "```{py:module} histeq_gui.core.stats\n" in text
    assert "(no docstring)" not in text
    # A docstring's roles and double backquotes become code spans.
    assert histeq_docs._rst_inline(":func:`~a.b.c` and ``x_y``") == "`c` and `x_y`"
