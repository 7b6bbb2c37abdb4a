"""The real server process over loopback, with the real MiniLM model: the README's curl flow."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.model


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    env = {
        **os.environ,
        "MNEMONIX_DATABASE_URL": f"sqlite:///{tmp_path / 'mnemonix.db'}",
        "MNEMONIX_DATA_DIR": str(tmp_path / "data"),
        "MNEMONIX_PORT": str(port),
        "MNEMONIX_LIFECYCLE__ENABLED": "false",
    }
    env.pop("MNEMONIX_EMBEDDER", None)
    mnemonix = Path(sys.executable).with_name("mnemonix")
    process = subprocess.Popen(
        [str(mnemonix), "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(
                    f"server exited: {process.stdout.read() if process.stdout else ''}"
                )
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            raise AssertionError("server did not become ready")
        yield base, tmp_path / "data"
    finally:
        process.terminate()
        process.wait(timeout=30)


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
