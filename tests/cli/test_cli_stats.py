"""``histeq --stats``: CleanVision's checks, value range, radius, a mixed folder, streaming."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile
from PIL import Image
from skimage import data

from histeq_gui import cli
from histeq_gui.core.io import open_reader, read_sidecar
from histeq_gui.core.stats import COLUMNS, image_stats


def run(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def mixed_folder(tmp_path):
    """Gray and colour photographs of different sizes, a copy and a cropped copy."""
    folder = tmp_path / "shots"
    folder.mkdir()
    Image.fromarray(data.camera()[::4, ::4]).save(folder / "a.png")
    Image.fromarray(data.chelsea()[::2, ::2]).save(folder / "b.png")
    Image.fromarray(data.chelsea()[::2, ::2][4:, 4:]).save(folder / "c.jpg", quality=80)
    Image.fromarray(data.coins()).save(folder / "d.png")
    Image.fromarray(data.coins()).save(folder / "e.png")
    return folder


def test_a_mixed_folder_gets_every_check(capsys, tmp_path, mixed_folder):
    target = tmp_path / "stats.csv"
    code, out, err = run(capsys, mixed_folder, "--stats", target, "--near-duplicate-radius", 6)
    assert (code, err) == (0, "")
    table = rows(target)
    assert list(table[0]) == list(COLUMNS)
    assert [r["name"] for r in table] == ["a.png", "b.png", "c.jpg", "d.png", "e.png"]
    assert [r["is_grayscale"] for r in table] == ["true", "false", "false", "true", "true"]
    assert [r["near_duplicate_of"] for r in table] == ["-1", "1", "1", "-1", "-1"]
    assert [r["duplicate_of"] for r in table] == ["-1", "-1", "-1", "-1", "3"]
    with open_reader(mixed_folder, mixed=True) as images:
        expected = image_stats(images, channel_axis="auto", near_duplicate_radius=6)
    assert [float(r["blurry_score"]) for r in table] == expected["blurry_score"].tolist()
    info = read_sidecar(target)
    assert info["near_duplicate_radius"] == 6 and info["value_range"] == [0.0, 255.0]
    assert info["checks"].startswith("CleanVision 0.3.7")


def test_a_mixed_folder_is_exported_as_colour_and_described_as_its_files(capsys, tmp_path,
                                                                         mixed_folder):
    code, out, err = run(capsys, mixed_folder, "-o", tmp_path / "out", "--stats",
                         tmp_path / "both.csv")
    assert (code, err) == (0, "")
    gray = np.asarray(Image.open(tmp_path / "out" / "a.png"))       # camera, read as RGB
    assert gray.shape[2:] == (3,) and (gray[..., 0] == gray[..., 2]).all()
    code, out, err = run(capsys, mixed_folder, "--stats", tmp_path / "alone.csv")
    assert (code, err) == (0, "")
    both, alone = rows(tmp_path / "both.csv"), rows(tmp_path / "alone.csv")
    assert both == alone                         # the same statistics, with or without -o


def test_the_value_range_option(capsys, tmp_path):
    photos = [data.camera(), data.moon(), data.coins()[:, :384]]
    twelve = np.stack([np.rint(200 + p[:128, :128] / 255 * 3895) for p in photos])
    source = tmp_path / "twelve.tif"
    tifffile.imwrite(source, twelve.astype(np.uint16), photometric="minisblack")
    for option, lo_hi, dark in (("auto", [0.0, 4095.0], "false"),
                                ("dtype", [0.0, 65535.0], "true"),
                                ("100,5000", [100.0, 5000.0], "false")):
        target = tmp_path / f"stats_{option.replace(',', '_')}.csv"
        code, _, err = run(capsys, source, "--stats", target, "--value-range", option)
        assert (code, err) == (0, ""), option
        assert read_sidecar(target)["value_range"] == lo_hi
        assert {r["is_dark"] for r in rows(target)} == {dark}, option


@pytest.mark.parametrize("option, value, words", [
    ("--value-range", "bright", "unknown value range"),
    ("--value-range", "5,1", "LO < HI"),
    ("--near-duplicate-radius", "11", "0 to 10"),
    ("--near-duplicate-radius", "x", "whole number"),
])
def test_bad_stats_options_are_usage_errors(capsys, tmp_path, option, value, words):
    source = tmp_path / "in.npy"
    np.save(source, np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(SystemExit) as stop:
        cli.main([str(source), "--stats", str(tmp_path / "s.csv"), option, value])
    assert stop.value.code == 2 and words in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_stats_stream_the_stack_instead_of_loading_it(capsys, tmp_path, no_whole_loads):
    stack = np.rint(data.lfw_subset() * 255).astype(np.uint8)
    stack[100:] = stack[:100]
    source = tmp_path / "faces.npy"
    np.save(source, stack)
    code, _, err = run(capsys, source, "--stats", tmp_path / "stats.csv")
    assert (code, err) == (0, "")
    table = rows(tmp_path / "stats.csv")
    assert [int(r["duplicate_of"]) for r in table[100:]] == list(range(100))
