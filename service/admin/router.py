"""``/v1/admin``: one router that gathers the admin sub-routers (each checks the admin key)."""

from __future__ import annotations

from fastapi import APIRouter

from service.admin.erasure import router as erasure_router
from service.admin.lifecycle import router as lifecycle_router
from service.admin.stats import router as stats_router
from service.admin.tenants import router as tenants_router
from service.admin.transfer import router as transfer_router

router = APIRouter(prefix="/v1/admin")
router.include_router(stats_router)
router.include_router(tenants_router)
router.include_router(transfer_router)
router.include_router(lifecycle_router)
router.include_router(erasure_router)
