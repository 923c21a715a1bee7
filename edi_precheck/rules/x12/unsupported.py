"""A transaction that is not an 837P or 837I 5010 claim (reported, skipped).

## What it checks
ST01 is 837 and GS08 (or ST03) names the 837P (005010X222) or 837I (005010X223)
implementation guide. Anything else, an 835 remittance, a 999, a 4010 837, a dental 837,
is reported once per transaction set and not read.

## Why it matters
A pre-submit check that silently passes a file it did not check would send unchecked claims.

## Example
`ST*835*0001~` in the outbox; `GS*HC*...*004010X098A1~`.

## Use instead
Send 837P or 837I 5010 claims; check other transactions with another tool.

## Policy keys
None.

## References
GS08 version / release / industry identifier code; SNIP type 1.
"""

from edi_precheck.rules._registry import declare

declare(__name__, "x12.unsupported")
