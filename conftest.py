"""Collection rules for the whole repository (the tests' own setup is tests/conftest.py).

The napari plugin's modules (``histeq_gui/napari``) import napari and qtpy,
which only the ``napari`` extra installs: without napari their doctests are
not collected, as ``tests/napari`` skips itself (see ``.ci/napari``).
"""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("napari") else ["histeq_gui/napari/*"]
