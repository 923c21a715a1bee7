"""The HTTP service: an ASGI app (Starlette) over the same engine as the command line.

    POST /v1/check   raw X12 body -> the JSON report `check --format json` writes (200,
                     whatever the findings; X-EDI-Precheck-Exit says what `check` would exit)
    POST /v1/lines   raw X12 body -> the rows of `lines --format json`
    GET  /v1/rules   the rule catalog
    GET  /healthz    liveness (no token needed)
    GET  /openapi.json

Safety: bodies over the limit are refused (413) before they are read whole; a check that
takes longer than the timeout answers 504; with a token, every route but /healthz wants
`Authorization: Bearer <token>` (401). No body, no query value and no claim id is logged:
each request is one `request` event with its method, route, status, size and duration.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edi_precheck import __version__
from edi_precheck.findings import shown
from edi_precheck.policy import shipped_policies
from edi_precheck.report import catalog_doc
from edi_precheck.rules import catalog
from edi_precheck.service.openapi import openapi_document
from edi_precheck.service.workers import (
    FAIL_ON,
    Pools,
    Settings,
    check_in_worker,
    check_with,
    lines_of,
)
from edi_precheck.sources import past

log = structlog.get_logger("edi_precheck.service")

DEFAULT_MAX_BODY = 32 * 1024 * 1024
DEFAULT_TIMEOUT = 120.0


class Problem(Exception):
    """A request the service refuses: its status and a message for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status, headers=headers)


def _flag(request: Request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise Problem(400, f"query parameter '{name}' must be true or false")


def _only(request: Request, *names: str) -> None:
    """Refuse (400) a query parameter the route does not take: a misspelt one
    (`polcy=`, `failon=`) would otherwise check with the defaults and say nothing."""
    unknown = sorted(set(request.query_params) - set(names))
    if unknown:
        taken = ", ".join(names) if names else "none"
        raise Problem(
            400,
            f"query parameter '{shown(unknown[0])}' is not one this route takes ({taken})",
        )


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to pass `limit` bytes. It is
    taken as the file whatever its declared type (curl says form data): what is not X12
    gets a report that says so."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"the body is over the limit of {limit:,} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"the body is over the limit of {limit:,} bytes")
        chunks.append(chunk)
    request.state.bytes_in = size
    return b"".join(chunks)


def create_app(
    settings: Settings,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    timeout: float = DEFAULT_TIMEOUT,
    token: str | None = None,
) -> Starlette:
    """The service's app. Its worker processes start with the app and stop with it."""
    pools: Pools | None = None

    async def run(function: Callable[..., Any], *arguments: Any, processes: bool = False) -> Any:
        """`function(*arguments, deadline=...)` in a worker; 504 past the timeout, when the
        worker, reading no further past the deadline, is soon free for the next request."""
        assert pools is not None
        executor = pools.processes if processes else pools.threads
        deadline = time.monotonic() + timeout
        future = asyncio.get_running_loop().run_in_executor(
            executor, functools.partial(function, *arguments, deadline=deadline)
        )
        too_long = Problem(504, f"the check took longer than {timeout:g} s")
        try:
            answer = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise too_long from None
        if past(deadline):  # done just as time ran out: reading may be cut
            raise too_long
        return answer

    def overlay_of(request: Request) -> str | None:
        name = request.query_params.get("policy")
        if name is not None and name not in settings.overlays:
            known = ", ".join(sorted(settings.overlays)) or "none"
            raise Problem(400, f"no policy overlay of that name (this server has: {known})")
        return name

    async def check(request: Request) -> Response:
        _only(request, "ig", "fail_on", "policy")
        ig = _flag(request, "ig", True)
        fail_on = request.query_params.get("fail_on", "error")
        if fail_on not in FAIL_ON:
            raise Problem(400, "fail_on must be error, warning or never")
        overlay = overlay_of(request)
        data = await _body(request, max_body)
        if ig:
            report, code = await run(check_in_worker, data, overlay, fail_on, processes=True)
        else:
            assert pools is not None
            report, code = await run(check_with, pools.engines, data, overlay, False, fail_on)
        summary = report["summary"]
        request.state.outcome = {
            "claims": summary["claims"],
            "errors": summary["errors"],
            "warnings": summary["warnings"],
        }
        return Response(
            json.dumps(report),
            media_type="application/json",
            headers={"X-EDI-Precheck-Exit": str(code)},
        )

    async def lines(request: Request) -> Response:
        _only(request, "code", "all", "policy")
        codes = [code.upper() for code in request.query_params.getlist("code")]
        every = _flag(request, "all", False)
        overlay = overlay_of(request)
        data = await _body(request, max_body)
        assert pools is not None
        # as `lines`: the codes asked for, else every line with `all`, else the drug codes
        wanted: frozenset[str] | None = frozenset(codes)
        if not codes:
            checker = pools.engines.get(overlay, False).checker
            wanted = None if every else frozenset(checker.skim_codes() or ())
        rows = await run(lines_of, data, wanted)
        return JSONResponse(rows)

    shipped = shipped_policies(catalog().keys())
    rules_document = catalog_doc.entries(catalog(), shipped[0] if shipped else None)

    async def rules(request: Request) -> Response:
        _only(request)
        return JSONResponse(rules_document)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    document = openapi_document(sorted(settings.overlays))

    async def openapi(request: Request) -> Response:
        _only(request)
        return JSONResponse(document)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal pools
        pools = Pools(settings)
        await asyncio.get_running_loop().run_in_executor(None, pools.warm)
        try:
            yield
        finally:
            pools.close()
            pools = None

    async def guarded(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Token, refusals as JSON, and the one log event of each request."""
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        request.state.bytes_in = 0
        request.state.outcome = {}
        try:
            if token is not None and request.url.path != "/healthz":
                given = request.headers.get("authorization", "")
                scheme, _, value = given.partition(" ")
                if scheme.lower() != "bearer" or not hmac.compare_digest(
                    value.strip().encode(), token.encode()
                ):
                    raise Problem(401, "a bearer token is needed (Authorization: Bearer ...)")
            response = await call_next(request)
        except Problem as problem:
            headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
            response = _error(problem.status, str(problem), headers)
        response.headers["X-Request-Id"] = request_id
        route = request.scope.get("route")
        log.info(
            "request",
            request_id=request_id,
            method=request.method,
            route=getattr(route, "path", "unknown"),
            status=response.status_code,
            bytes_in=request.state.bytes_in,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            **request.state.outcome,
        )
        return response

    async def refused(request: Request, problem: Exception) -> Response:
        assert isinstance(problem, Problem)
        return _error(problem.status, str(problem))

    async def not_served(request: Request, error: Exception) -> Response:
        """404, 405 and Starlette's other refusals, as JSON like every other."""
        assert isinstance(error, HTTPException)
        return _error(error.status_code, str(error.detail), dict(error.headers or {}))

    return Starlette(
        routes=[
            Route("/v1/check", check, methods=["POST"]),
            Route("/v1/lines", lines, methods=["POST"]),
            Route("/v1/rules", rules, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=guarded)],
        exception_handlers={Problem: refused, HTTPException: not_served},
        lifespan=lifespan,
    )
