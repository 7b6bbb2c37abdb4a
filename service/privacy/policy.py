"""A tenant's write policy: default TTLs, and what happens to secrets and PII in a write.

Stored as JSON on the tenant (``tenant.write_policy``), set with
``PUT /v1/admin/tenants/{name}/write-policy``; every key is optional:

```json
{"secrets": "redact", "pii": false, "phone_region": "US",
 "default_ttl_seconds": {"user": null, "agent": null, "session": 86400},
 "tag_ttl": [{"key": "kind", "value": "scratch", "ttl_seconds": 3600}]}
```

A write without ``expires_at`` or ``ttl_seconds`` gets the shortest TTL of the tag rules
its metadata matches (``metadata[key] == value``); failing that, the TTL of its most
specific scope that has one (session, then agent, then user); failing that, none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

MAX_TTL_SECONDS = 100 * 365 * 86_400
"""A hundred years: any longer is "never" (and keeps ``now + ttl`` far inside datetime)."""

TtlSeconds = Annotated[StrictInt, Field(ge=1, le=MAX_TTL_SECONDS)]
SecretsMode = Literal["redact", "reject", "allow"]


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ScopeTtl(_Policy):
    """Default TTL by the most specific scope a memory has (session, then agent, then user)."""

    user: TtlSeconds | None = None
    agent: TtlSeconds | None = None
    session: TtlSeconds | None = None


class TagTtl(_Policy):
    """Memories whose ``metadata[key]`` equals ``value`` live ``ttl_seconds`` by default."""

    key: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[^\x00]*$")]
    value: (
        Annotated[StrictStr, Field(max_length=1000, pattern=r"^[^\x00]*$")]
        | Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
        | StrictBool
    )
    ttl_seconds: TtlSeconds


class WritePolicy(_Policy):
    secrets: SecretsMode = Field(
        "redact",
        description=(
            "Credentials in content or metadata: `redact` stores `[REDACTED:<kind>]` in their "
            "place, `reject` answers 422 naming the kind and position, `allow` stores as sent."
        ),
    )
    pii: StrictBool = Field(
        False,
        description="Also find e-mail addresses, phone numbers and card numbers (Luhn), "
        "handled as `secrets` says.",
    )
    phone_region: Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$")] = Field(
        "US", description="Region (ISO 3166 alpha-2) of phone numbers written without +code."
    )
    default_ttl_seconds: ScopeTtl = Field(default_factory=ScopeTtl)
    tag_ttl: list[TagTtl] = Field(default_factory=list, max_length=100)


def load_policy(stored: Mapping[str, Any] | None) -> WritePolicy:
    """The stored policy over the defaults (a stored policy was validated when it was set)."""
    return WritePolicy.model_validate(dict(stored or {}))


def default_expiry(
    policy: WritePolicy,
    *,
    now: datetime,
    metadata: Mapping[str, Any],
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
) -> datetime | None:
    """When a memory written at ``now`` without its own expiry expires under ``policy``."""
    matched = [
        rule.ttl_seconds
        for rule in policy.tag_ttl
        if rule.key in metadata
        and metadata[rule.key] == rule.value
        and type(metadata[rule.key]) is type(rule.value)
    ]
    ttl = min(matched) if matched else None
    if ttl is None:
        scopes = policy.default_ttl_seconds
        for present, seconds in (
            (session_id, scopes.session),
            (agent_id, scopes.agent),
            (user_id, scopes.user),
        ):
            if present is not None and seconds is not None:
                ttl = seconds
                break
    return None if ttl is None else now + timedelta(seconds=ttl)
