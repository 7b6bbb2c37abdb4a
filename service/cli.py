"""``mnemonix``: serve, migrate, manage keys, run the lifecycle, serve MCP over stdio."""

from __future__ import annotations

import argparse
import logging
import sys
import uuid
from collections.abc import Callable, Sequence

from service.settings import Settings
from storage import migrate
from storage.db import build_engine, build_sessionmaker, unit_of_work
from storage.models import ApiKey
from storage.records import KEY_SCOPES
from storage.repositories import ApiKeyRepository, TenantRepository
from storage.types import utcnow

Command = Callable[[argparse.Namespace, Settings], int]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from service.app import create_app

    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    print(
        f"Mnemonix serving on http://{settings.host}:{settings.port}", file=sys.stderr, flush=True
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrate.upgrade(settings.database_url)
    print("database is at head", file=sys.stderr)
    return 0


def _sessions(settings: Settings):  # type: ignore[no-untyped-def]
    migrate.upgrade(settings.database_url)
    return build_sessionmaker(build_engine(settings.database_url))


def _scopes(text: str) -> list[str]:
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    unknown = sorted(set(scopes) - set(KEY_SCOPES))
    if not scopes or unknown:
        raise argparse.ArgumentTypeError(
            f"scopes are a comma-separated list of {', '.join(KEY_SCOPES)}"
        )
    return scopes


def _scope_id(text: str) -> str:
    if not 1 <= len(text) <= 255 or "\x00" in text:
        raise argparse.ArgumentTypeError("1 to 255 characters, no NUL")
    return text


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError("must be greater than 0")
        return value

    return parse


def _keys_create(args: argparse.Namespace, settings: Settings) -> int:
    if args.burst is not None and args.rate is None:
        print("--burst needs --rate", file=sys.stderr)
        return 2
    with unit_of_work(_sessions(settings)) as session:
        tenants = TenantRepository(session)
        tenant = tenants.by_name(args.tenant) or tenants.add(args.tenant)
        key, raw = ApiKeyRepository(session).create(
            tenant=tenant,
            name=args.name or "",
            scopes=args.scopes,
            user_id=args.user_id,
            agent_id=args.agent_id,
            rate_per_second=args.rate,
            rate_burst=None if args.burst is None else int(args.burst),
        )
        described = _describe(key)
    print(raw)
    print(
        f"key {described} for tenant '{args.tenant}' (the key is shown only once)",
        file=sys.stderr,
    )
    return 0


def _describe(key: ApiKey) -> str:
    """Id, scopes, binding and rate limit of a key, on one line (never the secret)."""
    parts = [str(key.id), "scopes=" + ",".join(key.scopes.split())]
    if key.user_id is not None:
        parts.append(f"user_id={key.user_id}")
    if key.agent_id is not None:
        parts.append(f"agent_id={key.agent_id}")
    if key.rate_per_second is not None:
        burst = f" burst {key.rate_burst}" if key.rate_burst is not None else ""
        parts.append(f"rate={key.rate_per_second:g}/s{burst}")
    return "  ".join(parts)


def _keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    try:
        key_id = uuid.UUID(args.key_id)
    except ValueError:
        print(f"not a key id: {args.key_id}", file=sys.stderr)
        return 2
    with unit_of_work(_sessions(settings)) as session:
        keys = ApiKeyRepository(session)
        key = keys.get(key_id)
        if key is None:
            print(f"no key {key_id}", file=sys.stderr)
            return 1
        keys.revoke(key, utcnow())
    print(f"revoked {key_id}", file=sys.stderr)
    return 0


def _keys_list(args: argparse.Namespace, settings: Settings) -> int:
    with _sessions(settings)() as session:
        names = {t.id: t.name for t in TenantRepository(session).list()}
        for key in ApiKeyRepository(session).list():
            if args.tenant is not None and names.get(key.tenant_id) != args.tenant:
                continue
            state = "revoked" if key.revoked_at else "active"
            tenant = names.get(key.tenant_id, "?")
            print(f"{tenant:<20} {key.prefix}…  {state:<7}  {_describe(key)}")
    return 0


def _lifecycle_pass(
    settings: Settings, *, dry_run: bool, tenant: str | None = None, now: str | None = None
) -> int:
    from datetime import datetime

    from channels.embedder import build_embedder
    from service.lifecycle import run_lifecycle

    clock = datetime.fromisoformat(now) if now else None
    if clock is not None and clock.tzinfo is None:
        print("--now needs a time zone, e.g. 2027-01-01T00:00:00+00:00", file=sys.stderr)
        return 2
    embedder = build_embedder(
        settings.embedder,
        model_path=settings.embedding_model,
        threads=settings.embedding_threads,
        precision=settings.embedding_precision,
    )
    migrate.upgrade(settings.database_url)
    engine = build_engine(settings.database_url)
    try:
        run = run_lifecycle(
            engine,
            build_sessionmaker(engine),
            settings.lifecycle,
            embed=embedder.embed,
            trigger="cli",
            tenant=tenant,
            dry_run=dry_run,
            now=clock,
        )
    finally:
        engine.dispose()
    r = run.report or {}
    label = "dry run" if dry_run else "run"
    print(
        f"lifecycle {label} {run.id}: {run.status}; examined {r.get('examined', 0)}, "
        f"changed {r.get('changed', 0)}, moves {r.get('moves', {})}, "
        f"consolidated {r.get('merged', 0)} into {r.get('consolidated', 0)}, "
        f"contradictions {r.get('contradictions', 0)}, "
        f"embedding bytes {r.get('bytes_before', 0)} -> {r.get('bytes_after', 0)}"
        + (f"; {run.error}" if run.error else ""),
        file=sys.stderr,
    )
    return 0 if run.status in ("completed", "skipped") else 1


def _lifecycle_run(args: argparse.Namespace, settings: Settings) -> int:
    return _lifecycle_pass(settings, dry_run=args.dry_run, tenant=args.tenant, now=args.now)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    import time

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    while True:
        _lifecycle_pass(settings, dry_run=False)
        if args.once:
            return 0
        time.sleep(settings.lifecycle.interval_seconds)


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    from service.mcp_server.stdio import run

    return run(settings, database_url=args.database_url, tenant=args.tenant)


def _erasure_flush(args: argparse.Namespace, settings: Settings) -> int:
    from storage.repositories.erasure import flush_erased

    engine = build_engine(settings.database_url)
    try:
        result = flush_erased(engine, wait_ms=args.wait_ms)
    finally:
        engine.dispose()
    done = "done" if result.complete else "NOT complete (a reader or writer held the WAL; retry)"
    rewritten = f" (VACUUM FULL {', '.join(result.tables)})" if result.tables else ""
    print(f"erasure flush {done}{rewritten} in {result.duration_ms:.0f} ms", file=sys.stderr)
    return 0 if result.complete else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnemonix", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (and the scheduled lifecycle job)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=_serve)
    sub.add_parser("migrate", help="alembic upgrade head").set_defaults(run=_migrate)
    keys = sub.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create a key (and the tenant if new); prints it once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name")
    create.add_argument(
        "--scopes",
        type=_scopes,
        default=list(KEY_SCOPES),
        help="comma-separated, of read,write,delete (default: all three)",
    )
    create.add_argument("--user-id", type=_scope_id, help="bind the key to this user's memories")
    create.add_argument("--agent-id", type=_scope_id, help="bind the key to this agent's memories")
    create.add_argument(
        "--rate", type=_positive(float), help="requests per second (default: the server's)"
    )
    create.add_argument(
        "--burst", type=_positive(int), help="requests at once (default: --rate rounded up)"
    )
    create.set_defaults(run=_keys_create)
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=_keys_revoke)
    listing = keys.add_parser("list", help="list keys with scopes, binding and limit (no secrets)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    listing.set_defaults(run=_keys_list)
    worker = sub.add_parser(
        "worker", help="run the lifecycle job on its schedule, in the foreground"
    )
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    worker.set_defaults(run=_worker)
    lifecycle = sub.add_parser("lifecycle", help="the lifecycle job").add_subparsers(
        dest="lifecycle_command", required=True
    )
    run = lifecycle.add_parser("run", help="one lifecycle pass now")
    run.add_argument(
        "--dry-run", action="store_true", help="report what would change, change nothing"
    )
    run.add_argument("--tenant", help="only this tenant (default: all)")
    run.add_argument("--now", help="the clock to decay against (ISO 8601 with zone; default: now)")
    run.set_defaults(run=_lifecycle_run)
    mcp = sub.add_parser(
        "mcp",
        help="the MCP server over stdio, for local MCP hosts",
        description=(
            "Serve the MCP tools over stdio. By default they talk to a running server "
            "(MNEMONIX_URL, MNEMONIX_API_KEY); with --database-url they open the store "
            "in this process."
        ),
    )
    mcp.add_argument("--database-url", help="open this database in-process (e.g. sqlite:///...)")
    mcp.add_argument(
        "--tenant",
        default="default",
        help="with --database-url and no MNEMONIX_API_KEY: the tenant to serve (created if new)",
    )
    mcp.set_defaults(run=_mcp)
    erasure = sub.add_parser("erasure", help="deleted text and the database files")
    flush = erasure.add_subparsers(dest="erasure_command", required=True).add_parser(
        "flush", help="remove deleted text from the database files now (docs/reliability.md)"
    )
    flush.add_argument(
        "--wait-ms",
        type=int,
        default=10_000,
        help="wait this long for readers (SQLite) or a table lock (PostgreSQL)",
    )
    flush.set_defaults(run=_erasure_flush)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Command = args.run
    return run(args, Settings())


if __name__ == "__main__":
    sys.exit(main())
