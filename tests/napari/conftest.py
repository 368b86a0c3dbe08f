"""The napari plugin's tests: napari's own ``make_napari_viewer`` in a real X server.

They need the ``napari`` extra (each module skips itself with
``pytest.importorskip`` without it) and a display: napari draws with OpenGL,
which Qt's offscreen platform cannot give it (adding an image layer fails),
so under the offscreen platform the main test command sets they are skipped
too.  ``.ci/napari`` runs them in a fresh venv under Xvfb with
``QT_QPA_PLATFORM=xcb``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

OFFSCREEN = os.environ.get("QT_QPA_PLATFORM") == "offscreen" or not os.environ.get("DISPLAY")


def pytest_collection_modifyitems(config, items):
    if not OFFSCREEN:
        return
    skip = pytest.mark.skip(reason="napari needs OpenGL: run tests/napari under Xvfb with "
                                   "QT_QPA_PLATFORM=xcb (bash .ci/napari)")
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(skip)


@pytest.fixture
def moon16():
    """A 16-bit stack of 12 shifted copies of scikit-image's moon (as make_hard_cases makes)."""
    from skimage import data

    moon = data.moon().astype(np.uint16) * 257
    return np.stack([np.roll(moon, 9 * i, axis=1) // (1 + i % 3) for i in range(12)])


@pytest.fixture
def faces():
    """The bundled sample: 100 faces of 96x96 uint8, (100, 1, 96, 96)."""
    from histeq_gui.gui.resources import SAMPLE_STACK, resource_path

    return np.load(resource_path(SAMPLE_STACK))


@pytest.fixture
def faces1800(faces):
    """1800 images of 96x96: the sample's faces, each copy darkened and shifted differently."""
    images = faces[:, 0]
    k = np.arange(18)[:, None, None, None]
    return ((images[None].astype(np.int32) * (k + 2)) // 20 + 3 * k).clip(0, 255) \
        .astype(np.uint8).reshape(1800, 96, 96)

