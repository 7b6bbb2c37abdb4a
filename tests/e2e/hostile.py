"""Requests a fuzzer found answered with 500, each carrying a marker string, for the tests that
check the answer (a 4xx problem, nothing written) and that the marker reaches no log line."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

MARKER = "ZQXJ-marker-7f3a91"
NUL = "\x00"
TOO_BIG = 123456789012345678901234567890
OVERFLOW = "0001-01-01T00:00:00+14:00"


@dataclass(frozen=True)
class Hostile:
    name: str
    method: str
    path: str
    body: Any = None
    """A JSON value, or raw bytes (for NaN / Infinity, which are not JSON)."""
    admin: bool = False

    def request_kwargs(self, headers: dict[str, str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"headers": {**headers}}
        if isinstance(self.body, bytes):
            kwargs["content"] = self.body
            kwargs["headers"]["content-type"] = "application/json"
        elif self.body is not None:
            kwargs["json"] = self.body
        return kwargs


def _q(value: Any) -> str:
    return quote(value if isinstance(value, str) else json.dumps(value), safe="")


def _raw(text: str) -> bytes:
    return text.replace("MARK", MARKER).encode()


def _cursor(created_at: str) -> str:
    raw = json.dumps([created_at, str(uuid.uuid4())]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


M = MARKER
NAN_FILTER = "{" + json.dumps(M) + ":NaN}"
CASES = [
    Hostile(
        "metadata NaN", "POST", "/v1/memories", _raw('{"content":"MARK","metadata":{"MARK":NaN}}')
    ),
    Hostile(
        "metadata Infinity",
        "POST",
        "/v1/memories",
        _raw('{"content":"MARK","metadata":{"a":[-Infinity]}}'),
    ),
    Hostile(
        "metadata 1e400", "POST", "/v1/memories", _raw('{"content":"MARK","metadata":{"a":1e400}}')
    ),
    Hostile("importance NaN", "POST", "/v1/memories", _raw('{"content":"MARK","importance":NaN}')),
    Hostile(
        "batch with NaN",
        "POST",
        "/v1/memories/batch",
        _raw('{"memories":[{"content":"MARK"},{"content":"MARK","metadata":{"x":NaN}}]}'),
    ),
    Hostile(
        "search filter NaN", "POST", "/v1/search", _raw('{"query":"MARK","filters":{"MARK":NaN}}')
    ),
    Hostile(
        "search weight Infinity",
        "POST",
        "/v1/search",
        _raw('{"query":"MARK","weights":{"semantic":Infinity}}'),
    ),
    Hostile("list filter NaN", "GET", f"/v1/memories?metadata={_q(NAN_FILTER)}"),
    Hostile(
        "occurred_at overflow", "POST", "/v1/memories", {"content": M, "occurred_at": OVERFLOW}
    ),
    Hostile(
        "occurred_at late overflow",
        "POST",
        "/v1/memories",
        {"content": M, "occurred_at": "9999-12-31T23:59:59-14:00"},
    ),
    Hostile(
        "occurred_after overflow", "GET", f"/v1/memories?occurred_after={_q(OVERFLOW)}&user_id={M}"
    ),
    Hostile("occurred_before number", "GET", f"/v1/memories?occurred_before=0.5&user_id={M}"),
    Hostile(
        "reference_time overflow", "POST", "/v1/search", {"query": M, "reference_time": OVERFLOW}
    ),
    Hostile(
        "reference_time number", "POST", "/v1/search", {"query": M, "reference_time": 1700000000}
    ),
    Hostile("list filter beyond 64 bits", "GET", f"/v1/memories?metadata={_q({M: TOO_BIG})}"),
    Hostile(
        "search filter beyond 64 bits", "POST", "/v1/search", {"query": M, "filters": {M: TOO_BIG}}
    ),
    Hostile("NUL in content", "POST", "/v1/memories", {"content": M + NUL}),
    Hostile("NUL in user_id", "POST", "/v1/memories", {"content": M, "user_id": M + NUL}),
    Hostile("NUL in agent_id", "POST", "/v1/memories", {"content": M, "agent_id": M + NUL}),
    Hostile("NUL in session_id", "POST", "/v1/memories", {"content": M, "session_id": M + NUL}),
    Hostile(
        "NUL in metadata key", "POST", "/v1/memories", {"content": M, "metadata": {M + NUL: 1}}
    ),
    Hostile(
        "NUL in metadata value",
        "POST",
        "/v1/memories",
        {"content": M, "metadata": {"k": [M + NUL]}},
    ),
    Hostile(
        "NUL in batch",
        "POST",
        "/v1/memories/batch",
        {"memories": [{"content": M}, {"content": M, "user_id": NUL}]},
    ),
    Hostile("NUL in list user_id", "GET", f"/v1/memories?user_id={_q(M + NUL)}"),
    Hostile("NUL in list filter", "GET", f"/v1/memories?metadata={_q({M: M + NUL})}"),
    Hostile("NUL in search query", "POST", "/v1/search", {"query": M + NUL}),
    Hostile("NUL in search scope", "POST", "/v1/search", {"query": M, "session_id": M + NUL}),
    Hostile("pinned as 0", "POST", "/v1/memories", {"content": M, "pinned": 0}),
    Hostile("importance as string", "POST", "/v1/memories", {"content": M, "importance": "0.5"}),
    Hostile("explain as 1", "POST", "/v1/search", {"query": M, "explain": 1}),
    Hostile("limit as string", "POST", "/v1/search", {"query": M, "limit": "5"}),
    Hostile("patch NaN", "PATCH", "SEED", _raw('{"metadata":{"MARK":NaN}}')),
    Hostile("patch NUL", "PATCH", "SEED", {"content": M + NUL}),
    Hostile("patch overflow", "PATCH", "SEED", {"occurred_at": OVERFLOW}),
    Hostile("patch pinned null", "PATCH", "SEED", {"pinned": None}),
    Hostile("patch pinned 1", "PATCH", "SEED", {"pinned": 1}),
    # not caught by validation (path and query values of the admin API): the database refuses
    # them on PostgreSQL, and the catch-all answers 4xx
    Hostile("NUL in tenant path", "GET", f"/v1/admin/tenants/{_q(M + NUL)}/keys", admin=True),
    Hostile(
        "NUL in runs filter", "GET", f"/v1/admin/lifecycle/runs?tenant={_q(M + NUL)}", admin=True
    ),
]

# accepted writes and reads that carry the marker too: stored values must not reach a log either
ACCEPTED = [
    Hostile("store", "POST", "/v1/memories", {"content": M, "user_id": M, "metadata": {M: M}}),
    Hostile("filter", "GET", f"/v1/memories?user_id={M}&metadata={_q({M: M})}"),
    Hostile("search", "POST", "/v1/search", {"query": M, "user_id": M, "filters": {M: M}}),
]
