"""The real server process over loopback, with the real MiniLM model: the README's curl flow."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import running_server

pytestmark = pytest.mark.model


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    # the real MiniLM model: no MNEMONIX_EMBEDDER override
    with running_server(tmp_path, {"MNEMONIX_EMBEDDER": "minilm"}) as base:
        yield base, tmp_path / "data"


def test_first_start_key_and_paraphrase_search(server: tuple[str, Path]) -> None:
    base, data_dir = server
    key_file = data_dir / "default.key"
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    headers = {"Authorization": f"Bearer {key_file.read_text().strip()}"}
    facts = [
        "My daughter's birthday party is on June 12th at the park",
        "I am allergic to peanuts and shellfish",
        "Our team uses PostgreSQL for the billing service",
    ]
    ids = []
    for fact in facts:
        response = httpx.post(
            f"{base}/v1/memories", json={"content": fact, "user_id": "me"}, headers=headers
        )
        assert response.status_code == 201
        ids.append(response.json()["id"])
    queries = {
        "what food should I avoid because of allergies?": ids[1],
        "which database does the payments system run on?": ids[2],
        "when is the kid's celebration?": ids[0],
    }
    for query, expected in queries.items():
        body = httpx.post(
            f"{base}/v1/search", json={"query": query, "user_id": "me"}, headers=headers
        ).json()
        assert body["results"][0]["memory"]["id"] == expected, (
            query,
            body["results"][0]["memory"]["content"],
        )
    assert (
        httpx.get(f"{base}/v1/memories", headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )


def test_readme_sdk_quickstart_runs_as_written(server: tuple[str, Path]) -> None:
    base, data_dir = server
    script = Path(__file__).resolve().parents[2] / "sdk" / "examples" / "quickstart.py"
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=data_dir.parent,  # the quickstart reads data/default.key, as after `make run`
        env={**os.environ, "MNEMONIX_BASE_URL": base},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("I am allergic to peanuts"), result.stdout
    assert "not found:" in result.stdout
