"""The `edi-precheck` command line. Exit codes: 0 clean, 1 findings, 2 the run failed."""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import click
import structlog

from edi_precheck import __version__, config, logs
from edi_precheck.engine import Engine
from edi_precheck.findings import Finding, Severity, escaped, shown
from edi_precheck.history.errors import HistoryError
from edi_precheck.history.keys import existing_site_key, site_key
from edi_precheck.history.run import RunHistory
from edi_precheck.history.store import HISTORY_ENV, HistoryStore
from edi_precheck.model.patient import PatientKeyer
from edi_precheck.policy import (
    CrosswalkError,
    PolicyError,
    load_policies,
    resolve_policies,
    shipped_policies,
)
from edi_precheck.reading import read_claims
from edi_precheck.report import catalog_doc, html, text
from edi_precheck.report.csv_report import FindingCsvWriter
from edi_precheck.report.files import OutputError, replaced_atomically
from edi_precheck.report.lines import LineWriter, line_record
from edi_precheck.report.results import FileResult, Report
from edi_precheck.report.sarif import sarif_document
from edi_precheck.rules import DOC_SECTIONS, catalog
from edi_precheck.rules.runner import grade_file_findings
from edi_precheck.sources import Source, SourceError, expand, file_identity

EXIT_CLEAN, EXIT_FINDINGS, EXIT_RUN_FAILED = 0, 1, 2
# File-level findings that mean the input, or a transaction set of it, was not read at all.
NOT_READ_RULES = frozenset({"x12.unreadable", "x12.unsupported"})
FAIL_ON: dict[str, Severity | None] = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "never": None,
}

log = structlog.get_logger("edi_precheck")


class RunError(click.ClickException):
    """The run itself cannot proceed (bad path, bad policy): message and exit 2. The message
    names paths and values as given, with control characters escaped."""

    exit_code = EXIT_RUN_FAILED

    def __init__(self, message: str, lines: Sequence[str] = ()) -> None:
        # `lines` each on a line of its own, escaped one by one: only our breaks stay.
        super().__init__(escaped(message) + "".join(f"\n  {escaped(line)}" for line in lines))

    @classmethod
    def of(cls, error: Exception) -> RunError:
        """The error's message; an invalid policy's problems each on a line."""
        if isinstance(error, PolicyError):
            return cls("invalid policy:", error.problems)
        return cls(str(error))


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    """stdout, or `path` written whole at the end (report.files: never through a link
    planted there, never half, mode 0600)."""
    if path is None:
        yield sys.stdout
        return
    try:
        with replaced_atomically(path) as stream:
            yield stream
    except OutputError as error:
        raise RunError(str(error)) from None


def _sources(
    paths: tuple[str, ...], outputs: dict[str, Path | None], make_folders: bool = False
) -> list[Source]:
    """The inputs PATHS name, kept apart from the files the run writes (`outputs`, by
    option): a folder search passes over those, and none may be an input or another
    option's file, or lie in a folder that does not exist (with `make_folders`, such a
    folder is made, once everything else is known to be right). Checked before any work."""
    written = {option: path for option, path in outputs.items() if path is not None}
    try:
        sources = expand(list(paths), skip=written.values(), on_repeat=_repeated_input)
    except SourceError as error:
        raise RunError(str(error)) from None
    inputs = {
        identity: source.name
        for source in sources
        if source.path is not None and (identity := file_identity(source.path)) is not None
    }
    seen: dict[object, str] = {}
    for option, path in written.items():
        if not str(path) or str(path) == "." or path.is_dir():
            raise RunError(f"{option} {path}: names a folder, not a file to write")
        # By the file a name reaches, not the name: a hard link or a symbolic link to an
        # input is the input, and writing it would destroy what is being read.
        identity = file_identity(path)
        for key in (path.resolve(), identity):
            if key is not None and key in seen:
                raise RunError(f"{seen[key]} and {option} must be different files")
        seen[path.resolve()] = option
        if identity is not None:
            seen[identity] = option
        if identity in inputs:
            raise RunError(
                f"{option} {path} is an input file ({inputs[identity]}): edi-precheck never "
                "writes over its input"
            )
        folder = path.resolve().parent
        if folder.exists() and not folder.is_dir():
            raise RunError(f"{option} {path}: {path.parent} is a file, not a folder")
        if not folder.is_dir() and not make_folders:
            raise RunError(f"{option} {path}: folder {path.parent} does not exist")
    for option, path in written.items() if make_folders else ():
        try:
            path.resolve().parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunError(f"{option} {path}: cannot make its folder: {error.strerror}") from None
    return sources


def _repeated_input(name: str, first: str) -> None:
    log.warning("input.repeated", file=name, same_as=first, effect="read once")


def _log_finding(file: str, finding: Finding, level: str = "debug") -> None:
    """A finding, at debug where a report says it in words (a log line per finding would be
    50,000 lines for a large batch); `lines`, which reports none, logs the file's own at
    warning. The claim is named by index and ref, never by CLM01 (logs)."""
    getattr(log, level)(
        "finding",
        file=file,
        rule=finding.rule,
        severity=str(finding.severity),
        claim_id=finding.claim_id,
        claim_index=finding.claim_index,
        line=finding.line,
        code=finding.code,
        segment_index=finding.segment_index,
        **({"message": finding.message} if level != "debug" else {}),
    )


