"""Help: the keys, the mouse, the methods and the scope (F1), and About."""

from __future__ import annotations

from PyQt5.QtCore import QObject, Qt
from PyQt5.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLayout, QMessageBox, QVBoxLayout

__all__ = ["Help", "HELP_TEXT", "APP_NAME"]

APP_NAME = "histeq-gui"

HELP_TEXT = """
<h3>histeq-gui</h3>
<p>Left: the original image with its histogram; right: the equalized image with the histogram of
the result. The orange curve over a histogram is its cumulative distribution (CDF, right axis): the
map from input value to equalized value, also drawn as the transfer curve.</p>
<table cellspacing="4">
<tr><td><b>Left / Right</b></td><td>previous / next image</td></tr>
<tr><td><b>Home / End</b></td><td>first / last image</td></tr>
<tr><td><b>PgUp / PgDn</b></td><td>10 images back / forward</td></tr>
<tr><td><b>Space</b></td><td>play / pause</td></tr>
<tr><td><b>Enter / Esc</b></td><td>after typing in Index or Bins: use the number / undo it
(these keys work wherever the focus is, except while you type a number)</td></tr>
<tr><td><b>Ctrl+O</b></td><td>open a stack (or drop a file or folder on the window)</td></tr>
<tr><td><b>Ctrl+E</b></td><td>export the equalized stack</td></tr>
<tr><td><b>Ctrl+Q</b></td><td>quit</td></tr>
<tr><td><b>F1</b></td><td>this help</td></tr>
</table>
<p>Mouse: drag to pan, wheel to zoom (both views move together; Ctrl+0 fits the image again).
Point at a pixel to see its original and equalized values in the status bar and as a dot on the
transfer curve. Images are numbered from 0, as the array indexes them: image 5 is
<tt>stack[5]</tt>.</p>
<p><b>Methods</b>: <i>numpy</i> interpolates the CDF at the left bin edges (the seed recipe);
<i>skimage</i> at the bin centres, and uses one bin per integer value for integer images.
<b>Scope</b>: <i>this image</i> equalizes each image with its own histogram; <i>whole stack</i>
maps every image with one histogram of the whole stack.</p>
<p>Panels (View menu) can be hidden, shown, and dragged to another side of the window; their
places are remembered.</p>
"""


class Help(QObject):
    """The help window (non-modal, made once) and the About box.

    Attributes
    ----------
    box : QDialog or None
        The help window, once shown.
    """

    def __init__(self, parent):
        super().__init__(parent)
        self._parent = parent
        self.box = None

    def show(self):
        """Show the short help (keys, mouse, methods and scope); returns the dialog."""
        if self.box is None:
            self.box = QDialog(self._parent)
            self.box.setWindowTitle(f"{APP_NAME} help")
            text = QLabel(HELP_TEXT)
            text.setTextFormat(Qt.RichText)
            text.setWordWrap(True)
            text.setMinimumWidth(560)
            buttons = QDialogButtonBox(QDialogButtonBox.Close)
            buttons.rejected.connect(self.box.close)
            layout = QVBoxLayout(self.box)
            layout.setSizeConstraint(QLayout.SetFixedSize)   # fit the wrapped text
            layout.addWidget(text)
            layout.addWidget(buttons)
        self.box.show()
        self.box.raise_()
        return self.box

    def about(self):
        """The About box: name and version."""
        from .. import __version__
        QMessageBox.about(self._parent, f"About {APP_NAME}",
                          f"<b>{APP_NAME}</b> {__version__}<br>Histogram equalization of image "
                          "stacks: look, compare, export.")
