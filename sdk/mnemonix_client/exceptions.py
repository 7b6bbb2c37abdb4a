"""The exception tree. API errors are keyed on the problem+json ``type`` the server sends.

MnemonixError
├── TransportError          the request never got an HTTP answer (connection, timeout)
├── TruncatedExport         an export stream ended without its end line (or a wrong count)
└── APIError                the server answered with a problem (``.status``, ``.problem``)
    ├── BadRequest          400 (e.g. malformed JSON)
    ├── Unauthorized        401 missing, unknown or revoked key
    ├── Forbidden           403 the key may not do this
    ├── NotFound            404 no such memory for this key's tenant
    ├── Conflict            409 optimistic-concurrency version mismatch
    ├── ValidationFailed    422 the request did not validate (``.errors``)
    │   └── TruncatedImport 422 the import body is not a whole export (also a TruncatedExport)
    ├── RateLimited         429
    └── ServerError         5xx
"""

from __future__ import annotations

from typing import Any


class MnemonixError(Exception):
    """Base of every error this client raises."""


class TransportError(MnemonixError):
    """No HTTP response: connection refused, reset, or timed out."""


class APIError(MnemonixError):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.type: str = str(problem.get("type", "about:blank"))
        self.detail: str = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        self.request_id: str | None = problem.get("request_id")
        self.errors: list[dict[str, Any]] = list(problem.get("errors") or [])
        super().__init__(f"{status}: {self.detail}")


class BadRequest(APIError):
    pass


class Unauthorized(APIError):
    pass


class Forbidden(APIError):
    pass


class NotFound(APIError):
    pass


class Conflict(APIError):
    pass


class ValidationFailed(APIError):
    pass


class TruncatedExport(MnemonixError):
    """An export was cut short: the stream ended without its end line
    (``{"type":"end","count":N}``), or the end line counts a different number of memories
    than arrived. Nothing received can be taken as the whole tenant."""


class TruncatedImport(ValidationFailed, TruncatedExport):
    """422 from an import: the body is not a whole export (no end line, or one counting
    other lines), so nothing was imported."""


class RateLimited(APIError):
    pass


class ServerError(APIError):
    pass


PROBLEM_BASE = "https://mnemonix.dev/problems/"
BY_TYPE: dict[str, type[APIError]] = {
    PROBLEM_BASE + "bad-request": BadRequest,
    PROBLEM_BASE + "malformed-json": BadRequest,
    PROBLEM_BASE + "payload-too-large": BadRequest,
    PROBLEM_BASE + "unauthorized": Unauthorized,
    PROBLEM_BASE + "forbidden": Forbidden,
    PROBLEM_BASE + "not-found": NotFound,
    PROBLEM_BASE + "conflict": Conflict,
    PROBLEM_BASE + "validation-failed": ValidationFailed,
    PROBLEM_BASE + "invalid-input": ValidationFailed,
    PROBLEM_BASE + "truncated-export": TruncatedImport,
    PROBLEM_BASE + "rate-limited": RateLimited,
    PROBLEM_BASE + "internal-error": ServerError,
    PROBLEM_BASE + "unavailable": ServerError,
}
BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
}


def error_for(status: int, problem: dict[str, Any]) -> APIError:
    cls = BY_TYPE.get(str(problem.get("type")))
    if cls is None:
        cls = ServerError if status >= 500 else BY_STATUS.get(status, APIError)
    return cls(status, problem)
