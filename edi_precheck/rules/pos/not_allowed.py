"""A place of service (837P) or type of bill (837I) where the drug line is not paid.

## What it checks
The line's setting, from its place of service (837P: SV105, else CLM05-1) or the first
three digits of the type of bill (837I: 0 + CLM05-1). Two cases: a payer rule says the
payer does not pay the drug there (Medicare: a practitioner's drug line at an outpatient
hospital, emergency room or inpatient place of service, because the hospital bills the
drug); or the setting is not one where the policy expects drug lines (home, nursing
facility, skilled nursing bill types: UNCONFIRMED per payer, so a warning).

## Why it matters
A drug billed from a setting the payer does not pay it in is denied (CARC 5 or 58). Drug
lines are legitimately billed in offices, ASCs, hospital outpatient (013x), critical access
hospitals (085x), home health (034x), rural health clinics (071x), FQHCs (077x) and
inpatient claims (011x, 012x).

## Example
A Medicare 837P `CLM*A1*1695***22:B:1*Y*A*Y*Y~` (outpatient hospital) billing J0897.

## Use instead
The hospital bills the drug on its 837I; the practitioner bills the professional service.
Correct the place of service if the drug was given in the office (11).

## Policy keys
`settings.*.places`, `settings.*.drug_lines`, `payer_rules.*.place_not_payable`,
`payer_rules.*.place_fix`, `payer_rules.*.match.settings`.

## References
CMS place of service code set; NUBC type of bill; Medicare Benefit Policy Manual ch.15
§60.1.B; CGS home-health osteoporosis drugs (034x); SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity, shown
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, Where, place_of


@rule("pos.not_allowed", snip=6, severity=Severity.WARNING)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    claim, line = ctx.claim, drug.line
    place = place_of(line, claim)
    if not place:
        return  # pos.missing says so
    if claim.kind == "837P":
        where: Where = (
            {"segment": "SV1", "segment_index": line.segment_index, "element": "SV105"}
            if line.place_of_service
            else {"segment": "CLM", "segment_index": claim.segment_index, "element": "CLM05-1"}
        )
        named = f"place of service {shown(place)}"
    else:
        where = {"segment": "CLM", "segment_index": claim.segment_index, "element": "CLM05-1"}
        named = f"type of bill {shown(claim.type_of_bill)}"
    setting = drug.setting
    if setting is not None and setting.places:  # not the catch-all of its claim kind
        named += f" ({setting.label})"
    for payer_rule in drug.payer_rules:
        if payer_rule.place_not_payable:
            yield Problem(
                f"{drug.code} ({drug.describe_product()}) at {named}: "
                f"{payer_rule.place_not_payable} (payer rule '{payer_rule.id}')",
                payer_rule.place_fix
                or "let the facility bill the drug on its claim; if the drug was given in "
                "the office, correct the place of service",
                **where,
            )
            return
    if setting is None or not setting.drug_lines:
        yield Problem(
            f"{named} is not a setting where policy '{ctx.policy.id}' expects {drug.code} "
            "to be billed",
            "check where the drug was given; if your payer pays it there, say so in an "
            "overlay (settings.<id>.drug_lines)",
            **where,
        )
