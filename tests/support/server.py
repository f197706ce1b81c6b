"""Run a real Palabre server as a subprocess for tests: free port, own data dir, SIGKILL-able."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.process import ManagedProcess

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PalabreProcess(ManagedProcess):
    data_dir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def start(self, timeout: float = 20.0) -> "PalabreProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{self.port}.log"
        cmd = [sys.executable, "-m", "server", "serve", "--host", self.host, "--port", str(self.port),
               "--data-dir", str(self.data_dir), *self.extra_args]
        self.spawn(cmd, self.log_path, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env})
        self.wait_ready(self._healthy, "server", timeout)
        return self

    def _healthy(self) -> bool:
        with urllib.request.urlopen(self.http_url + "/healthz", timeout=1) as response:
            return response.status == 200

    def exit_details(self) -> str:
        return f": {self.log()}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path and self.log_path.exists() else ""
