"""No diagnosis on the line supports the product's indications.

## What it checks
That at least one diagnosis the line relies on (837P: pointed at; 837I: the claim's)
matches an indication of the product the NDC names (without one: the product the units are
a dose of, else any product the code covers), including indications that need a second code
on the claim (bone loss on an aromatase inhibitor needs Z79.811 with a C50 breast cancer
code). A payer rule may limit the indications to the label (Medicare); other payers also
pay compendia uses (systemic mastocytosis for Xgeva in one BCBS policy).

## Why it matters
The classic denosumab medical-necessity denial (CARC 50, RARC N115): an Xgeva dose for
plain osteoporosis, Prolia for bone metastases. Medicare pays the label and the MAC's
article, so there it is an error; other plans differ, so by default a warning that an
overlay can make an error. A diagnosis that is another product's indication (bone
metastases on a Prolia line) is outside the label for certain; one that no list of the
policy names is outside only if the product's lists are complete, so while a policy marks
them UNCONFIRMED that finding is a warning at most, unless the payer's own policy confirms
the lists for its lines (`confirms_indications` in a payer rule of an overlay).

## Example
Xgeva `LIN**N4*55513073001~` on a Medicare line pointing at `HI*ABK:M810~`.

## Use instead
Point the line at the diagnosis that supports the drug, e.g. `C7951` for Xgeva.

## Policy keys
`products.*.indications`, `indications`, `payer_rules.*.indication_basis`,
`payer_rules.*.confirms_indications`.

## References
MAC billing and coding article A52399 (denosumab); Prolia and Xgeva labels; Prime
Therapeutics/BCBS PH-0098 (compendia uses); SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity, shown
from edi_precheck.policy import Indication, PayerRule, Product, matches_icd10
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("dx.not_covered", snip=6, severity=Severity.WARNING)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    # Read as the code a dot was typed into (C79.51): dx.invalid says that mistake.
    codes = tuple(_code(d.code) for d in ctx.claim.line_diagnoses(drug.line))
    if not codes or not drug.candidates:
        return  # no usable diagnosis: dx.pointer says why
    indications, with_any = _indications(drug.candidates, ctx)
    limiting = tuple(rule for rule in drug.payer_rules if rule.indication_basis)
    claim_codes = tuple(_code(d.code) for d in ctx.claim.diagnoses) if with_any else ()
    # The verdict depends on these alone; a file repeats them claim after claim.
    key = ("dx.not_covered", codes, claim_codes, tuple(map(id, indications)), *map(id, limiting))
    verdict = ctx.memo.get(key, _UNKNOWN)
    if verdict is _UNKNOWN:
        verdict = _verdict(codes, claim_codes, indications, limiting)
        ctx.memo.put(key, verdict)
    if verdict is _COVERED:
        return
    product = drug.describe_product()
    listed = ", ".join(shown(code) for code in codes)
    # Groups the payer's own policy confirms (an overlay's payer rule): graded as it says.
    confirmed = {group for rule in drug.payer_rules for group in rule.confirms_indications}
    if isinstance(verdict, Indication):  # an indication some payers pay, but not this one
        rule_ids = ", ".join(f"'{rule.id}'" for rule in limiting)
        bases = " and ".join(
            sorted({basis for rule in limiting for basis in rule.indication_basis})
        )
        yield Problem(
            f"the line's diagnoses ({listed}) support {product} only as a "
            f"{verdict.basis} use ({verdict.label}); payer rule {rule_ids} pays {bases} "
            "indications only",
            "point the line at a diagnosis of the drug's label, or ask the payer before billing",
            segment=drug.service_segment,
            segment_index=drug.line.segment_index,
            # The use is not a label use by its own basis; what rests on is its list.
            unconfirmed=""
            if verdict.confirmed or verdict.group in confirmed
            else f"the diagnosis list of indications '{verdict.group}'",
        )
        return
    unconfirmed = _resting_on(indications, codes, confirmed, ctx)
    payable = [indication for indication in indications if _paid(indication, limiting)]
    labels = sorted({indication.label for indication in payable or indications})
    if drug.decided_by == "dose":
        product += f" (no NDC on the line; its units are {product}'s dose)"
        check = "check the units and add the NDC"
    else:
        check = "check the NDC (it decides the product)"
    yield Problem(
        f"no diagnosis on the line ({listed}) supports {product}; its "
        f"indications: {'; '.join(labels)}",
        f"point the line at the diagnosis the drug was given for, or {check}",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
        unconfirmed=unconfirmed,
    )


_UNKNOWN, _COVERED, _NONE_MET = object(), object(), object()


def _indications(
    candidates: tuple[Product, ...], ctx: ClaimContext
) -> tuple[tuple[Indication, ...], bool]:
    """The indications of what the line may be, and whether any needs a claim diagnosis
    beside the line's (`with_any`)."""
    key = ("dx.not_covered:indications", *map(id, candidates))
    found = ctx.memo.get(key)
    if found is None:
        indications = tuple(
            indication for product in candidates for indication in product.indications
        )
        found = (indications, any(indication.with_any for indication in indications))
        ctx.memo.put(key, found)
    return found  # type: ignore[return-value]


def _paid(indication: Indication, limiting: tuple[PayerRule, ...]) -> bool:
    return all(indication.basis in rule.indication_basis for rule in limiting)


def _verdict(
    codes: tuple[str, ...],
    claim_codes: tuple[str, ...],
    indications: tuple[Indication, ...],
    limiting: tuple[PayerRule, ...],
) -> object:
    """_COVERED when a diagnosis meets an indication the payer pays; else the first
    indication met that the payer does not pay; else _NONE_MET."""
    unpaid = None
    for indication in indications:
        if any(matches_icd10(code, indication.diagnoses) for code in codes) and (
            not indication.with_any
            or any(matches_icd10(code, indication.with_any) for code in claim_codes)
        ):
            if _paid(indication, limiting):
                return _COVERED
            unpaid = unpaid or indication
    return unpaid if unpaid is not None else _NONE_MET


def _resting_on(
    indications: tuple[Indication, ...],
    codes: tuple[str, ...],
    confirmed: set[str],
    ctx: ClaimContext,
) -> str:
    """The unconfirmed fact a 'not covered' finding rests on, or "". A diagnosis that is
    the indication of another product of the family (bone metastases on a Prolia line) is
    outside this product's label whatever its code lists hold; a diagnosis no list names
    is outside only if the product's lists are complete, which a policy may not confirm
    (a payer's own policy may, for its lines: `confirmed`)."""
    own = set(indications)
    for product in ctx.policy.products.values():
        for indication in product.indications:
            if indication not in own and any(
                matches_icd10(code, indication.diagnoses) for code in codes
            ):
                return ""
    groups = sorted(
        {
            indication.group
            for indication in indications
            if not indication.confirmed and indication.group not in confirmed
        }
    )
    named = " and ".join(f"'{group}'" for group in groups)
    return f"the diagnosis list of indications {named}" if groups else ""


def _code(text: str) -> str:
    return text.upper().replace(".", "")
