"""A denosumab line billed under another drug's code (J3486 is ziprasidone).

## What it checks
Lines of a code whose HCPCS descriptor names another drug (J3486, ziprasidone mesylate
10 mg) that the policy recognises as its own drug: the NDC is one of its products, or the
units are one of its doses (60 or 120), or the line has no NDC and every diagnosis on it is
one of its indications. Each such line is billed under the wrong code; it is still checked
as the product it is for everything else. Recognised by its diagnoses alone, a line gets
warnings only (on every rule), each naming that inference: 20 mg of ziprasidone for a
patient with hypercalcemia of malignancy is paid. A J3486 line that looks like ziprasidone
(a few units, an NDC that is no denosumab product, a psychiatric diagnosis) is not the
policy's and gets no finding at all.

## Why it matters
The payer prices the line as the code's own drug: 60 units of J3486 is 600 mg of
ziprasidone, against at most about 40 mg a day, and is denied; the denosumab given is never
paid.

## Example
`SV1*HC:J3486:JZ*1650*UN*60***1~` with `LIN**N4*55513071001~` (Prolia).

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~` (or the biosimilar's own Q-code).

## Policy keys
`codes.*.another_drug`, `codes.*.recognise`, `codes.*.products`.

## References
HCPCS J3486 and J0897 descriptors; Geodon (ziprasidone) label; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, parse_date


@rule("code.wrong_drug", snip=6)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    entry = drug.entry
    if not entry.another_drug:
        return
    day = parse_date(ctx.line_date(drug.line))
    codes, unclassified = ctx.codes_to_bill(drug.candidates, day)
    if unclassified:
        instead = f"{codes} (unclassified) with the NDC"
    else:
        instead = codes or "the drug's own code"
    product = drug.describe_product()
    if drug.ndc11 and drug.decided_by != "ndc":
        # Its units say the policy's drug, its NDC does not: either may be the mistake.
        yield Problem(
            f"{drug.code} is {entry.another_drug}, and a payer reads the line's units as that "
            f"drug; {drug.recognised_by}, but its NDC {drug.ndc11} is no {ctx.policy.id} "
            f"product the policy or the crosswalk knows: {entry.another_drug}, billed at a "
            f"{ctx.policy.id} dose, or {product} under the wrong code and NDC",
            f"if the line is {product}, bill {instead} with the product's NDC; if it is "
            f"{entry.another_drug}, correct the units",
            segment=drug.service_segment,
            segment_index=drug.line.segment_index,
            element=drug.line.element("procedure"),
        )
        return
    yield Problem(
        f"{drug.code} is {entry.another_drug}, and a payer reads the line's units as that "
        f"drug; but this line is {product} ({drug.recognised_by}): bill it as {instead}",
        f"bill {instead} for {product}, with the same units if they are milligrams",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
        element=drug.line.element("procedure"),
    )
