"""The statistics of the stack shown, shared by the inspection panels (a Qt model, no widgets).

:class:`Inspection` keeps the table :func:`histeq_gui.core.stats.image_stats`
makes for the viewer's stack and settings, and what the user does with it:
a filter (flags, or robust-z outliers of a column), a brush (a range of one
column, dragged on the column histogram), a sort order and the rows selected
in the table.  From these it derives :attr:`Inspection.rows`, the image
indices to show, in order: the statistics table, the column histogram and
the thumbnail grid all draw that one list, so a filter, a brush or a sort
made in one panel shows in all of them.  A folder tree's images carry a
label (their first folder, from their names): :meth:`Inspection.set_label`
shows one label's images, before any statistics are made.

The table is computed in a background job (:class:`~histeq_gui.gui.jobs.Runner`:
progress, Cancel, a new request cancels the one before it) when the stack,
method, bins or scope change, and only while a panel that needs it is shown
(:meth:`Inspection.want`): a hidden table costs nothing.  A new stack drops
the old table at once (no stale rows); a new method keeps the old table on
screen, marked :attr:`~Inspection.stale`, until the new one is ready.

Everything here is NumPy over whole columns: filtering, brushing and sorting
100,000 rows takes milliseconds, and the panels read single values from the
arrays (:meth:`Inspection.value`), never copies of them.
"""

from __future__ import annotations

import weakref

import numpy as np
from PyQt5 import sip
from PyQt5.QtCore import QEvent, QObject, QTimer, pyqtSignal
from PyQt5.QtWidgets import QDockWidget

from ..core.errors import first_line
from ..core.io import labels_of, natural_key
from ..core.stats import COLUMNS, THRESHOLDS, StatsTable, image_stats, outliers, robust_z
from .compute import params_key
from .jobs import Runner
from .stats_format import telling_flags

__all__ = ["Inspection", "FLAGS", "FILTERS", "NUMERIC_COLUMNS", "OUTLIER_BIT", "flag_bits",
           "flag_reasons", "describe_filter", "describe_value_range", "image_set",
           "want_while_shown"]

#: The quality flags, in order: column -> (bit, label, colour on a dark background,
#: colour of a flagged cell on a light background, the score column it comes from).
FLAGS = {
    "is_dark": (1, "dark", "#8c7bff", "#ded8ff", "dark_score"),
    "is_light": (2, "light", "#fbbc04", "#fff0c2", "light_score"),
    "is_low_information": (4, "low information", "#12b5cb", "#c9f1f6",
                           "low_information_score"),
    "is_blurry": (32, "blurry", "#7cacf8", "#d2e3fc", "blurry_score"),
    "is_grayscale": (64, "grayscale", "#9aa0a6", "#e8eaed", "grayscale_score"),
    "is_odd_aspect_ratio": (128, "odd aspect ratio", "#f538a0", "#fdd3ea",
                            "odd_aspect_ratio_score"),
    "is_odd_size": (256, "odd size", "#a1887f", "#e7dcd8", "odd_size_score"),
    "is_constant": (8, "constant", "#ff6d01", "#ffdcc2", None),
    "is_duplicate": (16, "duplicate", "#ea4335", "#fbd0cc", "duplicate_of"),
    "is_near_duplicate": (512, "near duplicate", "#f6aea9", "#fce8e6", "near_duplicate_of"),
}
#: Bit of a robust-z outlier of the filter's column (while the outlier filter is on).
OUTLIER_BIT = 1024
OUTLIER_COLOURS = ("#34a853", "#cdeed5")

#: Filter modes: name -> what the filter menu says.
FILTERS = {"all": "All images", "flagged": "Flagged (any flag)",
           **{column: f"Only {spec[1]}" for column, spec in FLAGS.items()},
           "outliers": "Outliers of a column (robust z)"}

#: Columns with numbers one can plot, brush and look for outliers in.
NUMERIC_COLUMNS = tuple(name for name, (dtype, _) in COLUMNS.items()
                        if dtype in ("float64", "int64") and name not in ("index",
                                                                           "duplicate_of",
                                                                           "near_duplicate_of"))

