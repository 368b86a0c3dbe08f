"""The Equalize dock widget: a method with its parameters, a live preview, "Apply to stack".

The controls edit the viewer's shared :class:`~histeq_gui.gui.setting.Setting`
(:mod:`.session`): the method, bins, scope and the method's own parameters
(the viewer's :class:`~histeq_gui.gui.param_form.ParamForm`, generated from
the registry).  The preview is the current slice equalized with the setting,
as a new layer beside the original (the original is never touched); it
follows napari's dims slider and is recomputed in a thread worker, the
newest request winning.  "Apply to stack" adds the equalized layer of the
whole stack (:func:`~.stack_work.equalized_stack`: ``equalize``'s very
array; lazy with Dask for big or lazy layers), computed in the background
with napari's progress bar and a Cancel button.
"""

from __future__ import annotations

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.histogram import MAX_BINS, MIN_BINS
from ..core.methods import METHODS
from ..gui.param_form import ParamForm
from .connections import Connections
from .jobs import Job
from .layer_picker import LayerPicker
from .layers import EQUALIZED_KEY, PREVIEW_KEY, SOURCE_KEY, image_index, is_preview, layer_name
from .session import session_for
from .stack_work import equalized_stack

__all__ = ["EqualizeWidget", "add_beside"]

_SCOPES = (("image", "each image"), ("stack", "whole stack"))
_DELAY_MS = 30                          # preview requests closer than this are merged


def add_beside(viewer, source, data, **kwargs):
    """Add an image layer right above ``source`` in the layer list, drawn like it."""
    kwargs.setdefault("rgb", bool(source.rgb))
    if not source.rgb:
        kwargs.setdefault("colormap", source.colormap)
    layer = viewer.add_image(data, contrast_limits=(0.0, 1.0), **kwargs)
    if source in viewer.layers:
        viewer.layers.move(viewer.layers.index(layer), viewer.layers.index(source) + 1)
    return layer


