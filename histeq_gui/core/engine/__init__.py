"""The engine: what every method and every driver shares, each piece by a public name.

:mod:`.inputs`
    Pixels, masks, scopes, a method's parameters and the output dtype, as
    the engine takes them (one-line ValueErrors).
:mod:`.blocks`
    The stack as rows (:class:`~.blocks.PixelSource`), cut into blocks of
    about a million pixels and groups of rows with their histograms.
:mod:`.pool`
    The thread pool, the caller's executor (``use_executor``), work items
    run in waves with progress ticks that may cancel.
:mod:`.driver`
    The block driver: tables of a group, mapping its blocks, a whole stack
    (the engine of ``equalize``), whole-image methods image by image.
:mod:`.chunks`
    A stack read in pieces: cutting, reading, channels, equalizing a piece
    (the export's engines, local and Dask).
:mod:`.stages`
    A pipeline's long stages: one-line StackErrors, work in a helper thread.
:mod:`.tables`
    A group's histograms (images, or a whole stack), counted block by block,
    turned into a map by the method's hook, and applied to pixels.
:mod:`.kernels`
    numba loops that count pixels into bins or integer values and map them
    through interpolation segments or a table (by bin or by value).  They
    know no method and never read or write outside their arrays.
:mod:`.numpy_kernels`
    The same loops in plain NumPy, with the same results bit for bit: ready
    at once, while the compiled ones are being compiled.
:mod:`.backend`
    Which of the two run: compiled (the default), NumPy, or "ready" (the
    compiled ones once ``warm_up`` has prepared them, the viewer's choice).
:mod:`.segments`
    ``np.interp``'s segments of a method's nodes, for the mapping loop.
:mod:`.clahe_kernels`
    numba loops of scikit-image's and OpenCV's CLAHE, whole images or rows.
:mod:`.clahe_bands`
    Those loops over a block, one large image in bands of rows on the pool.

Only :mod:`.kernels` and :mod:`.clahe_kernels` import numba, when the
compiled loops are first used; the NumPy loops never import it.
"""
