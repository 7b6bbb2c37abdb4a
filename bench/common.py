"""Shared by the benchmark scripts: the API client set-up and small statistics."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import httpx

from storage.scratch import scratch_database

__all__ = ["api_key", "client", "median", "percentile", "scratch_database"]


def api_key(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("MNEMONIX_API_KEY"):
        return os.environ["MNEMONIX_API_KEY"]
    key_file = Path(os.environ.get("MNEMONIX_DATA_DIR", "data")) / "default.key"
    if key_file.exists():
        return key_file.read_text().strip()
    raise SystemExit("No API key: pass --api-key, set MNEMONIX_API_KEY, or run `make run` first.")


def client(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120.0
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
