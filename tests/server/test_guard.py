"""The guard: poison updates crash, hang or panic a real worker process, never the server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pycrdt import Doc, Map

from server.guard import Guard, Rejected

POISON = json.loads((Path(__file__).parents[1] / "data" / "poison-updates.json").read_text())["cases"]


def _updates(case: str) -> list[bytes]:
    return [bytes.fromhex(u) for u in POISON[case]["updates"]]


def _good_update() -> bytes:
    doc = Doc()
    doc.get("notes", type=Map)["ok"] = 1.0
    return doc.get_update()


class LiveBoards:
    """Stands for the rooms: a live Doc per board that takes every update the guard accepted,
    and seeds replicas from it, as `Rooms.state_of` does."""

    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}
        self.history: dict[str, list[bytes]] = {}

    def state_of(self, board: str) -> list[bytes]:
        return self.history.get(board, [])

    async def check(self, guard: Guard, board: str, update: bytes) -> None:
        await guard.check(board, update)
        self.history.setdefault(board, []).append(update)
        self.docs.setdefault(board, Doc()).apply_update(update)


@pytest.fixture
async def guard():  # type: ignore[no-untyped-def]
    g = Guard(lambda board: [], timeout=1.0)
    await g.start()
    yield g
    await g.stop()


async def _check_all(guard: Guard, board: str, updates: list[bytes]) -> list[str]:
    """Check each update in order like a client resending after each refusal."""
    outcomes = []
    for update in updates:
        try:
            await guard.check(board, update)
            outcomes.append("ok")
        except Rejected as exc:
            outcomes.append(str(exc))
    return outcomes


async def test_segfault_is_refused_and_worker_restarts(guard: Guard) -> None:
    outcomes = await _check_all(guard, "b", _updates("segfault"))
    assert outcomes[0] == "ok"
    assert outcomes[1] == "update crashed the replica"
    await guard.check("other", _good_update())  # a fresh worker serves everyone again


@pytest.mark.parametrize("case", ["panic", "panic2"])
async def test_panics_are_refused_with_their_reason(guard: Guard, case: str) -> None:
    outcomes = await _check_all(guard, "b", _updates(case))
    assert outcomes[0] == "ok"
    assert "PanicException" in outcomes[1]
    await guard.check("b", _good_update())


async def _feed_hang_history(guard: Guard) -> bytes:
    """The hang needs the half-applied state a failed update leaves behind. The server's live
    board never keeps such a state, but the replica mirrors whatever the live board was told
    (`applied`), so give it that history and return the update that then spins."""
    updates = _updates("hang")
    await guard.check("b", updates[0])  # seeds the replica
    for update in updates[1:4]:
        guard.applied("b", update)  # update 1 fails half-way; the replica keeps its state
    return updates[4]


async def test_a_spinning_update_is_killed_after_the_timeout() -> None:
    guard = Guard(lambda board: [], timeout=1.0, memory_headroom=0)  # no memory cap: time decides
    await guard.start()
    try:
        spinning = await _feed_hang_history(guard)
        with pytest.raises(Rejected, match="hung the replica"):
            await guard.check("b", spinning)
        await guard.check("b", _good_update())
    finally:
        await guard.stop()


async def test_the_same_spin_hits_the_memory_cap() -> None:
    """That spin also allocates without end: with a memory cap and a generous time limit, the
    cap is what stops it."""
    guard = Guard(lambda board: [], timeout=60.0, memory_headroom=256 * 1024 * 1024)
    await guard.start()
    try:
        spinning = await _feed_hang_history(guard)
        with pytest.raises(Rejected, match="crashed the replica"):
            await guard.check("b", spinning)
    finally:
        await guard.stop()


async def test_other_boards_keep_working_while_one_crashes() -> None:
    import asyncio

    live = LiveBoards()
    guard = Guard(live.state_of, timeout=1.0)
    await guard.start()
    bad = _updates("segfault")
    await live.check(guard, "bad", bad[0])
    results = await asyncio.gather(
        live.check(guard, "bad", bad[1]), live.check(guard, "good", _good_update()), return_exceptions=True
    )
    await guard.stop()
    assert isinstance(results[0], Rejected)
    assert results[1] is None  # waited behind the culprit, retried on the new worker


async def test_garbage_update_is_refused_without_restart(guard: Guard) -> None:
    from server.metrics import METRICS

    restarts = METRICS.guard_restarts
    with pytest.raises(Rejected, match="Cannot decode update|ValueError"):
        await guard.check("b", b"\x01\x02garbage")
    assert METRICS.guard_restarts == restarts


async def test_memory_bomb_is_capped(tmp_path: Path) -> None:
    """A replica that tries to grow past its headroom dies instead of taking the machine."""
    g = Guard(lambda board: [], timeout=5.0, memory_headroom=64 * 1024 * 1024)
    await g.start()
    try:
        doc = Doc()
        doc.get("notes", type=Map)["big"] = "x" * (80 * 1024 * 1024)
        big = doc.get_update()
        with pytest.raises(Rejected):
            await g.check("b", big)
        await g.check("b", _good_update())
    finally:
        await g.stop()


async def test_deep_nesting_is_refused(guard: Guard) -> None:
    """120 KB nested 30k levels deep: the worker's stack overflows, not the server's."""
    from tests.support.poison import deep_nesting_update

    await guard.check("deep", deep_nesting_update(depth=10))  # shallow nesting is legit
    with pytest.raises(Rejected, match="crashed the replica"):
        await guard.check("deep", deep_nesting_update())
    await guard.check("deep", _good_update())


async def test_a_batch_with_one_poison_refuses_only_the_poison() -> None:
    """Checks sent together get one answer; when the worker dies the suspects are re-checked
    alone, so the innocent ones in the same batch are still accepted."""
    import asyncio

    live = LiveBoards()
    guard = Guard(live.state_of, timeout=1.0)
    await guard.start()
    bad = _updates("segfault")
    await live.check(guard, "bad", bad[0])
    goods = []
    for i in range(5):
        doc = Doc()
        doc.get("notes", type=Map)[f"k{i}"] = float(i)
        goods.append(doc.get_update())
    results = await asyncio.gather(
        *(live.check(guard, f"good{i}", u) for i, u in enumerate(goods[:2])),
        live.check(guard, "bad", bad[1]),
        *(live.check(guard, f"good{i}", u) for i, u in enumerate(goods[2:], start=2)),
        return_exceptions=True,
    )
    await guard.stop()
    assert [type(r).__name__ for r in results] == ["NoneType", "NoneType", "Rejected", "NoneType", "NoneType",
                                                   "NoneType"]
    assert "crashed" in str(results[2])


async def test_a_restarted_worker_rebuilds_replicas_the_way_the_live_board_was_built() -> None:
    """After a restart (here: another board's poison), the replica must still refuse what would
    kill the live board. A replica re-seeded from a re-encoded state would accept the second
    segfault update (pycrdt does not rebuild the same internal state) and this test process,
    which applies every accepted update like the live board, would die."""
    live = LiveBoards()
    guard = Guard(live.state_of, timeout=1.0)
    await guard.start()
    try:
        first, second = _updates("segfault")
        await live.check(guard, "board", first)
        other_first, other_second = _updates("segfault")
        await live.check(guard, "other", other_first)
        with pytest.raises(Rejected):
            await live.check(guard, "other", other_second)  # restarts the worker
        with pytest.raises(Rejected, match="crashed"):
            await live.check(guard, "board", second)
    finally:
        await guard.stop()


async def test_a_warm_spare_takes_over_after_a_crash() -> None:
    """The replacement process is already running when the worker dies."""
    live = LiveBoards()
    guard = Guard(live.state_of, timeout=1.0)
    await guard.start()
    try:
        await asyncio.sleep(0.5)  # the spare has started by now
        assert guard._spare is not None and guard._spare.done()
        spare_pid = guard._spare.result()[0].get_pid()
        first, second = _updates("segfault")
        await live.check(guard, "b", first)
        with pytest.raises(Rejected):
            await live.check(guard, "b", second)
        await live.check(guard, "b", _good_update())
        assert guard._workers[0].transport is not None
        assert guard._workers[0].transport.get_pid() == spare_pid
    finally:
        await guard.stop()


async def test_a_cancelled_check_among_suspects_does_not_stall_the_guard() -> None:
    """A client that leaves while its update is a suspect is not re-checked; the others are,
    and checks after them are served (nobody waits for the one that left)."""
    live = LiveBoards()
    guard = Guard(live.state_of, timeout=1.0)
    await guard.start()
    try:
        bad = _updates("segfault")
        await live.check(guard, "bad", bad[0])
        first = asyncio.ensure_future(guard.check("first", _good_update()))  # sent at once: idle
        leaving = asyncio.ensure_future(guard.check("gone", _good_update()))
        staying = asyncio.ensure_future(guard.check("stay", _good_update()))
        poison = asyncio.ensure_future(guard.check("bad", bad[1]))
        await asyncio.sleep(0)  # the last three go as one batch, which the poison kills
        leaving.cancel()
        await asyncio.wait_for(first, 10)
        assert await asyncio.wait_for(staying, 10) is None
        with pytest.raises(Rejected):
            await asyncio.wait_for(poison, 10)
        await asyncio.wait_for(guard.check("later", _good_update()), 10)
    finally:
        await guard.stop()
