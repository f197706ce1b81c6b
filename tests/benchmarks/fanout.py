"""Fan-out benchmark: Palabre against the reference Node server (@y/websocket-server 0.1.1).

Two loads, each run against both servers in one invocation (see docs/benchmarks.md):
  fan-out     N stock Yjs clients in one board (default 30), each moving its own post-it
              `--rate` times a second for `--seconds`; receivers measure delivery latency.
  many-boards `--many-boards` boards x `--many-clients` clients with light edits; server RSS.

Reports p50/p99 delivery latency, delivered/expected and server CPU seconds per 1,000
delivered updates (the server process and all its children, e.g. Palabre's guard worker),
server RSS, and the ratios Palabre/reference. The load clients run in a few Node processes
(tests/benchmarks/fanout-client.mjs); their CPU is not counted.

    .venv/bin/python tests/benchmarks/fanout.py                 # full size
    .venv/bin/python tests/benchmarks/fanout.py --clients 5 --seconds 3 --mode fanout
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.process import ManagedProcess  # noqa: E402
from tests.support.server import PalabreProcess, free_port  # noqa: E402

INTEROP = ROOT / "tests" / "interop"
REFERENCE_BIN = INTEROP / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
LOAD_CLIENT = Path(__file__).with_name("fanout-client.mjs")


@dataclass
class ReferenceServer(ManagedProcess):
    """The reference y-websocket server (@y/websocket-server 0.1.1): in memory (no persistence),
    as the issue's target defines it, or with its own LevelDB persistence (`YPERSISTENCE`,
    y-leveldb) in `persistence_dir` for a like-for-like look at a server that keeps the board."""

    log_dir: Path
    persistence_dir: Path | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, timeout: float = 20.0) -> "ReferenceServer":
        if not REFERENCE_BIN.exists():
            raise RuntimeError(f"{REFERENCE_BIN} is missing: run `npm ci --prefix {INTEROP.relative_to(ROOT)}`")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "YPERSISTENCE"}
        env.update(HOST="127.0.0.1", PORT=str(self.port))
        if self.persistence_dir is not None:
            env["YPERSISTENCE"] = str(self.persistence_dir)
        self.spawn(["node", str(REFERENCE_BIN)], self.log_dir / f"reference-{self.port}.log", env=env)
        self.wait_ready(self._answers, "reference server", timeout)
        return self

    def _answers(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1):
            return True


# ---- measuring the server process tree ----

def process_tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_cpu_split(pid: int) -> dict[str, float]:
    """CPU seconds of the server process (user, system) and of its children (live ones plus
    those it has reaped: Palabre's guard workers)."""
    split = {"user": 0.0, "system": 0.0, "children": 0.0}
    for proc in process_tree(pid):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        reaped = times.children_user + times.children_system
        if proc.pid == pid:
            split["user"] += times.user
            split["system"] += times.system
            split["children"] += reaped
        else:
            split["children"] += times.user + times.system + reaped
    return split


def tree_cpu_seconds(pid: int) -> float:
    """User+system CPU of the process and its live children, plus children it has reaped."""
    return sum(tree_cpu_split(pid).values())


def tree_rss_mb(pid: int) -> float:
    total = 0
    for proc in process_tree(pid):
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


# ---- running the load ----

@dataclass
class Load:
    name: str
    boards: int
    clients_per_board: int
    rate: float
    seconds: float
    processes: int
    warmup: float = 0.0

    @property
    def warmup_moves(self) -> int:
        return round(self.rate * self.warmup)

    @property
    def moves(self) -> int:
        return max(1, round(self.rate * self.seconds))

    @property
    def total_clients(self) -> int:
        return self.boards * self.clients_per_board

    @property
    def expected(self) -> int:
        return self.boards * self.clients_per_board * (self.clients_per_board - 1) * self.moves


class LoadProcess:
    """One Node process hosting a slice of the clients; its stdout lines land in a queue."""

    def __init__(self, url: str, board: str, load: Load, first: int, count: int, timeout: float):
        cmd = ["node", str(LOAD_CLIENT), "--url", url, "--board", board, "--first", str(first),
               "--count", str(count), "--clients-per-board", str(load.clients_per_board),
               "--rate", str(load.rate), "--moves", str(load.moves), "--warmup", str(load.warmup_moves),
               "--drain-ms", "5000",
               "--timeout", str(int(timeout))]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_json(self, deadline: float) -> dict:
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise RuntimeError(f"load client exited ({self.proc.wait()}) without a result")
            if line.startswith("{"):
                message = json.loads(line)
                if message.get("ok") is False:
                    raise RuntimeError(f"load client failed: {message}")
                return message

    def cpu_seconds(self) -> float:
        try:
            times = psutil.Process(self.proc.pid).cpu_times()
            return times.user + times.system
        except psutil.NoSuchProcess:
            return 0.0

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def split(total: int, parts: int) -> list[tuple[int, int]]:
    """(first, count) slices of range(total) over `parts` processes."""
    parts = max(1, min(parts, total))
    bounds = [round(i * total / parts) for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1] - bounds[i]) for i in range(parts)]


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def run_load(url: str, pid: int, load: Load, board: str) -> dict:
    timeout = 90 + load.warmup + load.seconds
    deadline = time.monotonic() + timeout
    clients = [LoadProcess(url, board, load, first, count, timeout)
               for first, count in split(load.total_clients, load.processes)]
    try:
        for client in clients:
            client.next_json(deadline)  # {"ready": true}
        time.sleep(0.5)  # let the last post-it creations reach everyone
        for client in clients:
            client.go()
        time.sleep(0.1 + load.warmup)  # moves start 100 ms after "go"; warm-up moves are not counted
        rss_peak = tree_rss_mb(pid)
        cpu_before = tree_cpu_split(pid)
        client_cpu_before = sum(client.cpu_seconds() for client in clients)
        results = []
        for client in clients:
            while True:
                try:
                    results.append(client.next_json(min(deadline, time.monotonic() + 0.5)))
                    break
                except queue.Empty:
                    rss_peak = max(rss_peak, tree_rss_mb(pid))
                    if time.monotonic() > deadline:
                        raise RuntimeError("load clients did not finish in time") from None
        cpu_after = tree_cpu_split(pid)
        cpu_split = {key: cpu_after[key] - cpu_before[key] for key in cpu_after}
        cpu = sum(cpu_split.values())
        client_cpu = sum(client.cpu_seconds() for client in clients) - client_cpu_before
    finally:
        for client in clients:
            client.close()
    latencies = [x for r in results for x in r["latencies"]]
    delivered = sum(r["delivered"] for r in results)
    return {
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "delivered": delivered,
        "expected": load.expected,
        "coalesced": sum(r["coalesced"] for r in results),
        "reconnects": sum(r["reconnects"] for r in results),
        "cpu_s": cpu,
        "cpu_s_per_1k": cpu / delivered * 1000 if delivered else float("nan"),
        "cpu_user_s": cpu_split["user"],
        "cpu_system_s": cpu_split["system"],
        "cpu_children_s": cpu_split["children"],
        "rss_mb": rss_peak,
        "client_cpu_s": client_cpu,
        "frames_per_delivered": sum(r["framesIn"] for r in results) / delivered if delivered else float("nan"),
    }