def _log_findings(result: FileResult, findings: list[Finding], level: str = "debug") -> None:
    for finding in findings:
        _log_finding(result.name, finding, level)


class _Run:
    """The one info event of a run: what it read (each input by SHA-256), what it found,
    how long it took and how it exits."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.id = uuid.uuid4().hex[:16]
        self.started = time.monotonic()
        structlog.contextvars.bind_contextvars(run_id=self.id)

    def finished(self, report: Report, exit_code: int, **extra: Any) -> None:
        summary = report.summary()
        log.info(
            "run.finished",
            command=self.command,
            version=__version__,
            inputs=[{"file": r.name, "sha256": r.sha256} for r in report.files],
            claims=summary["claims"],
            claims_with_errors=summary["claims_with_errors"],
            findings=summary["errors"] + summary["warnings"],
            errors=summary["errors"],
            warnings=summary["warnings"],
            duration_s=round(time.monotonic() - self.started, 3),
            exit_code=exit_code,
            **extra,
        )


def _log_file(event: str, result: FileResult) -> None:
    """The summary event of one file, at debug (the run's summary is at info)."""
    log.debug(
        event,
        file=result.name,
        transaction_sets=result.transaction_sets,
        claims=result.claims,
        service_lines=result.service_lines,
        checked_lines=result.checked_lines,
        errors=result.count(Severity.ERROR),
        warnings=result.count(Severity.WARNING),
    )


PROGRESS_MIN_BYTES = 5_000_000


@contextmanager
def _progress(
    sources: list[Source], report_to: Path | bool | None = False
) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr (bytes and files done) for inputs of a few MB or more,
    on a terminal only; None otherwise, so pipelines and logs stay clean. Not while a
    report is written as it goes to that terminal (`report_to` None: stdout, a terminal):
    it shows its progress, and a bar redrawn between its lines would garble both."""
    if report_to is None and sys.stdout.isatty():
        yield None
        return
    sizes = [
        source.path.stat().st_size
        for source in sources
        if source.path is not None and source.path.is_file()
    ]
    total = sum(sizes)
    if total < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(
        length=total,
        label=f"checking {len(sources)} file(s)",
        file=sys.stderr,
        show_eta=True,
        show_percent=True,
        width=30,
    ) as bar:
        yield bar.update


def _policy_options(function: Any) -> Any:
    """--policy and --crosswalk, as check and split take them."""
    function = click.option(
        "--crosswalk",
        envvar="EDI_PRECHECK_CROSSWALK",
        type=click.Path(dir_okay=False, path_type=Path),
        help="CMS ASP NDC-HCPCS crosswalk CSV. Default: the shipped excerpt.",
    )(function)
    return click.option(
        "--policy",
        "policy_paths",
        envvar="EDI_PRECHECK_POLICY",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Policy JSON file (repeatable; in EDI_PRECHECK_POLICY, separated by "
        f"'{os.pathsep}'). Default: the shipped policies.",
    )(function)


def _ack_option(function: Any) -> Any:
    return click.option(
        "--ack",
        "ack_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the 999 acknowledgment of the checked files here (needs --ig).",
    )(function)


def _ig_engine_option(function: Any) -> Any:
    """--ig-engine, as check, split and serve take it."""
    return click.option(
        "--ig-engine",
        "ig_engine",
        envvar="EDI_PRECHECK_IG_ENGINE",
        type=click.Choice(["native", "pyx12"]),
        default="native",
        show_default=True,
        help="What validates against the implementation guide: the native engine (pyx12's "
        "maps, compiled) or pyx12 itself (the reference, about ten times slower).",
    )(function)


def _ig_options(function: Any) -> Any:
    """--ig/--no-ig, --ig-engine and --jobs, as check and split take them."""
    function = _ig_engine_option(function)
    function = click.option(
        "--jobs",
        "-j",
        envvar="EDI_PRECHECK_JOBS",
        type=click.IntRange(min=1),
        default=os.cpu_count() or 1,
        show_default="number of CPUs",
        help="Processes: for implementation-guide checks, and for a file of 4 MB or more, "
        "checked in units (the report is the same for any number).",
    )(function)
    return click.option(
        "--ig/--no-ig",
        envvar="EDI_PRECHECK_IG",
        default=True,
        show_default=True,
        help="Validate against the implementation guide (x12.ig).",
    )(function)


def _history_options(function: Any) -> Any:
    """--history and --history-key-file, as check, split and history take them."""
    function = click.option(
        "--history-key-file",
        "key_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File with the site key patients are hashed with (made on first use). Default: "
        "$EDI_PRECHECK_HISTORY_KEY, else $EDI_PRECHECK_HISTORY_KEY_FILE, else history.key "
        "in the state folder.",
    )(function)
    return click.option(
        "--history",
        "history_url",
        envvar=HISTORY_ENV,
        metavar="URL",
        help="History store of the claims sent: sqlite:///path.db or "
        f"postgresql://user@host:port/db (also ${HISTORY_ENV}).",
    )(function)


def _open_history(
    url: str | None, key_file: Path | None, create: bool, read_only: bool = False
) -> HistoryStore | None:
    """The history store at `url` (None without one); exit 2 when it cannot be used.
    `read_only` for a run that only compares claims with it."""
    if not url:
        return None
    try:
        keyer = PatientKeyer(site_key(key_file))
        store = HistoryStore.open(url, keyer, create=create, read_only=read_only)
        log.info("history.opened", store=store.url)
    except HistoryError as error:
        raise RunError(str(error)) from None
    return store


def _fail_on_option(function: Any) -> Any:
    return click.option(
        "--fail-on",
        envvar="EDI_PRECHECK_FAIL_ON",
        type=click.Choice(list(FAIL_ON)),
        default="error",
        show_default=True,
        help="Exit 1 when a finding reaches this severity.",
    )(function)


class Terminated(BaseException):
    """SIGTERM: unwinds like Ctrl-C, so that temporary files are removed and a split that
    began writing leaves no output (report.files)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


class _Commands(click.Group):
    """The command group; a defect of ours ends the run with exit 2 and a message, never
    a traceback and exit 1 (which a hook would read as "findings", and go on)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """As click's, but an error (a bad option, a run that cannot proceed) is one JSON
        event on stderr when the logs are JSON lines, like everything else there."""
        kwargs["standalone_mode"] = False
        logs.json_lines = None
        # A hook started with stderr or stdout closed (2>&-): Python has no stream there.
        # What would go to it goes nowhere; the exit code still says what was found.
        for name in ("stderr", "stdout"):
            if getattr(sys, name) is None:
                setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115
        try:
            return super().main(*args, **kwargs)
        except click.ClickException as error:
            self._report(error, kwargs.get("args") or (args[0] if args else None))
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)

    @staticmethod
    def _report(error: click.ClickException, given: Any) -> None:
        as_json = logs.json_lines
        if as_json is None:  # the group's own options failed: logs were never set up
            words = list(given) if given is not None else sys.argv[1:]
            chosen = "json" if "json" in words or "--log-format=json" in words else "auto"
            logs.configure(chosen)
            as_json = logs.json_lines
        help_asked = type(error).__name__ == "NoArgsIsHelpError"  # no command: the help
        if not as_json or help_asked:
            error.show()
            return
        event = "usage_error" if isinstance(error, click.UsageError) else "run.failed"
        log.error(event, message=error.format_message(), exit_code=error.exit_code)

    def invoke(self, ctx: click.Context) -> Any:
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
        try:
            return super().invoke(ctx)
        except Terminated:
            raise RunError("stopped by SIGTERM; no output was written") from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:  # the reader of our output went away ('... | head')
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error
            raise RunError("the output was closed before the run finished") from None
        except Exception as error:
            where = traceback.extract_tb(error.__traceback__)[-1]
            place = f"{Path(where.filename).name}:{where.lineno}"
            # The error's text may quote file content: only its type and place are shown.
            log.error("internal_error", error=type(error).__name__, at=place)
            raise RunError(
                f"internal error ({type(error).__name__} at {place}); the run "
                "stopped. Please report it to the edi-precheck maintainers, "
                "with this line and not the file"
            ) from None
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edi-precheck")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "console"]),
    default="auto",
    show_default=True,
    help="Logs on stderr: JSON lines unless stderr is a terminal.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Default: info for JSON logs (the run's summary event); warning on a terminal, "
    "where the report speaks.",
)
@click.pass_context
def main(ctx: click.Context, log_format: str, log_level: str | None) -> None:
    """Check X12 837 claim files for drug-line billing mistakes before they are sent.

    Defaults come from the nearest edi-precheck.toml or pyproject.toml [tool.edi-precheck]
    and from EDI_PRECHECK_* variables; options given here win over both."""
    level = log_level or ("info" if logs.wants_json(log_format) else "warning")
    logs.configure(log_format, level, claim_key=existing_site_key())
    try:
        settings = config.load(Path.cwd())
    except config.ConfigError as error:
        raise RunError(str(error)) from None
    if settings is not None:
        ctx.default_map = settings.default_map()
        log.debug("settings.loaded", path=str(settings.path))
    # A run allocates millions of short-lived, acyclic objects; the cyclic collector's
    # default thresholds cost about a fifth of the run time (measured), so it runs less
    # often. A command-line process only: the library leaves its caller's settings alone.
    gc.set_threshold(100_000, 50, 100)


# -- check ----------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, required=True)
@_policy_options
@click.option(
    "--format",
    "output_format",
    envvar="EDI_PRECHECK_FORMAT",
    type=click.Choice(["text", "json", "jsonl", "csv", "sarif", "html"]),
    default="text",
    show_default=True,
    help="text (the terminal), json (the report schema), jsonl, csv (a row per finding), "
    "sarif (2.1.0), html (one self-contained page).",
)
@click.option(
    "--statistics",
    is_flag=True,
    help="After the text report, the findings per rule and severity.",
)
@click.option(
    "--no-color",
    "no_color",
    is_flag=True,
    help="No colour in the text report (also NO_COLOR).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report here instead of stdout.",
)
@_ig_options
@_ack_option
@_history_options
@_fail_on_option
def check(
    paths: tuple[str, ...],
    policy_paths: tuple[Path, ...],
    crosswalk: Path | None,
    output_format: str,
    output: Path | None,
    ig: bool,
    ig_engine: str,
    jobs: int,
    ack_path: Path | None,
    history_url: str | None,
    key_file: Path | None,
    fail_on: str,
    statistics: bool,
    no_color: bool,
) -> None:
    """Check the drug lines, envelopes and implementation-guide rules of 837 files.

    PATHS are files, folders (searched recursively for .837 .x12 .edi .txt .dat) or - for
    stdin. Claims are compared with those read before them (units.frequency,
    claim.duplicate), and with --history, with the claims on record there (read only).
    Exit 0: nothing at or above --fail-on; 1: findings; 2: the run failed.
    """
    _ack_needs_ig(ack_path, ig)
    run = _Run("check")
    sources = _sources(paths, {"--output": output, "--ack": ack_path})
    store = _open_history(history_url, key_file, create=False, read_only=True)
    engine = _engine(policy_paths, crosswalk, ig, jobs, ack_path, store, ig_engine)
    engine.holds_at = FAIL_ON[fail_on]  # claims held back are not compared with
    with engine, _progress(sources, output) as on_bytes:
        engine.on_bytes = on_bytes
        try:
            colour = _colour(output, no_color)
            report = _run_check(engine, sources, output_format, output, statistics, colour)
        except HistoryError as error:
            raise RunError(f"{error}; the check stopped") from None
        if ack_path is not None:
            _write_ack(ack_path, engine.ack_text())
    code = EXIT_FINDINGS if report.blocks(FAIL_ON[fail_on]) else EXIT_CLEAN
    run.finished(report, code, ig_engine=ig_engine if ig else None)
    sys.exit(code)


def _ack_needs_ig(ack: Path | None, ig: bool) -> None:
    if ack is not None and not ig:
        raise RunError("--ack needs implementation-guide validation; drop --no-ig")


def _engine(
    policy_paths: tuple[Path, ...],
    crosswalk: Path | None,
    ig: bool,
    jobs: int,
    ack: Path | None,
    history: HistoryStore | None = None,
    ig_engine: str = "native",
) -> Engine:
    """The engine check and split run, its policies and crosswalk loaded (exit 2 when they
    cannot be); it closes the history store when it is closed."""
    try:
        return Engine(
            policy_paths,
            crosswalk,
            ig=ig,
            ig_engine=ig_engine,
            jobs=jobs,
            acknowledge=ack is not None,
            history=history,
        )
    except (PolicyError, CrosswalkError) as error:
        if history is not None:
            history.close()
        raise RunError.of(error) from None


def _write_ack(path: Path, text: str) -> None:
    with _output(path) as stream:
        stream.write(text.encode("ascii", errors="replace").decode("ascii"))
    log.info("ack.written", path=str(path), bytes=len(text))


# How many findings of one file a JSON report lists; the rest are counted (findings_omitted),
# so that the report's memory does not grow with a file's findings. JSON lines and text
# stream every finding and keep none.
JSON_FINDINGS_PER_FILE = 10_000


def _colour(output: Path | None, no_color: bool) -> bool:
    """Colour the text report: on a terminal, unless --no-color or NO_COLOR says not to."""
    return (
        output is None and not no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()
    )


# Formats written whole at the end (their findings kept, up to the cap), and streamed ones.
DOCUMENT_FORMATS = frozenset({"json", "sarif", "html"})


def _run_check(
    engine: Engine,
    sources: list[Source],
    output_format: str,
    output: Path | None,
    statistics: bool = False,
    colour: bool = False,
) -> Report:
    report = engine.new_report()
    with _output(output) as stream:
        writer = text.TextWriter(stream, colour)
        rows = FindingCsvWriter(stream) if output_format == "csv" else None

        def on_findings(result: FileResult, findings: list[Finding]) -> None:
            _log_findings(result, findings)
            if output_format == "text":
                writer.findings(result, findings)
            elif output_format == "jsonl":
                for finding in findings:
                    record = {"type": "finding", "file": result.name, **finding.to_dict()}
                    stream.write(json.dumps(record) + "\n")
            elif rows is not None:
                for finding in findings:
                    rows.write(result.name, finding)

        engine.on_findings = on_findings
        engine.keep_findings = JSON_FINDINGS_PER_FILE if output_format in DOCUMENT_FORMATS else 0
        for result in engine.check_all(sources):
            report.files.append(result)
            _log_file("file.checked", result)
            if output_format == "text":
                writer.end_file(result)
            elif output_format == "jsonl":
                _write_jsonl_file(stream, result)
        if output_format == "text":
            text.write_summary(stream, report)
            if statistics:
                text.write_statistics(stream, report, _denials(engine), colour)
        elif output_format == "jsonl":
            stream.write(json.dumps({"type": "summary", **report.summary()}) + "\n")
        elif output_format == "json":
            json.dump(report.to_dict(), stream, indent=2)
            stream.write("\n")
        elif output_format == "sarif":
            policy = engine.policies[0] if engine.policies else None
            json.dump(sarif_document(report, catalog(), policy), stream, indent=2)
            stream.write("\n")
        elif output_format == "html":
            titles = {rule.id: rule.title for rule in catalog().values()}
            stream.write(html.render(report, titles, _denials(engine)))
    return report


def _denials(engine: Engine) -> dict[str, str]:
    """The denial each rule predicts, as the run's first policy grades it."""
    policy = engine.policies[0] if engine.policies else None
    return {entry["id"]: entry["denial"] for entry in catalog_doc.entries(catalog(), policy)}


def _write_jsonl_file(stream: TextIO, result: FileResult) -> None:
    """The file's record, after its findings (each written as it came)."""
    record = result.to_dict()
    del record["findings"]
    stream.write(json.dumps({"type": "file", **record}) + "\n")


# -- split ----------------------------------------------------------------------------------


@main.command("split")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--clean",
    "clean_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="837 file for the claims with no finding at or above --fail-on.",
)
@click.option(
    "--held",
    "held_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="837 file for the other claims.",
)
@_policy_options
@_ig_options
@_ack_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="The summary's format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the summary here instead of stdout.",
)
@click.option(
    "--control-number",
    type=click.IntRange(1, 999_999_999),
    help="First interchange control number (ISA13) to write; by default each sender's "
    "next, from the counter kept between runs.",
)
@click.option(
    "--held-only",
    is_flag=True,
    help="List only the held claims in the summary.",
)
@_history_options
@_fail_on_option
def split_command(
    paths: tuple[str, ...],
    clean_path: Path,
    held_path: Path,
    policy_paths: tuple[Path, ...],
    crosswalk: Path | None,
    ig: bool,
    ig_engine: str,
    jobs: int,
    output_format: str,
    output: Path | None,
    fail_on: str,
    control_number: int | None,
    ack_path: Path | None,
    history_url: str | None,
    key_file: Path | None,
    held_only: bool,
) -> None:
    """Write every claim of PATHS to one of two new 837 files: clean or held.

    Clean claims have no finding at or above --fail-on; held claims have, or sit in a
    transaction set with such a file-level finding. Both outputs are valid 837 files with
    rebuilt envelopes. With --history, the clean claims are recorded there as sent (and a
    claim already on record is held as claim.duplicate); splits sharing a store take turns.
    Exit 0: everything clean; 1: some claims held or not written, or a file-level finding at
    or above --fail-on (an input that could not be read); 2: the run failed (a run that
    fails once writing began leaves neither output, and records nothing).
    """
    from edi_precheck.report.control_numbers import (
        ControlNumberError,
        ControlNumbers,
        SharedControlNumbers,
    )
    from edi_precheck.split import split

    _ack_needs_ig(ack_path, ig)
    outputs = {"--clean": clean_path, "--held": held_path, "--output": output, "--ack": ack_path}
    run = _Run("split")
    sources = _sources(paths, outputs, make_folders=True)
    store = _open_history(history_url, key_file, create=True)
    engine = _engine(policy_paths, crosswalk, ig, jobs, ack_path, store, ig_engine)
    engine.holds_at = FAIL_ON[fail_on]  # held claims are not sent: not compared with
    routes: list[dict[str, Any]] = []

    not_read: dict[str, list[Finding]] = {}

    def on_findings(result: FileResult, findings: list[Finding]) -> None:
        _log_findings(result, findings)
        for finding in findings:
            if finding.rule in NOT_READ_RULES:
                not_read.setdefault(result.name, []).append(finding)

    def on_route(route: Any) -> None:
        if not held_only or route.output == "held":
            routes.append(route.to_dict())
        log.debug(
            "claim.routed",
            file=route.file,
            claim_id=route.claim_id,
            claim_index=route.claim_index,
            output=route.output,
            reasons=list(route.reasons),
        )

    with engine, _progress(sources) as on_bytes:
        engine.on_bytes = on_bytes
        try:
            outcome = split(
                engine,
                sources,
                clean_path,
                held_path,
                FAIL_ON[fail_on],
                on_route,
                on_file=lambda r: _log_file("file.checked", r),
                on_findings=on_findings,
                numbers=(
                    SharedControlNumbers(store, control_number)
                    if store is not None
                    else ControlNumbers(control_number)
                ),
            )
        except (ControlNumberError, OutputError, HistoryError) as error:
            raise RunError(str(error)) from None
        except OSError as error:  # the temporary files: a full disk, a read-only folder
            where = f" {error.filename}" if error.filename else ""
            raise RunError(f"cannot write the outputs{where}: {error.strerror}") from None
        if ack_path is not None:
            _write_ack(ack_path, engine.ack_text())
    with _output(output) as stream:
        _write_split_summary(
            stream,
            output_format,
            outcome,
            routes,
            clean_path,
            held_path,
            store.url if store is not None else None,
            not_read,
        )
    held_any = outcome.counts["held"] or outcome.counts["not written"]
    # A file that could not be read holds no claim to hold, but must not pass as clean.
    blocked = held_any or outcome.report.blocks(FAIL_ON[fail_on])
    code = EXIT_FINDINGS if blocked else EXIT_CLEAN
    counts = outcome.counts
    run.finished(
        outcome.report,
        code,
        clean=counts["clean"],
        held=counts["held"],
        not_written=counts["not written"],
        ig_engine=ig_engine if ig else None,
    )
    sys.exit(code)


