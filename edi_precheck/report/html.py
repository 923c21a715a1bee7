"""`check --format html`: one self-contained page for a billing office.

No external CSS, script or font (it is opened on office machines without internet): the
style and the filter script are in the page. Jinja2 renders it with autoescaping on, so
every value from the file (claim ids, codes, messages that quote the file) is escaped.
The summary comes first (claims, claims with errors, findings per rule with the denial each
predicts), then each file's claims with their findings, the fix in bold. The severity and
rule filters are a few lines of plain script; printing shows what is filtered in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jinja2

from edi_precheck import __version__
from edi_precheck.findings import shown
from edi_precheck.report.results import FileResult, Report


def _claims(result: FileResult) -> list[dict[str, Any]]:
    """The file's findings grouped: file-level first, then claim by claim in file order."""
    groups: dict[Any, dict[str, Any]] = {}
    for finding in result.findings:
        key = finding.claim_index if finding.claim_index is not None else "file"
        group = groups.setdefault(
            key,
            {
                "claim_index": finding.claim_index,
                # as the text report shows it: control characters escaped, a long one cut
                "claim_id": shown(finding.claim_id or ""),
                "findings": [],
                "errors": 0,
            },
        )
        group["findings"].append(finding.to_dict())
        group["errors"] += str(finding.severity) == "error"
    ordered = [groups.pop("file")] if "file" in groups else []
    return ordered + list(groups.values())


def render(report: Report, titles: Mapping[str, str], denials: Mapping[str, str]) -> str:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("edi_precheck.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    rules: list[dict[str, Any]] = [
        {
            "id": rule,
            "title": titles.get(rule, ""),
            "denial": denials.get(rule, ""),
            "errors": counts.get("error", 0),
            "warnings": counts.get("warning", 0),
        }
        for rule, counts in report.by_rule().items()
    ]
    rules.sort(key=lambda r: (-(r["errors"] + r["warnings"]), r["id"]))
    files = [
        {
            "name": result.name,
            "claims": result.claims,
            "service_lines": result.service_lines,
            "checked_lines": result.checked_lines,
            "errors": result.errors,
            "warnings": result.warnings,
            "omitted": result.omitted,
            "groups": _claims(result),
        }
        for result in report.files
    ]
    return environment.get_template("report.html.j2").render(
        version=__version__,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        summary=report.summary(),
        rules=rules,
        files=files,
        policies=report.policies,
    )
