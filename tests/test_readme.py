"""The README's examples run as written."""

from __future__ import annotations

import contextlib
import io
import json
import re

from conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text()


def test_python_example_runs_and_prints_what_it_says(monkeypatch):
    code = re.findall(r"```python\n(.*?)```", README, re.S)[0]
    printed = io.StringIO()
    monkeypatch.chdir(ROOT)
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    lines = printed.getvalue().splitlines()
    (said,) = re.findall(r'claims_with_errors"\]\)\s+# (\d+)', code)  # what the README says
    assert lines[0] == "True" and lines[-2] == said and lines[-1] == "[]"


def test_history_example_runs_and_prints_what_it_says(monkeypatch, tmp_path):
    """The second Python example, after the first (it checks the first one's upload)."""
    second = re.findall(r"```python\n(.*?)```", README, re.S)[1]
    monkeypatch.chdir(tmp_path)  # its store is made in the working folder
    namespace = {"upload": (ROOT / "fixtures/837p/prolia_medicare_clean.837").read_bytes()}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(second, "README.md", "exec"), namespace)
    assert printed.getvalue().splitlines() == ["[]"]
    assert (tmp_path / "history.db").exists()


def test_demo_output_in_readme_is_current(monkeypatch):
    block = README.split("```text\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    result = run_cli("check", "fixtures/demo/demo.837")
    assert result.stdout == block


def test_pre_submit_hook_example_runs(tmp_path):
    """The README's hook, with `send` and `notify` defined as a pipeline would."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    hook = next(
        block for block in re.findall(r"```sh\n(.*?)```", README, re.S) if "pre-submit" in block
    )
    script = tmp_path / "hook.sh"
    script.write_text(
        hook.replace(
            "#!/bin/sh\n",
            '#!/bin/sh\nsend() { cp "$1" "$SENT"; }\nnotify() { cp "$1" "$NOTIFIED"; }\n',
            1,
        )
    )
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "edi-precheck").exists() and not shutil.which("edi-precheck"):
        import pytest

        pytest.skip("the edi-precheck console script is not installed")
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "SENT": str(tmp_path / "sent.837"),
        "NOTIFIED": str(tmp_path / "notified.json"),
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        ["sh", str(script), str(ROOT / "fixtures/demo/demo.837"), str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "CLM*DEMO0001*" in (tmp_path / "sent.837").read_text()
    assert "CLM*DEMO0002*" not in (tmp_path / "sent.837").read_text()
    held = [
        c
        for c in json.loads((tmp_path / "notified.json").read_text())["claims"]
        if c["output"] == "held"
    ]
    assert len(held) == 3
