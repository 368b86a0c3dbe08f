"""Make the PNGs in ``screenshots/`` from the real app.

Each picture is one run of ``python -m histeq_gui ... --screenshot OUT.png``
(offscreen, 1400x860 unless ``--size`` says otherwise, no remembered
settings), so the pictures show exactly what a user sees with those options.
The hard cases (dark, bright, 16-bit, a float stack with one outlier,
channel-first colour, 1800 faces) are written first by ``scripts/make_hard_cases.py`` into
a temporary folder; ``{hard}`` in an option stands for that folder.

The teaching views also use a few hard cases (a 16-bit photograph, a colour
photograph: ``scripts/make_hard_cases.py``) and the textbook's 3-bit example,
written into a temporary folder first.

Usage::

    python scripts/make_screenshots.py [--out screenshots] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARD_CASES = ("dark.npy", "bright.npy", "camera16.tif", "float_outlier.npy",
              "multipage_rgb.tif", "faces1800.npy", "astronaut_rgb.npy", "ragged", "moon12.tif",
              "audit_gray")

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
    "method_help_opencv_clahe.png": ("a method's help (the How it works button beside "
                                     "the method): its formula, what it reproduces, its "
                                     "parameters, and its module's own explanation",
                                     ["--method", "opencv-clahe", "--index", "5",
                                      "--show-method-help"]),
    "export_dialog.png": ("the export dialog (Ctrl+E), pre-filled from the viewer",
                          ["--method", "numpy", "--bins", "256", "--index", "5",
                           "--show-export"]),
    "export_dialog_region.png": ("the export dialog with the viewer's region of interest: the "
                                 "file holds what is shown (histeq --region)",
                                 ["--index", "5", "--roi", "30,20,40,36", "--show-export"]),
    "viewer_1366x768.png": ("the window a 1366x768 screen gives (1350x690 inside the frame)",
                            ["--method", "numpy", "--bins", "256", "--index", "13",
                             "--size", "1350x690"]),
    "viewer_1024x600.png": ("a 1024x600 screen: every panel fits, the trace is not cut off",
                            ["--index", "5", "--trace", "52,30", "--size", "1024x600"]),
    "viewer_match_12bit.png": ("match on 12-bit data in uint16 (the moon, an ImageJ TIFF): the "
                               "result keeps the 12-bit units, and its automatic display levels "
                               "are its saturated percentiles instead of a black picture",
                               ["{hard}/moon12.tif", "--method", "match", "--index", "3"]),
    "viewer_dark_every_bin.png": ("a dark uint8 face, 256 bins over the full 0..255 axis: "
                                  "every non-empty bin visible",
                                  ["{hard}/dark.npy", "--hist-range", "dtype", "--index", "2"]),
    "viewer_bright_every_bin.png": ("a bright uint8 face over 0..255: every non-empty bin "
                                    "visible", ["{hard}/bright.npy", "--hist-range", "dtype",
                                                "--index", "2"]),
    "viewer_16bit_every_bin.png": ("12-bit camera data in uint16 on its 0..65535 axis, "
                                   "skimage's thousands of value bins all visible",
                                   ["{hard}/camera16.tif", "--method", "skimage",
                                    "--hist-range", "dtype"]),
    "viewer_log_counts.png": ("log counts: a bin of one pixel beside one of thousands",
                              ["{hard}/dark.npy", "--log-counts", "--index", "2"]),
    "viewer_float_outlier_percentile.png": ("a float stack with one 1e6 hot pixel (in image 17)"
                                            ": with the stack's 0.35% saturated percentiles "
                                            "every original looks normal (the stack range "
                                            "would show them black)",
                                            ["{hard}/float_outlier.npy", "--index", "16",
                                             "--levels", "percentile"]),
    "viewer_multipage_rgb_colour.png": ("scikit-image's multipage_rgb.tif (2, 3, 10, 10) in "
                                        "colour with --channel-axis 1, a pixel traced",
                                        ["{hard}/multipage_rgb.tif", "--channel-axis", "1",
                                         "--trace", "3,4"]),
    "viewer_trace.png": ("one pixel traced: its bin, counts, CDF and output, marked on the "
                         "histogram, the CDF and the transfer curve",
                         ["--index", "5", "--trace", "52,30"]),
    "viewer_roi.png": ("a region of interest drives the histogram; its mapping equalizes the "
                       "whole image", ["--index", "5", "--roi", "30,20,40,36",
                                       "--trace", "45,40"]),
    # the 1800 faces with planted odd images (make_hard_cases.py)
    "inspect_stats.png": ("1800 faces: the statistics table sorted by mean, flagged cells "
                          "coloured, the column histogram of the mean",
                          ["{hard}/faces1800.npy", "--view", "stats", "--inspect", "sort=mean",
                           "--index", "400"]),
    "inspect_montage.png": ("1800 faces: the thumbnail grid brushed to a mean of 0-45 on the "
                            "column histogram, flags marked",
                            ["{hard}/faces1800.npy", "--view", "montage", "--inspect",
                             "brush=mean:0:45", "--index", "100"]),
    "inspect_montage_equalized.png": ("1800 faces: only the flagged images, equalized "
                                      "thumbnails",
                                      ["{hard}/faces1800.npy", "--view", "montage", "--inspect",
                                       "filter=flagged,thumbnails=equalized", "--index",
                                       "300"]),
    # CleanVision's checks on a folder of 600 gray faces and photographs of many sizes
    # (make_hard_cases.py's audit_gray: planted blurred, dark, tiny images, copies, re-encodings)
    "inspect_near_duplicate_sets.png": ("only the near duplicates (equal perceptual hashes, as "
                                        "CleanVision): the members of each set side by side, "
                                        "sets in order",
                                        ["{hard}/audit_gray", "--view", "montage", "--inspect",
                                         "filter=is_near_duplicate", "--index", "7"]),
    "inspect_near_duplicate_set.png": ("a member clicked: the grid shows its set (a face, its "
                                       "byte copy and a brighter twin) side by side",
                                       ["{hard}/audit_gray", "--view", "montage", "--inspect",
                                        "set=25", "--size", "1400x860"]),
    "inspect_blurry.png": ("only the blurry images (CleanVision's blurry score < 0.29), "
                           "sorted by it",
                           ["{hard}/audit_gray", "--view", "montage", "--inspect",
                            "filter=is_blurry,sort=blurry_score", "--index", "0"]),
    "inspect_12bit_range.png": ("12-bit data in 16-bit files: scored over 0..4095 (ImageJ's "
                                "12-bit range), no longer all dark",
                                ["{hard}/camera16.tif", "--view", "stats"]),
    # one picture per method of the registry beyond numpy and skimage (issue 7), on the dark
    # camera photograph of the sample (index 5)
    "method_opencv.png": ("opencv: OpenCV's equalizeHist, one cell per level on uint8",
                          ["--method", "opencv", "--index", "5"]),
    "method_imagej.png": ("imagej: ImageJ's Equalize, square roots of the counts",
                          ["--method", "imagej", "--index", "5"]),
    "method_imagej_classic.png": ("imagej-classic: ImageJ's Equalize with Alt, plain counts",
                                  ["--method", "imagej-classic", "--index", "5"]),
    "method_textbook.png": ("textbook with L = 8 output levels: s_k = round(7 cdf)",
                            ["--method", "textbook", "--param-levels", "8", "--index", "5"]),
    "method_clahe.png": ("clahe (clip limit 0.02): no single transfer curve, and the panel "
                         "says why", ["--method", "clahe", "--clip-limit", "0.02",
                                      "--index", "5"]),
    "method_match.png": ("match: the dark photograph matched to the histogram of image 4, "
                         "the same photograph well exposed",
                         ["--method", "match", "--reference", "4", "--index", "5"]),
    # a folder of photographs of different sizes (a ragged stack)
    "ragged_viewer.png": ("a folder of images of different sizes: each shown at its own size",
                          ["{hard}/ragged", "--index", "2"]),
    "ragged_montage.png": ("the same folder as letterboxed thumbnails, flags marked",
                           ["{hard}/ragged", "--view", "montage"]),
    # a dataset kept as a folder tree: photographs in class folders, gray and colour, JPEG
    # and PNG, of many sizes (made by photo_tree below)
    "tree_viewer.png": ("a folder tree of photographs in class folders: one dataset, each "
                        "image named by its path and labelled by its folder",
                        ["{hard}/tree", "--index", "9"]),
    "tree_stats_by_label.png": ("the tree's statistics table showing one label (cats), the "
                                "label chooser giving each label's count",
                                ["{hard}/tree", "--view", "stats", "--inspect",
                                 "label=cats,by-label", "--index", "4"]),
    "tree_montage.png": ("the tree as a thumbnail grid, each caption with its label; the "
                         "column histogram of the mean with one outline per label",
                         ["{hard}/tree", "--view", "montage", "--inspect", "by-label",
                          "--index", "12"]),
    # teaching views (issue 9); {hard} is the folder of hard cases and the textbook's example
    "compare_numpy_skimage.png": ("compare view: numpy vs skimage on a 16-bit photograph, their "
                                  "difference and its largest pixel",
                                  ["{hard}/camera16.tif", "--view", "compare", "--method", "numpy",
                                   "--compare", "skimage"]),
    "compare_8_bins.png": ("compare view: numpy with 256 bins vs 8 bins",
                           ["--view", "compare", "--method", "numpy", "--bins", "256",
                            "--compare", "numpy", "--compare-bins", "8", "--index", "5"]),
    "worked_table_textbook.png": ("worked table of the textbook's 3-bit example (L = 8)",
                                  ["{hard}/textbook_3bit.npy", "--view", "worked-table",
                                   "--output-levels", "8"]),
    "worked_table.png": ("worked table of the dark camera image: merged levels grouped",
                         ["--view", "worked-table", "--index", "5", "--method", "numpy"]),
    "not_flat.png": ("why it is not flat: output CDF, merged levels, equalize again",
                     ["--view", "not-flat", "--index", "5", "--method", "numpy"]),
    "colour_lesson.png": ("not-flat view of a colour photograph: per channel vs luminance only",
                          ["{hard}/astronaut_rgb.npy", "--view", "not-flat"]),
}

#: Counts of levels 0..7 of the textbook's 64x64 3-bit image (Gonzalez & Woods, Example 3.5).
TEXTBOOK_COUNTS = (790, 1023, 850, 656, 329, 245, 122, 81)


def photo_tree(root):
    """A dataset kept as a folder tree: scikit-image's photographs, cropped and resized, as
    JPEG and PNG files in class folders (one with a subfolder), gray and colour, beside a
    hidden file and a notes file the listing leaves out."""
    import numpy as np
    from PIL import Image
    from skimage import data

    classes = {"cats": ["chelsea", "cat"], "coffee": ["coffee"],
               "people": ["astronaut", "camera"], "space/moon": ["moon"],
               "space/rockets": ["rocket"], "things": ["coins", "clock", "page", "text"]}
    rng = np.random.default_rng(16)
    for folder, photos in classes.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for k in range(7):
            photo = getattr(data, photos[k % len(photos)])()
            height, width = photo.shape[:2]
            h, w = int(height * rng.uniform(0.5, 1)), int(width * rng.uniform(0.5, 1))
            y, x = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
            crop = Image.fromarray(photo[y:y + h, x:x + w])
            crop = crop.resize((max(w // 3, 8), max(h // 3, 8)), Image.LANCZOS)
            name = root / folder / f"{photos[k % len(photos)]}_{k + 1}"
            crop.save(f"{name}.jpg", quality=88) if k % 2 else crop.save(f"{name}.png")
    (root / "notes.txt").write_text("where the photographs come from: scikit-image\n")
    Image.fromarray(data.camera()[::32, ::32]).save(root / "cats" / ".thumbs.png")


def make_inputs(folder, env):
    """Write the hard cases, the textbook's example and the photograph tree into ``folder``."""
    import numpy as np

    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_hard_cases.py"),
                             "--out", str(folder), "--only", *HARD_CASES],
                            env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"make_hard_cases.py failed: {result.stderr.strip()}")
    image = np.repeat(np.arange(8, dtype=np.uint8), TEXTBOOK_COUNTS).reshape(64, 64)
    np.save(folder / "textbook_3bit.npy", image[np.newaxis])
    photo_tree(folder / "tree")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots",
                        help="folder for the PNGs (default: screenshots/)")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="pictures to make")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    shots = {name: shot for name, shot in SHOTS.items() if not args.only or name in args.only}
    with tempfile.TemporaryDirectory(prefix="histeq-shots-") as hard:
        if any("{hard}" in option for _, options in shots.values() for option in options):
            make_inputs(Path(hard), env)
        return _shoot(shots, args.out, env, hard)


def _shoot(shots, out, env, hard):
    failed = 0
    for name, (what, options) in shots.items():
        target = out / name
        options = [option.replace("{hard}", hard) for option in options]
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
