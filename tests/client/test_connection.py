"""The Python client: typed edits through `boards`, flush, and convergence with a Node Yjs client."""

from __future__ import annotations

import asyncio

from pycrdt import Map

from boards.board import Board
from boards.reader import read_board
from client.connection import BoardClient
from tests.support.wait import eventually
from tests.support.server import PalabreProcess
from tests.test_interop import require_node_clients, run_script


async def test_typed_edits_are_stored_once_flushed(palabre: PalabreProcess) -> None:
    async with BoardClient.connect(palabre.ws_url, "py") as client:
        board = Board(client.doc)
        note = board.add_note("Accès aux financements", x=10.0, y=20.0, author="", site="Évry")
        await client.flush()
    palabre.kill()  # no graceful shutdown: only what was stored counts
    restarted = PalabreProcess(palabre.data_dir).start()
    try:
        async with BoardClient.connect(restarted.ws_url, "py") as again:
            notes = {n.id: n for n in read_board(again.doc).notes}
            assert notes[note].text == "Accès aux financements" and notes[note].site == "Évry"
    finally:
        restarted.stop()


async def test_python_and_node_clients_converge(palabre: PalabreProcess) -> None:
    require_node_clients()
    async with BoardClient.connect(palabre.ws_url, "mixed") as client:
        Board(client.doc).add_note("An bɛ ɲɔgɔn dɛmɛ", x=1.0, y=2.0, id="from-python")
        await client.flush()
        result = await asyncio.to_thread(run_script, "editor.mjs", palabre, "mixed", "--count", "3",
                                         "--prefix", "node")
        seen_by_node = await asyncio.to_thread(run_script, "reader.mjs", palabre, "mixed", "--min-notes", "4")
        assert "from-python" in seen_by_node["notes"]
        assert seen_by_node["notes"]["from-python"]["text"] == "An bɛ ɲɔgɔn dɛmɛ"
        notes = client.doc.get("notes", type=Map)
        node_ids = set(result["confirmed"])
        assert node_ids == {"node-0", "node-1", "node-2"}
        await eventually(lambda: node_ids <= set(notes))
        assert str(notes["node-1"]["text"]) == "edit 1 — palabre"
