"""Method parameters given as image files: read at the edge, passed on as arrays.

A parameter declared with ``files=True`` (``match``'s ``reference``) takes
the path of an image file as well as an array.  The methods never read
files, so the method registry sits below the I/O; the edges read them here:
the engine's ``prepare`` (:mod:`histeq_gui.core.engine.inputs`) and the
stack histogram's fit (:mod:`histeq_gui.core.fit`), so that
:func:`~histeq_gui.equalize`, the export (and so ``histeq``), the statistics
and the viewer's computations take a :class:`pathlib.Path`; and the viewer's
file chooser, which refuses a file that cannot be used when it is picked.
Settings and sidecars keep the path, which is what the user chose.
"""

from __future__ import annotations

import os

from .errors import StackError
from .methods import Method, Param

__all__ = ["read_file_param", "read_file_params"]


def read_file_param(param: Param, path) -> object:
    """The image file ``path`` read for ``param``: its value, checked.

    Parameters
    ----------
    param : Param
        A parameter that takes files (``param.files``).
    path : str or path-like
        Anything :func:`histeq_gui.core.io.load_stack` reads.

    Returns
    -------
    object
        The array, as ``param.check`` accepts it.

    Raises
    ------
    StackError
        One line: the file cannot be read, or its pixels are no valid value
        (no finite pixel, a dtype that cannot be equalized).
    """
    # The I/O stack (Pillow, tifffile, imagecodecs) loads when a file is first read: the
    # engine, which calls this for every computation, imports in a tenth of a second.
    from .io import load_stack

    array = load_stack(path)
    try:
        return param.check(array)
    except ValueError as exc:
        why = str(exc).removeprefix(f"{param.name}: ")      # said once, in front
        raise StackError(f"cannot use '{path}' as the {param.name}: {why}") from None


def read_file_params(method: Method, params: dict) -> dict:
    """``params`` with the path of every parameter that takes files read into its value.

    ``params`` itself is returned when it holds no path, else a new dict.

    Examples
    --------
    >>> import numpy as np, pathlib, tempfile
    >>> from histeq_gui.core.methods import get_method
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "reference.npy"
    >>> np.save(path, np.arange(16, dtype=np.uint8).reshape(4, 4))
    >>> read_file_params(get_method("match"), {"reference": path})["reference"].shape
    (4, 4)
    """
    paths = {p.name: p for p in method.params
             if p.files and isinstance(params.get(p.name), os.PathLike)}
    if not paths:
        return params
    return {name: read_file_param(paths[name], value) if name in paths else value
            for name, value in params.items()}
