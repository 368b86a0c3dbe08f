"""What every method shares: the compiled per-pixel loops and the tables that feed them.

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
:mod:`.tables`
    A group's histograms (images, or a whole stack), counted block by block,
    turned into a map by the method's hook, and applied to pixels.

Only :mod:`.kernels` imports numba, when the compiled loops are first
used; the NumPy loops never import it.
"""
