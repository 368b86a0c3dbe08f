"""``python -m histeq_gui``: the viewer, same as the ``histeq-gui`` command."""

import sys

from .gui.app import main

if __name__ == "__main__":
    sys.exit(main())
