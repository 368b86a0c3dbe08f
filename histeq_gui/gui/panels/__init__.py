"""The viewer's panels and their registry.

:data:`PANELS` lists every panel the main window builds, in order: one
:class:`PanelSpec` each (id, title, starting area, factory).  A new view is
one new module here and one line below; the main window gives it a dock, an
entry in the View menu and a remembered place.  See :mod:`.base` for what a
panel receives and subscribes to.
"""

from __future__ import annotations

from .base import AREAS, PanelSpec, ViewerContext
from .column_histogram import ColumnHistogramPanel
from .compare import ComparePanel
from .grid import GridPanel
from .histograms import HistogramsPanel
from .images import ImagesPanel
from .navigation import NavigationPanel
from .not_flat import NotFlatPanel
from .settings import SettingsPanel
from .stats_table import StatsTablePanel
from .transfer import TransferPanel
from .worked_table import WorkedTablePanel

__all__ = ["PANELS", "PanelSpec", "ViewerContext", "AREAS"]

PANELS = [
    PanelSpec("images", "Images", "central", ImagesPanel),
    PanelSpec("histograms", "Histograms", "bottom", HistogramsPanel),
    PanelSpec("navigation", "Navigation", "bottom", NavigationPanel),
    PanelSpec("settings", "Settings", "right", SettingsPanel),
    PanelSpec("transfer", "Transfer curve", "right", TransferPanel),
    PanelSpec("stats", "Statistics", "bottom", StatsTablePanel, tab_with="histograms"),
    # shown by the stats and montage views (View menu), below the transfer curve
    PanelSpec("column_histogram", "Column histogram", "right", ColumnHistogramPanel,
              visible=False),
    PanelSpec("grid", "Thumbnails", "bottom", GridPanel, tab_with="histograms"),
    # teaching: hidden docks; --view / View > ... (full window) gives them the window
    PanelSpec("compare", "Compare", "top", ComparePanel, visible=False),
    PanelSpec("worked_table", "Worked table", "top", WorkedTablePanel, visible=False),
    PanelSpec("not_flat", "Why it is not flat", "top", NotFlatPanel, visible=False),
]
