"""Sans-I/O plans: an adapter writes each operation once, as a generator that yields the
HTTP calls it needs and receives their parsed answers; ``run`` drives it with the sync
client and ``arun`` with the async one. So the sync and async adapters cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from mnemonix_client.async_client import AsyncMnemonix
from mnemonix_client.client import Mnemonix
from mnemonix_client.exceptions import MnemonixError
from mnemonix_client.models import Memory, MemoryPage

T = TypeVar("T")
PAGE_SIZE = 100  # the server's largest page


@dataclass(frozen=True)
class Call:
    """One request: the arguments of ``Mnemonix.request``."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] | None = None
    retry_post: bool = False


Plan = Generator[Call, Any, T]
"""Yields ``Call``s, is sent each call's parsed JSON (or thrown its ``MnemonixError``)."""


def run(client: Mnemonix, plan: Plan[T]) -> T:
    answer: Any = None
    error: MnemonixError | None = None
    while True:
        try:
            call = plan.throw(error) if error is not None else plan.send(answer)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        answer, error = None, None
        try:
            answer = client.request(
                call.method,
                call.path,
                json=call.json,
                params=call.params,
                retry_post=call.retry_post,
            )
        except MnemonixError as exc:
            error = exc


async def arun(client: AsyncMnemonix, plan: Plan[T]) -> T:
    answer: Any = None
    error: MnemonixError | None = None
    while True:
        try:
            call = plan.throw(error) if error is not None else plan.send(answer)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        answer, error = None, None
        try:
            answer = await client.request(
                call.method,
                call.path,
                json=call.json,
                params=call.params,
                retry_post=call.retry_post,
            )
        except MnemonixError as exc:
            error = exc


def list_all(params: Mapping[str, Any]) -> Plan[list[Memory]]:
    """Every memory matching the list filters ``params``, oldest first (cursor pages)."""
    memories: list[Memory] = []
    cursor: str | None = None
    while True:
        data = yield Call(
            "GET", "/v1/memories", params={**params, "cursor": cursor, "limit": PAGE_SIZE}
        )
        page = MemoryPage.model_validate(data)
        memories.extend(page.items)
        if not page.next_cursor:
            return memories
        cursor = page.next_cursor


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
