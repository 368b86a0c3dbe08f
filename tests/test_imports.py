"""The API and the command line never pull in Qt: proven in a fresh interpreter."""

import subprocess
import sys


def test_core_cli_and_api_import_no_qt():
    code = (
        "import sys, histeq_gui, histeq_gui.core.equalize, histeq_gui.core.export, histeq_gui.cli\n"
        "import numpy as np\n"
        "histeq_gui.equalize(np.zeros((2, 4, 4), np.uint8))\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PyQt5', 'PyQt6', 'PySide2',"
        " 'PySide6', 'pyqtgraph'))\n"
        "print(qt)\n"
        "sys.exit(1 if qt else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "[]"
