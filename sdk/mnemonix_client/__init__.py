"""Python client for the Mnemonix agent memory service."""

from mnemonix_client._base import NEVER
from mnemonix_client.admin import Admin, AsyncAdmin
from mnemonix_client.admin_models import (
    ApiKey,
    CreatedApiKey,
    ExportedMemory,
    ImportResult,
    LifecycleRun,
    ReindexResult,
    Stats,
    Tenant,
    WritePolicy,
)
from mnemonix_client.async_client import AsyncMnemonix
from mnemonix_client.client import Mnemonix
from mnemonix_client.exceptions import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    MnemonixError,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    TruncatedExport,
    TruncatedImport,
    Unauthorized,
    ValidationFailed,
)
from mnemonix_client.models import (
    ContextBlock,
    Memory,
    MemoryEvent,
    MemoryLink,
    MemoryPage,
    SearchHit,
    SearchResult,
)

__all__ = [
    "APIError",
    "Admin",
    "ApiKey",
    "AsyncAdmin",
    "AsyncMnemonix",
    "BadRequest",
    "Conflict",
    "ContextBlock",
    "CreatedApiKey",
    "ExportedMemory",
    "Forbidden",
    "ImportResult",
    "LifecycleRun",
    "Memory",
    "MemoryEvent",
    "MemoryLink",
    "MemoryPage",
    "Mnemonix",
    "MnemonixError",
    "NotFound",
    "RateLimited",
    "ReindexResult",
    "SearchHit",
    "SearchResult",
    "ServerError",
    "Stats",
    "Tenant",
    "TransportError",
    "TruncatedExport",
    "TruncatedImport",
    "Unauthorized",
    "ValidationFailed",
    "WritePolicy",
    "NEVER",
]
