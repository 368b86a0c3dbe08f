"""Cold and warm start of the viewer and of ``histeq``: time until the first image is shown.

Run:  python benchmarks/bench_startup.py [--runs 3] [--what first-image ...] [--fresh-venv]

What "cold" means here, by default: this checkout's code (``python -m
histeq_gui`` and ``python -m histeq_gui.cli`` from this folder) in a new
process whose ``NUMBA_CACHE_DIR`` is a new empty folder, so every compiled
loop is made for the first time, as after a fresh install.  "Warm" is a
second new process with the same cache folder.  Every cold run gets its own
folder.

With ``--fresh-venv`` (needs pip to build a wheel, and hatchling, fetched
as needed): a fresh virtual environment with this checkout
installed from a wheel (``pip install``, which also compiles the ``.pyc``
files, as a user's install does), so numba's cache beside the installed
code is empty and every compiled loop is made for the first time.  The
dependencies (NumPy, numba, PyQt5, ...) come from the environment running
this script (a ``.pth`` file points at its site-packages), as they would
after their own install; ``NUMBA_CACHE_DIR`` is removed from the children's
environment.  "Warm" is the second run in the same environment.

Measured, from the moment the child process is spawned (wall clock):

``first-image``
    ``histeq-gui`` on the bundled sample (offscreen) until the viewer has
    drawn its first equalized image (computed by the NumPy kernels), and
    until it has its fast (compiled) kernels ready (prepared in the
    background meanwhile).  The viewer reports both when ``HISTEQ_GUI_REPORT_START``
    is set (see :mod:`histeq_gui.gui.startup`); a checkout without that
    report is timed by ``screenshot`` only.
``screenshot``
    ``histeq-gui --screenshot out.png`` until the process has exited (the
    window built, the sample loaded and equalized, rendered, written).
``export``
    ``histeq SAMPLE -o out.npy`` until the process has exited.

Medians over ``--runs`` runs are printed (with every run), as a Markdown
table.  The machine is shared: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHAT = ("first-image", "screenshot", "export")


def build_wheel(source, folder):
    """A wheel of the checkout ``source`` (built by pip, hatchling fetched as needed)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder),
                    str(source)], check=True)
    wheels = sorted(Path(folder).glob("histeq_gui-*.whl"))
    if not wheels:
        raise SystemExit(f"no wheel was built from {source}")
    return wheels[-1]


