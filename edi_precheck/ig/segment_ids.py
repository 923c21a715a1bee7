"""The segment ids pyx12's 837 maps know: the only segment ids a report or a 999 may print.

For a damaged segment (a terminator inside a name, a lost element separator, two segments
glued together) pyx12's "segment id" is whatever text comes before the first separator:
part of a patient's name or street. An id the maps do not define is therefore never shown:
the finding says "an unrecognised segment" and the 999 answers it with IK301 UNK.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

# The 5010 maps of the guides we validate, and the envelope's.
MAP_FILES = (
    "837.5010.X222.A1.xml",
    "837Q3.I.5010.X223.A1.xml",
    "837Q3.I.5010.X223.A1.v2.xml",
    "x12.control.00501.xml",
)
# What the 999 says in IK301 for a segment whose id may not be printed (two or three
# characters, as the element allows; no segment of the 837 maps is called so).
UNRECOGNISED = "UNK"


@functools.cache
def known_segment_ids() -> frozenset[str]:
    ids: set[str] = set()
    folder = resources.files("pyx12") / "map"
    for name in MAP_FILES:
        entry = folder / name
        if entry.is_file():
            ids.update(re.findall(r'<segment\s+xid="([A-Z0-9]{2,3})"', entry.read_text("utf-8")))
    return frozenset(ids)


def printable_segment_id(segment_id: str) -> str | None:
    """`segment_id` when the maps define it, else None (it may be patient text)."""
    return segment_id if segment_id in known_segment_ids() else None
