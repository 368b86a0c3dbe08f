"""Timing the viewer's start: when the first image is drawn, when the fast kernels are ready.

For ``benchmarks/bench_startup.py`` and the tests, not for users: with the
environment variable ``HISTEQ_GUI_REPORT_START`` set, the viewer prints one
line per event on stdout::

    histeq-gui-start: first-image 1764460801.123456 {"kernels": "ready", "compiled": 0}
    histeq-gui-start: kernels-ready 1764460809.654321 {"dtypes": ["float64", "uint8"]}

with the wall clock (``time.time()``) of the event: ``first-image`` once the
first equalized image has been drawn (the event loop has run after the
result was handed to the panels), with the kernels choice in effect and how
many compiled kernels (numba dispatcher signatures) existed then;
``kernels-ready`` once the compiled kernels of every dtype the shown stack
needs are prepared.  The value says what to do after: ``1`` nothing,
``first-image`` end the process after the first image, ``exit`` after the
kernels are ready.  The process ends with ``os._exit(0)`` (it would not wait
for a compiler either).
"""

from __future__ import annotations

import json
import os
import sys
import time

from PyQt5.QtCore import QObject, QTimer

from ..core.engine import backend

__all__ = ["ENV", "follow", "StartReport"]

ENV = "HISTEQ_GUI_REPORT_START"
_MODES = ("1", "first-image", "exit")


def _compiled_kernels():
    """How many signatures the engine's compiled kernels have (0 if numba's were never used)."""
    kernels = sys.modules.get("histeq_gui.core.engine.kernels")
    if kernels is None:
        return 0
    return sum(len(signatures) for signatures in kernels.compiled_signatures().values())


class StartReport(QObject):
    """Prints the start-up events of one :class:`ViewController` (see the module)."""

    def __init__(self, controller, mode):
        super().__init__(controller)
        self.controller = controller
        self.mode = mode
        self.first_image = None
        self.kernels_ready = None
        controller.resultChanged.connect(self._on_result)
        controller.warm_up.prepared.connect(self._on_prepared)

    def _print(self, event, **extra):
        print(f"histeq-gui-start: {event} {time.time():.6f} {json.dumps(extra)}", flush=True)

    def _on_result(self, result):
        if self.first_image is not None or result is None or result.equalized is None:
            return
        self.first_image = False
        QTimer.singleShot(0, self._drawn)       # after the panels have drawn it

    def _drawn(self):
        self.first_image = time.time()
        self._print("first-image", kernels=backend.current(), compiled=_compiled_kernels())
        if self.mode == "first-image":
            self._end()
        self._check_kernels()

    def _on_prepared(self, _name):
        self._check_kernels()

    def _check_kernels(self):
        dtypes = self.controller.kernel_dtypes()
        if self.kernels_ready is not None or not self.first_image or not dtypes or \
                not all(backend.is_ready(dtype) for dtype in dtypes):
            return
        self.kernels_ready = time.time()
        self._print("kernels-ready", dtypes=sorted(d.name for d in dtypes))
        if self.mode == "exit":
            self._end()

    def _end(self):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def follow(controller):
    """A :class:`StartReport` for ``controller`` if ``HISTEQ_GUI_REPORT_START`` asks, else None."""
    mode = os.environ.get(ENV, "")
    if mode not in _MODES:
        return None
    return StartReport(controller, mode)
