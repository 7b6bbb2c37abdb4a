"""``client.admin``: the admin API (``/v1/admin``). The client must hold the admin key:
``Mnemonix(api_key=ADMIN_KEY, ...)``; a tenant key gets ``Forbidden``."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mnemonix_client._admin_base import (
    NDJSON,
    EndCheck,
    ImportSource,
    OnConflict,
    import_params,
    key_body,
    ndjson_body,
    tenant_path,
)
from mnemonix_client.admin_models import (
    ApiKey,
    CreatedApiKey,
    ExportedMemory,
    ImportResult,
    LifecycleRun,
    ReindexResult,
    Stats,
    Tenant,
)

if TYPE_CHECKING:
    from mnemonix_client.async_client import AsyncMnemonix
    from mnemonix_client.client import Mnemonix

RUNS = "/v1/admin/lifecycle/runs"


class Admin:
    def __init__(self, client: Mnemonix) -> None:
        self._client = client

    def stats(self) -> Stats:
        """Memories per tenant and tier, bytes per tier and index, channel health, recent runs."""
        return Stats.model_validate(self._client.request("GET", "/v1/admin/stats"))

    def list_tenants(self) -> list[Tenant]:
        data = self._client.request("GET", "/v1/admin/tenants")
        return [Tenant.model_validate(t) for t in data["items"]]

    def create_tenant(self, name: str) -> Tenant:
        """``Conflict`` if the name is taken."""
        return Tenant.model_validate(
            self._client.request("POST", "/v1/admin/tenants", json={"name": name})
        )

    def list_keys(self, tenant: str) -> list[ApiKey]:
        data = self._client.request("GET", f"{tenant_path(tenant)}/keys")
        return [ApiKey.model_validate(k) for k in data["items"]]

    def create_key(
        self,
        tenant: str,
        *,
        name: str = "",
        scopes: Sequence[str] | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        rate_limit: float | None = None,
        burst: int | None = None,
    ) -> CreatedApiKey:
        """A new key; ``.key`` is the secret, returned this once only.

        ``scopes`` (of ``"read"``, ``"write"``, ``"delete"``; default all three) narrow what
        it may do; ``user_id`` / ``agent_id`` bind it to that scope of memories;
        ``rate_limit`` (requests per second) and ``burst`` give it its own token bucket."""
        body = key_body(name, scopes, user_id, agent_id, rate_limit, burst)
        return CreatedApiKey.model_validate(
            self._client.request("POST", f"{tenant_path(tenant)}/keys", json=body)
        )

    def revoke_key(self, key_id: uuid.UUID | str) -> None:
        self._client.request("DELETE", f"/v1/admin/keys/{key_id}")

    def reindex(self, tenant: str | None = None) -> ReindexResult:
        """Rebuild the indexes of one tenant (or all) from SQL."""
        return ReindexResult.model_validate(
            self._client.request("POST", "/v1/admin/reindex", json={"tenant": tenant})
        )

    def export_lines(self, tenant: str) -> Iterator[bytes]:
        """The tenant's export, streamed: one JSON line (bytes, no newline) per memory. Once
        the stream ends, ``TruncatedExport`` if it was cut short (no end line, or one
        counting other lines): only a clean end of the iteration means "all of them"."""
        check = EndCheck(tenant)
        for line in self._client.stream_lines("GET", f"{tenant_path(tenant)}/export"):
            if check.feed(line):
                yield line
        check.finish()

    def iter_export(self, tenant: str) -> Iterator[ExportedMemory]:
        """The tenant's memories as typed models, streamed in id order (``TruncatedExport``
        at the end if the stream was cut short)."""
        for line in self.export_lines(tenant):
            yield ExportedMemory.model_validate_json(line)

    def export(self, tenant: str, destination: str | os.PathLike[str] | IO[bytes]) -> int:
        """Write the export, byte for byte and end line included, to a path or binary file;
        returns the number of memories. ``TruncatedExport`` if the stream was cut short
        (what was written then lacks its end line, and an import refuses it)."""
        if isinstance(destination, str | os.PathLike):
            with Path(destination).open("wb") as handle:
                return self.export(tenant, handle)
        check = EndCheck(tenant)
        for line in self._client.stream_lines("GET", f"{tenant_path(tenant)}/export"):
            check.feed(line)
            destination.write(line + b"\n")
        check.finish()
        return check.count

    def import_(
        self,
        tenant: str,
        source: ImportSource,
        *,
        create_tenant: bool = False,
        on_conflict: OnConflict = "error",
    ) -> ImportResult:
        """Import an export (a ``.jsonl`` path, bytes, or lines) atomically. A path or bytes
        must end with the export's end line, else ``TruncatedImport``; lines or models get one
        added. A bad line raises ``ValidationFailed`` (``.problem["line"]``); an id already
        stored ``Conflict``, unless ``on_conflict="skip"``. Nothing is written on any error."""
        return ImportResult.model_validate(
            self._client.request(
                "POST",
                f"{tenant_path(tenant)}/import",
                params=import_params(create_tenant, on_conflict),
                content=ndjson_body(source),
                content_type=NDJSON,
            )
        )

    def start_run(self, *, dry_run: bool = False, tenant: str | None = None) -> LifecycleRun:
        """Run the lifecycle now (``Conflict`` while another runner works)."""
        body: dict[str, Any] = {"dry_run": dry_run, "tenant": tenant}
        return LifecycleRun.model_validate(self._client.request("POST", RUNS, json=body))

    def list_runs(self, *, limit: int = 50, tenant: str | None = None) -> list[LifecycleRun]:
        data = self._client.request("GET", RUNS, params={"limit": limit, "tenant": tenant})
        return [LifecycleRun.model_validate(r) for r in data["items"]]

    def get_run(self, run_id: uuid.UUID | str) -> LifecycleRun:
        return LifecycleRun.model_validate(self._client.request("GET", f"{RUNS}/{run_id}"))


class AsyncAdmin:
    """The awaited twin of ``Admin``."""

    def __init__(self, client: AsyncMnemonix) -> None:
        self._client = client

    async def stats(self) -> Stats:
        return Stats.model_validate(await self._client.request("GET", "/v1/admin/stats"))

    async def list_tenants(self) -> list[Tenant]:
        data = await self._client.request("GET", "/v1/admin/tenants")
        return [Tenant.model_validate(t) for t in data["items"]]

    async def create_tenant(self, name: str) -> Tenant:
        return Tenant.model_validate(
            await self._client.request("POST", "/v1/admin/tenants", json={"name": name})
        )

    async def list_keys(self, tenant: str) -> list[ApiKey]:
        data = await self._client.request("GET", f"{tenant_path(tenant)}/keys")
        return [ApiKey.model_validate(k) for k in data["items"]]

    async def create_key(
        self,
        tenant: str,
        *,
        name: str = "",
        scopes: Sequence[str] | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        rate_limit: float | None = None,
        burst: int | None = None,
    ) -> CreatedApiKey:
        body = key_body(name, scopes, user_id, agent_id, rate_limit, burst)
        return CreatedApiKey.model_validate(
            await self._client.request("POST", f"{tenant_path(tenant)}/keys", json=body)
        )

    async def revoke_key(self, key_id: uuid.UUID | str) -> None:
        await self._client.request("DELETE", f"/v1/admin/keys/{key_id}")

    async def reindex(self, tenant: str | None = None) -> ReindexResult:
        return ReindexResult.model_validate(
            await self._client.request("POST", "/v1/admin/reindex", json={"tenant": tenant})
        )

    async def export_lines(self, tenant: str) -> AsyncIterator[bytes]:
        check = EndCheck(tenant)
        async for line in self._client.stream_lines("GET", f"{tenant_path(tenant)}/export"):
            if check.feed(line):
                yield line
        check.finish()

    async def iter_export(self, tenant: str) -> AsyncIterator[ExportedMemory]:
        async for line in self.export_lines(tenant):
            yield ExportedMemory.model_validate_json(line)

    async def export(self, tenant: str, destination: str | os.PathLike[str] | IO[bytes]) -> int:
        if isinstance(destination, str | os.PathLike):
            with Path(destination).open("wb") as handle:
                return await self.export(tenant, handle)
        check = EndCheck(tenant)
        async for line in self._client.stream_lines("GET", f"{tenant_path(tenant)}/export"):
            check.feed(line)
            destination.write(line + b"\n")
        check.finish()
        return check.count

    async def import_(
        self,
        tenant: str,
        source: ImportSource,
        *,
        create_tenant: bool = False,
        on_conflict: OnConflict = "error",
    ) -> ImportResult:
        return ImportResult.model_validate(
            await self._client.request(
                "POST",
                f"{tenant_path(tenant)}/import",
                params=import_params(create_tenant, on_conflict),
                content=ndjson_body(source),
                content_type=NDJSON,
            )
        )

    async def start_run(self, *, dry_run: bool = False, tenant: str | None = None) -> LifecycleRun:
        body: dict[str, Any] = {"dry_run": dry_run, "tenant": tenant}
        return LifecycleRun.model_validate(await self._client.request("POST", RUNS, json=body))

    async def list_runs(self, *, limit: int = 50, tenant: str | None = None) -> list[LifecycleRun]:
        data = await self._client.request("GET", RUNS, params={"limit": limit, "tenant": tenant})
        return [LifecycleRun.model_validate(r) for r in data["items"]]

    async def get_run(self, run_id: uuid.UUID | str) -> LifecycleRun:
        return LifecycleRun.model_validate(await self._client.request("GET", f"{RUNS}/{run_id}"))


__all__ = ["Admin", "AsyncAdmin"]
