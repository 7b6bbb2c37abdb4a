"""A write's values as the tenant's policy lets them be stored: secrets and PII screened
(before embedding: the embedder, SQL, the indexes and the history only ever see the
screened text), and its expiry resolved (its own, else the policy's default TTL)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.privacy.policy import WritePolicy, default_expiry, load_policy
from service.privacy.screen import screen
from service.schemas import MemoryCreate
from service.state import AppState
from storage.errors import InvalidInput
from storage.models import Memory
from storage.repositories import TenantRepository


@dataclass(frozen=True, slots=True)
class Prepared:
    content: str
    metadata: dict[str, Any]
    expires_at: datetime | None
    redacted: tuple[str, ...] = ()
    """The kinds redacted (never a value)."""


def write_policy(state: AppState, tenant_id: uuid.UUID) -> WritePolicy:
    with state.sessions() as session:
        return load_policy(TenantRepository(session).write_policy(tenant_id))


def expiry(
    *, expires_at: datetime | None, ttl_seconds: int | None, now: datetime, where: str
) -> datetime | None:
    """A write's own expiry (``expires_at`` or ``now + ttl_seconds``); it must be ahead."""
    if ttl_seconds is not None:
        return now + timedelta(seconds=ttl_seconds)
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(f"{where}expires_at is not in the future.", field=f"{where}expires_at")
    return expires_at


def is_expired(row: Memory, now: datetime) -> bool:
    return row.expires_at is not None and row.expires_at <= now


def prepare_create(
    policy: WritePolicy, item: MemoryCreate, *, now: datetime, where: str = ""
) -> Prepared:
    screened = screen(policy, content=item.content, metadata=item.metadata, where=where)
    expires_at = expiry(
        expires_at=item.expires_at, ttl_seconds=item.ttl_seconds, now=now, where=where
    )
    if item.expires_at is None and item.ttl_seconds is None:
        expires_at = default_expiry(
            policy,
            now=now,
            metadata=screened.metadata,
            user_id=item.user_id,
            agent_id=item.agent_id,
            session_id=item.session_id,
        )
    return Prepared(screened.content, screened.metadata, expires_at, tuple(screened.kinds))
