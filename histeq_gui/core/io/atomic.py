"""Put outputs into place atomically, one file or several together, and repair killed runs.

Temporary names
---------------
Everything written is first created under a hidden name beside its target
that says which program and which process made it::

    .<stem>-histeq-<kind>-<ns>-<pid>-<token><suffix>
    e.g.  .out-histeq-tmp-3f2a-41337-1a2b3c4d.tif

``kind`` is ``tmp`` (a new output), ``old`` (an output moved aside),
``probe`` (a writability probe), ``journal``/``undo``/``jtmp`` (the commit
journal, below); ``ns`` tags the process namespace (so a process of another
container sharing the folder is never judged by a pid of ours); ``token`` is
random.  A process killed with SIGKILL (or a crash, or a power cut) cannot
clean up, so every run that writes into a folder first calls
:func:`clean_up` on it: names of this pattern, owned by this user, from this
namespace, whose process is gone (no such pid, a zombie, or a pid reused by a
process that started after the file was last written) are removed, and their
interrupted commits finished or undone.  Nothing else is ever touched, and
never what a live process is writing.

The commit protocol
-------------------
:func:`staged` hands out the temporary names; when its block has written
them all, the targets (an output and its sidecar, in ONE folder) change
together:

1. Every new file was written under its temporary name, flushed and fsynced
   (for a PNG folder: every file, then the folder) by its writer.
2. Each target may be replaced (``overwrite`` flags and checks, just before
   moving).
3. Unless the commit is a single rename (one target that is a file, or a
   new folder), a journal naming every move is written as ``jtmp``,
   fsynced, renamed to ``journal``, and the folder fsynced.
4. Target by target: an existing folder, or an existing file that is not
   the last target, is renamed to its ``old`` backup; then the temporary is
   renamed onto the target.  (The last file replaces its target in one
   ``os.replace``.)
5. The folder is fsynced: the new pair is durable.
6. The backups are removed, then the journal; the folder is fsynced.

Steps 2 to 6 run under the folder's commit lock (:func:`folder_lock`), after
the repairs of :func:`clean_up`: two programs writing into one folder commit
one after the other, so of two runs racing to create one new output exactly
one succeeds (the other finds it there, step 2), and two commits of one pair
never interleave.  The lock is the kernel's (``flock``), so a killed process
never leaves it held.

Before the journal exists (3) the targets are the complete old pair; once
the last rename of (4) is done they are the complete new pair.  Two names
cannot be swapped in one atomic step, so between those points a kill leaves
a mixed state, but never an undetected one: the journal is on disk, and the
next :func:`clean_up` of the folder repairs it.  If every temporary has been
moved in, it finishes the commit (6): the new pair.  Otherwise it renames
the journal to ``undo`` (so that the decision survives another kill), then,
last target first, moves a target that was moved in back to its temporary
name and its backup back onto the target: the old pair; then it removes the
temporaries and the journal.  Every step of the repair checks what is there
first, so a repair killed half-way is completed by the next run.  An error
or interruption (Ctrl+C, SIGTERM, a closed generator) during (4) runs the
same repair at once, in the process.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import stat
import threading
import zlib
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:         # Windows: commits in one folder are not serialised
    fcntl = None

from ..errors import StackError
from .files import guard

__all__ = ["staged", "exists", "check_writable", "clean_up", "folder_lock", "commit_log",
           "PROGRAM_TAG"]

PROGRAM_TAG = "histeq"
_KINDS = ("tmp", "old", "probe", "journal", "undo", "jtmp")
_NAME = re.compile(r"\.(?P<stem>.*)-histeq-(?P<kind>[a-z]+)-(?P<ns>[0-9a-f]{4})-"
                   r"(?P<pid>[0-9]{1,10})-(?P<token>[0-9a-f]{8})(?P<suffix>(?:\.[A-Za-z0-9]+)*)",
                   re.DOTALL)
_NAME_MAX = 255         # bytes in one file name on every common file system


def _namespace_tag():
    """Four hex digits naming this process's pid namespace (or host when that is unknown)."""
    try:
        ident = os.readlink("/proc/self/ns/pid")
    except OSError:
        ident = os.uname().nodename if hasattr(os, "uname") else "host"
    return f"{zlib.crc32(ident.encode()) & 0xFFFF:04x}"


_NS = _namespace_tag()


def _step(name):
    """Called between the steps of a commit; tests replace it to inject failures and kills."""


