"""What the user reads, and what the core accepts, agree across the entry points.

- big-endian floats (FITS data usually is) are described by ``image_stats`` and ``--stats``
  as they are equalized and exported;
- ``opencv`` on 32-bit integers stays in [0, 1];
- ``--reference`` naming a file that is not there says so;
- a ``channel_axis`` that is not an axis says what to give, whichever function gets it.
"""

import csv
import os

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from references import opencv_reference, per_image, sample_stack

from histeq_gui import cli, equalize, image_stats
from histeq_gui.core.export import ExportSettings, export
from histeq_gui.core.stack import guess_layout

PHOTOS = sample_stack()[:6, 0]              # real photographs, (6, 96, 96) uint8


def _same_table(a, b):
    assert list(a) == list(b)
    for name in a:
        assert_array_equal(a[name], b[name], err_msg=name)


# --- big-endian data -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [">f2", ">f4", ">f8", ">u2", ">i4"])
def test_image_stats_of_big_endian_data_equal_the_native_ones(dtype):
    native = np.dtype(dtype).newbyteorder("=")
    values = PHOTOS / 255 if native.kind == "f" else PHOTOS.astype(np.int64) * 200 - 9000
    stack = values.astype(native)
    swapped = stack.astype(dtype)
    assert swapped.dtype.byteorder == ">" and np.array_equal(swapped, stack)
    _same_table(image_stats(swapped, bins=64), image_stats(stack, bins=64))


def test_stats_of_a_big_endian_file_equal_the_native_files(tmp_path, capsys):
    stack = (PHOTOS / 255).astype(np.float32)
    np.save(tmp_path / "big.npy", stack.astype(">f4"))
    np.save(tmp_path / "native.npy", stack)
    for name in ("big", "native"):
        assert cli.main([str(tmp_path / f"{name}.npy"), "--stats",
                         str(tmp_path / f"{name}.csv"), "-q"]) == 0
    assert capsys.readouterr().err == ""
    with open(tmp_path / "big.csv", newline="") as a, open(tmp_path / "native.csv",
                                                          newline="") as b:
        assert list(csv.reader(a)) == list(csv.reader(b))


# --- opencv on 32-bit integers ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int32, np.uint32])
@pytest.mark.parametrize("scope", ["image", "stack"])
def test_opencv_on_32_bit_integers_stays_within_0_and_1(dtype, scope):
    info = np.iinfo(dtype)
    stack = (PHOTOS.astype(np.float64) / 255 * (float(info.max) - float(info.min))
             + float(info.min)).astype(dtype)
    out = equalize(stack, "opencv", scope=scope)
    assert out.min() == 0.0 and out.max() == 1.0
    top = stack == stack.max() if scope == "stack" else \
        stack == stack.max(axis=(1, 2), keepdims=True)
    assert (out[top] == 1.0).all()
    expected = per_image(opencv_reference, stack, 256) if scope == "image" else \
        opencv_reference(stack, 256)
    assert_array_equal(out, expected)


def test_opencv_on_int32_exports_the_top_as_the_top(tmp_path):
    stack = (PHOTOS.astype(np.int64) * 16843009 - 2 ** 31).astype(np.int32)   # full range
    out = export(stack, tmp_path / "o.npy", ExportSettings(method="opencv", dtype="float64"))
    assert np.load(out).max() == 1.0
    same = export(stack, tmp_path / "s.npy", ExportSettings(method="opencv"))
    assert np.load(same).max() == np.iinfo(np.int32).max


# --- a reference file that is not there -------------------------------------------------------

def test_a_missing_reference_file_is_no_such_file(tmp_path, capsys):
    np.save(tmp_path / "in.npy", PHOTOS)
    code = cli.main([str(tmp_path / "in.npy"), "-o", str(tmp_path / "o.npy"), "--method",
                     "match", "--reference", str(tmp_path / "nothere.png")])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == (f"histeq: error: cannot read '{tmp_path / 'nothere.png'}': no such file or "
                   "folder; check the path\n")
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


def test_a_reference_file_that_is_there_and_the_words_still_work(tmp_path, capsys):
    np.save(tmp_path / "in.npy", PHOTOS)
    np.save(tmp_path / "ref.npy", PHOTOS[3])
    for reference, expected in (("ref.npy", PHOTOS[3]), ("2", PHOTOS[2]), ("stack", "stack")):
        out = tmp_path / f"o-{reference}.npy"
        code = cli.main([str(tmp_path / "in.npy"), "-o", str(out), "--method", "match",
                         "--reference", str(tmp_path / reference) if reference == "ref.npy"
                         else reference, "-q", "--dtype", "float64"])
        assert code == 0, capsys.readouterr().err
        assert_array_equal(np.load(out), equalize(PHOTOS, "match", reference=expected))


# --- channel_axis that is not an axis ----------------------------------------------------------

MESSAGE = "channel_axis must be 'auto', None or an axis number, got 'x'; use None for grayscale"


@pytest.mark.parametrize("call", [
    lambda: equalize(PHOTOS, channel_axis="x"),
    lambda: image_stats(PHOTOS, channel_axis="x"),
    lambda: guess_layout(PHOTOS.shape, "x"),
    lambda: ExportSettings(channel_axis="x").validate(),
], ids=["equalize", "image_stats", "guess_layout", "ExportSettings"])
def test_a_channel_axis_that_is_not_an_axis_says_what_to_give(call):
    with pytest.raises(ValueError, match=MESSAGE):
        call()


def test_a_bool_is_not_an_axis():
    """True is not axis 1."""
    with pytest.raises(ValueError, match="got True"):
        equalize(PHOTOS, channel_axis=True)
