"""`check --format sarif`: SARIF 2.1.0, for pipelines that read code-scanning results.

Each rule of the catalog is a `reportingDescriptor` (title, what it checks, its full
documentation, default level, SNIP type and likely denial); each finding a `result` at its
file, with the claim as a logical location (an 837 is rarely split into lines, so no text
region is claimed) and the finding's fields as properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from edi_precheck import __version__
from edi_precheck.policy import Policy
from edi_precheck.report import catalog_doc
from edi_precheck.report.results import Report
from edi_precheck.rules import Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "off": "none"}


def artifact_uri(name: str) -> str:
    """A file's name as the URI reference SARIF wants: an absolute path as a file: URI, a
    relative one percent-encoded ('claims #3.837' -> 'claims%20%233.837'; '#' would start
    a fragment)."""
    path = PurePosixPath(name)
    if path.is_absolute():
        return Path(name).as_uri()
    return quote(path.as_posix(), safe="/")


def sarif_document(
    report: Report, rules: Mapping[str, Rule], policy: Policy | None
) -> dict[str, Any]:
    entries = catalog_doc.entries(rules, policy)
    index = {entry["id"]: position for position, entry in enumerate(entries)}
    descriptors = [
        {
            "id": entry["id"],
            "name": entry["id"].replace(".", "_"),
            "shortDescription": {"text": entry["title"]},
            "fullDescription": {"text": rules[entry["id"]].section("What it checks")},
            "help": {
                "text": rules[entry["id"]].doc.strip(),
                "markdown": rules[entry["id"]].doc.strip(),
            },
            "defaultConfiguration": {"level": LEVELS[entry["severity"]]},
            "properties": {"snip": entry["snip"], "denial": entry["denial"]},
        }
        for entry in entries
    ]
    results = []
    for result in report.files:
        for finding in result.findings:
            location: dict[str, Any] = {
                "physicalLocation": {"artifactLocation": {"uri": artifact_uri(result.name)}}
            }
            if finding.claim_index is not None:
                location["logicalLocations"] = [
                    {"name": f"claim {finding.claim_index}", "kind": "object"}
                ]
            record = finding.to_dict()
            results.append(
                {
                    "ruleId": finding.rule,
                    **({"ruleIndex": index[finding.rule]} if finding.rule in index else {}),
                    "level": "error" if str(finding.severity) == "error" else "warning",
                    "message": {"text": finding.message},
                    "locations": [location],
                    "properties": {
                        key: value
                        for key, value in record.items()
                        if key not in ("rule", "severity", "message") and value is not None
                    },
                }
            )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "edi-precheck",
                        "version": __version__,
                        "rules": descriptors,
                    }
                },
                "results": results,
                "properties": {"summary": report.summary()},
            }
        ],
    }
