"""The README's examples run as written."""

from __future__ import annotations

import contextlib
import io
import re

from conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text()


def test_python_example_runs_and_prints_what_it_says(monkeypatch):
    (code,) = re.findall(r"```python\n(.*?)```", README, re.S)
    printed = io.StringIO()
    monkeypatch.chdir(ROOT)
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    lines = printed.getvalue().splitlines()
    assert lines[0] == "True" and lines[-2] == "4" and lines[-1] == "[]"


def test_demo_output_in_readme_is_current(monkeypatch):
    block = README.split("```text\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    result = run_cli("check", "fixtures/demo/demo.837")
    assert result.stdout == block
