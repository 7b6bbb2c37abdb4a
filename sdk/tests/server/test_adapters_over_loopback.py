"""The framework adapters against a real server process over loopback, with the real MiniLM
model as `make run` serves it: both examples run as written (as subprocesses, from a
directory laid out like after `make run`), and a second tenant's key sees nothing of the
first tenant's store items or session turns."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mnemonix_client import AsyncMnemonix, Mnemonix
from mnemonix_client.langgraph import MnemonixStore
from mnemonix_client.openai_agents import MnemonixSession
from tests.helpers import ADMIN_KEY
from tests.server import running_server

pytestmark = pytest.mark.model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("loopback")
    env = {"MNEMONIX_EMBEDDER": "minilm", "MNEMONIX_ADMIN_KEY": ADMIN_KEY}
    with running_server(tmp, env) as base:
        yield base, tmp  # tmp/data/default.key, as `make run` leaves it


def _run_example(name: str, server: tuple[str, Path]) -> list[str]:
    base, cwd = server
    env = {k: v for k, v in os.environ.items() if k != "MNEMONIX_API_KEY"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=cwd,  # the example reads data/default.key, as after `make run`
        env={**env, "MNEMONIX_URL": base},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_langgraph_example_runs_as_written(server: tuple[str, Path]) -> None:
    lines = _run_example("langgraph_store.py", server)
    assert lines[0] == "reply: Then no satay tonight: you're allergic to peanuts."
    assert lines[1] == "recalled: I am allergic to peanuts and shellfish"
    assert lines[2] == "profile: {'text': 'no peanuts, no shellfish', 'strict': True}"
    assert lines[3] == "namespaces: [('chat',), ('profile',)]"
    assert lines[4] == "left: 0"


def test_openai_agents_example_runs_as_written(server: tuple[str, Path]) -> None:
    lines = _run_example("openai_agents_session.py", server)
    assert lines[0] == "monday: ['user', 'assistant']"
    assert lines[1].startswith("recalled: - [") and "allergic to peanuts" in lines[1]
    assert lines[2] == "answer: Let's skip the satay: you're allergic to peanuts."
    assert lines[3] == "popped: assistant"
    assert lines[4] == "cleared: 0"


def test_a_second_tenant_sees_nothing_through_the_adapters(server: tuple[str, Path]) -> None:
    base, cwd = server
    first_key = (cwd / "data" / "default.key").read_text().strip()
    with Mnemonix(api_key=ADMIN_KEY, base_url=base) as admin:
        admin.admin.create_tenant("other")
        other_key = admin.admin.create_key("other").key

    with MnemonixStore(api_key=first_key, base_url=base) as store:
        store.put(("ann",), "diet", {"text": "Ann is allergic to peanuts"})
        assert store.get(("ann",), "diet") is not None
    with MnemonixStore(api_key=other_key, base_url=base) as other:
        assert other.get(("ann",), "diet") is None
        assert other.search(("ann",), query="peanuts") == []
        assert other.search(("ann",)) == []
        assert other.list_namespaces() == []
        other.delete(("ann",), "diet")  # deleting there is a no-op here...
    with MnemonixStore(api_key=first_key, base_url=base) as store:
        assert store.get(("ann",), "diet") is not None  # ...and leaves the first tenant's item
        for _ in range(2):  # the store's own async client: one per event loop
            assert asyncio.run(store.aget(("ann",), "diet")) is not None

    async def sessions() -> None:
        async with AsyncMnemonix(api_key=first_key, base_url=base) as mx:
            mine = MnemonixSession("s1", user_id="ann", client=mx)
            await mine.add_items([{"role": "user", "content": "my locker code is 4711"}])
        async with AsyncMnemonix(api_key=other_key, base_url=base) as mx:
            theirs = MnemonixSession("s1", user_id="ann", client=mx)
            assert await theirs.get_items() == []
            assert await theirs.pop_item() is None
            await theirs.clear_session()
            recall = MnemonixSession("s2", user_id="ann", client=mx).recall_tool()
            assert recall.name == "recall_memories"
            found = await mx.search("locker code", user_id="ann")
            assert found.results == []
        async with AsyncMnemonix(api_key=first_key, base_url=base) as mx:
            items = await MnemonixSession("s1", user_id="ann", client=mx).get_items()
            assert items == [{"role": "user", "content": "my locker code is 4711"}]

    asyncio.run(sessions())
