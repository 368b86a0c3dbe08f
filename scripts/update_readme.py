#!/usr/bin/env python
"""Rewrite the README's generated block from the code it describes.

The block lives between two markers in ``README.md``; everything else is
left as it is:

- ``<!-- keys-table -->`` ... ``<!-- /keys-table -->``: the viewer's keys,
  ``histeq_gui.gui.bindings.markdown_table()`` of the table the window's
  actions and its F1 help are made from (no Qt is imported).

The methods table, the commands' usage and the code layout are generated in
the documentation site instead (``docs/_ext/histeq_docs.py``), when it is
built.  A README without a block's markers is left without it::

    python scripts/update_readme.py           # rewrite README.md
    python scripts/update_readme.py --check   # exit 1 if README.md is stale

Tests fail while the README is stale.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _keys_table():
    from histeq_gui.gui.bindings import markdown_table

    return markdown_table()


#: marker name -> the function that makes the block's text.
BLOCKS = {"keys-table": _keys_table}


def markers(name):
    """The start and end markers of block ``name``."""
    return f"<!-- {name} -->", f"<!-- /{name} -->"


def updated(text, name, block):
    """``text`` with the part between block ``name``'s markers replaced by ``block``.

    A text without the markers is returned as it is.

    Raises
    ------
    ValueError
        If the markers are repeated, out of order, or one is missing.
    """
    start, end = markers(name)
    if start not in text and end not in text:
        return text
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"README.md needs exactly one {start} ... {end} pair")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{block}{end}{tail}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check that README.md is current (exit 1 if not)")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    new = text
    for name, make in BLOCKS.items():
        new = updated(new, name, make())
    if args.check:
        if new != text:
            print(f"{args.readme} is stale; run scripts/update_readme.py", file=sys.stderr)
            return 1
        return 0
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
        print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
