"""'How it works': one help page per method, generated from the method's declaration.

The page reads what the method registry declares (label, summary, formula or
"how it works" text, the reference it reproduces and its source, the
parameters) with ``getattr`` and defaults, so that it shows whatever the
registry provides; for the methods that predate the registry it falls back
on :data:`FORMULAS`.  Every page ends with the method run on the textbook's
3-bit example and on Wikipedia's 8x8 example
(:func:`histeq_gui.core.worked.worked_table`), so that the conventions can
be compared number by number.
"""

from __future__ import annotations

import html

import numpy as np
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel,
                             QTextBrowser, QVBoxLayout)

from ..core import methods as _methods
from ..core.methods import METHODS
from ..core.worked import worked_table

__all__ = ["FORMULAS", "method_info", "method_help_html", "MethodHelp", "show_method_help",
           "BOOK_COUNTS", "WIKI_IMAGE"]

#: The formula of each convention, for methods whose declaration does not state one.
FORMULAS = {
    "numpy": ("C<sub>k</sub> = &Sigma;<sub>j&le;k</sub> n<sub>j</sub> / (N &Delta;<sub>j</sub>) "
              "(np.histogram's density, cumulated); "
              "T(x) = interp(x, left edges e<sub>k</sub>, "
              "255 C<sub>k</sub> / C<sub>K</sub>) / 255"),
    "skimage": ("cdf<sub>k</sub> = &Sigma;<sub>j&le;k</sub> n<sub>j</sub> / N; "
                "T(x) = interp(x, bin centres c<sub>k</sub>, cdf<sub>k</sub>); "
                "integer images: one bin per integer value"),
    "opencv": ("s<sub>k</sub> = round((cdf(r<sub>k</sub>) &minus; cdf<sub>min</sub>) / "
               "(N &minus; cdf<sub>min</sub>) &middot; 255) in single precision; "
               "T(r<sub>k</sub>) = s<sub>k</sub> / 255"),
    "textbook": ("s<sub>k</sub> = round((L &minus; 1) &Sigma;<sub>j&le;k</sub> n<sub>j</sub> / N); "
                 "T(r<sub>k</sub>) = s<sub>k</sub> / (L &minus; 1)"),
}

_FALLBACK = {
    "numpy": dict(label="NumPy recipe (the seed Q&A thread)",
                  summary="np.histogram's CDF interpolated at the LEFT bin edges.",
                  reference="the NumPy answer of the seed Q&A thread, divided by 255",
                  source="tests/core/references.py: seed_recipe"),
    "skimage": dict(label="scikit-image equalize_hist",
                    summary="The CDF interpolated at the bin CENTRES; integer images get one "
                            "bin per integer value (bins is ignored).",
                    reference="skimage.exposure.equalize_hist(image, nbins=bins)",
                    source="skimage/exposure/exposure.py (equalize_hist, "
                           "cumulative_distribution)"),
}

#: The textbook's example: counts of levels 0..7 of a 64x64 3-bit image (Gonzalez & Woods,
#: Example 3.5).
BOOK_COUNTS = (790, 1023, 850, 656, 329, 245, 122, 81)
#: Wikipedia's 8x8 example sub-image ("Histogram equalization").
WIKI_IMAGE = np.array([[52, 55, 61, 59, 79, 61, 76, 61], [62, 59, 55, 104, 94, 85, 59, 71],
                       [63, 65, 66, 113, 144, 104, 63, 72], [64, 70, 70, 126, 154, 109, 71, 69],
                       [67, 73, 68, 106, 122, 88, 68, 68], [68, 79, 60, 70, 77, 66, 58, 75],
                       [69, 85, 64, 58, 55, 61, 65, 83], [70, 87, 69, 68, 65, 73, 78, 90]],
                      np.uint8)


def _declaration(name):
    """The registry's declaration of method ``name`` (None before the registry, or if unknown)."""
    get_method = getattr(_methods, "get_method", None)
    if get_method is None:
        return None
    try:
        return get_method(name)
    except (KeyError, ValueError):
        return None


def method_info(name):
    """What is known of method ``name``: a dict of texts (empty strings when not declared).

    Keys: name, label, summary, formula, how, reference, source, params (a
    list of ``(name, default, text)``).  Read from the registry's
    declaration when there is one, else from :data:`FORMULAS` and the
    built-in notes.
    """
    declared = _declaration(name)
    fallback = _FALLBACK.get(name, {})

    def text(attribute):
        value = getattr(declared, attribute, None) if declared is not None else None
        return str(value) if value else fallback.get(attribute, "")

    params = []
    for p in getattr(declared, "params", ()) or ():
        describe = getattr(p, "describe", None)
        what = describe() if callable(describe) else ""
        params.append((getattr(p, "name", "?"), getattr(p, "default", None),
                       "; ".join(t for t in (getattr(p, "help", ""), what) if t)))
    if not params and declared is None:
        params = [("bins", 256, "number of equal-width bins")]
    return {"name": name, "label": text("label") or name, "summary": text("summary"),
            "formula": text("formula"), "how": text("how"), "reference": text("reference"),
            "source": text("source"), "params": params}