def _write_split_summary(
    stream: TextIO,
    output_format: str,
    outcome: Any,
    routes: list[dict[str, Any]],
    clean: Path,
    held: Path,
    store_url: str | None,
    not_read: dict[str, list[Finding]],
) -> None:
    counts = outcome.counts
    history = {"store": store_url, "recorded": outcome.recorded} if store_url else None
    if output_format == "json":
        json.dump(
            {
                "clean": {"path": str(clean), "claims": counts["clean"]},
                "held": {"path": str(held), "claims": counts["held"]},
                "not_written": counts["not written"],
                "claims": routes,
                "not_read": [
                    {
                        "file": name,
                        "rules": sorted({finding.rule for finding in findings}),
                        "reasons": [finding.message for finding in findings],
                    }
                    for name, findings in not_read.items()
                ],
                "control_numbers": [record.to_dict() for record in outcome.renumbered],
                "history": history,
                "summary": outcome.report.summary(),
            },
            stream,
            indent=2,
        )
        stream.write("\n")
        return
    stream.write(f"clean: {text.counted(counts['clean'], 'claim')} -> {escaped(str(clean))}\n")
    stream.write(f"held:  {text.counted(counts['held'], 'claim')} -> {escaped(str(held))}\n")
    for route in routes:
        if route["output"] != "clean":
            where = (
                f"claim {route['claim_index']}"
                if route["claim_index"] is not None
                else f"CLM segment {route['segment_index']}"
            )
            stream.write(
                f"  {route['output']:<11} {escaped(route['file'])} {where}"
                f" ({shown(route['claim_id'])}): {', '.join(route['reasons'])}\n"
            )
    if counts["not written"]:
        stream.write(
            f"not written: {text.counted(counts['not written'], 'claim')}, for the reasons above\n"
        )
    for result in outcome.report.files:  # inputs with nothing to route, not to pass unseen
        unread = sorted(rule for rule in result.by_rule if rule in NOT_READ_RULES)
        if unread:
            stream.write(f"  not read    {escaped(result.name)}: {', '.join(unread)}\n")
    if history is not None:
        stream.write(
            f"history: {text.counted(outcome.recorded, 'service')} of the clean claims "
            f"recorded in {escaped(str(store_url))}\n"
        )


