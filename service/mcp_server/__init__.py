"""The MCP server: one tool layer (``tools.py``) over a ``MemoryPort`` with two implementations,
the services in this process (``local.py``) and the REST API through the SDK (``remote.py``);
served over streamable HTTP inside the app at ``/mcp`` (``http.py``) or over stdio
(``mnemonix mcp``, ``stdio.py``)."""
