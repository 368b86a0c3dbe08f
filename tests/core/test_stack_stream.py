"""The one stack stream (engine.chunks.stack_stream): what stack-aware parameters read.

The export, the viewer and the statistics resolve ``match``'s reference (an
image index, or ``"stack"``) against the whole stack read piece by piece
through a reader.  Its pieces and images must hold every channel as it is,
in order: a colour ``match`` export with ``reference=1`` or ``"stack"``
equals ``equalize`` of the same stack, whatever the chunks.
"""

import numpy as np
import pytest
from skimage import data
from skimage.transform import resize

from histeq_gui.core import export as export_module
from histeq_gui.core.engine.chunks import stack_stream
from histeq_gui.core.equalize import equalize, stack_params
from histeq_gui.core.export import ExportSettings, convert, export
from histeq_gui.core.io import load_stack, open_reader, reader_for
from histeq_gui.core.stack import as_channels_first, guess_layout


def photos_rgb(n=7, size=40):
    """``n`` colour photographs (uint8, (n, size, size, 3)): crops of scikit-image's pictures."""
    pictures = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    out = []
    for i in range(n):
        picture = pictures[i % len(pictures)]
        y = (i * 37) % (picture.shape[0] - 200)
        crop = picture[y:y + 200, 50:250]
        out.append((resize(crop, (size, size), anti_aliasing=True) * 255).round())
    rgb = np.stack(out).astype(np.uint8)
    rgb[..., 2] //= 3               # the channels differ a lot: one taken for another shows
    return rgb


@pytest.mark.parametrize("shape,axis", [((6, 16, 12), None), ((6, 1, 16, 12), None),
                                        ((6, 16, 12, 3), -1), ((3, 6, 16, 12), 0),
                                        ((2, 3, 16, 12, 4), -1)])
@pytest.mark.parametrize("chunk", [1, 4, None])
def test_pieces_and_images_hold_every_channel_in_order(shape, axis, chunk):
    x = np.random.default_rng(3).integers(0, 60000, shape).astype(">u2")   # big-endian too
    layout = guess_layout(shape, axis)
    stream = stack_stream(reader_for(x), layout, chunk)
    channels = as_channels_first(x, layout).reshape(layout.channels, layout.n_images, -1)
    pieces = list(stream.read_pieces())
    assert stream.dtype == np.uint16 and (stream.images, stream.channels) == \
        (layout.n_images, layout.channels)
    for c in range(layout.channels):
        joined = np.concatenate([piece[c] for piece in pieces])
        assert joined.dtype == np.uint16
        np.testing.assert_array_equal(joined, channels[c])
        for i in range(layout.n_images):
            np.testing.assert_array_equal(stream.read_image(i)[c], channels[c, i])


def test_progress_counts_images_and_a_file_reads_like_the_array(tmp_path):
    rgb = photos_rgb()
    np.save(tmp_path / "rgb.npy", rgb)
    layout = guess_layout(rgb.shape, -1)
    seen = []
    with open_reader(tmp_path / "rgb.npy") as reader:
        stream = stack_stream(reader, layout, 3, lambda done, total: seen.append((done, total)))
        from_file = list(stream.read_pieces())
    from_array = list(stack_stream(reader_for(rgb), layout).read_pieces())
    assert (len(from_file), len(from_array)) == (3, 1)
    for c in range(3):
        np.testing.assert_array_equal(np.concatenate([p[c] for p in from_file]), from_array[0][c])
    assert seen == [(3, 7), (6, 7), (7, 7)]


@pytest.mark.parametrize("reference", [1, "stack", -2])
@pytest.mark.parametrize("source", ["array", "file"])
def test_a_colour_match_export_equals_equalize(tmp_path, monkeypatch, reference, source):
    rgb = photos_rgb()
    expected = convert(equalize(rgb, "match", channel_axis=-1, reference=reference), "same",
                       rgb.dtype)
    # A stream giving channel 0 for every channel would match every channel to channel 0's
    # reference, which differs by far.
    channel0 = rgb[..., [0, 0, 0]]
    wrong = convert(equalize(rgb, "match", channel_axis=-1,
                             reference=channel0 if reference == "stack" else channel0[reference]),
                    "same", rgb.dtype)
    assert np.abs(expected.astype(int) - wrong).max() > 50
    monkeypatch.setattr(export_module, "_CHUNK_VALUES", 2 * 40 * 40 * 3)  # 2 images a piece
    settings = ExportSettings(method="match", channel_axis=-1, params={"reference": reference})
    if source == "file":
        np.save(tmp_path / "in.npy", rgb)
        with open_reader(tmp_path / "in.npy") as reader:
            out = export(reader, tmp_path / "out.npy", settings)
    else:
        out = export(rgb, tmp_path / "out.npy", settings)
    np.testing.assert_array_equal(load_stack(out), expected)


def test_stack_params_of_the_stream_equal_those_of_the_array():
    rgb = photos_rgb()
    layout = guess_layout(rgb.shape, -1)
    for reference in (1, "stack"):
        streamed = stack_params(stack_stream(reader_for(rgb), layout, 2), "match",
                                reference=reference)["reference"]
        whole = stack_params(rgb, "match", channel_axis=-1, reference=reference)["reference"]
        assert len(streamed) == len(whole) == 3
        for a, b in zip(streamed, whole):
            np.testing.assert_array_equal(a.values, b.values)
            np.testing.assert_array_equal(a.quantiles, b.quantiles)
