"""The rules: one module per rule id, registered in one catalog (`catalog()`).

`runner.ClaimChecker` applies them to claims; `edi-precheck rules` and the README's rule
table are generated from the catalog.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading

from edi_precheck.rules._registry import DOC_SECTIONS, REGISTRY, Rule

_NOT_RULES = {"_registry", "context", "runner"}
_loaded = False
_loading = threading.Lock()


def catalog() -> dict[str, Rule]:
    """Every rule, by id, in id order; imports the rule modules on first use.

    Whether they were imported is a flag of its own, set under a lock once all are in: a
    rule module imported on its own first (a test, a tool) must not make the catalog look
    complete, nor may a thread see it half-filled by another.
    """
    global _loaded
    if not _loaded:
        with _loading:
            if not _loaded:
                for module in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
                    if module.name.rsplit(".", 1)[-1] not in _NOT_RULES:
                        importlib.import_module(module.name)
                _loaded = True
    return dict(sorted(REGISTRY.items()))


__all__ = ["DOC_SECTIONS", "Rule", "catalog"]
