"""``create_app(settings)``: the FastAPI application and its start-up wiring."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text
from starlette.routing import Route

from channels.embedder import build_embedder
from service.access import AccessTracker
from service.admin.router import router as admin_router
from service.auth import State
from service.bootstrap import ensure_bootstrap_tenant
from service.context.endpoints import router as context_router
from service.dashboard.endpoints import router as dashboard_router
from service.erasure import ErasureFlusher
from service.guard import RequestGuard
from service.indexing import IndexRegistry
from service.lifecycle import run_for_app
from service.mcp_server.http import MCP_PATH, McpEndpoint
from service.memories.endpoints import router as memories_router
from service.memories.supersessions import router as supersessions_router
from service.metrics import Metrics, install_metrics
from service.principals import PrincipalCache
from service.problems import (
    PROBLEM_RESPONSES,
    describe_fault,
    document_problems,
    install_problem_handlers,
)
from service.ratelimit import RateLimiter
from service.schemas import Health
from service.search.endpoints import router as search_router
from service.settings import Settings
from service.state import AppState
from storage import migrate
from storage.db import build_engine, build_sessionmaker, refresh_statistics

logger = logging.getLogger("mnemonix")
BACKGROUND_SECONDS = 2.0
STATISTICS_SECONDS = 600.0


def build_state(settings: Settings) -> AppState:
    if settings.migrate_on_start:
        migrate.upgrade(settings.database_url)
    engine = build_engine(settings.database_url)
    sessions = build_sessionmaker(engine)
    embedder = build_embedder(
        settings.embedder,
        model_path=settings.embedding_model,
        threads=settings.embedding_threads,
        precision=settings.embedding_precision,
    )
    indexes = IndexRegistry(settings, sessions, embedder.dimension)
    return AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        embedder=embedder,
        indexes=indexes,
        access=AccessTracker(sessions),
        metrics=Metrics(sessions),
        principals=PrincipalCache(),
        limiter=RateLimiter(),
        erasure=ErasureFlusher(engine),
    )


async def _background(state: AppState) -> None:
    """Flush access counts and follow other processes' writes, every couple of seconds;
    refresh the planner's statistics every ``STATISTICS_SECONDS``."""
    last_statistics = time.monotonic()
    while True:
        await asyncio.sleep(BACKGROUND_SECONDS)
        try:
            await run_in_threadpool(state.access.flush)
            await run_in_threadpool(state.indexes.sync)
            if time.monotonic() - last_statistics >= STATISTICS_SECONDS:
                last_statistics = time.monotonic()
                await run_in_threadpool(refresh_statistics, state.engine)
        except Exception as exc:
            logger.error("background maintenance failed: %s", describe_fault(exc))


async def _erasure_flush(state: AppState) -> None:
    """SQLite: checkpoint erased text out of the WAL within ``erasure.flush_seconds``."""
    while True:
        await asyncio.sleep(state.settings.erasure.flush_seconds)
        if not state.erasure.pending:
            continue
        try:
            await run_in_threadpool(state.erasure.flush_pending)
        except Exception as exc:
            logger.error("erasure flush failed: %s", describe_fault(exc))


async def _lifecycle_schedule(state: AppState) -> None:
    """The lifecycle job inside ``mnemonix serve`` (``MNEMONIX_LIFECYCLE__ENABLED``)."""
    while True:
        await asyncio.sleep(state.settings.lifecycle.interval_seconds)
        try:
            await run_in_threadpool(run_for_app, state, trigger="schedule")
        except Exception as exc:
            logger.error("lifecycle pass failed: %s", describe_fault(exc))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    mcp = McpEndpoint(host=settings.host)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await run_in_threadpool(build_state, settings)
        app.state.mnemonix = state
        await run_in_threadpool(
            ensure_bootstrap_tenant,
            state.sessions,
            name=settings.bootstrap_tenant,
            data_dir=settings.data_dir,
        )
        await run_in_threadpool(state.indexes.rebuild_all)
        await run_in_threadpool(refresh_statistics, state.engine)
        tasks = [asyncio.create_task(_background(state))]
        if state.erasure.automatic:
            tasks.append(asyncio.create_task(_erasure_flush(state)))
        if settings.lifecycle.enabled:
            tasks.append(asyncio.create_task(_lifecycle_schedule(state)))
        try:
            async with mcp.running():
                yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await run_in_threadpool(state.access.flush)
            if state.erasure.pending:
                await run_in_threadpool(state.erasure.flush_pending)
            state.indexes.close()
            state.engine.dispose()

    app = FastAPI(
        title="Mnemonix",
        version="0.1.0",
        summary="Agent memory: store what agents learn, recall it with four fused channels.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    document_problems(app)
    # inside the metrics middleware (added next), so a request is timed with its final status
    app.add_middleware(RequestGuard, max_body_bytes=settings.limits.max_body_bytes)

    app.include_router(memories_router, responses=PROBLEM_RESPONSES)
    app.include_router(search_router, responses=PROBLEM_RESPONSES)
    app.include_router(context_router, responses=PROBLEM_RESPONSES)
    app.include_router(supersessions_router, responses=PROBLEM_RESPONSES)
    app.include_router(admin_router, responses=PROBLEM_RESPONSES)
    install_metrics(app)
    app.router.routes.append(Route(MCP_PATH, endpoint=mcp, methods=["GET", "POST", "DELETE"]))
    app.include_router(dashboard_router, responses=PROBLEM_RESPONSES)

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Health,
        tags=["health"],
        responses={503: {"model": Health, "description": "Not ready yet."}},
    )
    def readyz(state: State, response: Response) -> Health:
        """The database answers and every index has been built."""
        checks: dict[str, str] = {}
        try:
            with state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["indexes"] = "ok" if state.indexes.ready else "building"
        ready = all(v == "ok" for v in checks.values())
        response.status_code = 200 if ready else 503
        return Health(status="ready" if ready else "not ready", checks=checks)

    return app
