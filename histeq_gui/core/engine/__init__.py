"""What every method shares: the compiled per-pixel loops and the tables that feed them.

:mod:`.kernels`
    numba loops that count pixels into bins or integer values and map them
    through interpolation segments or a table (by bin or by value).  They
    know no method and never read or write outside their arrays.
:mod:`.segments`
    ``np.interp``'s segments of a method's nodes, for the mapping loop.
:mod:`.tables`
    A group's histograms (images, or a whole stack), counted block by block,
    turned into a map by the method's hook, and applied to pixels.

Importing :mod:`.tables` or :mod:`.kernels` imports numba; the public API
(:mod:`histeq_gui.core.equalize`) imports them on first use.
"""
