"""Turn command-line paths into the 837 inputs to read: files, folders, or stdin."""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

# Suffixes a folder is searched for (any case); a file named directly is read whatever
# its name.
EDI_SUFFIXES = frozenset({".837", ".x12", ".edi", ".txt", ".dat"})
STDIN_NAME = "-"


class SourceError(Exception):
    """A path that names nothing to read; the run cannot proceed (exit 2)."""


@dataclass(frozen=True, slots=True)
class Source:
    """One input: `name` is what reports show; read from `path`, from `data`, or stdin.
    Its repr names it and its size, never its content (claims)."""

    name: str
    path: Path | None
    data: bytes | bytearray | memoryview | None = field(default=None, repr=False)
    # Why a folder search's entry is not opened (a FIFO would wait for a writer): reading
    # it then fails with this reason, which the reader reports (x12.unreadable).
    refused: str = ""
    # For bytes in memory: the time (time.monotonic) after which reading them stops, so
    # that a check its caller gave up on (the service's timeout) frees its worker.
    deadline: float | None = None

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        if self.refused:
            raise OSError(errno.EINVAL, self.refused)
        if self.data is not None:
            yield cast(BinaryIO, _MemoryReader(self.data, self.deadline))
        elif self.path is None:
            yield sys.stdin.buffer
        else:
            with self.path.open("rb") as stream:
                yield stream


def file_identity(path: Path) -> tuple[int, int] | None:
    """The file `path` names, whatever the name (a link, a hard link, a folder's child):
    its device and inode; None when it does not exist."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def expand(
    arguments: list[str],
    skip: Iterable[Path] = (),
    on_repeat: Callable[[str, str], None] | None = None,
) -> list[Source]:
    """Every file an argument names: a file as is, a folder's EDI files recursively.

    A folder search passes over `skip`, the files the run itself writes (a report.txt
    left in the folder by yesterday's run is not an input). A file named again (twice,
    as a file and in its folder, through a link) is read once: its claims would otherwise
    be checked, and split, twice; `on_repeat(name, first name)` hears of each.
    """
    skipped = {identity for path in skip if (identity := file_identity(path)) is not None}
    sources: list[Source] = []
    for argument in arguments:
        if argument == STDIN_NAME:
            sources.append(Source(STDIN_NAME, None))
            continue
        path = Path(argument)
        if path.is_dir():
            sources.extend(_searched(path, skipped))
        elif path.exists():
            sources.append(Source(argument, path))
        else:
            raise SourceError(f"no such file or folder: {argument}")
    sources = _once(sources, on_repeat)
    if not sources:
        raise SourceError(
            "no 837 files to read (folders are searched for "
            + ", ".join(sorted(EDI_SUFFIXES))
            + ")"
        )
    return sources


def _searched(folder: Path, skipped: set[tuple[int, int]]) -> list[Source]:
    """The EDI files of a folder and its subfolders, linked ones included (each folder
    once: a link back up does not loop), in name order. An entry with an EDI name that is
    not a file to read (a link to nothing, a FIFO), and a folder that cannot be listed, are
    kept, to be reported, not dropped: a gate must not pass a batch it never read."""
    found: list[Source] = []
    seen_folders: set[tuple[int, int]] = set()

    def unlisted(error: OSError) -> None:  # a subfolder it may not read: said, not skipped
        name = str(error.filename or folder)
        reason = f"it is a folder that cannot be listed ({error.strerror or error})"
        found.append(Source(name, Path(name), refused=reason))

    for top, folders, files in os.walk(folder, onerror=unlisted, followlinks=True):
        identity = file_identity(Path(top))
        if identity in seen_folders:
            folders[:] = []
            continue
        if identity is not None:
            seen_folders.add(identity)
        folders.sort()
        for name in files:
            child = Path(top) / name
            if child.suffix.lower() not in EDI_SUFFIXES:
                continue
            try:
                mode = os.stat(child).st_mode
            except OSError:
                found.append(Source(str(child), child))  # the reader says why (a dead link)
                continue
            if not stat.S_ISREG(mode):
                found.append(Source(str(child), child, refused=_not_a_file(mode)))
            elif file_identity(child) not in skipped:
                found.append(Source(str(child), child))
    return sorted(found, key=lambda source: source.name)


def _not_a_file(mode: int) -> str:
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"it is {kind}, not a regular file, so a folder search does not open it"


def _once(sources: list[Source], on_repeat: Callable[[str, str], None] | None) -> list[Source]:
    """`sources` with each file (and stdin) once, the first name kept."""
    first: dict[object, str] = {}
    kept = []
    for source in sources:
        key: object = file_identity(source.path) if source.path is not None else STDIN_NAME
        if key is None:  # nothing there (a link to nothing): each is reported by its name
            key = ("missing", source.name)
        if key in first:
            if on_repeat is not None:
                on_repeat(source.name, first[key])
            continue
        first[key] = source.name
        kept.append(source)
    return kept


def past(deadline: float | None) -> bool:
    """Whether `deadline` (time.monotonic; None: none) has passed."""
    return deadline is not None and time.monotonic() > deadline


class _MemoryReader(io.RawIOBase):
    """Read bytes held in memory without copying them whole (io.BytesIO copies its
    initial value): each read copies only the chunk asked for."""

    def __init__(self, data: bytes | bytearray | memoryview, deadline: float | None = None) -> None:
        super().__init__()
        self._view = memoryview(data).cast("B")
        self._position = 0
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if past(self._deadline):
            raise TimeoutError(errno.ETIMEDOUT, "the time given to this check ran out")
        end = len(self._view) if size is None or size < 0 else self._position + size
        chunk = self._view[self._position : end].tobytes()
        self._position += len(chunk)
        return chunk

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        origin = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}
        self._position = max(0, origin[whence] + offset)
        return self._position
