"""The CTP quantity or unit is missing, invalid, or disagrees with the billed units.

## What it checks
That a line with an NDC has CTP04 (a positive quantity) and CTP05-1 (F2, GR, ME, ML or UN),
and, for a product of the policy, that the quantity matches the billed units: billed units
/ units per package x the package's quantity in that unit (60 units of Prolia = 1 UN or
1 ML; 120 units of Xgeva = 1 UN or 1.7 ML). Where a dose is split into a given line and a
JW (wasted) line, either line may also report the whole package.

## Why it matters
Payers compare the NDC quantity with the HCPCS units; a disagreement (1 UN with 1 unit
billed, the 60-for-1 confusion) is denied (CARC 16 / RARC M119) or priced wrong.

## Example
`SV1*HC:J0897:JZ*27.50*UN*1***1~` ... `LIN**N4*55513071001~CTP****1*UN~`

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~` ... `LIN**N4*55513071001~CTP****1*UN~`

## Policy keys
`products.*.units_per_package`, `products.*.package`.

## References
837P/837I 2410 CTP04, CTP05; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from edi_precheck.findings import quoted
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, Where, decimal_text

CTP_UNITS = ("F2", "GR", "ME", "ML", "UN")  # X12 code list of CTP05-1 in the 837
# Rounding slack, not a payer rule: senders round CTP04 (0.017 UN for 1 unit of a 60-unit
# syringe), so a quantity within this of the computed one is the same amount.
TOLERANCE = Decimal("0.01")


@rule("ndc.quantity", snip=6)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    line = drug.line
    if not line.ndc:
        return

    def ctp(element: str | None = None) -> Where:
        if line.ctp_segment_index is None:  # no CTP at all: the LIN it should follow
            return {"segment": "LIN", "segment_index": line.ndc_segment_index, "element": None}
        return {"segment": "CTP", "segment_index": line.ctp_segment_index, "element": element}

    quantity = line.ctp_quantity_value
    if not line.ctp_quantity and not line.ctp_unit:
        yield Problem(
            "the NDC has no CTP quantity and unit", "add CTP****<quantity>*<unit>~", **ctp()
        )
        return
    if quantity is None or quantity <= 0:
        yield Problem(
            f"CTP04 quantity {quoted(line.ctp_quantity)} is not a positive number",
            "send the NDC quantity given, e.g. 1",
            **ctp("CTP04"),
        )
        return
    if line.ctp_unit not in CTP_UNITS:
        yield Problem(
            f"CTP05 unit {quoted(line.ctp_unit)} is not one of {', '.join(CTP_UNITS)}",
            "use UN (unit), ML, GR, ME or F2",
            **ctp("CTP05"),
        )
        return
    product, units = drug.product, line.units_value
    if product is None or product.units_per_package is None or units is None or units <= 0:
        return
    per_package = product.package.get(line.ctp_unit)
    if per_package is None:
        known = " or ".join(sorted(product.package)) or "its package unit"
        yield Problem(
            f"CTP05 unit {line.ctp_unit} is not how {product.name} is counted ({known})",
            f"send the quantity in {known}",
            **ctp("CTP05"),
        )
        return
    # A dose split into a given line and a JW line may report the whole package on either.
    amounts = [units]
    group = ctx.group(line)
    if group.has_waste:
        amounts.append(group.total_units)
    quantities = [amount / product.units_per_package * per_package for amount in amounts]
    if any(abs(expected - quantity) <= TOLERANCE for expected in quantities):
        return
    expected = quantities[0]
    billed = f"{decimal_text(units)} unit{'s' if units != 1 else ''}"
    package = (
        f"{decimal_text(product.units_per_package)} units per "
        f"{decimal_text(per_package)} {line.ctp_unit}"
    )
    yield Problem(
        f"CTP says {decimal_text(quantity)} {line.ctp_unit}, but {billed} of {product.name} "
        f"({package}) is {decimal_text(expected.quantize(Decimal('0.001')))} {line.ctp_unit}",
        "make the HCPCS units and the NDC quantity describe the same amount",
        **ctp("CTP04"),
    )
