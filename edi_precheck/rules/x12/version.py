"""GS08 and ST03 name different implementation guides.

## What it checks
That a transaction set's ST03 (the implementation convention it was written to) and its
functional group's GS08 agree. X12 lets the set's ST03 govern, so the set is read and
validated as ST03 says: an 837I set in a group whose GS08 says 005010X222 (837P) is read
as 837I.

## Why it matters
A receiver that routes by GS08 may read the set with the wrong guide and reject it, or
split the group by guide first; senders mixing guides in one group usually made a mistake
in their translator set-up. A warning: the set itself can be right.

## Example
`GS*HC*SENDER*RECEIVER*20260313*1030*201*X*005010X222A1~ST*837*0001*005010X223A2~`

## Use instead
One group per guide: `GS*...*005010X223A2~ST*837*0001*005010X223A2~`

## Policy keys
`rules.x12.version` (severity).

## References
ASC X12 ST03 implementation convention reference; GS08; SNIP type 1.
"""

from edi_precheck.rules._registry import declare

declare(__name__, "x12.version")