# ---- servers and report ----

def start_server(kind: str, work: Path, palabre_args: list[str], persistent_reference: bool):
    if kind == "palabre":
        return PalabreProcess(work / "palabre-data", extra_args=palabre_args).start()
    leveldb = work / "reference-leveldb" if persistent_reference else None
    return ReferenceServer(work / "reference", persistence_dir=leveldb).start()


def measure(kind: str, loads: list[Load], work: Path, palabre_args: list[str],
            persistent_reference: bool = False) -> dict[str, dict]:
    results = {}
    for n, load in enumerate(loads):  # a fresh server per load, so one load's boards do not weigh on the next
        server = start_server(kind, work / f"load-{n}", palabre_args, persistent_reference)
        try:
            print(f"  {kind:9} {load.name} ...", file=sys.stderr, flush=True)
            results[load.name] = run_load(server.ws_url, server.pid, load, f"bench-{load.name}")
        finally:
            server.stop()
    return results


def medians(runs: list[dict]) -> dict:
    """Per-figure median over repeated runs (the machine is noisy: one run's p99 says little)."""
    merged = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, (int, float)):
            merged[key] = statistics.median(run[key] for run in runs)
    return merged


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


ROWS = [("p50 latency (ms)", "p50_ms", "{:.1f}"), ("p99 latency (ms)", "p99_ms", "{:.1f}"),
        ("CPU s / 1k delivered", "cpu_s_per_1k", "{:.3f}"), ("server CPU (s)", "cpu_s", "{:.2f}"),
        ("server RSS peak (MB)", "rss_mb", "{:.1f}"),
        # diagnostics: where the server's CPU goes (children = Palabre's guard worker); the load
        # clients share the cores; fewer frames per update = batching
        ("  main process user (s)", "cpu_user_s", "{:.2f}"), ("  main process system (s)", "cpu_system_s", "{:.2f}"),
        ("  child processes (s)", "cpu_children_s", "{:.2f}"),
        ("client CPU (s)", "client_cpu_s", "{:.2f}"), ("frames / delivered", "frames_per_delivered", "{:.2f}")]


