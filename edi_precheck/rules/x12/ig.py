"""Implementation-guide violation, as pyx12 reports it; carries its 999 codes.

## What it checks
Each 837P/837I transaction set against the ASC X12 implementation guide (005010X222A1 or
005010X223A2), with pyx12's maps (by the native engine, or by pyx12 itself with
`--ig-engine pyx12`; both give the same errors): required segments and elements, loop
structure and repeats, code values, lengths, dates, composites. Each error is pinned to
the claim and line it lies in and carries the 999 codes a clearinghouse would return (IK3
segment, IK4 element). A file declaring another release of a guide (005010X222A2) is
checked against pyx12's nearest map and its findings say so; a transaction set pyx12
fails on (and so the native engine, alike) gets one finding saying it was not validated.
Skipped with `--no-ig`.

## Why it matters
A clearinghouse rejects the whole transaction set (999 with IK5 = R) for one structural
error, before any payer looks at a claim in it.

## Example
A claim with no `HI` segment: `IK3*HI*20**3~` (required segment missing).

## Use instead
`HI*ABK:M810~` in loop 2300.

## Policy keys
`rules.x12.ig` (severity).

## References
ASC X12 005010X222A1 / 005010X223A2; 999 (005010X231A1); SNIP types 1 and 2.
"""

from edi_precheck.rules._registry import declare

declare(__name__, "x12.ig")
