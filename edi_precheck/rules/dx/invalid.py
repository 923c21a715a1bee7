"""An ICD-10-CM code that does not exist or is not billable.

## What it checks
Each diagnosis the line relies on (837P: those it points at; 837I: the claim's principal and
other diagnoses) is in the code set of its date of service: ICD-10-CM (qualifier ABK/ABF)
from 2015-10-01, ICD-9-CM (BK/BF) before; and that an ICD-10-CM code exists and is billable,
that is, a leaf code with all its characters. The installed code set is for the services of
one code-set year (October to September); on a service of another year, a code it does not
know is a warning that says so (codes are added, split and deleted each year).

## Why it matters
A code that does not exist, or a category used as a code (M80 instead of M80.08XA), is
rejected by SNIP type 5 edits or denied (CARC 16).

## Example
`HI*ABK:M81~` (a category) or `HI*ABK:M8199~` (no such code).

## Use instead
`HI*ABK:M810~`

## Policy keys
`billing.icd10_from`, `billing.icd10_year_start` (code set: ICD-10-CM from the
simple-icd-10-cm package).

## References
CMS/NCHS ICD-10-CM; HIPAA code sets, 45 CFR 162.1002; 837 HI; SNIP type 5.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from edi_precheck.findings import shown
from edi_precheck.policy import ICD10CM, Billing
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, Where, parse_date


@rule("dx.invalid", snip=5)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    diagnoses = ctx.claim.line_diagnoses(drug.line)
    where: Where = {"segment": drug.service_segment, "segment_index": drug.line.segment_index}
    switch = ctx.policy.billing.icd10_from
    day = parse_date(ctx.line_date(drug.line))
    before_icd10 = switch is not None and day is not None and day < switch
    for diagnosis in diagnoses:
        icd10 = diagnosis.qualifier.startswith("A")
        if not icd10 and not before_icd10:
            since = f" since {switch:%B %Y}" if switch else ""
            yield Problem(
                f"diagnosis {shown(diagnosis.code)} is sent as ICD-9-CM (qualifier "
                f"{diagnosis.qualifier}); services{since} need ICD-10-CM",
                f"send the ICD-10-CM code with qualifier A{diagnosis.qualifier}",
                **where,
            )
        elif icd10 and before_icd10:
            assert switch is not None and day is not None
            yield Problem(
                f"diagnosis {shown(diagnosis.code)} is sent as ICD-10-CM (qualifier "
                f"{diagnosis.qualifier}), but the service on {day:%Y-%m-%d} is before "
                f"{switch:%B} {switch.day}, {switch.year}, when ICD-9-CM was the code set",
                f"send the ICD-9-CM code with qualifier {diagnosis.qualifier[1:]}",
                **where,
            )
    diagnoses = [d for d in diagnoses if d.qualifier.startswith("A") and not before_icd10]
    if not diagnoses:
        return
    code_set = ctx.icd10()
    if code_set is None:
        return
    outside = _outside_release(code_set, ctx.policy.billing, day)
    for diagnosis in diagnoses:
        code = diagnosis.code.upper()
        if code_set.is_billable(code):
            continue
        if code_set.exists(code):
            message = (
                f"diagnosis {shown(diagnosis.code)} is an ICD-10-CM category, not a billable code"
            )
            hint = "send the full code with all its characters"
        else:
            message = f"diagnosis {shown(diagnosis.code)} is not an ICD-10-CM code"
            hint = "check the code (no dot, e.g. M810 for M81.0)"
        yield Problem(
            message,
            hint,
            segment=drug.service_segment,
            segment_index=drug.line.segment_index,
            unconfirmed=outside,
        )


def _outside_release(code_set: ICD10CM, billing: Billing, day: date | None) -> str:
    """What a finding rests on when the service falls outside the code-set year of the
    installed release ("" when inside, or when that is not known): codes are added, split
    and deleted each year, so a code unknown to this release may be valid on that date."""
    year = billing.code_set_year(code_set.effective) if code_set.effective else None
    if day is None or year is None or year[0] <= day <= year[1]:
        return ""
    return (
        f"the ICD-10-CM code set of {day:%Y-%m-%d} (the release installed is for services "
        f"from {year[0]:%Y-%m-%d} to {year[1]:%Y-%m-%d})"
    )
