"""Exceptions shared by the core, the command line and the viewer."""

import re

__all__ = ["StackError", "KeyNeeded", "Cancelled", "first_line"]


class StackError(ValueError):
    """A file or array that cannot be used, with a one-line message for the user.

    The message says what is wrong and what to do; front ends print it as is
    (the CLI on stderr, the viewer in a message box) without a traceback.
    """


class KeyNeeded(StackError):
    """An ``.npz`` file holds several arrays and none was chosen.

    Attributes
    ----------
    keys : list of str
        The names of the arrays, for a front end to offer.
    """

    def __init__(self, message, keys):
        super().__init__(message)
        self.keys = list(keys)


class Cancelled(Exception):
    """Raised inside a long job when the user asked to stop it."""


def first_line(error, limit=200):
    """The first line of an exception's message, without terminal colours, at most ``limit``."""
    lines = str(error).strip().splitlines()
    text = re.sub(r"\x1b\[[0-9;]*m", "", lines[0]).strip() if lines else ""
    text = text or type(error).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."
