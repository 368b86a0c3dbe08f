"""Messages for users name the file and say what to do, never Python's internals."""

import numpy as np
import pytest
from skimage import data

from histeq_gui.core.errors import StackError
from histeq_gui.core.io import load_stack, open_reader, save_stack


@pytest.mark.parametrize("name", ["broken.png", "broken.jpg", "broken.gif", "broken.tif"])
def test_a_file_that_is_no_image_is_named_without_internals(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"not an image at all\n" * 4)
    with pytest.raises(StackError) as info:
        load_stack(path)
    message = str(info.value)
    assert f"'{path}'" in message and "<_io" not in message and "name=" not in message
    assert "\n" not in message


def test_a_broken_file_in_a_folder_is_named(tmp_path):
    save_stack(tmp_path / "a.png", data.camera()[::8, ::8])
    (tmp_path / "b.png").write_bytes(b"junk")
    with pytest.raises(StackError) as info, open_reader(tmp_path) as reader:
        np.asarray(reader.read(0, reader.shape[0]))
    message = str(info.value)
    assert "b.png" in message and "<_io" not in message
