"""The method registry: every equalization method, declared in one place each.

A method is a :class:`Method` declared in one module of this package
(``numpy_recipe.py``, ``skimage_hist.py``, ...): its name, label, summary,
the reference it reproduces, its parameters, scopes and dtypes, a short
"how it works" text, and the hooks that map pixels (see
:mod:`.base`).  Everything else reads the registry: the engine
(:func:`histeq_gui.core.equalize.equalize`), ``histeq --method``, the
viewer's method control and help, the documentation's methods page
(:func:`markdown_table` and each method's declaration, read when the site is
built) and the tests' parametrisation.

Adding a method: write ``methods/<name>.py`` declaring ``METHOD =
Method(...)`` with its hooks in plain NumPy (``opencv_lut.py`` is a short
example of a table method; its ``table_loop``, the same hook as a loop over
one sample that the engine compiles for 8-bit images, is optional), add it
to ``_BUILT_IN`` below, add its reference to ``tests/core/references.py``
(every test that loops over :data:`METHODS` then covers it); the
documentation's methods page shows it the next time the site is built.

Importing this package imports NumPy only (no numba, no scikit-image), so
``histeq --help`` stays fast; the compiled loops load when a method is first
applied.

Examples
--------
>>> from histeq_gui.core.methods import METHODS, get_method
>>> tuple(METHODS)[:2]
('numpy', 'skimage')
>>> get_method("skimage").ignores_bins("uint8")
True
"""

from __future__ import annotations

from collections.abc import Sequence

from . import (
    clahe,
    imagej_equalize,
    match,
    numpy_recipe,
    opencv_clahe,
    opencv_lut,
    skimage_hist,
    textbook,
)
from .base import (
    SCOPES,
    Cells,
    Curve,
    Method,
    Nodes,
    Param,
    RowLoop,
    StackStream,
    StackView,
    bins_param,
)

__all__ = ["METHODS", "SCOPES", "Method", "Param", "Nodes", "Cells", "Curve", "StackView",
           "StackStream", "RowLoop", "bins_param", "register", "unregister", "registered",
           "get_method", "check_method", "markdown_table"]

_REGISTRY: dict[str, Method] = {}
_BUILT_IN = (numpy_recipe.METHOD, skimage_hist.METHOD, opencv_lut.METHOD,
             imagej_equalize.IMAGEJ, imagej_equalize.IMAGEJ_CLASSIC, textbook.METHOD,
             clahe.METHOD, opencv_clahe.METHOD, match.METHOD)


class _Names(Sequence):
    """The registered names in display order: a live, read-only, tuple-like view.

    It behaves as a tuple (indexing, ``in``, iteration, ``len``, equality with
    tuples and lists) and follows :func:`register` / :func:`unregister`, so a
    name imported once (``from histeq_gui.core.methods import METHODS``)
    always lists the current methods.  ``tuple(METHODS)`` takes a snapshot.
    """

    def __getitem__(self, index):
        return tuple(_REGISTRY)[index]

    def __len__(self):
        return len(_REGISTRY)

    def __contains__(self, name):
        return isinstance(name, str) and name in _REGISTRY

    def __iter__(self):
        return iter(tuple(_REGISTRY))

    def __eq__(self, other):
        return isinstance(other, (tuple, list, Sequence)) and tuple(self) == tuple(other)

    __hash__ = None

    def __repr__(self):
        return repr(tuple(_REGISTRY))


#: The registered method names in display order, a live read-only tuple-like view.
METHODS = _Names()


def register(method):
    """Add ``method`` to the registry (after the others); return it.

    Raises
    ------
    ValueError
        If a method of that name is already registered.
    """
    if not isinstance(method, Method):
        raise TypeError(f"register() takes a Method, got {type(method).__name__}")
    if method.name in _REGISTRY:
        raise ValueError(f"a method called {method.name!r} is already registered")
    _REGISTRY[method.name] = method
    return method


def unregister(name):
    """Remove the method called ``name`` from the registry; return it."""
    return _REGISTRY.pop(check_method(name))


def registered():
    """Every registered :class:`Method`, in display order (a tuple)."""
    return tuple(_REGISTRY.values())


def get_method(name):
    """The :class:`~histeq_gui.core.methods.Method` called ``name``, or ``name`` if it is one.

    The one place a method's name becomes the method: the edges that take a
    name (the public functions, ``histeq``, the viewer's settings) call it
    once and pass the :class:`~histeq_gui.core.methods.Method` on.

    Raises
    ------
    ValueError
        One line listing the registered names, for an unknown name.
    """
    if isinstance(name, Method):
        return name
    method = _REGISTRY.get(name) if isinstance(name, str) else None
    if method is None:
        raise ValueError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}")
    return method


def check_method(method):
    """Return ``method`` if it names a registered method, else raise a ValueError."""
    return get_method(method).name


def _dtypes_text(kinds):
    names = {"u": "unsigned", "i": "signed", "f": "float"}
    if set(kinds) == set("uif"):
        return "all"
    return ", ".join(names[k] for k in "uif" if k in kinds)


_BITS = (8, 16, 32, 64)


def _bins_text(method):
    bins = method.param("bins")
    if bins is None:
        return "not used"
    default = bins_param()
    extra = "" if (bins.low, bins.high) == (default.low, default.high) else \
        f" ({_number_range(bins)})"
    # Which integer sizes of each kind use bins (ImageJ: only 32- and 64-bit integers).
    used = {kind: [bits for bits in _BITS if not method.ignores_bins(f"{kind}{bits // 8}")]
            for kind in "ui"}
    floats = not method.ignores_bins("f8")
    if floats and all(len(used[k]) == len(_BITS) for k in "ui"):
        return "always used" + extra
    parts = ["float"] if floats else []
    if used["u"] == used["i"] and used["u"]:
        parts.append(("" if len(used["u"]) == len(_BITS) else
                      "/".join(map(str, used["u"])) + "-bit ") + "integer")
    else:
        for kind, name in (("u", "unsigned"), ("i", "signed")):
            if used[kind]:
                parts.append(name if len(used[kind]) == len(_BITS) else
                             "/".join(map(str, used[kind])) + f"-bit {name}")
    if not parts:
        return "not used"
    return " and ".join(parts) + " images only" + extra


def _number_range(param):
    return param.describe().replace("a whole number from ", "").replace(" to ", "..")


def _cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table():
    """The methods table, from the registry (one row per method, in order).

    Returns
    -------
    str
        A Markdown table (name, what it reproduces, ``bins``, scopes, dtypes,
        other parameters).  Each method's explanation, several paragraphs,
        is its ``how`` (the documentation gives each a section).

    Examples
    --------
    >>> print(markdown_table().splitlines()[0])
    | method | reproduces | `bins` | scopes | dtypes | other parameters |
    """
    lines = ["| method | reproduces | `bins` | scopes | dtypes | other parameters |",
             "| --- | --- | --- | --- | --- | --- |"]
    for method in _REGISTRY.values():
        others = [f"`{p.name}` ({p.describe()}, default {p.describe_default()})"
                  for p in method.params if p.name != "bins"]
        lines.append(f"| `{method.name}` | {_cell(method.reference)} | {_bins_text(method)} "
                     f"| {', '.join(method.scopes)} | {_dtypes_text(method.dtypes)} "
                     f"| {_cell('; '.join(others) or '-')} |")
    return "\n".join(lines) + "\n"


for _method in _BUILT_IN:
    register(_method)
del _method
