"""histeq-gui: look at, teach and export histogram equalization of image stacks.

The public API is free of Qt::

    >>> import numpy as np
    >>> from histeq_gui import equalize
    >>> stack = np.random.default_rng(0).integers(0, 256, (4, 1, 96, 96), dtype=np.uint8)
    >>> equalize(stack, method="numpy", bins=256).shape
    (4, 1, 96, 96)

``equalize`` and ``histogram`` run every registered method (``METHODS``)
over whole stacks; ``fit`` fits the one histogram of a stack too large for
memory from chunks of it (``open_reader`` reads any input chunk by chunk) and
its ``apply`` maps each chunk; ``load_stack`` and ``save_stack`` read and
write the formats the viewer and the ``histeq`` command use;
``export`` writes a whole input (any size: it streams) to any output with
``ExportSettings``, as ``histeq`` and the viewer do; ``get_method`` gives a
method's declaration (its parameters, reference and formula);
``image_stats`` describes every image (with ``robust_z`` and ``outliers`` to
find the unusual ones, ``stats_to_csv`` to write the table) and
``worked_table`` shows one image's equalization step by step.

Importing the package is cheap: the public names are imported from their
modules on first use (PEP 562), so ``histeq --help`` never loads the
compiler.  Before anything can import numba, :mod:`histeq_gui._numba_cache`
makes sure numba has a folder it may cache in.
"""

from . import _numba_cache
from ._version import __version__

_numba_cache.configure()

# The public API, one list: each name -> the module that defines it.
_LAZY = {
    "equalize": ".core.equalize", "histogram": ".core.equalize", "Histogram": ".core.equalize",
    "SCOPES": ".core.equalize", "use_executor": ".core.equalize",
    "METHODS": ".core.methods", "get_method": ".core.methods",
    "load_stack": ".core.io", "save_stack": ".core.io", "open_reader": ".core.io",
    "export": ".core.export", "ExportSettings": ".core.export",
    "fit": ".core.fit",
    "StackError": ".core.errors", "Cancelled": ".core.errors",
    "worked_table": ".core.worked",
    "image_stats": ".core.stats", "robust_z": ".core.stats", "outliers": ".core.stats",
    "stats_to_csv": ".core.stats_csv",
}

__all__ = ["__version__", *_LAZY]


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
