#!/usr/bin/env python
"""Build the bundled sample stack, its description and the app icon.

Writes, into ``resources/`` next to this script's parent folder:

``sample_stack.npy``
    ``(100, 1, 96, 96)`` uint8, the seed's layout.  Real photographs that ship
    inside scikit-image (``skimage.data``; nothing is downloaded), cropped,
    resized to 96 x 96 and given deterministic intensity transforms so that
    histogram equalization visibly matters: dark, bright and low-contrast
    images next to untouched originals and faces.
``sample_stack_info.json``
    One record per index: source, crop, resize, transform (with its exact
    parameters), a short label for the viewer, and pixel statistics.
``icon.png``
    128 x 128 RGBA application icon (histogram bars and a CDF curve) drawn
    here with NumPy.

Everything is derived from a fixed seed, so running the script again gives
byte-identical files.  The script checks this itself (it builds everything
twice and compares SHA-256 digests) and ``--check`` compares a fresh build
against the committed files without writing anything::

    python scripts/make_sample.py           # rebuild resources/
    python scripts/make_sample.py --check   # exit 1 if resources/ is stale

Byte-identical output is guaranteed for the same versions of NumPy,
scikit-image and the image decoders (``built_with`` in the JSON records
them); other versions may round a few pixels differently.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import imageio
import imageio.v3 as iio
import numpy as np
import skimage
import skimage.data
from skimage.color import rgb2gray
from skimage.transform import resize

SEED = 20240611
SIZE = 96
N_FACES = 36
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
STACK_NAME = "sample_stack.npy"
INFO_NAME = "sample_stack_info.json"
ICON_NAME = "icon.png"

# (skimage.data function, file it reads inside the installed skimage/data
# folder, note).  Only photographs that are bundled with the scikit-image
# wheel are listed; the loader refuses to run if one is missing rather than
# letting skimage download it.  Left out on purpose: eagle and the
# microscopy volumes (downloaded on demand), horse (a silhouette), rocket
# (its Flickr page states CC BY-NC 2.0 while the docstring says public
# domain, see scikit-image issue #5095), cell (a phase image, not a photo).
PHOTOS = [
    ("moon", "moon.png", "naturally low-contrast"),
    ("camera", "camera.png", ""),
    ("coins", "coins.png", ""),
    ("astronaut", "astronaut.png", "RGB converted to gray"),
    ("coffee", "coffee.png", "RGB converted to gray"),
    ("chelsea", "chelsea.png", "RGB converted to gray"),
    ("clock", "clock_motion.png", "motion-blurred photograph"),
    ("page", "page.png", "uneven illumination"),
    ("text", "text.png", ""),
    ("brick", "brick.png", ""),
    ("grass", "grass.png", ""),
    ("gravel", "gravel.png", ""),
    ("hubble_deep_field", "hubble_deep_field.jpg", "RGB converted to gray; naturally dark"),
    ("immunohistochemistry", "ihc.png", "RGB converted to gray"),
    ("retina", "retina.jpg", "RGB converted to gray; dark surround"),
    ("microaneurysms", "microaneurysms.png", "retina detail, green channel"),
]
FACES = ("lfw_subset", "lfw_subset.npy")

CATEGORIES = ("original", "dark", "low-contrast", "bright")
RESIZE_PHOTO = "skimage.transform.resize to 96x96, order=1 (bilinear), anti_aliasing=True"
RESIZE_FACE = "skimage.transform.resize 25x25 -> 96x96, order=3 (bicubic), clipped to [0, 1]"


# --------------------------------------------------------------------------
# loading


def _bundled(name, filename):
    """Load ``skimage.data.<name>()`` after making sure it needs no download."""
    path = Path(skimage.data.__file__).parent / filename
    if not path.is_file():
        sys.exit(f"make_sample: skimage.data.{name} is not bundled with this scikit-image "
                 f"({path} missing); install a scikit-image wheel that ships it.")
    return getattr(skimage.data, name)()


def _as_unit_gray(img):
    """2-D float64 in [0, 1] from a uint8 gray or RGB(A) image."""
    img = np.asarray(img)
    if img.ndim == 3:
        return rgb2gray(img[..., :3])
    if img.dtype == np.uint8:
        return img.astype(np.float64) / 255.0
    return img.astype(np.float64)


# --------------------------------------------------------------------------
# crops and transforms


def _square_crop(img, rng, variant):
    """The centred full square for the original, a random zoom otherwise."""
    h, w = img.shape
    side = min(h, w)
    if variant != "original":
        side = int(round(side * rng.uniform(0.45, 0.85)))
        y = int(rng.integers(0, h - side + 1))
        x = int(rng.integers(0, w - side + 1))
    else:
        y, x = (h - side) // 2, (w - side) // 2
    box = {"y": y, "x": x, "height": side, "width": side, "of_shape": [h, w]}
    return img[y:y + side, x:x + side], box


def _to_size(img):
    return resize(img, (SIZE, SIZE), order=1, anti_aliasing=True, mode="reflect")


def _intensity(x, category, rng):
    """Map ``x`` (float in [0, 1]) to uint8 for one category.

    Parameters are drawn from ``rng`` and rounded *before* use, so the values
    written to the JSON are exactly the ones applied.
    """
    if category == "original":
        y = 255.0 * x
        params = {}
        text = "none: y = round(255*x)"
    elif category == "dark":
        g = round(float(rng.uniform(1.8, 2.8)), 2)
        s = round(float(rng.uniform(0.30, 0.55)), 2)
        y = 255.0 * s * x ** g
        params = {"gamma": g, "scale": s}
        text = f"gamma darkening: y = round(255*{s}*x**{g})"
    elif category == "low-contrast":
        lo = int(rng.integers(90, 131))
        width = int(rng.integers(24, 49))
        y = lo + width * x
        params = {"low": lo, "high": lo + width}
        text = (f"compressed into a narrow band: y = round({lo} + {width}*x), "
                f"range [{lo}, {lo + width}]")
    elif category == "bright":
        lo = int(rng.integers(150, 191))
        g = round(float(rng.uniform(0.45, 0.75)), 2)
        y = lo + (255 - lo) * x ** g
        params = {"low": lo, "gamma": g}
        text = f"brightened into [{lo}, 255]: y = round({lo} + {255 - lo}*x**{g})"
    else:  # pragma: no cover - internal
        raise ValueError(category)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8), params, text


def _stats(img):
    p1, p99 = np.percentile(img, [1, 99])
    return {"min": int(img.min()), "max": int(img.max()), "mean": round(float(img.mean()), 2),
            "p1": round(float(p1), 2), "p99": round(float(p99), 2)}


# --------------------------------------------------------------------------
# the stack


def build_stack(seed=SEED):
    """Return ``(stack, records)``: the (N, 1, 96, 96) uint8 stack and its description."""
    rng = np.random.default_rng(seed)
    images, records = [], []

    for name, filename, note in PHOTOS:
        gray = _as_unit_gray(_bundled(name, filename))
        for category in CATEGORIES:
            crop, box = _square_crop(gray, rng, category)
            small = np.clip(_to_size(crop), 0.0, 1.0)
            out, params, text = _intensity(small, category, rng)
            images.append(out)
            records.append({
                "source": f"skimage.data.{name}",
                "kind": "photo",
                "label": category,
                "category": category,
                "crop": box,
                "resize": RESIZE_PHOTO,
                "transform": text,
                "params": params,
                "note": note,
            })

    faces = np.asarray(_bundled(*FACES), dtype=np.float64)[:100]  # 0..99 are faces
    picks = rng.choice(100, size=N_FACES, replace=False)
    for k, face_index in enumerate(picks):
        category = CATEGORIES[k % len(CATEGORIES)]
        big = np.clip(resize(faces[face_index], (SIZE, SIZE), order=3, anti_aliasing=False,
                             mode="reflect"), 0.0, 1.0)
        out, params, text = _intensity(big, category, rng)
        images.append(out)
        records.append({
            "source": f"skimage.data.lfw_subset()[{int(face_index)}]",
            "kind": "face",
            "label": "face" if category == "original" else f"face, {category}",
            "category": category,
            "crop": None,
            "resize": RESIZE_FACE,
            "transform": text,
            "params": params,
            "note": "Labeled Faces in the Wild subset, 25x25",
        })

    stack = np.stack(images)[:, np.newaxis]
    for i, (img, rec) in enumerate(zip(stack, records)):
        records[i] = {"index": i, **rec, "stats": _stats(img[0])}
    return stack, records


def _npy_bytes(array):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _info(records, stack_bytes, stack):
    counts = {}
    for rec in records:
        counts[rec["label"]] = counts.get(rec["label"], 0) + 1
    return {
        "file": STACK_NAME,
        "shape": list(stack.shape),
        "dtype": str(stack.dtype),
        "layout": "(N, 1, H, W): N grayscale images, one channel",
        "sha256": hashlib.sha256(stack_bytes).hexdigest(),
        "seed": SEED,
        "built_by": "python scripts/make_sample.py",
        "built_with": {"numpy": np.__version__, "scikit-image": skimage.__version__,
                       "imageio": imageio.__version__},
        "label_counts": counts,
        "images": records,
    }


# --------------------------------------------------------------------------
# the icon


def make_icon(size=128, supersample=4):
    """128 x 128 RGBA: rounded dark tile, histogram bars and a rising CDF curve."""
    n = size * supersample
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    u, v = (xx + 0.5) / n, (yy + 0.5) / n          # u: 0 left..1 right, v: 0 top..1 bottom

    rgba = np.zeros((n, n, 4), dtype=np.float64)

    # Rounded-square tile with a vertical gradient.
    r, m = 0.18, 0.04
    cx = np.clip(u, m + r, 1 - m - r)
    cy = np.clip(v, m + r, 1 - m - r)
    tile = np.hypot(u - cx, v - cy) <= r
    top, bottom = np.array([0.16, 0.20, 0.28]), np.array([0.07, 0.09, 0.13])
    grad = top + (bottom - top) * v[..., None]
    rgba[tile, :3] = grad[tile]
    rgba[tile, 3] = 1.0

    # Histogram bars along a baseline: a skewed (dark-heavy) histogram.
    base, left, right = 0.84, 0.14, 0.86
    heights = np.array([0.30, 0.58, 0.62, 0.46, 0.32, 0.22, 0.14, 0.09])
    edges = np.linspace(left, right, len(heights) + 1)
    gap = 0.012
    bar_top = np.array([0.40, 0.74, 0.96])
    bar_bot = np.array([0.20, 0.48, 0.78])
    for h, a, b in zip(heights, edges[:-1], edges[1:]):
        inside = tile & (u >= a + gap) & (u <= b - gap) & (v <= base) & (v >= base - h)
        t = ((base - v) / max(h, 1e-9))[..., None]
        col = bar_bot + (bar_top - bar_bot) * t
        rgba[inside, :3] = col[inside]

    # Baseline.
    axis = tile & (np.abs(v - (base + 0.012)) <= 0.008) & (u >= left - 0.01) & (u <= right + 0.01)
    rgba[axis, :3] = 0.80

    # CDF of the bars: a smooth rising curve from bottom-left to top-right.
    cdf = np.concatenate([[0.0], np.cumsum(heights)]) / heights.sum()
    xs = np.linspace(left, right, 400)
    ys = base - (base - 0.16) * np.interp(xs, edges, cdf)
    # Distance to the polyline, coarse but smooth enough at 4x supersampling.
    pts = np.stack([xs, ys], axis=1)
    d = np.full(u.shape, np.inf)
    for (x0, y0), (x1, y1) in zip(pts[:-1:4], pts[4::4]):
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((u - x0) * dx + (v - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        d = np.minimum(d, np.hypot(u - (x0 + t * dx), v - (y0 + t * dy)))
    curve = tile & (d <= 0.022)
    rgba[curve, :3] = np.array([1.00, 0.62, 0.16])

    # Downsample (box filter) for anti-aliasing; premultiply so edges stay clean.
    rgba[..., :3] *= rgba[..., 3:4]
    small = rgba.reshape(size, supersample, size, supersample, 4).mean(axis=(1, 3))
    alpha = small[..., 3:4]
    small[..., :3] = np.where(alpha > 0, small[..., :3] / np.maximum(alpha, 1e-12), 0.0)
    return np.clip(np.rint(small * 255), 0, 255).astype(np.uint8)


def _png_bytes(rgba):
    return iio.imwrite("<bytes>", rgba, extension=".png")


# --------------------------------------------------------------------------
# main


def build_all():
    """Return ``{file name: bytes}`` for every file this script owns."""
    stack, records = build_stack()
    assert stack.shape == (16 * 4 + N_FACES, 1, SIZE, SIZE) and stack.dtype == np.uint8
    stack_bytes = _npy_bytes(stack)
    info = _info(records, stack_bytes, stack)
    return {
        STACK_NAME: stack_bytes,
        INFO_NAME: _info_json(info).encode("utf-8"),
        ICON_NAME: _png_bytes(make_icon()),
    }


def _info_json(info):
    """Pretty header, then one line per image so the file reads like a table."""
    head = {k: v for k, v in info.items() if k != "images"}
    text = json.dumps(head, indent=1)[:-2]  # drop the closing "\n}"
    rows = ",\n".join("  " + json.dumps(rec) for rec in info["images"])
    return f'{text},\n "images": [\n{rows}\n ]\n}}\n'


def _comparable(name, data):
    """Bytes to compare in ``--check``: the JSON without its version stamp."""
    if name != INFO_NAME:
        return data
    info = json.loads(data)
    info.pop("built_with", None)
    return json.dumps(info, sort_keys=True).encode()


def _write_atomic(path, data):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual mode
        if Path(tmp).read_bytes() != data:
            raise OSError(f"verification of {tmp} failed")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _digests(files):
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="rebuild in memory and compare with the files in resources/; "
                             "write nothing, exit 1 if they differ")
    parser.add_argument("--out-dir", type=Path, default=RESOURCES,
                        help=f"where to write (default: {RESOURCES})")
    args = parser.parse_args(argv)

    files = build_all()
    again = build_all()
    if _digests(files) != _digests(again):
        sys.exit("make_sample: two builds in one run differ; the build is not deterministic")

    out = args.out_dir
    if args.check:
        stale = [name for name, data in files.items()
                 if not (out / name).is_file()
                 or _comparable(name, (out / name).read_bytes()) != _comparable(name, data)]
        if stale:
            print(f"make_sample: out of date in {out}: {', '.join(stale)}", file=sys.stderr)
            return 1
        print(f"make_sample: {out} is up to date")
        return 0

    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        _write_atomic(out / name, data)
        print(f"{out / name}  {len(data):>8} bytes  sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
