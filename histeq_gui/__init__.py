"""histeq-gui: look at, teach and export histogram equalization of image stacks.

The public API is free of Qt::

    >>> import numpy as np
    >>> from histeq_gui import equalize
    >>> stack = np.random.default_rng(0).integers(0, 256, (4, 1, 96, 96), dtype=np.uint8)
    >>> equalize(stack, method="numpy", bins=256).shape
    (4, 1, 96, 96)

``equalize`` and ``histogram`` are the two methods of the Q&A thread the
program starts from, vectorized over whole stacks; ``load_stack`` and
``save_stack`` read and write the formats the viewer and the ``histeq``
command use.

Importing the package is cheap: the public names are imported from their
modules on first use (PEP 562), so ``histeq --help`` never loads the
compiler.  Before anything can import numba, :mod:`histeq_gui._numba_cache`
makes sure numba has a folder it may cache in.
"""

from . import _numba_cache
from ._version import __version__

_numba_cache.configure()

# public name -> module that defines it
_LAZY = {
    "equalize": ".core.equalize", "histogram": ".core.equalize", "Histogram": ".core.equalize",
    "SCOPES": ".core.equalize", "METHODS": ".core.methods",
    "load_stack": ".core.io", "save_stack": ".core.io",
    "StackError": ".core.errors", "Cancelled": ".core.errors",
    "worked_table": ".core.worked",
}

__all__ = ["__version__", "equalize", "histogram", "Histogram", "load_stack", "save_stack",
           "METHODS", "SCOPES", "StackError", "Cancelled", "worked_table"]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value         # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
