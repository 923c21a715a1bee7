"""The site key that patient hashes are made with: made once, kept apart from the store.

A store holds only keyed hashes of patients; whoever has the store but not the key cannot
tell whose claims they are, nor test a guess. So the key never goes into the store: it comes
from `$EDI_PRECHECK_HISTORY_KEY` (hex), else from a key file (`--history-key-file`,
`$EDI_PRECHECK_HISTORY_KEY_FILE`, else `history.key` in the state folder), which is created
(mode 0600) with a random key on first use. Servers that share a store share the key file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

from edi_precheck.history.errors import HistoryError
from edi_precheck.private_files import UntrustedPath, private_folder, read_private, state_dir

KEY_ENV = "EDI_PRECHECK_HISTORY_KEY"
KEY_FILE_ENV = "EDI_PRECHECK_HISTORY_KEY_FILE"
KEY_FILE = "history.key"
KEY_BYTES = 32
MIN_KEY_BYTES = 16
_KEY_FILE_LIMIT = 4096


def _parsed(text: str, where: str) -> bytes:
    cleaned = text.strip()
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        raise HistoryError(f"{where} does not hold a key in hex") from None
    if len(key) < MIN_KEY_BYTES:
        raise HistoryError(
            f"{where} holds a key of {len(key)} bytes; at least {MIN_KEY_BYTES} are needed "
            f"(make one with: python -c 'import secrets; print(secrets.token_hex({KEY_BYTES}))')"
        )
    return key


def key_file_path(given: Path | None = None) -> Path:
    """The key file used when no key is given in the environment."""
    if given is not None:
        return given
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV])
    return state_dir() / KEY_FILE


def site_key(key_file: Path | None = None) -> bytes:
    """The site key: from the environment, else from the key file, made when missing."""
    if os.environ.get(KEY_ENV):
        return _parsed(os.environ[KEY_ENV], f"${KEY_ENV}")
    path = key_file_path(key_file)
    try:
        if key_file is None and not os.environ.get(KEY_FILE_ENV):
            private_folder(path.parent)
        return _read_or_make(path)
    except UntrustedPath as error:
        raise HistoryError(f"cannot use the history key file: {error}") from None
    except OSError as error:
        raise HistoryError(
            f"cannot use the history key file {path}: {error.strerror or error}"
        ) from None


def existing_site_key() -> bytes | None:
    """The site key if one is set or was made already (never makes one), else None: what
    the logs key claim refs with, so that they match across runs where a key exists."""
    try:
        if os.environ.get(KEY_ENV):
            return _parsed(os.environ[KEY_ENV], f"${KEY_ENV}")
        text = read_private(key_file_path(), _KEY_FILE_LIMIT)
        return _parsed(text, "the history key file") if text else None
    except HistoryError:
        return None


def _read_or_make(path: Path) -> bytes:
    """The key in `path`; a new random key written there (0600, never replacing one) when
    there is none. Two runs that start together agree on the key one of them wrote."""
    for _ in range(50):
        text = read_private(path, _KEY_FILE_LIMIT)
        if text:
            return _parsed(text, f"the history key file {path}")
        if text is None and not path.exists() and not path.is_symlink():
            with contextlib.suppress(FileExistsError):
                _make(path)
                continue
        elif text is None:
            raise UntrustedPath(
                f"{path} is not a plain file of this user's that others cannot write to"
            )
        time.sleep(0.02)  # another run is writing it
    raise HistoryError(f"the history key file {path} stays empty")


def _make(path: Path) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
