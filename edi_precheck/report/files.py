"""Writing an output file safely: whole or not at all, never through a planted link, and
readable by its owner only.

Every output (a split's claims, a report, a 999, a listing) holds claims or their findings,
so:
- it is written to a temporary file in the output's folder and renamed over the output at
  the end: a reader never sees half a file, and a symbolic link planted where the output
  goes is replaced, not followed (writing through it would overwrite whatever it names);
- it is created with mode 0600 unless `$EDI_PRECHECK_FILE_MODE` (octal, e.g. 0640) says
  otherwise;
- an output that is a stream, not a file (`/dev/null`, `/dev/stdout`, a named pipe), is
  written straight to it: replacing it with a file would take the device away from every
  other program (as root, /dev/null itself);
- a run killed by SIGTERM or Ctrl-C removes its temporary files (the CLI turns SIGTERM into
  an exception that unwinds through here); a `kill -9` can leave one, named
  `.<output name>.<random>` beside the output.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

FILE_MODE_ENV = "EDI_PRECHECK_FILE_MODE"
DEFAULT_FILE_MODE = 0o600


class OutputError(Exception):
    """An output cannot be written (its folder, its mode, the rename): the run cannot
    proceed (exit 2)."""


class FileModeError(OutputError):
    """$EDI_PRECHECK_FILE_MODE is not an octal file mode."""


def file_mode() -> int:
    """The mode new output files get: 0600, or what $EDI_PRECHECK_FILE_MODE says."""
    text = os.environ.get(FILE_MODE_ENV, "").strip()
    if not text:
        return DEFAULT_FILE_MODE
    try:
        mode = int(text, 8)
    except ValueError:
        raise FileModeError(f"{FILE_MODE_ENV}={text!r} is not an octal file mode") from None
    if not 0 <= mode <= 0o777:
        raise FileModeError(f"{FILE_MODE_ENV}={text!r} is not a file mode (0 to 0777)")
    return mode


def _is_stream(path: Path) -> bool:
    """Whether `path` is (or links to) a character device or a FIFO."""
    try:
        status = os.stat(path)
    except OSError:
        return False
    return stat.S_ISCHR(status.st_mode) or stat.S_ISFIFO(status.st_mode)


@contextlib.contextmanager
def replaced_atomically(path: Path) -> Iterator[TextIO]:
    """A text stream whose content replaces `path` when the block ends without error; on
    any error (a kill included) the temporary file is removed and `path` left as it was.
    A device or FIFO (`/dev/null`) is written to as it is."""
    if _is_stream(path):
        try:
            stream = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as error:
            raise OutputError(f"cannot write {path}: {error.strerror}") from None
        with stream:
            yield stream
        return
    mode = file_mode()
    folder = path.parent if str(path.parent) else Path(".")
    try:
        descriptor, name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")  # 0600
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror}") from None
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            yield stream
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    try:
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {error.strerror}") from None
