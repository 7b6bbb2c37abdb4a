"""First start: create the ``default`` tenant and hand its key to the operator once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from storage.db import unit_of_work
from storage.repositories import ApiKeyRepository, TenantRepository


def write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    os.chmod(path, 0o600)


def ensure_bootstrap_tenant(
    sessions: sessionmaker[Session], *, name: str | None, data_dir: Path
) -> str | None:
    """If no tenant exists, create ``name`` with one key; return the raw key (else None)."""
    if not name:
        return None
    with unit_of_work(sessions) as session:
        tenants = TenantRepository(session)
        if tenants.list():
            return None
        tenant = tenants.add(name)
        _, raw = ApiKeyRepository(session).create(tenant=tenant, name="bootstrap")
    key_file = data_dir / f"{name}.key"
    write_secret(key_file, raw)
    # Printed once to the operator's terminal on purpose; never written to the log.
    print(
        f"Created tenant '{name}'. API key (shown once, also saved to {key_file}):\n  {raw}",
        file=sys.stderr,
        flush=True,
    )
    return raw