def fresh_install(wheel, folder):
    """A new virtual environment with ``wheel`` installed; returns its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    bin_dir = folder / "bin"
    python = bin_dir / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True)
    # The dependencies: this interpreter's site-packages, after the new environment's own.
    Path(site, "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return bin_dir


class Install:
    """How to run the programs: a fresh environment's commands, or this checkout's code.

    ``bin_dir`` None: ``python -m`` from ``source`` with ``NUMBA_CACHE_DIR`` set to
    ``cache`` (an empty folder for a cold start).
    """

    def __init__(self, bin_dir=None, source=ROOT, cache=None):
        self.bin_dir, self.source, self.cache = bin_dir, Path(source), cache

    def command(self, program):
        if self.bin_dir is not None:
            return [str(self.bin_dir / program)]
        module = {"histeq-gui": "histeq_gui", "histeq": "histeq_gui.cli"}[program]
        return [sys.executable, "-m", module]

    def python(self):
        return str(self.bin_dir / "python") if self.bin_dir is not None else sys.executable


def child_env(settings, install=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE",
                        "PYTHONPYCACHEPREFIX", "HISTEQ_GUI_REPORT_START")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["XDG_CONFIG_HOME"] = str(settings / "config")     # never the user's settings
    env["XDG_CACHE_HOME"] = str(settings / "cache")       # nor numba's user-wide cache
    if install is not None and install.bin_dir is None:
        env["PYTHONPATH"] = str(install.source)
        env["NUMBA_CACHE_DIR"] = str(install.cache)
    return env


def time_first_image(install, work):
    """Seconds to the first image and to the fast kernels, and to the exit (or None)."""
    env = child_env(work, install)
    env["HISTEQ_GUI_REPORT_START"] = "exit"
    start = time.time()
    result = subprocess.run(install.command("histeq-gui") + ["--settings", str(work / "s.ini")],
                            env=env, capture_output=True, text=True, timeout=900,
                            cwd=install.source if install.bin_dir is None else None)
    end = time.time()
    events = {}
    for line in result.stdout.splitlines():
        parts = line.split(maxsplit=3)          # "histeq-gui-start:", event, time, details
        if len(parts) >= 3 and parts[0] == "histeq-gui-start:":
            events[parts[1]] = float(parts[2]) - start
    if "first-image" not in events:
        return None
    return events["first-image"], events.get("kernels-ready"), end - start


def time_command(command, env, cwd=None):
    start = time.time()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900,
                            cwd=cwd)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{result.stderr}")
    return time.time() - start


def _cwd(install):
    return install.source if install.bin_dir is None else None


def time_screenshot(install, work):
    return time_command(install.command("histeq-gui") + ["--screenshot", str(work / "shot.png")],
                        child_env(work, install), _cwd(install))


def time_export(install, work, sample):
    out = work / "out.npy"
    return time_command(install.command("histeq") + [str(sample), "-o", str(out),
                                                     "--overwrite"],
                        child_env(work, install), _cwd(install))


def sample_path(install, work):
    return subprocess.run([install.python(), "-c", "from histeq_gui.gui.resources import "
                           "SAMPLE_STACK, resource_path; print(resource_path(SAMPLE_STACK))"],
                          check=True, capture_output=True, text=True, cwd=_cwd(install),
                          env=child_env(work, install)).stdout.strip()


def _load():
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


def measure(what, wheel, runs, temp, source):
    """{(what, "cold"/"warm", label): [seconds per run]}; ``wheel`` None: NUMBA_CACHE_DIR."""
    times = {}
    for run in range(runs):
        for item in what:
            work = Path(tempfile.mkdtemp(prefix=f"{item}-{run}-", dir=temp))
            if wheel is not None:
                install = Install(fresh_install(wheel, work / "venv"))
            else:
                install = Install(source=source, cache=work / "numba-cache")
                install.cache.mkdir()
            for phase in ("cold", "warm"):
                if item == "first-image":
                    got = time_first_image(install, work)
                    if got is None:
                        print("  (this checkout does not report its first image; use "
                              "--what screenshot)")
                        what = [w for w in what if w != "first-image"]
                        break
                    for label, value in zip(("first image", "fast kernels ready", "exit"),
                                            got):
                        if value is not None:
                            times.setdefault((item, phase, label), []).append(value)
                elif item == "screenshot":
                    times.setdefault((item, phase, "exit"), []).append(
                        time_screenshot(install, work))
                else:
                    times.setdefault((item, phase, "exit"), []).append(
                        time_export(install, work, sample_path(install, work)))
            shutil.rmtree(work, ignore_errors=True)
            print(f"  run {run + 1}/{runs} {item} done (load {_load()})", flush=True)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="the checkout to install (default: this one)")
    parser.add_argument("--what", nargs="+", choices=WHAT, default=list(WHAT))
    parser.add_argument("--fresh-venv", action="store_true",
                        help="install a wheel of the checkout in a new virtual environment "
                             "per run, instead of an empty NUMBA_CACHE_DIR")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="histeq-startup-") as temp:
        temp = Path(temp)
        if args.fresh_venv:
            wheel = build_wheel(args.source, temp / "wheel")
            print(f"{wheel.name} from {args.source}; {os.cpu_count()} CPUs, load {_load()}")
        else:
            wheel = None
            print(f"{args.source} with an empty NUMBA_CACHE_DIR per cold run; "
                  f"{os.cpu_count()} CPUs, load {_load()}")
        times = measure(args.what, wheel, args.runs, temp, args.source.resolve())
    print(f"\nload average at the end: {_load()}; {args.runs} runs, median (all runs), "
          "seconds from spawn\n")
    print("| what | until | cold | warm |")
    print("| --- | --- | --- | --- |")
    keys = sorted({(w, label) for w, _, label in times}, key=lambda k: (WHAT.index(k[0]), k[1]))
    for item, label in keys:
        cells = []
        for phase in ("cold", "warm"):
            values = times.get((item, phase, label), [])
            runs = ", ".join(f"{v:.2f}" for v in values)
            cells.append(f"{statistics.median(values):.2f} ({runs})" if values else "-")
        print(f"| {item} | {label} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
