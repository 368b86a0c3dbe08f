"""Folder trees read as one dataset: order, names, labels, pixels, statistics per label, export.

The tree (``tests/photo_tree.py``) is made from scikit-image's photographs, resized with
Pillow and written as JPEG and PNG files, gray and colour, of several sizes, in two levels of
subfolders, beside a hidden file, a hidden folder, a text file and a link back to the top (a
loop).  References: every file read one by one with Pillow (``np.asarray(Image.open(path))``),
gray ones replicated into R, G and B with NumPy, as the readers document; the export compared
with ``histeq`` run on each file alone.
"""

import json
import os

import numpy as np
import pytest
from photo_tree import FILES, LABELS, ORDER, SUMMARY, by_pillow, write_tree
from PIL import Image
from skimage import data

from histeq_gui import cli, image_stats, load_stack
from histeq_gui.core.errors import StackError
from histeq_gui.core.export import ExportSettings, export
from histeq_gui.core.io import list_folder, open_reader, read_sidecar
from histeq_gui.core.stats import COLUMNS, DATASET_COLUMNS


@pytest.fixture
def tree(tmp_path):
    return write_tree(tmp_path / "tree", extras=True)


def test_the_listing_orders_names_labels_and_says_what_it_left_out(tree):
    listing = list_folder(tree)
    assert list(listing.names) == ORDER
    assert listing.labels == LABELS
    assert [p.relative_to(tree).as_posix() for p in listing.files] == ORDER
    assert listing.summary() == SUMMARY


def test_a_tree_reads_as_the_files_read_one_by_one_with_pillow(tree):
    expected = by_pillow(tree)
    with open_reader(tree) as reader:
        assert reader.ragged and reader.names == ORDER and reader.labels == LABELS
        assert reader.channels == 3 and reader.dtype == np.uint8
        assert reader.shapes == [image.shape for image in expected]
        for i, image in enumerate(expected):
            np.testing.assert_array_equal(reader.image(i), image)
        for got, image in zip(reader.images(), expected):          # read ahead, in order
            np.testing.assert_array_equal(got, image)


def test_a_tree_opened_without_its_headers_reads_the_same(tree):
    """Its first image is gray; a few headers read at once (the first of each label) find
    colour ones, so it is read as colour from the start."""
    expected = by_pillow(tree)
    with open_reader(tree, probe=False) as reader:
        assert reader.ragged and not reader.probed and reader.channels == 3
        assert reader.shape_of(3) == expected[3].shape and not reader.probed
        for i, image in enumerate(expected):
            np.testing.assert_array_equal(reader.image(i), image)
        reader.probe()
        assert reader.probed and reader.shapes == [image.shape for image in expected]


def test_a_colour_image_the_first_headers_missed_is_refused_in_one_line_until_probed(
        tree, monkeypatch):
    from histeq_gui.core.io import folders

    monkeypatch.setattr(folders, "_SAMPLE_FILES", 1)       # no header read but the first's
    expected = by_pillow(tree)
    with open_reader(tree, probe=False) as reader:
        assert reader.channels == 1
        np.testing.assert_array_equal(reader.image(1), expected[1][..., 0])     # gray
        with pytest.raises(StackError) as info:
            reader.image(2)
        message = str(info.value)
        assert "\n" not in message and "'cat/img2.jpg' is RGB but the folder is read as gray" \
            in message
        reader.probe()
        assert reader.channels == 3
        for i, image in enumerate(expected):
            np.testing.assert_array_equal(reader.image(i), image)


def test_a_tree_of_one_size_loads_as_one_array(tmp_path):
    files = {name: (photo, (40, 30), gray) for name, (photo, _, gray) in FILES.items()}
    root = write_tree(tmp_path / "tree", files)
    expected = np.stack(by_pillow(root))
    seen = []
    stack = load_stack(root, progress=lambda done, total: seen.append((done, total)))
    np.testing.assert_array_equal(stack, expected)
    assert seen[-1] == (6, 6)
    with open_reader(root) as reader:
        assert not reader.ragged and reader.names == ORDER and reader.labels == LABELS
        np.testing.assert_array_equal(reader.read(2, 5), expected[2:5])
        export(reader, tmp_path / "out", ExportSettings(), source=root)     # one array: mirrored
    for name in ORDER:
        with Image.open(tmp_path / "out" / (name.rsplit(".", 1)[0] + ".png")) as png:
            assert png.size == (40, 30) and png.mode == "RGB"


def test_a_big_tree_is_read_from_its_files_the_same(tmp_path, monkeypatch):
    """A tree too big to keep decoded when opened: its headers are read, then its files."""
    from histeq_gui.core.io import folders

    monkeypatch.setattr(folders, "_KEEP_BYTES", 0)
    files = {name: (photo, (40, 30), gray) for name, (photo, _, gray) in FILES.items()}
    root = write_tree(tmp_path / "tree", files)
    np.testing.assert_array_equal(load_stack(root), np.stack(by_pillow(root)))


