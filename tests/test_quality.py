"""The code stays ruff-clean, formatted and type-checked, and the package layout keeps its
one-way imports."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "edi_precheck"
# Each layer may import only the layers after it in this list (and edi_precheck.findings).
LAYERS = [
    "cli",
    "service",
    "spark",
    "api",
    "split",
    "engine",
    "units",
    "reading",
    "report",
    "rules",
    "history",
    "policy",
    "model",
    "x12",
]


def _ruff() -> list[str] | None:
    if shutil.which("ruff"):
        return ["ruff"]
    try:
        import ruff  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "ruff"]


def test_ruff_clean():
    command = _ruff()
    if command is None:
        pytest.skip("ruff is not installed (pip install '.[test]')")
    result = subprocess.run(
        [*command, "check", str(PACKAGE), str(ROOT / "tests"), str(ROOT / "bench")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_clean():
    command = _ruff()
    if command is None:
        pytest.skip("ruff is not installed (pip install '.[test]')")
    result = subprocess.run(
        [*command, "format", "--check", str(PACKAGE), str(ROOT / "tests"), str(ROOT / "bench")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_check():
    """mypy, configured in pyproject.toml, finds nothing in the package."""
    try:
        from mypy import api
    except ImportError:
        pytest.skip("mypy is not installed (pip install '.[test]')")
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), str(PACKAGE)])
    assert status == 0, stdout + stderr


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "edi_precheck" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_imports_flow_one_way(path: Path):
    """cli -> api -> engine -> report -> rules -> policy -> model -> x12, never back up."""
    own = _layer("edi_precheck." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    if own is None:
        return
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            target = _layer(node.module)
            if target is not None and target != own:
                assert LAYERS.index(target) > LAYERS.index(own), (
                    f"{path.name}: layer '{own}' imports '{node.module}' from above it"
                )