#: The column naming each image's set, for the filters that show sets.
_SET_OF = {"is_near_duplicate": "near_duplicate_of", "is_duplicate": "duplicate_of"}

_SCORE_FLAG = {spec[4]: column for column, spec in FLAGS.items()
               if spec[4] is not None and spec[4].endswith("_score")}
_SCORE_FLAG["exact_duplicates_score"] = "is_duplicate"


def flag_bits(table):
    """The bits of :data:`FLAGS` each image has (uint16).

    Grayscale counts only in a stack that also holds colour images: in a
    stack of gray images CleanVision's grayscale flag is on every image and
    tells nothing about any one of them (the column still says it).
    """
    bits = np.zeros(len(table["index"]), np.uint16)
    telling = telling_flags(table)
    for column, (bit, *_rest) in FLAGS.items():
        if column in telling:
            bits[telling[column]] |= bit
    return bits


def flag_reasons(table, i):
    """Why image row ``i`` of ``table`` is flagged: one short sentence per flag (a list)."""
    reasons = []
    info = getattr(table, "info", {})
    for column, (_, label, _, _, score) in FLAGS.items():
        if not table[column][i]:
            continue
        if column == "is_duplicate":
            reasons.append(f"duplicate: the same pixels as image {int(table['duplicate_of'][i])}")
        elif column == "is_near_duplicate":
            members = np.flatnonzero(table["near_duplicate_of"] == table["near_duplicate_of"][i])
            others = ", ".join(str(j) for j in members[members != i][:8])
            more = "…" if len(members) > 9 else ""
            reasons.append(f"near duplicate: the same perceptual hash {table['phash'][i]} as "
                           f"image {others}{more} (set of {len(members)})"
                           if info.get("near_duplicate_radius", 0) == 0 else
                           f"near duplicate: perceptual hash within "
                           f"{info['near_duplicate_radius']} bits of image {others}{more} "
                           f"(set of {len(members)})")
        elif column == "is_constant":
            reasons.append("constant: one value everywhere")
        elif column == "is_grayscale":
            reasons.append("grayscale: a gray image (grayscale_score 0; CleanVision)")
        elif column == "is_odd_size":
            cut = info.get("odd_size_threshold", 0.5)
            reasons.append(f"{label}: {score} {float(table[score][i]):.4g} < {cut:g} "
                           f"({table['width'][i]}x{table['height'][i]} against the stack's "
                           "sizes: CleanVision's IQR rule)")
        else:
            key = column[3:]
            reasons.append(f"{label}: {score} {float(table[score][i]):.4g} < {THRESHOLDS[key]} "
                           "(CleanVision's default threshold)")
    return reasons


def describe_value_range(table):
    """The range the table's brightness scores run over, in words (for captions)."""
    info = getattr(table, "info", {})
    rule = info.get("value_range_rule")
    if not rule:
        return ""
    text = f"Dark and light scores over {rule}"
    if info.get("near_duplicate_radius"):
        text += f"; near duplicates within {info['near_duplicate_radius']} bits"
    checks = info.get("checks")
    return f"{text}; checks as {checks}" if checks else text


def image_set(table, index):
    """``(kind, members)``: the near-duplicate (else exact-duplicate) set of image ``index``.

    ``kind`` is ``"near duplicate"`` or ``"duplicate"``; None when the image
    is in no set.
    """
    near = int(table["near_duplicate_of"][index])
    if near >= 0:
        return "near duplicate", np.flatnonzero(table["near_duplicate_of"] == near)
    first = int(table["duplicate_of"][index])
    first = index if first < 0 else first
    members = np.flatnonzero((table["duplicate_of"] == first) |
                             (table["index"] == first))
    if len(members) > 1:
        return "duplicate", members
    return None


def describe_filter(mode, column=None, threshold=3.5, side="both"):
    """The filter in words, e.g. ``"outliers of mean (|robust z| > 3.5)"``."""
    if mode == "outliers":
        cut = {"both": f"|robust z| > {threshold:g}", "low": f"robust z < -{threshold:g}",
               "high": f"robust z > {threshold:g}"}[side]
        return f"outliers of {column} ({cut})"
    return FILTERS[mode].removeprefix("Only ").lower() if mode != "all" else "all images"


