"""The hidden ``--inspect`` option: set up the inspection panels before a screenshot.

:func:`parse_inspect` reads ``sort=mean``, ``filter=flagged``,
``brush=mean:0:40``, ``thumbnails=equalized``, ``column=entropy``,
``set=12`` (the grid shows the set of duplicates of image 12), ``label=cat``
(a folder tree's label) and ``by-label`` (the column histogram's outlines
per label), comma separated; :func:`apply_inspect` applies it once the
statistics exist, and :func:`wait_for_inspection` waits for the statistics
and thumbnails a screenshot needs.
"""

from __future__ import annotations

import time

from PyQt5.QtCore import QEventLoop, QThread
from PyQt5.QtWidgets import QApplication

from ..core.stats import COLUMNS
from .inspection import FILTERS, NUMERIC_COLUMNS

__all__ = ["parse_inspect", "apply_inspect", "apply_inspect_when_ready", "wait_for_inspection"]


def parse_inspect(text):
    """``"sort=mean:desc,filter=flagged,brush=mean:0:40"`` as a dict (ValueError if wrong)."""
    spec = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        if key == "sort":
            column, _, order = value.partition(":")
            if column not in COLUMNS or order not in ("", "asc", "desc"):
                raise ValueError(f"sort={value!r}: give a column and optionally :desc, "
                                 "e.g. sort=mean:desc")
            spec["sort"] = (column, order == "desc")
        elif key == "filter":
            mode, _, column = value.partition(":")
            if mode not in FILTERS or (column and column not in NUMERIC_COLUMNS):
                raise ValueError(f"filter={value!r}: choose one of {', '.join(FILTERS)} "
                                 "(outliers:COLUMN for outliers of a column)")
            spec["filter"] = (mode, column or None)
        elif key == "brush":
            try:
                column, lo, hi = value.split(":")
                lo, hi = float(lo), float(hi)
            except ValueError:
                raise ValueError(f"brush={value!r}: give COLUMN:LO:HI, e.g. brush=mean:0:40") \
                    from None
            if column not in NUMERIC_COLUMNS:
                raise ValueError(f"brush={value!r}: {column!r} is not a numeric column")
            spec["brush"] = (column, lo, hi)
        elif key == "column":
            if value not in NUMERIC_COLUMNS:
                raise ValueError(f"column={value!r} is not a numeric column")
            spec["column"] = value
        elif key == "label":
            spec["label"] = value
        elif key == "by-label":
            spec["by_label"] = True
        elif key == "thumbnails":
            if value not in ("original", "equalized"):
                raise ValueError("thumbnails= takes original or equalized")
            spec["thumbnails"] = value
        elif key == "set":
            if not value.isdigit():
                raise ValueError(f"set={value!r}: give an image number, e.g. set=12")
            spec["set"] = int(value)
        else:
            raise ValueError(f"unknown setting {key!r}; use sort, filter, brush, column, "
                             "thumbnails, set, label or by-label")
    return spec


def apply_inspect(window, spec):
    """Apply a :func:`parse_inspect` dict to ``window``'s inspection and panels."""
    inspection = window.inspection
    if "column" in spec and "column_histogram" in window.panels:
        window.panel("column_histogram").set_column(spec["column"])
    if "brush" in spec:
        column = spec["brush"][0]
        if "column_histogram" in window.panels:
            window.panel("column_histogram").set_column(column)
        inspection.set_brush(*spec["brush"])
    if "filter" in spec:
        inspection.set_filter(*spec["filter"])
    if "sort" in spec:
        inspection.sort(*spec["sort"])
    if "label" in spec:
        inspection.set_label(spec["label"])
    if spec.get("by_label") and "column_histogram" in window.panels:
        window.panel("column_histogram").label_check.setChecked(True)
    if "thumbnails" in spec and "grid" in window.panels:
        window.panel("grid").set_equalized(spec["thumbnails"] == "equalized")
    if "set" in spec and spec["set"] < inspection.n_images:
        inspection.show_set(spec["set"])
        window.state.set_index(spec["set"])


def apply_inspect_when_ready(window, spec):
    """Apply ``spec`` (:func:`parse_inspect`) once, when the first table is ready."""
    inspection = window.inspection

    def ready():
        if inspection.table is not None:
            inspection.tableChanged.disconnect(ready)
            apply_inspect(window, spec)
    inspection.tableChanged.connect(ready)


def wait_for_inspection(window, timeout_ms=600_000):
    """Process events until the statistics (if a shown panel wants them) and thumbnails are made.

    Returns True if everything finished in time.
    """
    app = QApplication.instance()
    inspection = window.inspection
    grid = window.panels.get("grid")
    deadline = time.monotonic() + timeout_ms / 1000

    def busy():
        if inspection.busy or window.busy:
            return True
        if inspection.wanted and inspection.table is None and not inspection.problem \
                and window.state.stack is not None:
            return True
        return grid is not None and grid.isVisible() and grid.grid.runner.busy

    app.processEvents()
    while time.monotonic() < deadline:
        for _ in range(3):                      # the deferred starts (zero timers) run
            app.processEvents(QEventLoop.AllEvents, 20)
        if not busy():
            break
        QThread.msleep(5)
    app.processEvents()
    return not busy()
