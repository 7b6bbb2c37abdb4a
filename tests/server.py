"""Start the real ``mnemonix serve`` process on a free loopback port, for tests over HTTP."""

from __future__ import annotations

import os
import signal
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


class ServerProcess:
    """One ``mnemonix serve`` on a fixed port and database, which can be stopped, killed
    (SIGKILL: no shutdown hook runs) and started again. Its output goes to
    ``tmp_path/server-<port>.log`` (appended across restarts)."""

    def __init__(self, tmp_path: Path, env: dict[str, str], *, timeout: float = 120.0) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.timeout = timeout
        self.log_path = tmp_path / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "MNEMONIX_DATABASE_URL": f"sqlite:///{tmp_path / 'mnemonix.db'}",
            "MNEMONIX_DATA_DIR": str(tmp_path / "data"),
            "MNEMONIX_LIFECYCLE__ENABLED": "false",
            **env,
            "MNEMONIX_PORT": str(self.port),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start and wait until ``/readyz`` answers 200; the base URL."""
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [MNEMONIX, "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return self.base
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"server did not become ready: {self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL: the process dies mid-request, as in a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@contextmanager
def running_server(tmp_path: Path, env: dict[str, str], *, timeout: float = 120.0) -> Iterator[str]:
    """Serve with ``env`` over the current environment (SQLite in ``tmp_path`` unless set);
    yields the base URL once ``/readyz`` answers 200; stops the process afterwards."""
    server = ServerProcess(tmp_path, env, timeout=timeout)
    try:
        yield server.start()
    finally:
        server.stop()
