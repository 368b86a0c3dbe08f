"""The viewer's key bindings: one table, read by the actions, the F1 help and the README.

Every key of the viewer is one :class:`Binding` of :data:`BINDINGS`.  The
window's actions take their keys from it (:func:`keys_of`), F1 shows it
(:func:`html_table`), ``histeq-gui --help`` sums it up (:func:`summary`) and
``scripts/update_readme.py`` writes it into the README (:func:`markdown_table`);
a test checks that every shortcut bound in the window is a row of the table
and every row's keys are bound, so neither can drift from the program.

This module imports no Qt (the README script reads it without a display);
key names are written as ``QKeySequence`` reads them ("Ctrl+Shift+E",
"PgUp").
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Binding", "BINDINGS", "GROUPS", "binding", "keys_of", "markdown_table",
           "html_table", "summary"]


@dataclass(frozen=True)
class Binding:
    """One line of the key table.

    Attributes
    ----------
    name : str
        What the program calls it (``keys_of("export")``).
    keys : tuple of str
        The keys, as ``QKeySequence`` reads them; more than one when several
        keys do one thing (Left and Right step back and forward).
    what : str
        What the keys do, for the help and the README.
    group : str
        One of :data:`GROUPS`.
    action : bool
        True when the keys are a window shortcut (an action of a menu);
        False for keys a widget handles itself (Enter and Esc while typing a
        number, Esc on the column histogram, Ctrl+C in the worked table's
        rows).
    """

    name: str
    keys: tuple
    what: str
    group: str
    action: bool = True


GROUPS = ("Images", "Files", "Views", "Panels", "Help")

BINDINGS = (
    Binding("step", ("Left", "Right"), "previous / next image", "Images"),
    Binding("ends", ("Home", "End"), "first / last image", "Images"),
    Binding("jump", ("PgUp", "PgDown"), "10 images back / forward", "Images"),
    Binding("play", ("Space",), "play / pause (the speed is the fps box beside the slider)",
            "Images"),
    Binding("zoom", ("Ctrl+0",), "fit the image in the views again (after zooming)", "Images"),
    Binding("region", ("Ctrl+R",), "a region of interest: its pixels make the histogram "
            "(and the export's)", "Images"),
    Binding("typing", ("Enter", "Esc"), "after typing in Index or Bins: use the number / undo "
            "it (the keys above work wherever the focus is, except while you type)", "Images",
            action=False),
    Binding("open", ("Ctrl+O",), "open a stack (or drop a file or folder on the window)",
            "Files"),
    Binding("open-folder", ("Ctrl+Shift+O",), "open a folder of images", "Files"),
    Binding("export", ("Ctrl+E",), "export the equalized stack", "Files"),
    Binding("export-stats", ("Ctrl+Shift+E",), "export the statistics table (CSV)", "Files"),
    Binding("figure", ("Ctrl+Shift+S",), "save the images and plots as one PNG", "Files"),
    Binding("quit", ("Ctrl+Q",), "quit (asks first while an export runs)", "Files"),
    Binding("view:viewer", ("Ctrl+1",), "the viewer: images, histograms, transfer curve",
            "Views"),
    Binding("view:stats", ("Ctrl+2",), "the statistics table beside the images", "Views"),
    Binding("view:montage", ("Ctrl+3",), "the thumbnail grid beside the images", "Views"),
    Binding("view:compare", ("Ctrl+4",), "compare two settings (whole window)", "Views"),
    Binding("view:worked-table", ("Ctrl+5",), "the worked table (whole window)", "Views"),
    Binding("view:not-flat", ("Ctrl+6",), "why it is not flat (whole window)", "Views"),
    Binding("copy-rows", ("Ctrl+C",), "worked table: copy the selected rows for a spreadsheet",
            "Panels", action=False),
    Binding("clear-brush", ("Esc",), "column histogram: remove the brushed range", "Panels",
            action=False),
    Binding("help", ("F1",), "this help", "Help"),
)


def binding(name: str) -> Binding:
    """The binding called ``name``; a KeyError names the known ones."""
    for b in BINDINGS:
        if b.name == name:
            return b
    raise KeyError(f"no key binding {name!r}; known: {', '.join(b.name for b in BINDINGS)}")


def keys_of(name: str) -> tuple:
    """The keys of binding ``name`` (``keys_of("export") == ("Ctrl+E",)``)."""
    return binding(name).keys


def _shown(keys):
    return " / ".join(keys)


def markdown_table() -> str:
    """The bindings as a Markdown table, one row per binding, in groups (for the README).

    Examples
    --------
    >>> print(markdown_table().splitlines()[2])
    | Left / Right | previous / next image |
    """
    rows = ["| keys | what they do |", "| --- | --- |"]
    for group in GROUPS:
        for b in BINDINGS:
            if b.group == group:
                rows.append(f"| {_shown(b.keys)} | {b.what} |")
    return "\n".join(rows) + "\n"


def html_table() -> str:
    """The bindings as the HTML table of the F1 help, with a heading row per group."""
    import html

    rows = []
    for group in GROUPS:
        rows.append(f"<tr><td colspan='2'><i>{group}</i></td></tr>")
        for b in BINDINGS:
            if b.group == group:
                rows.append(f"<tr><td><b>{html.escape(_shown(b.keys))}</b></td>"
                            f"<td>{html.escape(b.what)}</td></tr>")
    return "<table cellspacing='3'>" + "".join(rows) + "</table>"


def summary() -> str:
    """One line of the window's keys, for ``histeq-gui --help``.

    Examples
    --------
    >>> summary().startswith("Keys: Left/Right previous / next image; Home/End")
    True
    """
    parts = [f"{'/'.join(b.keys)} {b.what.split(' (')[0]}" for b in BINDINGS
             if b.action and b.group in ("Images", "Files", "Help")]
    views = [b for b in BINDINGS if b.group == "Views"]
    parts.append(f"{views[0].keys[0]}..{views[-1].keys[0][-1]} the views")
    return "Keys: " + "; ".join(parts) + "."
