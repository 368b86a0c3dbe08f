"""A folder tree of real photographs for the tests: what it holds, and its files read by Pillow.

Made from scikit-image's photographs, resized with Pillow and written as JPEG and PNG files,
gray and colour, of several sizes, in two levels of subfolders; :func:`write_tree` with
``extras`` adds a hidden file, a hidden folder, a text file and a link back to the top (a
loop).  :func:`by_pillow` is the reference: each file read alone by Pillow, gray ones
replicated into R, G and B with NumPy, as the folder readers document.
"""

import os

import numpy as np
from PIL import Image
from skimage import data

#: relative path -> (photograph, size (width, height), kept gray)
FILES = {
    "a_top.png": ("moon", (48, 40), True),
    "cat/gray cat.jpg": ("camera", (48, 48), True),
    "cat/img2.jpg": ("chelsea", (90, 60), False),
    "cat/img10.png": ("chelsea", (50, 50), False),
    "dog/puppies/coffee.png": ("coffee", (60, 45), False),
    "dog/puppies/coins.jpg": ("coins", (48, 38), True),
}
#: The order the tree is read in: relative paths, each folder in natural order.
ORDER = ["a_top.png", "cat/gray cat.jpg", "cat/img2.jpg", "cat/img10.png",
         "dog/puppies/coffee.png", "dog/puppies/coins.jpg"]
LABELS = ["", "cat", "cat", "cat", "dog", "dog"]
#: What the listing says of the tree with its extras.
SUMMARY = "6 images in 3 folders; 1 other file ignored; a link loop not followed ('dog/loop')"


def write_tree(root, files=FILES, extras=False):
    """Write the tree's images under ``root`` (and the extras); return ``root``."""
    for name, (photo, size, gray) in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(getattr(data, photo)()).resize(size, Image.LANCZOS)
        image = image.convert("L" if gray else "RGB")
        image.save(path, quality=90) if path.suffix == ".jpg" else image.save(path)
    if extras:
        Image.fromarray(data.camera()[:8, :8]).save(root / "cat" / ".hidden.png")
        (root / ".cache").mkdir()
        Image.fromarray(data.camera()[:8, :8]).save(root / ".cache" / "x.png")
        (root / "dog" / "notes.txt").write_text("not an image")
        os.symlink("..", root / "dog" / "loop")         # dog/loop/dog/loop/... for ever
    return root


def by_pillow(root, names=ORDER):
    """Each file read alone by Pillow; gray ones replicated into R, G and B."""
    out = []
    for name in names:
        with Image.open(root / name) as pillow:
            image = np.asarray(pillow)
        out.append(np.dstack([image] * 3) if image.ndim == 2 else image)
    return out