@contextmanager
def staged(targets, overwrite=False):
    """Yield a temporary path per target; at the end move them all into place together.

    Parameters
    ----------
    targets : sequence of str or path-like
        Final paths of files or folders, all in one folder.
    overwrite : bool, callable or sequence of them, optional
        Whether an existing target may be replaced (one for all, or one per
        target), checked just before moving: a bool, or a callable
        ``check(target)`` that raises StackError if the existing target must
        not be replaced.

    Yields
    ------
    list of pathlib.Path
        Unused hidden names beside the targets, with their extensions
        (``out.tif`` -> ``.out-histeq-tmp-3f2a-41337-1a2b3c4d.tif``,
        ``frames`` -> ``.frames-histeq-tmp-3f2a-41337-1a2b3c4d``), for the
        block to create, flush and fsync.

    Raises
    ------
    StackError
        For a target that may not be replaced or a move that fails (the
        targets are then restored); ValueError for targets in different
        folders.

    Notes
    -----
    Before handing out names, :func:`clean_up` repairs the folder after any
    killed run.  When the block ends, the temporaries are moved into place
    by the protocol described in this module's docstring, under the
    folder's commit lock, the targets checked just before: all targets
    change or none, two commits into one folder never interleave, and a
    kill at any point is repaired by the next run.  If the block raises
    (also KeyboardInterrupt, or GeneratorExit when a generator is closed),
    every temporary is removed and the targets are untouched.
    """
    targets = [Path(target) for target in targets]
    folders = {target.parent for target in targets}
    if len(folders) != 1:
        raise ValueError(f"staged targets must share one folder, not {sorted(map(str, folders))}")
    flags = list(overwrite) if isinstance(overwrite, (list, tuple)) else \
        [overwrite] * len(targets)
    folder = targets[0].parent
    with guard(targets[0], "write"):
        clean_up(folder)
    temps = [temp_path(target, "tmp") for target in targets]
    try:
        yield temps
        with guard(targets[0], "write"), folder_lock(folder):
            _clean_up(folder)   # a run killed while we were writing: repaired before judging
            for target, flag in zip(targets, flags):
                if callable(flag):
                    flag(target)
                elif not flag and exists(target):
                    raise StackError(f"'{target}' exists; pass --overwrite to replace it")
            _commit(temps, targets)
    finally:
        for temp in temps:      # none is left after the moves
            _remove(temp)


def temp_path(path, kind):
    """An unused hidden name beside ``path`` with its extension (see the module docstring).

    The stem is shortened if needed so that the name fits in 255 bytes.
    """
    path = Path(path)
    tail = f"-{PROGRAM_TAG}-{kind}-{_NS}-{os.getpid()}-{secrets.token_hex(4)}{path.suffix}"
    room = _NAME_MAX - 1 - len(os.fsencode(tail))
    stem = os.fsdecode(os.fsencode(path.stem.lstrip("."))[:max(room, 0)])
    return path.parent / f".{stem}{tail}"


def check_writable(target):
    """Raise a one-line StackError unless new files can be created beside ``target``.

    A hidden probe file (kind ``probe``) is created in the target's folder
    and removed: this also works where permission bits do not tell (root,
    a read-only file system, access control lists).
    """
    with guard(target, "write"):
        probe = temp_path(target, "probe")
        with open(probe, "xb"):
            pass
        probe.unlink()


def exists(path):
    """True if anything is at ``path``, a dangling symbolic link included."""
    path = Path(path)
    return path.exists() or path.is_symlink()


def _remove(path):
    """Remove a file or folder of ours if it is there, as far as possible.

    Best effort: what cannot be removed (a read-only file system, a folder
    without write permission) stays, and the next :func:`clean_up` tries
    again; the error that brought us here, if any, is the one to report.
    """
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass


def sync_folder(folder):
    """Fsync a folder, so that renames and new names in it are on disk."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return                  # e.g. Windows: folders cannot be opened; nothing to do
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


# --- serialising commits ------------------------------------------------------------------

_LOCK_FILE = f".{PROGRAM_TAG}-commit.lock"     # only where a folder cannot be locked itself
_held = threading.local()                       # folders whose lock this thread holds


@contextmanager
def folder_lock(folder):
    """Hold the commit lock of ``folder`` while the block runs: one commit (or repair) at a time.

    Every commit and repair of this module runs under it (see the module
    docstring), so that no two of them, in this process or in any other
    running this program, touch one folder at once.  It is ``flock`` on the
    folder itself, which the kernel releases when its process dies, so a
    killed run never leaves it held; where a folder cannot be locked (some
    network file systems), ``flock`` on a hidden lock file in it,
    ``.histeq-commit.lock``, removed by the holder when it is done (a
    leftover of a killed holder is reused by the next commit).
    Where neither works (Windows, a folder that cannot be opened), commits
    are not serialised.  The lock is re-entrant within a thread.

    Parameters
    ----------
    folder : str or path-like

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder, folder_lock(folder):
    ...     with folder_lock(folder):       # the same thread: already held
    ...         pass
    """
    key = os.path.realpath(folder)
    held = _held.__dict__.setdefault("folders", set())
    if fcntl is None or key in held:
        yield
        return
    release = _lock_folder(Path(folder))
    held.add(key)
    try:
        yield
    finally:
        held.discard(key)
        release()


def _lock_folder(folder):
    """Take ``folder``'s lock (waiting for it); return the function that releases it."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
    except OSError:
        fd = None
    if fd is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return lambda: os.close(fd)
        except OSError:
            os.close(fd)
        except BaseException:           # e.g. Ctrl+C while waiting
            os.close(fd)
            raise
    return _lock_file(folder / _LOCK_FILE)


