"""``/v1/admin``: one router that gathers the admin sub-routers and checks the admin key once,
for every route under it (a route added to a sub-router is guarded without asking)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.admin.erasure import router as erasure_router
from service.admin.lifecycle import router as lifecycle_router
from service.admin.search import router as search_router
from service.admin.stats import router as stats_router
from service.admin.tenants import router as tenants_router
from service.admin.transfer import router as transfer_router
from service.admin.write_policy import router as write_policy_router
from service.auth import require_admin

router = APIRouter(prefix="/v1/admin", dependencies=[Depends(require_admin)])
router.include_router(stats_router)
router.include_router(tenants_router)
router.include_router(search_router)
router.include_router(transfer_router)
router.include_router(lifecycle_router)
router.include_router(write_policy_router)
router.include_router(erasure_router)
