"""The thread pool image files are decoded on, and reading many files in order through it.

Pillow and tifffile release the GIL while they decode (and reading a file
releases it too), so a folder's files decoded on a few threads take a
fraction of the time of a loop over them.  :func:`in_order` runs a function
over many files on :func:`decode_pool`, a few files ahead of the one the
caller is at, and gives the results in order; an error is the first one in
order, whatever finished first, so that a message names the same file
every time.

A task of this pool only decodes: it never waits on a pool.  A call from a
thread of this pool runs serially in that thread, so nesting cannot
deadlock.  A forked child process has none of its parent's threads: it makes
its own pool.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Callable, Iterable, Iterator, TypeVar

__all__ = ["workers", "decode_pool", "in_order"]

_PREFIX = "histeq-decode"
_lock = threading.Lock()
_pool = None

T = TypeVar("T")
R = TypeVar("R")


def workers() -> int:
    """Threads of the decoding pool: one per CPU, at most 8."""
    return min(8, os.cpu_count() or 1)


def decode_pool() -> ThreadPoolExecutor:
    """The process's pool of decoding threads (made at the first call)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(workers(), thread_name_prefix=_PREFIX)
        return _pool


def _forget_pool():
    """In a forked child: the parent's pool has no thread here, make a new one when asked."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _in_pool_thread():
    return threading.current_thread().name.startswith(_PREFIX)


def in_order(func: Callable[[T], R], items: Iterable[T], ahead: int | None = None,
             per_task: int = 1) -> Iterator[R]:
    """Yield ``func(item)`` for every item, in order, computed on the decoding pool.

    Parameters
    ----------
    func : callable
        Called once per item, in a thread of the pool (it must be safe to
        call from several threads at once).
    items : iterable
    ahead : int, optional
        Tasks handed to the pool beyond the one the caller waits for;
        default twice the number of threads.  Memory holds at most that many
        tasks' results the caller has not taken yet.
    per_task : int, optional
        Items per task: small files decode faster than a task is handed
        over, so several go together.

    Yields
    ------
    The results, in the order of ``items``.

    Raises
    ------
    Exception
        What ``func`` raised for the first item (in order) that failed; the
        tasks not started yet are cancelled.  Closing the generator early
        cancels them too.
    """
    items = iter(items)
    if workers() == 1 or _in_pool_thread():
        for item in items:
            yield func(item)
        return
    pool = decode_pool()
    ahead = max(1, 2 * workers() if ahead is None else int(ahead))
    per_task = max(1, int(per_task))

    def task(group):
        return [func(item) for item in group]

    def groups():
        while True:
            group = list(islice(items, per_task))
            if not group:
                return
            yield group

    pending = groups()
    futures = deque(pool.submit(task, group) for group in islice(pending, ahead))
    try:
        while futures:
            results = futures.popleft().result()
            for group in islice(pending, 1):
                futures.append(pool.submit(task, group))
            yield from results
    finally:
        for future in futures:
            future.cancel()
