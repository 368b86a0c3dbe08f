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

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_TEMP = tempfile.mkdtemp(prefix="histeq-gui-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_TEMP, "config")
os.environ["XDG_RUNTIME_DIR"] = os.path.join(_TEMP, "runtime")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700)


def pytest_unconfigure(config):
    shutil.rmtree(_TEMP, ignore_errors=True)
