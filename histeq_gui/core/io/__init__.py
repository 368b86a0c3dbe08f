"""Load and save image stacks safely: .npy, .npz, .tif, image folders and files.

Loading never unpickles, never modifies the input and turns every failure
into a one-line :class:`~histeq_gui.core.errors.StackError` that says what is
wrong and what to do.  Saving is atomic: the output is written under a
temporary name in the target's own folder, read back and compared with what
was meant to be written, and only then moved into place with
:func:`os.replace`; on any error or interruption nothing partial remains and
an existing target is left untouched.  :func:`staged` does the moving, also
for several outputs that must appear together (a stack and its sidecar).

Supported inputs: ``.npy`` (memory-mapped), ``.npz``, ``.tif``/``.tiff``
(first series, multi-page and ImageJ), a folder of PNG/JPEG/TIFF images and
single image files (PNG, JPEG, BMP, GIF, WebP; an animated GIF gives all its
frames).  Outputs: ``.npy``, ``.npz``, ``.tif``/``.tiff``, ``.png`` (one
image) and, for a path without an extension, a folder of numbered PNG files.

Stacks larger than memory are read on demand: :func:`open_reader` gives a
:class:`Reader` (shape, dtype, file names; whole images by range along an
axis, image ``i`` of a layout, chunks with progress) that reads ``.npy`` and
uncompressed ``.npz`` members with ``pread``, compressed members as a
stream, TIFF pages in batches and folders file by file; :func:`open_writer`
gives a :class:`ChunkWriter` per output kind that writes chunk by chunk and
verifies the file against per-chunk digests.  Zarr v3 arrays (``.zarr``
folders) are read and written the same way with the ``zarr`` extra.

The work is done in :mod:`~histeq_gui.core.load`, :mod:`~histeq_gui.core.save`,
:mod:`~histeq_gui.core.readers`, :mod:`~histeq_gui.core.writers`,
:mod:`~histeq_gui.core.atomic` (moving into place) and
:mod:`~histeq_gui.core.sidecar`, with what reading and writing share in
:mod:`~histeq_gui.core.files`; this module gathers their public names.
"""

from . import atomic, memory, sidecar
from .atomic import clean_up, exists, new_file, staged
from .files import guard, stat_input
from .folders import folder_images, natural_key, png_names
from .load import load_stack
from .readers import CHUNK_BYTES, ArrayReader, RaggedReader, Reader, open_reader, reader_for, \
    stack_axis
from .save import check_output, output_kind, save_stack, write_stack
from .sidecar import check_sidecar, read_sidecar, sidecar_path, write_json, write_sidecar
from .writers import ChunkWriter, RaggedPngWriter, open_writer, write_axis

__all__ = ["load_stack", "save_stack", "write_sidecar", "read_sidecar", "sidecar_path",
           "check_sidecar", "output_kind", "check_output", "staged", "exists", "clean_up", "new_file",
           "write_stack", "write_json", "open_reader", "Reader", "ArrayReader", "RaggedReader",
           "reader_for", "stack_axis", "CHUNK_BYTES", "open_writer", "ChunkWriter",
           "RaggedPngWriter", "write_axis", "folder_images", "natural_key", "png_names",
           "guard", "stat_input"]
