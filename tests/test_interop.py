"""Interop with real Yjs clients under Node (yjs + y-websocket + ws, tests/interop).

Each test runs a scenario script from tests/interop against a Palabre subprocess and asserts on
the JSON line it prints. The scripts bound their own run time; subprocess timeouts back them up.
Set PALABRE_INTEROP_SERVER=reference to run the scenarios against the reference Node server
(@y/websocket-server) instead, to check the scenarios themselves; the durability tests need
Palabre and are skipped then.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import PalabreProcess

ROOT = Path(__file__).resolve().parents[1]
INTEROP = ROOT / "tests" / "interop"
SCRIPT_TIMEOUT_S = 30  # each script's own bound; the subprocess timeout is a little longer
USE_REFERENCE = os.environ.get("PALABRE_INTEROP_SERVER") == "reference"

pytestmark = pytest.mark.node


def require_node_clients() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: the interop tests need Node >= 18")
    if not (INTEROP / "node_modules" / "y-websocket").is_dir():
        pytest.fail("tests/interop/node_modules is missing: run `npm ci --prefix tests/interop` "
                    "(the project's test command does this)")


def last_json_line(stdout: str) -> dict | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def node_command(script: str, url: str, board: str, *args: str) -> list[str]:
    return ["node", str(INTEROP / script), "--url", url, "--board", board,
            "--timeout", str(SCRIPT_TIMEOUT_S), *args]


def check_result(script: str, proc_returncode: int, stdout: str, stderr: str, server=None) -> dict:
    result = last_json_line(stdout)
    if proc_returncode != 0 or not result or not result.get("ok"):
        server_log = server.log() if server is not None and hasattr(server, "log") else ""
        pytest.fail(f"{script} failed (exit {proc_returncode}): {result}\n"
                    f"stderr: {stderr[-2000:]}\nserver log tail:\n{server_log}")
    return result


def run_script(script: str, server, board: str, *args: str) -> dict:
    require_node_clients()
    proc = subprocess.run(node_command(script, server.ws_url, board, *args), cwd=INTEROP,
                          capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S + 15)
    return check_result(script, proc.returncode, proc.stdout, proc.stderr, server)


@pytest.fixture
def server(tmp_path: Path) -> Iterator:
    """The server under test: Palabre (default) or, for checking the scenarios, the reference."""
    require_node_clients()
    if USE_REFERENCE:
        from tests.benchmarks.fanout import ReferenceServer
        process = ReferenceServer(tmp_path / "reference").start()
    else:
        process = PalabreProcess(tmp_path / "data").start()
    try:
        yield process
    finally:
        process.stop()


# ---- scenarios ----

def test_three_clients_converge_on_post_its_and_an_array(server):
    result = run_script("converge.mjs", server, "converge", "--clients", "3", "--notes", "5")
    assert result["identical"]
    assert result["notes"] == 1 + 3 * 5  # the shared post-it and five of each client's
    assert result["points"] == 2 * 3 * 5  # every concurrent push into the shared array
    for i in range(3):  # every client's concurrent typing in the shared Y.Text
        assert f"<{i}>" in result["sharedText"] and f"[{i}]" in result["sharedText"]
    assert "Palabre" in result["sharedText"]


def test_late_joiner_gets_the_full_board(server):
    result = run_script("late-joiner.mjs", server, "late", "--notes", "20", "--text-kb", "8")
    assert result["notes"] == 21
    assert result["longText"] == 8 * 1024


def test_offline_client_edits_reconnects_and_all_converge(server):
    result = run_script("offline.mjs", server, "offline", "--notes", "5", "--text-kb", "16")
    assert not result["offlineLeaked"], "edits made offline reached the others before the reconnect"
    assert result["notes"] == 11
    assert result["offlineNotesAtOthers"] == 5
    assert result["onlineNotesAtReconnected"] == 5
    assert result["bigTextStart"] == "OFFLINE "
    assert result["bigPosition"] == [500, 600]
    # Catching up costs the missing bytes, not the whole board again.
    assert result["reconnectBytes"] < result["boardBytes"] / 4, result


def test_presence_appears_and_disappears_without_ghosts(server):
    result = run_script("awareness.mjs", server, "presence", "--gone-ms", "5000")
    assert {"name": "Aminata", "site": "Diéma"} in result["seenBeforeLeaving"]
    assert {"name": "Étienne", "site": "Évry"} in result["seenBeforeLeaving"]
    assert result["newcomerMs"] < 3000
    # Far below the 30 s client-side awareness timeout: the server announced the removal.
    assert result["crashedGoneMs"] < 5000
    assert result["politeGoneMs"] < 5000
    assert not [p for p in result["remainingAtWatcher"] if p["user"]], result["remainingAtWatcher"]


@pytest.mark.skipif(USE_REFERENCE, reason="the reference server does not negotiate permessage-deflate")
def test_stock_client_sends_moves_plain_and_large_edits_compressed(server):
    """Palabre asks for client_no_context_takeover, so a stock `ws` client skips compressing
    messages under 1 KiB (with a context it deflates every move, on its side)."""
    result = run_script("deflate.mjs", server, "deflate")
    assert result["params"]["client_no_context_takeover"] is True
    assert [f["compressed"] for f in result["move"]] == [False] * len(result["move"])
    assert any(f["compressed"] for f in result["large"])
    assert sum(f["bytes"] for f in result["large"]) < result["textBytes"] / 5


# ---- durability: SIGKILL the server, restart it on the same data dir ----

needs_palabre = pytest.mark.skipif(USE_REFERENCE, reason="the reference server keeps nothing on disk")


def read_back(server: PalabreProcess, board: str, min_notes: int) -> dict:
    return run_script("reader.mjs", server, board, "--min-notes", str(min_notes))["notes"]


def assert_all_present(confirmed: dict, notes: dict) -> None:
    missing = {i: e for i, e in confirmed.items() if notes.get(i) != e}
    assert not missing, f"{len(missing)} confirmed edits lost or changed after SIGKILL, e.g. {list(missing.items())[:3]}"


@needs_palabre
def test_confirmed_edits_survive_sigkill(tmp_path: Path):
    require_node_clients()
    first = PalabreProcess(tmp_path / "data").start()
    try:
        edits = run_script("editor.mjs", first, "durable", "--count", "30")
        assert edits["confirmedCount"] == 30
    finally:
        first.kill()
    second = PalabreProcess(tmp_path / "data").start()
    try:
        notes = read_back(second, "durable", 30)
    finally:
        second.stop()
    assert_all_present(edits["confirmed"], notes)


def wait_for_line(proc: subprocess.Popen, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.1)[0]:
            line = proc.stdout.readline()
            if not line:
                return False
            if marker in line:
                return True
    return False


@needs_palabre
def test_edits_confirmed_up_to_a_sigkill_mid_stream_survive(tmp_path: Path):
    """Kill the server while a client is still writing: whatever any client received is kept."""
    require_node_clients()
    first = PalabreProcess(tmp_path / "data").start()
    cmd = node_command("editor.mjs", first.ws_url, "midstream", "--count", "1000", "--interval", "5",
                       "--allow-partial")
    editor = subprocess.Popen(cmd, cwd=INTEROP, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_line(editor, '"writing"', SCRIPT_TIMEOUT_S), "the editor never started writing"
        time.sleep(1.0)
        first.kill()
        stdout, stderr = editor.communicate(timeout=SCRIPT_TIMEOUT_S + 15)
    finally:
        editor.kill()
        first.kill()
    edits = check_result("editor.mjs", editor.returncode, stdout, stderr, first)
    assert edits["dropped"], "the editor finished before the kill: the test did not kill mid-stream"
    assert edits["confirmedCount"] > 0, "no edit was confirmed before the kill: nothing was tested"
    second = PalabreProcess(tmp_path / "data").start()
    try:
        notes = read_back(second, "midstream", edits["confirmedCount"])
    finally:
        second.stop()
    assert_all_present(edits["confirmed"], notes)
