"""Reading folders of image files: against the decoder itself, and a tree of 100,000 files.

Every figure is measured in this one run, the contenders taking turns
(median of ``--repeat`` rounds), and printed as a ratio to the plain
one-thread Pillow loop ``[np.asarray(Image.open(p)) for p in files]`` over
the same files, with the load average of the machine (figures taken under
load are indicative only):

1. A folder of ``--small`` (2,000) small PNG files, crops of scikit-image's
   photographs (colour and gray, 64x64): ``load_stack`` of the folder (on
   the decoding pool, the goal: at most 2/3 of the Pillow loop), the same
   with one thread, and imageio's ``imread`` loop (what the reader used
   before).
2. JPEG thumbnails: ``read_thumbnail`` (Pillow's ``draft``) against decoding
   the whole photograph, on ``--photos`` (200) photographs of 1024 pixels.
3. A tree of ``--big`` (100,000) tiny PNG files in 100 class folders:
   listing it (``list_folder``), opening it without reading the other headers
   and decoding its first image (``open_folder(probe=False)``), and the
   viewer: ``histeq-gui TREE`` from ``open_path`` until the first image is on
   screen (the goal: under 2 s; the window has shown the sample first, so
   that loading the compiled loops, once per process, is not counted), with
   how long the headers, statistics and thumbnails then take in the
   background and the longest pause of the window meanwhile.

The folders are made from scikit-image's photographs under ``--where``
(default a temporary folder; ``--keep`` leaves them there for the next run).

Usage::

    python benchmarks/bench_read.py [--repeat 5] [--small 2000] [--photos 200]
                                    [--big 100000] [--where DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data  # noqa: E402

from histeq_gui.core.io import list_folder, load_stack, open_folder, threads  # noqa: E402
from histeq_gui.core.io.images import read_image, read_thumbnail  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon",
          "immunohistochemistry")


def photographs():
    """scikit-image's photographs, as uint8 arrays (gray or RGB)."""
    return [getattr(data, name)() for name in PHOTOS]


def _made(folder, n):
    """True if ``folder`` holds ``n`` files from an earlier run; else it is made, empty."""
    if folder.exists() and len(os.listdir(folder)) == n:
        return True
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return False


def small_folder(where, n):
    """``n`` 64x64 crops of the photographs as PNG files, colour and gray (made once)."""
    folder = where / f"small{n}"
    if _made(folder, n):
        return folder
    rng = np.random.default_rng(0)
    photos = photographs()
    for i in range(n):
        photo = photos[i % len(photos)]
        y, x = rng.integers(0, photo.shape[0] - 64), rng.integers(0, photo.shape[1] - 64)
        crop = photo[y:y + 64, x:x + 64]
        if crop.ndim == 3:          # colour ones stay colour: the folder is read as colour
            Image.fromarray(crop).save(folder / f"{i:05d}.png")
        else:
            Image.fromarray(np.dstack([crop] * 3)).save(folder / f"{i:05d}.png")
    return folder


def photo_folder(where, n):
    """``n`` photographs of 1024 pixels (the longer side) as JPEG files (made once)."""
    folder = where / f"photos{n}"
    if _made(folder, n):
        return folder
    photos = [Image.fromarray(p) for p in photographs()]
    for i in range(n):
        photo = photos[i % len(photos)]
        scale = 1024 / max(photo.size)
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)))
        photo.save(folder / f"{i:04d}.jpg", quality=90)
    return folder


def big_tree(where, n, classes=100):
    """``n`` tiny PNG files (16x16 crops) in ``classes`` folders (made once)."""
    folder = where / f"tree{n}"
    marker = folder / ".complete"
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    rng = np.random.default_rng(1)
    photo = data.camera()
    crops = [photo[y:y + 16, x:x + 16] for y, x in rng.integers(0, 496, (256, 2))]
    encoded = []
    for crop in crops:
        path = where / "crop.png"
        Image.fromarray(crop).save(path)
        encoded.append(path.read_bytes())
    for c in range(classes):
        (folder / f"class{c:03d}").mkdir(parents=True)
    for i in range(n):
        (folder / f"class{i % classes:03d}" / f"{i:06d}.png").write_bytes(encoded[i % 256])
    marker.write_text("")
    return folder


