"""Export throughput and peak memory at 0.3, 1 and 3 GB, against a plain copy as the floor.

For each size a uint8 ``.npy`` stack of 512x512 images (photographs from
scikit-image, cropped, darkened or brightened and shifted per block so that
every image has its own histogram) is written in a temporary folder.  Then,
each in a fresh child process so that its peak resident memory (``VmHWM``)
is its own:

- ``floor``: ``np.save(out, np.load(in))``, the plain copy a disk-bound
  export cannot beat (one read, one write), timed without and with an
  ``fsync`` of the copy (the export fsyncs its output before moving it into
  place, so the second is the like-for-like floor once the data no longer
  fits in the kernel's write cache);
- ``image`` / ``stack``: ``histeq in.npy -o out.npy`` with ``--scope image``
  or ``--scope stack`` (uint8 in, uint8 out), through
  :func:`histeq_gui.core.export.export` with the input opened lazily, as the
  command does.

Throughput is the input's size over the wall time of the copy or the export
(the child's imports and a tiny warm-up export are not timed).  The runs are
interleaved and repeated; the best time of each is reported with its peak
memory.  Files are removed as soon as they are measured and the folder at
the end; sizes that do not fit in the free disk space (input, output and a
margin) are skipped.

Usage::

    python benchmarks/bench_scale.py [--sizes 0.3 1 3] [--repeat 2] [--dir DIR]

Goal (issue 10): time linear in the size, peak memory bounded (under 1 GB at
3 GB, either scope), at least half the floor's throughput for uint8 to uint8.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SIDE = 512

_CHILD = textwrap.dedent("""
    import json, os, sys, time
    import numpy as np

    def peak():
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM"))

    what, source, output = sys.argv[1:4]
    synced = None
    if what == "floor":
        start = time.perf_counter()
        with open(output, "wb") as fh:
            np.save(fh, np.load(source))
            seconds = time.perf_counter() - start
            fh.flush()
            os.fsync(fh.fileno())           # on disk, as the export's output is
        synced = time.perf_counter() - start
    else:
        from histeq_gui.core.export import ExportSettings, export
        from histeq_gui.core.io import open_reader

        settings = ExportSettings(scope=what)
        warm = np.zeros((4, 64, 64), np.uint8)
        export(warm, output + ".warm.npy", settings)           # compile and import first
        start = time.perf_counter()
        with open_reader(source) as reader:
            export(reader, output, settings)
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "synced": synced, "peak": peak()}))
""")


def _photos():
    """64 different 512x512 uint8 images from scikit-image's photographs."""
    from skimage import data, transform

    sources = [data.camera(), data.moon(), data.coins(), data.page(), data.text(),
               data.grass(), data.brick(), data.gravel()]
    rng = np.random.default_rng(1)
    out = []
    for i in range(64):
        photo = sources[i % len(sources)].astype(np.float64) / 255
        if min(photo.shape) < SIDE:
            photo = transform.resize(photo, (SIDE, SIDE))
        y, x = rng.integers(0, np.array(photo.shape) - SIDE + 1)
        crop = photo[y:y + SIDE, x:x + SIDE] ** [1, 2.5, 0.4, 1][i % 4]
        if i % 8 == 7:
            crop = 0.4 + 0.2 * crop                         # low contrast
        out.append(np.round(crop * 255).astype(np.uint8))
    return np.stack(out)


def make_stack(path, nbytes, photos):
    """A (N, 1, 512, 512) uint8 .npy of about ``nbytes``, written block by block."""
    n = max(1, int(nbytes // (SIDE * SIDE)))
    array = np.lib.format.open_memmap(path, "w+", np.uint8, (n, 1, SIDE, SIDE))
    for start in range(0, n, len(photos)):
        stop = min(start + len(photos), n)
        block = photos[:stop - start] + np.uint8(start // len(photos) * 7 % 40)
        array[start:stop, 0] = block
    array.flush()
    del array
    return n


def measure(what, source, output):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", _CHILD, what, str(source), str(output)],
                            capture_output=True, text=True, env=env, check=False)
    if result.returncode:
        raise SystemExit(f"{what} failed: {result.stderr.strip().splitlines()[-1:]}")
    for leftover in (Path(output), Path(str(output) + ".json"), Path(str(output) + ".warm.npy"),
                     Path(str(output) + ".warm.npy.json")):
        leftover.unlink(missing_ok=True)
    return json.loads(result.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.3, 1, 3],
                        help="stack sizes in GB (default: 0.3 1 3)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each (best is shown)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="folder for the temporary files (default: the system's temp)")
    args = parser.parse_args(argv)
    photos = _photos()
    rows = []
    with tempfile.TemporaryDirectory(prefix="histeq-bench-scale-", dir=args.dir) as folder:
        folder = Path(folder)
        for gb in args.sizes:
            nbytes = int(gb * 1e9)
            free = shutil.disk_usage(folder).free
            if free < 2 * nbytes + (1 << 30):
                print(f"{gb} GB: skipped, {free / 1e9:.1f} GB free on {folder} "
                      f"(needs {2 * nbytes / 1e9 + 1:.1f})")
                continue
            source = folder / "in.npy"
            n = make_stack(source, nbytes, photos)
            size = source.stat().st_size
            best, synced = {}, []
            for _ in range(args.repeat):
                for what in ("floor", "image", "stack"):
                    run = measure(what, source, folder / "out.npy")
                    if what not in best or run["seconds"] < best[what]["seconds"]:
                        best[what] = dict(run)
                    if what == "floor":
                        synced.append(run["synced"])
            best["floor"]["synced"] = min(synced)   # the best of each floor on its own
            source.unlink()
            rows.append((size, n, best))
            _print_row(size, n, best)
    print()
    print("| stack | floor: `np.save(np.load())` | floor + fsync | `--scope image` | "
          "`--scope stack` |")
    print("| --- | --- | --- | --- | --- |")
    for size, n, best in rows:
        floor = best["floor"]
        cells = [f"{_speed(size, floor['seconds'])}, peak {_mib(floor['peak'])}",
                 f"{_speed(size, floor['synced'])}"]
        for what in ("image", "stack"):
            run = best[what]
            cells.append(f"{_speed(size, run['seconds'])}, peak {_mib(run['peak'])}; "
                         f"**{floor['seconds'] / run['seconds']:.2f}x** / "
                         f"**{floor['synced'] / run['seconds']:.2f}x** the floors")
        print(f"| {size / 1e9:.2f} GB ({n} x 512x512 uint8) | " + " | ".join(cells) + " |")


def _speed(size, seconds):
    return f"{size / seconds / 1e6:.0f} MB/s ({seconds:.1f} s)"


def _mib(nbytes):
    return f"{nbytes / 2**20:.0f} MiB"


def _print_row(size, n, best):
    parts = [f"{what} {size / best[what]['seconds'] / 1e6:.0f} MB/s "
             f"({best[what]['seconds']:.2f} s, peak {best[what]['peak'] / 2**20:.0f} MiB)"
             for what in ("floor", "image", "stack")]
    print(f"{size / 1e9:.2f} GB: " + "; ".join(parts), flush=True)


if __name__ == "__main__":
    main()
