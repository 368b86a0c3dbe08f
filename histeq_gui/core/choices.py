"""The output dtypes the front ends offer, and the Dask connect timeout they state.

Importable without NumPy or the compiler: ``histeq --help`` lists methods,
scopes and output dtypes without importing the modules that compute (they
load numba): the methods and scopes come from
the registry (:mod:`histeq_gui.core.methods`, which imports NumPy only), the
output dtypes from here; :mod:`histeq_gui.core.export` re-exports
:data:`OUTPUT_DTYPES`.
"""

__all__ = ["OUTPUT_DTYPES", "DASK_CONNECT_TIMEOUT"]

#: The output dtypes of an export; "same" keeps the input's (integers scaled to their range).
OUTPUT_DTYPES = ("same", "uint8", "uint16", "float32", "float64")

# Seconds a Dask scheduler has to answer at its address (and a client to reconnect to it)
# before the Dask engine gives up (:mod:`histeq_gui.core.dask_engine`).
DASK_CONNECT_TIMEOUT = 10.0
