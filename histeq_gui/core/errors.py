"""Exceptions shared by the core, the command line and the viewer."""

__all__ = ["StackError", "Cancelled"]


class StackError(ValueError):
    """A file or array that cannot be used, with a one-line message for the user.

    The message says what is wrong and what to do; front ends print it as is
    (the CLI on stderr, the viewer in a message box) without a traceback.
    """


class Cancelled(Exception):
    """Raised inside a long job when the user asked to stop it."""
