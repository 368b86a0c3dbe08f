"""Shared test setup: every test runs without a display.

``QT_QPA_PLATFORM=offscreen`` must be set before anything imports Qt, so it is
set here, at collection time, before pytest-qt creates the QApplication.  An
explicit value from the environment (e.g. ``xcb`` under Xvfb) is kept.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
