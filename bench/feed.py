"""What one change-feed read costs on PostgreSQL, with a large history and a pinned horizon.

    PYTHONPATH=. .venv/bin/python bench/feed.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Creates a scratch database (dropped afterwards), writes ``--history`` events, then times
``FeedRepository.read`` for: an idle feed; a feed with ``--tail`` new events; an idle feed
while one write transaction stays open and ten others committed since; and the read after
the open one commits.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import median  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import build_engine, build_sessionmaker  # noqa: E402
from storage.repositories.feed import FeedCursor, FeedRepository  # noqa: E402

INSERT = text(
    "INSERT INTO memory_event (tenant_id, memory_id, event, version, changes, actor, created_at) "
    "SELECT :tenant, gen_random_uuid(), 'created', 1, '{}'::jsonb, 'bench', now() "
    "FROM generate_series(1, :n)"
)


def _timed_reads(
    sessions: sessionmaker[Session], cursor: FeedCursor, repeat: int = 20
) -> tuple[float, int]:
    times: list[float] = []
    count = 0
    for _ in range(repeat):
        with sessions() as session:
            t0 = time.perf_counter()
            _, events = FeedRepository(session).read(cursor)
            times.append((time.perf_counter() - t0) * 1000)
            count = len(events)
    return median(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server URL")
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--tail", type=int, default=1_000)
    args = parser.parse_args()

    name = f"mnx_bench_feed_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    engine = build_engine(url)
    try:
        migrate.upgrade(url)
        sessions = build_sessionmaker(engine)
        tenant = uuid.uuid4()
        for _ in range(max(1, args.history // 50_000)):  # many transactions, like real writes
            with engine.begin() as conn:
                conn.execute(INSERT, {"tenant": tenant, "n": min(50_000, args.history)})
        with engine.begin() as conn:
            conn.execute(text("ANALYZE memory_event"))
        with sessions() as session:
            start = FeedRepository(session).start()
        idle, _ = _timed_reads(sessions, start)
        print(f"history {args.history} events; idle read: {idle:.2f} ms (median of 20)")

        with engine.begin() as conn:
            conn.execute(INSERT, {"tenant": tenant, "n": args.tail})
        tail, count = _timed_reads(sessions, start)
        print(f"read with {count} new events: {tail:.2f} ms")

        with sessions() as session:
            caught_up = start.advance(*FeedRepository(session).read(start))
        pin = engine.connect()
        pin_txn = pin.begin()
        pin.execute(INSERT, {"tenant": tenant, "n": 1})  # a write transaction left open
        for _ in range(10):
            with engine.begin() as conn:
                conn.execute(INSERT, {"tenant": tenant, "n": args.tail})
        with sessions() as session:
            snapshot, events = FeedRepository(session).read(caught_up)
        held = caught_up.advance(snapshot, events)
        pinned, count = _timed_reads(sessions, held)
        assert snapshot is not None
        print(
            f"{len(events)} events committed around an open transaction, read once; then "
            f"while it stays open: {pinned:.2f} ms, {count} events (in flight: {len(snapshot.xip)})"
        )
        pin_txn.commit()
        pin.close()
        with sessions() as session:
            _, events = FeedRepository(session).read(held)
        print(f"after it commits: {len(events)} new event(s)")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
