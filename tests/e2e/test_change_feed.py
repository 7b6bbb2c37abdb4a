"""Writes made by another process reach this process's indexes through the change feed."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.app import create_app
from service.state import AppState
from tests.helpers import auth, create_tenant_key, test_settings


def _ids(client: TestClient, headers: dict[str, str], query: str) -> list[str]:
    body = client.post("/v1/search", json={"query": query}, headers=headers).json()
    return [r["memory"]["id"] for r in body["results"]]


def test_other_process_writes_are_followed(database_url: str, tmp_path: Path) -> None:
    settings = test_settings(database_url, tmp_path)
    headers = auth(create_tenant_key(database_url, "acme"))
    with TestClient(create_app(settings)) as writer, TestClient(create_app(settings)) as reader:
        state: AppState = reader.app.state.mnemonix  # type: ignore[attr-defined]
        created = writer.post(
            "/v1/memories",
            json={"content": "the spare key is under the blue flowerpot"},
            headers=headers,
        ).json()
        assert created["id"] not in _ids(reader, headers, "where is the spare key")
        assert state.indexes.sync() >= 1
        assert _ids(reader, headers, "where is the spare key")[0] == created["id"]

        writer.patch(
            f"/v1/memories/{created['id']}",
            json={"content": "the spare key is with the neighbour"},
            headers=headers,
        )
        state.indexes.sync()
        top = reader.post(
            "/v1/search", json={"query": "spare key neighbour", "explain": True}, headers=headers
        ).json()
        assert top["results"][0]["memory"]["content"] == "the spare key is with the neighbour"

        writer.delete(f"/v1/memories/{created['id']}", headers=headers)
        state.indexes.sync()
        assert created["id"] not in _ids(reader, headers, "spare key")
        assert state.indexes.sync() == 0  # nothing new
