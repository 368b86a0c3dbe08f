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
"""

from ._version import __version__
from .core.equalize import SCOPES, Histogram, equalize, histogram
from .core.errors import Cancelled, StackError
from .core.io import load_stack, save_stack
from .core.methods import METHODS

__all__ = ["__version__", "equalize", "histogram", "Histogram", "load_stack", "save_stack",
           "METHODS", "SCOPES", "StackError", "Cancelled"]