class EqualizeWidget(QWidget):
    """The Equalize dock widget (see the module docstring).

    Parameters
    ----------
    napari_viewer : napari.Viewer
        Given by napari.

    Attributes
    ----------
    picker : LayerPicker
    method_combo, scope_combo : QComboBox
    bins_spin : QSpinBox
    params : ParamForm
    preview_check : QCheckBox
    apply_button, cancel_button : QPushButton
    status : QLabel
        The last message (a refused value, why a slice could not be equalized).
    preview_layer : napari.layers.Image or None
    """

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.setting = self.session.setting
        self.preview_layer = None
        self._applying = None
        self.picker = LayerPicker(napari_viewer, skip=is_preview)
        self.method_combo = QComboBox()
        for name in METHODS:
            self.method_combo.addItem(name, name)
        self.method_combo.setToolTip("The equalization method (histeq --method)")
        self.bins_spin = QSpinBox()
        self.bins_spin.setRange(MIN_BINS, MAX_BINS)
        self.bins_spin.setKeyboardTracking(False)
        self.bins_spin.setToolTip(f"Histogram bins, {MIN_BINS} to {MAX_BINS} (histeq --bins)")
        self.scope_combo = QComboBox()
        for scope, text in _SCOPES:
            self.scope_combo.addItem(text, scope)
        self.scope_combo.setToolTip("Each image its own histogram, or one histogram of the "
                                    "whole stack for every image (histeq --scope)")
        form = QFormLayout()
        form.addRow("Layer", self.picker)
        form.addRow("Method", self.method_combo)
        form.addRow("Bins", self.bins_spin)
        form.addRow("Scope", self.scope_combo)
        self.params = ParamForm(form, values=lambda: self.setting.params,
                                pick=self.setting.set_param, reset=self.setting.reset_param,
                                notify=self.say, after=self.scope_combo, name="param")
        self.preview_check = QCheckBox("Live preview of the current slice")
        self.preview_check.setChecked(True)
        self.preview_check.setToolTip("The slice shown, equalized, as a layer beside the "
                                      "original (which is never changed)")
        self.apply_button = QPushButton("Apply to stack")
        self.apply_button.setToolTip("Add the equalized layer of the whole stack (computed in "
                                     "the background; lazily for big or Dask layers)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_button, 1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview_check)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.preview_job = Job(self._show_preview, self.say)
        self.apply_job = Job(self._applied, self._apply_failed, "Equalizing the stack",
                             cancelled=self._apply_cancelled)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(_DELAY_MS)
        self._timer.timeout.connect(self.update_preview)

        self.method_combo.activated.connect(
            lambda i: self._set(self.setting.set_method, self.method_combo.itemData(i)))
        self.bins_spin.valueChanged.connect(lambda v: self._set(self.setting.set_bins, int(v)))
        self.scope_combo.activated.connect(
            lambda i: self._set(self.setting.set_scope, self.scope_combo.itemData(i)))
        self.preview_check.toggled.connect(self._preview_toggled)
        self.apply_button.clicked.connect(self.apply)
        self.cancel_button.clicked.connect(self.apply_job.cancel)
        self.setting.changed.connect(self._setting_changed)
        self.picker.layerChanged.connect(self._layer_changed)
        self.connections = Connections(self, lambda: self.preview_job.cancel(quietly=True),
                                       lambda: self.apply_job.cancel(quietly=True))
        self.connections.connect(napari_viewer.dims.events.current_step, self.schedule_preview)
        self.connections.connect(napari_viewer.layers.events.removed, self._layer_removed)
        self._watched = None
        self._show_setting()
        self._layer_changed(self.picker.layer())

    # ------------------------------------------------------------------ the setting
    def _set(self, setter, value):
        try:
            setter(value)
        except ValueError as exc:
            self.say(str(exc))
            self._show_setting()

    def _show_setting(self):
        s = self.setting
        for widget, value in ((self.method_combo, s.method), (self.scope_combo, s.scope)):
            widget.blockSignals(True)
            widget.setCurrentIndex(widget.findData(value))
            widget.blockSignals(False)
        self.bins_spin.blockSignals(True)
        self.bins_spin.setValue(s.bins)
        self.bins_spin.blockSignals(False)
        self.params.set_method(s.method_spec)
        self.params.show_values()

    def _setting_changed(self):
        self._show_setting()
        self.say("")
        self.schedule_preview()

    def say(self, text: str) -> None:
        """Show ``text`` (one line) under the buttons; "" clears it."""
        self.status.setText(text)

    # ------------------------------------------------------------------ the layer
    def _layer_changed(self, layer):
        if self._watched is not None:
            self.connections.disconnect(self._watched.events.data, self.schedule_preview)
        self._watched = layer
        if layer is not None:
            self.connections.connect(layer.events.data, self.schedule_preview)
            self.params.set_stack(self.session.stack(layer))
        self.schedule_preview()

    def _layer_removed(self, event):
        layer = event.value
        self.session.forget(layer)
        if layer is self.preview_layer:
            self.preview_layer = None

    # ------------------------------------------------------------------ the preview
    def schedule_preview(self, event=None) -> None:
        """Recompute the preview soon (requests in quick succession are merged)."""
        if self.preview_check.isChecked():
            self._timer.start()

    def update_preview(self) -> None:
        """Compute the preview of the slice shown now, in a thread worker."""
        layer = self.picker.layer()
        if layer is None or not self.preview_check.isChecked():
            return
        try:
            index = image_index(layer, self.viewer.dims.point)
            steps = self.session.view_steps(layer, index)
        except ValueError as exc:
            self.say(str(exc))
            return
        self._preview_of = layer
        self.preview_job.start(steps)

    def _show_preview(self, result):
        source = self._preview_of
        if result.error is not None or result.equalized is None:
            self.say(f"This slice cannot be equalized: {result.error}")
            return
        self.say(result.note or "")
        name = layer_name(source.name, result.method, result.scope, preview=True)
        layer = self.preview_layer
        if layer is None or layer not in self.viewer.layers or \
                layer.data.shape != result.equalized.shape:
            if layer is not None and layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
            self.preview_layer = add_beside(
                self.viewer, source, result.equalized, name=name,
                scale=source.scale[-2:], translate=source.translate[-2:],
                metadata={PREVIEW_KEY: True, "image": result.index,
                          "source": source.name})
            self.viewer.layers.selection.active = source
        else:
            layer.data = result.equalized
            layer.name = name
            layer.metadata["image"] = result.index
            layer.metadata["source"] = source.name

    def _preview_toggled(self, on):
        if on:
            self.update_preview()
        else:
            self.preview_job.cancel(quietly=True)
            if self.preview_layer is not None and self.preview_layer in self.viewer.layers:
                self.viewer.layers.remove(self.preview_layer)
            self.preview_layer = None

    # ------------------------------------------------------------------ the whole stack
    def apply(self) -> None:
        """Equalize the picked layer's whole stack with the setting, in the background."""
        layer = self.picker.layer()
        if layer is None:
            self.say("Add an image layer first (File > Open, or drag a file in)")
            return
        s = self.setting
        self._applying = (layer, s.method, s.bins, s.scope, s.params)
        self.apply_job.start(equalized_stack(layer.data, s.method, s.bins, s.scope, s.params,
                                             rgb=bool(layer.rgb)))
        self.apply_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.say(f"Equalizing {layer.name} with {s.method}…")

    def _apply_done(self):
        self.apply_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _applied(self, data):
        self._apply_done()
        source, method, bins, scope, params = self._applying
        record = {"source": source.data, "source_name": source.name,
                  "source_metadata": source.metadata.get(SOURCE_KEY), "method": method,
                  "bins": bins, "scope": scope, "params": params, "rgb": bool(source.rgb)}
        self.result_layer = add_beside(
            self.viewer, source, data, name=layer_name(source.name, method, scope),
            scale=source.scale, translate=source.translate, metadata={EQUALIZED_KEY: record})
        lazy = "lazily (computed slice by slice)" if type(data).__module__.startswith("dask") \
            else "in memory"
        self.say(f"Added '{self.result_layer.name}', {lazy}")

    def _apply_failed(self, text):
        self._apply_done()
        self.say(text)

    def _apply_cancelled(self):
        self._apply_done()
        self.say("Cancelled: no layer was added")

    def closeEvent(self, event):
        """Qt: end the napari connections and cancel the preview and the apply."""
        self.connections.close()
        super().closeEvent(event)
