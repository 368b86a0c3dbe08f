"""The label chooser: which folder of a folder tree the inspection panels show, with its count.

A dataset kept as a folder tree (``cat/001.jpg``, ``dog/...``) labels each
image with its first folder.  :class:`LabelChooser` lists the labels of the
stack shown, each with its number of images ("cat · 1,203"), and sets the
shared :class:`~histeq_gui.gui.inspection.Inspection`'s label, so the
statistics table, the thumbnail grid and the column histogram all show that
label's images.  It hides itself for a stack without labels.
"""

from __future__ import annotations

from PyQt5.QtWidgets import QComboBox, QWidget

from .inspection import Inspection

__all__ = ["LabelChooser", "label_text", "TOP_FOLDER"]

TOP_FOLDER = "(top folder)"     # the label of the images beside the subfolders


def label_text(label: str) -> str:
    """How a label is written: its folder's name, or :data:`TOP_FOLDER` for ""."""
    return label or TOP_FOLDER


class LabelChooser(QComboBox):
    """A combo box of "All labels" and each label of the stack, with their counts.

    Parameters
    ----------
    inspection : Inspection
        Whose label it shows and sets.
    parent : QWidget, optional
    """

    def __init__(self, inspection: Inspection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inspection = inspection
        self.setToolTip("Show the images of one folder of the tree (their label): the table, "
                        "the grid and the column histogram follow")
        self.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLength)
        self.setMinimumContentsLength(12)
        self.currentIndexChanged.connect(self._on_chosen)
        inspection.labelChanged.connect(lambda _label: self._rebuild())
        self._rebuild()

    def _rebuild(self):
        counts = self.inspection.label_counts()
        self.blockSignals(True)
        try:
            self.clear()
            total = sum(count for _, count in counts)
            self.addItem(f"All labels · {total:,}", None)
            for label, count in counts:
                self.addItem(f"{label_text(label)} · {count:,}", label)
            self.setCurrentIndex(max(self.findData(self.inspection.label), 0)
                                 if self.inspection.label is not None else 0)
        finally:
            self.blockSignals(False)
        self.setVisible(bool(counts))

    def _on_chosen(self, row):
        if row >= 0:
            self.inspection.set_label(self.itemData(row))

    def choose(self, label: str | None) -> None:
        """Show the images of ``label`` (None: every label), as picking it does."""
        self.setCurrentIndex(0 if label is None else self.findData(label))
