"""One equalization setting: a method, its own parameters, the bins and the scope.

The viewer's state holds two: setting A, what the viewer shows
(``state.setting``), and setting B, the comparison view's second one
(``state.compare``).  The method is looked up in the registry once, when it
is picked (:meth:`Setting.set_method`); whoever computes or explains the
setting gets the :class:`~histeq_gui.core.methods.Method` itself
(:attr:`Setting.method_spec`).  Every setter validates its value and emits
its signal only on a real change.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyqtgraph.Qt.QtCore import QObject, Signal

from ..core.equalize import check_scope
from ..core.histogram import check_bins
from ..core.methods import METHODS, Method, get_method

__all__ = ["Setting", "check_params", "same_params", "other_method"]


def check_params(method: Method, params: Mapping[str, object]) -> dict:
    """``params`` of ``method`` checked by the registry: a new dict, or a one-line ValueError.

    Every name must be one of the method's parameters other than ``bins``
    (bins are a setting of their own); each value goes through
    :meth:`~histeq_gui.core.methods.Param.check` (its type and range), so
    ``equalize(..., method.name, **params)`` accepts them.  Stack-aware
    values (``match``'s reference index) are checked against the stack only
    when the image is computed.

    Examples
    --------
    >>> clahe = get_method("clahe")
    >>> check_params(clahe, {"clip_limit": 0.05, "kernel_size": "auto"})
    {'clip_limit': 0.05, 'kernel_size': 'auto'}
    >>> check_params(clahe, {"clip_limit": 2})
    Traceback (most recent call last):
    ...
    ValueError: clahe: clip_limit must be a number above 0 and at most 1, got 2
    """
    out = {}
    for name, value in dict(params).items():
        param = method.param(name)
        if param is None or name == "bins":
            own = ", ".join(p.name for p in method.params if p.name != "bins") or "none"
            raise ValueError(f"the {method.name} method has no parameter {name!r} to set here; "
                             f"its parameters: {own}")
        out[name] = param.check(value, method.name)
    return out


def _same_value(a, b):
    if a is b:
        return True
    if type(a) is not type(b) or hasattr(a, "__array__") or hasattr(b, "__array__"):
        return False            # arrays (a reference image): only the same object
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def same_params(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    """True if two parameter dicts hold the same values (arrays: the same object)."""
    return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)


def other_method(method: str) -> str:
    """A method other than ``method`` (the next registered one), to compare with by default."""
    names = list(METHODS)
    if method not in names or len(names) < 2:
        return names[0] if names else method
    return names[(names.index(method) + 1) % len(names)]


class Setting(QObject):
    """Method, its own parameters, bins and scope, with change signals.

    Each method keeps its own parameters (checked by the registry):
    changing the method and back restores them.  A scope the method lacks
    is refused (ValueError, one line: CLAHE has no "stack" scope), and
    picking a method without the current scope (CLAHE, matching) switches
    to "image"; the scope asked for comes back with a method that has it.

    Parameters
    ----------
    method : str
        The name of a registered method.
    bins : int
    scope : {"image", "stack"}
    parent : QObject, optional

    Signals
    -------
    methodChanged(str), binsChanged(int), scopeChanged(str)
        One value changed (a method change that switches the scope emits
        both).
    paramsChanged(object)
        The current method's parameters (:attr:`params`, a dict) changed, or
        the method changed (to its own remembered ones).
    changed()
        After any of the above.
    """

    methodChanged = Signal(str)
    binsChanged = Signal(int)
    scopeChanged = Signal(str)
    paramsChanged = Signal(object)
    changed = Signal()

    def __init__(self, method: str = "numpy", bins: int = 256, scope: str = "image",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._method = get_method(method)
        self._bins = check_bins(bins)
        self._wanted_scope = check_scope(scope)
        self._scope = self._method.check_scope(self._wanted_scope)
        self._params = {}               # method name -> {name: value} set by the user

    @property
    def method(self) -> str:
        """The method's name (the same string as ``histeq --method`` and the API)."""
        return self._method.name

    @property
    def method_spec(self) -> Method:
        """The method's registry entry: its parameters, scopes, hooks."""
        return self._method

    @property
    def bins(self) -> int:
        """The requested number of bins."""
        return self._bins

    @property
    def scope(self) -> str:
        """"image" or "stack"."""
        return self._scope

    @property
    def params(self) -> dict:
        """The current method's parameters set by the user (a new dict; ``bins`` is not one).

        The others take their defaults.  Pass them on as
        ``equalize(..., method=setting.method, bins=setting.bins, **setting.params)``.
        """
        return dict(self._params.get(self._method.name, {}))

    def params_of(self, method: str) -> dict:
        """The parameters set for the method called ``method`` (a new dict), current or not."""
        return dict(self._params.get(get_method(method).name, {}))

    def as_tuple(self) -> tuple:
        """``(method, bins, scope)``."""
        return self.method, self._bins, self._scope

    def set_method(self, method: str) -> None:
        """Pick the method called ``method``; an unknown name raises ValueError.

        Its parameters are the ones last set for it (:attr:`params`); the
        scope follows as the class says.
        """
        spec = get_method(method)
        if spec.name == self._method.name:
            return
        self._method = spec
        scope = self._wanted_scope if self._wanted_scope in spec.scopes else spec.scopes[0]
        self.methodChanged.emit(spec.name)
        if scope != self._scope:
            self._scope = scope
            self.scopeChanged.emit(scope)
        self.paramsChanged.emit(self.params)
        self.changed.emit()

    def set_bins(self, bins: int) -> None:
        """Set the bin count; values outside 1..65536 raise ValueError (the core's range)."""
        bins = check_bins(bins)
        if bins != self._bins:
            self._bins = bins
            self.binsChanged.emit(bins)
            self.changed.emit()

    def set_scope(self, scope: str) -> None:
        """Set the scope ("image" or "stack"); anything else raises ValueError.

        A scope the current method does not have raises ValueError too (one
        line: CLAHE has no "stack" scope).
        """
        scope = self._method.check_scope(check_scope(scope))
        self._wanted_scope = scope
        if scope != self._scope:
            self._scope = scope
            self.scopeChanged.emit(scope)
            self.changed.emit()

    def set_param(self, name: str, value: object) -> None:
        """Set one parameter of the current method (checked by the registry).

        Raises ValueError (one line) for a name the method does not have, or
        a value of the wrong type or out of range; nothing changes then.
        """
        params = self.params
        params.update(check_params(self._method, {name: value}))
        self._store_params(self._method, params)

    def reset_param(self, name: str) -> None:
        """Give parameter ``name`` of the current method its default again."""
        params = self.params
        if name in params:
            del params[name]
            self._store_params(self._method, params)

    def set_params(self, params: Mapping[str, object], method: str | None = None) -> None:
        """Set all the parameters of ``method`` (default: the current one); others: default.

        Raises ValueError (one line) for an unknown name or a bad value;
        nothing changes then.
        """
        spec = self._method if method is None else get_method(method)
        self._store_params(spec, check_params(spec, params))

    def _store_params(self, spec, params):
        if same_params(params, self._params.get(spec.name, {})):
            return
        self._params[spec.name] = params
        if spec.name == self._method.name:
            self.paramsChanged.emit(self.params)
            self.changed.emit()