def print_table(load: Load, palabre: dict, reference: dict) -> None:
    print(f"\n{load.name}: {load.boards} board(s) x {load.clients_per_board} clients, {load.rate:g} moves/s "
          f"each for {load.seconds:g} s after {load.warmup:g} s warm-up ({load.processes} client processes)")
    print(f"  {'':24}{'palabre':>12}{'reference':>12}{'ratio':>8}")
    for label, key, fmt in ROWS:
        print(f"  {label:24}{fmt.format(palabre[key]):>12}{fmt.format(reference[key]):>12}"
              f"{ratio(palabre[key], reference[key]):>8}")
    for name, r in (("palabre", palabre), ("reference", reference)):
        print(f"  {name} delivered/expected: {r['delivered']:g}/{r['expected']:g} "
              f"({r['delivered'] / r['expected']:.4f}), coalesced {r['coalesced']:g}, reconnects {r['reconnects']:g}")


TARGET = 0.8  # issue 2: p99 latency and CPU per update at most this times the reference's


def print_target(palabre: dict, reference: dict) -> None:
    for label, key in (("p99 latency", "p99_ms"), ("CPU per update", "cpu_s_per_1k")):
        value = palabre[key] / reference[key] if reference[key] else float("nan")
        print(f"  target {label} <= {TARGET} x reference: {value:.2f}, {'met' if value <= TARGET else 'NOT met'}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["both", "fanout", "many"], default="both")
    p.add_argument("--clients", type=int, default=30, help="fan-out: clients per board")
    p.add_argument("--boards", type=int, default=1, help="fan-out: boards")
    p.add_argument("--rate", type=float, default=10.0, help="moves per second per client")
    p.add_argument("--seconds", type=float, default=15.0, help="measured duration")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of moves before measuring (both loads)")
    p.add_argument("--many-boards", type=int, default=200)
    p.add_argument("--many-clients", type=int, default=2, help="many-boards: clients per board")
    p.add_argument("--many-rate", type=float, default=1.0)
    p.add_argument("--many-seconds", type=float, default=10.0)
    p.add_argument("--procs", type=int, default=2, help="Node processes hosting the load clients")
    p.add_argument("--palabre-args", default="", help="extra flags for `palabre serve`, e.g. '--no-guard'")
    p.add_argument("--reference-persistence", action="store_true",
                   help="run the reference with its LevelDB persistence (YPERSISTENCE) instead of in memory")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs of each server (alternating); medians are reported, with each run's ratios")
    p.add_argument("--json", type=Path, help="also write the raw figures to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("node") is None or not REFERENCE_BIN.exists():
        sys.exit(f"needs node and `npm ci --prefix {INTEROP.relative_to(ROOT)}`")
    loads = []
    if args.mode in ("both", "fanout"):
        loads.append(Load("fan-out", args.boards, args.clients, args.rate, args.seconds, args.procs, args.warmup))
    if args.mode in ("both", "many"):
        loads.append(Load("many-boards", args.many_boards, args.many_clients, args.many_rate, args.many_seconds, args.procs,
                          args.warmup))
    runs: list[tuple[dict, dict]] = []
    with tempfile.TemporaryDirectory(prefix="palabre-bench-") as tmp:
        for run in range(1, args.repeat + 1):
            if args.repeat > 1:
                print(f"  run {run}/{args.repeat}", file=sys.stderr, flush=True)
            work = Path(tmp) / f"run-{run}"
            runs.append((measure("palabre", loads, work, args.palabre_args.split()), measure("reference", loads, work, [], args.reference_persistence)))
    if args.repeat > 1:
        print(f"\nmedians of {args.repeat} runs of each server (alternating)")
    for load in loads:
        palabre = medians([p[load.name] for p, _ in runs])
        reference = medians([r[load.name] for _, r in runs])
        print_table(load, palabre, reference)
        if args.repeat > 1:
            for label, key in (("p99", "p99_ms"), ("CPU/1k", "cpu_s_per_1k")):
                each = " ".join(ratio(p[load.name][key], r[load.name][key]) for p, r in runs)
                print(f"  {label} ratio in each run: {each}")
        if load.name == "fan-out":
            print_target(palabre, reference)
    if args.json:
        args.json.write_text(json.dumps([{"palabre": p, "reference": r} for p, r in runs], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
