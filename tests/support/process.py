"""What every helper process of the tests has in common: spawn, wait until ready, stop, kill."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class ManagedProcess:
    """Mixin for a dataclass with a `proc: subprocess.Popen | None` field."""

    proc: subprocess.Popen | None

    def spawn(self, cmd: list[str], log_path: Path, **popen: object) -> None:
        log = open(log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, **popen)  # type: ignore[call-overload]

    def wait_ready(self, ready: Callable[[], bool], what: str, timeout: float) -> None:
        """Poll `ready()` (False or an OSError: not yet) until it holds, or fail saying why."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {self.proc.returncode}{self.exit_details()}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{what} did not become ready in {timeout:g} s{self.exit_details()}")

    def exit_details(self) -> str:
        return ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye, like a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