# -- lines ----------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--code",
    "codes",
    multiple=True,
    metavar="HCPCS",
    help="List lines of this code (repeatable). Default: the codes the policies cover.",
)
@click.option("--all", "all_lines", is_flag=True, help="List every service line.")
@click.option(
    "--policy",
    "policy_paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Policy JSON file (repeatable) whose codes are listed.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["csv", "json", "jsonl"]),
    default="csv",
    show_default=True,
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the listing here instead of stdout.",
)
@_fail_on_option
def lines(
    paths: tuple[str, ...],
    codes: tuple[str, ...],
    all_lines: bool,
    policy_paths: tuple[Path, ...],
    output_format: str,
    output: Path | None,
    fail_on: str,
) -> None:
    """List the drug service lines of 837 files, with their claim context.

    PATHS are files, folders (searched recursively for .837 .x12 .edi .txt .dat) or - for
    stdin.
    """
    run = _Run("lines")
    sources = _sources(paths, {"--output": output})
    try:  # a policy named is checked even when --code or --all says what to list
        policies = (
            load_policies(policy_paths, catalog().keys())
            if policy_paths or not (codes or all_lines)
            else []
        )
    except PolicyError as error:
        raise RunError.of(error) from None
    wanted: frozenset[str] | None = None
    if codes:
        wanted = frozenset(code.upper() for code in codes)
    elif not all_lines:
        wanted = frozenset(code for policy in policies for code in policy.codes)
    report = Report(__version__, [])
    with _output(output) as stream, _progress(sources, output) as on_bytes:
        writer = LineWriter(stream, output_format)
        for source in sources:
            result = FileResult(source.name)
            for claim in read_claims(source, result, on_bytes=on_bytes, skim_codes=wanted):
                for line in claim.lines:
                    if wanted is None or line.code.upper() in wanted:
                        result.checked_lines += 1
                        writer.write(line_record(source.name, claim, line))
            # as check grades them
            kept = grade_file_findings(result.reader_findings, policies[0] if policies else None)
            for finding in kept:
                result.add(finding)
            _log_findings(result, kept, "warning")
            _log_file("file.read", result)
            report.files.append(result)
        writer.close()
    code = EXIT_FINDINGS if report.blocks(FAIL_ON[fail_on]) else EXIT_CLEAN
    run.finished(report, code, lines=sum(result.checked_lines for result in report.files))
    sys.exit(code)