def timed(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def rounds(contenders, repeat):
    """Median seconds of each contender, taking turns ``repeat`` times."""
    times = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, call in contenders.items():
            times[name].append(timed(call))
    return {name: statistics.median(values) for name, values in times.items()}


def one_thread(call):
    def run():
        real = threads.workers
        threads.workers = lambda: 1
        try:
            call()
        finally:
            threads.workers = real
    return run


def report(title, medians, base, goals=None):
    print(title)
    for name, seconds in medians.items():
        ratio = seconds / medians[base]
        goal = (goals or {}).get(name)
        verdict = "met" if goal is not None and ratio <= goal else "NOT met"
        mark = "" if goal is None else f"   goal <= {goal:.2f}: {verdict}"
        print(f"  {name:34s} {seconds * 1000:9.1f} ms   {ratio:5.2f} x {base}{mark}")


def bench_small(folder, repeat):
    files = sorted(str(p) for p in folder.iterdir())
    medians = rounds({
        "Pillow loop": lambda: [np.asarray(Image.open(p)) for p in files],
        "load_stack (decoding pool)": lambda: load_stack(folder),
        "load_stack (one thread)": one_thread(lambda: load_stack(folder)),
        "imageio imread loop": lambda: [iio.imread(p) for p in files],
    }, repeat)
    report(f"{len(files)} PNG files of 64x64 RGB ({threads.workers()} decoding threads):",
           medians, "Pillow loop", {"load_stack (decoding pool)": 2 / 3})


def bench_thumbnails(folder, repeat):
    files = sorted(folder.iterdir())
    medians = rounds({
        "whole JPEG (read_image)": lambda: [read_image(p, folder_item=True) for p in files],
        "draft (read_thumbnail 96)": lambda: [read_thumbnail(p, 96) for p in files],
    }, repeat)
    report(f"{len(files)} JPEG photographs of 1024 pixels, for 96-pixel thumbnails:", medians,
           "whole JPEG (read_image)")


def bench_tree(folder, repeat):
    listing = list_folder(folder)
    medians = rounds({
        "list_folder": lambda: list_folder(folder),
        "open_folder(probe=False) + image 0": lambda: open_folder(folder, probe=False).image(0),
    }, repeat)
    print(f"a tree of {listing.summary()}:")
    for name, seconds in medians.items():
        print(f"  {name:34s} {seconds * 1000:9.1f} ms")
    viewer_open(folder)


def viewer_open(folder):
    """``histeq-gui TREE``: from open_path to the first image drawn, then the statistics."""
    from PyQt5.QtCore import QElapsedTimer, QSize, QTimer
    from PyQt5.QtWidgets import QApplication

    from histeq_gui.gui.app import quiet_harmless_qt_notes
    from histeq_gui.gui.main_window import MainWindow

    quiet_harmless_qt_notes()
    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.fit(QSize(1400, 860))
    window.show()
    app.processEvents()
    # The sample first: what a fresh process pays once (loading the compiled loops) is not
    # the tree's.
    window.opener.open_sample()
    while window.state.stack is None or window.busy or window.controller.result is None:
        app.processEvents()
    start = time.perf_counter()
    window.opener.open_path(folder)

    def drawn():
        result = window.controller.result
        return window.state.stack is not None and window.state.stack.path == folder \
            and result is not None and result.index == 0

    while not drawn() and time.perf_counter() - start < 120:
        app.processEvents()
    app.processEvents()                         # the paint of that result
    seconds = time.perf_counter() - start
    print(f"  viewer: listing + first image drawn {seconds * 1000:11.1f} ms   goal < 2000 ms: "
          f"{'met' if seconds < 2 else 'NOT met'} ({window.state.stack.describe()})")
    gaps, clock = [], QElapsedTimer()
    clock.start()
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: gaps.append(clock.restart()))
    timer.start()
    stats_start = time.perf_counter()
    window.show_view("montage")                 # the grid and the column histogram: statistics
    inspection = window.inspection
    while (inspection.table is None or inspection.busy or window.busy) \
            and time.perf_counter() - stats_start < 900:
        app.processEvents()
    timer.stop()
    done = "made" if inspection.table is not None else "NOT made"
    print(f"  viewer: headers, statistics and thumbnails in the background "
          f"{time.perf_counter() - stats_start:7.1f} s ({done}); the window's longest pause "
          f"{max(gaps, default=0)} ms")
    window.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--where", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    where = args.where or Path(tempfile.mkdtemp(prefix="histeq-bench-read-"))
    where.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
          "(figures under load are indicative)")
    try:
        bench_small(small_folder(where, args.small), args.repeat)
        bench_thumbnails(photo_folder(where, args.photos), args.repeat)
        if args.big:
            bench_tree(big_tree(where, args.big), max(1, args.repeat // 2))
    finally:
        if not args.keep and args.where is None:
            shutil.rmtree(where, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
