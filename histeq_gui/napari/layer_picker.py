"""A combo box of the viewer's image layers, kept in step with the layer list."""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox

from .connections import Connections

__all__ = ["LayerPicker", "image_layers"]


def image_layers(viewer) -> list:
    """The viewer's image layers, in the layer list's order."""
    from napari.layers import Image

    return [layer for layer in viewer.layers if isinstance(layer, Image)]


class LayerPicker(QComboBox):
    """Pick one of the viewer's image layers (the active one to begin with).

    ``skip(layer)`` leaves a layer out (the plugin's own preview layers).

    Signals
    -------
    layerChanged(object)
        The layer picked (None when there is none).
    """

    layerChanged = Signal(object)

    def __init__(self, viewer, skip=lambda layer: False, parent=None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self._skip = skip
        self._layers: list = []
        self.setToolTip("The image layer to work on")
        self.connections = Connections(self)
        events = viewer.layers.events
        for event in (events.inserted, events.removed, events.moved, events.reordered):
            self.connections.connect(event, self._refresh)
        self.currentIndexChanged.connect(self._picked)
        active = viewer.layers.selection.active
        self._refresh(prefer=active)

    def layer(self):
        """The layer picked, or None."""
        i = self.currentIndex()
        return self._layers[i] if 0 <= i < len(self._layers) else None

    def set_layer(self, layer) -> None:
        """Pick ``layer`` (one of the listed layers)."""
        if layer in self._layers:
            self.setCurrentIndex(self._layers.index(layer))

    def _refresh(self, event=None, prefer=None):
        current = prefer if prefer is not None else self.layer()
        layers = [layer for layer in image_layers(self.viewer) if not self._skip(layer)]
        for layer in layers:
            if layer not in self._layers:
                self.connections.connect(layer.events.name, self._rename)
        self.blockSignals(True)
        self.clear()
        self._layers = layers
        for layer in layers:
            self.addItem(layer.name)
        index = layers.index(current) if current in layers else (0 if layers else -1)
        self.setCurrentIndex(index)
        self.blockSignals(False)
        if self.layer() is not current or prefer is not None:
            self.layerChanged.emit(self.layer())

    def _rename(self, event=None):
        for i, layer in enumerate(self._layers):
            self.setItemText(i, layer.name)

    def _picked(self, index):
        self.layerChanged.emit(self.layer())
