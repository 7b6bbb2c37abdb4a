"""``RequestGuard``: the outer edge of every HTTP request, as a pure ASGI middleware.

- gives the request an id (``X-Request-ID``: the client's if well formed, else a new one);
- enforces the body limit *while reading*: the bytes of ``http.request`` messages are counted
  as the application pulls them, and the first message past the limit ends the request with a
  413 problem; nothing after it is read or buffered (a chunked upload has no Content-Length to
  check up front; a declared Content-Length over the limit is refused before reading at all);
- answers any exception no handler took (``problems.fault_response``) without re-raising it,
  so the server neither logs the exception's text nor drops the keep-alive connection.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.problems import fault_response, problem_response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the limit; rendered as a 413 problem."""

    def __init__(self, limit: int) -> None:
        # the rest of the body is still on the wire: end the connection rather than drain it
        super().__init__(
            status_code=413,
            detail=f"The body exceeds {limit} bytes.",
            headers={"Connection": "close"},
        )


class RequestGuard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        limit = self.max_body_bytes
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            refused = BodyTooLarge(limit)
            response = problem_response(request, "payload_too_large", refused.detail)
            response.headers.update(refused.headers or {})
            await response(scope, receive, send_with_id)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counting_receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - the last resort: answered, logged without text
            if started:  # too late for a problem: the status line is gone; the server ends it
                fault_response(request, exc)
                return
            if isinstance(exc, BodyTooLarge):
                response = problem_response(request, "payload_too_large", exc.detail)
                response.headers.update(exc.headers or {})
            else:
                response = fault_response(request, exc)
            await response(scope, receive, send_with_id)
