"""Turn command-line paths into the 837 inputs to read: files, folders, or stdin."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Suffixes a folder is searched for (any case); a file named directly is read whatever
# its name.
EDI_SUFFIXES = frozenset({".837", ".x12", ".edi", ".txt", ".dat"})
STDIN_NAME = "-"


class SourceError(Exception):
    """A path that names nothing to read; the run cannot proceed (exit 2)."""


@dataclass(frozen=True, slots=True)
class Source:
    """One input: `name` is what reports show; read from `path`, from `data`, or stdin."""

    name: str
    path: Path | None
    data: bytes | None = None

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        if self.data is not None:
            yield io.BytesIO(self.data)
        elif self.path is None:
            yield sys.stdin.buffer
        else:
            with self.path.open("rb") as stream:
                yield stream


def expand(arguments: list[str], skip: Iterable[Path] = ()) -> list[Source]:
    """Every file an argument names: a file as is, a folder's EDI files recursively.

    A folder search passes over `skip`, the files the run itself writes (a report.txt
    left in the folder by yesterday's run is not an input).
    """
    skipped = {path.resolve() for path in skip}
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
                and child.resolve() not in skipped
            )
            sources.extend(Source(str(child), child) for child in found)
        elif path.exists():
            sources.append(Source(argument, path))
        else:
            raise SourceError(f"no such file or folder: {argument}")
    if not sources:
        raise SourceError(
            "no 837 files to read (folders are searched for "
            + ", ".join(sorted(EDI_SUFFIXES))
            + ")"
        )
    return sources
