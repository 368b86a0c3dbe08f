"""What the teaching panels share: the pixels they explain, the ROI hook, work now or in a job.

The worked table and the "why it is not flat" panel explain the mapping of
the image shown: its own histogram (scope "image"), or the whole stack's
(scope "stack"), channel by channel, restricted to the region of interest
when the viewer has one.  :func:`sample_pixels` gives those pixels,
:func:`roi_mask` the region, :func:`method_params` the method's parameters
as the viewer uses them (stack-aware ones resolved against the whole stack)
and :func:`table_levels` the worked table's ``L`` (textbook's own
``levels``).  :class:`Work` runs a computation at once when
it is small and in a :class:`~histeq_gui.gui.jobs.Runner` job otherwise, so
that big images never freeze the window.
"""

from __future__ import annotations

from PyQt5.QtCore import QObject, pyqtSignal

from ..core.methods import Method
from . import compute
from .controller import SYNC_IMAGE_VALUES
from .jobs import Runner, log_if_unexpected, user_message
from .state import check_roi

__all__ = ["roi_mask", "sample_pixels", "method_params", "table_levels", "own_levels",
           "describe_params", "Work", "WhenShown", "CHANNEL_NAMES"]

CHANNEL_NAMES = ("red", "green", "blue", "alpha")


def roi_mask(state, shape):
    """The region of interest of ``state`` as a boolean ``(H, W)`` mask, or None (whole image).

    ``state.roi`` clipped to the image (:func:`~histeq_gui.gui.state.check_roi`),
    as the viewer's own plots use it (:func:`~histeq_gui.gui.compute.roi_mask`).
    """
    return compute.roi_mask(check_roi(state.roi, tuple(shape[:2])), tuple(shape[:2]))


def sample_pixels(stack, index, scope, channel=0):
    """The pixels whose histogram maps image ``index``: the image's, or the whole stack's.

    Returns one channel: ``(H, W)`` for scope "image", ``(N, H, W)``-like
    for scope "stack" (every image of the stack).
    """
    if scope == "stack":
        return stack.channel_stack(channel)
    image = stack.image(index)
    return image if stack.channels == 1 else image[..., channel]


def method_params(stack, method: Method, bins, params, roi=None, channel=0, progress=None):
    """The parameters the viewer equalizes ``channel`` with: ``params``, stack-aware ones resolved.

    ``match``'s reference "stack" or an image index is resolved against the
    whole stack (:func:`~histeq_gui.gui.compute.resolve_stack_params`, the
    region counted as the viewer counts it) and given for ``channel``
    (:func:`~histeq_gui.core.equalize.channel_params`), so that the core's
    teaching functions (``worked_table``, ``equalize_again``) see what
    ``equalize(stack, method, bins, **params)`` uses.  Other methods:
    ``params`` as given.  May read the whole stack: call it in the panel's
    job.
    """
    from ..core.equalize import channel_params
    if not method.stack_aware:
        return dict(params)
    resolved = compute.resolve_stack_params(stack, method, bins, params, roi=roi,
                                            progress=progress)
    return channel_params(method, resolved, channel)


def table_levels(levels, method: Method, params, dtype, bins):
    """``L`` of a worked table, and the parameters to pass to the core's ``worked_table``.

    A method with its own ``levels`` parameter (``textbook``) maps to that
    many output levels: its table's ``L`` is that parameter (set in the
    viewer, else its default for ``dtype`` and ``bins``), whatever ``L`` the
    table control holds, so that the table's ``s`` are the levels the
    viewer shows.  Other methods take ``levels`` (None: the dtype's).

    Returns
    -------
    tuple
        ``(L, params)``: ``params`` without ``levels`` (the core's
        ``worked_table`` passes its ``L`` on as the method's ``levels``).
    """
    param = method.param("levels")
    if param is None:
        return levels, dict(params)
    own = dict(params)
    value = own.pop("levels", None)
    if value is None:
        value = param.default_for(dtype, bins)
    return int(value), own


def own_levels(method: Method) -> bool:
    """True if ``method`` has its own ``levels`` parameter (the worked table's L is then it)."""
    return method.param("levels") is not None


def describe_params(params):
    """``"levels=8, clip_limit=0.05"``: the parameters set (defaults left out), or ""."""
    return ", ".join(f"{name}={value!r}" if not hasattr(value, "__array__")
                     else f"{name}=an array" for name, value in sorted(params.items()))


class Work(QObject):
    """One kind of computation of a panel: now when small, else in a job; the newest wins.

    Signals
    -------
    busyChanged(bool)
        A job started or ended.
    """

    busyChanged = pyqtSignal(bool)

    def __init__(self, name, parent=None):
        super().__init__(parent)
        self.runner = Runner(name, self)
        self.runner.busyChanged.connect(self.busyChanged)

    @property
    def busy(self):
        """True while a job runs."""
        return self.runner.busy

    def request(self, fn, on_done, on_error, values):
        """Run ``fn(report)`` and hand its result to ``on_done`` (errors: ``on_error(message)``).

        Parameters
        ----------
        fn : callable
            ``fn(report)``; ``report`` is None when it runs at once.
        on_done, on_error : callable
            Called in the GUI thread, only for the newest request.
        values : int
            How many values ``fn`` goes through; up to
            :data:`~histeq_gui.gui.controller.SYNC_IMAGE_VALUES` it runs at once.
        """
        if values <= SYNC_IMAGE_VALUES:
            self.runner.abandon()
            try:
                result = fn(None)
            except Exception as exc:  # noqa: BLE001 - shown in the panel, logged if a bug
                log_if_unexpected(exc, f"computing {self.runner.name}")
                on_error(user_message(exc))
                return
            on_done(result)
            return
        self.runner.start(fn, on_done=on_done, on_error=lambda message, error: on_error(message),
                          name=self.runner.name)

    def abandon(self):
        """Drop the running job's result."""
        self.runner.abandon()

    def shutdown(self, timeout_ms=None):
        """Cancel and wait (see :meth:`Runner.shutdown`)."""
        return self.runner.shutdown(timeout_ms)


class WhenShown:
    """Mixin for a panel that computes only while it is shown.

    The panel calls :meth:`wanted` at the top of its ``refresh``: while the
    panel is hidden (its dock closed, another view shown) the request is
    remembered instead, and the first ``showEvent`` brings it up to date.
    """

    _stale = False

    def wanted(self):
        """True if the panel should compute now; else it will when shown."""
        if self.isVisible():
            self._stale = False
            return True
        self._stale = True
        return False

    def showEvent(self, event):
        """Qt: refresh now if a refresh was asked for while hidden."""
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.refresh()
