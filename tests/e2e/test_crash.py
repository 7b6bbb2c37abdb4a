"""Crash durability: a real server under concurrent single and batch writes is killed with
SIGKILL three times. After each restart every acknowledged write is readable and found by
the keyword and semantic channels, and a write whose answer never came is either wholly
present or wholly absent (a batch is never half-stored).

SQLite commits with ``synchronous=FULL`` and PostgreSQL with its default ``fsync`` and
``synchronous_commit``, so a 201 means the rows are on disk; indexes are rebuilt from SQL at
start-up (docs/reliability.md, "Durability").
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_database
from tests.helpers import ADMIN_KEY, auth, create_tenant_key
from tests.server import ServerProcess

KILLS = 3
WRITERS = 4
BATCH = 5
SEMANTIC_SAMPLE = 25  # memories checked through the semantic channel after each restart


def _token() -> str:
    """A made-up word (letters only: one keyword token, unstemmable)."""
    return "c" + "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:14]) + "x"


@dataclass
class Ledger:
    acked: dict[str, str] = field(default_factory=dict)  # memory id -> token
    acked_groups: dict[str, int] = field(default_factory=dict)  # user_id -> memories in it
    unknown: dict[str, int] = field(default_factory=dict)  # user_id -> memories sent, no answer
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _writer(base: str, key: str, seed: int, stop: threading.Event, ledger: Ledger) -> None:
    """Writes until ``stop`` (or until the server stops answering): each request's memories
    share a fresh ``user_id``, so a listing by it tells whether the request was stored."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base, headers=auth(key), timeout=30) as http:
        while not stop.is_set():
            group = uuid.uuid4().hex
            tokens = [_token() for _ in range(BATCH if rng.random() < 0.3 else 1)]
            items = [{"content": f"note {t}", "user_id": group} for t in tokens]
            try:
                if len(items) == 1:
                    response = http.post("/v1/memories", json=items[0])
                    ids = [response.json()["id"]] if response.status_code == 201 else []
                else:
                    response = http.post("/v1/memories/batch", json={"memories": items})
                    ids = response.json()["ids"] if response.status_code == 201 else []
            except httpx.HTTPError:  # killed mid-request: the outcome is unknown
                with ledger.lock:
                    ledger.unknown[group] = len(items)
                return
            with ledger.lock:
                if response.status_code != 201:
                    ledger.errors.append(f"{response.status_code} {response.text[:200]}")
                    return
                ledger.acked.update(zip(ids, tokens, strict=True))
                ledger.acked_groups[group] = len(items)


def _stored(http: httpx.Client) -> dict[str, tuple[str, str]]:
    """Every memory of the tenant: id -> (content, user_id), through the paged listing."""
    out: dict[str, tuple[str, str]] = {}
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = http.get("/v1/memories", params=params).json()
        out.update({m["id"]: (m["content"], m["user_id"]) for m in page["items"]})
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def _search(http: httpx.Client, query: str, channel: str, limit: int) -> set[str]:
    response = http.post("/v1/search", json={"query": query, "channels": [channel], "limit": limit})
    assert response.status_code == 200, response.text
    assert not response.json()["missing_channels"]
    return {h["memory"]["id"] for h in response.json()["results"]}


def _check(base: str, key: str, ledger: Ledger, rng: random.Random) -> None:
    with httpx.Client(base_url=base, headers=auth(key), timeout=60) as http:
        stored = _stored(http)
        lost = [i for i, t in ledger.acked.items() if stored.get(i, ("", ""))[0] != f"note {t}"]
        assert not lost, f"{len(lost)} acknowledged writes lost after a crash: {lost[:5]}"
        per_group: dict[str, int] = {}
        for _, user in stored.values():
            per_group[user] = per_group.get(user, 0) + 1
        for group, sent in ledger.unknown.items():  # all or nothing
            assert per_group.get(group, 0) in (0, sent), (group, per_group.get(group), sent)
        for group, sent in ledger.acked_groups.items():
            assert per_group.get(group) == sent, (group, per_group.get(group), sent)
        assert set(per_group) <= set(ledger.acked_groups) | set(ledger.unknown)
        # the indexes were rebuilt from SQL: the keyword channel finds every stored memory
        # (40 tokens a query), the semantic channel a sample, each by its own token
        by_token = {content.split()[1]: memory_id for memory_id, (content, _) in stored.items()}
        tokens = sorted(by_token)
        for start in range(0, len(tokens), 40):
            chunk = tokens[start : start + 40]
            found = _search(http, " ".join(chunk), "keyword", 100)
            missing = [t for t in chunk if by_token[t] not in found]
            assert not missing, f"keyword channel misses {len(missing)}: {missing[:3]}"
        for token in rng.sample(tokens, min(SEMANTIC_SAMPLE, len(tokens))):
            assert by_token[token] in _search(http, token, "semantic", 10), token


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from create_database(request.param, tmp_path)


def test_acknowledged_writes_survive_sigkill(database: str, tmp_path: Path) -> None:
    key = create_tenant_key(database, "acme")
    server = ServerProcess(
        tmp_path,
        {
            "MNEMONIX_DATABASE_URL": database,
            "MNEMONIX_EMBEDDER": "hash",
            "MNEMONIX_ADMIN_KEY": ADMIN_KEY,
            "MNEMONIX_BOOTSTRAP_TENANT": "",
        },
    )
    ledger = Ledger()
    rng = random.Random(11)
    try:
        for kill in range(KILLS):
            base = server.start()
            if kill:
                _check(base, key, ledger, rng)
            stop = threading.Event()
            writers = [
                threading.Thread(target=_writer, args=(base, key, kill * 10 + i, stop, ledger))
                for i in range(WRITERS)
            ]
            for writer in writers:
                writer.start()
            time.sleep(rng.uniform(1.5, 3.0))  # under load: requests are in flight
            server.kill()
            stop.set()
            for writer in writers:
                writer.join(timeout=60)
            assert not any(w.is_alive() for w in writers)
            assert not ledger.errors, ledger.errors
        base = server.start()
        _check(base, key, ledger, rng)
    finally:
        server.stop()
    assert len(ledger.acked) > 50 and ledger.unknown, (len(ledger.acked), ledger.unknown)
    print(
        f"{len(ledger.acked)} acknowledged, {len(ledger.unknown)} unanswered across {KILLS} kills"
    )
