"""The thumbnail grid and the statistics job: page draws, scrolling, and a window that stays live.

1. One page of 60 thumbnails at 96x96 (10 x 6 cells), drawn by the real
   :class:`~histeq_gui.gui.panels.grid.ThumbnailGrid` into a pixmap (its
   ``paintEvent``): cold (the page's thumbnails made in the paint: one
   ``equalize`` call for the page) and warm (from the cache), originals and
   equalized, against the 16 ms goal.  Beside it, the same 60 equalized
   thumbnails made with one ``equalize`` call per image (the reference a
   page batch replaces) and the ratio.
2. Scrolling through 100,000 images page by page with a cold cache: median
   and longest page draw (a draw longer than 16 ms is a dropped frame).
3. The statistics job (``image_stats`` in a :class:`~histeq_gui.gui.jobs.Runner`
   job, as the window runs it) on the 1800-image stack and on 100,000
   images, with the longest pause of the GUI thread's event loop meanwhile
   (a 5 ms timer's largest gap), and the same ``image_stats`` call timed
   alone; then sorting and filtering the 100,000-row table.

Usage::

    python benchmarks/bench_grid.py [--repeat 20] [--big 100000] [--pages 10]
                                    [--faces /tmp/histeq-hard/faces1800.npy]

The big stack is the 1800 faces repeated, each repeat shifted by a pixel
(100,000 x 96 x 96 uint8 is 0.9 GB).
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
from PyQt5.QtCore import QElapsedTimer, QSize, QTimer  # noqa: E402
from PyQt5.QtGui import QPixmap  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402

from histeq_gui import equalize  # noqa: E402
from histeq_gui.core.stats import image_stats  # noqa: E402
from histeq_gui.gui.app import quiet_harmless_qt_notes  # noqa: E402
from histeq_gui.gui.inspection import Inspection  # noqa: E402
from histeq_gui.gui.panels import ViewerContext  # noqa: E402
from histeq_gui.gui.panels.grid import GridPanel  # noqa: E402
from histeq_gui.gui.panels.stats_table import StatsTablePanel  # noqa: E402
from histeq_gui.gui.stack_file import LoadedStack  # noqa: E402
from histeq_gui.gui.state import ViewerState  # noqa: E402
from histeq_gui.gui.thumbnails import Thumbnails, Variant  # noqa: E402

GOAL_MS = 16.0


def faces(path):
    """The 1800 faces (scripts/make_hard_cases.py), made here if the file is missing."""
    if path.exists():
        return np.load(path)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_hard_cases import faces1800
    return faces1800()


def ms(seconds):
    return f"{seconds * 1000:7.2f} ms"


class Bench:
    def __init__(self, app, stack):
        self.app = app
        self.state = ViewerState()
        self.inspection = Inspection(self.state)
        self.panel = GridPanel(ViewerContext(self.state, inspection=self.inspection))
        self.grid = self.panel.grid
        width, height = self.grid.cell_size()
        scrollbar = self.grid.verticalScrollBar().sizeHint().width()
        self.grid.setFixedSize(QSize(10 * width + scrollbar + 2 * self.grid.frameWidth(),
                                     6 * height + 2 * self.grid.frameWidth()))
        self.panel.show()
        self.set_stack(stack)
        assert len(self.grid.visible_indices()) == 60, len(self.grid.visible_indices())
        self.pixmap = QPixmap(self.grid.viewport().size())

    def set_stack(self, stack):
        """Show ``stack``; wait for its statistics (the shown grid asks for them: flags)."""
        self.state.set_stack(LoadedStack.from_array(stack))
        self.app.processEvents()
        while self.inspection.busy or self.inspection.table is None:
            self.app.processEvents()
            time.sleep(0.002)
        self.grid.runner.wait()

    def draw(self, cpu=None):
        """One draw of the grid's view (its paintEvent), in seconds (wall clock).

        ``cpu``, a list, gets the process's CPU time for it (all threads):
        on a shared machine the wall clock also counts time other programs
        had the cores.
        """
        start, start_cpu = time.perf_counter(), time.process_time()
        self.grid.viewport().render(self.pixmap)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
        return time.perf_counter() - start

    def page(self, equalized, repeat):
        self.panel.set_equalized(equalized)
        cold, warm, cold_cpu, warm_cpu = [], [], [], []
        for _ in range(repeat):
            self.grid.set_stack(self.state.stack)       # an empty cache
            self.grid._prefetch_timer.stop()
            cold.append(self.draw(cold_cpu))
            warm.append(self.draw(warm_cpu))
        return [statistics.median(v) for v in (cold, warm, cold_cpu, warm_cpu)]


def page_draws(bench, stack, repeat):
    print(f"1. one page of 60 thumbnails at 96x96 (10 x 6), median of {repeat}; "
          f"goal {GOAL_MS:.0f} ms")
    for equalized in (False, True):
        cold, warm, cold_cpu, warm_cpu = bench.page(equalized, repeat)
        name = "equalized" if equalized else "original "
        print(f"   {name}: cold {ms(cold)} ({cold * 1000 / GOAL_MS:4.2f} x goal, CPU "
              f"{ms(cold_cpu).strip()})   warm {ms(warm)} ({warm * 1000 / GOAL_MS:4.2f} x goal, "
              f"CPU {ms(warm_cpu).strip()})")
    thumbs = Thumbnails(LoadedStack.from_array(stack))
    variant = Variant.equalized("numpy", 256, "image")
    page = stack[:60, 0]
    batch, loop, make = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        equalize(page, "numpy", 256)
        batch.append(time.perf_counter() - start)
        start = time.perf_counter()
        for image in page:
            equalize(image, "numpy", 256)
        loop.append(time.perf_counter() - start)
        start = time.perf_counter()
        thumbs.make(variant, range(60))
        make.append(time.perf_counter() - start)
    b, lp, mk = (statistics.median(v) for v in (batch, loop, make))
    print(f"   equalize for the page: one call {ms(b)}, one call per image {ms(lp)} "
          f"(ratio {lp / b:4.1f}x); making the 60 equalized thumbnails {ms(mk)}")


def scrolling(bench, big, pages):
    print(f"2. scrolling through {len(big):,} images, cold cache, {pages} pages from the top, "
          "the middle and the end")
    bench.set_stack(big)
    bar = bench.grid.verticalScrollBar()
    for equalized in (False, True):
        bench.panel.set_equalized(equalized)
        times, cpu = [], []
        for start in (0, bar.maximum() // 2, bar.maximum() - pages * bar.pageStep()):
            for k in range(pages):
                bench.grid._prefetch_timer.stop()
                bar.setValue(start + k * bar.pageStep())
                times.append(bench.draw(cpu))
        name = "equalized" if equalized else "original "
        slow = sum(t * 1000 > GOAL_MS for t in times)
        cache = bench.grid.thumbnails
        print(f"   {name}: median {ms(statistics.median(times))} (CPU "
              f"{ms(statistics.median(cpu)).strip()}), longest {ms(max(times))} (CPU "
              f"{ms(max(cpu)).strip()}), {slow} of {len(times)} pages over {GOAL_MS:.0f} ms; cache "
              f"{len(cache):,} thumbnails ({cache.nbytes >> 20} MB)")


def stats_job(app, stack, label):
    """image_stats through the inspection's job, with the GUI loop's longest pause."""
    state = ViewerState()
    inspection = Inspection(state)
    state.set_stack(LoadedStack.from_array(stack))
    gaps, clock = [], QElapsedTimer()
    ticker = QTimer()
    ticker.setInterval(5)

    def tick():
        gaps.append(clock.restart())
    ticker.timeout.connect(tick)
    owner = QTimer()                 # anything: "a panel is shown"
    start = time.perf_counter()
    inspection.want(owner)
    clock.start()
    ticker.start()
    while inspection.table is None and not inspection.problem:
        app.processEvents()
        time.sleep(0.001)
    job = time.perf_counter() - start
    ticker.stop()
    inspection.shutdown()
    start, start_cpu = time.perf_counter(), time.process_time()
    table = image_stats(stack)
    alone, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(f"   {label}: job {job:6.2f} s, image_stats alone {alone:6.2f} s (CPU {cpu:.2f} s), "
          f"longest GUI pause {max(gaps[1:] or [0])} ms ({len(gaps)} ticks of 5 ms)")
    return table, inspection


def table_ops(big_table, inspection, repeat=5):
    state = inspection.state
    panel = StatsTablePanel(ViewerContext(state, inspection=inspection))
    panel.resize(QSize(1000, 600))
    panel.show()
    inspection._set_table(big_table, inspection._key())
    QApplication.instance().processEvents()
    view = panel.view
    pixmap = QPixmap(view.viewport().size())
    draws = []
    bar = view.verticalScrollBar()
    for k in range(repeat * 4):
        bar.setValue(bar.maximum() * k // (repeat * 4))
        start = time.perf_counter()
        view.viewport().render(pixmap)
        draws.append(time.perf_counter() - start)
    rows = view.viewport().height() // view.verticalHeader().defaultSectionSize()
    print(f"   table view, {rows} rows x {view.horizontalHeader().count()} columns in view, "
          f"drawn at {len(draws)} places: median {ms(statistics.median(draws))}, "
          f"longest {ms(max(draws))}")
    for name, run in (("sort by mean", lambda: (inspection.sort(""), inspection.sort("mean"))),
                      ("sort by entropy, descending",
                       lambda: (inspection.sort(""), inspection.sort("entropy", True))),
                      ("filter: only flagged", lambda: (inspection.set_filter("all"),
                                                        inspection.set_filter("flagged"))),
                      ("outliers of std", lambda: (inspection.set_filter("all"),
                                                   inspection.set_filter("outliers", "std"))),
                      ("brush mean 50..100", lambda: (inspection.set_filter("all"),
                                                      inspection.clear_brush(),
                                                      inspection.set_brush("mean", 50, 100)))):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        print(f"   {name:28s} {ms(statistics.median(times))} ({len(inspection.rows):,} rows)")


def main(argv=None):
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--big", type=int, default=100_000, help="images in the big stack")
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--faces", type=Path, default=Path("/tmp/histeq-hard/faces1800.npy"))
    args = parser.parse_args(argv)
    print(f"load average {load:.1f} on {os.cpu_count()} cores (other programs slow the wall "
          "clock; CPU times do not count their share)")
    quiet_harmless_qt_notes()
    app = QApplication.instance() or QApplication([])
    stack = faces(args.faces)
    equalize(stack[:2])
    image_stats(stack[:2])                         # compiled before timing
    bench = Bench(app, stack)
    page_draws(bench, stack, args.repeat)
    reps = -(-args.big // len(stack))
    # the faces again and again, each repeat shifted by a pixel (not exact duplicates)
    big = np.concatenate([np.roll(stack, k, axis=-1) for k in range(reps)])[:args.big]
    scrolling(bench, big, args.pages)
    bench.grid.shutdown()
    print("3. the statistics job (as the window runs it)")
    stats_job(app, stack, f"{len(stack):,} images")
    big_table, inspection = stats_job(app, big, f"{len(big):,} images")
    print(f"   the {len(big):,}-row table:")
    table_ops(big_table, inspection)
    return 0


if __name__ == "__main__":
    sys.exit(main())
