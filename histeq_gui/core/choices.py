"""The names the front ends offer, importable without NumPy or the compiler.

``histeq --help`` lists methods, scopes and output dtypes without importing
the modules that compute (they load numba).  :data:`OUTPUT_DTYPES` is defined
here and re-exported by :mod:`histeq_gui.core.export`; :data:`METHODS` and
:data:`SCOPES` repeat :data:`histeq_gui.core.methods.METHODS` and
:data:`histeq_gui.core.equalize.SCOPES` (a test checks they agree) until
those modules take them from here.
"""

__all__ = ["METHODS", "SCOPES", "OUTPUT_DTYPES"]

METHODS = ("numpy", "skimage")
SCOPES = ("image", "stack")
OUTPUT_DTYPES = ("same", "uint8", "uint16", "float32", "float64")
