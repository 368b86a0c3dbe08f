"""Help: the keys, the mouse, the methods and the scope (F1), and About.

The keys are listed from :data:`~histeq_gui.gui.bindings.BINDINGS`.
"""

from __future__ import annotations

from PyQt5.QtCore import QObject
from PyQt5.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
)

from .bindings import html_table

__all__ = ["Help", "HELP_TEXT", "APP_NAME"]

APP_NAME = "histeq-gui"

HELP_TEXT = """
<h3>histeq-gui</h3>
<p>Left: the original image with its histogram; right: the equalized image with the histogram of
the result. The orange curve over a histogram is its cumulative distribution (CDF, right axis): the
map from input value to equalized value, also drawn as the transfer curve.</p>
{keys}
<p>Mouse: drag to pan, wheel to zoom (both views move together; Ctrl+0 fits the image again).
Point at a pixel to see its original and equalized values in the status bar and as a dot on the
transfer curve. Images are numbered from 0, as the array indexes them: image 5 is
<tt>stack[5]</tt>.</p>
<p><b>Methods</b>: <i>numpy</i> interpolates the CDF at the left bin edges (the seed recipe);
<i>skimage</i> at the bin centres, and uses one bin per integer value for integer images;
each method's formula and reference: Settings &gt; How it works.
<b>Scope</b>: <i>this image</i> equalizes each image with its own histogram; <i>whole stack</i>
maps every image with one histogram of the whole stack.</p>
<p>Panels (View menu) can be hidden, shown, and dragged to another side of the window; their
places are remembered. View &gt; Reset layout puts them back as they first were.</p>
""".format(keys=html_table())


class Help(QObject):
    """The help window (non-modal, made once) and the About box.

    Attributes
    ----------
    box : QDialog or None
        The help window, once shown.
    text : QTextBrowser or None
        Its text (:data:`HELP_TEXT`), scrolled when the screen is too low for all of it.
    """

    def __init__(self, parent):
        super().__init__(parent)
        self._parent = parent
        self.box = None
        self.text = None

    def show(self):
        """Show the short help (keys, mouse, methods and scope); returns the dialog."""
        if self.box is None:
            self.box = QDialog(self._parent)
            self.box.setWindowTitle(f"{APP_NAME} help")
            self.text = QTextBrowser()
            self.text.setHtml(HELP_TEXT)
            self.text.setOpenLinks(False)
            buttons = QDialogButtonBox(QDialogButtonBox.Close)
            buttons.rejected.connect(self.box.close)
            layout = QVBoxLayout(self.box)
            layout.addWidget(self.text)
            layout.addWidget(buttons)
            # All of the text if the screen has room, else as much as fits (it scrolls).
            document = self.text.document()
            document.setTextWidth(600)
            screen = (self._parent.screen() if self._parent is not None else
                      QApplication.primaryScreen()).availableGeometry()
            height = int(document.size().height()) + 80
            self.box.resize(640, min(height, screen.height() - 80))
        self.box.show()
        self.box.raise_()
        return self.box

    def about(self):
        """The About box: name and version."""
        from .. import __version__
        QMessageBox.about(self._parent, f"About {APP_NAME}",
                          f"<b>{APP_NAME}</b> {__version__}<br>Histogram equalization of image "
                          "stacks: look, compare, export.")