class Inspection(QObject):
    """Statistics of the viewer's stack, with the filter, brush, sort and selection on them.

    Parameters
    ----------
    state : ViewerState
        Followed: a new stack, method, bins or scope asks for a new table.
    parent : QObject, optional

    Signals
    -------
    tableChanged()
        A new table (or none: a new stack whose table is not made yet).
    rowsChanged()
        :attr:`rows` changed: a new table, filter, brush or sort.
    filterChanged()
        The filter changed (:attr:`filter`).
    brushChanged(object)
        The brush ``(column, lo, hi)``, or None once cleared.
    sortChanged(str, bool)
        Column sorted by ("" for image order) and whether descending.
    selectionChanged()
        :attr:`selected` changed.
    focusChanged()
        :attr:`focus` changed: a set of duplicates to show side by side, or none.
    busyChanged(bool)
        The statistics job started, or ended.
    problemChanged(str)
        Why there is no table (one line: the job failed or was cancelled),
        or "" once there is one.
    labelChanged(object)
        The label shown (:attr:`label`: a folder's name, or None for all).

    Attributes
    ----------
    runner : Runner
        The statistics jobs (for the status bar's progress and Cancel).
    """

    tableChanged = pyqtSignal()
    rowsChanged = pyqtSignal()
    filterChanged = pyqtSignal()
    brushChanged = pyqtSignal(object)
    sortChanged = pyqtSignal(str, bool)
    selectionChanged = pyqtSignal()
    focusChanged = pyqtSignal()
    busyChanged = pyqtSignal(bool)
    problemChanged = pyqtSignal(str)
    labelChanged = pyqtSignal(object)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.runner = Runner("statistics", self)
        self.runner.busyChanged.connect(self.busyChanged)
        self._table = None
        self._table_key = None          # what the table describes
        self._job_key = None            # what the running job computes
        self._failed_key = None         # settings whose job failed or was cancelled
        self._problem = ""
        self._bits = None
        self._wanted = weakref.WeakSet()
        self._want_timer = QTimer(self)       # a panel shown and hidden at once (the tabs
        self._want_timer.setSingleShot(True)  # behind a dock's front tab, as the window
        self._want_timer.setInterval(0)       # opens) does not start a job
        self._want_timer.timeout.connect(self.refresh)
        self._filter = ("all", "mean", 3.5, "both")
        self._brush = None
        self._label = None
        self._labels, self._label_names, self._label_counts = None, [], []
        self._sort = ("", False)
        self._selected = np.zeros(0, np.int64)
        self._focus = None
        self._mask = None
        self._z = None
        self._rows = np.zeros(0, np.int64)
        self._position = np.zeros(0, np.int64)
        state.stackChanged.connect(self._on_stack_changed)
        state.changed.connect(self.refresh)
        self._update_rows(emit=False)

    # ------------------------------------------------------------------ the table
    @property
    def table(self):
        """The :class:`~histeq_gui.core.stats.StatsTable` shown, or None."""
        return self._table

    @property
    def stale(self):
        """True when the table shown was made with other settings than the state's."""
        return self._table is not None and self._table_key != self._key()

    @property
    def busy(self):
        """True while the statistics job runs."""
        return self.runner.busy

    @property
    def problem(self):
        """Why there is no up-to-date table (one line), or ""."""
        return self._problem

    @property
    def n_images(self):
        """Images in the stack (0 without one)."""
        return self.state.n_images

    def _key(self):
        state, stack = self.state, self.state.stack
        if stack is None:
            return None
        bins = None if state.method_spec.ignores_bins(stack.dtype) else state.bins
        return (stack, state.method, bins, state.scope, params_key(state.params))

    def want(self, owner, wanted=True):
        """Say whether ``owner`` (a shown panel, say) needs the table.

        The statistics are computed only while someone wants them: panels
        say so through :func:`want_while_shown`.  The job starts once the
        events of the moment are handled (a panel shown and hidden at once
        starts none).  Returns whether anyone wants them now.
        """
        if wanted:
            self._wanted.add(owner)
            self._want_timer.start()
        else:
            self._wanted.discard(owner)
        return bool(len(self._wanted))

    @property
    def wanted(self):
        """True while some panel needs the table."""
        return bool(len(self._wanted))

    def refresh(self, force=False):
        """Start the statistics job if the table is not up to date (and someone wants it).

        A job that failed or was cancelled is not started again for the same
        settings unless ``force`` (the panel's "Compute" button).
        """
        key = self._key()
        if key is None or key == self._table_key or not self.wanted:
            return
        if key == self._job_key and self.runner.busy:
            return                      # it is being computed
        if key == self._failed_key and not force:
            return
        stack, method, bins, scope, _ = key
        params = self.state.params          # the method's own (stack-aware: the whole stack's)
        array = stack.array if stack.in_memory else stack.reader    # read block by block
        axis = stack.layout.channel_axis
        if stack.ragged and axis is not None:
            axis = -1                       # each image (H, W, C) of its own size
        bins = self.state.bins if bins is None else bins
        names = stack.names                 # a folder's file names, for the "name" column

        def job(report):
            return image_stats(array, method=method, bins=bins, scope=scope, channel_axis=axis,
                               names=names,
                               progress=lambda done, total: report("Statistics", done, total),
                               **params)

        self._job_key = key
        self._set_problem("")
        self.runner.start(job, on_done=lambda table: self._on_done(key, table),
                          on_error=lambda message, error: self._on_failed(key, message, error),
                          on_cancel=lambda: self._on_cancelled(key),
                          name=f"statistics of {stack.name}")

    def cancel(self):
        """Stop the statistics job (as the status bar's Cancel does)."""
        self.runner.cancel()

    def _on_done(self, key, table):
        self._job_key = None
        self._failed_key = None
        if key[0] is not self.state.stack:
            return
        self._set_table(table, key)
        self.refresh()          # the settings may have moved on meanwhile

    def _on_failed(self, key, message, error):
        self._job_key = None
        self._failed_key = key
        self._set_problem(f"Statistics failed: {first_line(message)}")

    def _on_cancelled(self, key):
        self._job_key = None
        self._failed_key = key
        self._set_problem("Statistics cancelled")

    def _set_problem(self, problem):
        if problem != self._problem:
            self._problem = problem
            self.problemChanged.emit(problem)

    def _on_stack_changed(self):
        self.runner.abandon()
        self._job_key = self._failed_key = None
        self._set_problem("")
        self._brush = None
        self._selected = np.zeros(0, np.int64)
        self._read_labels()
        self._set_table(None, None)
        self.brushChanged.emit(None)
        self.labelChanged.emit(self._label)

    # ------------------------------------------------------------------ labels
    def _read_labels(self):
        """Each image's label from the stack's names (a folder tree).

        The label shown is kept if the new stack has it.
        """
        stack = self.state.stack
        names = None if stack is None else stack.names
        labels = None if names is None else np.array(labels_of(names), dtype=str)
        if labels is None or not labels.any():         # no subfolder: nothing to choose
            self._labels, self._label_names, self._label_counts = None, [], []
        else:
            found, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
            order = sorted(range(len(found)), key=lambda k: natural_key(str(found[k])))
            rank = np.empty(len(found), np.int64)
            rank[order] = np.arange(len(found))
            self._labels = rank[codes.ravel()]      # a label's number, in natural order
            self._label_names = [str(found[k]) for k in order]
            self._label_counts = [int(counts[k]) for k in order]
        if self._label not in self._label_names:
            self._label = None

    @property
    def labels(self):
        """Each image's label number (int64, into :meth:`label_counts`), or None without labels."""
        return self._labels

    def label_of(self, index):
        """The label of image ``index`` ("" at the top folder), or None without labels."""
        if self._labels is None or not 0 <= index < len(self._labels):
            return None
        return self._label_names[self._labels[index]]

    def label_counts(self):
        """``[(label, images)]`` of the stack, labels in natural order ("" for the top folder)."""
        return list(zip(self._label_names, self._label_counts))

    @property
    def label(self):
        """The label whose images are shown, or None for every label."""
        return self._label

    def set_label(self, label):
        """Show only the images of ``label`` (a folder of the tree; "" for the top), or all."""
        if label is not None and label not in self._label_names:
            raise ValueError(f"no label {label!r} in this stack; its labels: "
                             f"{', '.join(map(str, self._label_names)) or 'none'}")
        if label != self._label:
            self._label = label
            self.labelChanged.emit(label)
            self._update_rows()

    def _set_table(self, table, key):
        self._table, self._table_key = table, key
        self.clear_focus()
        self._bits = None if table is None else flag_bits(table)
        if table is not None and self._brush is not None and self._brush[0] not in table:
            self._brush = None
        self.tableChanged.emit()
        self._update_rows()

    def shutdown(self, timeout_ms=None):
        """Cancel the job and wait for its thread (the window is closing)."""
        for tracker in self.__dict__.pop("_trackers", []):
            tracker.detach()
        return self.runner.shutdown(timeout_ms)

    # ------------------------------------------------------------------ filter, brush, sort
    @property
    def filter(self):
        """``(mode, column, threshold, side)``; mode is a key of :data:`FILTERS`."""
        return self._filter

    def set_filter(self, mode, column=None, threshold=None, side=None):
        """Show only some images: see :data:`FILTERS`.

        ``column``, ``threshold`` and ``side`` are the outlier filter's (see
        :func:`histeq_gui.core.stats.outliers`); None keeps the current ones.
        """
        if mode not in FILTERS:
            raise ValueError(f"unknown filter {mode!r}; choose one of {', '.join(FILTERS)}")
        _, old_column, old_threshold, old_side = self._filter
        column = old_column if column is None else column
        if column not in NUMERIC_COLUMNS:
            raise ValueError(f"no outliers in column {column!r}; choose one of "
                             f"{', '.join(NUMERIC_COLUMNS)}")
        threshold = old_threshold if threshold is None else float(threshold)
        side = old_side if side is None else side
        new = (mode, column, threshold, side)
        if new != self._filter:
            self._filter = new
            self.filterChanged.emit()
            self._update_rows()

    def describe_filter(self):
        """The filter in words (for labels and the CSV sidecar)."""
        return describe_filter(*self._filter)

    @property
    def brush(self):
        """``(column, lo, hi)``: only images whose value lies in ``[lo, hi]``; or None."""
        return self._brush

    def set_brush(self, column, lo, hi):
        """Brush the range ``[lo, hi]`` of ``column`` (a numeric column)."""
        if column not in NUMERIC_COLUMNS:
            raise ValueError(f"cannot brush column {column!r}; choose one of "
                             f"{', '.join(NUMERIC_COLUMNS)}")
        lo, hi = sorted((float(lo), float(hi)))
        brush = (column, lo, hi)
        if brush != self._brush:
            self._brush = brush
            self.brushChanged.emit(brush)
            self._update_rows()

    def clear_brush(self):
        """Show every image the filter lets through again."""
        if self._brush is not None:
            self._brush = None
            self.brushChanged.emit(None)
            self._update_rows()

    @property
    def sort_key(self):
        """``(column, descending)``; column "" is the image order."""
        return self._sort

    def sort(self, column, descending=False):
        """Order the rows by ``column`` (stable: ties keep image order; NaN last)."""
        if column and column not in COLUMNS:
            raise ValueError(f"unknown column {column!r}")
        key = (column or "", bool(descending))
        if key != self._sort:
            self._sort = key
            self.sortChanged.emit(*key)
            self._update_rows()

    # ------------------------------------------------------------------ rows
    @property
    def rows(self):
        """Image indices shown, in order (int64).

        Without a table: every image, in order (the filter and the brush
        need the statistics).
        """
        return self._rows

    @property
    def mask(self):
        """Per image: whether it passes the filter, the brush and the label (None: all pass)."""
        return self._mask

    def row_of(self, index):
        """Where image ``index`` is in :attr:`rows`, or -1 if it is filtered out."""
        if 0 <= index < len(self._position):
            return int(self._position[index])
        return -1

    def filter_mask(self):
        """Per image: whether it passes the filter alone (None: all pass, or no table)."""
        table, (mode, column, threshold, side) = self._table, self._filter
        if table is None or mode == "all":
            return None
        if mode == "flagged":
            return self._bits != 0
        if mode == "outliers":
            return outliers(table, column, threshold, side)
        return np.asarray(table[mode], bool)

    def _update_rows(self, emit=True):
        table = self._table
        n = self.n_images if table is None else table.n_images
        mask = None
        self._z = None
        if table is not None:
            mask = self.filter_mask()
            if self._filter[0] == "outliers":
                self._z = robust_z(table, self._filter[1])
            if self._brush is not None:
                column, lo, hi = self._brush
                values = np.asarray(table[column], np.float64)
                with np.errstate(invalid="ignore"):
                    inside = (values >= lo) & (values <= hi)
                mask = inside if mask is None else mask & inside
        if self._label is not None and self._labels is not None and len(self._labels) == n:
            chosen = self._labels == self._label_names.index(self._label)
            mask = chosen if mask is None else mask & chosen
        self._mask = mask
        rows = np.arange(n, dtype=np.int64) if mask is None else np.flatnonzero(mask)
        column, descending = self._sort
        if table is not None and column and len(rows) > 1:
            rows = rows[np.argsort(_ranks(table[column], descending)[rows], kind="stable")]
        elif len(rows) > 1 and self._set_keys(rows) is not None:
            # the members of each set together, sets in the order of their first image
            rows = rows[np.argsort(self._set_keys(rows), kind="stable")]
        self._rows = rows.astype(np.int64, copy=False)
        position = np.full(n, -1, np.int64)
        position[self._rows] = np.arange(len(self._rows))
        self._position = position
        if emit:
            self.rowsChanged.emit()

    def row_sets(self):
        """Per row, its set (the set's first image) while a filter shows sets, else None.

        The "only near duplicates" and "only duplicates" filters put each
        set's members together (unless a column sorts the rows).
        """
        return self._set_keys(self._rows)

    def _set_keys(self, rows):
        """The set of each of ``rows`` under a filter that shows sets (and no sort), or None."""
        table, mode = self._table, self._filter[0]
        if table is None or mode not in _SET_OF or self._sort[0]:
            return None
        first = np.asarray(table[_SET_OF[mode]])[rows]
        return np.where(first >= 0, first, rows)

    # ------------------------------------------------------------------ reading
    def value(self, column, index):
        """The value of ``column`` for image ``index`` (a NumPy scalar)."""
        return self._table[column][index]

    def flags(self, index):
        """The flag bits of image ``index`` (:data:`FLAGS`, plus :data:`OUTLIER_BIT`)."""
        if self._bits is None or not 0 <= index < len(self._bits):
            return 0
        bits = int(self._bits[index])
        if self._z is not None and self._filter[0] == "outliers" and self._mask is not None:
            if self._is_outlier(index):
                bits |= OUTLIER_BIT
        return bits

    def _is_outlier(self, index):
        _, _, threshold, side = self._filter
        z = self._z[index]
        if side == "low":
            return bool(z < -threshold)
        if side == "high":
            return bool(z > threshold)
        return bool(abs(z) > threshold)

    def robust_z(self, index):
        """Robust z of image ``index`` in the outlier filter's column, or None."""
        return None if self._z is None else float(self._z[index])

    def reasons(self, index):
        """Why image ``index`` is marked: one sentence per flag (and outlier)."""
        if self._table is None:
            return []
        reasons = flag_reasons(self._table, index)
        if self.flags(index) & OUTLIER_BIT:
            _, column, threshold, _ = self._filter
            reasons.append(f"outlier: robust z of {column} = {self._z[index]:.3g} "
                           f"(cut {threshold:g})")
        return reasons

    def cell_flag(self, column, index):
        """The flag that marks the cell ``column`` of image ``index``, or None.

        A flag column marks its own cell, a score its flag's, ``duplicate_of``
        the duplicate flag, and the outlier filter's column its outliers.
        """
        if self._bits is None:
            return None
        bits = self.flags(index)
        if column in FLAGS:
            return column if bits & FLAGS[column][0] else None
        flag = _SCORE_FLAG.get(column)
        if flag is not None:
            return flag if bits & FLAGS[flag][0] else None
        if column == "duplicate_of":
            return "is_duplicate" if bits & FLAGS["is_duplicate"][0] else None
        if column == self._filter[1] and bits & OUTLIER_BIT:
            return "outlier"
        return None

    def subset(self, rows=None):
        """A :class:`StatsTable` of the given image indices (default: :attr:`rows`), in order."""
        rows = self._rows if rows is None else np.asarray(rows, np.int64)
        table = self._table
        return StatsTable({name: values[rows] for name, values in table.items()}, table.info)

    # ------------------------------------------------------------------ sets
    @property
    def focus(self):
        """``(kind, index, members)``: the set of image ``index`` shown side by side, or None.

        ``kind`` is "near duplicate" or "duplicate" (:func:`image_set`).
        """
        return self._focus

    def show_set(self, index):
        """Show the set image ``index`` belongs to side by side; False if it is in none."""
        found = None if self._table is None else image_set(self._table, int(index))
        if found is None:
            return False
        focus = (found[0], int(index), found[1])
        if self._focus is None or self._focus[0] != focus[0] or \
                not np.array_equal(self._focus[2], focus[2]):
            self._focus = focus
            self.focusChanged.emit()
        elif self._focus[1] != focus[1]:
            self._focus = focus                 # the same set, another member clicked
        return True

    def clear_focus(self):
        """Show the rows again instead of a set."""
        if self._focus is not None:
            self._focus = None
            self.focusChanged.emit()

    # ------------------------------------------------------------------ selection
    @property
    def selected(self):
        """Image indices selected in the table (int64, in image order)."""
        return self._selected

    def set_selected(self, indices):
        """Select these images (the table's selection)."""
        indices = np.unique(np.asarray(list(indices), np.int64))
        if not np.array_equal(indices, self._selected):
            self._selected = indices
            self.selectionChanged.emit()


