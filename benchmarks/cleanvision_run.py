"""Run the real CleanVision on a folder and write what it finds; run with CleanVision's own Python.

CleanVision pins its own pandas and Pillow, so it lives in a virtual
environment of its own (``python3 -m venv /work/cv-venv &&
/work/cv-venv/bin/pip install cleanvision``) and this script runs there, as
a subprocess of ``benchmarks/bench_stats.py`` and
``scripts/verify_cleanvision.py``; it imports nothing of histeq_gui.

    /work/cv-venv/bin/python benchmarks/cleanvision_run.py FOLDER OUT.json [--n-jobs N]

``Imagelab(data_path=FOLDER).find_issues()`` checks every default issue
type.  OUT.json holds the seconds ``find_issues`` took, the version, the
file names (basenames, CleanVision's order), every ``*_score`` and
``is_*_issue`` column of ``imagelab.issues``, the raw blur values
(``blurriness``, ``blurriness_grayscale_std``) and the exact and near
duplicate sets as lists of file names.
"""

import argparse
import json
import math
import os
import sys
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("out")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="CleanVision's n_jobs (default: its own, the physical cores)")
    args = parser.parse_args(argv)

    import cleanvision
    from cleanvision import Imagelab

    lab = Imagelab(data_path=args.folder, verbose=False)
    start = time.perf_counter()
    lab.find_issues(n_jobs=args.n_jobs, verbose=False)
    seconds = time.perf_counter() - start
    issues = lab.issues
    names = [os.path.basename(path) for path in issues.index]

    def number(value):
        value = float(value)
        return None if math.isnan(value) else value

    columns = {}
    for column in issues.columns:
        values = issues[column].tolist()
        columns[column] = ([bool(v) for v in values] if column.startswith("is_")
                           else [number(v) for v in values])
    raw = {}
    blurry = lab.info.get("blurry", {})
    for key in ("blurriness", "blurriness_grayscale_std"):
        if key in blurry:
            raw[key] = [number(blurry[key][path]) for path in issues.index]
    sets = {}
    for kind in ("exact_duplicates", "near_duplicates"):
        sets[kind] = [[os.path.basename(path) for path in group]
                      for group in lab.info.get(kind, {}).get("sets", [])]
    json.dump({"seconds": seconds, "version": cleanvision.__version__, "names": names,
               "columns": columns, "raw": raw, "sets": sets,
               "n_jobs": args.n_jobs}, open(args.out, "w"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
