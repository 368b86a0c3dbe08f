"""Make the PNGs in ``screenshots/`` from the real app.

Each picture is one run of ``python -m histeq_gui ... --screenshot OUT.png``
(offscreen, 1400x860, no remembered settings), so the pictures show exactly
what a user sees with those options.  The inspection pictures use the
1800-face stack of ``scripts/make_hard_cases.py`` (made in its default
folder if it is not there yet).

Usage::

    python scripts/make_screenshots.py [--out screenshots]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> (what it shows, options); index 5 is the dark camera image of the sample
SHOTS = {
    "viewer_numpy_256_bins.png": ("sample stack, numpy method, 256 bins",
                                  ["--method", "numpy", "--bins", "256", "--index", "5"]),
    "viewer_numpy_8_bins.png": ("numpy method with only 8 bins: coarse steps in the map",
                                ["--method", "numpy", "--bins", "8", "--index", "5"]),
    "viewer_skimage.png": ("skimage method: one bin per value on uint8, the bins note shown",
                           ["--method", "skimage", "--bins", "256", "--index", "5"]),
    "viewer_whole_stack.png": ("whole-stack scope: one histogram maps every image",
                               ["--method", "numpy", "--bins", "256", "--scope", "stack",
                                "--index", "6"]),
    "export_dialog.png": ("the export dialog (Ctrl+E), pre-filled from the viewer",
                          ["--method", "numpy", "--bins", "256", "--index", "5",
                           "--show-export"]),
    # FACES: the 1800 faces with planted odd images (make_hard_cases.py)
    "inspect_stats.png": ("1800 faces: the statistics table sorted by mean, flagged cells "
                          "coloured, the column histogram of the mean",
                          ["FACES", "--view", "stats", "--inspect", "sort=mean", "--index",
                           "400"]),
    "inspect_montage.png": ("1800 faces: the thumbnail grid brushed to a mean of 0-45 on the "
                            "column histogram, flags marked",
                            ["FACES", "--view", "montage", "--inspect", "brush=mean:0:45",
                             "--index", "100"]),
    "inspect_montage_equalized.png": ("1800 faces: only the flagged images, equalized "
                                      "thumbnails",
                                      ["FACES", "--view", "montage", "--inspect",
                                       "filter=flagged,thumbnails=equalized", "--index",
                                       "300"]),
}


def _faces():
    """The 1800-face stack of make_hard_cases.py, made if missing."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_hard_cases import DEFAULT_OUT, main as make_cases
    path = DEFAULT_OUT / "faces1800.npy"
    if not path.exists():
        make_cases(["--only", path.name])
    return str(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots",
                        help="folder for the PNGs (default: screenshots/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    failed = 0
    for name, (what, options) in SHOTS.items():
        target = args.out / name
        options = [_faces() if option == "FACES" else option for option in options]
        result = subprocess.run([sys.executable, "-m", "histeq_gui", *options,
                                 "--screenshot", str(target)],
                                env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            failed += 1
            print(f"FAILED {name}: {result.stderr.strip()}", file=sys.stderr)
        else:
            print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
                  f"{what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
