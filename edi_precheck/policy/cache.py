"""The on-disk cache of derived data: what is slow to compute and never changes for the
same inputs (the ICD-10-CM code list, which policy texts passed the schema).

A cache that cannot be written only costs speed; nothing depends on it being there.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CACHE_ENV = "EDI_PRECHECK_CACHE"


def cache_dir() -> Path:
    """Where derived data is kept: $EDI_PRECHECK_CACHE, else the user's cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edi-precheck"


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all; a read-only cache folder is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, delete=False, encoding="utf-8"
        ) as handle:
            handle.write(text)
        os.replace(handle.name, path)
    except OSError:
        return
