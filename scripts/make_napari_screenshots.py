"""Screenshots of napari with each widget of the histeq-gui plugin docked (for docs/napari.md).

Runs the real napari (the ``napari`` extra) in a real X server: napari draws
with OpenGL, so run it under Xvfb::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        python scripts/make_napari_screenshots.py [--out screenshots]

Two stacks: a 16-bit stack of scikit-image's moon (12-bit values at
different exposures, as a camera writes them in 16-bit files) and the 1800
faces of ``scripts/make_hard_cases.py`` (with its planted dark, bright,
constant and duplicate images).  For each, one picture per widget:
``napari_<widget>_<stack>.png``.  Prints one line per file written.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1600, 1000)


def moon16():
    """(16, 512, 512) uint16: the moon at 12 bits, darker and brighter exposures."""
    from skimage import data

    moon = data.moon().astype(np.float64) / 255
    gains = np.linspace(0.25, 1.6, 16)
    return np.round(np.clip(moon[None] * gains[:, None, None], 0, 1) * 4095).astype(np.uint16)


def faces1800():
    """(1800, 1, 96, 96) uint8: make_hard_cases.faces1800()."""
    spec = importlib.util.spec_from_file_location("make_hard_cases",
                                                  ROOT / "scripts" / "make_hard_cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.faces1800()


def settle(app, done, timeout=120.0):
    """Process events until ``done()`` (a widget's worker reported), then let napari draw."""
    end = time.monotonic() + timeout
    while not done() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    if not done():
        raise SystemExit("timed out waiting for the plugin's workers")
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)


def shoot(viewer, path):
    viewer.screenshot(str(path), canvas_only=False, flash=False)
    print(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    # napari 0.9 shows this as a notification over the canvas; the pictures are of the plugin.
    warnings.filterwarnings("ignore", message="napari support for the PyQt5 backend")
    import napari
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication

    stacks = {"moon16": (moon16(), "imagej", 256, "image", 9),
              "faces": (faces1800()[:, 0], "numpy", 256, "stack", 7)}
    for key, (stack, method, bins, scope, index) in stacks.items():
        for name in ("Equalize", "Histogram", "Statistics"):
            viewer = napari.Viewer(title=f"napari · histeq-gui {name}")
            viewer.window._qt_window.resize(*SIZE)
            viewer.add_image(stack, name=key)
            viewer.dims.set_current_step(0, index)
            app = QApplication.instance()
            dock, widget = viewer.window.add_plugin_dock_widget("histeq-gui", name)
            setting = widget.session.setting
            setting.set_method(method)
            setting.set_bins(bins)
            setting.set_scope(scope)
            if name == "Equalize":
                viewer.grid.enabled = True          # the original and the preview side by side
                settle(app, lambda w=widget, i=index, m=method: w.preview_layer is not None
                       and w.preview_layer.metadata.get("image") == i
                       and m in w.preview_layer.name)
            elif name == "Histogram":
                settle(app, lambda w=widget, i=index, m=method: w.result is not None
                       and w.result.index == i and w.result.method == m)
            else:
                settle(app, lambda w=widget, m=method: w.model.table is not None
                       and w.model.table.info.get("method") == m)
                column = widget.model.columns.index("dark_score")
                widget.view.sortByColumn(column, 0)        # the darkest first
                viewer.window._qt_window.resizeDocks([dock], [760], Qt.Orientation.Horizontal)
                settle(app, lambda: True)
            shoot(viewer, args.out / f"napari_{name.lower()}_{key}.png")
            viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
