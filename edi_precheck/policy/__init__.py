"""Policies: the drug facts and payer rules the checks apply, kept as JSON data."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def shipped_policies() -> list[dict[str, Any]]:
    """The policies inside the package, in file-name order."""
    folder = resources.files("edi_precheck.policy") / "data"
    return [json.loads(entry.read_text("utf-8"))
            for entry in sorted(folder.iterdir(), key=lambda entry: entry.name)
            if entry.name.endswith(".json")]


def covered_codes(policies: list[dict[str, Any]]) -> frozenset[str]:
    """The HCPCS codes any of `policies` covers."""
    return frozenset(code for policy in policies for code in policy["codes"])
