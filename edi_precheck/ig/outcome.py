"""What an implementation-guide engine says of one interchange, in 999 terms.

Both engines (`pyx12_engine`, `native`) answer with these; findings, the 999 and the
differential tests read nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class IGError:
    """One implementation-guide error, in 999 terms."""

    level: str  # "segment", "element", "transaction", "group", "interchange"
    code: str  # IK304 (segment), IK403 (element), IK5/AK9/TA1 code otherwise
    segment_id: str = ""
    segment_name: str = ""
    position: int | None = None  # segment's position in the transaction set (IK302)
    loop_id: str = ""  # IK303
    element_position: int | None = None  # IK401-1
    component_position: int | None = None  # IK401-2
    element_reference: str = ""  # IK402
    element_name: str = ""


@dataclass(slots=True)
class IGOutcome:
    errors: list[IGError] = field(default_factory=list)
    crash: str | None = None  # exception type name when the engine failed, or NOT_READ
    engine: str = ""  # which engine answered: "native" or "pyx12"
    fallback: str = ""  # why pyx12 answered when the native engine was asked


# What `IGOutcome.crash` says when pyx12 wrote no word on a text: it was not validated,
# which must never read as "no errors".
NOT_READ = "a refusal to read the interchange"
