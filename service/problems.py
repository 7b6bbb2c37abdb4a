"""RFC 9457 problem details: the one error shape, and the one table mapping codes to HTTP."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from storage.errors import DomainError

logger = logging.getLogger("mnemonix")

PROBLEM_BASE = "https://mnemonix.dev/problems/"
MEDIA_TYPE = "application/problem+json"

# code -> (status, title)
PROBLEMS: dict[str, tuple[int, str]] = {
    "bad_request": (400, "Bad request"),
    "malformed_json": (400, "Malformed JSON"),
    "invalid_input": (422, "Invalid input"),
    "validation_failed": (422, "Validation failed"),
    "truncated_export": (422, "Truncated export"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "payload_too_large": (413, "Payload too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "rate_limited": (429, "Too many requests"),
    "internal_error": (500, "Internal server error"),
    "unavailable": (503, "Service unavailable"),
}
_BY_STATUS = {status: code for code, (status, _) in PROBLEMS.items()}


class ProblemError(BaseModel):
    loc: str
    """Where: ``body.metadata.speaker``, ``query.limit``."""
    msg: str
    type: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem: every 4xx and 5xx answer, as ``application/problem+json``."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None
    errors: list[ProblemError] | None = None
    """Validation problems: one entry per invalid field."""


_PROBLEM_CONTENT = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
DOCUMENTED_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 429, 500)
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": title, "content": _PROBLEM_CONTENT}
    for status, title in sorted({s: t for s, t in PROBLEMS.values()}.items())
    if status in DOCUMENTED_STATUSES
}
PROBLEM_RESPONSES[429]["headers"] = {
    "Retry-After": {
        "description": "Seconds until the key's rate limit lets a request in again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
"""``responses=`` for every API router: the problems any route may answer, documented."""


def document_problems(app: FastAPI) -> None:
    """Put the ``Problem`` schema that ``PROBLEM_RESPONSES`` refers to into the OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            definitions = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(definitions.pop("$defs", {}))
            schemas["Problem"] = definitions
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _has_client_input(request: Request) -> bool:
    return bool(
        request.scope.get("query_string")
        or request.scope.get("path_params")
        or request.method in ("POST", "PUT", "PATCH")
    )


def is_client_fault(request: Request, exc: BaseException) -> bool:
    """An error that slipped past validation, caused by the request's own values.

    A database ``DataError`` (PostgreSQL SQLSTATE class 22, *data exception*: a value out of
    range, a character the encoding refuses, a NUL; psycopg's own refusal of NUL) or a Python
    ``OverflowError`` (a datetime or integer out of range, raw or wrapped in SQLAlchemy's
    ``StatementError``) is the client's input when the request carried input (a query string,
    path parameters or a body). Anything else, or the same error on a request that sent
    nothing, is a server fault and stays a 500.
    """
    # a bind processor's OverflowError (a datetime normalised to UTC) comes wrapped
    origin = exc.orig if isinstance(exc, StatementError) else exc
    refused = isinstance(exc, DataError) or isinstance(origin, OverflowError)
    return refused and _has_client_input(request)


def describe_fault(exc: BaseException) -> str:
    """An exception's type, its database error's type and SQLSTATE, and its stack: never its
    message, which for a database error can quote the values sent (content, ids, metadata)."""
    origin = getattr(exc, "orig", None)
    cause = f" from {type(origin).__module__}.{type(origin).__name__}" if origin else ""
    code = getattr(origin, "sqlstate", None)
    frames = "".join(traceback.format_tb(exc.__traceback__))
    return f"{type(exc).__name__}{cause} (sqlstate {code})\n{frames}"


def route_template(request: Request) -> str:
    """``/v1/memories/{memory_id}``, never the raw path (which carries client values)."""
    # FastAPI keeps the full template of a route from a nested router here; the route object
    # itself knows only its path inside that router
    context = request.scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(context, "path", None) or getattr(request.scope.get("route"), "path", None)
    return str(path) if path else "unmatched route"


def log_unexpected(request: Request, exc: BaseException) -> None:
    route = route_template(request)
    logger.error(
        "unhandled fault on %s %s, request %s: %s",
        request.method,
        route,
        getattr(request.state, "request_id", None),
        describe_fault(exc),
    )


def fault_response(request: Request, exc: BaseException) -> JSONResponse:
    """The answer to an exception no handler took: 422 when the client's values caused it
    (see ``is_client_fault``), else a 500 that names nothing of the exception."""
    if is_client_fault(request, exc):
        origin = getattr(exc, "orig", None) or exc
        logger.info(
            "request %s: the database refused a value (%s, sqlstate %s)",
            getattr(request.state, "request_id", None),
            type(origin).__name__,
            getattr(origin, "sqlstate", None),
        )
        return problem_response(
            request, "invalid_input", "A value in the request cannot be stored or compared."
        )
    log_unexpected(request, exc)
    return problem_response(request, "internal_error", "An unexpected error occurred.")


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path, for a 405's ``Allow`` header."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]


def problem_response(request: Request, code: str, detail: str, **extra: Any) -> JSONResponse:
    status, title = PROBLEMS.get(code, PROBLEMS["bad_request"])
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code.replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        response = problem_response(request, exc.code, exc.detail, **exc.extra)
        retry_after = exc.extra.get("retry_after")
        if isinstance(retry_after, int):  # a rate limit: seconds until a request is let in
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": _location(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(
                request, "malformed_json", "The body is not valid JSON.", errors=errors
            )
        return problem_response(
            request, "validation_failed", "The request did not validate.", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _BY_STATUS.get(exc.status_code, "bad_request")
        detail = exc.detail if isinstance(exc.detail, str) else PROBLEMS[code][1]
        response = problem_response(request, code, detail)
        for name, value in (exc.headers or {}).items():
            if name.lower() != "allow":  # problem_response lists every route's methods
                response.headers[name] = value
        return response

    # Any other exception is answered by service.guard.RequestGuard, which sits inside
    # Starlette's ServerErrorMiddleware: that one re-raises after answering, so the server would
    # log the exception's text and drop the keep-alive connection.
