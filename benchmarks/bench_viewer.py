"""How long the viewer takes to show a change: state change -> images and plots redrawn.

Runs the real main window in this process (offscreen), changes the bins, the
method (numpy <-> skimage, and numpy <-> clahe), the scope and the image, and
measures until the new images and plots are drawn (the controller's
``resultChanged`` signal, after every panel drew it, then ``processEvents`` so
the paint happens).  Small images are computed in the GUI thread, big ones in
a worker, exactly as in normal use.  Prints medians against the goals (16 ms at
96x96, 150 ms at 2048x2048) and, beside them, the core's share (the same
``compute_view`` call timed alone), so a slow row says whether the core or the
drawing is slow.  Last, it exports a ~100 MB stack from the export dialog
and prints the longest pause of the event loop meanwhile (the window must
stay responsive: goal under 250 ms; a blocked loop would pause for the
whole export).

Usage::

    python benchmarks/bench_viewer.py [--repeat 15] [--big 2048] [--big-images 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402

from histeq_gui.gui.app import quiet_harmless_qt_notes  # noqa: E402
from histeq_gui.gui.compute import compute_view, stack_histograms  # noqa: E402
from histeq_gui.gui.controller import SYNC_STACK_VALUES  # noqa: E402
from histeq_gui.gui.main_window import MainWindow  # noqa: E402
from histeq_gui.gui.stack_file import LoadedStack, open_sample  # noqa: E402


def big_stack(size, n, dtype):
    """Smooth, dim images with noise: a histogram worth equalizing."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] / size
    images = []
    for i in range(n):
        base = 0.25 * (np.sin(6 * x + i) * np.cos(4 * y - i) + 1) + 0.1 * rng.random((size, size))
        images.append(base ** 1.5)
    stack = np.stack(images)[:, np.newaxis]
    if np.dtype(dtype).kind == "u":
        return np.round(stack * 255).astype(dtype)
    return stack.astype(dtype)


class Timer:
    """Times one state change until the window has shown it."""

    def __init__(self, app, window):
        self.app, self.window = app, window
        self.updates = 0
        window.controller.resultChanged.connect(self._count)   # after the panels

    def _count(self):
        self.updates += 1

    def measure(self, change):
        before = self.updates
        start = time.perf_counter()
        change()
        while self.updates == before:
            self.app.processEvents()
            if self.updates == before:
                time.sleep(0.0005)
        self.app.processEvents()          # paint what changed
        return time.perf_counter() - start


def run_changes(app, window, repeat):
    """Median seconds per kind of change, and the core's time for the same request."""
    state, timer = window.state, Timer(app, window)
    n = state.n_images
    changes = {
        "bins": lambda k: state.set_bins(128 if k % 2 else 256),
        "method": lambda k: state.set_method("skimage" if k % 2 else "numpy"),
        "clahe": lambda k: state.set_method("clahe" if k % 2 else "numpy"),
        "scope": lambda k: state.set_scope("stack" if k % 2 else "image"),
        "image": lambda k: state.set_index((state.index + 1) % n),
    }
    results = {}
    for name, change in changes.items():
        state.set_method("numpy")
        state.set_bins(256)
        state.set_scope("image")
        window.wait_until_idle()
        timer.measure(lambda change=change: change(1))    # warm up (and fill the stack cache)
        timer.measure(lambda change=change: change(0))
        times, core = [], []
        for k in range(1, repeat + 1):
            times.append(timer.measure(lambda k=k, change=change: change(k)))
            core.append(core_time(state))
        results[name] = (statistics.median(times), statistics.median(core))
    return results


def core_time(state):
    """The core's part: ``compute_view`` for the state as it is now."""
    stack = state.stack
    method = state.method_spec
    hists = stack_histograms(stack, method, state.bins) if state.scope == "stack" else None
    start = time.perf_counter()
    view = compute_view(stack, state.index, method, state.bins, state.scope, hists)
    elapsed = time.perf_counter() - start
    if view.error is not None:
        raise RuntimeError(f"the view failed, nothing to time: {view.error}")
    return elapsed


def first_stack_histogram(stack):
    start = time.perf_counter()
    stack_histograms(stack, "numpy", 200)
    return time.perf_counter() - start


def export_gaps(app, window, folder, shape=(48, 1, 512, 512)):
    """Largest pause of the event loop while the export dialog exports a ~100 MB stack.

    A 10 ms timer ticks in the GUI thread during the export; the largest gap
    between ticks is how long the window could not react.  Returns the
    largest gap, the export's duration and the number of ticks.
    """
    from PyQt5.QtCore import QTimer

    stack = LoadedStack.from_array(np.random.default_rng(4).random(shape))
    window.opener.set_stack(stack)
    window.wait_until_idle()
    dialog = window.open_export_dialog()
    dialog.output_edit.setText(str(Path(folder) / "bench_export.npy"))
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    started = time.monotonic()
    dialog.start_export()
    while dialog.running:
        app.processEvents()
        time.sleep(0.001)
    ended = time.monotonic()
    timer.stop()
    gaps = np.diff([started, *ticks, ended])
    return float(gaps.max()), ended - started, len(ticks)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--big", type=int, default=2048, help="side of the big images")
    parser.add_argument("--big-images", type=int, default=8, help="images in the big stack")
    args = parser.parse_args(argv)

    quiet_harmless_qt_notes()
    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.resize(1400, 860)
    window.show()
    cases = [("96x96 uint8 (sample, 100 images)", open_sample(), 0.016)]
    for dtype in ("uint8", "float32"):
        array = big_stack(args.big, args.big_images, dtype)
        cases.append((f"{args.big}x{args.big} {dtype} ({args.big_images} images)",
                      LoadedStack.from_array(array), 0.150))

    print(f"viewer update time, median of {args.repeat} (state change -> images and plots "
          "redrawn)")
    print(f"{'stack':34} {'change':7} {'update ms':>10} {'core ms':>8} {'goal ms':>8} "
          f"{'update/goal':>12}")
    for label, stack, goal in cases:
        window.opener.set_stack(stack)
        window.wait_until_idle()
        for name, (total, core) in run_changes(app, window, args.repeat).items():
            print(f"{label:34} {name:7} {total * 1e3:10.1f} {core * 1e3:8.1f} {goal * 1e3:8.0f} "
                  f"{total / goal:11.2f}x {'ok' if total <= goal else 'SLOW'}")
        print(f"{label:34} (whole-stack histogram, computed once per method and bins: "
              f"{first_stack_histogram(stack) * 1e3:.0f} ms; in a worker above "
              f"{SYNC_STACK_VALUES / 2**20:.0f} Mi values)")
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        gap, duration, ticks = export_gaps(app, window, folder)
    goal = 0.25
    print(f"\nexport of a 48x1x512x512 float64 stack from the dialog: {duration:.2f} s, "
          f"{ticks} timer ticks (every 10 ms)")
    print(f"largest event-loop pause {gap * 1e3:.0f} ms = {gap / duration:.1%} of the export "
          f"(a blocked window: ~100%); goal {goal * 1e3:.0f} ms: {gap / goal:.2f}x "
          f"{'ok' if gap <= goal else 'SLOW'}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
