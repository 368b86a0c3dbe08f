"""The export dialog: the core export pipeline in a worker, with progress and Cancel.

It runs :func:`histeq_gui.core.export.export_steps`, the generator the
``histeq`` command runs too, so the same stack and settings give the same
bytes.  Closing the generator (Cancel, Esc, the close button) leaves no
output behind; the frame around it is :class:`~histeq_gui.gui.write_dialog.WriteDialog`.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from PyQt5.QtCore import Qt, QUrl
from PyQt5.QtGui import QDesktopServices
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from ..core.channels import channel_axis_choices
from ..core.equalize import SCOPES
from ..core.errors import StackError
from ..core.export import (
    OUTPUT_DTYPES,
    ExportSettings,
    check_target,
    export_steps,
    output_dtype,
    preview_target,
)
from ..core.histogram import MAX_BINS, MIN_BINS
from ..core.io import exists, output_kind
from ..core.methods import METHODS, Method, get_method
from ..core.region import describe_region, region_of_rect, region_text
from .panels.settings import WrappedNote, scope_note, value_bins_note
from .write_dialog import WriteDialog, free_output_path

__all__ = ["ExportDialog", "default_output", "for_dialog", "show_folder"]

_KIND_TEXT = {"npy": "NumPy .npy file", "npz": "NumPy .npz archive",
              "tif": "TIFF stack", "png": "PNG image (a single image)",
              "png-folder": "folder of PNG files", "zarr": "Zarr array"}
# Browse…: every kind the export writes; a name without an extension gets the chosen kind's.
_SAVE_KINDS = (("NumPy array (*.npy)", ".npy"), ("NumPy archive (*.npz)", ".npz"),
               ("TIFF stack (*.tif *.tiff)", ".tif"), ("PNG image, a single image (*.png)", ".png"),
               ("Folder of PNG files (no extension) (*)", ""))
_SAVE_FILTER = ";;".join(text for text, _ in _SAVE_KINDS)
# The core's messages name the command's options; the dialog names its own controls.
_CONTROLS = {"--dtype": '"Data type"', "--method": '"Method"', "--bins": '"Bins"',
             "--scope": '"Scope"'}


def for_dialog(message):
    """A core message with the ``histeq`` options it names put as the dialog's controls.

    Examples
    --------
    >>> for_dialog("PNG files hold only uint8 or uint16 values, not float32; "
    ...            "choose --dtype uint8 or uint16")
    'PNG files hold only uint8 or uint16 values, not float32; set "Data type" to uint8 or uint16'
    """
    for option, control in _CONTROLS.items():
        message = re.sub(rf"\b(choose|use|pass) {option}\b", f"set {control} to", message)
        message = re.sub(rf"{option}\b", control, message)
    return message


def _with_kind_suffix(path, chosen_filter):
    """``path`` with the extension of the kind chosen in Browse…, if it has none."""
    path = Path(path)
    for text, suffix in _SAVE_KINDS:
        if text == chosen_filter and suffix and not path.suffix:
            return path.with_name(path.name + suffix)
    return path


def show_folder(path):
    """Open the folder an export went to in the desktop's file manager.

    A PNG folder is opened itself; for a file, the folder holding it.
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def _same_kind_suffix(source):
    """The source's extension if the export can write that kind of file, else ".tif".

    A folder of images gives "" (a folder of PNG files, as ``histeq`` writes
    for an output without an extension).
    """
    if source.is_dir():
        return ""
    try:
        kind = output_kind(source)
    except StackError:
        return ".tif"
    return ".tif" if kind == "png-folder" else source.suffix.lower()


def default_output(source, fallback_folder, folder=None):
    """A free output path in ``folder`` (the last export's), else next to the source.

    ``stack.npy`` gives ``stack_equalized.npy`` (then ``_2``, ``_3``, ... if
    taken); a single ``.png`` image gives a ``.png``; a folder of images
    gives a folder (``shots`` -> ``shots_equalized``, of PNG files); other
    image files give a ``.tif``.  The bundled sample and read-only folders
    use ``fallback_folder`` (see :func:`~histeq_gui.gui.write_dialog.free_output_path`).
    """
    suffix = ".tif" if source is None else _same_kind_suffix(Path(source))
    return free_output_path(source, fallback_folder, "equalized", suffix, folder)


