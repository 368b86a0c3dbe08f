"""Sphinx configuration of the histeq-gui documentation.

Build it with ``.ci/docs`` (a fresh environment, warnings as errors) or, in
an environment with the ``docs`` extra::

    sphinx-build -W -n --keep-going docs docs/_build/html

The generated parts (the methods, the command-line usage, the keys and the
code layout) are made at build time by ``_ext/histeq_docs.py`` from the
registry, argparse, the key bindings and the package itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))        # the checkout's package, also without installing
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import histeq_gui  # noqa: E402

project = "histeq-gui"
author = "the histeq-gui authors"
copyright = "the histeq-gui authors, MIT licence"
release = version = histeq_gui.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "histeq_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "substitution"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"histeq-gui {release}"
html_static_path = []

# Every cross-reference must resolve: a page or a docstring naming a function
# that does not exist fails the build (-n -W).  Names outside this package
# (Python, NumPy, Qt, Dask) are not documented here and are not links.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(builtins|numpy|np|pathlib|os|io|typing|collections|concurrent|"
               r"contextlib|dataclasses|argparse|enum|types|dask|distributed|zarr|PyQt5|"
               r"pyqtgraph|PIL|tifffile|threading|queue|datetime)(\..*)?"),
]

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# The modules the API reference describes (docs/api/*.md); the code layout
# page links to them and gives every other module a target of its own.
histeq_api_modules = ["histeq_gui", "histeq_gui.core.io", "histeq_gui.core.export",
                      "histeq_gui.core.fit", "histeq_gui.core.methods",
                      "histeq_gui.core.param_files"]

# Numbers the pages quote from the code, so that they cannot drift from it
# ({{ threshold_dark }} in a page).
from histeq_gui.core import stats_checks  # noqa: E402

myst_substitutions = {f"threshold_{name}": value
                      for name, value in stats_checks.THRESHOLDS.items()}
myst_substitutions.update(cleanvision=stats_checks.CLEANVISION,
                          odd_size_iqr_factor=stats_checks.ODD_SIZE_IQR_FACTOR,
                          phash_size=stats_checks.PHASH_SIZE,
                          blur_max_side=stats_checks.BLUR_MAX_SIDE,
                          low_information_factor=stats_checks.LOW_INFORMATION_NORMALIZING_FACTOR)
smartquotes = False
