"""A segment cannot be read as X12.

## What it checks
An ISA that is not 106 characters long, a segment with no valid two- or three-character
tag (usually a segment terminator inside data), a segment longer than 1 MiB, and text after
the last interchange.

## Why it matters
The receiver's parser stops or misreads every segment after the damage (999 rejection).

## Example
`NM1*IL*1*SMITH~JONES*...`: the `~` inside the name ends the segment early and `JONES` is
read as a segment tag.

## Use instead
Remove delimiter characters from data, pad ISA fields to their fixed widths.

## Policy keys
None.

## References
ASC X12 syntax (delimiters, ISA fixed length); SNIP type 1.
"""

from edi_precheck.rules._registry import declare

declare(__name__, "x12.syntax")
