"""Secrets kept out: under ``redact`` (the default) none of 22 kinds of credential written
through create, batch, PATCH or import reaches any table's rows, the raw SQLite files, the
in-memory indexes, an export, a search answer or a log. ``reject`` answers 422 naming the
kind and offset, never the value, and stores nothing; ``allow`` stores as sent."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, make_url, text

from tests.helpers import ADMIN_KEY, auth
from tests.secret_samples import PEM_BODY, SAMPLES

ADMIN = auth(ADMIN_KEY)
VALUES = [value for _, _, value in SAMPLES] + [PEM_BODY]


def _texts() -> list[str]:
    return [template.format(value) for _, template, value in SAMPLES]


def _walk(obj: Any, seen: set[int], depth: int = 0) -> Iterator[str | bytes]:
    """Every string and byte buffer reachable from ``obj`` (an engine and its channels)."""
    if id(obj) in seen or depth > 12:
        return
    seen.add(id(obj))
    if isinstance(obj, str | bytes):
        yield obj
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind in "USO":
            yield from (str(x) for x in obj.ravel().tolist())
        else:
            yield obj.tobytes()
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _walk(key, seen, depth + 1)
            yield from _walk(value, seen, depth + 1)
    elif isinstance(obj, list | tuple | set | frozenset):
        for item in obj:
            yield from _walk(item, seen, depth + 1)
    elif hasattr(obj, "__dict__") or hasattr(obj, "__slots__"):
        if type(obj).__module__.startswith(("channels", "service", "array")):
            for name in getattr(obj, "__slots__", ()) or ():
                yield from _walk(getattr(obj, name, None), seen, depth + 1)
            yield from _walk(getattr(obj, "__dict__", {}), seen, depth + 1)
    elif type(obj).__name__ == "array":
        yield obj.tobytes()


def _leaks(haystacks: list[str | bytes], values: list[str] = VALUES) -> list[str]:
    found = []
    for value in values:
        needles = (value, value.encode())
        for hay in haystacks:
            if (needles[0] if isinstance(hay, str) else needles[1]) in hay:
                found.append(value[:12])
                break
    return found


def _sql_rows(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = []
            for table in inspect(connection).get_table_names():
                rows += [
                    str(tuple(row)) for row in connection.execute(text(f'SELECT * FROM "{table}"'))
                ]
            return rows
    finally:
        engine.dispose()


def test_redacted_secrets_reach_no_storage_index_export_or_log(
    client: TestClient,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    texts = _texts()
    half = len(texts) // 2
    ids = []
    for content in texts[:half]:
        response = client.post(
            "/v1/memories", json={"content": content, "user_id": "ann"}, headers=headers
        )
        assert response.status_code == 201, response.text
        assert "[REDACTED:" in response.json()["content"]
        ids.append(response.json()["id"])
    batch = client.post(
        "/v1/memories/batch",
        json={
            "memories": [
                {
                    "content": content,
                    "user_id": "ann",
                    "metadata": {"note": content, "deep": [{"v": content}]},
                }
                for content in texts[half:]
            ]
        },
        headers=headers,
    )
    assert batch.status_code == 201, batch.text
    patched = client.patch(
        f"/v1/memories/{ids[0]}",
        json={"content": " and ".join(texts[:4]), "metadata": {"k": texts[5]}},
        headers=headers,
    )
    assert patched.status_code == 200 and "[REDACTED:aws-key]" in patched.json()["content"]
    lines = [
        json.dumps(
            {
                "id": str(uuid.uuid4()),
                "content": content,
                "metadata": {"m": content},
                "occurred_at": "2024-01-01T00:00:00Z",
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
            }
        )
        for content in texts
    ]
    body = "\n".join([*lines, json.dumps({"type": "end", "count": len(lines)})]) + "\n"
    imported = client.post(
        "/v1/admin/tenants/acme/import",
        content=body.encode(),
        headers={**ADMIN, "content-type": "application/x-ndjson"},
    )
    assert imported.status_code in (200, 201), imported.text

    searched = [
        client.post("/v1/search", json={"query": value[:200], "limit": 50}, headers=headers).text
        for value in VALUES
    ]
    listed = client.get("/v1/memories", params={"limit": 100}, headers=headers).json()["items"]
    assert len(listed) == 2 * len(texts)
    assert {kind for kind, _, _ in SAMPLES} <= {
        part.split("]")[0] for m in listed for part in m["content"].split("[REDACTED:")[1:]
    }
    histories = [
        client.get(f"/v1/memories/{m['id']}/history", headers=headers).text for m in listed
    ]
    export = client.get("/v1/admin/tenants/acme/export", headers=ADMIN).text

    url = client.database_url  # type: ignore[attr-defined]
    rows = _sql_rows(url)
    control = ["guests"]  # a word stored next to a password: each scan must see it
    assert _leaks(rows, control) == control
    haystacks: list[str | bytes] = [*rows, *searched, *histories, export, json.dumps(listed)]
    if url.startswith("sqlite"):
        database = Path(make_url(url).database or "")
        files = [path.read_bytes() for path in database.parent.glob(database.name + "*")]
        assert _leaks(files, control) == control  # the file, its WAL and shm
        haystacks += files
    state: Any = client.app.state.mnemonix  # type: ignore[attr-defined]
    for engine in state.indexes.engines().values():
        reachable = list(_walk(engine, set()))
        assert _leaks(reachable, ["guest"]) == ["guest"]  # the keyword index's stemmed term
        haystacks += reachable
    out, err = capfd.readouterr()
    haystacks += [caplog.text, out, err]
    assert _leaks(haystacks) == []


def test_reject_names_kind_and_offset_never_the_value(
    client: TestClient, headers: dict[str, str]
) -> None:
    assert (
        client.put(
            "/v1/admin/tenants/acme/write-policy", json={"secrets": "reject"}, headers=ADMIN
        ).status_code
        == 200
    )
    kind, template, value = SAMPLES[0]
    content = template.format(value)
    single = client.post("/v1/memories", json={"content": content}, headers=headers)
    assert single.status_code == 422
    problem = single.json()
    assert problem["type"].endswith("/secret-rejected") and problem["title"] == "Secret rejected"
    assert (problem["field"], problem["kind"], problem["offset"]) == (
        "content",
        kind,
        content.index(value),
    )
    assert value not in single.text
    batch = client.post(
        "/v1/memories/batch",
        json={
            "memories": [
                {"content": "fine"},
                {"content": "ok", "metadata": {"env": f"x={SAMPLES[2][2]}"}},
            ]
        },
        headers=headers,
    )
    assert batch.status_code == 422 and batch.json()["field"] == "memories.1.metadata.env"
    assert SAMPLES[2][2] not in batch.text
    assert client.get("/v1/memories", headers=headers).json()["items"] == []  # nothing stored
    stored = client.post("/v1/memories", json={"content": "plain"}, headers=headers).json()
    patch = client.patch(f"/v1/memories/{stored['id']}", json={"content": content}, headers=headers)
    assert patch.status_code == 422 and value not in patch.text
    assert client.get(f"/v1/memories/{stored['id']}", headers=headers).json()["content"] == "plain"
    stamp = "2024-01-01T00:00:00Z"
    item = {"id": str(uuid.uuid4()), "content": content, "occurred_at": stamp}
    item |= {"created_at": stamp, "updated_at": stamp}
    body = json.dumps(item) + "\n" + json.dumps({"type": "end", "count": 1}) + "\n"
    imported = client.post(
        "/v1/admin/tenants/acme/import",
        content=body.encode(),
        headers={**ADMIN, "content-type": "application/x-ndjson"},
    )
    assert imported.status_code == 422 and imported.json()["line"] == 1
    assert imported.json()["kind"] == kind and value not in imported.text
    metrics = client.get("/metrics").text
    assert 'mnemonix_secrets_found_total{action="rejected",kind="aws-key"} 3.0' in metrics


def test_allow_stores_as_sent_and_pii_is_opt_in(
    client: TestClient, headers: dict[str, str]
) -> None:
    content = SAMPLES[0][1].format(SAMPLES[0][2]) + ", mail ann@example.com"
    assert (
        client.put(
            "/v1/admin/tenants/acme/write-policy", json={"secrets": "allow"}, headers=ADMIN
        ).status_code
        == 200
    )
    assert (
        client.post("/v1/memories", json={"content": content}, headers=headers).json()["content"]
        == content
    )
    client.put("/v1/admin/tenants/acme/write-policy", json={}, headers=ADMIN)  # the defaults
    assert client.post("/v1/memories", json={"content": content}, headers=headers).json()[
        "content"
    ] == ("my AWS key id is [REDACTED:aws-key], mail ann@example.com")
    client.put("/v1/admin/tenants/acme/write-policy", json={"pii": True}, headers=ADMIN)
    assert client.post("/v1/memories", json={"content": content}, headers=headers).json()[
        "content"
    ] == ("my AWS key id is [REDACTED:aws-key], mail [REDACTED:email]")
    metrics = client.get("/metrics").text
    assert 'mnemonix_secrets_found_total{action="redacted",kind="email"} 1.0' in metrics
    assert 'mnemonix_secrets_found_total{action="redacted",kind="aws-key"} 2.0' in metrics
