"""Reading one input's claims, never raising on bad input.

Anything that goes wrong while reading a file, from a missing permission to a defect in our
own parser, becomes a finding on that file; the claims read before it are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO, cast

from edi_precheck.findings import Finding, file_finding
from edi_precheck.logs import LibraryLogger
from edi_precheck.model import Claim, ClaimParser
from edi_precheck.model.patient import PatientKeyer
from edi_precheck.model.structure import SegmentSink
from edi_precheck.report.results import FileResult
from edi_precheck.sources import Source

log = LibraryLogger("edi_precheck")


def _unreadable(message: str, hint: str) -> Finding:
    return file_finding("x12.unreadable", message, hint)


def read_claims(
    source: Source,
    result: FileResult,
    sinks: Sequence[SegmentSink] = (),
    on_bytes: Callable[[int], None] | None = None,
    skim_codes: frozenset[str] | None = None,
    keyer: PatientKeyer | None = None,
) -> Iterator[Claim]:
    """Yield the claims of `source`; counts and file-level findings land in `result`.

    `sinks` are handed every segment with its place in the structure (`model.structure`).
    `on_bytes` hears how many more bytes were read, for a progress bar. With `skim_codes`
    (and no sinks), claims that bill none of them and balance are counted but not yielded
    (`model.skim`). With `keyer`, each claim knows its patient as a keyed hash.
    """
    parser: ClaimParser | None = None
    reported = 0
    digest = hashlib.sha256()
    try:
        with source.open() as stream:
            hashed = cast(BinaryIO, _Hashing(stream, digest))
            parser = ClaimParser(hashed, sinks, skim_codes, keyer)
            for claim in parser:
                if on_bytes is not None and parser.reader.bytes_read != reported:
                    on_bytes(parser.reader.bytes_read - reported)
                    reported = parser.reader.bytes_read
                yield claim
    except OSError as error:
        result.reader_findings.append(
            _unreadable(
                f"cannot read the file: {error.strerror or type(error).__name__}",
                "check the path and its permissions",
            )
        )
    except Exception as error:  # a defect of ours must not lose the file's other claims
        log.error("reader.internal_error", file=source.name, error=type(error).__name__)
        result.reader_findings.append(
            _unreadable(
                f"reading stopped at an internal error ({type(error).__name__}); the claims "
                "before it were read",
                "report this file's structure (not its content) to the edi-precheck maintainers",
            )
        )
    finally:
        result.sha256 = digest.hexdigest()
        if parser is not None:
            if on_bytes is not None:
                on_bytes(parser.reader.bytes_read - reported)
            result.transaction_sets = parser.transaction_sets
            result.claims = parser.claims
            result.service_lines = parser.service_lines
            result.transaction_spans = parser.envelope.transaction_spans
            result.reader_findings[:0] = parser.findings


class _Hashing:
    """A stream that hashes what is read through it (the run's log names each input by its
    SHA-256)."""

    def __init__(self, stream: BinaryIO, digest: Any) -> None:
        self._stream = stream
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self._digest.update(chunk)
        return chunk