class ExportDialog(WriteDialog):
    """Export the current stack with the viewer's settings (all editable).

    Parameters
    ----------
    state : ViewerState
        Gives the stack and pre-fills method, bins, scope and the colour axis
        (the layout the viewer shows, so the export is what is seen); the
        method's own parameters are the ones set in the viewer for the
        method chosen here (``state.params_of``), shown in the dialog and
        passed as ``ExportSettings.params``: the bytes ``histeq --method M
        --<param> V`` writes.  The viewer's region of interest is exported
        too (``ExportSettings.region``, ``histeq --region``), so the file
        holds what the viewer shows; a check box leaves it out.
    preferences : Preferences
        For the folder to start in; remembers the folder exported to.
    parent : QWidget, optional

    Signals
    -------
    exported(str), cancelled(str), noted(str)
        See :class:`~histeq_gui.gui.write_dialog.WriteDialog`.
    """

    STAGES = {"histogram": "Whole-stack histogram", "equalize": "Equalizing",
              "write": "Writing and verifying"}
    ERROR_TITLE = "Cannot export"
    WRITING = "Exporting to"

    def __init__(self, state, preferences, parent=None):
        super().__init__("Export the equalized stack", "Export", preferences, parent)
        self.stack = state.stack
        self.state = state
        self.close_when(state.stackChanged)

        stack = self.stack
        self.input_label = QLabel(f"<b>{stack.name}</b> — {stack.describe()}")
        self.input_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.output_edit = QLineEdit(str(default_output(stack.path,
                                                        preferences.last_export_folder(),
                                                        preferences.export_folder())))
        self.output_edit.setMinimumWidth(380)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setAutoDefault(False)     # Enter exports; it never browses
        self.output_edit.setToolTip("The format comes from the extension: .npy, .npz, .tif, "
                                    ".png (one image), .zarr; no extension: a folder of PNG "
                                    "files")
        self.format_label = WrappedNote()            # its last line is never cut off
        self.format_label.setMinimumHeight(2 * self.format_label.fontMetrics().lineSpacing())
        self.dtype_combo = QComboBox()
        for name in OUTPUT_DTYPES:
            text = f"same ({output_dtype('same', stack.dtype)})" if name == "same" else name
            self.dtype_combo.addItem(text, name)
        self.dtype_combo.setToolTip("Integers are scaled to their full range (uint8: "
                                    "round(255 × value)); floats keep values in [0, 1]")
        self.method_combo = QComboBox()
        for method in METHODS:
            self.method_combo.addItem(method, method)
        self.method_combo.setCurrentIndex(self.method_combo.findData(state.method))
        self.bins_spin = QSpinBox()
        self.bins_spin.setRange(MIN_BINS, MAX_BINS)
        self.bins_spin.setValue(state.bins)
        self.bins_note = QLabel()
        self.bins_note.setWordWrap(True)
        self.bins_note.setStyleSheet("color: #8a6d00;")
        self.scope_combo = QComboBox()
        for scope, text in zip(SCOPES, ("this image's own histogram (each image)",
                                        "one histogram of the whole stack")):
            self.scope_combo.addItem(text, scope)
        self.scope_combo.setCurrentIndex(self.scope_combo.findData(state.scope))
        self.params_label = QLabel()
        self.params_label.setWordWrap(True)
        self.params_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.params_label.setToolTip("The method's own parameters, as set in the viewer's "
                                     "settings (histeq --<parameter> VALUE)")
        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("The colour axis, equalized channel by channel (as "
                                      "histeq --channel-axis); from the viewer")
        viewer_axis = getattr(stack, "channel_choice", "auto")
        for choice, layout in channel_axis_choices(stack.shape):
            what = "colour" if layout.channel_axis is not None else "gray"
            name = {"auto": "auto", None: "none"}.get(choice, f"axis {choice}")
            self.channel_combo.addItem(f"{name}: {layout.name} ({what})", choice)
            if choice == viewer_axis:
                self.channel_combo.setCurrentIndex(self.channel_combo.count() - 1)
        self.region_check = QCheckBox()
        self.region_check.setToolTip("Only the region's pixels make the histograms, as in the "
                                     "viewer; their mapping equalizes every pixel (histeq "
                                     "--region Y0:Y1,X0:X1). Unchecked: the whole images.")
        self.region_check.setChecked(True)
        self._use_region = True             # the user's choice, kept while no region is drawn
        self.region_check.toggled.connect(self._on_region_toggled)
        self.stage_label.setText("Method, bins, scope, region and colour axis come from the "
                                 "viewer; change them here if you like.")

        output_row = QHBoxLayout()
        output_row.addWidget(self.output_edit, 1)
        output_row.addWidget(self.browse_button)
        output_cell = QVBoxLayout()
        output_cell.addLayout(output_row)
        output_cell.addWidget(self.format_label)
        bins_cell = QVBoxLayout()
        bins_cell.addWidget(self.bins_spin)
        bins_cell.addWidget(self.bins_note)
        form = QFormLayout()
        form.addRow("Input", self.input_label)
        form.addRow("Output", output_cell)
        form.addRow("Data type", self.dtype_combo)
        form.addRow("Method", self.method_combo)
        form.addRow("Bins", bins_cell)
        form.addRow("Parameters", self.params_label)
        form.addRow("Scope", self.scope_combo)
        form.addRow("Region", self.region_check)
        form.addRow("Colour axis", self.channel_combo)
        self.lay_out(form)

        self.browse_button.clicked.connect(self._browse)
        self.output_edit.textChanged.connect(self._show_format)
        for combo in (self.dtype_combo, self.channel_combo, self.method_combo):
            combo.currentIndexChanged.connect(self._show_format)
        self.method_combo.currentIndexChanged.connect(self._show_bins_note)
        self.method_combo.currentIndexChanged.connect(self._show_method_params)
        self.method_combo.currentIndexChanged.connect(self._show_region)
        state.roiChanged.connect(self._show_region)
        self._show_format()
        self._show_bins_note()
        self._show_method_params()
        self._show_region()

    # ------------------------------------------------------------------ fields
    def params(self):
        """The parameters of the method chosen, as set for it in the viewer (a new dict)."""
        return self.state.params_of(self.method_combo.currentData())

    def region(self):
        """The viewer's region of interest as the export's ``(y0, y1, x0, x1)``, or None.

        None without a region, when the check box leaves it out, or for a
        method that takes none.
        """
        roi = self.state.roi
        if roi is None or not self._use_region or not self.method().masks:
            return None
        return region_of_rect(roi)

    def _on_region_toggled(self, checked):
        if self.region_check.isEnabled():
            self._use_region = checked

    def settings(self):
        """The :class:`ExportSettings` the fields describe."""
        return ExportSettings(method=self.method_combo.currentData(),
                              bins=self.bins_spin.value(),
                              scope=self.scope_combo.currentData(),
                              dtype=self.dtype_combo.currentData(),
                              channel_axis=self.channel_combo.currentData(),
                              params=self.params(), region=self.region())

    def _show_region(self, *_):
        """The region row: the viewer's region (the check box uses it), or why there is none."""
        roi, method = self.state.roi, self.method()
        check = self.region_check
        if roi is None:
            check.setText("none: every pixel makes the histograms (draw one in the viewer, "
                          "Ctrl+R)")
        else:
            region = region_of_rect(roi)
            check.setText(f"{describe_region(region)} from the viewer "
                          f"(histeq --region {region_text(region)})" if method.masks else
                          f"{describe_region(region)}: not used, {method.name} takes no region")
        usable = roi is not None and method.masks
        check.setEnabled(usable and not self.running)
        check.blockSignals(True)
        check.setChecked(usable and self._use_region)       # ticked only when it is used
        check.blockSignals(False)

    def method(self) -> Method:
        """The method chosen in the dialog."""
        return get_method(self.method_combo.currentData())

    def _show_method_params(self):
        method = self.method()
        given = self.params()
        parts = []
        for p in method.params:
            if p.name == "bins":
                continue
            value = given.get(p.name)
            if value is None:
                text = f"{p.describe_default()} (default)"
            elif isinstance(value, Path):
                text = str(value)
            elif hasattr(value, "shape"):
                text = f"an image array {tuple(value.shape)}"
            else:
                text = repr(value) if isinstance(value, str) else str(value)
            parts.append(f"{p.name} = {text}")
        self.params_label.setText("; ".join(parts) if parts else "none")
        # A method that works image by image has no whole-stack scope: say so, do not offer it.
        note = scope_note(method)
        item = self.scope_combo.model().item(self.scope_combo.findData("stack"))
        item.setEnabled(note is None)
        if note is not None and self.scope_combo.currentData() == "stack":
            self.scope_combo.setCurrentIndex(self.scope_combo.findData("image"))
        self.scope_combo.setToolTip(note or "")

    def _show_format(self, *_):
        """What the output typed would be, or why it cannot be written (Export is then off).

        Checked as it is typed (:func:`~histeq_gui.core.export.preview_target`,
        which writes nothing): its kind, the names of a folder's files, and
        whether an existing output could be replaced.
        """
        text = self.output_edit.text().strip()
        problem = None
        if not text:
            problem = "Choose where to write the result."
        else:
            try:
                kind, names, present = preview_target(
                    Path(text).expanduser(), self.stack.reader, self.settings(),
                    source=self.stack.path, names=self.stack.names)
            except ValueError as exc:           # StackError is a ValueError
                text = html.escape(for_dialog(str(exc)), quote=False)
                problem = f"<span style='color:#c5221f'>{text}</span>"
        if not self.running:
            self.export_button.setEnabled(problem is None)
        if problem is not None:
            self.format_label.setText(problem)
            return
        what = f"Writes a {_KIND_TEXT[kind]}"
        if kind == "png-folder":
            what += (f", named after the source files ({html.escape(self.stack.names[0])} → "
                     f"{html.escape(names[0])}, …)" if names else
                     ", numbered from 00000.png")
        what += " and a .json sidecar."
        if present:
            what += " It exists: Export asks before replacing it."
        self.format_label.setText(what)

    def _show_bins_note(self):
        method = self.method()
        ignored = method.ignores_bins(self.stack.dtype)
        self.bins_note.setText(value_bins_note(method, self.stack.dtype) if ignored else "")
        self.bins_note.setVisible(ignored)
        self.bins_spin.setEnabled(not ignored)

    def _browse(self):
        start = self.output_edit.text().strip() or str(self.prefs.last_export_folder())
        path, chosen = QFileDialog.getSaveFileName(self, "Export to", start, _SAVE_FILTER,
                                                   options=QFileDialog.DontConfirmOverwrite)
        if path:
            self.output_edit.setText(str(_with_kind_suffix(path, chosen)))

    def set_fields_enabled(self, enabled):
        """Enable or disable the export's fields; once enabled, show their notes again."""
        for widget in (self.output_edit, self.browse_button, self.dtype_combo,
                       self.method_combo, self.bins_spin, self.scope_combo,
                       self.channel_combo, self.region_check):
            widget.setEnabled(enabled)
        if enabled:
            self._show_bins_note()
            self._show_region()
            self._show_format()

    def for_user(self, message):
        """A core message with the ``histeq`` options it names put as this dialog's controls."""
        return for_dialog(message)

    # ------------------------------------------------------------------ running
    def start_export(self):
        """Check the fields, confirm replacing an existing output, and start the job.

        Returns True when the export job was started.
        """
        if self.running:
            return False
        text = self.output_edit.text().strip()
        if not text:
            self.show_error("Choose an output file or folder first.")
            return False
        output = Path(text).expanduser()
        source = self.stack.path
        try:
            settings = self.settings().validate()
            overwrite = exists(output)
            if overwrite:       # what cannot be replaced is refused before asking
                check_target(output, source=source, overwrite=True)
                if not self.confirm_replace(output):
                    return False
            check_target(output, source=source, overwrite=overwrite)
        except ValueError as exc:           # StackError is a ValueError
            self.show_error(str(exc))
            return False
        images = self.stack.reader         # read chunk by chunk by the export
        names = self.stack.names            # a folder's files: a PNG folder keeps their names
        self.run_write(lambda report: export_steps(images, output, settings, source=source,
                                                   overwrite=overwrite, names=names), output)
        return True
