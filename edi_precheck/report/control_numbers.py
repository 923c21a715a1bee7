"""Interchange and group control numbers that a sender never reuses.

Receivers reject an interchange whose control number (ISA13) they have seen from the same
sender, and many check group numbers (GS06) too. So each number `split` writes is drawn
from a counter per sender (ISA05:ISA06) kept in a state file, read and advanced under a
lock, so that hooks running side by side never draw the same number. The counter is state,
not cache: it lives in `$EDI_PRECHECK_STATE`, else `$XDG_STATE_HOME/edi-precheck`, else
`~/.local/state/edi-precheck`; removing it would let numbers be reused. With a history
store (`split --history`), the counters are the store's, shared by every server using it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from edi_precheck.history.store import HistoryStore
from edi_precheck.private_files import (
    STATE_ENV,
    UntrustedPath,
    open_private,
    private_folder,
    state_dir,
)
from edi_precheck.x12 import LARGEST_CONTROL_NUMBER

COUNTERS_FILE = "control-numbers.json"


class ControlNumberError(Exception):
    """The counter cannot be kept: the run must not write numbers it may reuse."""


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[IO[str]]:
    """The counters file, open for update under an exclusive lock. It must be a plain file
    of this user's in a folder no one else can write to (private_files): numbers drawn
    from a counter someone else can set could repeat."""
    try:
        private_folder(path.parent)
        descriptor = open_private(path, create=True)
    except (UntrustedPath, OSError) as error:
        reason = str(error) if isinstance(error, UntrustedPath) else error.strerror
        raise ControlNumberError(
            f"cannot keep control numbers in {path}: {reason}; set {STATE_ENV} to a "
            "folder of your own, or move the file aside"
        ) from None
    handle = os.fdopen(descriptor, "r+", encoding="utf-8")
    with handle:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - no POSIX locks (Windows): one run at a time
            pass
        handle.seek(0)
        yield handle


class NumberSource(Protocol):
    """Where a split's outputs draw their control numbers."""

    def next(self, sender: str) -> int:
        """The next number for `sender`, never drawn before."""


class ControlNumbers:
    """Draw control numbers per sender. `start`, when given, is the first number drawn;
    the sender's counter goes on from there."""

    def __init__(self, start: int | None = None, folder: Path | None = None) -> None:
        self._path = (folder or state_dir()) / COUNTERS_FILE
        self._start = start

    def last(self, sender: str) -> int:
        """The last number drawn for `sender` here (0: none)."""
        with _locked(self._path) as handle:
            return int(self._counters(handle).get(sender, 0))

    def _counters(self, handle: IO[str]) -> dict[str, int]:
        try:
            text = handle.read()
            counters = json.loads(text) if text.strip() else {}
            if not isinstance(counters, dict) or not all(
                type(value) is int for value in counters.values()
            ):
                raise ValueError("not counters")
        except ValueError:  # not UTF-8, not JSON, or not {sender: number}
            raise ControlNumberError(
                f"{self._path} is not the control-number file this tool writes; move it "
                "aside only if you are sure no number it holds will be reused"
            ) from None
        return counters

    def next(self, sender: str) -> int:
        with _locked(self._path) as handle:
            counters = self._counters(handle)
            if self._start is not None:
                number, self._start = self._start, None
            else:
                number = int(counters.get(sender, 0)) % LARGEST_CONTROL_NUMBER + 1
            counters[sender] = number
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(counters, indent=1, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return number


class SharedControlNumbers:
    """Control numbers drawn from the history store's counters, which every server sharing
    the store draws from (a state file is one machine's): a sender new to the store goes
    on from this machine's counter, so no number it drew is drawn again."""

    def __init__(self, store: HistoryStore, start: int | None = None) -> None:
        self._store = store
        self._start = start
        self._local = ControlNumbers()

    def next(self, sender: str) -> int:
        start, self._start = self._start, None
        try:
            seed = self._local.last(sender)
        except ControlNumberError:
            seed = 0  # an unreadable local counter: the store's is the one in use
        return self._store.next_control_number(sender, start, seed)
