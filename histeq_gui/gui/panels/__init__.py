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
from .grid import GridPanel
from .histograms import HistogramsPanel
from .images import ImagesPanel
from .navigation import NavigationPanel
from .settings import SettingsPanel
from .stats_table import StatsTablePanel
from .transfer import TransferPanel

__all__ = ["PANELS", "PanelSpec", "ViewerContext", "AREAS"]

PANELS = [
    PanelSpec("images", "Images", "central", ImagesPanel),
    PanelSpec("histograms", "Histograms", "bottom", HistogramsPanel),
    PanelSpec("navigation", "Navigation", "bottom", NavigationPanel),
    PanelSpec("settings", "Settings", "right", SettingsPanel),
    PanelSpec("transfer", "Transfer curve", "right", TransferPanel),
    PanelSpec("stats", "Statistics", "bottom", StatsTablePanel, tab_with="histograms"),
    PanelSpec("column_histogram", "Column histogram", "right", ColumnHistogramPanel,
              tab_with="transfer"),
    PanelSpec("grid", "Thumbnails", "bottom", GridPanel, tab_with="histograms"),
]
