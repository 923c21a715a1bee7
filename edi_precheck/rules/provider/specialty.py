"""The rendering, attending or referring provider is not of a specialty the payer needs.

## What it checks
For payer rules that list specialist taxonomies (commercial plans for Xgeva-type products
in the shipped policy: medical, hematology and pediatric oncology, endocrinology, urology,
radiation and gynecologic oncology), that a provider of the line or claim has one of those
taxonomy codes (PRV03): the rendering provider (the line's 2420A when it has one, which replaces the
claim's 2310B for that line), the attending provider of an 837I, the referring or operating
provider. An 837P sends 2310B only when the rendering provider is not the billing provider,
so without one the billing provider (PRV*BI) counts as rendering; an 837I's billing provider
counts when no other is named.

## Why it matters
Plans that require a specialist deny the drug for other prescribers (CARC 50), or hold it
for records. No public policy was found that restricts Xgeva to named specialties, so the
shipped policy reports a warning that says what to verify.

## Example
A commercial Xgeva claim whose only provider taxonomy is family medicine `207Q00000X`.

## Use instead
Name the treating specialist as rendering provider with `PRV*PE*PXC*207RX0202X~`.

## Policy keys
`payer_rules.*.require.specialist_taxonomies`, `payer_rules.*.match.products`.

## References
NUCC health care provider taxonomy; 837P 2310B/2420A PRV; SNIP type 7.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity, shown
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem

CLAIM_ROLES = ("rendering", "attending", "referring", "operating")


@rule("provider.specialty", snip=7, severity=Severity.WARNING)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    required = drug.specialist_taxonomies
    if not required:
        return
    claim = ctx.claim
    providers = [p for p in claim.providers if p.role in CLAIM_ROLES]
    if drug.line.rendering is not None:  # a line's rendering provider replaces the claim's
        providers = [p for p in providers if p.role != "rendering"] + [drug.line.rendering]
    if claim.kind == "837P" and not any(p.role == "rendering" for p in providers):
        providers.append(claim.billing)  # no 2310B: the billing provider rendered it
    elif not providers:
        providers = [claim.billing]
    taxonomies = sorted({p.taxonomy for p in providers if p.taxonomy})
    if required.intersection(taxonomies):
        return
    payer_rule = next(r.id for r in drug.payer_rules if r.specialist_taxonomies)
    found = ", ".join(shown(t) for t in taxonomies) if taxonomies else "no provider taxonomy"
    yield Problem(
        f"{drug.code} ({drug.describe_product()}): payer rule '{payer_rule}' asks for a "
        f"provider of taxonomy {', '.join(sorted(required))}; the claim has {found}",
        "verify whether this plan requires a specialist; if it does, name the treating "
        "specialist as rendering provider with PRV*PE*PXC*<taxonomy>",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
    )
