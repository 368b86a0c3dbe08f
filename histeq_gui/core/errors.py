"""Exceptions shared by the core, the command line and the viewer."""

import re
import unicodedata

__all__ = ["StackError", "KeyNeeded", "Cancelled", "first_line", "printable"]

# Characters that could reorder or hide what a terminal shows (bidirectional controls).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                  "\u2066\u2067\u2068\u2069")


def printable(text):
    r"""``text`` with control characters escaped, repr-style, so that it is safe to print.

    Names taken from files (archive members, folder entries, paths) may hold
    terminal escape sequences, new lines or bidirectional controls; they are
    shown as ``\x1b``, ``\n``, ``\u202e``.  Bytes that were not valid
    UTF-8 in a file name (Python's surrogate escapes) are shown as the
    original byte, ``\xff``, instead of failing to print.

    Examples
    --------
    >>> print(printable("evil\x1b[2J\nname.npy"))
    evil\x1b[2J\nname.npy
    >>> printable("caf\u00e9 \u2192 ok")
    'café → ok'
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:                    # an undecodable byte of a file name
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ch in _BIDI:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


class StackError(ValueError):
    """A file or array that cannot be used, with a one-line message for the user.

    The message says what is wrong and what to do; front ends print it as is
    (the CLI on stderr, the viewer in a message box) without a traceback.
    Control characters in it (from names taken from files) are escaped by
    ``printable``, so it is always one printable line.
    """

    def __init__(self, message="", *args):
        super().__init__(printable(str(message)), *args)


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
