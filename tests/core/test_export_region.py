"""A region of interest carried into the export: ExportSettings.region and histeq --region.

What the viewer shows with a region is ``equalize(x, mask=region_mask(region, (H, W)))``
(tests/gui/test_trace_and_roi.py); the export must write exactly that, converted.
"""

import numpy as np
import pytest
from skimage import data, transform

from histeq_gui.cli import main as histeq_main
from histeq_gui.core.convert import convert
from histeq_gui.core.equalize import equalize
from histeq_gui.core.errors import StackError
from histeq_gui.core.export import ExportSettings, export, export_steps
from histeq_gui.core.io import load_stack, read_sidecar, save_stack
from histeq_gui.core.region import (
    check_region,
    parse_region,
    region_mask,
    region_of_rect,
    region_text,
)

REGION = (20, 70, 10, 90)           # rows 20:70, columns 10:90: the dark part of the photos


def _photos(n=6, size=(96, 120)):
    """Real photographs (camera, moon, coins, ...) in uint8, each brightened differently."""
    shots = [data.camera(), data.moon(), data.coins(), data.page(), data.text(),
             data.grass()]
    return np.stack([np.round(transform.resize(shots[i % len(shots)], size,
                                               anti_aliasing=True) * (150 + 15 * i))
                     .astype(np.uint8) for i in range(n)])[:, np.newaxis]


def _moon12(n=4):
    """12-bit data in uint16 (0..4095), crops of the moon."""
    moon = data.moon().astype(np.float64) / 255
    return np.round(np.stack([moon[20 * i:20 * i + 80, :100] ** (0.8 + 0.1 * i)
                              for i in range(n)]) * 4095).astype(np.uint16)


@pytest.mark.parametrize("scope", ["image", "stack"])
@pytest.mark.parametrize("method", ["numpy", "skimage", "opencv", "imagej", "textbook"])
def test_the_export_with_a_region_is_equalize_with_its_mask(tmp_path, scope, method):
    stack = _photos()
    out = export(stack, tmp_path / "out.npy",
                 ExportSettings(method=method, bins=64, scope=scope, region=REGION))
    mask = region_mask(REGION, stack.shape[-2:])
    expected = convert(equalize(stack, method, 64, scope, mask=mask), "same", stack.dtype)
    written = np.load(out)
    assert written.dtype == np.uint8 and np.array_equal(written, expected)
    without = convert(equalize(stack, method, 64, scope), "same", stack.dtype)
    assert not np.array_equal(written, without), "the region must change the result"


@pytest.mark.parametrize("scope", ["image", "stack"])
def test_a_region_of_12_bit_data_chunk_by_chunk_is_the_same(tmp_path, scope):
    stack = _moon12()
    path = tmp_path / "moon.npy"
    np.save(path, stack)
    expected = convert(equalize(stack, "skimage", scope=scope,
                                mask=region_mask((5, 60, 0, 50), (80, 100))), "same", np.uint16)
    for chunk in (1, 3):
        out = tmp_path / f"out{chunk}.tif"
        steps = export_steps(np.load(path, mmap_mode="r"), out,
                             ExportSettings(method="skimage", scope=scope,
                                            region=(5, 60, 0, 50)), chunk_images=chunk)
        assert list(steps)[-1][0] == "write"
        assert np.array_equal(load_stack(out), expected)


def test_match_to_the_whole_stack_counts_only_the_region(tmp_path):
    """match's reference "stack" resolved through the reader, with the region's pixels only."""
    stack = _moon12(6)
    path = tmp_path / "moon.npy"
    np.save(path, stack)
    region = (10, 40, 20, 70)
    mask = region_mask(region, stack.shape[-2:])
    for reference in ("stack", 2):
        out = export(np.load(path, mmap_mode="r"), tmp_path / f"m{reference}.npy",
                     ExportSettings(method="match", params={"reference": reference},
                                    region=region))
        expected = convert(equalize(stack, "match", mask=mask, reference=reference), "same",
                           np.uint16)
        assert np.array_equal(np.load(out), expected)


def test_a_colour_stack_uses_the_region_in_every_channel(tmp_path):
    rgb = np.stack([transform.resize(data.astronaut(), (64, 80), anti_aliasing=True),
                    transform.resize(data.coffee(), (64, 80), anti_aliasing=True)])
    rgb = np.round(rgb * 255).astype(np.uint8)
    out = export(rgb, tmp_path / "rgb.npy", ExportSettings(region=(0, 32, 40, 80)))
    expected = convert(equalize(rgb, channel_axis=-1, mask=region_mask((0, 32, 40, 80),
                                                                       (64, 80))),
                       "same", np.uint8)
    assert np.array_equal(np.load(out), expected)


