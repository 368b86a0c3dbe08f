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
(first series, multi-page and ImageJ), a folder of PNG/JPEG/TIFF/BMP/WebP
images, in it or in subfolders at any depth (a folder tree: each image
named by its relative path, labelled by its first folder), and single image
files (PNG, JPEG, BMP, GIF, WebP; an animated GIF gives all its frames).
Outputs: ``.npy``, ``.npz``, ``.tif``/``.tiff``, ``.png`` (one
image) and, for a path without an extension, a folder of numbered PNG files.

Stacks larger than memory are read on demand: :func:`open_reader` gives a
:class:`Reader` (shape, dtype, file names; whole images by range along an
axis, image ``i`` of a layout, chunks with progress) that reads ``.npy`` and
uncompressed ``.npz`` members with ``pread``, compressed members as a
stream, TIFF pages in batches and folders file by file (several files at
a time on a thread pool); :func:`open_writer`
gives a :class:`ChunkWriter` per output kind that writes chunk by chunk and
verifies the file against per-chunk digests.  Zarr v3 arrays (``.zarr``
folders) are read and written the same way with the ``zarr`` extra.

How the package is laid out:

- one module per format, owning reading whole, reading on demand (its
  :class:`Reader`) and writing (its :class:`ChunkWriter`, verification
  included): :mod:`.npy` (.npy and .npz), :mod:`.tiff`, :mod:`.images`
  (single image files, one PNG image), :mod:`.gif` (GIF decoding, used by
  ``images``), :mod:`.folders` (folders and folder trees of images, ragged
  ones, folders of PNG files) and :mod:`.zarr_store`;
- :mod:`.formats`, the one table of which module reads a path and which
  writes an output, gathered from the ``INPUTS`` and ``OUTPUTS`` each format
  module declares;
- the front doors: :mod:`.load` (:func:`open_reader`, :func:`load_stack`)
  and :mod:`.save` (:func:`check_output`, :func:`open_writer`,
  :func:`save_stack`);
- what the formats share: :mod:`.reader` and :mod:`.writer` (the base
  classes and their declarations), :mod:`.mapped` (memory maps read with
  ``pread``), :mod:`.files` (one-line errors, opening inputs, progress),
  :mod:`.memory` (refusing what would not fit), :mod:`.listing` (the files
  of a folder tree, their names and labels), :mod:`.threads` (the pool
  files are decoded on), :mod:`.atomic` (moving outputs into place) and
  :mod:`.sidecar` (the JSON beside an output).

This module gathers the public names; import them from here.
"""

from .atomic import check_writable, clean_up, commit_log, exists, new_file, staged
from .files import FileChanged, check_unchanged, guard, stat_input
from .folders import (
    FolderReader,
    MixedReader,
    RaggedPngWriter,
    RaggedReader,
    open_folder,
    png_names,
)
from .listing import (
    IMAGE_SUFFIXES,
    Listing,
    folder_images,
    label_of,
    labels_of,
    list_folder,
    natural_key,
)
from .load import load_stack, open_reader
from .reader import CHUNK_BYTES, ArrayReader, Reader, reader_for, stack_axis
from .save import check_output, open_writer, output_kind, save_stack, write_axis, write_stack
from .sidecar import check_sidecar, read_sidecar, sidecar_path, write_json, write_sidecar
from .tiff import declared_channel_axis
from .writer import ChunkWriter

__all__ = ["load_stack", "save_stack", "open_reader", "Reader", "ArrayReader", "FolderReader",
           "RaggedReader", "MixedReader", "open_folder", "list_folder", "Listing", "label_of",
           "labels_of", "IMAGE_SUFFIXES",
           "reader_for", "stack_axis", "CHUNK_BYTES", "declared_channel_axis",
           "output_kind", "check_output", "open_writer", "ChunkWriter", "RaggedPngWriter",
           "write_axis", "write_stack", "folder_images", "natural_key", "png_names",
           "staged", "exists", "check_writable", "clean_up", "commit_log", "new_file",
           "write_sidecar", "read_sidecar", "sidecar_path", "check_sidecar", "write_json", "guard",
           "stat_input", "check_unchanged", "FileChanged"]
