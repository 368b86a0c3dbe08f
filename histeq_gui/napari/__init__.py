"""histeq-gui as a napari plugin (the ``napari`` extra): ``pip install "histeq-gui[napari]"``.

The npe2 manifest (``napari.yaml`` beside this file, registered by the
``napari.manifest`` entry point) contributes three dock widgets, a reader
and a writer:

- :mod:`.equalize_widget`: pick an image layer, a method with its
  parameters (the viewer's :class:`~histeq_gui.gui.param_form.ParamForm`),
  bins and scope; a live preview of the current slice as a new layer, and
  "Apply to stack" making the equalized layer of the whole stack (a Dask
  array for big or lazy layers), in napari's thread workers;
- :mod:`.histogram_widget`: the current slice's histogram with its CDF,
  before and after, and the transfer curve (the viewer's plots), with the
  layer's contrast limits drawn and draggable;
- :mod:`.stats_widget`: :func:`~histeq_gui.image_stats` of the layer's stack
  as a sortable table with the flags; a row click moves the dims slider;
- :mod:`.reader` (``.npy``, ``.npz`` with several arrays, image folders) and
  :mod:`.writer` (the atomic export with its sidecar).

What the widgets share lives in :mod:`.session` (one setting per viewer,
the stack of a layer, the cached stack histograms), :mod:`.layers` (a layer
as a stack of images, the current slice) and :mod:`.stack_work` (the
equalized stack, eager or lazy; no Qt).  napari, qtpy and dask are imported
only by these modules, never by ``import histeq_gui``: the standalone viewer
keeps PyQt5 and needs no napari.
"""
