"""Compare image_stats with the real CleanVision on a folder: scores to 1e-9, flags and sets.

CleanVision runs in its own virtual environment (it pins its own pandas and
Pillow; see ``benchmarks/cleanvision_run.py``); this program reads the same
folder (``open_reader(folder, mixed=True)``) and describes it with
``image_stats``.  Rows are matched by file name.

Usage::

    python scripts/verify_cleanvision.py [--folder /tmp/audit] [--images 2400]
        [--cleanvision-python /work/cv-venv/bin/python]

Without ``--folder`` (or when it does not exist) the audit folder of
``scripts/make_hard_cases.py`` is written first.  Prints, per issue type,
the largest score difference and the flags that differ, then the sets;
exits 1 if anything differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from histeq_gui.core.io import open_reader  # noqa: E402
from histeq_gui.core.stats import image_stats  # noqa: E402

#: CleanVision's issue types and this program's columns (score, flag).
ISSUE_COLUMNS = {
    "dark": ("dark_score", "is_dark"),
    "light": ("light_score", "is_light"),
    "low_information": ("low_information_score", "is_low_information"),
    "blurry": ("blurry_score", "is_blurry"),
    "grayscale": ("grayscale_score", "is_grayscale"),
    "odd_aspect_ratio": ("odd_aspect_ratio_score", "is_odd_aspect_ratio"),
    "odd_size": ("odd_size_score", "is_odd_size"),
    "exact_duplicates": ("exact_duplicates_score", None),
    "near_duplicates": ("near_duplicates_score", "is_near_duplicate"),
}
DEFAULT_PYTHON = "/work/cv-venv/bin/python"


def run_cleanvision(folder, python=DEFAULT_PYTHON, n_jobs=None):
    """CleanVision's findings on ``folder`` (``cleanvision_run.py``'s JSON, as a dict)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cleanvision.json"
        command = [python, str(ROOT / "benchmarks" / "cleanvision_run.py"), str(folder), str(out)]
        if n_jobs is not None:
            command += ["--n-jobs", str(n_jobs)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"CleanVision failed: {done.stderr.strip()[-2000:]}")
        return json.loads(out.read_text())


def our_table(folder, **options):
    """This program's reading and image_stats of the folder."""
    with open_reader(folder, mixed=True) as images:
        return image_stats(images, channel_axis="auto", names=images.names, **options)


def sets_of(first, names):
    """Sets as frozensets of file names from a ``first`` column (-1: in no set)."""
    groups = {}
    for i, j in enumerate(np.asarray(first)):
        if j >= 0:
            groups.setdefault(int(j), set()).add(str(names[i]))
    return {frozenset(g) for g in groups.values()}


def compare(cv, table):
    """Lines describing the comparison, and whether everything agrees."""
    names = [str(n) for n in table["name"]]
    row = {name: i for i, name in enumerate(names)}
    order = np.array([row[name] for name in cv["names"]])       # CleanVision's rows in ours
    lines, ok = [], True
    for issue, (score_column, flag_column) in ISSUE_COLUMNS.items():
        theirs = np.array([np.nan if v is None else v for v in cv["columns"][f"{issue}_score"]])
        ours = np.asarray(table[score_column], np.float64)[order]
        both_nan = np.isnan(theirs) & np.isnan(ours)
        difference = np.where(both_nan, 0.0, np.abs(ours - theirs))
        worst = float(np.nanmax(difference)) if len(difference) else 0.0
        if np.isnan(difference).any():
            worst = np.inf
        their_flags = np.array(cv["columns"][f"is_{issue}_issue"], bool)
        our_flags = (np.asarray(table[flag_column], bool) if flag_column is not None
                     else np.asarray(table[score_column]) != 1)[order]
        flags_differ = int((their_flags != our_flags).sum())
        good = worst <= 1e-9 and flags_differ == 0
        ok &= good
        lines.append(f"  {issue:18s} largest score difference {worst:.1e}, flags differ on "
                     f"{flags_differ} of {len(order)} ({int(their_flags.sum())} flagged)"
                     f"{'' if good else '   <-- DIFFERS'}")
    for raw in ("blurriness", "blurriness_grayscale_std"):
        theirs = np.array([np.nan if v is None else v for v in cv["raw"][raw]])
        ours = np.asarray(table[raw])[order]
        worst = float(np.nanmax(np.abs(ours - theirs)))
        ok &= worst <= 1e-9
        lines.append(f"  {raw:18s} largest difference {worst:.1e}")
    for kind, column in (("exact_duplicates", "exact"), ("near_duplicates", "near")):
        theirs = {frozenset(s) for s in cv["sets"][kind]}
        if column == "exact":
            first = np.where(table["duplicate_of"] >= 0, table["duplicate_of"], -1)
            first[first[first >= 0]] = first[first >= 0]           # the first members too
            ours = sets_of(first, names)
        else:
            ours = sets_of(table["near_duplicate_of"], names)
        same = theirs == ours
        ok &= same
        lines.append(f"  {kind:18s} {len(theirs)} sets ({sum(len(s) for s in theirs)} images)"
                     f", {'the same sets' if same else f'DIFFER: {len(theirs ^ ours)} sets'}")
    return lines, ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path("/tmp/audit"))
    parser.add_argument("--images", type=int, default=2400)
    parser.add_argument("--cleanvision-python", default=DEFAULT_PYTHON)
    args = parser.parse_args(argv)
    if not args.folder.exists():
        from make_hard_cases import audit_folder
        audit_folder(args.folder, args.images)
    cv = run_cleanvision(args.folder, args.cleanvision_python)
    table = our_table(args.folder)
    lines, ok = compare(cv, table)
    print(f"{args.folder}: {table.n_images} images; CleanVision {cv['version']} against "
          f"image_stats ({table.info['checks']})")
    print("\n".join(lines))
    print("everything agrees" if ok else "DIFFERENCES FOUND")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
