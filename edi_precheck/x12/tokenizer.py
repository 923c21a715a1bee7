"""Streaming X12 tokenizer: a byte stream in, `(segment_index, fields)` pairs out.

Memory stays flat: the stream is read in chunks and only the unfinished tail of a chunk is
kept. Delimiters come from each ISA header, so a file may hold several interchanges with
different delimiters. Problems become findings (`x12.unreadable`, `x12.syntax`) and reading
goes on wherever it can.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from edi_precheck.findings import Finding, file_finding, shown

CHUNK_SIZE = 1 << 20
# No 837 element comes near this; a longer "segment" is a wrong terminator or junk, and
# holding it would let memory grow with the file.
MAX_SEGMENT_CHARS = 1 << 20
ISA_LENGTH = 106
# The widths of ISA01 ... ISA16: every element is fixed, which makes the ISA 106 characters.
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
# Enough text to hold an ISA even with padding mistakes.
ISA_WINDOW = 512
_BOM = b"\xef\xbb\xbf"
# Line breaks and indentation that senders put between segments: never part of a segment.
LAYOUT_WHITESPACE = " \t\r\n"
TRANSFER_PADDING = "\x1a\x00"
# What a file that is not an X12 interchange may start with: an interchange cut before its
# ISA (GS, ST, ...), HL7 (MSH) or EDIFACT (UNA, UNB).
STARTING_TAGS = ("GS", "ST", "BHT", "HL", "NM1", "CLM", "MSH", "UNA", "UNB")


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four separators an ISA header declares."""

    element: str
    component: str
    repetition: str | None
    segment: str


def _finding(
    rule: str, message: str, hint: str, index: int | None, segment: str | None = None
) -> Finding:
    return file_finding(rule, message, hint, segment=segment, segment_index=index)


_ANY_ISA = re.compile("isa", re.IGNORECASE | re.ASCII)


def _guessed_separators(buffer: str) -> tuple[str, str] | None:
    """The segment terminator and element separator of a damaged ISA, from what follows
    it: the separator is the character after 'ISA', the terminator the last character
    before the GS that opens the group (layout whitespace aside). None when no GS says.
    An ISA behind a few bytes (a mail header, NULs) or in lower case counts too: the
    claims after it must be counted as not read."""
    found = _ANY_ISA.search(buffer, 0, ISA_WINDOW)
    if found is None:
        return None
    buffer = buffer[found.start() :]
    if len(buffer) < 4:
        return None
    separator = buffer[3]
    if separator.isalnum() or separator in LAYOUT_WHITESPACE:
        return None
    group = buffer.find(f"GS{separator}", 4, ISA_WINDOW)
    before = buffer[4:group].rstrip(LAYOUT_WHITESPACE) if group > 0 else ""
    if not before or before[-1].isalnum() or before[-1] == separator:
        return None
    return before[-1], separator


def _claim_id(clm: list[str]) -> str:
    """CLM01 of text that could not be read, as a summary may name it: it may be junk of
    any length, so cut and escaped (findings.shown)."""
    return shown(clm[1]) if len(clm) > 1 else ""


def fixed_width_isa(isa: list[str]) -> list[str]:
    """A copy of an ISA's fields at the widths X12 fixes (a mispadded ISA, which this reader
    accepts with a finding, is refused whole by stricter readers such as pyx12): text cut
    or padded with spaces, the control number (ISA13) with leading zeros."""
    fields = padded(isa, 17)
    fixed = [fields[0]]
    for number, width in enumerate(ISA_WIDTHS, start=1):
        value = fields[number][:width]
        fixed.append(value.strip().rjust(width, "0") if number == 13 else value.ljust(width))
    return fixed


def padded(fields: list[str], length: int) -> list[str]:
    """A copy of a segment's `fields` with at least `length` entries: a segment cut short
    in transfer can still have its elements read and set by position."""
    return fields + [""] * (length - len(fields))


def is_segment_tag(tag: str) -> bool:
    """Two or three letters or digits: the only shape an X12 segment tag has."""
    return 2 <= len(tag) <= 3 and tag.isalnum()


def _segment_start(prefix: str, terminator: str, strip_chars: str) -> re.Pattern[str]:
    """A pattern that finds a segment starting with `prefix` (its tag and separator) after a
    terminator, with only layout whitespace between. It starts with a literal, which the
    regex engine scans for quickly, and cannot backtrack, so text full of near misses is
    searched in linear time. (At the very start of a text: `_segment_first`.)"""
    return re.compile(f"{re.escape(terminator)}{_layout(strip_chars)}{re.escape(prefix)}")