# -- rules and policies ---------------------------------------------------------------------


@main.command()
@click.argument("rule_id", required=False)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
def rules(rule_id: str | None, output_format: str) -> None:
    """The rule catalog: id, default severity, SNIP type, what it checks, likely denial.
    With RULE_ID, that rule's whole documentation."""
    policies = shipped_policies(catalog().keys())
    entries = catalog_doc.entries(catalog(), policies[0] if policies else None)
    try:
        if rule_id is not None:
            _rule_doc(rule_id, entries, output_format)
        elif output_format == "json":
            click.echo(json.dumps(entries, indent=2))
        elif output_format == "markdown":
            click.echo(catalog_doc.markdown(entries), nl=False)
        else:
            for entry in entries:
                click.echo(
                    f"{entry['id']:<24} {entry['severity']:<8} SNIP {entry['snip']}  "
                    f"{entry['title']}" + (f"  [{entry['denial']}]" if entry["denial"] else "")
                )
        sys.stdout.flush()
    except BrokenPipeError:  # 'rules | head': the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_CLEAN)


def _rule_doc(rule_id: str, entries: list[dict[str, Any]], output_format: str) -> None:
    rule = catalog().get(rule_id)
    if rule is None:
        close = [r for r in catalog() if rule_id.split(".")[0] == r.split(".")[0]]
        suggestion = f" (this group has: {', '.join(close)})" if close else ""
        raise RunError(f"no rule '{rule_id}'{suggestion}; `edi-precheck rules` lists them")
    entry = next(e for e in entries if e["id"] == rule_id)
    if output_format == "json":
        sections = {name: rule.section(name) for name in DOC_SECTIONS}
        click.echo(json.dumps({**entry, "documentation": sections}, indent=2))
        return
    click.echo(f"{rule.id}: {rule.title}")
    click.echo(
        f"default severity: {entry['severity']}; SNIP type {rule.snip}; "
        f"likely denial: {entry['denial'] or '-'}"
    )
    for name in DOC_SECTIONS:
        text_of = rule.section(name)
        if text_of:
            click.echo(f"\n{'## ' if output_format == 'markdown' else ''}{name}\n{text_of}")


