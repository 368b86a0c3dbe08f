"""The Dask engine: the export's steps as a Dask graph, locally or on a distributed cluster.

``histeq IN -o OUT --engine dask [--scheduler ADDRESS]`` (or
``export(..., engine="dask", scheduler=...)``) runs the very steps of the
default engine as Dask tasks, so the bytes written are the same:

- every task reads its piece of the stack itself: a worker opens the input
  file with :func:`~histeq_gui.core.io.open_reader` (so the input must
  be at the same path on every worker: a shared file system) and checks it
  is the file the export started with; an array in memory is handed to the
  graph once;
- scope ``"image"`` is a map over the pieces
  (:func:`~histeq_gui.core.engine.chunks.equalize_piece`);
- scope ``"stack"`` is a histogram reduction, then the same map: the range
  of every piece (:func:`~histeq_gui.core.fit.chunk_range`) merged in a tree
  on the workers, then the counts (:func:`~histeq_gui.core.fit.chunk_counts`),
  summed the same way, finished here.  The range comes first because the
  bins depend on it (``dask.array.histogram`` even refuses a bin count
  without an explicit range, dask/dask#5256);
- the equalized pieces come back in order, a window of them at a time, and
  are written here by the output's chunk writer (:mod:`~histeq_gui.core.io.writer`),
  which verifies them and commits through :func:`~histeq_gui.core.io.staged`.

Tasks call the core inside :func:`~histeq_gui.core.fit.single_threaded`, so
a worker's threads never wait on the core's own thread pool (Dask already
runs one task per worker thread).

Dask is an optional extra (``pip install "histeq-gui[dask]"``).  Without an
address the graph runs on Dask's local threaded scheduler; with one, on
``dask.distributed.Client(ADDRESS)``, once a Dask scheduler has answered
there: a service that does not answer within
:data:`~histeq_gui.core.choices.DASK_CONNECT_TIMEOUT` seconds, or answers
something else, is one line ("cannot reach the Dask scheduler at ..."),
and so is a cluster that fails during the export (a lost scheduler, a
worker that died: "the Dask cluster failed (...)").
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
import uuid
from pathlib import Path

import numpy as np

from . import fit
from .choices import DASK_CONNECT_TIMEOUT
from .engine import chunks
from .engine.stages import call_with_stack_errors, stage_in_thread
from .errors import StackError, first_line
from .io import Reader, check_unchanged, open_reader, stack_axis

__all__ = ["DaskEngine", "INSTALL", "dask_modules", "scheduler_problem"]

INSTALL = 'pip install "histeq-gui[dask]"'


def dask_modules(distributed=False):
    """``(dask, dask.distributed or None)``, or a one-line StackError saying how to install them."""
    try:
        import dask
        import dask.array  # noqa: F401  (the extra's array support)
    except ImportError:
        raise StackError(f"the dask engine needs the dask package; install it with {INSTALL}") \
            from None
    client = None
    if distributed:
        try:
            import distributed as client
        except ImportError:
            raise StackError("a scheduler address needs the distributed package; install it "
                             f"with {INSTALL}") from None
    return dask, client


def scheduler_problem(distributed, address: str, timeout: float | None = None) -> str | None:
    """Why no Dask scheduler can be used at ``address``, or None if one answers there.

    Asks the service at ``address`` who it is (a Dask server's ``identity``)
    over Dask's own protocol, in a thread and an event loop of its own, and
    gives up after ``timeout`` seconds (default
    :data:`~histeq_gui.core.choices.DASK_CONNECT_TIMEOUT`) whatever the
    service does: nothing listening, a service that accepts and never
    answers, one that answers something else (a web page, a Dask worker).
    Nothing is left behind to print at exit.

    Parameters
    ----------
    distributed : module
        ``dask.distributed`` (see :func:`dask_modules`).
    address : str
        The scheduler's address, ``tcp://host:8786``.
    timeout : float, optional
        Seconds to wait for an answer.

    Returns
    -------
    str or None
        What went wrong, for a message; None for a scheduler.
    """
    timeout = DASK_CONNECT_TIMEOUT if timeout is None else float(timeout)

    async def identity():
        comm = await distributed.comm.connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    outcome = {}

    def ask():
        try:
            outcome["identity"] = asyncio.run(asyncio.wait_for(identity(), timeout))
        except BaseException as exc:        # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=ask, name="histeq-dask-probe", daemon=True)
    thread.start()
    thread.join(timeout + 5)                # wait_for ends it; this is only a backstop
    error = outcome.get("error")
    if error is not None and not isinstance(error, Exception):
        raise error                         # KeyboardInterrupt and the like
    if "identity" not in outcome and error is None or \
            isinstance(error, (TimeoutError, asyncio.TimeoutError)):
        return f"nothing answered as a Dask scheduler within {timeout:g} s"
    if isinstance(error, OSError) and not isinstance(error, distributed.comm.CommClosedError):
        return " ".join(first_line(error, 160).split())     # refused, unknown host
    if error is not None:
        # what it sent, read as Dask's frames: a bogus length (MemoryError), a decoding error
        return "the service there does not speak Dask's protocol"
    answer = outcome["identity"]
    kind = answer.get("type") if isinstance(answer, dict) else None
    if kind == "Scheduler":
        return None
    if isinstance(kind, str) and kind:
        return f"the service there is a Dask {kind[:40]}, not a scheduler"
    return "the service there does not speak Dask's protocol"


def _source(images):
    """What a task needs to read the stack: ("file", path, key, signature) or ("array", array).

    The signature is the file's when it was opened (``Reader.signature``):
    a task refuses a file that changed since.
    """
    reader = images if isinstance(images, Reader) else None
    if reader is None:
        mapped = getattr(images, "_histeq_file", None)       # a whole map from load_stack
        if mapped is not None and isinstance(images, np.memmap):
            return ("file", Path(mapped[0]), None, images._histeq_signature)
        return ("array", images)
    if reader.path is None or reader.signature is None:
        return ("array", reader.array if reader.kind == "array" else reader.load())
    key = getattr(reader, "key", None) if reader.kind == "npz" else None
    return ("file", reader.path, key, reader.signature)


def read_piece(source, axis, start, stop):
    """Task: the piece ``start:stop`` along ``axis`` of the stack (a new array)."""
    if source[0] == "array":
        array = source[1]
        piece = array if axis is None else array[(slice(None),) * axis + (slice(start, stop),)]
        return np.array(piece)
    _, path, key, signature = source
    check_unchanged(path, signature)
    with open_reader(path, key) as reader:
        return np.array(chunks.read_piece(reader, axis, start, stop))


def range_parts(piece, layout):
    """Task: the range step of every channel of a piece."""
    with fit.single_threaded():
        return [fit.chunk_range(part) for part in chunks.channel_pieces(piece, layout)]


def merge_range_lists(a, b):
    """Task: merge two lists of per-channel ranges."""
    return [fit.merge_ranges(x, y) for x, y in zip(a, b)]


def distinct_parts(piece, layout):
    """Task: the distinct values of every channel of a piece."""
    with fit.single_threaded():
        return [fit.chunk_distinct(part) for part in chunks.channel_pieces(piece, layout)]


def merge_distinct_lists(a, b):
    """Task: merge two lists of per-channel distinct values."""
    return [fit.merge_distinct(x, y) for x, y in zip(a, b)]


def count_parts(piece, layout, tables):
    """Task: the counts of every channel of a piece (None where a channel needs none)."""
    with fit.single_threaded():
        return [None if t is None else fit.chunk_counts(t, part)
                for t, part in zip(tables, chunks.channel_pieces(piece, layout))]


def add_count_lists(a, b):
    """Task: add two lists of per-channel counts."""
    return [None if x is None else x + y for x, y in zip(a, b)]


def equalize_task(piece, settings, layout, maps, axis, start, input_dtype, params=None):
    """Task: equalize and convert one piece (the default engine's own function)."""
    with fit.single_threaded():
        return chunks.equalize_piece(piece, settings, layout, maps, axis, start, input_dtype,
                                     params)


class DaskEngine:
    """Runs the export's steps as Dask tasks; see the module docstring.

    Parameters
    ----------
    scheduler : str, optional
        Address of a ``dask.distributed`` scheduler; None for Dask's local
        threaded scheduler.
    """

    name = "dask"

    def __init__(self, scheduler=None):
        self.address = scheduler
        self.dask, self.distributed = dask_modules(distributed=scheduler is not None)
        self.scheduler, self.window = None, 1

    @contextlib.contextmanager
    def session(self):
        """Connect to the scheduler (or use the local one) for the duration of an export."""
        if self.address is None:
            self.scheduler = "threads"
            self.window = 2 * (os.cpu_count() or 1)
            yield
            return
        problem = scheduler_problem(self.distributed, self.address)
        if problem is None:
            try:
                client = self.distributed.Client(self.address, set_as_default=False,
                                                 timeout=f"{DASK_CONNECT_TIMEOUT}s")
            except (OSError, TimeoutError, asyncio.TimeoutError, ValueError) as exc:
                problem = " ".join(first_line(exc, 160).split())
        if problem is not None:
            raise StackError(f"cannot reach the Dask scheduler at '{self.address}' ({problem}); "
                             "check the address and that the scheduler runs")
        try:
            self.scheduler = client
            with self._cluster_failures():
                self.window = max(2, 2 * sum(client.nthreads().values()))
            yield
        finally:
            self.scheduler = None
            with contextlib.suppress(Exception):    # a lost scheduler: the error is reported
                client.close(timeout=DASK_CONNECT_TIMEOUT)

    @contextlib.contextmanager
    def _cluster_failures(self):
        """A cluster that fails (not the data) is one line: a lost scheduler, a dead worker."""
        try:
            yield
        except StackError:
            raise
        except self.distributed.KilledWorker:
            raise StackError("the Dask cluster failed (a worker died while running a task; "
                             "its log says why); check the scheduler and its workers, then "
                             "export again") from None
        except concurrent.futures.CancelledError:
            raise StackError("the Dask cluster failed (the connection to the scheduler was "
                             "lost); check the scheduler and its workers, then export "
                             "again") from None
        except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
            raise StackError(f"the Dask cluster failed ({type(exc).__name__}: "
                             f"{first_line(exc, 120)}); check the scheduler and its workers, "
                             "then export again") from None

    # --- running tasks
    def _compute(self, *tasks):
        # The core's one-line errors come back from the workers as ValueErrors.
        if self.distributed is None:
            return call_with_stack_errors(self.dask.compute, *tasks, scheduler=self.scheduler)
        with self._cluster_failures():
            return call_with_stack_errors(self.dask.compute, *tasks, scheduler=self.scheduler)

    def _input(self, plan):
        source = _source(plan.images)
        if source[0] == "array":            # one key for the whole array, not one per task
            source = ("array", self.dask.delayed(source[1], name=f"histeq-stack-{uuid.uuid4()}",
                                                 traverse=False))
        return source

    def _pieces(self, plan, axis, source):
        """``[(start, stop, images, delayed piece)]`` of :func:`~.engine.chunks.pieces`."""
        read = self.dask.delayed(read_piece, pure=True)
        return [(start, stop, n, read(source, axis, start, stop))
                for start, stop, n in chunks.pieces(plan.layout, axis, plan.chunk_images)]

    def _reduce(self, items, task, merge, progress):
        """``merge`` of ``task(piece)`` over every piece: a tree per window, windows merged here.

        ``progress(done, total)`` after each window, in pieces.
        """
        delayed = self.dask.delayed
        result = None
        for i in range(0, len(items), self.window):
            parts = [delayed(task, pure=True)(piece) for *_, piece in items[i:i + self.window]]
            while len(parts) > 1:           # a tree of merges on the workers
                pairs = [delayed(merge, pure=True)(a, b) for a, b in zip(parts[::2], parts[1::2])]
                parts = pairs + parts[len(parts) - len(parts) % 2:]
            (part,) = self._compute(parts[0])
            result = part if result is None else merge(result, part)
            progress(min(i + self.window, len(items)))
        return result

    # --- the engine's interface (see export.LocalEngine)
    def fit(self, plan, reader):
        """Fit one histogram per channel as a reduction over the pieces (a generator of progress).

        Passes over the pieces as :func:`~histeq_gui.core.fit.fit`: the ranges
        (with the value counts of 8- and 16-bit integers), the distinct values
        if a channel needs ranks, the counts if a channel needs them.
        """
        s, layout = plan.settings, plan.layout
        source = self._input(plan)
        items = self._pieces(plan, stack_axis(layout), source)
        n = len(items)
        dtype = np.dtype(plan.input_dtype).newbyteorder("=")

        def build(progress):
            passes, done = [1 if dtype.kind in "iu" and dtype.itemsize <= 2 else 2], [0]

            def run(task, merge):
                result = self._reduce(items, task, merge,
                                      lambda d: progress(done[0] + d, passes[0] * n))
                done[0] += n
                return result

            ranges = run(lambda piece: range_parts(piece, layout), merge_range_lists)
            distinct = []

            def distinct_of(c):
                if not distinct:
                    passes[0] += 1
                    distinct.extend(run(lambda piece: distinct_parts(piece, layout),
                                        merge_distinct_lists))
                return distinct[c]

            started = [call_with_stack_errors(fit.start, part, plan.method, s.bins,
                                              lambda c=c: distinct_of(c), **s.params)
                       for c, part in enumerate(ranges)]
            tables = [t if counts is None else None for t, counts in started]
            counts = [c for _, c in started]
            if any(t is not None for t in tables):
                passes[0] = max(passes[0], done[0] // n + 1)
                summed = run(lambda piece: count_parts(piece, layout, tables), add_count_lists)
                counts = [c if c is not None else summed[i] for i, c in enumerate(counts)]
            return [call_with_stack_errors(fit.finish, t, c)
                    for (t, _), c in zip(started, counts)]

        return (yield from stage_in_thread("histogram", build))

    def equalized(self, plan, reader, maps, axis, params=None):
        """``(start, stop, images, output chunk)`` in order along ``axis``, a window at a time.

        ``params``: the stack-aware parameters resolved for the whole stack (by
        the export, through ``reader``), handed to the graph once.
        """
        source = self._input(plan)
        delayed = self.dask.delayed
        maps_key = None if maps is None else delayed(maps, name=f"histeq-maps-{uuid.uuid4()}",
                                                     traverse=False)
        params_key = None if not params else delayed(params,
                                                     name=f"histeq-params-{uuid.uuid4()}",
                                                     traverse=False)
        items = self._pieces(plan, axis, source)
        for i in range(0, len(items), self.window):
            window = items[i:i + self.window]
            tasks = [delayed(equalize_task, pure=True)(piece, plan.settings, plan.layout,
                                                       maps_key, axis, start, plan.input_dtype,
                                                       params_key)
                     for start, _, _, piece in window]
            for (start, stop, n, _), out in zip(window, self._compute(*tasks)):
                yield start, stop, n, out

