"""Which per-pixel loops run: the compiled ones (numba) or their NumPy twins.

The engine's loops exist twice with the same signatures and the same
results, bit for bit: compiled in :mod:`.kernels` and in plain NumPy in
:mod:`.numpy_kernels`.  The compiled ones are several times faster on whole
stacks but must be compiled first, which after a fresh install takes
seconds per dtype; the NumPy ones are ready at once.  The choice:

``"compiled"``
    Always the compiled loops (compiling them on first use).  The default:
    the API and the ``histeq`` command want the fast loops and may wait.
``"numpy"``
    Always the NumPy loops (for tests and benchmarks).
``"ready"``
    The compiled loops for a dtype once :func:`warm_up` has prepared them
    (:func:`mark_ready`), the NumPy loops until then.  The viewer's choice:
    it shows an image at once and never waits on the compiler, while a
    background thread warms the kernels up.

:func:`use` sets the choice for a block of code (a context variable, which
the engine's thread pool carries into its workers, see :func:`carry`);
:func:`set_default` sets it for the whole process.  Importing this module
does not import numba.
"""

from __future__ import annotations

import contextvars
import threading
from contextlib import contextmanager

import numpy as np

__all__ = ["CHOICES", "use", "set_default", "current", "carry", "kernels_for", "compiled",
           "mark_ready", "is_ready", "ready_dtypes", "forget_ready"]

CHOICES = ("compiled", "numpy", "ready")

_choice = contextvars.ContextVar("histeq_kernels", default=None)
_default = "compiled"
_ready = set()
_lock = threading.Lock()


def _check(choice):
    if choice not in CHOICES:
        raise ValueError(f"unknown kernels {choice!r}; choose one of: {', '.join(CHOICES)}")
    return choice


@contextmanager
def use(choice):
    """Use the ``choice`` kernels ("compiled", "numpy" or "ready") inside this block.

    Examples
    --------
    >>> import numpy as np
    >>> from histeq_gui.core.equalize import equalize
    >>> image = np.arange(64, dtype=np.uint8).reshape(8, 8)
    >>> with use("numpy"):
    ...     plain = equalize(image, "numpy", 16)
    >>> bool(np.array_equal(plain, equalize(image, "numpy", 16)))
    True
    """
    token = _choice.set(_check(choice))
    try:
        yield
    finally:
        _choice.reset(token)


def set_default(choice):
    """Set the choice of every thread that has not chosen with :func:`use`; return the old one."""
    global _default
    old, _default = _default, _check(choice)
    return old


def current():
    """The choice in effect here: the block's (:func:`use`), else the process default."""
    choice = _choice.get()
    return _default if choice is None else choice


def carry(function):
    """``function`` wrapped to run with the caller's choice (for pool threads).

    A thread pool's workers do not see the caller's context variables; the
    engine wraps the work it hands them with this.
    """
    choice = _choice.get()
    if choice is None:
        return function

    def carried(*args, **kwargs):
        token = _choice.set(choice)
        try:
            return function(*args, **kwargs)
        finally:
            _choice.reset(token)
    return carried


def _key(dtype):
    return np.dtype(dtype).newbyteorder("=").str


def mark_ready(dtype):
    """Record that the compiled kernels for images of ``dtype`` are prepared (by warm_up)."""
    with _lock:
        _ready.add(_key(dtype))


def is_ready(dtype):
    """True once :func:`mark_ready` was called for ``dtype`` in this process."""
    return _key(dtype) in _ready


def ready_dtypes():
    """The dtypes marked ready so far, as dtype strings (for diagnostics)."""
    with _lock:
        return sorted(_ready)


def forget_ready():
    """Forget every :func:`mark_ready` (tests: as in a fresh process)."""
    with _lock:
        _ready.clear()


def compiled(dtype):
    """True when the compiled loops run for images of ``dtype`` under the current choice."""
    choice = current()
    return choice == "compiled" or (choice == "ready" and is_ready(dtype))


def kernels_for(dtype):
    """The kernels module to use for images of ``dtype`` under the current choice.

    Returns :mod:`.kernels` (compiled; imports numba) or :mod:`.numpy_kernels`.
    """
    if compiled(dtype):
        from . import kernels
        return kernels
    from . import numpy_kernels
    return numpy_kernels
