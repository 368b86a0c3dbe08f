"""What the viewer remembers between runs: geometry, layout, folders, settings, recent files.

:class:`Preferences` wraps a :class:`QSettings`; tests hand it one that
writes to a temporary file, and ``--screenshot`` runs use no file at all so
their pictures never depend on what a user did before.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from PyQt5.QtCore import QByteArray, QSettings

__all__ = ["Preferences", "MAX_RECENT"]

MAX_RECENT = 10

log = logging.getLogger(__name__)


_DISPLAY = (("levels", lambda s: s.set_levels_mode, str),
            ("eq_levels", lambda s: s.set_eq_levels_mode, str),
            ("saturated", lambda s: s.set_saturated, float),
            ("hist_range", lambda s: s.set_hist_range, str),
            ("log_counts", lambda s: s.set_log_counts, bool),
            ("link_histograms", lambda s: s.set_link_histograms, bool),
            ("eq_scale", lambda s: s.set_eq_scale, str))


def _typed(value, kind):
    """A value read back from QSettings (INI files give strings) as ``kind``."""
    if kind is bool:
        if isinstance(value, str):
            if value.lower() not in ("true", "false"):
                raise ValueError(f"not a yes/no value: {value!r}")
            return value.lower() == "true"
        return bool(value)
    if kind is float:
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"not a name: {value!r}")
    return value


class Preferences:
    """Typed access to the viewer's settings.

    Parameters
    ----------
    settings : QSettings or None
        Where to keep them; None keeps them in memory only (nothing is read
        or written).
    """

    def __init__(self, settings=None):
        self._settings = settings
        self._memory = {}

    @classmethod
    def for_user(cls):
        """The user's own settings (organization and application "histeq-gui")."""
        return cls(QSettings("histeq-gui", "histeq-gui"))

    @classmethod
    def from_file(cls, path):
        """Settings kept in the INI file ``path``."""
        return cls(QSettings(str(path), QSettings.IniFormat))

    # ------------------------------------------------------------------ raw access
    def _get(self, key, default=None):
        if self._settings is None:
            return self._memory.get(key, default)
        return self._settings.value(key, default)

    def _set(self, key, value):
        if self._settings is None:
            self._memory[key] = value
        else:
            self._settings.setValue(key, value)

    def location(self):
        """The settings file, or None when nothing is stored."""
        return None if self._settings is None else self._settings.fileName()

    def sync(self):
        """Write pending changes to disk."""
        if self._settings is not None:
            self._settings.sync()

    # ------------------------------------------------------------------ the view's settings
    def restore_view(self, state):
        """Set the remembered method, its parameters, bins, scope and display choices on ``state``.

        Every method's parameters are remembered (:meth:`params`), so each
        comes back as it was left.
        The display choices are the levels (mode and saturated percent; manual
        numbers belong to one stack and are not kept; the equalized image's
        mode), the histograms' x
        range, log counts, linked axes and the equalized scale.  A remembered
        value that is no longer valid is skipped (and logged).
        """
        from ..core.methods import METHODS

        for name in METHODS:                        # each method's own parameters
            params = self.params(name)
            if params:
                try:
                    state.set_params(params, method=name)
                except ValueError:
                    log.warning("ignoring remembered %s parameters that are no longer valid",
                                name)
        for setter, remembered in ((state.set_method, self.method), (state.set_bins, self.bins),
                                   (state.set_scope, self.scope)):
            try:
                setter(remembered())
            except ValueError:
                log.warning("ignoring a remembered setting that is no longer valid")
        for key, setter, kind in _DISPLAY:
            value = self._get(f"display/{key}")
            if value is None:
                continue
            try:
                setter(state)(_typed(value, kind))
            except (TypeError, ValueError):
                log.warning("ignoring a remembered display setting that is no longer valid")

    def follow(self, state):
        """Remember the method, its parameters, bins, scope and display choices when they change."""
        state.methodChanged.connect(self.set_method)
        state.paramsChanged.connect(lambda params: self.set_params(state.method, params))
        state.binsChanged.connect(self.set_bins)
        state.scopeChanged.connect(self.set_scope)
        state.levelsChanged.connect(lambda: self.remember_display(state))
        state.displayChanged.connect(lambda: self.remember_display(state))

    def remember_display(self, state):
        """Keep the display choices of ``state`` (see :meth:`restore_view`)."""
        mode = state.levels_mode
        self._set("display/levels", mode if mode != "manual" else "auto")
        self._set("display/eq_levels", state.eq_levels_mode)
        self._set("display/saturated", float(state.saturated))
        self._set("display/hist_range", state.hist_range)
        self._set("display/log_counts", bool(state.log_counts))
        self._set("display/link_histograms", bool(state.link_histograms))
        self._set("display/eq_scale", state.eq_scale)

    # ------------------------------------------------------------------ typed values
    def method(self, default="numpy"):
        """The remembered method name."""
        value = self._get("view/method", default)
        return value if isinstance(value, str) else default

    def set_method(self, method):
        """Remember the method."""
        self._set("view/method", str(method))

    def params(self, method):
        """The parameters remembered for ``method``: ``{name: value}`` (empty if none).

        Numbers and words are kept as they are, a reference file as its path
        (:class:`pathlib.Path`); values that cannot be kept (an image array
        given through the API) are not remembered.
        """
        try:
            items = json.loads(self._get(f"params/{method}", "{}") or "{}")
        except (TypeError, ValueError):
            return {}
        if not isinstance(items, dict):
            return {}
        out = {}
        for name, value in items.items():
            if isinstance(value, dict) and isinstance(value.get("path"), str):
                out[name] = Path(value["path"])
            elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
                out[name] = value
        return out

    def set_params(self, method, params):
        """Remember the parameters of ``method`` (those that can be kept, see :meth:`params`)."""
        kept = {}
        for name, value in params.items():
            if isinstance(value, Path):
                kept[name] = {"path": str(value)}
            elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
                kept[name] = value
        self._set(f"params/{method}", json.dumps(kept))

    def bins(self, default=256):
        """The remembered bin count."""
        try:
            return int(self._get("view/bins", default))
        except (TypeError, ValueError):
            return default

    def set_bins(self, bins):
        """Remember the bin count."""
        self._set("view/bins", int(bins))

    def scope(self, default="image"):
        """The remembered scope."""
        value = self._get("view/scope", default)
        return value if isinstance(value, str) else default

    def set_scope(self, scope):
        """Remember the scope."""
        self._set("view/scope", str(scope))

    def _folder(self, *keys):
        for key in keys:
            value = self._get(key, "")
            path = Path(value) if isinstance(value, str) and value else None
            if path is not None and path.is_dir():
                return path
        return Path.home()

    def last_data_folder(self):
        """Where the last stack was opened from (Open starts there), or the home folder."""
        return self._folder("files/last_data_folder", "files/last_folder")

    def set_last_data_folder(self, folder):
        """Remember the folder of the last stack opened."""
        self._set("files/last_data_folder", str(folder))

    def last_export_folder(self):
        """Where the last export went, else the last data folder, else the home folder."""
        return self._folder("files/last_export_folder", "files/last_data_folder",
                            "files/last_folder")

    def export_folder(self):
        """The folder the last export went to, if one was remembered and still exists; else None.

        The dialogs that write files propose it (Fiji's "last directory"),
        instead of the stack's own folder.
        """
        value = self._get("files/last_export_folder", "")
        path = Path(value) if isinstance(value, str) and value else None
        return path if path is not None and path.is_dir() else None

    def set_last_export_folder(self, folder):
        """Remember the folder of the last export."""
        self._set("files/last_export_folder", str(folder))

    def fps(self, default=None):
        """The remembered playback speed (images per second), or ``default``."""
        try:
            return int(self._get("view/fps", default))
        except (TypeError, ValueError):
            return default

    def set_fps(self, fps):
        """Remember the playback speed."""
        self._set("view/fps", int(fps))

    def recent_files(self):
        """Recently opened files and folders, newest first."""
        try:
            items = json.loads(self._get("files/recent", "[]") or "[]")
        except (TypeError, ValueError):
            return []
        return [str(p) for p in items if isinstance(p, str)][:MAX_RECENT]

    def add_recent(self, path):
        """Put ``path`` first in the recent files (at most MAX_RECENT)."""
        path = str(Path(path).resolve())
        items = [path] + [p for p in self.recent_files() if p != path]
        self._set("files/recent", json.dumps(items[:MAX_RECENT]))

    def clear_recent(self):
        """Forget the recent files."""
        self._set("files/recent", "[]")

    def geometry(self):
        """The saved window geometry, or None."""
        value = self._get("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, geometry):
        """Remember the window geometry."""
        self._set("window/geometry", geometry)

    def window_state(self):
        """The saved dock and toolbar state, or None."""
        value = self._get("window/state")
        return value if isinstance(value, QByteArray) else None

    def set_window_state(self, state):
        """Remember the dock and toolbar state."""
        self._set("window/state", state)
