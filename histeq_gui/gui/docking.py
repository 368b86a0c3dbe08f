"""Panels into docks: where each registered panel goes, and how big the docks start.

The main window calls :func:`dock_panels` once with the panel registry and
:func:`size_docks` whenever it is given a size; :func:`fitted_size` is its
first size on a given screen.
"""

from __future__ import annotations

from PyQt5.QtCore import QSize, Qt
from PyQt5.QtWidgets import QDockWidget

__all__ = ["DEFAULT_SIZE", "fitted_size", "dock_panels", "size_docks"]

DEFAULT_SIZE = (1400, 860)
_FRAME = (16, 38)           # window frame and title bar, outside the window's size
AREAS = {"left": Qt.LeftDockWidgetArea, "right": Qt.RightDockWidgetArea,
         "top": Qt.TopDockWidgetArea, "bottom": Qt.BottomDockWidgetArea}


def fitted_size(available):
    """The window's first size: :data:`DEFAULT_SIZE`, or less to fit ``available`` (a QRect).

    Room is left for the window frame and title bar, which the size does not
    include (a 1366x768 screen with a task bar gives about 1350x690).
    """
    width, height = DEFAULT_SIZE
    return QSize(min(width, available.width() - _FRAME[0]),
                 min(height, available.height() - _FRAME[1]))


def dock_panels(window, specs, context):
    """Make every panel of ``specs`` and put it in ``window``.

    Each panel gets a movable, closable, floatable QDockWidget whose
    objectName is the panel's id (under which saveState remembers its place);
    docks of one side are stacked, or tabbed with the dock named by the spec's
    ``tab_with``; the first of a tabbed group is in front; the right column runs the full height.  A
    "central" panel becomes the central widget.

    Returns
    -------
    panels, docks : dict
        Panel id -> widget, and panel id -> QDockWidget.
    """
    panels, docks = {}, {}
    for spec in specs:
        if spec.id in panels:
            raise ValueError(f"two panels are registered as {spec.id!r}")
        widget = panels[spec.id] = spec.factory(context)
        if spec.area == "central":
            window.setCentralWidget(widget)
            continue
        dock = docks[spec.id] = QDockWidget(spec.title, window)
        dock.setObjectName(spec.id)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable |
                         QDockWidget.DockWidgetFloatable)
        dock.setWidget(widget)
        window.addDockWidget(AREAS[spec.area], dock, Qt.Vertical)
        if spec.tab_with in docks:
            window.tabifyDockWidget(docks[spec.tab_with], dock)
        dock.setVisible(spec.visible)
    for spec in specs:                  # the first panel of each tabbed dock in front
        if spec.tab_with in docks and spec.id in docks:
            docks[spec.tab_with].raise_()
    window.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
    window.setCorner(Qt.TopRightCorner, Qt.RightDockWidgetArea)
    # Tabbing docks leaves the layout with a stale minimum height (Qt 5.15: a
    # 1350x690 window could not be made lower than 717): compute it afresh.
    window.layout().invalidate()
    window.layout().activate()
    return panels, docks


def size_docks(window, docks, size):
    """Docks as big as their panels ask, less in a window smaller than :data:`DEFAULT_SIZE`.

    The side columns fill the height anyway (a panel of controls keeps its
    height with a fixed size policy); the rows above and below the images
    shrink with the window, as the side columns' width does, so the images
    keep most of a small window.
    """
    x_scale = min(1.0, size.width() / DEFAULT_SIZE[0])
    y_scale = min(1.0, size.height() / DEFAULT_SIZE[1])
    for area in AREAS.values():
        column = []             # one dock per place: docks tabbed together share one
        for dock in docks.values():
            if window.dockWidgetArea(dock) == area and not dock.isFloating() and not any(
                    other in column for other in window.tabifiedDockWidgets(dock)):
                column.append(dock)
        hints = [d.widget().sizeHint() for d in column]
        side = area in (Qt.LeftDockWidgetArea, Qt.RightDockWidgetArea)
        if column and side:
            width = int(max(h.width() for h in hints) * x_scale)
            window.resizeDocks(column, [width] * len(column), Qt.Horizontal)
        scale = 1.0 if side else y_scale
        window.resizeDocks(column, [int(h.height() * scale) for h in hints], Qt.Vertical)
