#!/usr/bin/env python
"""Rewrite the README's methods table from the method registry.

The table lives between the markers ``<!-- methods-table -->`` and
``<!-- /methods-table -->`` in ``README.md``; everything else is left as it
is.  ``histeq_gui.core.methods.markdown_table()`` makes it, so a newly
registered method appears after one run::

    python scripts/update_readme_methods.py           # rewrite README.md
    python scripts/update_readme_methods.py --check   # exit 1 if README.md is stale

A test (``tests/core/test_methods.py``) fails while the README is stale.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from histeq_gui.core.methods import markdown_table  # noqa: E402

START, END = "<!-- methods-table -->", "<!-- /methods-table -->"


def updated(text, table):
    """``text`` with the part between the markers replaced by ``table``.

    Raises
    ------
    ValueError
        If the markers are missing, repeated or out of order.
    """
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"README.md needs exactly one {START} ... {END} pair")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{table}{END}{tail}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check that README.md is current (exit 1 if not)")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    new = updated(text, markdown_table())
    if args.check:
        if new != text:
            print(f"{args.readme} is stale; run scripts/update_readme_methods.py",
                  file=sys.stderr)
            return 1
        return 0
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
        print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
