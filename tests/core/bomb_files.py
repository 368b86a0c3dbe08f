"""Small files that declare a lot, written by hand; child processes under an address-space limit.

Shared by the tests of decoding bombs and of ``ulimit -v``: each builder
writes a file of a few kilobytes that a careless reader would decode into
gigabytes.  :func:`run_limited` runs ``histeq`` (or any Python code) in a
child process whose address space is limited with ``RLIMIT_AS``, so that a
bomb that gets through fails in the child, never on the test machine.
"""

import os
import struct
import subprocess
import sys
import zlib

AS_LIMIT = 3 << 30      # the address-space bound of the children (3 GiB): safe on a 24 GB machine

_HISTEQ = "import sys; from histeq_gui.cli import main; sys.exit(main(sys.argv[1:]))"


def _ifd(tags, next_offset):
    """One little-endian IFD of (tag, type, value) entries (types 3 SHORT and 4 LONG)."""
    entries = b"".join(struct.pack("<HHI", tag, kind, 1) +
                       (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
                       for tag, kind, value in sorted(tags))
    return struct.pack("<H", len(tags)) + entries + struct.pack("<I", next_offset)


def page_bomb(path, pages, mixed=False):
    """A TIFF of ``pages`` uint8 pages of one pixel, each with its own IFD (~100 bytes a page).

    ``mixed``: every other page is 2x1 pixels, so that tifffile sees no uniform series.
    """
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for i in range(pages):
        width = 1 + (i % 2 if mixed else 0)
        data_at = len(out) + 2 + 8 * 12 + 4
        last = i == pages - 1
        out += _ifd([(256, 4, width), (257, 4, 1), (258, 3, 8), (259, 3, 1), (262, 3, 1),
                     (273, 4, data_at), (278, 4, 1), (279, 4, width)],
                    0 if last else data_at + width)
        out += bytes(width)
    path.write_bytes(bytes(out))
    return path


def tiled_bomb(path, side, tile=1024):
    """A one-page uint8 TIFF of ``side`` x ``side`` pixels of zeros in zlib tiles.

    Every tile points to the same compressed tile, so the file is a few kB
    whatever ``side`` is.
    """
    data = zlib.compress(bytes(tile * tile), 9)
    across = -(-side // tile)
    n = across * across
    header = 8
    offsets_at = header + len(data)
    counts_at = offsets_at + 4 * n
    ifd_at = counts_at + 4 * n
    tags = [(256, 4, side), (257, 4, side), (258, 3, 8), (259, 3, 8), (262, 3, 1),
            (277, 3, 1), (322, 4, tile), (323, 4, tile)]
    entries = b"".join(struct.pack("<HHI", tag, kind, 1) +
                       (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
                       for tag, kind, value in tags)
    entries += struct.pack("<HHII", 324, 4, n, offsets_at) + struct.pack("<HHII", 325, 4, n,
                                                                          counts_at)
    ifd = struct.pack("<H", len(tags) + 2) + entries + b"\x00\x00\x00\x00"
    path.write_bytes(b"II*\x00" + struct.pack("<I", ifd_at) + data +
                     struct.pack(f"<{n}I", *([header] * n)) +
                     struct.pack(f"<{n}I", *([len(data)] * n)) + ifd)
    return path


def gif_bomb(width, height, frames, transparent=False, colours=b"\x00\x00\x00\xff\xff\xff"):
    """A GIF of ``frames`` one-pixel frames on a ``width`` x ``height`` canvas, as bytes.

    Each frame has a local colour table of the two ``colours`` (black and white).
    """
    out = [b"GIF89a", struct.pack("<HHBBB", width, height, 0, 0, 0)]
    for _ in range(frames):
        if transparent:
            out.append(b"\x21\xf9\x04\x01\x00\x00\x00\x00")     # graphic control: transparent
        # image at (0, 0), 1x1, local colour table of 2 entries; LZW: clear, 0, end
        out.append(b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0x80) + colours)
        out.append(b"\x02\x02\x44\x01\x00")
    out.append(b"\x3b")
    return b"".join(out)


def _limit(limit):
    def set_limit():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return set_limit


def run_limited(args, limit=AS_LIMIT, code=_HISTEQ, timeout=600):
    """Run ``code`` (default: ``histeq args``) in a child process limited to ``limit`` bytes.

    Returns the CompletedProcess (text stdout and stderr).  The child's
    address space is capped with ``RLIMIT_AS``: whatever it tries to
    allocate beyond the limit fails in the child.
    """
    env = dict(os.environ, PYTHONFAULTHANDLER="0")
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, preexec_fn=_limit(limit), env=env)