def _lock_file(path):
    """Take the lock of the lock file ``path``; return the function that releases it.

    The holder removes the file before releasing it, so a process that
    locked the file meanwhile finds it gone (or another file there) and
    tries again with the new one.
    """
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC |
                         getattr(os, "O_NOFOLLOW", 0), 0o666)
        except OSError:
            return lambda: None         # not even a file: no lock to be had here
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            now = os.stat(path, follow_symlinks=False)
            mine = os.fstat(fd)
            if (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
                break
        except OSError:
            pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)

    def release():
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)
    return release


_logs = []      # the sets of the open commit_log blocks


@contextmanager
def commit_log():
    """Collect the targets whose commit, made while the block runs, reached its last move.

    Yields
    ------
    set of str
        Absolute paths of targets (every target of a commit together),
        added just before the move that completes their commit: from then
        on the new files are in place unless that rename fails (an error
        raised as such).  A command that must not report a finished output
        as interrupted ignores a signal once its outputs are here.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder, commit_log() as log:
    ...     with staged([os.path.join(folder, "a.txt")]) as (temp,):
    ...         _ = temp.write_text("hello")
    ...     sorted(os.path.basename(path) for path in log)
    ['a.txt']
    """
    log = set()
    _logs.append(log)
    try:
        yield log
    finally:
        _logs.remove(log)


def _log(targets):
    for log in list(_logs):
        log.update(os.path.abspath(target) for target in targets)


# --- the commit --------------------------------------------------------------------------

def _commit(temps, targets):
    """Steps 3 to 6 of the protocol (module docstring)."""
    folder = targets[0].parent
    moves = []
    for i, (temp, target) in enumerate(zip(temps, targets)):
        existed = exists(target)
        aside = existed and (temp.is_dir() or i < len(targets) - 1)
        moves.append({"target": target.name, "temp": temp.name, "existed": existed,
                      "backup": temp_path(target, "old").name if aside else None})
    if len(moves) == 1 and moves[0]["backup"] is None:
        _log(targets)
        os.replace(temps[0], targets[0])        # one rename: atomic by itself
        _step("moved 0")
        sync_folder(folder)
        return
    journal = _write_journal(folder, targets[0], moves)
    try:
        _step("journal")
        for i, move in enumerate(moves):
            if move["backup"] is not None:
                os.replace(folder / move["target"], folder / move["backup"])
                _step(f"aside {i}")
            if i == len(moves) - 1:
                _log(targets)
            os.replace(folder / move["temp"], folder / move["target"])
            _step(f"moved {i}")
        sync_folder(folder)
        _step("synced")
    except BaseException:
        _repair(folder, journal, moves)
        raise
    try:
        _finish(folder, journal, moves)
    except BaseException:       # e.g. Ctrl+C just now: the new pair is in place, tidy up
        _finish(folder, journal, moves)
        raise


