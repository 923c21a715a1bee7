"""Reading inputs into claims, one file at a time, without ever raising on bad input.

Anything that goes wrong while reading a file, from a missing permission to a bug in our
own parser, becomes a finding on that file; the claims read before it are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog

from edi_precheck.findings import Finding, Severity
from edi_precheck.model import Claim, ClaimParser
from edi_precheck.sources import Source

log = structlog.get_logger("edi_precheck")


@dataclass(slots=True)
class FileResult:
    """What reading (and later checking) one input produced, apart from the claims."""

    name: str
    transaction_sets: int = 0
    claims: int = 0
    service_lines: int = 0
    checked_lines: int = 0
    bytes_read: int = 0
    encoding: str = "utf-8"
    findings: list[Finding] = field(default_factory=list)


def _unreadable(message: str, hint: str) -> Finding:
    return Finding(rule="x12.unreadable", severity=Severity.ERROR, snip=1,
                   message=message, hint=hint)


def read_claims(source: Source, result: FileResult) -> Iterator[Claim]:
    """Yield the claims of `source`; counts and file-level findings land in `result`."""
    parser: ClaimParser | None = None
    try:
        with source.open() as stream:
            parser = ClaimParser(stream)
            yield from parser
    except OSError as error:
        result.findings.append(_unreadable(
            f"cannot read the file: {error.strerror or type(error).__name__}",
            "check the path and its permissions"))
    except Exception as error:  # a defect of ours must not lose the file's other claims
        log.error("reader.internal_error", file=source.name, error=type(error).__name__)
        result.findings.append(_unreadable(
            f"reading stopped at an internal error ({type(error).__name__}); the claims "
            "before it were read", "report this file's structure (not its content) to the "
            "edi-precheck maintainers"))
    finally:
        if parser is not None:
            result.transaction_sets = parser.transaction_sets
            result.claims = parser.claims
            result.service_lines = parser.service_lines
            result.bytes_read = parser.reader.bytes_read
            result.encoding = parser.reader.encoding
            result.findings[:0] = parser.findings
