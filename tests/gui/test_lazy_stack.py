"""Issue 10: the viewer opens a stack larger than its memory budget without reading it whole.

The memory budget is patched down, so a small ``.npy`` stands in for one larger than
memory; every way of reading the whole stack is patched to fail, so the test proves
that only what is on screen (and the whole-stack histogram, chunk by chunk) is read.
"""

from __future__ import annotations

import numpy as np
import pytest

from histeq_gui import equalize
from histeq_gui.core.equalize import histogram
from histeq_gui.core.io import ArrayReader, Reader
from histeq_gui.core.io.folders import FolderReader
from histeq_gui.core.io.npy import NpyReader
from histeq_gui.core.io.tiff import TiffReader
from histeq_gui.gui import controller as controller_module
from histeq_gui.gui import stack_file
from histeq_gui.gui.stack_file import LoadedStack, open_stack


class WholeRead(AssertionError):
    pass


@pytest.fixture
def no_whole_read(monkeypatch):
    """Budget of 1 KB; reading a whole stack in any way fails the test."""
    monkeypatch.setattr(stack_file, "IN_MEMORY_BYTES", 1024)

    def refuse(*args, **kwargs):
        raise WholeRead("the whole stack was read")
    for cls in (Reader, ArrayReader, NpyReader, TiffReader, FolderReader):
        monkeypatch.setattr(cls, "load", refuse)
    np_load = np.load

    def map_only(*args, mmap_mode=None, **kwargs):     # a memory map reads nothing
        if mmap_mode is None:
            refuse()
        return np_load(*args, mmap_mode=mmap_mode, **kwargs)
    monkeypatch.setattr(np, "load", map_only)
    return refuse


@pytest.fixture
def faces(tmp_path):
    """A (40, 1, 48, 40) uint16 stack on disk (12-bit values, a ramp per image)."""
    rng = np.random.default_rng(7)
    data = rng.integers(0, 4096, (40, 1, 48, 40), dtype=np.uint16)
    data[3] = 0                                          # a flat image among them
    path = tmp_path / "faces.npy"
    np.save(path, data)
    return path, data


def test_open_stack_above_the_budget_reads_on_demand(faces, no_whole_read):
    path, data = faces
    stack = open_stack(path)
    assert not stack.in_memory and "read on demand" in stack.describe()
    assert stack.shape == data.shape and stack.dtype == np.uint16
    np.testing.assert_array_equal(stack.image(17), data[17, 0])
    assert stack.levels == (float(data.min()), float(data.max()))
    with pytest.raises(WholeRead):
        _ = stack.array             # the one explicit whole read
    # the fitted stack histogram is the histogram of the whole stack
    for method in ("numpy", "opencv", "imagej"):
        fitted, = stack.fit_histograms(method, 256)
        whole = histogram(data, method, 256)
        np.testing.assert_array_equal(fitted.counts, whole.counts)
        np.testing.assert_array_equal(fitted.apply(data[5, 0]), whole.apply(data[5, 0]))


def test_a_small_stack_is_read_whole_once(faces, monkeypatch):
    path, data = faces
    stack = open_stack(path)            # 150 KB: under the default budget
    assert stack.in_memory and not isinstance(stack.array, np.memmap)
    np.testing.assert_array_equal(stack.array, data)
    assert stack.image(2).base is not None          # a view, no copy


def test_the_image_cache_keeps_a_few_images(faces, no_whole_read, monkeypatch):
    path, data = faces
    stack = open_stack(path)
    reads = []
    original = Reader.image

    def counting(self, index, layout):
        reads.append(index)
        return original(self, index, layout)
    monkeypatch.setattr(Reader, "image", counting)
    for i in (1, 2, 1, 2, 1):
        np.testing.assert_array_equal(stack.image(i), data[i, 0])
    assert reads == [1, 2]
    for i in range(stack_file.IMAGE_CACHE + 1):
        stack.image(10 + i)
    stack.image(1)                       # dropped meanwhile: read again
    assert reads[-1] == 1 and len(reads) == stack_file.IMAGE_CACHE + 4


def test_the_viewer_pages_and_equalizes_a_stack_larger_than_its_budget(
        window, wait_idle, qtbot, faces, no_whole_read, monkeypatch):
    path, data = faces
    monkeypatch.setattr(controller_module, "SYNC_STACK_VALUES", 0)    # always a background job
    window.opener.open_path(path)
    wait_idle(window)
    stack = window.state.stack
    assert not stack.in_memory
    np.testing.assert_array_equal(window.controller.result.original, data[0, 0])
    window.state.set_index(9)
    wait_idle(window)
    np.testing.assert_array_equal(window.controller.result.original, data[9, 0])
    np.testing.assert_array_equal(window.controller.result.equalized,
                                  equalize(data[9, 0], "numpy", window.state.bins))

    progress = []
    window.controller.stack_runner.progressed.connect(lambda *args: progress.append(args))
    window.state.set_scope("stack")
    qtbot.waitUntil(lambda: window.controller.result is not None
                    and window.controller.result.scope == "stack", timeout=20000)
    wait_idle(window)
    expected = equalize(data, "numpy", window.state.bins, scope="stack")
    np.testing.assert_array_equal(window.controller.result.equalized, expected[9, 0])
    assert progress and all(stage == "Stack histogram" for stage, _, _ in progress)
    assert progress[-1][1] == progress[-1][2]           # done == total at the end
    window.state.set_index(3)                           # the flat image, stack's mapping
    wait_idle(window)
    np.testing.assert_array_equal(window.controller.result.equalized, expected[3, 0])


def test_a_colour_stack_read_on_demand_fits_one_histogram_per_channel(tmp_path, no_whole_read):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, (12, 20, 24, 3), dtype=np.uint8)
    np.save(tmp_path / "rgb.npy", data)
    stack = open_stack(tmp_path / "rgb.npy")
    assert not stack.in_memory and stack.channels == 3
    hists = stack.fit_histograms("numpy", 64)
    expected = equalize(data, "numpy", 64, scope="stack", channel_axis=-1)
    got = np.stack([h.apply(stack.image(4)[..., c]) for c, h in enumerate(hists)], axis=-1)
    np.testing.assert_array_equal(got, expected[4])
    # the same stack handed over in memory gives the same histograms
    same = LoadedStack.from_array(data).fit_histograms("numpy", 64)
    for a, b in zip(hists, same):
        np.testing.assert_array_equal(a.counts, b.counts)


@pytest.mark.parametrize("reference", ["stack", 7])
def test_match_resolves_its_reference_on_a_stack_read_on_demand(faces, no_whole_read, reference):
    """match's reference, the whole stack (or one image), from a stack never read whole."""
    from histeq_gui.core.methods import get_method
    from histeq_gui.gui.compute import resolve_stack_params

    path, data = faces
    stack = open_stack(path)
    assert not stack.in_memory
    resolved = resolve_stack_params(stack, get_method("match"), 256, {"reference": reference})
    expected = equalize(data, "match", reference=reference)
    np.testing.assert_array_equal(equalize(data[11, 0], "match", **resolved), expected[11, 0])
