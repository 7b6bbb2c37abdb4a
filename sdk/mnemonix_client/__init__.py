"""Python client for the Mnemonix agent memory service."""

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
    Unauthorized,
    ValidationFailed,
)
from mnemonix_client.models import Memory, MemoryEvent, MemoryPage, SearchHit, SearchResult

__all__ = [
    "APIError",
    "AsyncMnemonix",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "Memory",
    "MemoryEvent",
    "MemoryPage",
    "Mnemonix",
    "MnemonixError",
    "NotFound",
    "RateLimited",
    "SearchHit",
    "SearchResult",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "ValidationFailed",
]
