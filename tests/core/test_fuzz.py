"""Corrupted inputs through ``histeq``: a one-line error (exit 1) or a right export, no traceback.

Seeds are small real files of every input format, made here from
scikit-image's sample images (``.npy``, deflated ``.npz``, raw and zlib
TIFF, ImageJ TIFF, PNG, colour and grey animated GIF, a Zarr array); each is
damaged deterministically (cut at a random length, or one to three bytes
flipped, from a fixed seed) and exported with ``histeq``.  An export that
succeeds must equal what the API computes from the same damaged file
(``load_stack`` then ``export`` of the array): damage is either refused or harmless,
never silently half-read.  CI runs :data:`CASES` cases per seed (a few
seconds); ``HISTEQ_FUZZ_CASES=200`` runs a longer search.  Cases once worth
keeping are in ``tests/data/fuzz/`` and run every time.
"""

import os
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from histeq_gui import cli
from histeq_gui.core.errors import StackError
from histeq_gui.core.export import ExportSettings, export
from histeq_gui.core.io import load_stack

CASES = int(os.environ.get("HISTEQ_FUZZ_CASES", "6"))
SAVED = Path(__file__).resolve().parent.parent / "data" / "fuzz"


def _images():
    from skimage import data

    camera = data.camera()[::8, ::8]                     # 64 x 64
    return np.stack([np.roll(camera, 9 * i, axis=0) for i in range(4)])


def _seed(folder, kind):
    """Write the seed file of ``kind`` in ``folder``; return its path."""
    stack = _images()
    rgb = np.stack([stack, stack[:, ::-1], 255 - stack], axis=-1)
    path = folder / {"npy": "s.npy", "npz": "s.npz", "tif-raw": "s.tif", "tif-zlib": "s.tif",
                     "tif-imagej": "s.tif", "png": "s.png", "gif-colour": "s.gif",
                     "gif-grey": "s.gif", "zarr": "s.zarr"}[kind]
    if kind == "npy":
        np.save(path, stack)
    elif kind == "npz":
        np.savez_compressed(path, images=stack)
    elif kind == "tif-raw":
        tifffile.imwrite(path, stack, photometric="minisblack")
    elif kind == "tif-zlib":
        tifffile.imwrite(path, stack, photometric="minisblack", compression="zlib")
    elif kind == "tif-imagej":
        tifffile.imwrite(path, stack.astype(np.uint16) * 16, imagej=True,
                         resolution=(2.0, 2.0), metadata={"unit": "um", "spacing": 3.0})
    elif kind == "png":
        iio.imwrite(path, stack[0])
    elif kind == "gif-colour":
        iio.imwrite(path, rgb, loop=0)
    elif kind == "gif-grey":
        iio.imwrite(path, stack, loop=0)
    elif kind == "zarr":
        pytest.importorskip("zarr")
        from histeq_gui.core.io import save_stack

        save_stack(path, stack)
    return path


def _damage(path, rng):
    """Cut or flip the file ``path`` (a Zarr array: one of its files) in place; say how."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        path = files[int(rng.integers(len(files)))]
    data = bytearray(path.read_bytes())
    if rng.random() < 0.4:
        end = int(rng.integers(0, len(data)))
        path.write_bytes(bytes(data[:end]))
        return f"{path.name} cut at {end} of {len(data)}"
    flips = []
    for _ in range(int(rng.integers(1, 4))):
        at, bit = int(rng.integers(len(data))), int(rng.integers(8))
        data[at] ^= 1 << bit
        flips.append(f"{at}:{bit}")
    path.write_bytes(bytes(data))
    return f"{path.name} bits flipped at {', '.join(flips)}"


def _check_case(source, out, capsys, how):
    """Run histeq on ``source``: a one-line error with exit 1, or the API's very export."""
    code = cli.main([str(source), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    if code == 1:
        assert err.count("\n") == 1 and err.startswith("histeq: error: "), (how, err)
        assert not out.exists(), how
        return "refused"
    assert (code, err) == (0, ""), (how, code, err)
    try:
        stack = np.array(load_stack(source))
    except StackError as exc:
        raise AssertionError(f"{how}: exported, but load_stack refuses it: {exc}") from None
    export(stack, out.with_name("api.npy"), ExportSettings())
    assert out.read_bytes() == out.with_name("api.npy").read_bytes(), how
    return "exported"


KINDS = ["npy", "npz", "tif-raw", "tif-zlib", "tif-imagej", "png", "gif-colour", "gif-grey",
         "zarr"]


@pytest.mark.parametrize("kind", KINDS)
def test_damaged_inputs_are_refused_in_one_line_or_exported_right(tmp_path, capsys, kind):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    seed = _seed(seeds, kind)
    rng = np.random.default_rng(sum(map(ord, kind)))        # the same cases every run
    outcomes = []
    for case in range(CASES):
        folder = tmp_path / f"case{case}"
        folder.mkdir()
        source = folder / seed.name
        if seed.is_dir():
            shutil.copytree(seed, source)
        else:
            shutil.copyfile(seed, source)
        how = f"{kind} case {case}: " + _damage(source, rng)
        outcomes.append(_check_case(source, folder / "out.npy", capsys, how))
    assert "refused" in outcomes or kind in ("npy", "tif-raw"), outcomes


@pytest.mark.parametrize("name", sorted(p.name for p in SAVED.iterdir()) if SAVED.is_dir()
                         else [])
def test_saved_damaged_cases(tmp_path, capsys, name):
    source = tmp_path / name
    if (SAVED / name).is_dir():
        shutil.copytree(SAVED / name, source)
    else:
        shutil.copyfile(SAVED / name, source)
    _check_case(source, tmp_path / "out.npy", capsys, name)
