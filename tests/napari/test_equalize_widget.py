"""The Equalize widget in napari: docked from the plugin, its preview and "Apply to stack"."""

from __future__ import annotations

import threading

import numpy as np
import pytest

napari = pytest.importorskip("napari", minversion="0.5")   # not tests/napari itself
da = pytest.importorskip("dask.array")

from histeq_gui import equalize  # noqa: E402
from histeq_gui.napari.equalize_widget import EqualizeWidget  # noqa: E402
from histeq_gui.napari.layers import EQUALIZED_KEY, is_preview  # noqa: E402


def dock(viewer, name="Equalize"):
    """Dock a widget of the plugin as napari does from its Plugins menu (discovery included)."""
    _, widget = viewer.window.add_plugin_dock_widget("histeq-gui", name)
    return widget


def preview_of(widget, index, name_part=""):
    layer = widget.preview_layer
    return layer is not None and layer.metadata.get("image") == index and name_part in layer.name


def test_dock_preview_follows_method_bins_params_and_slider(make_napari_viewer, qtbot, moon16):
    viewer = make_napari_viewer()
    original = viewer.add_image(moon16, name="moon16")
    kept = moon16.copy()
    viewer.dims.set_current_step(0, 0)         # napari starts in the middle of the stack
    widget = dock(viewer)
    assert isinstance(widget, EqualizeWidget)
    qtbot.waitUntil(lambda: preview_of(widget, 0, "numpy"), timeout=60_000)
    assert np.array_equal(widget.preview_layer.data, equalize(moon16, "numpy", 256)[0])

    # method, bins and a parameter through the controls; the slider to image 5
    widget.method_combo.setCurrentIndex(widget.method_combo.findData("textbook"))
    widget.method_combo.activated.emit(widget.method_combo.currentIndex())
    widget.bins_spin.setValue(64)
    widget.params.pick("levels", 8)
    viewer.dims.set_current_step(0, 5)
    assert widget.setting.as_tuple() == ("textbook", 64, "image")
    expected = equalize(moon16, "textbook", 64, levels=8)[5]
    qtbot.waitUntil(lambda: preview_of(widget, 5, "textbook")
                    and np.array_equal(widget.preview_layer.data, expected), timeout=60_000)
    assert widget.preview_layer.name == "moon16 · textbook preview"
    assert len(np.unique(widget.preview_layer.data)) <= 8

    # the whole stack's histogram maps the slice
    widget.scope_combo.setCurrentIndex(widget.scope_combo.findData("stack"))
    widget.scope_combo.activated.emit(widget.scope_combo.currentIndex())
    expected = equalize(moon16, "textbook", 64, "stack", levels=8)[5]
    qtbot.waitUntil(lambda: preview_of(widget, 5, "(stack)")
                    and np.array_equal(widget.preview_layer.data, expected), timeout=60_000)

    # a value the registry refuses is said, and the setting keeps its value
    widget.params.pick("levels", 1)
    assert "levels" in widget.status.text()
    assert widget.setting.params == {"levels": 8}

    # the original is never touched; the preview sits right above it
    assert original.data is moon16 and np.array_equal(moon16, kept)
    assert viewer.layers.index(widget.preview_layer) == viewer.layers.index(original) + 1
    widget.preview_check.setChecked(False)
    assert not [layer for layer in viewer.layers if is_preview(layer)]


def test_clahe_and_match_previews_equal_equalize(make_napari_viewer, qtbot, moon16):
    viewer = make_napari_viewer()
    viewer.add_image(moon16[:4], name="moon")
    widget = dock(viewer)
    widget.setting.set_method("match")
    widget.setting.set_param("reference", 2)      # image 2 of the stack, resolved once
    viewer.dims.set_current_step(0, 1)
    expected = equalize(moon16[:4], "match", reference=2)[1]
    qtbot.waitUntil(lambda: preview_of(widget, 1, "match")
                    and np.array_equal(widget.preview_layer.data, expected), timeout=60_000)
    widget.setting.set_method("clahe")
    widget.setting.set_param("clip_limit", 0.03)
    expected = equalize(moon16[1], "clahe", clip_limit=0.03)
    qtbot.waitUntil(lambda: preview_of(widget, 1, "clahe")
                    and np.array_equal(widget.preview_layer.data, expected), timeout=60_000)


def apply_and_wait(qtbot, widget, timeout=120_000):
    widget.result_layer = None
    widget.apply()
    qtbot.waitUntil(lambda: widget.result_layer is not None or
                    widget.apply_button.isEnabled(), timeout=timeout)
    return widget.result_layer