@main.group()
def policy() -> None:
    """Work with policy files."""


def _policy_files_argument(function: Any) -> Any:
    return click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))(
        function
    )


@policy.command("validate")
@_policy_files_argument
def policy_validate(files: tuple[Path, ...]) -> None:
    """Validate policy files, with the shipped layers they extend; each error names its file
    and JSON pointer.

    FILES are validated together, as `check --policy` would use them: an overlay with the
    policy it changes. Without FILES, the shipped policies. Exit 0 when valid, 2 otherwise.
    """
    try:
        resolved = resolve_policies(files, catalog().keys())
    except PolicyError as error:
        raise RunError.of(error) from None
    for policy, _ in resolved:
        layers = " + ".join(f"{layer.id} {layer.version}" for layer in policy.layers)
        click.echo(
            f"valid: policy '{policy.id}' ({layers}): {len(policy.codes)} codes, "
            f"{len(policy.products)} products, {len(policy.settings)} settings, "
            f"{len(policy.payer_rules)} payer rules"
        )


@policy.command("show")
@_policy_files_argument
def policy_show(files: tuple[Path, ...]) -> None:
    """Print the merged policy of each drug family a run with these FILES checks (JSON):
    what the checks will apply, every layer and overlay merged. Without FILES, the shipped
    policies."""
    try:
        resolved = resolve_policies(files, catalog().keys())
    except PolicyError as error:
        raise RunError.of(error) from None
    documents = [
        {"layers": [layer.source for layer in merged.chain], **merged.document}
        for _, merged in resolved
    ]
    click.echo(json.dumps(documents, indent=2, ensure_ascii=False))


