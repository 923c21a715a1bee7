"""The `edi-precheck` command line. Exit codes: 0 clean, 1 findings, 2 the run failed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import click
import structlog

from edi_precheck import __version__, logs
from edi_precheck.engine import FileResult, read_claims
from edi_precheck.findings import Finding, Severity
from edi_precheck.policy import covered_codes, shipped_policies
from edi_precheck.report.lines import LineWriter, line_record
from edi_precheck.sources import SourceError, expand

EXIT_CLEAN, EXIT_FINDINGS, EXIT_RUN_FAILED = 0, 1, 2
FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "never": None}

log = structlog.get_logger("edi_precheck")


class RunError(click.ClickException):
    """The run itself cannot proceed (bad path, bad policy): message and exit 2."""

    exit_code = EXIT_RUN_FAILED


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    try:
        stream = path.open("w", encoding="utf-8", newline="")
    except OSError as error:
        raise RunError(f"cannot write {path}: {error.strerror}") from None
    with stream:
        yield stream


def _log_file(result: FileResult) -> None:
    """One event per file-level finding and one summary event per file."""
    for finding in result.findings:
        _log_finding(result.name, finding)
    log.info("file.read", file=result.name, transaction_sets=result.transaction_sets,
             claims=result.claims, service_lines=result.service_lines,
             checked_lines=result.checked_lines, findings=len(result.findings))


def _log_finding(file: str, finding: Finding) -> None:
    emit = log.error if finding.severity is Severity.ERROR else log.warning
    emit("finding", file=file, rule=finding.rule, claim_id=finding.claim_id,
         line=finding.line, segment_index=finding.segment_index, message=finding.message,
         hint=finding.hint)


def _exit_code(results: list[FileResult], fail_on: str) -> int:
    threshold = FAIL_ON[fail_on]
    if threshold is None:
        return EXIT_CLEAN
    blocking = any(finding.severity >= threshold
                   for result in results for finding in result.findings)
    return EXIT_FINDINGS if blocking else EXIT_CLEAN


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edi-precheck")
@click.option("--log-format", type=click.Choice(["auto", "json", "console"]), default="auto",
              show_default=True, help="Logs on stderr: JSON lines unless stderr is a terminal.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
def main(log_format: str, log_level: str) -> None:
    """Check X12 837 claim files for drug-line billing mistakes before they are sent."""
    logs.configure(log_format, log_level)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--code", "codes", multiple=True, metavar="HCPCS",
              help="List lines of this code (repeatable). Default: the codes the policies cover.")
@click.option("--all", "all_lines", is_flag=True, help="List every service line.")
@click.option("--format", "output_format", type=click.Choice(["csv", "json", "jsonl"]),
              default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the listing here instead of stdout.")
@click.option("--fail-on", type=click.Choice(list(FAIL_ON)), default="error",
              show_default=True, help="Exit 1 when a file-level finding reaches this severity.")
def lines(paths: tuple[str, ...], codes: tuple[str, ...], all_lines: bool,
          output_format: str, output: Path | None, fail_on: str) -> None:
    """List the drug service lines of 837 files, with their claim context.

    PATHS are files, folders (searched recursively for .837 .x12 .edi .txt .dat) or - for
    stdin.
    """
    try:
        sources = expand(list(paths))
    except SourceError as error:
        raise RunError(str(error)) from None
    wanted = None if all_lines else frozenset(
        code.upper() for code in codes) or covered_codes(shipped_policies())
    results = []
    with _output(output) as stream:
        writer = LineWriter(stream, output_format)
        for source in sources:
            result = FileResult(source.name)
            for claim in read_claims(source, result):
                for line in claim.lines:
                    if wanted is None or line.code.upper() in wanted:
                        writer.write(line_record(source.name, claim, line))
            _log_file(result)
            results.append(result)
        writer.close()
    sys.exit(_exit_code(results, fail_on))