def test_statistics_per_label_are_those_of_each_labels_images(tree):
    expected = by_pillow(tree)
    with open_reader(tree) as reader:
        table = image_stats(reader, channel_axis="auto")
    assert table["name"].tolist() == ORDER and table["label"].tolist() == LABELS
    for label in ("", "cat", "dog"):
        rows = [i for i, lab in enumerate(LABELS) if lab == label]
        alone = image_stats([expected[i] for i in rows], channel_axis=-1)
        for column, (dtype, _) in COLUMNS.items():
            if dtype in ("float64", "int64", "bool") and column != "index" and \
                    column not in DATASET_COLUMNS:
                np.testing.assert_array_equal(table[column][rows], alone[column], err_msg=column)


def test_the_export_mirrors_the_tree_as_histeq_writes_each_file(tree, tmp_path, capsys):
    with open_reader(tree) as reader:
        export(reader, tmp_path / "out", ExportSettings(), source=tree)
    written = sorted(p.relative_to(tmp_path / "out").as_posix()
                     for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == sorted(name.rsplit(".", 1)[0] + ".png" for name in ORDER)
    assert read_sidecar(tmp_path / "out")["files"] == {
        name.rsplit(".", 1)[0] + ".png": name for name in ORDER}
    for name in ORDER:
        png = name.rsplit(".", 1)[0] + ".png"
        alone = tmp_path / "alone" / png
        alone.parent.mkdir(parents=True, exist_ok=True)
        assert cli.main([str(tree / name), "-o", str(alone), "--quiet"]) == 0
        with Image.open(tmp_path / "out" / png) as ours, Image.open(alone) as theirs:
            ours, theirs = np.asarray(ours), np.asarray(theirs)
        if FILES[name][2]:          # a gray file: read as colour in the tree, R = G = B
            assert ours.shape == theirs.shape + (3,)
            for channel in range(3):
                np.testing.assert_array_equal(ours[..., channel], theirs)
        else:                       # a colour file: the same bytes
            assert (tmp_path / "out" / png).read_bytes() == alone.read_bytes()
    capsys.readouterr()


def test_histeq_reads_a_tree_for_statistics_and_export(tree, tmp_path, capsys):
    code = cli.main([str(tree), "--stats", str(tmp_path / "s.csv"), "-o", str(tmp_path / "out")])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == f"read {tree}: {SUMMARY}"
    lines = (tmp_path / "s.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert [row.split(",")[header.index("label")] for row in lines[1:]] == LABELS
    assert (tmp_path / "out" / "dog" / "puppies" / "coins.png").is_file()
    files = json.loads((tmp_path / "out.json").read_text())["files"]
    assert files["cat/gray cat.png"] == "cat/gray cat.jpg"


def test_an_earlier_tree_export_is_replaced_but_not_a_folder_of_other_files(tree, tmp_path):
    with open_reader(tree) as reader:
        export(reader, tmp_path / "out", ExportSettings())
        export(reader, tmp_path / "out", ExportSettings(bins=16), overwrite=True)
    assert read_sidecar(tmp_path / "out")["bins"] == 16
    (tmp_path / "out" / "cat" / "mine.txt").write_text("keep me")
    with open_reader(tree) as reader, pytest.raises(StackError, match="cat/mine.txt"):
        export(reader, tmp_path / "out", ExportSettings(), overwrite=True)
    assert (tmp_path / "out" / "cat" / "mine.txt").read_text() == "keep me"


def test_two_sources_of_one_png_name_in_a_subfolder_are_refused_before_writing(tmp_path):
    root = tmp_path / "tree"
    (root / "cat").mkdir(parents=True)
    Image.fromarray(data.camera()[::16, ::16]).save(root / "cat" / "a.png")
    Image.fromarray(data.camera()[::8, ::8]).save(root / "cat" / "a.jpg")
    with open_reader(root) as reader, pytest.raises(StackError,
                                                    match="'cat/a.jpg' and 'cat/a.png' would "
                                                          "both be written as 'cat/a.png'"):
        export(reader, tmp_path / "out", ExportSettings())
    assert not (tmp_path / "out").exists()


def test_a_subfolder_that_cannot_be_listed_is_one_line(tree, monkeypatch):
    real = os.scandir

    def scandir(path):
        if str(path).endswith("puppies"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(StackError) as info:
        open_reader(tree)
    assert str(info.value) == (f"cannot read '{tree / 'dog' / 'puppies'}': permission denied; "
                               "check the permissions of the file and its folder")


def test_a_link_to_itself_is_a_loop_not_an_error(tree):
    os.symlink("self", tree / "cat" / "self")
    listing = list_folder(tree)
    assert list(listing.names) == ORDER
    assert listing.loops == ("cat/self", "dog/loop")
