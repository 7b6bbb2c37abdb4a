"""Regenerate the OpenAPI snapshot after changing the API *and* the SDK:

.venv/bin/python sdk/tests/update_openapi_snapshot.py
"""

from __future__ import annotations

import json
from pathlib import Path

from service.app import create_app

SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")


def current_openapi() -> dict[str, object]:
    return create_app().openapi()


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(current_openapi(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT}")
