"""Rooms: one loaded board (its pycrdt Doc), its connections, and the way an update travels.

An incoming update goes, in this order and never otherwise:
    guard check (replica in a worker process) → durable log append → live Doc → relay.
So nothing reaches another client before it is on disk, and nothing that fails, crashes or
hangs the replica reaches the live board or the log.

`Rooms` loads a board once however many clients ask at the same moment (they all await the
same load), never keeps a failed load, and unloads a board `idle_unload_seconds` after its last
connection left (compacting it first), so memory stays bounded with hundreds of boards.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Map

from server.awareness import Presence
from server.connection import Connection
from server.fanout import Fanout, LocalFanout
from server.futures import settle
from server.guard import Guard
from server.metrics import METRICS
from server.protocol import EMPTY_UPDATE, AwarenessEntry, encode_update
from server.settings import Settings
from server.splitting import split_update
from server.storage.base import Storage, StorageError, build_doc
from server.transport import CLOSE_TOO_SLOW, HELD_RELAY, PalabreProtocol, encode_frame

log = logging.getLogger("palabre.rooms")

# A room remembers the exact sequence of updates its Doc was built from (see Room.history);
# past this many it rebuilds the Doc from one encoded state to keep that list short.
REBASE_AFTER = 5000
EMPTY_STATE_VECTOR = b"\x00"  # a diff against it is the whole board
BACKLOG_CHECK_SECONDS = 0.25  # at most how often receivers' backlogs are checked
BUSY_BYTES_PER_SECOND = 2048  # relayed to each receiver: below this, no link we serve falls behind
LAG_PROBE_SECONDS = 1.0  # while the room is busy, each receiver is probed at most this often
LAG_LIMIT_SECONDS = 0.5  # a probe late by this (or the link's round trip, if longer): behind
MIN_DRAIN_SECONDS = 0.02  # rates are measured over at least this long
KEEP_UP_MARGIN = 1.25  # relays resume to a receiver whose link carries this many times the room's moves

_versions = itertools.count(1)  # process-wide, so a reloaded board never reuses a version


class UnknownBoard(LookupError):
    """The board does not exist and auto-create is off (close code 4404)."""


class BoardLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Every log line about a board carries its id."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs.setdefault("extra", {})["board"] = self.extra["board"]  # type: ignore[index]
        return msg, kwargs


class Room:
    def __init__(
        self,
        board: str,
        doc: Doc,
        storage: Storage,
        guard: Guard | None,
        settings: Settings,
        fanout: Fanout | None = None,
        history: list[bytes] | None = None,
    ) -> None:
        self.board = board
        self.doc = doc
        # Every update applied to `doc` since it was built, in order (it was built from the
        # first ones). The guard seeds a replica by replaying exactly this: pycrdt's internal
        # state depends on how a doc was built, and a replica built from an encoded state can
        # survive an update that kills the live doc.
        self.history: list[bytes] = history if history is not None else []
        self.storage = storage
        self.guard = guard
        self.settings = settings
        self.fanout: Fanout = fanout or LocalFanout()
        self.connections: set[Connection] = set()
        self._outgoing: list[tuple[bytes, bytes, Connection | None]] = []  # relayed this iteration
        self._held: asyncio.Future[None] | None = None  # updates waiting for the batch window to close
        self._window_closes = float("-inf")  # loop time the current batch window closes
        self.presence = Presence(self._presence_out, settings.awareness_interval, self.broadcast,
                                 settings.awareness_remote_timeout, self.send_to)
        self.log = BoardLog(log, {"board": board})
        self._appends = 0
        self._compaction: asyncio.Task[None] | None = None
        self._last_compaction = float("-inf")  # monotonic time of the last background compaction
        self._idle: asyncio.TimerHandle | None = None
        self.version = next(_versions)  # changes with every applied update (render cache key)
        self.diverged = False  # the live doc has an update the log lacks (see receive_update)
        self._unrelayed = 0  # updates applied to the doc but not yet relayed (no-guard path)
        self._last_backlog_check = asyncio.get_running_loop().time()  # see "receivers on slow links"
        self._relayed = 0  # bytes relayed (to each receiver) since the last check
        self._relayed_before = 0  # … and before it, since the room was loaded
        # (time, bytes relayed before it) of the look before the last one: see `_busy`
        self._look_before = (self._last_backlog_check, 0)
        self._backlog_timer: asyncio.TimerHandle | None = None
        self._phase = self._watch_phase()

    def _watch_phase(self) -> object:
        """Record a named snapshot ("phase:<id>") whenever `meta.phase` changes."""
        try:
            meta = self.doc.get("meta", type=Map)
        except Exception:  # a root of another type: the reader reports it; nothing to watch
            return None
        meta.observe(lambda _event: self._phase_changed(meta.get("phase")))
        return meta.get("phase")

    def _phase_changed(self, phase: object) -> None:
        if phase != self._phase and isinstance(phase, str) and phase:
            self._phase = phase
            self.log.info("phase is now %s: recording a named snapshot", phase)
            asyncio.ensure_future(self.compact(label=f"phase:{phase}"))

    # --- the update path -----------------------------------------------------------------

    async def receive_update(self, update: bytes, sender: Connection | None, relay: bytes | None = None) -> None:
        """Check, store, apply and relay one update. `relay` is the sender's own frame when it
        already is an update message (relayed as is, no re-encoding).

        Raises guard.Rejected (refuse the sender) or StorageError (nothing applied or relayed).
        """
        if update == EMPTY_UPDATE:
            return
        if self.settings.batch_window > 0:
            await self._window()
        if self.guard is None:
            await self._receive_unguarded(update, sender, relay)
            return
        # Each step calls the next from its own completion (the worker's answer, the commit),
        # so the relay does not wait for this coroutine to be resumed in between.
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.guard.submit(self.board, update, functools.partial(self._checked, update, sender, relay, done))
        await done

    async def _window(self) -> None:
        """Batching (settings.batch_window > 0): an update that finds the room quiet goes at
        once and opens a window; those arriving while it is open wait for it to close and then
        go together, in arrival order, in one loop iteration, so their guard checks, their
        commit and their relay to each receiver are one write each. Under load a batch leaves
        every `batch_window` seconds."""
        loop = asyncio.get_running_loop()
        if self._held is None:
            now = loop.time()
            if now >= self._window_closes:
                self._window_closes = now + self.settings.batch_window
                return
            self._held = loop.create_future()
            loop.call_at(self._window_closes, self._release_held)
        await asyncio.shield(self._held)  # a waiter that leaves must not cancel the others

    def _release_held(self) -> None:
        held, self._held = self._held, None
        self._window_closes = asyncio.get_running_loop().time() + self.settings.batch_window
        if held is not None:
            held.set_result(None)  # only this timer resolves it; `shield` keeps it from being cancelled

    def _checked(self, update: bytes, sender: Connection | None, relay: bytes | None,
                 done: asyncio.Future[None], error: BaseException | None) -> None:
        if error is not None:
            settle(done, error)
            return
        self.storage.append_soon(self.board, update, functools.partial(self._stored, update, sender, relay, done))

    def _stored(self, update: bytes, sender: Connection | None, relay: bytes | None,
                done: asyncio.Future[None], error: BaseException | None) -> None:
        if error is not None:
            if self.guard is not None:
                self.guard.forget(self.board)  # its replica applied an update the live doc will not
            settle(done, error)
            return
        try:
            self._apply(update)
        except BaseException as exc:  # the replica survived it, so this is not expected
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            settle(done, exc)
            return
        self._relay(update, sender, relay)
        settle(done, None)

    async def _receive_unguarded(self, update: bytes, sender: Connection | None, relay: bytes | None) -> None:
        """No replica: the live doc is the check, so it must come first; the update is still
        stored before anyone else is sent it. If storing fails, the live doc holds an update the
        log lacks: the room is dropped (see ws.py); clients reconnect, the board reloads from the
        log and their sync sends the update again."""
        self._apply(update)
        self._unrelayed += 1
        try:
            await self.storage.append(self.board, update)
        except StorageError:
            self.diverged = True
            raise
        finally:
            self._unrelayed -= 1
        self._relay(update, sender, relay)

    def _relay(self, update: bytes, sender: Connection | None, relay: bytes | None) -> None:
        METRICS.log_appends += 1
        self.broadcast(relay if relay is not None else encode_update(update), exclude=sender)
        self._appends += 1
        if self._appends >= self.settings.compact_every:
            self.compact_soon()

    def apply_remote(self, update: bytes) -> None:
        """An update another process already checked and stored: apply and relay it here."""
        if self.guard is not None:
            self.guard.applied(self.board, update)
        try:
            self._apply(update)
        except BaseException as exc:  # it failed there too; keep this process alive
            if isinstance(exc, (KeyboardInterrupt, SystemExit, asyncio.CancelledError)):
                raise
            self.log.warning("remote update failed to apply: %s", exc)
            return
        self.broadcast(encode_update(update))

    def _apply(self, update: bytes) -> None:
        self.history.append(update)  # first: a failed apply may still have changed the doc
        self.doc.apply_update(update)
        self.version = next(_versions)
        if len(self.history) > REBASE_AFTER:
            self._rebase()

    def _rebase(self) -> None:
        """Rebuild the doc from its encoded state so `history` is one entry again; the guard's
        replica is dropped and re-seeded from that same entry."""
        state = self.doc.get_update()
        self.doc = build_doc([state])
        self.history = [state]
        self._phase = self._watch_phase()
        if self.guard is not None:
            self.guard.forget(self.board)

    def apply_remote_awareness(self, entries: list[AwarenessEntry]) -> None:
        """Presence from another process's clients (already checked there)."""
        self.presence.apply_remote(entries)

    def _presence_out(self, message: bytes) -> None:
        self.broadcast(message)
        self.fanout.awareness_changed(self.board, message)

    async def edit(self, change: Callable[[Doc], None]) -> bytes:
        """Apply a server-side edit (HTTP API, import) through the same path as a client's.

        The change runs on a copy of the board so the live doc only ever receives stored updates.
        """
        fork: Doc = Doc()
        fork.apply_update(self.doc.get_update())
        before = fork.get_state()
        change(fork)
        update = fork.get_update(before)
        await self.receive_update(update, sender=None)
        return update

    def broadcast(self, payload: bytes, exclude: Connection | None = None) -> None:
        """Relay `payload` to every connection but `exclude`, at the end of this loop iteration.

        Framed once for everyone; everything relayed to a receiver in one iteration (several
        updates committed together, a presence batch) leaves in one socket write."""
        if not self.connections:
            return
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self.flush)
        self._outgoing.append((payload, encode_frame(payload), exclude))

    def flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if not outgoing:
            return
        sent = 0
        if len(outgoing) == 1:
            payload, frame, exclude = outgoing[0]
            messages, largest = [(payload, frame)], len(payload)
            for conn in self.connections:
                if conn is not exclude and conn.behind is None:
                    conn.write(messages, largest, HELD_RELAY)
                    sent += 1
            METRICS.bytes_out += sent * len(payload)
            self._relayed += len(payload)
        else:
            largest = max(len(p) for p, _, _ in outgoing)
            self._relayed += sum(len(p) for p, _, _ in outgoing)
            for conn in self.connections:
                mine = [(p, f) for p, f, ex in outgoing if ex is not conn]
                if mine and conn.behind is None:
                    conn.write(mine, largest, HELD_RELAY)
                    sent += len(mine)
                    METRICS.bytes_out += sum(len(p) for p, _ in mine)
        METRICS.messages_out += sent
        now = asyncio.get_running_loop().time()
        if now >= self._last_backlog_check + BACKLOG_CHECK_SECONDS and self._worth_a_look(now):
            self._check_backlogs()
        elif self._relayed > self.settings.relay_backlog_bytes // 4:
            self._watch_backlogs()  # a burst: look when due, even if nothing follows it

    def send_to(self, conn: Connection, payload: bytes) -> None:
        """Send to one connection now, after whatever was relayed before (order is kept)."""
        self.flush()
        conn.write([(payload, encode_frame(payload))], len(payload))
        METRICS.messages_out += 1
        METRICS.bytes_out += len(payload)

    def send_diff(self, conn: Connection, diff: bytes, last: Callable[[bytes], bytes] = encode_update) -> None:
        """Send `diff` to one connection as update messages of at most `sync_chunk_bytes`, the
        last one encoded by `last` (a sync answer ends with a step 2). On a slow link each piece
        arrives before a stock client's 30 s silence timeout (see splitting.py)."""
        *first, final = split_update(diff, self.settings.sync_chunk_bytes)
        for piece in first:
            self.send_to(conn, encode_update(piece))
        self.send_to(conn, last(final))

    # --- receivers on slow links --------------------------------------------------------------
    #
    # Relaying every move to a receiver that cannot keep up only shows it the board later and
    # later: on a 32 kbit/s link a busy board's moves pile up by most of a second every second.
    # After a relay, at most every BACKLOG_CHECK_SECONDS, each receiver is looked at. It is
    # "behind" when its lag probe (a ping of our own, transport.py) is late: the pong comes after
    # everything written before the ping, in every buffer up to the client, a proxy's included.
    # A probe goes out at most every LAG_PROBE_SECONDS while the room is busy, or when more than
    # `relay_backlog_bytes` written to the receiver are not acknowledged yet (SIOCOUTQ): on a
    # slow link that is a backlog, on a far one (a 1.2 s round trip to Mali) it is only the moves
    # in flight, so bytes alone decide nothing. It is also behind at once when the transport's
    # own buffer fills (the kernel's is full). Nothing is relayed to a receiver that is behind
    # until a probe sent since has come back and its backlog is down to a quarter of
    # `relay_backlog_bytes`; then it gets one diff against the state it had, which carries each
    # post-it's latest position rather than every move on the way (only a tombstone of a few
    # bytes for each of those, which Yjs keeps), and the presence that changed meanwhile (a
    # timer keeps checking while anyone is behind or has a probe out with a backlog, or after a
    # burst of relays). Direct answers (sync) still go to it. If the room is still busy and the
    # receiver's link did not drain its backlog fast enough to carry the room's moves (its rate
    # is measured from what its peer acknowledges, `_measure`), relays do not resume: it gets
    # the next diff as soon as this one has arrived (a probe follows each), and so on until the
    # room quiets or the link proves fast enough; resuming would only build the next backlog.
    # One whose backlog does not shrink at all for `ping_timeout` seconds reads nothing (a
    # stalled client, not a slow link): closed, 4408.

    @staticmethod
    def _late(transport: PalabreProtocol, waiting: float) -> bool:
        """Whether a probe that has waited `waiting` s says its receiver is behind: late beyond
        the link's own round trip (known once the probe sent as it joined is back) by more than
        LAG_LIMIT_SECONDS, or by more than that round trip if it is longer. A queue of one round
        trip is TCP's own doing now and then (slow start, a loss, BBR re-measuring the path
        every 10 s) and drains by itself."""
        rtt = transport.round_trip
        return bool(rtt) and waiting - rtt > max(LAG_LIMIT_SECONDS, rtt)

    def _busy(self, now: float) -> bool:
        """More than BUSY_BYTES_PER_SECOND relayed to each receiver since the last look, or since
        the one before if the last was less than BACKLOG_CHECK_SECONDS ago: a timer's look just
        after a relay's would judge a sliver of time, and one with no move in it is no quiet room."""
        since, relayed = self._last_backlog_check, self._relayed
        if now - since < BACKLOG_CHECK_SECONDS:
            since, relayed = self._look_before[0], self._relayed_so_far() - self._look_before[1]
        return relayed > BUSY_BYTES_PER_SECOND * (now - since)

    def _worth_a_look(self, now: float) -> bool:
        """Whether enough was relayed since the last look for a receiver to have fallen behind:
        the room is busy, or a quarter of `relay_backlog_bytes` went out. A quiet room (most
        boards, most of the time) is not looked at after each relay, which cost a system call
        per receiver for nothing. Someone behind or probed keeps a timer."""
        return self._busy(now) or self._relayed > self.settings.relay_backlog_bytes // 4

    def _relayed_so_far(self) -> int:
        return self._relayed_before + self._relayed

    def _check_backlogs(self) -> None:
        now = asyncio.get_running_loop().time()
        busy = self._busy(now)
        self._look_before = (self._last_backlog_check, self._relayed_before)
        self._relayed_before += self._relayed
        self._relayed, self._last_backlog_check = 0, now
        limit = self.settings.relay_backlog_bytes
        watch = False
        for conn in list(self.connections):
            transport = conn.transport
            if transport is None or conn.closed:
                continue
            queued, waiting = transport.queued_bytes(), transport.probe_waiting()
            if queued > limit // 4:
                transport.watch_unsent = True  # from now on its writes check the kernel's unsent bytes
            transport.release_held()
            if conn.behind is None:
                if self._late(transport, waiting):
                    self._fall_behind(conn)
                elif (busy or queued > limit) and not waiting and now - transport.probe_sent >= LAG_PROBE_SECONDS:
                    transport.send_probe()
            else:
                self._check_behind(conn, transport, queued, waiting, now, busy)
            # Until its probe is back, a receiver with a backlog may be behind: look again soon.
            watch = watch or conn.behind is not None or transport.holding or (queued > limit and transport.probing)
        if watch:
            self._watch_backlogs()

    def _check_behind(self, conn: Connection, transport: PalabreProtocol, queued: int, waiting: float,
                      now: float, busy: bool) -> None:
        self._measure(conn, transport, now)
        if not waiting:
            if transport.probe_sent < conn.behind_since:
                transport.send_probe()  # its pong will mean: all written before it has arrived
            elif queued <= self.settings.relay_backlog_bytes // 4 and now - conn.behind_since >= MIN_DRAIN_SECONDS:
                # (not sooner: whether its link keeps up is not judged on a sliver of time)
                self._catch_up(conn, again=busy and not self._keeps_up(conn, now))
                return
        if queued < conn.backlog:
            conn.backlog, conn.backlog_moved = queued, now
        elif queued > 0 and now - conn.backlog_moved > self.settings.ping_timeout:
            self._drop_stalled(conn, now - conn.backlog_moved)

    def _watch_backlogs(self) -> None:
        """Check again soon even if nothing is relayed meanwhile (someone is behind)."""
        if self._backlog_timer is None:
            loop = asyncio.get_running_loop()
            self._backlog_timer = loop.call_later(BACKLOG_CHECK_SECONDS, self._backlog_timer_fired)

    def _backlog_timer_fired(self) -> None:
        self._backlog_timer = None
        self._check_backlogs()

    def _fall_behind(self, conn: Connection) -> None:
        if conn.behind is not None:
            return
        self.flush()  # first: what is pending for it goes out, so the doc's state is what it has
        if conn.behind is not None:  # that flush's own check got there first
            return
        dropped = conn.transport.drop_held() if conn.transport is not None else 0
        METRICS.relay_bytes_dropped += dropped
        self._hold(conn, dropped=dropped > 0)
        conn.capacity, conn.acked_mark_at = 0.0, conn.behind_since
        conn.acked_mark = conn.transport.bytes_acked() if conn.transport is not None else 0
        METRICS.receivers_behind += 1
        self._watch_backlogs()

    def _hold(self, conn: Connection, dropped: bool = False) -> None:
        """Stop relaying to `conn`: it has (or will have, once its backlog drains) the doc as it
        is, or, if relays held for it were `dropped`, as it was when they started to be held."""
        now = asyncio.get_running_loop().time()
        if dropped:
            conn.behind, conn.presence_since = conn.handed, conn.handed_at
        else:
            conn.behind = self.doc.get_state() if not self._unrelayed else EMPTY_STATE_VECTOR
            conn.presence_since = now
        conn.behind_since = conn.backlog_moved = now
        conn.backlog = 1 << 62  # not measured yet
        conn.cycle_relayed = self._relayed_so_far()

    def _backed_up(self, conn: Connection) -> None:
        """Writes to the receiver start to be held (its kernel has its share unsent) and none
        are yet: all relayed to it so far is the kernel's, on its way, so the board as it is now
        is what it will have (`conn.handed`) even if the relays held from now on are dropped.
        Not while updates applied to the doc wait to be relayed, nor while it is behind (it
        lacks what was not relayed to it): the older state stays, which is safe (the diff from
        it is only larger)."""
        if conn.behind is None and not self._outgoing and not self._unrelayed:
            conn.handed = self.doc.get_state()
            conn.handed_at = asyncio.get_running_loop().time()

    def _drop_stalled(self, conn: Connection, stalled: float) -> None:
        """Behind and reading nothing at all: a slow link drains, this one does not."""
        METRICS.slow_clients_dropped += 1
        self.log.info("closing a receiver that read nothing for %.0f s", stalled)
        asyncio.ensure_future(conn.close(CLOSE_TOO_SLOW, f"too slow: read nothing for {stalled:.0f} s"))

    @staticmethod
    def _measure(conn: Connection, transport: PalabreProtocol, now: float) -> None:
        """The receiver's link rate: the most its peer acknowledged per second between two looks
        since it fell behind. While its backlog drains the link is full, so that is what it can
        take (a lost packet stalls the acknowledgements, then they catch up at once: the most,
        not the mean); while it gets only diffs, it is less."""
        if now - conn.acked_mark_at < MIN_DRAIN_SECONDS:
            return
        acked = transport.bytes_acked()
        conn.capacity = max(conn.capacity, (acked - conn.acked_mark) / (now - conn.acked_mark_at))
        conn.acked_mark, conn.acked_mark_at = acked, now

    def _keeps_up(self, conn: Connection, now: float) -> bool:
        """Whether the receiver's link carries what the room relayed since the last diff (or the
        fall), with a margin."""
        needed = (self._relayed_so_far() - conn.cycle_relayed) / max(now - conn.behind_since, MIN_DRAIN_SECONDS)
        return conn.capacity >= KEEP_UP_MARGIN * needed

    def _catch_up(self, conn: Connection, again: bool = False) -> None:
        """Send the receiver one diff of what changed since `conn.behind`. Then relays resume,
        unless `again`: its link cannot carry the busy room's moves, so it stays behind and gets
        the next diff once this one has arrived (a probe follows it), which shows it the latest
        positions every round trip or so, instead of a backlog that builds up again until it is
        found behind again."""
        state, conn.behind = conn.behind, None
        if state is None:
            return
        diff = self.doc.get_update(state)
        if diff != EMPTY_UPDATE:
            self.send_diff(conn, diff)
        presence = self.presence.changed_since(conn.presence_since)
        if presence is not None:
            self.send_to(conn, presence)
        METRICS.catch_ups += 1
        if again and conn.transport is not None:
            self._hold(conn)
            conn.transport.send_probe()  # back when the diff has arrived: the next one is due

    # --- connections -----------------------------------------------------------------------

    def add(self, conn: Connection) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        self.connections.add(conn)
        if conn.transport is not None:
            conn.transport.on_pause = functools.partial(self._fall_behind, conn)
            conn.transport.on_backed_up = functools.partial(self._backed_up, conn)
            conn.transport.send_probe()  # the link's own round trip, measured before anything is queued

    def remove(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if conn.transport is not None:
            conn.transport.on_pause = conn.transport.on_backed_up = None
        self.presence.remove_connection(conn)

    # --- compaction --------------------------------------------------------------------------

    def compact_soon(self) -> None:
        """Compact in the background, at most once per `compact_min_interval` seconds."""
        now = time.monotonic()
        if now - self._last_compaction < self.settings.compact_min_interval:
            return
        if self._compaction is None or self._compaction.done():
            self._appends = 0
            self._last_compaction = now
            self._compaction = asyncio.ensure_future(self.compact())

    async def compact(self, label: str = "") -> None:
        try:
            record = await self.storage.compact(self.board, label)
        except StorageError:
            self.log.exception("compaction failed (the log is intact)")
            return
        if record is not None:
            METRICS.compactions += 1
            self.log.info("compacted up to %s", record.seq)

    async def wait_compaction(self) -> None:
        if self._compaction is not None:
            await asyncio.shield(self._compaction)


class Rooms:
    def __init__(
        self, storage: Storage, guard: Guard | None, settings: Settings, fanout: Fanout | None = None
    ) -> None:
        self.storage = storage
        self.guard = guard
        self.settings = settings
        self.fanout: Fanout = fanout or LocalFanout()
        self.rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        self._unloading: set[asyncio.Task[None]] = set()

    def state_of(self, board: str) -> list[bytes]:
        """The updates the live board was built from, in order (seeds the guard's replica)."""
        room = self.rooms.get(board)
        return room.history if room is not None else []

    async def get(self, board: str) -> Room:
        """The loaded room for `board`, loading it once for all concurrent callers."""
        room = self.rooms.get(board)
        if room is not None:
            return room
        future = self._loading.get(board)
        if future is None:
            future = self._loading[board] = asyncio.ensure_future(self._load(board))
            future.add_done_callback(lambda _: self._loading.pop(board, None))
        return await asyncio.shield(future)

    async def _load(self, board: str) -> Room:
        stored = await self.storage.load(board)
        if stored is None:
            if not self.settings.auto_create:
                raise UnknownBoard(board)
            await self.storage.create(board)
            stored = await self.storage.load(board)
            if stored is None:
                raise UnknownBoard(board)
        updates = stored.updates
        doc = await asyncio.to_thread(build_doc, updates)
        room = Room(board, doc, self.storage, self.guard, self.settings, self.fanout, list(updates))
        self.rooms[board] = room
        self.fanout.board_loaded(room, stored.last_seq)
        METRICS.board_loads += 1
        room.log.info("loaded (%d stored updates)", len(updates))
        return room

    def release(self, room: Room, conn: Connection) -> None:
        room.remove(conn)
        self.schedule_idle(room)

    async def evict(self, room: Room, reason: str) -> None:
        """Forget a room whose live doc cannot be trusted, closing its connections (1011): they
        reconnect to a board loaded again from the log, and their sync resends what it lacks."""
        if self.rooms.get(room.board) is room:
            del self.rooms[room.board]
            self.fanout.board_unloaded(room.board)
            if self.guard is not None:
                self.guard.forget(room.board)
        room.log.error("evicting the board: %s", reason)
        for conn in list(room.connections):
            await conn.close(1011, "board reloading, reconnect")

    def schedule_idle(self, room: Room) -> None:
        """Unload `room` after the idle delay unless a connection arrives meanwhile."""
        if not room.connections and room._idle is None and self.rooms.get(room.board) is room:
            loop = asyncio.get_running_loop()
            room._idle = loop.call_later(self.settings.idle_unload_seconds, self._unload_idle, room)

    def _unload_idle(self, room: Room) -> None:
        room._idle = None
        if room.connections or self.rooms.get(room.board) is not room:
            return
        del self.rooms[room.board]
        self.fanout.board_unloaded(room.board)
        task = asyncio.ensure_future(self._finish_unload(room))
        self._unloading.add(task)
        task.add_done_callback(self._unloading.discard)

    async def _finish_unload(self, room: Room) -> None:
        room.presence.close()
        if self.guard is not None:
            self.guard.forget(room.board)
        await room.wait_compaction()
        await room.compact()
        METRICS.board_unloads += 1
        room.log.info("unloaded (idle)")

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            await room.wait_compaction()
            await room.compact()
        if self._unloading:
            await asyncio.gather(*self._unloading, return_exceptions=True)
        self.rooms.clear()
