"""Envelope control numbers or counts disagree, or a trailer is missing.

## What it checks
ISA13 = IEA02 and IEA01 = the number of groups; GS06 = GE02 and GE01 = the number of
transaction sets; ST02 = SE02 and SE01 = the segments from ST to SE. A header with no
trailer before the next header or the end of the file, and a claim the file ends inside.

## Why it matters
A receiver rejects an interchange, group or transaction set whose envelope does not add up
(TA1 / 999 rejection); a file cut off in transfer loses the claims after the cut.

## Example
`SE*25*0001~` closing a transaction set of 147 segments; a file that ends in the middle of
a claim with no SE, GE or IEA.

## Use instead
Let the translator regenerate the envelopes, or resend the complete file.

## Policy keys
None.

## References
ASC X12 control segments ISA/IEA, GS/GE, ST/SE; SNIP type 1.
"""

from edi_precheck.rules._registry import declare

declare(__name__, "x12.envelope")
