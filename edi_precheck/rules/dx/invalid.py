"""An ICD-10-CM code that does not exist or is not billable.

## What it checks
Each diagnosis the line relies on (837P: those it points at; 837I: the claim's) is an
ICD-10-CM code (qualifier ABK/ABF/..., not the ICD-9-CM BK/BF/...), exists in the ICD-10-CM
code set and is billable, that is, a leaf code with all its characters.

## Why it matters
A code that does not exist, or a category used as a code (M80 instead of M80.08XA), is
rejected by SNIP type 5 edits or denied (CARC 16).

## Example
`HI*ABK:M81~` (a category) or `HI*ABK:M8199~` (no such code).

## Use instead
`HI*ABK:M810~`

## Policy keys
None (code set: ICD-10-CM from the simple-icd-10-cm package).

## References
CMS/NCHS ICD-10-CM; 837 HI; SNIP type 5.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("dx.invalid", snip=5)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    diagnoses = ctx.claim.line_diagnoses(drug.line)
    for diagnosis in diagnoses:
        if not diagnosis.qualifier.startswith("A"):
            yield Problem(
                f"diagnosis {diagnosis.code} is sent as ICD-9-CM (qualifier "
                f"{diagnosis.qualifier}); claims for services since October 2015 need "
                "ICD-10-CM",
                f"send the ICD-10-CM code with qualifier A{diagnosis.qualifier}",
                segment=drug.service_segment,
                segment_index=drug.line.segment_index,
            )
    diagnoses = [d for d in diagnoses if d.qualifier.startswith("A")]
    if not diagnoses:
        return
    code_set = ctx.icd10()
    if code_set is None:
        return
    for diagnosis in diagnoses:
        code = diagnosis.code.upper()
        if code_set.is_billable(code):
            continue
        if code_set.exists(code):
            message = f"diagnosis {diagnosis.code} is an ICD-10-CM category, not a billable code"
            hint = "send the full code with all its characters"
        else:
            message = f"diagnosis {diagnosis.code} is not an ICD-10-CM code"
            hint = "check the code (no dot, e.g. M810 for M81.0)"
        yield Problem(
            message, hint, segment=drug.service_segment, segment_index=drug.line.segment_index
        )
