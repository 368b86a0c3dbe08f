"""napari event connections that end with the widget that made them.

napari keeps calling whatever is connected to its events (the layer list,
the dims, a layer's data) after a dock widget is closed and its Qt object
deleted; a call then fails on the deleted widget.  :class:`Connections`
remembers what a widget connected and disconnects it all when the widget is
destroyed (or on :meth:`Connections.close`).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Connections"]


class Connections:
    """The napari event connections of one Qt widget.

    Parameters
    ----------
    widget : QObject
        Its ``destroyed`` signal ends every connection; ``on_close``
        callables run then too (cancelling the widget's jobs).
    """

    def __init__(self, widget, *on_close: Callable[[], object]) -> None:
        self._pairs: list[tuple[object, Callable]] = []
        self._on_close = list(on_close)
        widget.destroyed.connect(lambda *_: self.close())

    def connect(self, emitter, callback: Callable) -> None:
        """``emitter.connect(callback)`` until the widget goes."""
        emitter.connect(callback)
        self._pairs.append((emitter, callback))

    def disconnect(self, emitter, callback: Callable) -> None:
        """End one connection made by :meth:`connect`."""
        if (emitter, callback) in self._pairs:
            self._pairs.remove((emitter, callback))
            _disconnect(emitter, callback)

    def close(self) -> None:
        """End every connection and run the ``on_close`` callables (idempotent)."""
        pairs, self._pairs = self._pairs, []
        for emitter, callback in pairs:
            _disconnect(emitter, callback)
        on_close, self._on_close = self._on_close, []
        for call in on_close:
            call()


def _disconnect(emitter, callback) -> None:
    """``emitter.disconnect(callback)``, unless the emitter is gone already.

    A viewer that closes before the widget tears its events down (an
    ``EventEmitter`` then has no ``_callbacks`` any more): nothing is left to
    disconnect, and the widget's own end must not fail in Qt's event loop.
    """
    try:
        emitter.disconnect(callback)
    except (AttributeError, RuntimeError):
        pass
