"""Settings from a file, beneath the environment and the command line.

Precedence, highest first: a command-line option; an environment variable
(`$EDI_PRECHECK_FAIL_ON` ...); the settings file; the built-in default. The settings file
is the nearest, from the working folder up, of `edi-precheck.toml` (its top level) and
`pyproject.toml` with a `[tool.edi-precheck]` table; the first folder that has either
decides. Its keys (`schemas/config.schema.json`) are checked before anything runs: a
misspelt key is an error, not a setting silently ignored.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

OWN_FILE = "edi-precheck.toml"
PROJECT_FILE = "pyproject.toml"


class ConfigError(Exception):
    """The settings file cannot be read or holds what no option takes."""


@dataclass(frozen=True)
class Config:
    path: Path
    values: dict[str, Any]

    def default_map(self) -> dict[str, Any]:
        """Click's default_map: per command, its options' defaults from the file."""
        folder = self.path.parent
        v = self.values
        common: dict[str, Any] = {}
        if "policy" in v:
            common["policy_paths"] = [str(folder / path) for path in v["policy"]]
        if "crosswalk" in v:
            common["crosswalk"] = str(folder / v["crosswalk"])
        history: dict[str, Any] = {}
        if "history" in v:
            history["history_url"] = v["history"]
        if "history-key-file" in v:
            history["key_file"] = str(folder / v["history-key-file"])
        run = {**common, **history}
        for key, option in (
            ("fail-on", "fail_on"),
            ("ig", "ig"),
            ("ig-engine", "ig_engine"),
            ("jobs", "jobs"),
        ):
            if key in v:
                run[option] = v[key]
        check = dict(run)
        if "format" in v:
            check["output_format"] = v["format"]
        lines = {key: value for key, value in common.items() if key == "policy_paths"}
        if "fail-on" in v:
            lines["fail_on"] = v["fail-on"]
        recorded = {**common, **history}
        return {
            "check": check,
            "split": run,
            "lines": lines,
            "history": {"record": recorded, "forget": recorded},
            "serve": {
                **common,
                **history,
                **({"ig_engine": v["ig-engine"]} if "ig-engine" in v else {}),
            },
        }


def find(start: Path) -> Path | None:
    """The settings file that applies in `start`, if any."""
    for folder in (start, *start.parents):
        own = folder / OWN_FILE
        if own.is_file():
            return own
        project = folder / PROJECT_FILE
        if project.is_file() and _tool_table(project) is not None:
            return project
    return None


def load(start: Path) -> Config | None:
    path = find(start)
    if path is None:
        return None
    values = _read(path) if path.name == OWN_FILE else _tool_table(path)
    assert values is not None
    problems = _problems(values)
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return Config(path, values)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read the settings file {path}: {error}") from None


def _tool_table(path: Path) -> dict[str, Any] | None:
    table = _read(path).get("tool", {}).get("edi-precheck")
    return table if isinstance(table, dict) else None


def _problems(values: dict[str, Any]) -> list[str]:
    import jsonschema

    text = resources.files("edi_precheck").joinpath("schemas/config.schema.json").read_text()
    validator = jsonschema.Draft202012Validator(json.loads(text))
    return [
        f"{'/'.join(map(str, error.absolute_path)) or 'settings'}: {error.message}"
        for error in sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))
    ]