def test_apply_to_1800_images_in_memory_and_lazily(make_napari_viewer, qtbot, faces1800):
    viewer = make_napari_viewer()
    viewer.add_image(faces1800, name="faces")
    widget = dock(viewer)
    widget.preview_check.setChecked(False)
    widget.setting.set_method("imagej")
    widget.setting.set_scope("stack")
    layer = apply_and_wait(qtbot, widget)
    assert layer is not None, widget.status.text()
    assert layer.name == "faces · imagej (stack)"
    assert isinstance(layer.data, np.ndarray)
    assert np.array_equal(layer.data, equalize(faces1800, "imagej", 256, "stack"))
    assert layer.metadata[EQUALIZED_KEY]["source"] is faces1800

    # the same stack as a Dask layer: a lazy result, computed slice by slice
    viewer.add_image(da.from_array(faces1800, chunks=(100, 96, 96)), name="faces lazy",
                     contrast_limits=(0, 255))
    widget.picker.set_layer(viewer.layers["faces lazy"])
    widget.setting.set_method("opencv")
    widget.setting.set_scope("image")
    layer = apply_and_wait(qtbot, widget)
    assert isinstance(layer.data, da.Array)
    expected = equalize(faces1800, "opencv", 256)
    for i in (0, 777, 1799):
        viewer.dims.set_current_step(0, i)
        assert np.array_equal(np.asarray(layer.data[i]), expected[i])
    assert np.array_equal(layer.data[::97].compute(), expected[::97])


def test_a_lazy_stack_larger_than_memory_is_never_computed_whole(make_napari_viewer, qtbot,
                                                                 faces):
    """A million 256x256 images (61 GiB of uint8, 488 GiB equalized) on a 24 GiB machine."""
    n = 1_000_000
    base = faces[:, 0]

    def block(block_info=None):
        start = block_info[None]["array-location"][0][0]
        stop = block_info[None]["array-location"][0][1]
        i = np.arange(start, stop)
        images = np.tile(base[i % 100], (1, 3, 3))[:, :256, :256].astype(np.uint8)
        return (images // (1 + (i % 7))[:, None, None]).astype(np.uint8)

    huge = da.map_blocks(block, chunks=((100,) * (n // 100), (256,), (256,)), dtype=np.uint8)
    viewer = make_napari_viewer()
    viewer.add_image(huge, name="huge", contrast_limits=(0, 255))
    widget = dock(viewer)
    widget.setting.set_method("numpy")
    widget.setting.set_bins(128)
    viewer.dims.set_current_step(0, 654_321)
    sample = np.asarray(huge[654_321])
    qtbot.waitUntil(lambda: preview_of(widget, 654_321), timeout=60_000)
    assert np.array_equal(widget.preview_layer.data, equalize(sample, "numpy", 128))
    layer = apply_and_wait(qtbot, widget)
    assert isinstance(layer.data, da.Array) and layer.data.shape == huge.shape
    for i in (0, 654_321, n - 1):
        assert np.array_equal(np.asarray(layer.data[i]),
                              equalize(np.asarray(huge[i]), "numpy", 128))


def test_apply_runs_in_a_worker_with_progress_and_cancel(make_napari_viewer, qtbot, faces1800,
                                                          monkeypatch):
    """The stack histogram is fitted off the main thread; Cancel adds no layer."""
    from histeq_gui.core import fit

    threads, release = [], threading.Event()
    real = fit.fit_each

    def slow_fit(chunks, *args, **kwargs):
        threads.append(threading.get_ident())
        release.wait(60)                    # held until the test has seen the worker running
        return real(chunks, *args, **kwargs)

    monkeypatch.setattr(fit, "fit_each", slow_fit)
    viewer = make_napari_viewer()
    viewer.add_image(faces1800, name="faces")
    widget = dock(viewer)
    widget.preview_check.setChecked(False)
    widget.setting.set_scope("stack")
    before = len(viewer.layers)
    widget.apply()
    qtbot.waitUntil(lambda: bool(threads), timeout=30_000)
    assert threads[0] != threading.get_ident()     # napari's event loop goes on meanwhile
    assert widget.cancel_button.isEnabled() and not widget.apply_button.isEnabled()
    widget.cancel_button.click()
    release.set()
    assert widget.status.text() == "Cancelled: no layer was added"
    assert widget.apply_button.isEnabled()
    widget.apply_job.wait()
    qtbot.wait(50)      # the cancelled worker's last signals, if any, are ignored
    assert len(viewer.layers) == before


def test_rgb_layers_are_equalized_channel_by_channel(make_napari_viewer, qtbot):
    from skimage import data

    astronaut = data.astronaut()[::2, ::2]
    stack = np.stack([astronaut, astronaut[::-1], astronaut // 3])
    viewer = make_napari_viewer()
    viewer.add_image(stack, name="astronaut", rgb=True)
    viewer.dims.set_current_step(0, 2)
    widget = dock(viewer)
    widget.setting.set_method("opencv")
    widget.setting.set_scope("stack")
    expected = equalize(stack, "opencv", 256, "stack", channel_axis=-1)
    qtbot.waitUntil(lambda: preview_of(widget, 2, "opencv")
                    and np.array_equal(widget.preview_layer.data, expected[2]), timeout=60_000)
    assert widget.preview_layer.rgb
    layer = apply_and_wait(qtbot, widget)
    assert layer.rgb and np.array_equal(layer.data, expected)