def _examples(name):
    """HTML rows: the method on the textbook's and Wikipedia's examples (or why not)."""
    book = np.repeat(np.arange(8, dtype=np.uint8), BOOK_COUNTS).reshape(64, 64)
    try:
        t = worked_table(book, name, levels=8)
        w = worked_table(WIKI_IMAGE, name, rows="present")
    except ValueError as exc:
        return f"<p><i>No worked example: {html.escape(str(exc))}</i></p>"
    book_row = "".join(f"<td align='right'>{s}</td>" for s in t["s"].tolist())
    rounded = "".join(f"<td align='right'>{s}</td>" for s in np.rint(t["scaled"]).astype(int))
    wiki = dict(zip((int(r) for r in w["r"]), w["s"].tolist()))
    return (
        "<h4>On the textbook's example (64&times;64, L = 8)</h4>"
        "<table cellspacing='0' cellpadding='3' border='1' style='border-collapse: collapse'>"
        "<tr><th>r<sub>k</sub></th>" + "".join(f"<td align='right'>{k}</td>" for k in range(8))
        + "</tr><tr><th>n<sub>k</sub></th>"
        + "".join(f"<td align='right'>{n}</td>" for n in BOOK_COUNTS)
        + f"</tr><tr><th>round(7&middot;cdf)</th>{rounded}</tr>"
        f"<tr><th>s<sub>k</sub> ({html.escape(name)})</th>{book_row}</tr></table>"
        f"<p>Distinct levels: {t.levels_before} before, {t.levels_after} after.</p>"
        "<h4>On Wikipedia's 8&times;8 example (L = 256)</h4>"
        f"<p>52 &rarr; {wiki[52]}, 78 &rarr; {wiki[78]}, 154 &rarr; {wiki[154]} "
        "(Wikipedia, with OpenCV's formula: 0, 182, 255).</p>")


def method_help_html(name):
    """The help page of method ``name`` as HTML (title, formula, reference, parameters, examples).

    Examples
    --------
    >>> page = method_help_html("skimage")
    >>> "centre" in page.lower() and "52 &rarr;" in page
    True
    """
    info = method_info(name)
    e = html.escape
    parts = [f"<h3>{e(info['name'])} &mdash; {e(info['label'])}</h3>"]
    if info["summary"]:
        parts.append(f"<p>{e(info['summary'])}</p>")
    formula = info["formula"] or FORMULAS.get(name, "")
    if formula:
        # FORMULAS hold trusted markup; a declared formula is plain text.
        shown = formula if not info["formula"] else e(formula)
        parts.append(f"<p><b>Formula</b>: {shown}</p>")
    if info["how"]:
        parts.append(f"<p><b>How it works</b>: {e(info['how'])}</p>")
    if info["reference"]:
        parts.append(f"<p><b>Reproduces</b>: {e(info['reference'])}</p>")
    if info["source"]:
        parts.append(f"<p><b>Source</b>: {e(info['source'])}</p>")
    if info["params"]:
        rows = "".join(f"<tr><td><tt>{e(str(n))}</tt></td><td>{e(repr(d))}</td>"
                       f"<td>{e(t)}</td></tr>" for n, d, t in info["params"])
        parts.append("<p><b>Parameters</b></p><table cellspacing='0' cellpadding='3'>"
                     f"<tr><th align='left'>name</th><th align='left'>default</th>"
                     f"<th align='left'></th></tr>{rows}</table>")
    parts.append(_examples(name))
    return "\n".join(parts)


class MethodHelp(QDialog):
    """A non-modal window showing :func:`method_help_html` for a chosen method.

    Attributes
    ----------
    combo : QComboBox
        The method shown (every registered method).
    browser : QTextBrowser
        The page.
    """

    def __init__(self, method="numpy", parent=None):
        super().__init__(parent)
        self.setWindowTitle("How the methods work")
        self.combo = QComboBox()
        for name in METHODS:
            self.combo.addItem(name, name)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setMinimumSize(620, 520)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.close)
        row = QHBoxLayout()
        row.addWidget(QLabel("Method"))
        row.addWidget(self.combo, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self.combo.currentIndexChanged.connect(lambda i: self._show(self.combo.itemData(i)))
        self.show_method(method)

    def show_method(self, method):
        """Show the page of ``method`` (the first method if it is not registered)."""
        index = max(self.combo.findData(method), 0)
        if index != self.combo.currentIndex():
            self.combo.setCurrentIndex(index)     # shows it
        else:
            self._show(self.combo.itemData(index))

    def _show(self, method):
        if method is not None:
            self.browser.setHtml(method_help_html(method))

    def text(self):
        """The page as plain text (for tests)."""
        return self.browser.toPlainText()


def show_method_help(widget, method):
    """Show (or bring forward) the one help window of ``widget``'s window on ``method``.

    Returns the :class:`MethodHelp` window.
    """
    owner = widget.window() if widget is not None else None
    box = getattr(owner, "_method_help", None)
    if box is None:
        box = MethodHelp(method, owner)
        box.setAttribute(Qt.WA_DeleteOnClose, False)
        if owner is not None:
            owner._method_help = box
    else:
        box.show_method(method)
    box.show()
    box.raise_()
    return box
