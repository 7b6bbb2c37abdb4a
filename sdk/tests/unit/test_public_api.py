"""The SDK's public surface, pinned: what ``import mnemonix_client`` (and each adapter)
exports, the explicit constructor parameters, the type marker, and that none of it needs
the server's packages."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import mnemonix_client
from mnemonix_client import AsyncMnemonix, Mnemonix

SDK = Path(__file__).resolve().parents[2]

PUBLIC = [
    "APIError",
    "Admin",
    "ApiKey",
    "AsyncAdmin",
    "AsyncMnemonix",
    "BadRequest",
    "Conflict",
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
]


def test_the_public_names_are_pinned() -> None:
    """Adding or removing a public name is an API change: update this list on purpose."""
    assert sorted(mnemonix_client.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(mnemonix_client, name).__module__.startswith("mnemonix_client.")


def test_the_adapters_public_names_are_pinned() -> None:
    from mnemonix_client import langgraph, openai_agents

    assert sorted(langgraph.__all__) == ["DEFAULT_SCOPE_FIELDS", "MnemonixStore", "ScopeField"]
    assert sorted(openai_agents.__all__) == ["MnemonixSession", "recall_tool"]


@pytest.mark.parametrize("cls", [Mnemonix, AsyncMnemonix])
def test_clients_take_explicit_keyword_parameters(cls: type) -> None:
    parameters = inspect.signature(cls.__init__).parameters  # type: ignore[misc]
    names = [n for n in parameters if n != "self"]
    assert names == ["api_key", "base_url", "timeout", "max_retries", "backoff", "transport"]
    for name in names:
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(TypeError):
        cls(api_key="k", retries=3)  # a misspelt option fails instead of vanishing


def test_the_package_ships_its_type_marker() -> None:
    assert (SDK / "mnemonix_client" / "py.typed").is_file()
    assert 'mnemonix_client = ["py.typed"]' in (SDK / "pyproject.toml").read_text()


def test_the_unit_tests_run_without_the_server() -> None:
    """``sdk/tests/unit`` (which imports both adapters) collects and passes with the
    server's packages made unimportable."""
    code = (
        "import sys, pytest\n"
        "for name in ('service', 'storage', 'channels', 'lifecycle', 'fastapi', 'torch'):\n"
        "    sys.modules[name] = None  # any import of it raises ImportError\n"
        f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', {str(SDK / 'tests' / 'unit')!r},\n"
        "    '-k', 'not run_without_the_server']))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300, cwd=SDK.parent)
