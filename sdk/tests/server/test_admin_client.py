"""``client.admin`` against the app in-process (sync and async), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from mnemonix_client import (
    AsyncMnemonix,
    Conflict,
    ExportedMemory,
    Forbidden,
    LifecycleRun,
    Mnemonix,
    RateLimited,
    TruncatedExport,
    TruncatedImport,
    Unauthorized,
    ValidationFailed,
)
from sdk.tests.server.inprocess import InProcess
from tests.helpers import ADMIN_KEY


def _client(client: TestClient, key: str) -> Mnemonix:
    return Mnemonix(api_key=key, base_url="http://testserver", transport=InProcess(client))


def test_admin_round_trip(app_client: tuple[TestClient, str], tmp_path: Path) -> None:
    client, tenant_key = app_client
    with _client(client, ADMIN_KEY) as admin_client:
        admin = admin_client.admin
        tenant = admin.create_tenant("initech")
        assert tenant.name == "initech" and tenant.memories == 0
        with pytest.raises(Conflict):
            admin.create_tenant("initech")
        key = admin.create_key("initech", name="app")
        assert key.key.startswith(key.prefix)
        assert [k.id for k in admin.list_keys("initech")] == [key.id]
        assert "key" not in admin.list_keys("initech")[0].model_dump()

        with _client(client, key.key) as mx:
            mx.memories.add_many(
                [{"content": f"TPS report {i}", "user_id": "peter"} for i in range(5)]
            )
            assert mx.search("TPS report").results
            with pytest.raises(Forbidden):
                mx.admin.stats()

        stats = admin.stats()
        assert {t.name: t.memories for t in stats.tenants}["initech"] == 5
        assert stats.totals.memories == 5 and stats.indexes["keyword"].entries == 5
        assert stats.channels["semantic"].searches == 1
        assert {t.name for t in admin.list_tenants()} == {"initech", "sdk"}
        assert admin.reindex("initech").memories == 5
        assert admin.reindex().tenants

        exported = list(admin.iter_export("initech"))
        assert len(exported) == 5 and all(isinstance(m, ExportedMemory) for m in exported)
        assert [str(m.id) for m in exported] == sorted(str(m.id) for m in exported)
        path = tmp_path / "initech.jsonl"
        assert admin.export("initech", path) == 5
        buffer = io.BytesIO()
        admin.export("initech", buffer)
        assert buffer.getvalue() == path.read_bytes()

        assert admin.import_("initech", path, on_conflict="skip").skipped == 5
        with pytest.raises(Conflict):
            admin.import_("initech", path)
        copies = [m.model_copy(update={"id": uuid.uuid4()}) for m in exported]
        result = admin.import_("copy", copies, create_tenant=True)
        assert result.imported == 5 and result.skipped == 0
        copied = {m.id: m.content for m in admin.iter_export("copy")}
        assert copied == {m.id: m.content for m in copies}
        bad = json.dumps({**json.loads(path.read_bytes().splitlines()[0]), "id": "nope"})
        with pytest.raises(ValidationFailed) as invalid:
            admin.import_("copy", [bad])
        assert invalid.value.problem["line"] == 1

        admin.revoke_key(key.id)
        assert admin.list_keys("initech")[0].revoked_at is not None
        with _client(client, key.key) as mx, pytest.raises(Unauthorized):
            mx.memories.list()


def test_async_admin(app_client: tuple[TestClient, str]) -> None:
    client, _ = app_client

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=client.app)
        async with AsyncMnemonix(
            api_key=ADMIN_KEY, base_url="http://testserver", transport=transport
        ) as mx:
            await mx.admin.create_tenant("hooli")
            key = await mx.admin.create_key("hooli")
            assert [k.id for k in await mx.admin.list_keys("hooli")] == [key.id]
            async with AsyncMnemonix(
                api_key=key.key, base_url="http://testserver", transport=transport
            ) as tenant:
                await tenant.memories.add("Gavin likes boxes")
            exported = [m async for m in mx.admin.iter_export("hooli")]
            assert [m.content for m in exported] == ["Gavin likes boxes"]
            buffer = io.BytesIO()
            assert await mx.admin.export("hooli", buffer) == 1
            skipped = await mx.admin.import_("hooli", buffer.getvalue(), on_conflict="skip")
            assert skipped.skipped == 1
            assert (await mx.admin.stats()).totals.memories == 1
            assert (await mx.admin.reindex("hooli")).memories == 1
            assert "hooli" in {t.name for t in await mx.admin.list_tenants()}
            await mx.admin.revoke_key(key.id)

    asyncio.run(scenario())


RUN = {
    "id": "7b0c1a64-8a3e-4c51-9a55-1c9e0f1d2e3f",
    "status": "completed",
    "dry_run": True,
    "tenant": None,
    "started_at": "2026-01-01T00:00:00Z",
    "finished_at": "2026-01-01T00:00:02Z",
    "duration_ms": 2000.0,
    "examined": 10,
    "changed": 3,
    "moves": {"hot->warm": 3},
    "merged": 0,
    "contradictions": 1,
    "bytes_before": 3840,
    "bytes_after": 3840,
    "error": None,
    "trigger": "admin",  # extra fields are kept
}


def test_lifecycle_runs_paths_and_models() -> None:
    seen: list[tuple[str, str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url), request.read()))
        if request.method == "POST":
            return httpx.Response(201, json=RUN)
        if request.url.path.endswith("/runs"):
            return httpx.Response(200, json={"items": [RUN]})
        return httpx.Response(200, json=RUN)

    with Mnemonix(
        api_key="admin", base_url="http://x", transport=httpx.MockTransport(handler)
    ) as mx:
        run = mx.admin.start_run(dry_run=True)
        assert isinstance(run, LifecycleRun) and run.moves == {"hot->warm": 3}
        assert run.model_dump()["trigger"] == "admin"
        assert [r.id for r in mx.admin.list_runs(limit=5, tenant="acme")] == [run.id]
        assert mx.admin.get_run(run.id).status == "completed"
    assert seen[0][:2] == ("POST", "http://x/v1/admin/lifecycle/runs")
    assert json.loads(seen[0][2]) == {"dry_run": True}
    assert seen[1][1] == "http://x/v1/admin/lifecycle/runs?limit=5&tenant=acme"
    assert seen[2][1] == f"http://x/v1/admin/lifecycle/runs/{RUN['id']}"


def test_lifecycle_runs_in_process(app_client: tuple[TestClient, str]) -> None:
    client, _ = app_client
    with _client(client, ADMIN_KEY) as mx:
        run = mx.admin.start_run(dry_run=True, tenant="sdk")
        assert run.dry_run and run.tenant == "sdk" and run.status == "completed"
        assert run.id in [r.id for r in mx.admin.list_runs(tenant="sdk")]
        assert mx.admin.get_run(run.id).id == run.id
        assert mx.admin.stats().lifecycle.runs[0].id == run.id


def test_consolidation_seen_through_the_sdk(app_client: tuple[TestClient, str]) -> None:
    client, tenant_key = app_client
    with _client(client, tenant_key) as mx, _client(client, ADMIN_KEY) as admin:
        first = mx.memories.add("Ana keeps her spare keys with the neighbour.", user_id="ana")
        mx.memories.add("Ana keeps her spare keys with the neighbour!", user_id="ana")
        run = admin.admin.start_run(tenant="sdk")
        assert run.status == "completed"
        source = mx.memories.get(first.id)
        assert source.superseded_by is not None and source.content == first.content
        links = mx.memories.links(source.superseded_by)
        assert {link.relation for link in links} == {"consolidates"} and len(links) == 2


def test_a_cut_export_raises_and_a_cut_file_is_not_imported(
    app_client: tuple[TestClient, str], tmp_path: Path
) -> None:
    client, tenant_key = app_client
    with _client(client, tenant_key) as mx:
        mx.memories.add_many([{"content": f"Invoice {i} is paid"} for i in range(3)])
    with _client(client, ADMIN_KEY) as admin:
        whole = io.BytesIO()
        assert admin.admin.export("sdk", whole) == 3
    *lines, end = whole.getvalue().splitlines()
    assert json.loads(end) == {"type": "end", "count": 3}
    cut_bodies = [
        b"".join(line + b"\n" for line in lines),  # the connection dropped before the end
        b"".join(line + b"\n" for line in [*lines[:2], end]),  # a line lost on the way
        b"",
    ]
    for body in cut_bodies:

        def serve(request: httpx.Request, body: bytes = body) -> httpx.Response:
            return httpx.Response(
                200, content=body, headers={"content-type": "application/x-ndjson"}
            )

        with Mnemonix(
            api_key=ADMIN_KEY, base_url="http://x", transport=httpx.MockTransport(serve)
        ) as mx:
            with pytest.raises(TruncatedExport):
                list(mx.admin.iter_export("sdk"))
            with pytest.raises(TruncatedExport):
                mx.admin.export("sdk", tmp_path / "cut.jsonl")

        async def scenario(serve: object = serve) -> None:
            async def handle(request: httpx.Request) -> httpx.Response:
                return serve(request)  # type: ignore[operator,no-any-return]

            async with AsyncMnemonix(
                api_key=ADMIN_KEY, base_url="http://x", transport=httpx.MockTransport(handle)
            ) as mx:
                with pytest.raises(TruncatedExport):
                    [m async for m in mx.admin.iter_export("sdk")]
                with pytest.raises(TruncatedExport):
                    await mx.admin.export("sdk", io.BytesIO())

        asyncio.run(scenario())

    # what export() left behind lacks its end line: the server refuses it, imports nothing
    cut = tmp_path / "cut.jsonl"
    assert cut.read_bytes() == b""  # the last body served was empty
    cut.write_bytes(cut_bodies[0])
    with _client(client, ADMIN_KEY) as admin:
        with pytest.raises(TruncatedImport) as refused:
            admin.admin.import_("restored", cut, create_tenant=True)
        assert isinstance(refused.value, ValidationFailed) and refused.value.status == 422
        assert isinstance(refused.value, TruncatedExport)
        assert "restored" not in {t.name for t in admin.admin.list_tenants()}
        whole_file = tmp_path / "whole.jsonl"
        whole_file.write_bytes(whole.getvalue())
        result = admin.admin.import_("restored", whole_file, create_tenant=True, on_conflict="skip")
        assert (result.imported, result.skipped) == (0, 3)


def test_scoped_keys_and_retry_after(
    app_client: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Narrower keys through the SDK, and a 429's ``Retry-After`` honoured by the retry."""
    client, _ = app_client
    with _client(client, ADMIN_KEY) as admin_client:
        admin = admin_client.admin
        bound = admin.create_key(
            "sdk", name="ann", scopes=["read"], user_id="ann", rate_limit=0.1, burst=1
        )
        assert (bound.scopes, bound.user_id, bound.agent_id) == (["read"], "ann", None)
        assert bound.rate_limit is not None and bound.rate_limit.per_second == 0.1
        listed = {k.id: k for k in admin.list_keys("sdk")}[bound.id]
        assert listed.scopes == ["read"] and listed.user_id == "ann"

    waits: list[float] = []
    monkeypatch.setattr("mnemonix_client.client.time.sleep", waits.append)
    with _client(client, bound.key) as mx:
        with pytest.raises(Forbidden):
            mx.memories.add("I may not write", user_id="ann")
        # the write spent the one token: the GET is answered 429 with Retry-After: 10, the
        # client waits that long each time (sleep is recorded, not slept) and gives up
        with pytest.raises(RateLimited) as limited:
            mx.memories.list()
        assert waits == [10.0] * mx.max_retries
        assert limited.value.status == 429