def _write_journal(folder, first_target, moves):
    journal = temp_path(first_target, "journal").with_suffix(".json")
    draft = journal.with_name(journal.name.replace(f"-{PROGRAM_TAG}-journal-",
                                                   f"-{PROGRAM_TAG}-jtmp-"))
    text = json.dumps({"program": "histeq-gui", "pid": os.getpid(), "moves": moves})
    with open(draft, "xb") as fh:
        fh.write(text.encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.replace(draft, journal)
    except BaseException:
        _remove(draft)
        raise
    sync_folder(folder)
    return journal


def _finish(folder, journal, moves):
    """Step 6: drop the backups, then the journal."""
    for move in moves:
        if move["backup"] is not None:
            _remove(folder / move["backup"])
    _step("finished")
    _remove(journal)
    sync_folder(folder)


def _repair(folder, journal, moves):
    """Finish a commit whose every temporary was moved in; otherwise put the old targets back."""
    if not any(exists(folder / move["temp"]) for move in moves) and \
            f"-{PROGRAM_TAG}-journal-" in journal.name:
        _finish(folder, journal, moves)
        return
    if f"-{PROGRAM_TAG}-journal-" in journal.name:        # decide once: undo
        undo = journal.with_name(journal.name.replace(f"-{PROGRAM_TAG}-journal-",
                                                      f"-{PROGRAM_TAG}-undo-"))
        os.replace(journal, undo)
        sync_folder(folder)
        journal = undo
        _step("undo")
    for i in reversed(range(len(moves))):
        move = moves[i]
        target, temp = folder / move["target"], folder / move["temp"]
        backup = None if move["backup"] is None else folder / move["backup"]
        moved_in = not exists(temp)
        if backup is not None and exists(backup):
            if exists(target) and moved_in:
                os.replace(target, temp)            # the new one goes back to its temp name
            os.replace(backup, target)
        elif backup is None and not move["existed"] and moved_in and exists(target):
            os.replace(target, temp)
        _step(f"restored {i}")
    sync_folder(folder)
    for move in moves:
        _remove(folder / move["temp"])
    _step("temps removed")
    _remove(journal)
    sync_folder(folder)


# --- cleaning up after killed runs --------------------------------------------------------

def _process_started(pid):
    """(state letter, start time in seconds since the epoch) of ``pid`` from /proc, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith(b"btime"))
        return fields[0].decode(), boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _process_gone(pid, written):
    """True if the process ``pid`` that wrote a file last modified at ``written`` is gone."""
    if os.name != "posix":
        return False        # no safe way to ask here: never judge
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass                # it exists, as another user
    except OSError:
        return False
    started = _process_started(pid)
    if started is None:
        return False
    state, since = started
    # A zombie is dead; a process that started after the file was last written is not
    # the one that wrote it (the pid was reused).  Boot time is in whole seconds: 2 s slack.
    return state in ("Z", "X") or since > written + 2


def _stale(folder):
    """[(kind, path, pid)] of this program's names in ``folder`` whose process is gone."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    found = []
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        match = _NAME.fullmatch(entry.name)
        if match is None or match["ns"] != _NS or match["kind"] not in _KINDS:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if uid is not None and info.st_uid != uid:
            continue
        pid = int(match["pid"])
        if _process_gone(pid, info.st_mtime):
            found.append((match["kind"], Path(entry.path), pid))
    return found


def _read_journal(path, pid):
    """The moves of a journal, or None unless it is a valid journal of process ``pid``."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 1 << 20:
            return None
        data = json.loads(path.read_bytes())
        moves = data["moves"]
        if data.get("program") != "histeq-gui" or data.get("pid") != pid or not moves:
            return None
        for move in moves:
            names = [move["target"], move["temp"]] + \
                ([] if move["backup"] is None else [move["backup"]])
            if not all(isinstance(name, str) and name not in ("", ".", "..")
                       and "/" not in name and os.sep not in name for name in names):
                return None
            for name, kind in ((move["temp"], "tmp"), (move["backup"], "old")):
                match = None if name is None else _NAME.fullmatch(name)
                if name is not None and (match is None or match["kind"] != kind
                                         or int(match["pid"]) != pid or match["ns"] != _NS):
                    return None
            if not isinstance(move["existed"], bool):
                return None
        return moves
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clean_up(folder):
    """Repair ``folder`` after runs of this program that were killed while writing into it.

    Interrupted commits are finished or undone (see the module docstring),
    then leftover temporaries and probes are removed.  Only names of this
    program's pattern, owned by this user, whose process is gone, are
    touched; a journal that does not read as this program's is left alone,
    and so are its files.

    Parameters
    ----------
    folder : str or path-like

    Returns
    -------
    list of pathlib.Path
        What was removed or repaired (journals, temporaries), for logging.

    Examples
    --------
    >>> clean_up("/nonexistent-folder")
    []
    """
    folder = Path(folder)
    if not _stale(folder):
        return []
    with folder_lock(folder):
        return _clean_up(folder)


def _clean_up(folder):
    """:func:`clean_up`'s work, under the folder's lock.

    It looks again: another run may have repaired the folder meanwhile.
    """
    stale = _stale(folder)
    done, kept = [], set()
    for kind, path, pid in stale:
        if kind in ("journal", "undo"):
            moves = _read_journal(path, pid)
            if moves is None:
                kept.add(pid)       # not ours after all, or damaged: touch nothing of it
                continue
            _repair(folder, path, moves)
            done.append(path)
    for kind, path, pid in stale:
        if kind in ("tmp", "probe", "jtmp") and pid not in kept and exists(path):
            _remove(path)
            done.append(path)
    if done:
        sync_folder(folder)
    return done


@contextmanager
def new_file(path, target, progress=None):
    """Create the file ``path`` for writing; flush it to disk when the block ends."""
    with guard(target, "write", progress=progress), open(path, "xb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
