"""The SDK against real server processes over loopback: the whole memory surface, admin calls,
and an export from one server imported into a fresh one giving identical search results."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mnemonix_client import AsyncMnemonix, Mnemonix, NotFound, ValidationFailed
from tests.helpers import ADMIN_KEY
from tests.server import running_server

ENV = {
    "MNEMONIX_EMBEDDER": "hash",
    "MNEMONIX_ADMIN_KEY": ADMIN_KEY,
    "MNEMONIX_BOOTSTRAP_TENANT": "acme",
}
FACTS = [
    "Priya's sister lives in Lisbon and teaches violin",
    "The billing service runs on PostgreSQL 16",
    "Tom is allergic to peanuts",
    "The offsite moved to the lake house in June",
    "Priya prefers window seats on long flights",
    "Standup is at 9:30 every weekday",
]
QUERIES = ["where does Priya's sister live?", "which database for billing?", "allergy", "offsite"]


def _snapshot(mx: Mnemonix) -> list[list[tuple[str, float]]]:
    return [
        [
            (str(h.memory.id), round(h.score, 9))
            for h in mx.search(q, user_id="ops", limit=5).results
        ]
        for q in QUERIES
    ]


def test_sdk_over_loopback_and_export_import_between_servers(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    export = tmp_path / "acme.jsonl"
    with running_server(tmp_path / "a", ENV) as base_a:
        key = (tmp_path / "a" / "data" / "acme.key").read_text().strip()
        with Mnemonix(api_key=key, base_url=base_a) as mx:
            first = mx.memories.add(FACTS[0], user_id="ops", metadata={"source": "chat"})
            ids = [
                m.id
                for m in mx.memories.add_many([{"content": f, "user_id": "ops"} for f in FACTS[1:]])
            ]
            assert mx.memories.get(first.id).metadata == {"source": "chat"}
            changed = mx.memories.update(
                ids[0], content="The billing service runs on PostgreSQL 17"
            )
            assert changed.version == 2
            mx.memories.delete(ids[-1])
            with pytest.raises(NotFound):
                mx.memories.get(ids[-1])
            with pytest.raises(ValidationFailed):
                mx.memories.add("", user_id="ops")
            assert [e.event for e in mx.memories.history(ids[0])] == ["created", "updated"]
            assert len(list(mx.memories.iter(user_id="ops", page_size=2))) == 5
            before = _snapshot(mx)
            assert before[1][0][0] == str(ids[0])
        with Mnemonix(api_key=ADMIN_KEY, base_url=base_a) as admin:
            assert {t.name: t.memories for t in admin.admin.stats().tenants} == {"acme": 5}
            assert admin.admin.export("acme", export) == 5

    with running_server(tmp_path / "b", {**ENV, "MNEMONIX_BOOTSTRAP_TENANT": ""}) as base_b:
        with Mnemonix(api_key=ADMIN_KEY, base_url=base_b) as admin:
            result = admin.admin.import_("acme", export, create_tenant=True)
            assert result.imported == 5
            key_b = admin.admin.create_key("acme").key
        with Mnemonix(api_key=key_b, base_url=base_b) as mx:
            assert _snapshot(mx) == before
            assert mx.memories.get(first.id).content == FACTS[0]

        async def async_check() -> None:
            async with AsyncMnemonix(api_key=key_b, base_url=base_b) as amx:
                hits = (await amx.search("allergy", user_id="ops")).results
                assert hits[0].memory.content == FACTS[2]

        asyncio.run(async_check())
