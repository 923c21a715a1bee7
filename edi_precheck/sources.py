"""Turn command-line paths into the 837 inputs to read: files, folders, or stdin."""

from __future__ import annotations

import io
import os
import sys
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

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        if self.data is not None:
            yield cast(BinaryIO, _MemoryReader(self.data))
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
            found = sorted(
                child
                for child in path.rglob("*")
                if child.suffix.lower() in EDI_SUFFIXES
                and child.is_file()
                and file_identity(child) not in skipped
            )
            sources.extend(Source(str(child), child) for child in found)
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


def _once(sources: list[Source], on_repeat: Callable[[str, str], None] | None) -> list[Source]:
    """`sources` with each file (and stdin) once, the first name kept."""
    first: dict[object, str] = {}
    kept = []
    for source in sources:
        key: object = file_identity(source.path) if source.path is not None else STDIN_NAME
        if key in first:
            if on_repeat is not None:
                on_repeat(source.name, first[key])
            continue
        first[key] = source.name
        kept.append(source)
    return kept


class _MemoryReader(io.RawIOBase):
    """Read bytes held in memory without copying them whole (io.BytesIO copies its
    initial value): each read copies only the chunk asked for."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        super().__init__()
        self._view = memoryview(data).cast("B")
        self._position = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
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
