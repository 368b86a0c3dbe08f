"""What the plugin's widgets share in one napari viewer: the setting and each layer's stack.

The equalize widget edits the viewer's one
:class:`~histeq_gui.gui.setting.Setting` (method, its parameters, bins,
scope); the histogram widget draws with it, the statistics widget describes
with it.  :meth:`Session.view_steps` computes what the viewer shows for one
image (:func:`~histeq_gui.gui.compute.compute_view`: the image equalized,
its histograms before and after), fitting the whole stack's histograms and
resolving stack-aware parameters once per layer and setting (cached), so the
preview and the histograms of a slice are ``equalize(stack, ...)[index]``'s.
No napari import and no Qt binding but through pyqtgraph.
"""

from __future__ import annotations

import weakref

from ..core.engine.stages import stage_in_thread
from ..gui.compute import HistogramCache, compute_view, resolve_stack_params, stack_histograms
from ..gui.setting import Setting
from ..gui.stack_file import LoadedStack
from .layers import layer_stack

__all__ = ["Session", "session_for", "layer_stack_axis"]

_SESSIONS: "weakref.WeakKeyDictionary[object, Session]" = weakref.WeakKeyDictionary()


class Session:
    """One viewer's setting and the stacks of its layers (see the module docstring).

    Attributes
    ----------
    setting : Setting
        Method, parameters, bins and scope, shared by the plugin's widgets.
    """

    def __init__(self) -> None:
        self.setting = Setting()
        self._stacks: dict[int, tuple[object, LoadedStack, HistogramCache]] = {}

    def stack(self, layer) -> LoadedStack:
        """The layer as a stack (made again when its data or colour changed)."""
        key = id(layer)
        kept = self._stacks.get(key)
        if kept is None or kept[0] is not layer.data or \
                kept[1].layout.channel_axis != layer_stack_axis(layer):
            kept = (layer.data, layer_stack(layer), HistogramCache())
            self._stacks[key] = kept
        return kept[1]

    def forget(self, layer) -> None:
        """Drop what is kept for ``layer`` (removed from the viewer)."""
        self._stacks.pop(id(layer), None)

    def view_steps(self, layer, index: int):
        """Compute image ``index`` of ``layer`` with the setting: a generator of progress steps.

        Yields ``(stage, done, total)`` while the whole stack is read (scope
        "stack", or a stack-aware parameter), then returns the
        :class:`~histeq_gui.gui.compute.ViewResult` (whose ``error`` says
        why an image could not be equalized).  The setting is read when
        called.
        """
        stack = self.stack(layer)
        cache = self._stacks[id(layer)][2]
        s = self.setting
        method, bins, scope, params = s.method_spec, s.bins, s.scope, s.params
        resolved = params
        if method.stack_aware:
            resolved = cache.get_params(method.name, bins, None, params)
            if resolved is None:
                resolved = yield from stage_in_thread("reference", lambda progress: (
                    resolve_stack_params(stack, method, bins, params,
                                         progress=_staged(progress))))
                cache.put_params(method.name, bins, None, params, resolved)
        hists = None
        if scope == "stack":
            hists = cache.get(method.name, bins, None, params)
            if hists is None:
                hists = yield from stage_in_thread("histogram", lambda progress: (
                    stack_histograms(stack, method, bins, progress=_staged(progress),
                                     params=params)))
                cache.put(method.name, bins, hists, None, params)
        return compute_view(stack, index, method, bins, scope, hists, params=resolved)


def layer_stack_axis(layer):
    """The colour axis :func:`~.layers.layer_layout` gives ``layer`` (None for grayscale)."""
    return layer.data.ndim - 1 if layer.rgb else None


def _staged(progress):
    """The viewer's ``progress(stage, done, total)`` as a stage's ``progress(done, total)``."""
    return lambda stage, done, total: progress(done, total)


def session_for(viewer) -> Session:
    """The :class:`Session` of ``viewer`` (made on first use, gone with the viewer).

    napari hands each plugin widget a proxy of the viewer (``__wrapped__``
    is the viewer): the session is the viewer's own, whichever proxy asks.
    """
    viewer = getattr(viewer, "__wrapped__", viewer)
    session = _SESSIONS.get(viewer)
    if session is None:
        session = _SESSIONS[viewer] = Session()
    return session

