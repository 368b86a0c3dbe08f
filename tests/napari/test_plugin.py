"""The plugin as napari finds it: installed by the extra, its manifest valid, its widgets listed."""

from __future__ import annotations

import pytest

napari = pytest.importorskip("napari", minversion="0.5")   # not tests/napari itself
npe2 = pytest.importorskip("npe2")


def test_manifest_is_valid_and_discovered():
    manifest = npe2.PluginManifest.from_distribution("histeq-gui")
    assert manifest.name == "histeq-gui"
    pm = npe2.PluginManager.instance()
    pm.discover()
    assert "histeq-gui" in pm.iter_manifests() or any(
        m.name == "histeq-gui" for m in pm.iter_manifests())
    widgets = {w.display_name for w in manifest.contributions.widgets}
    assert widgets == {"Equalize", "Histogram", "Statistics"}
    assert manifest.contributions.readers[0].accepts_directories
    assert set(manifest.contributions.writers[0].filename_extensions) >= {".tif", ".npy"}


def test_every_widget_docks_and_shares_the_viewers_setting(make_napari_viewer, moon16):
    from histeq_gui.napari.session import session_for

    viewer = make_napari_viewer()
    viewer.add_image(moon16)
    widgets = [viewer.window.add_plugin_dock_widget("histeq-gui", name)[1]
               for name in ("Equalize", "Histogram", "Statistics")]
    # napari hands each widget a proxy of the viewer: one session for all the same
    assert {id(w.session) for w in widgets} == {id(session_for(viewer))}
    widgets[0].setting.set_bins(77)
    assert session_for(viewer).setting.bins == 77
