"""Running the long stages of a pipeline: one-line errors, and work in a helper thread.

The export (and its engines, local or Dask) and the ``histeq`` command call
the core through :func:`call_with_stack_errors`, so bad data for the chosen
settings is reported as one :class:`~histeq_gui.core.errors.StackError`
line, and run their long stages through :func:`stage_in_thread`, a
generator of progress steps that stops the work when it is closed.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Generator

from ..errors import Cancelled, StackError

__all__ = ["call_with_stack_errors", "stage_in_thread"]


def call_with_stack_errors(function: Callable, *args, **kwargs):
    """``function(*args, **kwargs)``, its ValueErrors (bad data for the settings) as StackErrors.

    The message becomes ``"cannot equalize the stack: <the ValueError's>"``;
    StackErrors pass as they are.

    Examples
    --------
    >>> call_with_stack_errors(int, "12")
    12
    >>> call_with_stack_errors(int, "twelve")
    Traceback (most recent call last):
    ...
    histeq_gui.core.errors.StackError: cannot equalize the stack: invalid literal for int() \
with base 10: 'twelve'
    """
    try:
        return function(*args, **kwargs)
    except StackError:
        raise
    except ValueError as exc:
        raise StackError(f"cannot equalize the stack: {exc}") from exc


def stage_in_thread(stage: str, function: Callable) -> Generator:
    """Run ``function(progress)`` in a helper thread, yielding its progress as steps.

    Parameters
    ----------
    stage : str
        The name of the stage, the first item of every step.
    function : callable
        ``function(progress)`` with ``progress(done, total)``.

    Yields
    ------
    tuple
        ``(stage, done, total)`` for every ``progress`` call.

    Returns
    -------
    object
        What ``function`` returns (``yield from`` gives it); what it raises
        is raised here.

    Notes
    -----
    When the generator is closed (or the waiting thread is interrupted),
    the next ``progress`` call in the helper raises
    :class:`~histeq_gui.core.errors.Cancelled` and the helper is joined
    before this generator finishes, so nothing keeps running.
    """
    events = queue.Queue()
    stop = threading.Event()

    def progress(done, total):
        if stop.is_set():
            raise Cancelled("export cancelled")
        events.put(("step", (done, total)))

    def work():
        try:
            events.put(("done", function(progress)))
        except BaseException as exc:    # handed to the generator's thread
            events.put(("error", exc))

    thread = threading.Thread(target=work, name=f"histeq-export-{stage}", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = events.get()
            if kind == "step":
                yield (stage, *value)
            elif kind == "done":
                return value
            else:
                raise value
    finally:
        stop.set()
        thread.join()
