"""Start the real ``mnemonix serve`` process on a free loopback port, for tests over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

MNEMONIX = str(Path(sys.executable).with_name("mnemonix"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(tmp_path: Path, env: dict[str, str], *, timeout: float = 120.0) -> Iterator[str]:
    """Serve with ``env`` over the current environment (SQLite in ``tmp_path`` unless set);
    yields the base URL once ``/readyz`` answers 200; stops the process afterwards."""
    port = free_port()
    full = {
        **os.environ,
        "MNEMONIX_DATABASE_URL": f"sqlite:///{tmp_path / 'mnemonix.db'}",
        "MNEMONIX_DATA_DIR": str(tmp_path / "data"),
        "MNEMONIX_LIFECYCLE__ENABLED": "false",
        **env,
        "MNEMONIX_PORT": str(port),
    }
    log_path = tmp_path / f"server-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [MNEMONIX, "serve"], env=full, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise AssertionError(f"server exited: {log_path.read_text()}")
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            else:
                raise AssertionError(f"server did not become ready: {log_path.read_text()}")
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)
