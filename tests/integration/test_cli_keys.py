"""``mnemonix keys``: create narrower keys, list them, revoke them (straight to SQL)."""

from __future__ import annotations

import pytest

from service.cli import main
from storage.db import build_engine, build_sessionmaker
from storage.repositories import ApiKeyRepository
from storage.repositories.keys import hash_key


def test_keys_create_list_revoke(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MNEMONIX_DATABASE_URL", database_url)
    argv = ["keys", "create", "--tenant", "acme", "--name", "ann-app", "--scopes", "read,write"]
    assert main([*argv, "--user-id", "ann", "--rate", "2.5", "--burst", "5"]) == 0
    out = capsys.readouterr()
    secret = out.out.strip()
    assert secret.startswith("mnx_") and secret not in out.err
    assert "scopes=read,write" in out.err and "user_id=ann" in out.err
    assert "rate=2.5/s burst 5" in out.err

    engine = build_engine(database_url)
    try:
        with build_sessionmaker(engine)() as session:
            key = ApiKeyRepository(session).active_by_secret(secret)
            assert key is not None and key.key_hash == hash_key(secret)
            assert (key.scopes, key.user_id, key.agent_id) == ("read write", "ann", None)
            assert (key.rate_per_second, key.rate_burst) == (2.5, 5)
            key_id = key.id
    finally:
        engine.dispose()

    assert main(["keys", "create", "--tenant", "acme"]) == 0
    capsys.readouterr()
    assert main(["keys", "list", "--tenant", "acme"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2 and secret not in "\n".join(listed)
    assert "scopes=read,write,delete" in listed[1] and "user_id" not in listed[1]
    assert main(["keys", "revoke", str(key_id)]) == 0
    assert main(["keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out.splitlines()[0]

    for bad in (
        ["--scopes", "admin"],
        ["--scopes", ""],
        ["--rate", "0"],
        ["--burst", "-1"],
        ["--user-id", ""],
        ["--agent-id", "x" * 256],
    ):
        with pytest.raises(SystemExit):
            main(["keys", "create", "--tenant", "acme", *bad])
    assert main(["keys", "create", "--tenant", "acme", "--burst", "3"]) == 2
