"""No value a client sends or stores reaches a log line: not on a rejection, not on a
database refusal, not on a genuine server fault (whose 500 also names nothing of the error)."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError

import service.admin.stats
import service.search.service
from tests.e2e.hostile import ACCEPTED, CASES, MARKER
from tests.helpers import ADMIN_KEY, auth, create_tenant_key
from tests.server import running_server

CLIENT_LOGGERS = ("httpx", "httpcore")


def _send_all(client: TestClient | httpx.Client, headers: dict[str, str]) -> list[int]:
    seed = client.post("/v1/memories", json={"content": f"seed {MARKER}"}, headers=headers)
    assert seed.status_code == 201
    statuses = []
    for case in [*ACCEPTED, *CASES]:
        path = f"/v1/memories/{seed.json()['id']}" if case.path == "SEED" else case.path
        response = client.request(
            case.method, path, **case.request_kwargs(auth(ADMIN_KEY) if case.admin else headers)
        )
        assert response.status_code < 500, (case.name, response.status_code, response.text)
        assert MARKER not in response.headers.get("content-type", "")
        statuses.append(response.status_code)
    return statuses


def test_no_marker_in_logs_in_process(
    client: TestClient,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    statuses = _send_all(client, headers)
    assert statuses.count(422) >= 30

    # genuine server faults whose text carries the marker: a 500 naming nothing
    def fault(*_: object, **__: object) -> None:
        raise RuntimeError(f"search exploded on {MARKER}")

    def data_fault(*_: object, **__: object) -> None:
        raise DataError(f"SELECT '{MARKER}'", {"p": MARKER}, Exception(f"bad {MARKER}"))

    monkeypatch.setattr(service.search.service, "search", fault)
    monkeypatch.setattr(service.admin.stats, "collect_stats", data_fault)
    crashed = client.post("/v1/search", json={"query": MARKER}, headers=headers)
    # a DataError on a request that sent no values is the server's fault, not the client's
    stats = client.get("/v1/admin/stats", headers=auth(ADMIN_KEY))
    for response in (crashed, stats):
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"] == "An unexpected error occurred."
        assert MARKER not in response.text
    # each fault is logged (its type, its stack), without its text
    assert "unhandled fault on POST /v1/search" in caplog.text and "RuntimeError" in caplog.text
    assert "unhandled fault on GET /v1/admin/stats" in caplog.text and "DataError" in caplog.text

    # everything the server side logged (the test's own HTTP client logs its URLs: not ours)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    server_side = [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]
    assert any(r.name == "mnemonix" for r in server_side)
    out, err = capfd.readouterr()
    logged = "\n".join(handler.format(r) for r in server_side) + out + err
    assert MARKER not in logged
    for record in server_side:
        assert MARKER not in repr(record.args) and MARKER not in str(record.msg)


def test_no_marker_in_a_real_server_log_and_the_connection_survives(
    database_url: str, tmp_path: Path
) -> None:
    key = create_tenant_key(database_url, "acme")
    env = {
        "MNEMONIX_DATABASE_URL": database_url,
        "MNEMONIX_EMBEDDER": "hash",
        "MNEMONIX_ADMIN_KEY": ADMIN_KEY,
        "MNEMONIX_BOOTSTRAP_TENANT": "",
        "MNEMONIX_LOG_LEVEL": "debug",
    }
    connects: list[str] = []

    def trace(event: str, _info: object) -> None:
        if event == "connection.connect_tcp.started":
            connects.append(event)

    def traced(request: httpx.Request) -> None:
        request.extensions["trace"] = trace

    # one keep-alive connection for every hostile request, then a normal one on it
    with (
        running_server(tmp_path, env) as base,
        httpx.Client(base_url=base, timeout=30, event_hooks={"request": [traced]}) as c,
    ):
        statuses = _send_all(c, auth(key))
        assert statuses.count(422) >= 30
        after = c.post("/v1/memories", json={"content": "still fine"}, headers=auth(key))
        assert after.status_code == 201
    assert len(connects) == 1  # no answer dropped the connection
    log = "\n".join(p.read_text() for p in tmp_path.glob("server-*.log"))
    assert "Application startup complete" in log  # the log was captured at all
    assert MARKER not in log
    assert "Exception in ASGI application" not in log
