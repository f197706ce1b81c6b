"""What permessage-deflate buys and costs, measured (a script, not a test).

1. Join: bytes on the wire for a newcomer's initial sync of a 600-note board, read through a
   counting TCP proxy, with deflate off, with Palabre's default (compress messages of 1 KiB and
   more) and with every message compressed.
2. Small moves: server CPU per 1,000 delivered updates in the fan-out load (30 stock Yjs clients,
   whose `ws` library negotiates deflate) with the default threshold and with every message
   compressed (`--deflate-min-bytes 0`), in the same invocation.

    .venv/bin/python tests/benchmarks/deflate.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import websockets
from pycrdt import Doc

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from boards.board import Board  # noqa: E402
from client.connection import BoardClient  # noqa: E402
from server import protocol  # noqa: E402
from tests.benchmarks.fanout import Load, measure  # noqa: E402
from tests.support.server import PalabreProcess, free_port  # noqa: E402

CONFIGS = {"off": ["--no-deflate"], "default (≥ 1 KiB)": [], "everything": ["--deflate-min-bytes", "0"]}


async def _fill(url: str, notes: int) -> None:
    async with BoardClient.connect(url, "join") as client:
        board = Board(client.doc)
        for i in range(notes):
            board.add_note(f"Post-it {i} : accès aux financements, mobilisation des bénévoles", x=float(i % 40) * 170,
                           y=float(i // 40) * 120, site="Diéma" if i % 2 else "Évry")
        await client.flush(timeout=60)


async def _proxy_bytes(target_port: int, url_board: str) -> tuple[int, int]:
    """Join through a proxy counting server→client bytes; returns (wire bytes, update bytes)."""
    counted = 0

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: bool) -> None:
        nonlocal counted
        while data := await reader.read(65536):
            if count:
                counted += len(data)
            writer.write(data)
            await writer.drain()
        writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(client_r, server_w, False), pipe(server_r, client_w, True))

    proxy = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/{url_board}", max_size=None) as ws:
        await ws.send(protocol.encode_sync_step1(Doc().get_state()))
        while True:
            message = protocol.parse_message(await ws.recv())
            if message.kind == protocol.KIND_STEP2:
                size = len(message.payload)
                break
    proxy.close()
    return counted, size


def join_sizes(work: Path, notes: int) -> dict[str, tuple[int, int]]:
    results = {}
    for name, args in CONFIGS.items():
        server = PalabreProcess(work / f"join-{free_port()}", extra_args=args).start()
        try:
            asyncio.run(_fill(server.ws_url, notes))
            results[name] = asyncio.run(_proxy_bytes(server.port, "join"))
        finally:
            server.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="palabre-deflate-") as tmp:
        work = Path(tmp)
        sizes = join_sizes(work, args.notes)
        print(f"\njoin of a {args.notes}-note board (sync step 2 payload {sizes['off'][1]:,} bytes)")
        for name, (wire, _) in sizes.items():
            print(f"  deflate {name:20} {wire:>10,} bytes on the wire  ({sizes['off'][0] / wire:.1f}× smaller than off)")
        load = Load("fan-out", 1, 30, 10.0, args.seconds, 2, 2.0)
        print("\nsmall moves: fan-out, 30 clients, 10 moves/s each")
        cpu = {}
        for name in ("default (≥ 1 KiB)", "everything"):
            result = measure("palabre", [load], work, CONFIGS[name])["fan-out"]
            cpu[name] = result["cpu_s_per_1k"]
            print(f"  deflate {name:20} CPU s / 1k delivered {result['cpu_s_per_1k']:.4f}   p99 {result['p99_ms']:.1f} ms")
        print(f"  compressing every small move costs {cpu['everything'] / cpu['default (≥ 1 KiB)']:.2f}× the CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
