"""structlog set-up for the command line: readable on a terminal, JSON lines otherwise.

Library code only calls `structlog.get_logger()`; the CLI calls `configure()` once. Every
event passes `drop_phi_keys`, which removes any key that could hold patient data, in case a
future event is careless, and `hash_claim_ids`: CLM01 can be a patient account number (a
HIPAA identifier), so a log carries `claim_ref`, a keyed hash of it, never CLM01 itself
(reports, which go to the billing office, keep it).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

from edi_precheck.findings import escaped

# Keys that would carry patient or subscriber data; no event may have them.
PHI_KEYS = frozenset(
    {
        "patient",
        "patient_name",
        "subscriber",
        "subscriber_name",
        "name",
        "first_name",
        "last_name",
        "member_id",
        "subscriber_id",
        "birth_date",
        "dob",
        "date_of_birth",
        "address",
        "street",
        "city",
        "zip",
        "phone",
        "ssn",
    }
)


def drop_phi_keys(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Remove keys that could hold PHI before anything renders the event."""
    for key in PHI_KEYS.intersection(event_dict):
        del event_dict[key]
    return event_dict


class ClaimIdHasher:
    """Replaces an event's `claim_id` with `claim_ref`, a keyed hash of it. Under the site
    key (`history.keys`) the same claim has the same ref in every run and on every server;
    without one, a key of this process links the events of one run only."""

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key or secrets.token_bytes(32)

    def ref(self, claim_id: str) -> str:
        return hmac.digest(self.key, b"claim\x1f" + claim_id.encode(), "sha256").hex()[:16]

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        if "claim_id" in event_dict:
            claim_id = event_dict.pop("claim_id")
            if claim_id is not None:
                event_dict["claim_ref"] = self.ref(str(claim_id))
        return event_dict


hash_claim_ids = ClaimIdHasher()
# Whether events are rendered as JSON lines (set by configure): errors follow the same form.
json_lines: bool | None = None


def escape_controls(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """On a terminal, a file name or value with control characters is written escaped: a
    log line must not drive the terminal that shows it, however deep in the event (a run's
    list of inputs). (JSON lines escape them already.)"""
    for key, value in event_dict.items():
        event_dict[key] = _escaped_deep(value)
    return event_dict


def _escaped_deep(value: Any) -> Any:
    if isinstance(value, str):
        return value if value.isprintable() else escaped(value)
    if isinstance(value, dict):
        return {key: _escaped_deep(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped_deep(item) for item in value]
    return value


def wants_json(log_format: str, stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    return log_format == "json" or (log_format == "auto" and not stream.isatty())


def configure(
    log_format: str = "auto",
    level: str = "info",
    stream: TextIO | None = None,
    claim_key: bytes | None = None,
) -> None:
    """Log to stderr: JSON lines unless stderr is a terminal (or `log_format` says).
    `claim_key` keys the claim refs (default: a key of this process)."""
    global hash_claim_ids, json_lines
    stream = stream or sys.stderr
    as_json = json_lines = wants_json(log_format, stream)
    hash_claim_ids = ClaimIdHasher(claim_key)
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            drop_phi_keys,
            hash_claim_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *([] if as_json else [escape_controls]),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        # One write per event, its newline included: the unit processes share stderr, and
        # a line written in two parts can take another process's line between them.
        logger_factory=structlog.WriteLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None


class LibraryLogger:
    """structlog's logger once the application configured structlog, silence before.

    Unconfigured, structlog prints every event to stdout: a practice-management system
    that calls `check_file` must not find our debug events in its output.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> Any:
        if structlog.is_configured():
            return getattr(structlog.get_logger(self._name), method)
        return _ignore
