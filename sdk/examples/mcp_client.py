"""The README's MCP check: run it while `make run` is serving (needs the `mcp` package).

Lists the tools over streamable HTTP at /mcp, remembers a fact, recalls it as a context block.
"""

import asyncio
import os
from pathlib import Path

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def main(base_url: str, api_key: str) -> str:
    headers = {"Authorization": f"Bearer {api_key}"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        streamable_http_client(f"{base_url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        print("tools:", ", ".join(tool.name for tool in tools.tools))
        await session.call_tool(
            "remember",
            {"memories": [{"content": "I am allergic to peanuts", "user_id": "ann"}]},
        )
        recalled = await session.call_tool(
            "recall", {"query": "what food should I avoid?", "user_id": "ann", "max_tokens": 200}
        )
        assert recalled.structured_content is not None
        block: str = recalled.structured_content["context"]
        print(block)
        return block


if __name__ == "__main__":
    key = os.environ.get("MNEMONIX_API_KEY") or Path("data/default.key").read_text().strip()
    asyncio.run(main(os.environ.get("MNEMONIX_URL", "http://127.0.0.1:8420"), key))
