"""The reader and writer contributions, through napari: round trips and the export's bytes."""

from __future__ import annotations

import json

import numpy as np
import pytest

napari = pytest.importorskip("napari", minversion="0.5")   # not tests/napari itself

from histeq_gui.core.export import ExportSettings, export  # noqa: E402
from histeq_gui.core.io import load_stack, read_sidecar, save_stack, sidecar_path  # noqa: E402
from histeq_gui.napari.layers import EQUALIZED_KEY, SOURCE_KEY  # noqa: E402
from histeq_gui.napari.writer import NotWritten  # noqa: E402


def test_npy_of_n_1_h_w_reads_as_n_images(make_napari_viewer, tmp_path, faces):
    path = tmp_path / "faces.npy"
    np.save(path, faces)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin="histeq-gui")
    assert layer.name == "faces.npy" and layer.data.shape == (100, 96, 96)
    assert np.array_equal(layer.data, faces[:, 0])
    assert layer.metadata[SOURCE_KEY]["shape"] == (100, 1, 96, 96)
    assert viewer.dims.nsteps[0] == 100


def test_npz_gives_a_layer_per_array_and_folders_read(make_napari_viewer, tmp_path, faces):
    path = tmp_path / "pair.npz"
    rgb = np.stack([faces[:4, 0]] * 3, axis=-1)
    np.savez(path, gray=faces[:5], colour=rgb)
    save_stack(tmp_path / "pngs", faces[:6, 0])          # a folder of PNG files
    viewer = make_napari_viewer()
    layers = viewer.open(path, plugin="histeq-gui")
    by_name = {layer.name: layer for layer in layers}
    assert set(by_name) == {"pair.npz [gray]", "pair.npz [colour]"}
    assert by_name["pair.npz [colour]"].rgb and by_name["pair.npz [colour]"].data.shape == \
        (4, 96, 96, 3)
    assert np.array_equal(by_name["pair.npz [gray]"].data, faces[:5, 0])
    (folder,) = viewer.open(tmp_path / "pngs", plugin="histeq-gui")
    assert np.array_equal(folder.data, faces[:6, 0])
    from histeq_gui.napari.reader import get_reader
    assert get_reader(str(tmp_path / "nothing.tif")) is None
    (tmp_path / "empty").mkdir()
    assert get_reader(str(tmp_path / "empty")) is None


def test_a_big_file_reads_lazily(make_napari_viewer, tmp_path, faces, monkeypatch):
    import dask.array as da

    from histeq_gui.napari import reader
    monkeypatch.setattr(reader, "memory_budget", lambda: 1000)   # every file is "big"
    path = tmp_path / "faces.npy"
    np.save(path, faces)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin="histeq-gui")
    assert isinstance(layer.data, da.Array)
    assert np.array_equal(np.asarray(layer.data[42]), faces[42, 0])


def test_writer_is_the_export_with_its_sidecar(make_napari_viewer, qtbot, tmp_path, faces):
    source = tmp_path / "faces.npy"
    np.save(source, faces)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(source, plugin="histeq-gui")
    _, widget = viewer.window.add_plugin_dock_widget("histeq-gui", "Equalize")
    widget.preview_check.setChecked(False)
    widget.setting.set_method("imagej")
    widget.setting.set_scope("stack")
    widget.result_layer = None
    widget.apply()
    qtbot.waitUntil(lambda: widget.result_layer is not None, timeout=60_000)
    equalized = widget.result_layer
    assert equalized.metadata[EQUALIZED_KEY]["method"] == "imagej"

    out = tmp_path / "faces_eq.tif"
    viewer.layers.selection = {equalized}
    written = viewer.layers.save(str(out), selected=True, plugin="histeq-gui")
    assert written == [str(out)]
    reference = tmp_path / "reference.tif"       # what `histeq faces.npy -o ... ` writes
    export(load_stack(source), reference, ExportSettings("imagej", 256, "stack"), source=source)
    assert out.read_bytes() == reference.read_bytes()
    back = load_stack(out)
    assert back.shape == (100, 1, 96, 96) and back.dtype == np.uint8
    info = read_sidecar(out)
    assert info["method"] == "imagej" and info["scope"] == "stack"
    assert json.loads(sidecar_path(out).read_text())["source"].endswith("faces.npy")
    assert np.array_equal(back[:, 0] / 255, np.round(equalized.data * 255) / 255)

    # never over a file it did not write; the file stays as it was
    before = out.read_bytes()
    with pytest.raises(NotWritten, match="exists"):
        viewer.layers.save(str(out), selected=True, plugin="histeq-gui")
    assert out.read_bytes() == before

    # a plain layer: written as it is, atomically
    viewer.layers.selection = {layer}
    plain = tmp_path / "plain.npy"
    viewer.layers.save(str(plain), selected=True, plugin="histeq-gui")
    assert np.array_equal(np.load(plain), faces[:, 0])
