"""The original | equalized views draw a new original only when it changed.

pyqtgraph downsamples a large image on every ``setImage`` (some 20 ms at
2048x2048, the largest part of the viewer's work on a change of method):
a change of method, bins or scope keeps the original, so it is not set again.
"""

import numpy as np

from histeq_gui.gui.image_views import ImageViews


def test_the_original_is_set_again_only_when_its_values_or_levels_change(qtbot):
    views = ImageViews()
    qtbot.addWidget(views)
    original = (np.arange(64 * 80) % 4096).astype(np.uint16).reshape(64, 80)
    views.set_images(original, original / 4095, (0, 4095))
    shown = views.original_item.image
    # Another method: the same original (a new array of equal values).
    views.set_images(original.copy(), (original / 4095) ** 2, (0, 4095))
    assert views.original_item.image is shown
    assert np.array_equal(views.equalized_item.image, (original / 4095) ** 2)
    for changed, levels in ((original.copy(), (0, 1000)), (original[::-1].copy(), (0, 1000)),
                            (original.astype(np.int32), (0, 1000))):
        views.set_images(changed, original / 4095, levels)
        assert views.original_item.image is not shown
        shown = views.original_item.image
        assert np.array_equal(shown, changed) and shown.dtype == changed.dtype
        assert tuple(views.original_item.levels) == levels


def test_nan_originals_compare_equal_and_are_not_set_again(qtbot):
    views = ImageViews()
    qtbot.addWidget(views)
    original = np.linspace(0, 1, 30 * 40).reshape(30, 40)
    original[3, 4] = np.nan
    views.set_images(original, original, (0.0, 1.0))
    shown = views.original_item.image
    views.set_images(original.copy(), original, (0.0, 1.0))
    assert views.original_item.image is shown
