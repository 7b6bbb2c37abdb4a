"""OpenAI Agents SDK adapters (``pip install 'mnemonix-client[openai-agents]'``):
``MnemonixSession`` (conversation history, each item one memory) and ``recall_tool`` (a
function tool recalling the user's memories across sessions)."""

from mnemonix_client.openai_agents._session import MnemonixSession
from mnemonix_client.openai_agents._tool import recall_tool

__all__ = ["MnemonixSession", "recall_tool"]