def test_the_sidecar_records_the_region(tmp_path):
    out = export(_photos(2), tmp_path / "out.tif", ExportSettings(region=REGION))
    assert read_sidecar(out)["region"] == "20:70,10:90"
    plain = export(_photos(2), tmp_path / "plain.tif", ExportSettings())
    assert read_sidecar(plain)["region"] is None


@pytest.mark.parametrize("settings, match", [
    (ExportSettings(method="clahe", region=REGION), "clahe method takes no region"),
    (ExportSettings(region=(0, 97, 0, 10)), r"reaches beyond the images of 96x120"),
    (ExportSettings(region=(5, 5, 0, 10)), "0 <= y0 < y1"),
    (ExportSettings(region=(0, 5, 0, 1.5)), "four whole numbers"),
])
def test_a_bad_region_is_refused_before_anything_is_written(tmp_path, settings, match):
    with pytest.raises(ValueError, match=match):
        export(_photos(2), tmp_path / "out.npy", settings)
    assert list(tmp_path.iterdir()) == []


def test_the_dask_engine_refuses_a_region(tmp_path):
    with pytest.raises(StackError, match="dask engine takes no region"):
        export(_photos(2), tmp_path / "out.npy", ExportSettings(region=REGION), engine="dask")


@pytest.mark.parametrize("scope", ["image", "stack"])
def test_images_of_different_sizes_cut_the_region_to_each(tmp_path, scope):
    """As the viewer: scope image uses the whole image where the region misses it; scope stack
    pools the region's pixels of every image (none of an image it misses)."""
    from histeq_gui.core.equalize import histogram
    from histeq_gui.core.io import open_reader

    folder = tmp_path / "shots"
    folder.mkdir()
    shots = {"a.png": data.camera()[::4, ::4], "b.png": data.coins()[:60, :50],
             "c.png": data.moon()[:20, :30]}            # c: the region (rows 25:..) misses it
    for name, image in shots.items():
        save_stack(folder / name, image)
    region = (25, 90, 10, 40)
    with open_reader(folder) as reader:
        assert reader.ragged
        out = export(reader, tmp_path / "eq", ExportSettings(scope=scope, region=region))
    masks = {name: region_mask(region, image.shape, clip=True) for name, image in shots.items()}
    assert not masks["c.png"].any()
    if scope == "stack":
        pooled = histogram(np.concatenate([image[masks[name]]
                                           for name, image in shots.items()]))
    for name, image in shots.items():
        if scope == "image":
            want = equalize(image, mask=masks[name] if masks[name].any() else None)
        else:
            want = pooled.apply(image)
        assert np.array_equal(load_stack(out / name), convert(want, "same", np.uint8)), name


def test_region_text_round_trips_and_the_viewers_rectangle_maps_to_it():
    for text in ("0:1,0:1", "10:50,20:80"):
        assert region_text(parse_region(text)) == text
    assert region_of_rect((20, 10, 60, 40)) == parse_region("10:50,20:80")
    with pytest.raises(ValueError, match="is not Y0:Y1,X0:X1"):
        parse_region("10:50")
    assert check_region(np.array([1, 2, 3, 4])) == (1, 2, 3, 4)


def test_histeq_region_writes_the_bytes_of_the_api(tmp_path, capsys):
    stack = _photos()
    source = tmp_path / "photos.npy"
    np.save(source, stack)
    out = tmp_path / "cli.npy"
    assert histeq_main([str(source), "-o", str(out), "--region", "20:70,10:90", "--scope",
                        "stack", "--quiet"]) == 0
    api = export(stack, tmp_path / "api.npy", ExportSettings(scope="stack", region=REGION))
    assert out.read_bytes() == api.read_bytes()
    assert read_sidecar(out)["region"] == "20:70,10:90"


@pytest.mark.parametrize("argv, code, message", [
    (["--region", "20-70,10:90"], 2, "is not Y0:Y1,X0:X1"),
    (["--region", "20:700,10:90"], 1, "reaches beyond the images"),
    (["--region", "20:70,10:90", "--method", "clahe"], 1, "clahe method takes no region"),
])
def test_histeq_refuses_a_bad_region_in_one_line(tmp_path, capsys, argv, code, message):
    source = tmp_path / "photos.npy"
    np.save(source, _photos(2))
    out = tmp_path / "out.npy"
    try:
        result = histeq_main([str(source), "-o", str(out)] + argv)
    except SystemExit as exc:
        result = exc.code
    err = capsys.readouterr().err
    assert result == code and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
