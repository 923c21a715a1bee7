"""The file is not an X12 interchange.

## What it checks
That the input starts with an ISA segment: an empty file, binary data, a file of another
format, or a file that cannot be opened gets this finding and nothing else is read.

## Why it matters
A clearinghouse rejects the whole file (TA1 or 999) before any claim is looked at.

## Example
An empty upload, a PDF saved with an .837 name, or a ZIP that was never unpacked.

## Use instead
Send the 837 itself: a text file that begins `ISA*`.

## Policy keys
None.

## References
ASC X12 interchange control structure (ISA); SNIP type 1.
"""

from edi_precheck.rules._registry import declare

declare(__name__, "x12.unreadable")
