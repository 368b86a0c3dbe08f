"""Find the bundled resources: the sample stack, its labels and the icon.

A wheel carries them as ``histeq_gui/resources/`` (pyproject force-includes
the repository's ``resources/`` folder there); a source checkout has them at
the repository root.  :func:`resource_path` looks in both places.
"""

from __future__ import annotations

from importlib import resources as _importlib_resources
from pathlib import Path

__all__ = ["resource_path", "SAMPLE_STACK", "SAMPLE_INFO", "ICON"]

SAMPLE_STACK = "sample_stack.npy"
SAMPLE_INFO = "sample_stack_info.json"
ICON = "icon.png"


def _candidates(name):
    try:
        installed = _importlib_resources.files("histeq_gui") / "resources" / name
        yield Path(str(installed))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - odd importers
        pass
    yield Path(__file__).resolve().parents[2] / "resources" / name


def resource_path(name):
    """Return the path of the bundled resource ``name``.

    Parameters
    ----------
    name : str
        File name inside the resources folder, e.g. ``"sample_stack.npy"``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        If neither the installed package nor the source checkout has it.
    """
    tried = []
    for path in _candidates(name):
        if path.is_file():
            return path
        tried.append(str(path))
    raise FileNotFoundError(f"bundled resource {name!r} not found (looked in: {', '.join(tried)}); "
                            "reinstall histeq-gui")
