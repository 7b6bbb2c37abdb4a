"""Erasure (issue #10, defect 8): after a delete and the documented flush, a memory's text is
in no API response, no export, no server log and no database file (main file, WAL, TOAST).

SQLite: the flush is automatic, within ``erasure.flush_seconds`` of the 204 (here 0.5 s).
PostgreSQL: ``POST /v1/admin/erasure/flush`` (``VACUUM FULL``). Each test first checks that
the scan does find the text while it is stored, so a clean scan means something.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from service import cli
from service.app import create_app
from tests.conftest import create_database
from tests.helpers import ADMIN_KEY, auth, create_tenant_key, test_settings
from tests.server import running_server

FLUSH_SECONDS = 0.5
ADMIN = auth(ADMIN_KEY)


def _secret() -> str:
    return "erz" + uuid.uuid4().hex  # one keyword token, unlike any other text


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from create_database(request.param, tmp_path)


def _database_files(url: str) -> list[Path]:
    """Every file of the database: SQLite's main file, -wal and -shm; PostgreSQL's relation
    files (heap, TOAST, indexes, maps) of this database, after a CHECKPOINT wrote them."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        main = Path(str(parsed.database))
        return [p for p in (main, Path(f"{main}-wal"), Path(f"{main}-shm")) if p.exists()]
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CHECKPOINT")  # dirty pages reach the files we scan
            data = conn.exec_driver_sql("SHOW data_directory").scalar_one()
            oid = conn.exec_driver_sql(
                "SELECT oid FROM pg_database WHERE datname = current_database()"
            ).scalar_one()
    finally:
        engine.dispose()
    directory = Path(data) / "base" / str(oid)
    if not os.access(directory, os.R_OK | os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(f"cannot read {directory}: run the tests as a user that can")
        pytest.skip(f"cannot read the PostgreSQL data directory {directory}")
    return sorted(p for p in directory.iterdir() if p.is_file())


def _flush(http: httpx.Client) -> httpx.Response:
    """The admin flush; a 503 (a transaction anywhere in the PostgreSQL cluster older than
    the deletes, such as another test's, held it for 10 s) is retried, as a client would."""
    deadline = time.monotonic() + 90
    while True:
        response = http.post("/v1/admin/erasure/flush", headers=ADMIN)
        if response.status_code != 503 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response
        time.sleep(1)


def _found(files: list[Path], secrets_: list[str]) -> list[str]:
    hits = []
    for path in files:
        data = path.read_bytes()
        hits += [f"{s} in {path.name}" for s in secrets_ if s.encode() in data]
    return hits


def test_deleted_text_leaves_every_response_log_and_database_file(
    database: str, tmp_path: Path
) -> None:
    sqlite = database.startswith("sqlite")
    key = create_tenant_key(database, "acme")
    env = {
        "MNEMONIX_DATABASE_URL": database,
        "MNEMONIX_EMBEDDER": "hash",
        "MNEMONIX_ADMIN_KEY": ADMIN_KEY,
        "MNEMONIX_BOOTSTRAP_TENANT": "",
        "MNEMONIX_ERASURE__FLUSH_SECONDS": str(FLUSH_SECONDS),
    }
    short, edited, meta = _secret(), _secret(), _secret()
    # past PostgreSQL's TOAST threshold, and hard to compress: stored out of line
    long = _secret() + " " + secrets.token_urlsafe(6000)
    gone = [short, edited, meta, long[:35]]
    kept = _secret()
    with running_server(tmp_path, env) as base, httpx.Client(base_url=base, timeout=60) as http:
        headers = auth(key)
        first = http.post(
            "/v1/memories",
            json={"content": f"the code is {short}", "metadata": {"note": meta}},
            headers=headers,
        )
        second = http.post("/v1/memories", json={"content": long}, headers=headers)
        other = http.post("/v1/memories", json={"content": f"keep {kept}"}, headers=headers)
        assert {first.status_code, second.status_code, other.status_code} == {201}
        ids = [first.json()["id"], second.json()["id"]]
        # an edit (its history holds the old and new text) and retrievals (access counts:
        # on PostgreSQL each is another copy of the row)
        patched = http.patch(
            f"/v1/memories/{ids[0]}",
            json={"content": f"the code is {edited} (was {short})"},
            headers=headers,
        )
        assert patched.status_code == 200, patched.text
        for query in (edited, long[:35], kept):
            assert http.post("/v1/search", json={"query": query}, headers=headers).json()["results"]
        time.sleep(2.5)  # the access counts are written (every 2 s)
        stored = _found(_database_files(database), [*gone, kept])
        assert {h.split()[0] for h in stored} == {*gone, kept}, stored  # the scan sees text

        for memory_id in ids:
            assert http.delete(f"/v1/memories/{memory_id}", headers=headers).status_code == 204
        if sqlite:
            time.sleep(FLUSH_SECONDS * 3)  # the bound, with room for a loaded machine
        else:
            flushed = _flush(http)
            assert flushed.json()["tables"] == ["memory", "memory_event", "memory_link"]

        assert _found(_database_files(database), gone) == []
        assert _found(_database_files(database), [kept]) != []  # the rest is still there
        for memory_id in ids:
            assert http.get(f"/v1/memories/{memory_id}", headers=headers).status_code == 404
            history = http.get(f"/v1/memories/{memory_id}/history", headers=headers)
            assert history.status_code == 200
            assert not any(s in history.text for s in gone)
            assert [e["event"] for e in history.json()["events"]][-1] == "deleted"
        for query in gone:
            hits = http.post("/v1/search", json={"query": query}, headers=headers).json()
            assert not any(s in str(hits) for s in gone)
        listed = http.get("/v1/memories", headers=headers)
        assert kept in listed.text and not any(s in listed.text for s in gone)
        export = http.get("/v1/admin/tenants/acme/export", headers=ADMIN)
        assert export.status_code == 200 and kept in export.text
        assert not any(s in export.text for s in gone)
        # the admin flush answers on SQLite too (a checkpoint), and leaves the files clean
        _flush(http)
        assert _found(_database_files(database), gone) == []
    logs = "".join(p.read_text() for p in tmp_path.glob("server-*.log"))
    assert "Uvicorn running" in logs or "Application startup" in logs  # the log was written
    assert not any(s in logs for s in gone)


def test_cli_flush_erases_what_the_api_deleted(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mnemonix erasure flush`` (for an operator's schedule), with the automatic flush off."""
    settings = test_settings(database, tmp_path, erasure={"flush_seconds": 3600})
    secret = _secret()
    with TestClient(create_app(settings)) as client:
        headers = auth(create_tenant_key(database, "acme"))
        created = client.post("/v1/memories", json={"content": f"pin {secret}"}, headers=headers)
        memory_id = created.json()["id"]
        assert client.delete(f"/v1/memories/{memory_id}", headers=headers).status_code == 204
        assert _found(_database_files(database), [secret])  # no flush yet: still on disk
        monkeypatch.setenv("MNEMONIX_DATABASE_URL", database)
        assert cli.main(["erasure", "flush", "--wait-ms", "60000"]) == 0
        assert _found(_database_files(database), [secret]) == []