class _ShownTracker(QObject):
    """Tells an inspection whether a widget is on screen (see :func:`want_while_shown`)."""

    def __init__(self, widget, inspection):
        super().__init__(widget)
        self.widget = widget
        self.inspection = inspection
        self.dock = None
        self.in_front = True
        widget.installEventFilter(self)
        inspection.__dict__.setdefault("_trackers", []).append(self)

    def detach(self):
        """Stop filtering the widget's events (its window closes)."""
        if not sip.isdeleted(self) and not sip.isdeleted(self.widget):
            self.widget.removeEventFilter(self)

    def eventFilter(self, watched, event):
        if sip.isdeleted(self.widget) or sip.isdeleted(self.inspection):
            return False
        if event.type() in (QEvent.Show, QEvent.Hide, QEvent.ParentChange):
            self._follow_dock()
            self._update()
        return False

    def _follow_dock(self):
        dock = self.widget.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is not self.dock:
            if self.dock is not None:
                self.dock.visibilityChanged.disconnect(self._on_dock)
            self.dock = dock
            self.in_front = True
            if dock is not None:
                dock.visibilityChanged.connect(self._on_dock)

    def _on_dock(self, visible):
        self.in_front = visible
        self._update()

    def _update(self):
        self.inspection.want(self.widget, self.widget.isVisible() and self.in_front)


def want_while_shown(widget, inspection):
    """Make ``inspection`` compute its table while ``widget`` is on screen.

    On screen: shown, and if it sits in a dock, that dock visible and, when
    it shares its place with other docks as tabs, its tab in front (Qt keeps
    the docks behind other tabs "visible", out of sight).
    """
    return _ShownTracker(widget, inspection)


def _ranks(values, descending):
    """Integer sort keys of a column: equal values equal keys; NaN last either way."""
    values = np.asarray(values)
    if values.dtype.kind == "b":
        values = values.astype(np.int8)
    nan = np.isnan(values) if values.dtype.kind == "f" else None
    _, ranks = np.unique(values, return_inverse=True)
    ranks = ranks.reshape(-1).astype(np.int64)
    if descending:
        ranks = ranks.max(initial=0) - ranks
    if nan is not None and nan.any():
        ranks[nan] = len(values) + 1
    return ranks
