"""Fails when the REST API changes without the SDK being updated alongside it."""

from __future__ import annotations

import json

from sdk.tests.update_openapi_snapshot import SNAPSHOT, current_openapi


def test_openapi_matches_the_snapshot_the_sdk_was_written_against() -> None:
    expected = json.loads(SNAPSHOT.read_text())
    current = json.loads(json.dumps(current_openapi(), sort_keys=True))
    assert current == expected, (
        "The API changed: update sdk/mnemonix_client to match, then regenerate the snapshot "
        "with `.venv/bin/python sdk/tests/update_openapi_snapshot.py`."
    )
