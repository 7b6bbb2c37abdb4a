"""Apply a tenant's write policy to a memory's content and metadata before anything else
sees them: before embedding, SQL, the indexes, the history or a log.

``redact`` replaces each finding by ``[REDACTED:<kind>]``; ``reject`` raises
``SecretRejected`` naming the field, the kind and the character offset (never the value);
``allow`` changes nothing. Metadata string values are screened at any depth (keys are
names, not values, and are left as sent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.privacy.detect import Finding, find_pii, find_secrets, redacted
from service.privacy.policy import WritePolicy
from storage.errors import InvalidInput


class SecretRejected(InvalidInput):
    """A write holds a credential (or PII) and the tenant's policy is ``reject``."""

    code = "secret_rejected"


@dataclass
class Screened:
    content: str
    metadata: dict[str, Any]
    kinds: list[str] = field(default_factory=list)
    """The kinds redacted, one per finding (never a value)."""


def _findings(policy: WritePolicy, text: str) -> list[Finding]:
    found = find_secrets(text)
    if policy.pii:
        taken = [(f.start, f.end) for f in found]
        found += [
            f
            for f in find_pii(text, phone_region=policy.phone_region)
            if not any(f.start < end and start < f.end for start, end in taken)
        ]
        found.sort(key=lambda f: f.start)
    return found


class _Screen:
    def __init__(self, policy: WritePolicy, where: str) -> None:
        self.policy = policy
        self.where = where
        self.kinds: list[str] = []

    def text(self, value: str, path: str) -> str:
        found = _findings(self.policy, value)
        if not found:
            return value
        if self.policy.secrets == "reject":
            first = found[0]
            location = f"{self.where}{path}"
            raise SecretRejected(
                f"{location} holds a {first.kind} at character {first.start}; this tenant's "
                "policy rejects secrets (nothing was stored).",
                field=location,
                kind=first.kind,
                offset=first.start,
                kinds=sorted({f.kind for f in found}),
            )
        self.kinds += [f.kind for f in found]
        return redacted(value, found)

    def value(self, value: Any, path: str) -> Any:
        if isinstance(value, str):
            return self.text(value, path)
        if isinstance(value, dict):
            return {k: self.value(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, f"{path}.{i}") for i, v in enumerate(value)]
        return value


def screen(
    policy: WritePolicy,
    *,
    content: str | None,
    metadata: dict[str, Any] | None,
    where: str = "",
) -> Screened:
    """``content`` and ``metadata`` as the policy lets them be stored (``None`` stays ``None``
    as ``""`` / ``{}``). ``where`` prefixes the field named in a rejection (``memories.3.``)."""
    if policy.secrets == "allow":
        return Screened(content or "", dict(metadata or {}))
    run = _Screen(policy, where)
    text = run.text(content, "content") if content is not None else ""
    meta = run.value(dict(metadata or {}), "metadata") if metadata is not None else {}
    return Screened(text, meta, run.kinds)