def _segment_first(prefix: str, strip_chars: str) -> re.Pattern[str]:
    """A pattern that matches a text that begins with the segment `prefix` starts."""
    return re.compile(f"{_layout(strip_chars)}{re.escape(prefix)}")


def _layout(strip_chars: str) -> str:
    return f"[{re.escape(strip_chars)}]*" if strip_chars else ""


def _find_segment(
    text: str, first: re.Pattern[str], after: re.Pattern[str], terminator: str
) -> int:
    """Where the first segment `first` (at the start) or `after` (later) finds ends in
    `text`, past its terminator, or -1."""
    match = first.match(text) or after.search(text)
    if match is None:
        return -1
    end = text.find(terminator, match.end())
    return -1 if end < 0 else end + 1


def _utf16(head: bytes) -> str | None:
    """The codec of a file saved as UTF-16: by its byte-order mark (the codec then drops
    it), or by 'ISA' spelt in two-byte characters."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith("ISA".encode("utf-16-le")):
        return "utf-16-le"
    if head.startswith("ISA".encode("utf-16-be")):
        return "utf-16-be"
    return None


def _describe_start(text: str) -> str:
    """Say what a non-X12 file starts with, without quoting its content (it may hold PHI)."""
    head = text[:64]
    if any(ch == "\x00" or (ord(ch) < 32 and ch not in "\t\r\n") for ch in head):
        return "it looks like binary data"
    if head.startswith("ISA"):
        return (
            "its ISA segment cannot be read (16 elements, then the component separator "
            "and the segment terminator)"
        )
    for tag in STARTING_TAGS:  # named only when it is one of these: 'LEE|JOHN' is a name
        if head.startswith((tag + "*", tag + "|")):
            return f"it starts with a '{tag}' segment, not ISA"
    return "it does not start with an ISA segment"


class SegmentReader:
    """Iterate a binary stream as numbered X12 segments.

    Each item is `(index, fields)`: `index` is the 1-based position of the segment in the
    file, `fields[0]` the segment tag and `fields[1:]` its elements (composites are left
    joined; split them with `delimiters.component`). After iteration, `findings` holds what
    could not be read, `encoding` says how the bytes were decoded and `bytes_read` how many.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.delimiters: Delimiters | None = None
        self.findings: list[Finding] = []
        self.encoding = "utf-8"
        self.bytes_read = 0
        # Claims in text that could not be read as an X12 interchange: (segment
        # position, as far as the last interchange's terminator counts it, and CLM01).
        self.unread_claims: list[tuple[int, str]] = []

    # -- decoding -------------------------------------------------------------------------

    def _decoded_chunks(self) -> Iterator[str]:
        """Decode UTF-8 while it holds, then fall back to Latin-1 for the rest of the file.

        Latin-1 maps every byte, so a file in a legacy code page still reads; the fields we
        check (codes, NDCs, amounts) are ASCII either way. A file saved as UTF-16 (a
        Windows editor's 'Unicode'), with its byte-order mark or starting 'ISA' in it, is
        decoded as such.
        """
        decoder = codecs.getincrementaldecoder("utf-8")()
        first = True
        while chunk := self._stream.read(CHUNK_SIZE):
            self.bytes_read += len(chunk)
            if first:
                first = False
                utf16 = _utf16(chunk)
                if utf16 is not None:
                    self.encoding = utf16
                    yield from self._utf16_chunks(chunk, utf16)
                    return
                if chunk.startswith(_BOM):
                    chunk = chunk[len(_BOM) :]
            if self.encoding != "utf-8":
                yield chunk.decode("latin-1")
                continue
            pending = decoder.getstate()[0]
            try:
                yield decoder.decode(chunk)
            except UnicodeDecodeError:
                self.encoding = "latin-1"
                yield (pending + chunk).decode("latin-1")
        if self.encoding == "utf-8":
            pending = decoder.getstate()[0]
            if pending:
                self.encoding = "latin-1"
                yield pending.decode("latin-1")

    def _utf16_chunks(self, first: bytes, encoding: str) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        chunk = first
        while chunk:
            yield decoder.decode(chunk)
            chunk = self._stream.read(CHUNK_SIZE)
            self.bytes_read += len(chunk)
        yield decoder.decode(b"", final=True)

    # -- ISA ------------------------------------------------------------------------------

    def _read_isa(self, text: str, index: int) -> tuple[Delimiters, list[str], int] | None:
        """Parse the ISA at the start of `text`: delimiters, its fields, characters used.

        The ISA is fixed-width (106 characters), but files with mispadded fields exist, so
        the delimiters are found by counting element separators, not by fixed offsets.
        """
        separator = text[3:4]
        if not separator or separator.isalnum() or separator in LAYOUT_WHITESPACE:
            return None
        position = 3
        for _ in range(15):
            position = text.find(separator, position + 1)
            if position < 0:
                return None
        # `position` is the separator before ISA16 (one character), the terminator follows.
        if position + 2 >= len(text):
            return None
        component = text[position + 1]
        terminator = text[position + 2]
        if terminator.isalnum() or terminator in (separator, component):
            return None
        if terminator in text[: position + 2]:  # the ISA holds its own terminator: damaged
            return None
        fields = text[: position + 2].split(separator)
        repetition = fields[11] if len(fields) > 12 and fields[12] >= "00501" else None
        if repetition is not None and (len(repetition) != 1 or repetition.isalnum()):
            repetition = None
        length = position + 3
        if length != ISA_LENGTH:
            self.findings.append(
                _finding(
                    "x12.syntax",
                    f"ISA segment is {length} characters long; X12 fixes it at {ISA_LENGTH}",
                    "pad ISA02, ISA04, ISA06 and ISA08 to their fixed widths "
                    "(10, 10, 15, 15 characters)",
                    index,
                    "ISA",
                )
            )
        return Delimiters(separator, component, repetition, terminator), fields, length

    # -- segments -------------------------------------------------------------------------

    def blocks(self) -> Iterator[tuple[int, str, int]]:
        """Yield `(index of the first segment, text, number of segments)`, one per chunk
        or so.

        `text` is whole segments joined by the segment terminator, without empty segments
        or a final terminator, and without layout whitespace where the block has line
        breaks (a space after a terminator on one long line is left for the segment's
        reader to strip: searching every block for it would cost more than the rare file).
        An ISA comes as a block of its own, after which `delimiters` describes the blocks
        that follow. Handing over text rather than a list lets a caller find what it needs
        at regular-expression speed: on a clean file the text is a slice of what was read,
        never split at all.
        """
        chunks = self._decoded_chunks()
        buffer = ""
        at_eof = False
        index = 0
        while True:
            # Before an ISA: layout, a BOM, and after an interchange the padding of DOS
            # (Ctrl-Z) and mainframe (NUL) transfers.
            skip = LAYOUT_WHITESPACE + "\ufeff" + (TRANSFER_PADDING if index else "")
            buffer = buffer.lstrip(skip)
            while len(buffer) < ISA_WINDOW and not at_eof:
                chunk = next(chunks, None)
                if chunk is None:
                    at_eof = True
                else:
                    buffer = (buffer + chunk).lstrip(skip)
            if not buffer:
                if index == 0:
                    self.findings.append(
                        _finding(
                            "x12.unreadable",
                            "the file is empty: no X12 interchange in it",
                            "send a file that starts with an ISA segment",
                            None,
                        )
                    )
                return
            parsed = self._read_isa(buffer, index + 1) if buffer.startswith("ISA") else None
            if parsed is None:
                self._report_not_isa(buffer, index)
                separators = _guessed_separators(buffer) if index == 0 else None
                if index or separators is not None:
                    self._count_unread_claims(buffer, chunks, index, separators)
                return
            self.delimiters, isa_fields, used = parsed
            index += 1
            yield index, self.delimiters.element.join(isa_fields), 1
            buffer = buffer[used:]
            buffer, at_eof, index, more = yield from self._interchange(
                buffer, chunks, at_eof, index
            )
            if not more:
                return

    def _interchange(
        self, buffer: str, chunks: Iterator[str], at_eof: bool, index: int
    ) -> Generator[tuple[int, str, int], None, tuple[str, bool, int, bool]]:
        """The segments after an ISA, up to and including its IEA.

        Returns what is left: the unread text, whether the input is exhausted, the last
        segment index, and whether another interchange may follow.
        """
        assert self.delimiters is not None
        terminator = self.delimiters.segment
        iea = "IEA" + self.delimiters.element
        strip_chars = "".join(
            ch
            for ch in LAYOUT_WHITESPACE
            if ch not in (self.delimiters.element, self.delimiters.component, terminator)
        )
        always_strip = terminator in LAYOUT_WHITESPACE
        iea_first = _segment_first(iea, strip_chars)
        iea_after = _segment_start(iea, terminator, strip_chars)
        doubled = terminator * 2
        skipping = False
        while True:
            if skipping:
                cut = buffer.find(terminator)
                if cut < 0:
                    buffer = ""
                else:
                    buffer, skipping = buffer[cut + 1 :], False
            if not skipping:
                end = _find_segment(buffer, iea_first, iea_after, terminator)
                if end >= 0:
                    body, tail = buffer[: end - 1], ""
                else:
                    cut = buffer.rfind(terminator)
                    body, tail = (buffer[:cut], buffer[cut + 1 :]) if cut >= 0 else ("", buffer)
                if body:
                    if (
                        always_strip
                        or "\n" in body
                        or "\r" in body
                        or doubled in body
                        or body[0] == terminator
                    ):
                        # Layout whitespace or empty segments: normalise, segment by segment.
                        parts = body.split(terminator)
                        if always_strip or "\n" in body or "\r" in body:
                            parts = [part.strip(strip_chars) for part in parts]
                        parts = [part for part in parts if part]
                        body, count = terminator.join(parts), len(parts)
                    else:
                        count = body.count(terminator) + 1
                    if count:
                        yield index + 1, body, count
                        index += count
                if end >= 0:
                    return buffer[end:], at_eof, index, True
                buffer = tail
                if len(buffer) > MAX_SEGMENT_CHARS:
                    index += 1
                    self.findings.append(
                        _finding(
                            "x12.syntax",
                            f"segment {index} runs past {MAX_SEGMENT_CHARS:,} characters"
                            " without a terminator; skipped",
                            f"end every segment with '{terminator}'",
                            index,
                        )
                    )
                    buffer, skipping = "", True
            chunk = None if at_eof else next(chunks, None)
            if chunk is None:
                at_eof = True
                last = buffer.rstrip(strip_chars + TRANSFER_PADDING).lstrip(strip_chars)
                if last and not skipping:
                    index += 1  # the last segment may lack its terminator; read it anyway
                    yield index, last, 1
                return "", True, index, False
            buffer += chunk

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        """Each segment as `(index, fields)`; segments with no valid tag are reported
        (`x12.syntax`) and left out. The simple interface, for callers that need every
        segment split."""
        for first, text, _ in self.blocks():
            assert self.delimiters is not None
            separator = self.delimiters.element
            for offset, raw in enumerate(text.split(self.delimiters.segment)):
                fields = raw.split(separator)
                if not is_segment_tag(fields[0]):
                    fields = raw.strip(LAYOUT_WHITESPACE).split(separator)  # '~ CLM'
                    if not is_segment_tag(fields[0]):
                        self.report_bad_tag(first + offset)
                        continue
                yield first + offset, fields

    def _count_unread_claims(
        self,
        buffer: str,
        chunks: Iterator[str],
        index: int,
        separators: tuple[str, str] | None = None,
    ) -> None:
        """Count the CLM segments of the text that could not be read, as the last
        interchange's delimiters cut it (or `separators`, segment and element, guessed from
        a damaged first ISA): they are claims nobody checked, and whoever sends the file
        must hear of each."""
        if separators is None:
            if self.delimiters is None:
                return
            separators = self.delimiters.segment, self.delimiters.element
        terminator, separator = separators
        tail = buffer
        while True:
            *whole, tail = tail.split(terminator)
            for raw in whole:
                index += 1
                fields = raw.strip(LAYOUT_WHITESPACE).split(separator, 2)
                if fields[0] == "CLM":
                    self.unread_claims.append((index, _claim_id(fields)))
            chunk = next(chunks, None)
            if chunk is None:
                break
            tail += chunk
            if len(tail) > MAX_SEGMENT_CHARS:  # junk with no terminator: nothing to count
                tail = tail[-MAX_SEGMENT_CHARS:]
        fields = tail.strip(LAYOUT_WHITESPACE + TRANSFER_PADDING).split(separator, 2)
        if fields[0] == "CLM":
            self.unread_claims.append((index + 1, _claim_id(fields)))
        if self.unread_claims:  # the finding that says the rest was not read says how much
            count = len(self.unread_claims)
            last = self.findings[-1]
            self.findings[-1] = dataclasses.replace(
                last,
                message=f"{last.message}; it holds {count} claim{'s' if count > 1 else ''} "
                "(CLM segments), not checked",
            )

    def report_bad_tag(self, index: int) -> None:
        self.findings.append(
            _finding(
                "x12.syntax",
                f"segment {index} has no valid segment tag (a terminator inside data, or a "
                "damaged file)",
                "remove the stray segment terminator or resend the file",
                index,
            )
        )

    def _report_not_isa(self, buffer: str, index: int) -> None:
        if index == 0:
            self.findings.append(
                _finding(
                    "x12.unreadable",
                    f"not an X12 interchange: {_describe_start(buffer)}",
                    "send an X12 837 file; it must start with an ISA segment",
                    None,
                )
            )
        else:
            self.findings.append(
                _finding(
                    "x12.syntax",
                    f"text after segment {index} (IEA) is not another interchange: "
                    f"{_describe_start(buffer)}; the rest of the file was not read",
                    "remove the trailing text, or start the next interchange with ISA",
                    index,
                )
            )
