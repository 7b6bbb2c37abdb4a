"""Two real ``mnemonix serve`` processes on one database, written to at once: every
acknowledged write (create, update, delete) reaches BOTH processes' indexes within a bound:
updated text is found (keyword: every memory; semantic: a sample) and the old text is not,
deleted memories leave the keyword and semantic indexes (their entry counts match).

The defect this guards: on PostgreSQL, event ids become visible out of commit order, and a
follower that only read past the highest id it had seen lost whole transactions for ever.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import create_database
from tests.helpers import ADMIN_KEY, auth, create_tenant_key
from tests.server import running_server

THREADS = 4
WRITES_PER_THREAD = 150
BOUND_SECONDS = 10.0
"""A follower syncs every 2 s; every acknowledged write must be visible everywhere by then."""
BATCH = 40  # tokens per check query (the keyword channel hands at most 50 hits to fusion)
SAMPLE = 15  # live memories checked through the semantic channel, each by its token


def _token() -> str:
    """A made-up word no other memory contains (letters only: one token, unstemmable)."""
    return "q" + "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:14]) + "z"


@dataclass
class Ledger:
    """What the writers were told succeeded: the state both indexes must converge to."""

    live: dict[str, str] = field(default_factory=dict)  # memory id -> its current token
    gone: set[str] = field(default_factory=set)  # tokens that must find nothing
    deleted: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _writer(bases: list[str], headers: dict[str, str], seed: int, ledger: Ledger) -> None:
    rng = random.Random(seed)
    mine: dict[str, str] = {}
    clients = [httpx.Client(base_url=b, headers=headers, timeout=60) for b in bases]
    try:
        for n in range(WRITES_PER_THREAD):
            client = rng.choice(clients)
            roll = rng.random()
            if n < 10 or not mine or roll < 0.55:
                token = _token()
                response = client.post(
                    "/v1/memories",
                    # its own session: no neighbour's words in its keyword document
                    json={"content": f"note {token}", "session_id": uuid.uuid4().hex},
                )
                assert response.status_code == 201, response.text
                mine[response.json()["id"]] = token
            elif roll < 0.85:
                memory_id = rng.choice(sorted(mine))
                token = _token()
                response = client.patch(
                    f"/v1/memories/{memory_id}", json={"content": f"note {token}"}
                )
                assert response.status_code == 200, response.text
                with ledger.lock:
                    ledger.gone.add(mine[memory_id])
                mine[memory_id] = token
            else:
                memory_id = rng.choice(sorted(mine))
                response = client.delete(f"/v1/memories/{memory_id}")
                assert response.status_code == 204, response.text
                with ledger.lock:
                    ledger.gone.add(mine.pop(memory_id))
                    ledger.deleted.add(memory_id)
    finally:
        for c in clients:
            c.close()
    with ledger.lock:
        ledger.live.update(mine)


def _search(client: httpx.Client, tokens: list[str], channel: str = "keyword") -> list[Any]:
    response = client.post(
        "/v1/search", json={"query": " ".join(tokens), "channels": [channel], "limit": 100}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body["missing_channels"], body["missing_channels"]
    return list(body["results"])


def _problems(client: httpx.Client, ledger: Ledger) -> list[str]:
    """Every way this process's index differs from the acknowledged writes (empty: none)."""
    found: list[str] = []
    items = sorted(ledger.live.items())
    for start in range(0, len(items), BATCH):
        batch = dict(items[start : start + BATCH])
        hits = {
            str(h["memory"]["id"]): str(h["memory"]["content"])
            for h in _search(client, list(batch.values()))
        }
        for memory_id, token in batch.items():
            if hits.get(memory_id) != f"note {token}":
                found.append(f"{memory_id} not found by {token} (got {hits.get(memory_id)!r})")
        found += [f"unexpected hit {i}" for i in hits.keys() - batch.keys()]
    gone = sorted(ledger.gone)
    for start in range(0, len(gone), BATCH):
        stale = _search(client, gone[start : start + BATCH])
        found += [f"old or deleted text still finds {h['memory']['id']}" for h in stale]
    # the semantic channel has the current text too (a sample: one query per memory)
    for memory_id, token in random.Random(len(items)).sample(items, min(SAMPLE, len(items))):
        hits = _search(client, [token], "semantic")[:10]
        if memory_id not in {str(h["memory"]["id"]) for h in hits}:
            found.append(f"semantic channel does not find {memory_id} by {token}")
    # a deleted memory's stale index entry is hidden by search (its row is gone): count them
    stats = client.get("/v1/admin/stats", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    for channel in ("keyword", "semantic"):
        entries = stats.json()["indexes"][channel]["entries"]
        if entries != len(ledger.live):
            found.append(f"{channel} index holds {entries} memories, not {len(ledger.live)}")
    return found


@pytest.fixture(params=["postgres", "sqlite"])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from create_database(request.param, tmp_path)


def test_concurrent_writers_on_two_processes_reach_both_indexes(
    shared_database: str, tmp_path: Path
) -> None:
    headers = auth(create_tenant_key(shared_database, "acme"))
    env = {
        "MNEMONIX_DATABASE_URL": shared_database,
        "MNEMONIX_EMBEDDER": "hash",
        "MNEMONIX_ADMIN_KEY": ADMIN_KEY,
        "MNEMONIX_BOOTSTRAP_TENANT": "",
        "MNEMONIX_MIGRATE_ON_START": "false",
    }
    with ExitStack() as stack:
        bases = []
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            bases.append(stack.enter_context(running_server(tmp_path / name, env)))
        ledger = Ledger()
        errors: list[BaseException] = []

        def run(seed: int) -> None:
            try:
                _writer(bases, headers, seed, ledger)
            except BaseException as exc:  # surfaced below, with the thread's traceback
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(seed,)) for seed in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not errors, errors[0]
        assert not any(t.is_alive() for t in threads)
        written = time.monotonic()
        assert len(ledger.live) + len(ledger.deleted) > THREADS * WRITES_PER_THREAD / 2

        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        for base in bases:
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                stored = client.get("/v1/admin/stats", headers=admin).json()["totals"]["memories"]
                assert stored == len(ledger.live)  # SQL agrees with the writers
                problems = _problems(client, ledger)
                while problems and time.monotonic() - written < BOUND_SECONDS:
                    time.sleep(0.5)
                    problems = _problems(client, ledger)
                assert not problems, (base, len(problems), problems[:5])
        print(f"both indexes in step {time.monotonic() - written:.1f} s after the last write")
