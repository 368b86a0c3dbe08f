"""Write the hard cases a viewer must show well into a folder (for screenshots and manual checks).

The bundled sample is well exposed; users open exactly the images it is not: dark, bright,
low-contrast, constant, 16-bit, 12-bit in uint16 (an ImageJ TIFF with its calibration), float
stacks with NaN and one outlier, colour channel-first, tiny 8x8 digits, one 2048x2048 image, 1800
and 5000 faces, an animated gray GIF, an .npz of two arrays.  Every file is made from real data
that ships in packages (scikit-image's ``skimage.data``; scikit-learn's digits if it is
installed).

Usage::

    python scripts/make_hard_cases.py [--out /tmp/histeq-hard] [--only NAME ...]

Prints one line per file written.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import tifffile
from skimage import data, transform

DEFAULT_OUT = Path("/tmp/histeq-hard")


def _faces(n, size=96, seed=0):
    """``n`` faces of ``size`` x ``size`` from scikit-image's LFW subset (200 faces, 25x25)."""
    rng = np.random.default_rng(seed)
    base = data.lfw_subset()
    out = np.empty((n, size, size))
    for i in range(n):
        face = base[i % len(base)]
        if (i // len(base)) % 2:
            face = face[:, ::-1]
        face = transform.resize(face, (size, size), order=1, anti_aliasing=False)
        out[i] = np.clip(face * rng.uniform(0.85, 1.15), 0, 1)
    return out


def _u8(x):
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def faces1800():
    """(1800, 1, 96, 96) uint8 faces with planted odd images, as issue 6/8 describe."""
    faces = _faces(1800)
    faces[100] = faces[100] ** 4 * 0.25            # very dark
    faces[200] = 1 - (1 - faces[200]) ** 4 * 0.2   # very bright
    faces[300] = 0.45 + 0.08 * faces[300]          # low contrast
    faces[400] = 0.0                                # all black
    faces[500] = 0.5                                # constant gray
    stack = _u8(faces)[:, np.newaxis]
    stack[600] = stack[7]                           # exact duplicate of image 7
    return stack


def dark():
    return _u8(_faces(20) ** 3.5 * 0.3)[:, np.newaxis]


def bright():
    return _u8(1 - (1 - _faces(20)) ** 3 * 0.25)[:, np.newaxis]


def low_contrast():
    return _u8(0.47 + 0.06 * _faces(20))[:, np.newaxis]


def constant():
    stack = np.zeros((4, 64, 64), np.uint8)
    stack[1] = 128
    stack[2] = 255
    stack[3, :, 32:] = 200                          # two values
    return stack


def camera16():
    """12-bit camera-like data in uint16 (values 200..4095), three photos."""
    photos = [data.camera(), data.moon(), data.coins()[:, :384]]
    crops = [transform.resize(p, (256, 256), anti_aliasing=True) for p in photos]
    return np.round(200 + np.stack(crops) * 3895).astype(np.uint16)


def float_outlier():
    """A float32 stack of 30 faces in [0, 1] with ONE hot pixel of 1e6 in image 17."""
    stack = _faces(30).astype(np.float32)
    stack[17, 40, 40] = 1e6
    stack[3, 10, 10] = np.nan
    return stack


def multipage_rgb():
    """scikit-image's multipage_rgb.tif: (2, 3, 10, 10) float64, channels first."""
    return tifffile.imread(Path(data.__file__).parent / "multipage_rgb.tif")


def digits():
    """scikit-learn's 1797 real 8x8 digits (values 0..16), as float64 (None without sklearn)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        return None
    return load_digits().images


def big2048():
    """One 2048x2048 uint16 image (the moon photo, upscaled, 16-bit)."""
    moon = transform.resize(data.moon(), (2048, 2048), order=1)
    return np.round(moon * 60000 + 1000).astype(np.uint16)


def astronaut_rgb():
    """Colour photos channels last: astronaut and coffee, 256x256x3 uint8."""
    photos = [data.astronaut(), data.coffee()[:, 100:500]]
    return np.stack([_u8(transform.resize(p, (256, 256, 3), anti_aliasing=True))
                     for p in photos])


def moon12():
    """12-bit data in uint16 (values 0..4095): 12 shifted crops of the moon, as an ImageJ TIFF."""
    moon = data.moon().astype(np.float64) / 255
    crops = [moon[16 * i:16 * i + 256, 8 * i:8 * i + 256] ** (0.7 + 0.05 * i) for i in range(12)]
    return np.round(np.stack(crops) * 4095).astype(np.uint16)


def many5000():
    """5000 faces of 64x64 uint8 (a stack long enough for an export to take a while)."""
    return _u8(_faces(5000, size=64, seed=1))


def grey_gif():
    """An animated gray GIF: 10 frames of 512x512 (the camera photo, darker frame by frame)."""
    camera = data.camera().astype(np.float64) / 255
    return _u8(np.stack([camera ** (1 + 0.3 * i) for i in range(10)]))


def two_arrays():
    """An .npz of two arrays (the viewer asks which one): faces and their float copy."""
    faces = _faces(40)
    return {"faces": _u8(faces), "faces_float": faces.astype(np.float32)}


def ragged():
    """A folder of gray photographs of different sizes (a raw dataset), as {name: image}."""
    camera = data.camera()
    return {"camera.png": camera[::2, ::2],                       # 256x256
            "camera crop.png": camera[100:300, 150:450],           # 200x300
            "coins.png": data.coins(),                             # 303x384
            "moon small.png": data.moon()[::4, ::4],               # 128x128
            "page.png": data.page(),                               # 191x384
            "one pixel.png": np.array([[128]], np.uint8)}


def faces_folder(out, n=2400):
    """Write ``n`` small gray PNG faces (96x96, scikit-image's LFW subset enlarged); their names."""
    from PIL import Image

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for i, face in enumerate(_u8(_faces(n))):
        names.append(f"{i:05d}_face.png")
        Image.fromarray(face).save(out / names[-1])
    return names


def audit_folder(out, n=2400, seed=0, with_colour=True):
    """Write a dataset folder to audit with CleanVision's checks; returns the file names.

    ``n`` real images as PNG and JPEG files: scikit-image's LFW faces
    (gray, enlarged to 40-128 px, flipped, brightened or darkened) and crops
    of its photographs (colour and gray, 24-420 px, some RGBA), with a few
    of each issue CleanVision looks for planted among them: dark, light,
    constant, blurred, thin strips (odd aspect ratio), tiny and huge images
    (odd size), byte-for-byte copies (exact duplicates) and JPEG
    re-encodings, brightened and resized copies (near duplicates).  The
    names sort the same way alphabetically (CleanVision) and naturally
    (this program): ``00042_face.png``.  ``with_colour=False``: gray images only
    (a folder the viewer opens: it shows one kind of image at a time).
    """
    import imageio.v3 as iio
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    faces = data.lfw_subset()
    colour = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
              data.immunohistochemistry(), data.hubble_deep_field(), data.cat(),
              data.colorwheel(), data.retina()]
    gray = [data.camera(), data.moon(), data.coins(), data.page(), data.text(), data.clock(),
            data.brick(), data.grass(), data.gravel()]
    names = []

    def save(image, kind, jpeg=False, quality=90):
        name = f"{len(names):05d}_{kind}.{'jpg' if jpeg else 'png'}"
        picture = Image.fromarray(np.ascontiguousarray(image))
        if jpeg:
            picture.convert("RGB" if picture.mode == "RGBA" else picture.mode).save(
                out / name, quality=quality)
        else:
            picture.save(out / name)
        names.append(name)
        return name

    def crop(photo, low, high):
        side = int(rng.integers(low, high))
        h, w = photo.shape[:2]
        ch = min(h, max(8, int(side * rng.uniform(0.6, 1.4))))
        cw = min(w, side)
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        piece = photo[y:y + ch, x:x + cw]
        scale = rng.uniform(0.5, 1.0)
        if scale < 0.95 and min(piece.shape[:2]) > 40:
            size = (max(int(piece.shape[1] * scale), 8), max(int(piece.shape[0] * scale), 8))
            piece = np.asarray(Image.fromarray(piece).resize(size, Image.Resampling.LANCZOS))
        return piece

    plan = ["face"] * 10 + ["colour"] * 6 * with_colour + ["gray"] * 4
    while len(names) < n:
        i = len(names)
        kind = plan[int(rng.integers(len(plan)))]
        special = rng.random()
        if kind == "face":
            face = faces[int(rng.integers(len(faces)))]
            side = int(rng.integers(40, 129))
            image = transform.resize(face, (side, side + int(rng.integers(-8, 9))), order=1)
            image = np.clip(image ** rng.uniform(0.7, 1.4), 0, 1)
            if rng.random() < 0.5:
                image = image[:, ::-1]
            image = _u8(image)
        elif kind == "colour":
            image = crop(colour[int(rng.integers(len(colour)))], 24, 420)
            if rng.random() < 0.05:
                alpha = rng.integers(128, 256, image.shape[:2] + (1,), dtype=np.uint8)
                image = np.concatenate([image, alpha], axis=-1)
        else:
            image = crop(gray[int(rng.integers(len(gray)))], 24, 420)
        if special < 0.015:
            image = (image // 12).astype(np.uint8)                       # dark
            kind += "_dark"
        elif special < 0.03:
            image = (255 - (255 - image) // 12).astype(np.uint8)         # light
            kind += "_light"
        elif special < 0.04:
            image = np.full_like(image, int(rng.integers(0, 256)))       # constant
            kind += "_constant"
        elif special < 0.06:
            blurred = transform.resize(image, (max(image.shape[0] // 8, 2),
                                               max(image.shape[1] // 8, 2)) + image.shape[2:],
                                       anti_aliasing=True)
            image = _u8(transform.resize(blurred, image.shape, order=3))  # blurry
            kind += "_blurry"
        elif special < 0.07 and kind != "face":
            image = image[:max(image.shape[0] // 8, 4)]                   # thin strip
            kind += "_strip"
        elif special < 0.075:
            image = image[:6, :6]                                        # tiny
            kind += "_tiny"
        elif special < 0.078 and kind == "colour":
            image = data.retina()                                        # huge
            kind += "_huge"
        jpeg = kind.startswith(("colour", "gray")) and rng.random() < 0.4 \
            and image.ndim in (2, 3) and (image.ndim == 2 or image.shape[2] == 3)
        name = save(image, kind, jpeg=jpeg, quality=int(rng.integers(70, 96)))
        if len(names) < n and rng.random() < 0.02:                         # an exact copy
            copy = f"{len(names):05d}_copy.{name.rsplit('.', 1)[1]}"
            shutil.copyfile(out / name, out / copy)
            names.append(copy)
        if len(names) < n and rng.random() < 0.03 and i > 0:               # a near copy
            pixels = iio.imread(out / name)
            how = rng.integers(3)
            if how == 0 and pixels.ndim in (2, 3) and (pixels.ndim == 2 or pixels.shape[2] == 3):
                save(pixels, "near_jpeg", jpeg=True, quality=int(rng.integers(60, 90)))
            elif how == 1:
                save(np.clip(pixels.astype(np.int16) + 6, 0, 255).astype(np.uint8),
                     "near_brighter")
            else:
                h, w = pixels.shape[:2]
                size = (max(int(w * 0.8), 8), max(int(h * 0.8), 8))
                save(np.asarray(Image.fromarray(pixels).resize(size)), "near_smaller")
    return names


CASES = {
    "faces1800.npy": faces1800,
    "dark.npy": dark,
    "bright.npy": bright,
    "low_contrast.npy": low_contrast,
    "constant.npy": constant,
    "camera16.tif": camera16,
    "float_outlier.npy": float_outlier,
    "multipage_rgb.tif": multipage_rgb,
    "digits.npy": digits,
    "big2048.npy": big2048,
    "astronaut_rgb.npy": astronaut_rgb,
    "ragged": ragged,
    "moon12.tif": moon12,
    "many5000.npy": many5000,
    "grey.gif": grey_gif,
    "two_arrays.npz": two_arrays,
    "audit": audit_folder,
    "audit_gray": lambda out: audit_folder(out, 600, seed=1, with_colour=False),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="*", metavar="NAME", help="file names to write")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, make in CASES.items():
        if args.only and name not in args.only:
            continue
        target = args.out / name
        if name in ("audit", "audit_gray"):
            shutil.rmtree(target, ignore_errors=True)
            written = make(target)
            print(f"{target}/: {len(written)} images to audit (PNG/JPEG)")
            continue
        if name == "ragged":
            import imageio.v3 as iio

            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            for file, image in make().items():
                iio.imwrite(target / file, image)
            print(f"{target}/: {len(make())} images of different sizes")
            continue
        if name == "multipage_rgb.tif":
            shutil.copyfile(Path(data.__file__).parent / name, target)
            array = multipage_rgb()
        else:
            array = make()
            if array is None:
                print(f"skipped {name} (scikit-learn is not installed)")
                continue
            if name == "moon12.tif":        # ImageJ calibration: 0.65 um pixels, z step 2
                tifffile.imwrite(target, array, imagej=True, resolution=(1 / 0.65, 1 / 0.65),
                                 metadata={"spacing": 2.0, "unit": "um", "axes": "ZYX"})
            elif name.endswith(".tif"):
                tifffile.imwrite(target, array)
            elif name.endswith(".gif"):
                import imageio.v3 as iio

                iio.imwrite(target, array, loop=0, duration=100)
            elif name.endswith(".npz"):
                np.savez(target, **array)
                what = ", ".join(f"{k} {v.shape} {v.dtype}" for k, v in array.items())
                print(f"{target}: {what}")
                continue
            else:
                np.save(target, array)
        print(f"{target}: {array.shape} {array.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
