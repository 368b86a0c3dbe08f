"""The spatial calibration of a TIFF input (ImageJ, OME, resolution tags) kept by the export.

An ImageJ TIFF with a pixel size of 0.65 um, a z spacing of 2 and a frame
interval comes back from ``histeq`` and from the viewer's export with the
same calibration, as Fiji keeps it, checked with tifffile and, where it is
installed, with ImageJ itself; the sidecar records it.
"""

import json
import shutil
import subprocess

import numpy as np
import pytest
import tifffile

from histeq_gui import cli
from histeq_gui.core.export import ExportSettings, export
from histeq_gui.core.io import open_reader, read_sidecar
from histeq_gui.core.io.tiff import read_calibration

CALIBRATION = {"pixel_width": 0.65, "pixel_height": 0.65, "unit": "um", "spacing": 2.0,
               "finterval": 0.5}


def _moon_stack(n=5):
    from skimage import data

    moon = data.moon()[:96, :128].astype(np.uint16) * 16          # 12-bit values in uint16
    return np.stack([np.roll(moon, 7 * i, axis=1) for i in range(n)])


def _imagej_tiff(path, stack=None, axes="ZYX"):
    stack = _moon_stack() if stack is None else stack
    tifffile.imwrite(path, stack, imagej=True, resolution=(1 / 0.65, 1 / 0.65),
                     metadata={"axes": axes, "spacing": 2.0, "unit": "um", "finterval": 0.5})
    return path


def _calibration_of(path):
    with tifffile.TiffFile(path) as tif:
        return read_calibration(tif, tif.series[0])


def test_read_calibration_of_imagej_ome_and_plain_files(tmp_path):
    assert _calibration_of(_imagej_tiff(tmp_path / "ij.tif")) == {**CALIBRATION, "axes": "ZYX"}
    tifffile.imwrite(tmp_path / "ome.ome.tif", _moon_stack(), ome=True,
                     metadata={"axes": "ZYX", "PhysicalSizeX": 0.65, "PhysicalSizeY": 0.65,
                               "PhysicalSizeZ": 2.0, "PhysicalSizeXUnit": "µm"})
    assert _calibration_of(tmp_path / "ome.ome.tif") == {
        "pixel_width": 0.65, "pixel_height": 0.65, "spacing": 2.0, "unit": "um", "axes": "ZYX"}
    tifffile.imwrite(tmp_path / "dpi.tif", _moon_stack(), resolution=(300, 300),
                     resolutionunit="INCH")
    assert _calibration_of(tmp_path / "dpi.tif") == {
        "pixel_width": round(1 / 300, 12), "pixel_height": round(1 / 300, 12), "unit": "inch",
        "axes": "QYX"}
    tifffile.imwrite(tmp_path / "plain.tif", _moon_stack())
    assert _calibration_of(tmp_path / "plain.tif") is None


@pytest.mark.parametrize("dtype", ["same", "uint8", "float32"])
def test_histeq_keeps_an_imagej_calibration(tmp_path, dtype):
    """Was: a plain TIFF with a resolution of 1/1, no unit, no spacing."""
    source = _imagej_tiff(tmp_path / "moon.tif")
    assert cli.main([str(source), "-o", str(tmp_path / "eq.tif"), "--dtype", dtype, "-q"]) == 0
    with tifffile.TiffFile(tmp_path / "eq.tif") as tif:
        assert tif.is_imagej and tif.series[0].shape == (5, 96, 128)
        info = tif.imagej_metadata
        assert (info["unit"], info["spacing"], info["finterval"]) == ("um", 2.0, 0.5)
        x_res, y_res = tif.pages[0].get_resolution()
        assert (round(1 / x_res, 9), round(1 / y_res, 9)) == (0.65, 0.65)
    assert read_sidecar(tmp_path / "eq.tif")["calibration"] == {**CALIBRATION, "axes": "ZYX"}
    with open_reader(tmp_path / "eq.tif") as reader:
        assert reader.calibration == {**CALIBRATION, "axes": "ZYX"}


def test_a_float64_export_keeps_the_pixel_size_and_the_rest_in_its_description(tmp_path):
    """ImageJ holds no float64: resolution tags, and the calibration in tifffile's metadata."""
    source = _imagej_tiff(tmp_path / "moon.tif")
    with open_reader(source) as reader:
        export(reader, tmp_path / "eq.tif", ExportSettings(dtype="float64"))
    with tifffile.TiffFile(tmp_path / "eq.tif") as tif:
        assert not tif.is_imagej and tif.series[0].shape == (5, 96, 128)
        assert tif.shaped_metadata[0]["calibration"] == {"unit": "um", "spacing": 2.0,
                                                          "finterval": 0.5}
        x_res, _ = tif.pages[0].get_resolution()
        assert round(1 / x_res, 9) == 0.65
    assert read_sidecar(tmp_path / "eq.tif")["calibration"]["spacing"] == 2.0


def test_a_stack_with_an_axis_of_one_keeps_its_shape(tmp_path):
    """ImageJ drops axes of length one: such a stack is written as a plain calibrated TIFF."""
    stack = _moon_stack(4)[:, np.newaxis]
    tifffile.imwrite(tmp_path / "in.tif", stack, resolution=(1 / 0.65, 1 / 0.65),
                     resolutionunit="CENTIMETER")
    with open_reader(tmp_path / "in.tif") as reader:
        assert reader.shape == (4, 1, 96, 128)
        export(reader, tmp_path / "eq.tif", ExportSettings())
    with open_reader(tmp_path / "eq.tif") as reader:
        assert reader.shape == (4, 1, 96, 128)
        assert reader.calibration["unit"] == "cm" and reader.calibration["pixel_width"] == 0.65


def test_the_viewers_export_keeps_the_calibration(tmp_path):
    """The viewer reads a small stack into memory; its reader keeps the file's calibration."""
    from histeq_gui.gui.stack_file import open_stack

    source = _imagej_tiff(tmp_path / "moon.tif")
    stack = open_stack(source)
    assert stack.reader.kind == "tif" and stack.reader.calibration["spacing"] == 2.0
    export(stack.reader, tmp_path / "eq.tif", ExportSettings(), source=source)
    assert _calibration_of(tmp_path / "eq.tif") == {**CALIBRATION, "axes": "ZYX"}


_MACRO = """
open(getArgument());
getVoxelSize(width, height, depth, unit);
print(width + " " + height + " " + depth + " " + unit + " " + Stack.getFrameInterval() + " "
      + nSlices);
"""


@pytest.mark.skipif(shutil.which("java") is None or shutil.which("xvfb-run") is None or
                    not __import__("os").path.exists("/usr/share/java/ij.jar"),
                    reason="needs ImageJ (apt-get install imagej default-jdk-headless) and Xvfb")
def test_imagej_itself_reads_the_calibration_of_the_export(tmp_path):
    source = _imagej_tiff(tmp_path / "moon.tif")
    assert cli.main([str(source), "-o", str(tmp_path / "eq.tif"), "-q"]) == 0
    (tmp_path / "print.ijm").write_text(_MACRO)
    result = subprocess.run(["xvfb-run", "-a", "java", "-jar", "/usr/share/java/ij.jar",
                             "-batch", str(tmp_path / "print.ijm"), str(tmp_path / "eq.tif")],
                            capture_output=True, text=True, timeout=300)
    assert result.stdout.split()[-6:] == ["0.65", "0.65", "2", "µm", "0.5", "5"], result.stdout
    assert json.loads((tmp_path / "eq.tif.json").read_text())["calibration"]["unit"] == "um"
