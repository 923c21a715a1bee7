"""The on-disk cache of derived data: what is slow to compute and never changes for the
same inputs (the ICD-10-CM code list, which policy texts passed the schema).

A cache that cannot be used only costs speed; nothing depends on it being there. What it
says is believed, so it is used only from a folder of this user's that no one else can
write to (`private_files`); an entry is read only when it is a plain file of this user's,
of the size its kind can have, and each kind checks that its content is what it wrote.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path

from edi_precheck.logs import LibraryLogger
from edi_precheck.private_files import UntrustedPath, private_folder, read_private

CACHE_ENV = "EDI_PRECHECK_CACHE"

_log = LibraryLogger("edi_precheck.cache")
_refused: set[str] = set()  # folders already reported as untrusted: said once a process
_refused_lock = threading.Lock()


def cache_dir() -> Path:
    """Where derived data is kept: $EDI_PRECHECK_CACHE, else the user's cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edi-precheck"


def _folder(kind: str) -> Path | None:
    """The cache's folder for `kind` ('' for the top), when it and the cache folder above
    it can be trusted."""
    path = cache_dir()
    try:
        private_folder(path)
        if kind:
            path = private_folder(path / kind)
        return path
    except (UntrustedPath, OSError) as error:
        with _refused_lock:
            first = str(path) not in _refused
            _refused.add(str(path))
        if first:
            reason = str(error) if isinstance(error, UntrustedPath) else error.strerror
            _log.warning("cache.unused", folder=str(path), reason=reason)
        return None


def read_entry(kind: str, name: str, limit: int) -> str | None:
    """The text of cache entry `name` of `kind`, or None when it is missing or not to be
    trusted (see `private_files.read_private`; `limit` is the largest it can be)."""
    folder = _folder(kind)
    return None if folder is None else read_private(folder / name, limit)


def write_entry(kind: str, name: str, text: str) -> None:
    """Write entry `name` of `kind` whole or not at all (mode 0600); an unusable cache
    folder is no error."""
    folder = _folder(kind)
    if folder is None:
        return
    temporary: str | None = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", dir=folder, prefix=f".{name}.", delete=False, encoding="utf-8"
        ) as handle:
            temporary = handle.name
            handle.write(text)
        os.replace(temporary, folder / name)
    except OSError:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
