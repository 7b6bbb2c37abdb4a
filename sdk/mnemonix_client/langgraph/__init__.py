"""A LangGraph ``BaseStore`` backed by Mnemonix (``pip install 'mnemonix-client[langgraph]'``).

See ``MnemonixStore`` and ``docs/integrations.md`` for how namespaces map to scopes.
"""

from mnemonix_client.langgraph._mapping import DEFAULT_SCOPE_FIELDS, ScopeField
from mnemonix_client.langgraph._store import MnemonixStore

__all__ = ["DEFAULT_SCOPE_FIELDS", "MnemonixStore", "ScopeField"]