# -- history --------------------------------------------------------------------------------


@main.group()
def history() -> None:
    """Keep the history of claims sent, for units.frequency and claim.duplicate.

    The store (--history URL or $EDI_PRECHECK_HISTORY) holds each drug line sent: patient as
    a keyed hash, payer id, code, date of service, units. `split --history` records what it
    sends; these commands record and remove what was sent some other way.
    """


def _history_store(url: str | None, key_file: Path | None, create: bool) -> HistoryStore:
    store = _open_history(url, key_file, create)
    if store is None:
        raise RunError(f"no history store: give --history URL or set {HISTORY_ENV}")
    return store


def _read_into(
    store: HistoryStore,
    paths: tuple[str, ...],
    policy_paths: tuple[Path, ...],
    crosswalk: Path | None,
) -> tuple[RunHistory, list[FileResult]]:
    """Read the claims of `paths` as `check` would (no IG), noting their drug lines."""
    sources = _sources(paths, {})
    engine = _engine(policy_paths, crosswalk, ig=False, jobs=1, ack=None)
    engine.keyer = store.keyer  # hashed as the store's patients are
    engine.keep_findings = 0
    engine.holds_at = None  # the files were sent: every claim counts
    run = RunHistory()
    with engine:
        results = list(engine.check_all(sources, run=run))
    for result in results:
        _log_file("file.read", result)
    return run, results


def _unread(results: list[FileResult]) -> list[str]:
    return [
        escaped(result.name)
        for result in results
        if any(rule in NOT_READ_RULES for rule in result.by_rule)
    ]


