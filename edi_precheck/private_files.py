"""Folders and files only this user controls: where derived data and state are kept.

What the cache says is believed without checking again (a policy text passed the schema; the
ICD-10-CM code list), and the state decides which control numbers are drawn. So neither may
come from a folder someone else can write to, nor from something that is not a plain file:
a FIFO blocks the run forever, a device or a huge file eats its memory, a link points
anywhere. A folder here is trusted when it belongs to this user and no one else may write
to it; a file, when it is a regular file in such a folder, owned by this user, not writable
by others and no larger than its kind ever is.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

STATE_ENV = "EDI_PRECHECK_STATE"

# Written by group or others: anyone with that access could plant what we believe.
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


class UntrustedPath(Exception):
    """A folder or file that someone else controls, or that is not a plain file."""


def state_dir() -> Path:
    """Where state that must outlive a run is kept (control-number counters, the history's
    site key): $EDI_PRECHECK_STATE, else $XDG_STATE_HOME/edi-precheck, else
    ~/.local/state/edi-precheck."""
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "edi-precheck"


def _owner_problem(status: os.stat_result) -> str | None:
    if hasattr(os, "getuid") and status.st_uid != os.getuid():
        return f"belongs to user {status.st_uid}, not to this user ({os.getuid()})"
    if status.st_mode & _OTHERS_WRITE:
        return f"is writable by others (mode {stat.S_IMODE(status.st_mode):o})"
    return None


def private_folder(path: Path) -> Path:
    """`path`, made (mode 0700) when missing, after checking that only this user can
    write to it. Raises UntrustedPath when another user owns it or others may write to
    it, OSError when it cannot be made."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = path.stat()  # a link to a folder of one's own (~/.cache elsewhere) is fine
    if not stat.S_ISDIR(status.st_mode):
        raise UntrustedPath(f"{path} is not a folder")
    problem = _owner_problem(status)
    if problem:
        raise UntrustedPath(f"{path} {problem}")
    return path


def open_private(path: Path, create: bool = False) -> int:
    """A descriptor of `path` open for reading (and writing, made 0600 when missing, with
    `create`), after checking that it is a regular file of this user's that others cannot
    write to. Never follows a link, never blocks on a FIFO. Raises UntrustedPath, or
    OSError when it cannot be opened."""
    flags = os.O_RDWR | os.O_CREAT if create else os.O_RDONLY
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    descriptor = os.open(path, flags, 0o600)
    status = os.fstat(descriptor)
    problem = None
    if not stat.S_ISREG(status.st_mode):
        problem = "is not a file of this user's but a FIFO, a device or a folder"
    problem = problem or _owner_problem(status)
    if problem:
        os.close(descriptor)
        raise UntrustedPath(f"{path} {problem}")
    return descriptor


def read_private(path: Path, limit: int) -> str | None:
    """The text of `path` when it is a trusted regular file (`open_private`) of at most
    `limit` bytes, else None: missing, a link, a FIFO or device, someone else's, writable
    by others, too large, or not UTF-8. Never blocks, never reads more than `limit` bytes."""
    try:
        descriptor = open_private(path)
    except (UntrustedPath, OSError):
        return None
    with os.fdopen(descriptor, "rb") as handle:
        if os.fstat(descriptor).st_size > limit:
            return None
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew while read
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
