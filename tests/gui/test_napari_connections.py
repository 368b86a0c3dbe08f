"""The napari plugin's connections end cleanly, whatever napari has torn down first.

``histeq_gui.napari.connections`` imports no napari, so this runs in the main test command:
napari's own teardown is imitated by an emitter that has lost its callbacks.
"""

from __future__ import annotations

from PyQt5.QtCore import QEvent, QObject

from histeq_gui.napari.connections import Connections


class Emitter:
    """An emitter as napari's EventEmitter keeps its callbacks (and loses them at teardown)."""

    def __init__(self):
        self._callbacks = []

    def connect(self, callback):
        self._callbacks.append(callback)

    def disconnect(self, callback):
        if callback in self._callbacks:         # napari's own line: fails once torn down
            self._callbacks.remove(callback)


def test_a_widget_destroyed_after_the_viewer_closed_ends_without_an_error(qapp):
    live, gone = Emitter(), Emitter()
    widget = QObject()
    closed = []
    connections = Connections(widget, lambda: closed.append(True))
    connections.connect(live, print)
    connections.connect(gone, print)
    del gone._callbacks                         # the viewer closed first
    widget.deleteLater()
    qapp.sendPostedEvents(None, QEvent.DeferredDelete)     # destroyed fires now
    assert live._callbacks == [] and closed == [True]
    connections.close()                         # again: nothing left, nothing raised
    assert closed == [True]