@history.command("record")
@click.argument("paths", nargs=-1, required=True)
@_history_options
@_policy_options
def history_record(
    paths: tuple[str, ...],
    history_url: str | None,
    key_file: Path | None,
    policy_paths: tuple[Path, ...],
    crosswalk: Path | None,
) -> None:
    """Record the drug lines of PATHS as sent (files sent without `split --history`, or
    past claims to back-load). Recording a claim twice changes nothing; a replacement or
    void (CLM05-3 7 or 8 with REF*F8) takes the place of what it corrects. Exit 1 when a
    file could not be read, 2 when the run failed."""
    store = _history_store(history_url, key_file, create=True)
    with store:
        run, results = _read_into(store, paths, policy_paths, crosswalk)
        claims = services = added = 0
        try:
            with store.writing():
                for claim_services, correction in run.claims():
                    claims += 1
                    services += len(claim_services)
                    added += store.record(claim_services, correction)
        except HistoryError as error:
            raise RunError(f"{error}; nothing was recorded") from None
        finally:
            run.close()
    click.echo(
        f"recorded {text.counted(added, 'new service')} of "
        f"{text.counted(claims, 'claim')} with drug lines "
        f"({services - added} already on record or replaced) in {escaped(store.url)}"
    )
    unread = _unread(results)
    for name in unread:
        click.echo(f"  not read: {name}")
    log.info("history.recorded", store=store.url, claims=claims, services=added)
    sys.exit(EXIT_FINDINGS if unread else EXIT_CLEAN)


@history.command("forget")
@click.argument("paths", nargs=-1)
@click.option(
    "--before",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Remove every service given before this date (YYYY-MM-DD).",
)
@_history_options
@_policy_options
def history_forget(
    paths: tuple[str, ...],
    before: Any,
    history_url: str | None,
    key_file: Path | None,
    policy_paths: tuple[Path, ...],
    crosswalk: Path | None,
) -> None:
    """Remove from the history the drug lines of PATHS (a batch the receiver rejected,
    which never reached the payer), or with --before every service given before a date
    (retention). Exit 2 when the run failed."""
    if not paths and before is None:
        raise RunError("say what to forget: files, --before DATE, or both")
    store = _history_store(history_url, key_file, create=False)
    removed = 0
    with store:
        run = None
        if paths:
            run, _ = _read_into(store, paths, policy_paths, crosswalk)
        try:
            with store.writing():
                if run is not None:
                    for claim_services, _ in run.claims():
                        removed += store.forget(service.key for service in claim_services)
                if before is not None:
                    removed += store.forget_before(before.date())
        except HistoryError as error:
            raise RunError(f"{error}; nothing was removed") from None
        finally:
            if run is not None:
                run.close()
    click.echo(f"removed {text.counted(removed, 'service')} from {escaped(store.url)}")
    log.info("history.forgotten", store=store.url, services=removed)


# -- serve ----------------------------------------------------------------------------------


TOKEN_ENV = "EDI_PRECHECK_TOKEN"


def _overlay(value: str) -> tuple[str, Path]:
    name, _, path = value.partition("=")
    if not name or not path:
        raise RunError(f"--overlay {value}: give NAME=FILE")
    return name, Path(path)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8837, show_default=True, type=click.IntRange(0, 65535))
@_policy_options
@click.option(
    "--overlay",
    "overlays",
    multiple=True,
    metavar="NAME=FILE",
    help="A policy overlay requests may name (?policy=NAME); repeatable.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="number of CPUs",
    help="Worker processes for implementation-guide checks.",
)
@click.option(
    "--max-body-mb",
    type=click.FloatRange(min=0.001),
    default=32.0,
    show_default=True,
    help="Largest body taken (413 beyond).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=120.0,
    show_default=True,
    help="Seconds a check may take (504 beyond).",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"File holding the bearer token requests must send (also ${TOKEN_ENV}).",
)
@_ig_engine_option
@_history_options
def serve(
    host: str,
    port: int,
    policy_paths: tuple[Path, ...],
    crosswalk: Path | None,
    overlays: tuple[str, ...],
    workers: int,
    max_body_mb: float,
    timeout: float,
    token_file: Path | None,
    ig_engine: str,
    history_url: str | None,
    key_file: Path | None,
) -> None:
    """Serve the checks over HTTP: POST /v1/check, POST /v1/lines, GET /v1/rules,
    GET /healthz, GET /openapi.json (needs the [serve] extra). With --history, checks
    compare claims with the store (read only: split and history record write it)."""
    try:
        import uvicorn

        from edi_precheck.service.app import create_app
        from edi_precheck.service.workers import Settings
    except ImportError:
        raise RunError("serve needs its extra: pip install 'edi-precheck[serve]'") from None
    named = dict(_overlay(value) for value in overlays)
    # usable before start
    store = _open_history(history_url, key_file, create=False, read_only=True)
    if store is not None:
        store.close()
    settings = Settings(policy_paths, named, crosswalk, workers, history_url, key_file, ig_engine)
    for name in (None, *named):  # every policy set a request may ask for, valid before start
        try:
            load_policies(settings.policy_paths(name), catalog().keys())
        except PolicyError as error:
            raise RunError.of(error) from None
    token = os.environ.get(TOKEN_ENV) or None
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as error:
            raise RunError(f"--token-file {token_file}: {error.strerror}") from None
        if not token:
            raise RunError(f"--token-file {token_file} is empty")
    app = create_app(
        settings, max_body=int(max_body_mb * 1024 * 1024), timeout=timeout, token=token
    )
    log.info(
        "serve.started",
        url=f"http://{host}:{port}",
        workers=workers,
        overlays=sorted(named),
        token=token is not None,
    )
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
