"""'How it works': one help page per method, generated from the method's declaration.

The page shows what the method registry declares (label, summary, formula,
"how it works" text, the reference it reproduces and its source, the
parameters): a new method gets its page by being registered.  Every page
ends with the method run on the textbook's 3-bit example and on Wikipedia's 8x8 example
(:func:`histeq_gui.core.worked.worked_table`), so that the conventions can
be compared number by number.
"""

from __future__ import annotations

import html
import re

import numpy as np
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
)

from ..core import methods as _methods
from ..core.methods import METHODS
from ..core.worked import worked_table

__all__ = ["method_info", "method_help_html", "MethodHelp", "show_method_help",
           "BOOK_COUNTS", "WIKI_IMAGE"]

#: The textbook's example: counts of levels 0..7 of a 64x64 3-bit image (Gonzalez & Woods,
#: Example 3.5).
BOOK_COUNTS = (790, 1023, 850, 656, 329, 245, 122, 81)
#: Wikipedia's 8x8 example sub-image ("Histogram equalization").
WIKI_IMAGE = np.array([[52, 55, 61, 59, 79, 61, 76, 61], [62, 59, 55, 104, 94, 85, 59, 71],
                       [63, 65, 66, 113, 144, 104, 63, 72], [64, 70, 70, 126, 154, 109, 71, 69],
                       [67, 73, 68, 106, 122, 88, 68, 68], [68, 79, 60, 70, 77, 66, 58, 75],
                       [69, 85, 64, 58, 55, 61, 65, 83], [70, 87, 69, 68, 65, 73, 78, 90]],
                      np.uint8)


def method_info(name):
    """What the registry declares of method ``name``: a dict of texts.

    Keys: name, label, summary, formula (HTML), how, reference, source,
    params (a list of ``(name, default, text)``).

    Raises
    ------
    ValueError
        One line, for a method that is not registered.
    """
    m = _methods.get_method(name)
    params = [(p.name, p.default, "; ".join(t for t in (p.help, p.describe()) if t))
              for p in m.params]
    return {"name": m.name, "label": m.label, "summary": m.summary, "formula": m.formula,
            "how": m.how, "reference": m.reference, "source": m.source, "params": params}


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
    if info["formula"]:
        # The registry's formula is HTML written in the method's module (trusted markup).
        parts.append(f"<p><b>Formula</b>: {info['formula']}</p>")
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
    if info["how"]:
        parts.append("<h4>How it works</h4>" + markdown_html(info["how"]))
    parts.append(_examples(name))
    return "\n".join(parts)


def _inline_html(text):
    """One line of the registry's Markdown as HTML: code spans, bold, escaped asterisks."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<tt>{html.escape(part[1:-1])}</tt>")
            continue
        part = html.escape(part)
        part = re.sub(r"\*\*(\S(?:.*?\S)?)\*\*", r"<b>\1</b>", part)
        part = re.sub(r"(?<![\w\\*])\*(\S(?:.*?\S)?)\*(?![\w*])", r"<i>\1</i>", part)
        out.append(part.replace("\\*", "*"))
    return "".join(out)


def markdown_html(text):
    r"""A method's ``how`` (Markdown from its module's docstring) as HTML for the help page.

    Paragraphs, bulleted and numbered lists, indented blocks, code spans and
    bold: what :func:`~histeq_gui.core.methods.base.how_from_docstring` gives.

    Examples
    --------
    >>> markdown_html("Each pixel: `x ** 2`, 2\\*\\*3.\n\n- **uint8**: as is")
    '<p>Each pixel: <tt>x ** 2</tt>, 2**3.</p><ul><li><b>uint8</b>: as is</li></ul>'
    """
    out = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if all(line.startswith("    ") for line in lines):
            out.append("<pre>" + html.escape("\n".join(line[4:] for line in lines)) + "</pre>")
            continue
        paragraph, items, kind = [], [], None
        for line in lines:
            found = re.match(r"(- |(\d+)\. )(.*)", line)
            if found:
                kind = "ol" if found.group(2) else "ul"
                items.append(_inline_html(found.group(3)))
            elif items:
                items[-1] += " " + _inline_html(line)
            else:
                paragraph.append(_inline_html(line))
        if paragraph:
            out.append("<p>" + " ".join(paragraph) + "</p>")
        if items:
            out.append(f"<{kind}>" + "".join(f"<li>{item}</li>" for item in items) + f"</{kind}>")
    return "".join(out)


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
