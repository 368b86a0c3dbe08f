"""Where the engine's work runs: a small thread pool, or the caller's executor, in waves.

Every driver (:func:`~histeq_gui.core.equalize.equalize`, the fit of
:mod:`histeq_gui.core.fit`, the export and the Dask engine) hands its work
items to :func:`run`, which runs them on the core's own thread pool (the
compiled loops release the GIL, so blocks run truly in parallel), on an
executor chosen with :func:`use_executor`, or serially in the calling
thread.  Between waves of items it calls a progress tick in the calling
thread, which may raise to cancel.

A thread of a pool never waits on a pool: work handed to a pool runs
serially inside each of its items, so nesting (a Dask task calling the
core, the engine calling itself) cannot deadlock.
"""

from __future__ import annotations

import contextvars
import os
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

import numpy as np

from . import backend

__all__ = ["OWN_POOL", "use_executor", "chosen_executor", "workers", "run", "ticker",
           "ticker_by_rows", "parallel_here"]

OWN_POOL = object()     # stands for the core's own thread pool (the default choice)

_THREAD_PREFIX = "histeq-core"
_pool_lock = threading.Lock()
_pool = None
_chosen = contextvars.ContextVar("histeq_executor", default=OWN_POOL)


def workers() -> int:
    """Number of threads of the core's own pool (at most 8, at most the CPUs)."""
    return min(8, os.cpu_count() or 1)


def _own_pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(workers(), thread_name_prefix=_THREAD_PREFIX)
        return _pool


@contextmanager
def use_executor(executor: Executor | None) -> Iterator[Executor | None]:
    """Run the core's parallel work on ``executor`` inside this block (this thread and context).

    Parameters
    ----------
    executor : concurrent.futures.Executor or None
        Any executor with ``map`` (a ``ThreadPoolExecutor`` of the caller's,
        say): the engine's blocks run on it instead of the core's own pool.
        None: everything runs in the calling thread, with no pool at all,
        which is what a worker of another pool (a Dask or
        ``dask.distributed`` task) wants, so that pools never nest.

    Notes
    -----
    The choice is a context variable, so it holds for the calling thread
    (and asyncio task) only; work handed to the executor runs serially
    inside each of its items, so the engine never waits on a pool from a
    thread of that pool.  Results do not depend on the executor.

    Examples
    --------
    >>> import numpy as np
    >>> from histeq_gui import equalize
    >>> with use_executor(None):                     # no thread pool
    ...     out = equalize(np.zeros((2, 4, 4), np.uint8))
    >>> out.shape
    (2, 4, 4)
    """
    token = _chosen.set(executor)
    try:
        yield executor
    finally:
        _chosen.reset(token)


def chosen_executor() -> Executor | None | object:
    """The choice in effect here: :func:`use_executor`'s executor, None, or :data:`OWN_POOL`."""
    return _chosen.get()


def _serial_inside(function):
    """``function`` run with the engine serial in whatever thread runs it (a pool's item)."""
    def serial(*args):
        token = _chosen.set(None)
        try:
            return function(*args)
        finally:
            _chosen.reset(token)
    return serial


def _quiet(function):
    """``function`` run with NumPy's floating point warnings off.

    Extreme values make intermediate infinities and NaN (overflowing bin
    centres, subnormal bin widths) exactly as they do in the references;
    they are handled explicitly, so NumPy's warnings would only be noise on
    the user's stderr.  (``np.errstate`` does not reach the pool's threads,
    hence a wrapper around every piece of work.)
    """
    def quiet(*args):
        with np.errstate(all="ignore"):
            return function(*args)
    return quiet


def parallel_here() -> int:
    """How many items :func:`run` called from this thread would work on at once (1: serially).

    1 inside a task of the pool (nested work runs serially there) or with
    no pool chosen; else the chosen pool's threads.  Work that could be cut
    finer for the pool (one large image in bands) asks this first.
    """
    chosen = _chosen.get()
    if chosen is None:
        return 1
    if chosen is OWN_POOL:
        inside = threading.current_thread().name.startswith(_THREAD_PREFIX)
        return 1 if inside else workers()
    return max(int(getattr(chosen, "_max_workers", 0) or workers()), 1)


def run(function: Callable, items: Iterable, tick: Callable[[int], None] | None = None) -> list:
    """``[function(item) for item in items]`` on the chosen pool, in waves.

    Parameters
    ----------
    function : callable
        Called once per item, in a pool's thread (with the caller's choice
        of kernels, :func:`~.backend.carry`, and NumPy's warnings off).
    items : iterable
    tick : callable, optional
        ``tick(n)`` is called in the calling thread after every wave of
        ``n`` items, so a progress callback can report and raise to cancel
        (the items of later waves are then never started).

    Returns
    -------
    list
        The results, in the order of ``items``.
    """
    function = backend.carry(_quiet(function))
    items = list(items)
    results = []
    chosen = _chosen.get()
    own = chosen is OWN_POOL
    count = workers() if own or chosen is None else \
        max(int(getattr(chosen, "_max_workers", 0) or workers()), 1)
    wave = 2 * count
    inside = own and threading.current_thread().name.startswith(_THREAD_PREFIX)
    serial = chosen is None or (own and (count < 2 or inside)) or len(items) < 2
    if not serial:
        pool = _own_pool() if own else chosen
        function = _serial_inside(function)
    step = 1 if serial else wave
    for i in range(0, len(items), step):
        batch = items[i:i + step]
        if serial:
            results.append(function(batch[0]))
        else:
            results.extend(pool.map(function, batch))
        if tick is not None:
            tick(len(batch))
    return results


def ticker(progress: Callable[[int, int], None] | None, total: int) -> Callable | None:
    """A ``tick(n)`` that reports ``progress(done, total)`` (None without ``progress``).

    ``progress(0, total)`` is called at once.
    """
    if progress is None:
        return None
    done = [0]
    progress(0, total)

    def tick(n):
        done[0] += n
        progress(min(done[0], total), total)
    return tick


def ticker_by_rows(tick: Callable | None, runs: list) -> Callable | None:
    """``tick`` told the rows of each finished wave of ``runs`` (``(r0, r1)``), not the runs."""
    if tick is None:
        return None
    sizes = iter([b - a for a, b in runs])

    def by_rows(n):
        tick(sum(next(sizes) for _ in range(n)))
    return by_rows
