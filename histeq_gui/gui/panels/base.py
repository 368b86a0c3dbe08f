"""What every panel gets, and how a panel is described to the main window.

A panel is a QWidget class (or any callable) taking a :class:`ViewerContext`
and returning a widget.  In its constructor it subscribes to what it shows:

- ``context.state``'s signals (``stackChanged``, ``indexChanged``,
  ``methodChanged``, ``binsChanged``, ``scopeChanged``, ``changed``,
  ``cursorChanged``) for the settings and the pixel under the mouse;
- ``context.controller.resultChanged(result)`` for what is computed (a
  :class:`~histeq_gui.gui.compute.ViewResult`, or None when there is nothing
  to show), ``busyChanged(bool)`` and ``problemChanged(str)``;

and it draws the current values once (``context.controller.result``), so it
can be made at any time.  It writes only through the state's setters; it
never computes and never reaches into another panel.  The main window puts
it in a dock (or in the middle) as its :class:`PanelSpec` says.

A panel may offer menu entries: a ``menu_actions`` attribute, a dict from a
menu name ("File", "Image", "View", "Help", or a new one) to a list of
QActions (None for a separator).  The window adds them to that menu and to
itself, so their shortcuts work wherever the focus is, even while the
panel's dock is hidden.

A panel that runs jobs of its own offers ``shutdown(timeout_ms)``; the
window calls it when it closes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PyQt5.QtWidgets import QWidget

from ..controller import ViewController
from ..inspection import Inspection
from ..player import Player
from ..preferences import Preferences
from ..state import ViewerState

__all__ = ["ViewerContext", "PanelSpec", "AREAS"]

AREAS = ("central", "left", "right", "top", "bottom")


@dataclass(frozen=True)
class ViewerContext:
    """The objects a panel may follow and use.

    Attributes
    ----------
    state : ViewerState
        The settings and the pixel under the mouse; write through its setters.
    controller : ViewController or None
        The current result and its signals (None for a panel tested alone).
    player : Player or None
        Playback through the stack.
    preferences : Preferences or None
        What the viewer remembers between runs.
    notify : callable
        ``notify(text)`` shows a short note in the status bar.
    inspection : Inspection or None
        The statistics of the stack with their filter, brush, sort and
        selection (:class:`~histeq_gui.gui.inspection.Inspection`), shared by
        the inspection panels.
    """

    state: ViewerState
    controller: ViewController | None = None
    player: Player | None = None
    preferences: Preferences | None = None
    notify: Callable[[str], None] = lambda text: None
    inspection: Inspection | None = None


@dataclass(frozen=True)
class PanelSpec:
    """One entry of the panel registry (:data:`histeq_gui.gui.panels.PANELS`).

    Attributes
    ----------
    id : str
        Unique name; also the dock's objectName, under which its place is
        remembered.
    title : str
        The dock's title and its entry in the View menu.
    area : {"central", "left", "right", "top", "bottom"}
        Where it starts ("central": the middle of the window, not a dock).
    factory : callable
        ``factory(context) -> QWidget``; usually the panel's class.
    visible : bool
        Shown at the first start (the View menu shows or hides it later).
    tab_with : str, optional
        The id of a panel whose dock this one shares, as a tab behind it.
    """

    id: str
    title: str
    area: str
    factory: Callable[[ViewerContext], QWidget]
    visible: bool = True
    tab_with: str | None = None

    def __post_init__(self):
        if self.area not in AREAS:
            raise ValueError(f"panel {self.id!r}: area must be one of {', '.join(AREAS)}, "
                             f"got {self.area!r}")
