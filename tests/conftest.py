"""Shared test setup: every test runs without a display and away from the user's settings.

Set here, at collection time, before pytest-qt creates the QApplication:

- ``QT_QPA_PLATFORM=offscreen`` (an explicit value from the environment, e.g.
  ``xcb`` under Xvfb, is kept);
- ``XDG_CONFIG_HOME`` and ``XDG_RUNTIME_DIR`` point into a fresh temporary
  folder, so even a test that asked for the user's QSettings would write
  there, never to the real ``~/.config``.  The folder goes when pytest ends.
"""

import os
import shutil
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_TEMP = tempfile.mkdtemp(prefix="histeq-gui-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_TEMP, "config")
os.environ["XDG_RUNTIME_DIR"] = os.path.join(_TEMP, "runtime")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700)


def pytest_unconfigure(config):
    shutil.rmtree(_TEMP, ignore_errors=True)


@pytest.fixture
def no_whole_loads(monkeypatch):
    """Every reader's own ``load()`` raises: a test using this proves its code streams."""
    from histeq_gui.core.io import formats, reader

    def refuse(self, progress=None):
        raise AssertionError("the stack was loaded whole")
    modules = (*formats.MODULES, reader)
    kinds = {v for m in modules for v in vars(m).values() if isinstance(v, type)}
    for kind in kinds:
        if "load" in vars(kind):
            monkeypatch.setattr(kind, "load", refuse)
