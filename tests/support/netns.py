"""A real network path to a remote site, for tests: a network namespace joined to this host by a
veth pair, whose bandwidth can be limited and which can be cut and restored.

Loopback never loses a packet and never stalls, so it cannot show what a workshop on a weak link
in Mali goes through. Here the remote clients run inside the namespace (`Link.command`) and
reach the server on the host side's address over the veth pair:

    server (host, host_ip) ── veth ── remote clients (namespace, remote_ip)

- `limit(kbit)`: a token-bucket rate limit (`tc ... tbf`) on both directions.
- `cut()`: the namespace's side goes down. Packets are dropped silently both ways, with no FIN
  or RST, as when a 3G link or a satellite hop goes away; TCP connections stay open and retry.
  `restore()` brings it back; the connections resume or time out as a real network would let them.
- `bytes_to_remote()`: bytes the host sent over the pair (IP and TCP headers included).
- `Link(rtt_ms=...)`: a long round trip (a 3G or satellite hop to Mali). The pair is then two
  TUN devices joined by a delay line (tests/support/delayline.py), since netem is not in every
  kernel; limits and cuts work the same. `jitter_ms` and `loss` make it uneven and lossy, as a
  3G link is: each packet waits up to `jitter_ms` more (in order), and is dropped with
  probability `loss` each way (seeded: `seed`).

Needs root (CAP_NET_ADMIN) and iproute2's `ip` and `tc`. Names and addresses are unique per
process and link, and `close()` removes everything (deleting the namespace deletes the pair).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

_serial = itertools.count()


def available(delay: bool = False) -> str | None:
    """None if links (with a delay line if `delay`) can be made here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN)"
    if delay and not os.path.exists("/dev/net/tun"):
        return "a delay line needs TUN devices (/dev/net/tun)"
    for tool in ("ip", "tc"):
        if shutil.which(tool, path=os.pathsep.join(("/usr/sbin", "/sbin", os.environ.get("PATH", "")))) is None:
            return f"`{tool}` (Debian's iproute2) is not installed"
    return None


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


class Link:
    def __init__(self, rtt_ms: int = 0, jitter_ms: int = 0, loss: float = 0.0, seed: int = 0) -> None:
        n = next(_serial)
        tag = f"{os.getpid() % 100000}x{n}"
        self.namespace = f"palabre{tag}"
        self.host_if = f"pb{tag}h"  # interface names are at most 15 characters
        self.remote_if = f"pb{tag}r"
        subnet = (os.getpid() + n) % 250 + 1
        self.host_ip = f"10.213.{subnet}.1"
        self.remote_ip = f"10.213.{subnet}.2"
        self.rtt_ms, self.jitter_ms, self.loss, self.seed = rtt_ms, jitter_ms, loss, seed
        self._delay_line: subprocess.Popen[str] | None = None
        self._up = False

    def open(self) -> "Link":
        _run("ip", "netns", "add", self.namespace)
        self._up = True
        try:
            self._wire()
        except BaseException:
            self.close()
            raise
        return self

    def _wire(self) -> None:
        if self.rtt_ms:
            self._start_delay_line()
            _run("ip", "addr", "add", self.host_ip, "peer", self.remote_ip, "dev", self.host_if)
            self._in_namespace("ip", "addr", "add", self.remote_ip, "peer", self.host_ip, "dev", self.remote_if)
            # Deep queues, as on a mobile network: a busy test machine that runs the delay
            # line late must not drop packets at the TUN device (500 by default).
            _run("ip", "link", "set", self.host_if, "txqueuelen", "10000")
            self._in_namespace("ip", "link", "set", self.remote_if, "txqueuelen", "10000")
        else:
            _run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.remote_if)
            _run("ip", "link", "set", self.remote_if, "netns", self.namespace)
            _run("ip", "addr", "add", f"{self.host_ip}/24", "dev", self.host_if)
            self._in_namespace("ip", "addr", "add", f"{self.remote_ip}/24", "dev", self.remote_if)
        _run("ip", "link", "set", self.host_if, "up")
        self._in_namespace("ip", "link", "set", self.remote_if, "up")
        self._in_namespace("ip", "link", "set", "lo", "up")

    def _start_delay_line(self) -> None:
        """Both TUN devices exist once the delay line says it is ready."""
        self._delay_line = subprocess.Popen(
            [sys.executable, "-m", "tests.support.delayline", self.host_if, self.namespace, self.remote_if,
             *map(str, (self.rtt_ms, self.jitter_ms, self.loss, self.seed))],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
        assert self._delay_line.stdout is not None
        if self._delay_line.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the delay line did not start (exit {self._delay_line.wait(5)})")

    def close(self) -> None:
        if not self._up:
            return
        self._up = False
        if self._delay_line is not None:
            self._delay_line.kill()
            self._delay_line.wait(10)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=10)  # if still there

    def __enter__(self) -> "Link":
        return self.open()

    def __exit__(self, *_: object) -> None:
        self.close()

    def command(self, *args: str) -> list[str]:
        """`args` as a command that runs on the remote side."""
        return ["ip", "netns", "exec", self.namespace, *args]

    def _in_namespace(self, *args: str) -> str:
        return _run(*self.command(*args))

    def limit(self, kbit: int, queue_seconds: float = 2) -> None:
        """Limit both directions to `kbit` kilobits per second: packets queue for up to
        `queue_seconds` (a mobile network's deep buffers), then are dropped."""
        shape = ("root", "tbf", "rate", f"{kbit}kbit", "burst", "4kb", "latency", f"{queue_seconds:g}s")
        _run("tc", "qdisc", "replace", "dev", self.host_if, *shape)
        self._in_namespace("tc", "qdisc", "replace", "dev", self.remote_if, *shape)

    def cut(self) -> None:
        self._in_namespace("ip", "link", "set", self.remote_if, "down")

    def restore(self) -> None:
        self._in_namespace("ip", "link", "set", self.remote_if, "up")

    def bytes_to_remote(self) -> int:
        return int(Path(f"/sys/class/net/{self.host_if}/statistics/tx_bytes").read_text())
