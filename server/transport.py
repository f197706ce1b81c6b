"""uvicorn's sans-I/O WebSocket protocol with what Palabre needs on top.

1. A direct send for relays. The ASGI path builds a frame per receiver through several layers;
   relaying one update to 40 receivers that way costs more than the update itself. The room
   frames a relayed message once (`encode_frame`) and hands the same bytes to every receiver's
   `write_messages`, which writes everything queued for it in one socket write. When permessage-deflate was negotiated,
   messages of `deflate_min_bytes` and more still go through the compressor (a join's large
   sync gets ~5× smaller); smaller ones go out uncompressed, which RFC 7692 allows per message,
   because deflating a 40-byte move per receiver costs CPU and saves nothing.
   The protocol object is published to the app in `scope["extensions"]["palabre.transport"]`.
2. Deflate negotiated with `client_no_context_takeover`. Stock `ws` clients (y-websocket under
   Node) compress *every* message they send when they keep a compression context, small moves
   included — on their side, asynchronously, which lengthened Palabre's latency tail and made
   the server inflate every move. Without a client context they apply their 1 KiB threshold:
   a move goes out plain, a large offline edit is still compressed (each message on its own).
   The server → client direction keeps its context, so joins stay ~5× smaller.
3. Flow control for receivers on slow links: `queued_bytes()` is what was written to the
   connection and not yet acknowledged by the peer (the kernel's send queue, SIOCOUTQ, the
   transport's buffer and the held messages, below), which on a slow link holds the backlog;
   and the transport's own buffer passing `relay_backlog_bytes` (e.g. a large sync) is passed
   on to `on_pause`. The room uses both to stop relaying to a receiver that cannot keep up and
   to send it one catch-up diff once its backlog has drained (see rooms.py). Behind a proxy the
   backlog sits in the proxy's buffers, out of SIOCOUTQ's sight: lag probes (`send_probe`, a
   ping of our own whose pong is as late as the whole path's backlog) see it there.
4. A backlog that can still be taken back. What the kernel has accepted goes out, however
   stale, and it accepts far more than it can send on a slow link (small writes join its last
   unsent segment). So for a receiver the room has seen with a backlog (`watch_unsent`), each
   write reads what the kernel has not sent yet (SIOCOUTQNSD); past a quarter of
   `relay_backlog_bytes`, writes are *held* here, in order, until it is down to half that.
   When the receiver is found behind, the held relays and lag probe are dropped (`drop_held`):
   the catch-up diff replaces them. Other receivers pay nothing: no read, nothing held.
5. Keep-alive that tells a slow link from a dead one: a pong that is late while the peer's data
   keeps arriving does not drop the connection (`keepalive_timeout`).
6. Refusals with Palabre's close codes: an oversized frame closes with 4413 and a reason
   (websockets alone would send 1009), and a receiver that cannot keep up (its send buffer
   grows past `send_queue_bytes`) is closed with 4408 instead of slowing the room.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import sys
import termios
from collections import deque
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState, PayloadTooBig
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

from server.metrics import METRICS

CLOSE_TOO_LARGE = 4413
CLOSE_TOO_SLOW = 4408
# Offsets in Linux's struct tcp_info (include/uapi/linux/tcp.h): tcpi_bytes_acked (since 4.1),
# tcpi_data_segs_in (since 4.6).
_TCP_INFO_BYTES_ACKED = 120
_TCP_INFO_DATA_SEGS_IN = 152
_SIOCOUTQNSD = 0x894B  # Linux's ioctl for the bytes of a TCP socket's send queue not sent yet

# What a held message is: a relay and a lag probe may be dropped (see `drop_held`), the rest
# (sync answers, catch-up diffs, deflated messages, whose compression context the peer follows)
# never.
HELD_RELAY, HELD_PROBE, HELD_KEEP = 0, 1, 2


def encode_frame(payload: bytes) -> bytes:
    """An unmasked, final, binary WebSocket frame (server → client)."""
    n = len(payload)
    if n < 126:
        return bytes((0x82, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x82, 126, n) + payload
    return struct.pack("!BBQ", 0x82, 127, n) + payload


def encode_close(code: int, reason: str) -> bytes:
    body = struct.pack("!H", code) + reason.encode()[:120]
    return bytes((0x88, len(body))) + body


def _tcp_info(sock: Any, offset: int, size: int) -> int:
    """One unsigned field of Linux's struct tcp_info; 0 if unknown (no socket, not TCP, an older
    kernel)."""
    if sock is None:
        return 0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, offset + size)
    except OSError:
        return 0
    if len(info) < offset + size:
        return 0
    return int.from_bytes(info[offset:offset + size], sys.byteorder)


def tcp_data_segments_in(sock: Any) -> int:
    """Segments carrying data that the kernel received on this TCP socket, in order or not,
    duplicates included (tcpi_data_segs_in; pure acknowledgements are not counted)."""
    return _tcp_info(sock, _TCP_INFO_DATA_SEGS_IN, 4)


def tcp_bytes_acked(sock: Any) -> int:
    """Bytes sent on this TCP socket that the peer has acknowledged (tcpi_bytes_acked)."""
    return _tcp_info(sock, _TCP_INFO_BYTES_ACKED, 8)


def deflate_factory() -> ServerPerMessageDeflateFactory:
    """uvicorn's permessage-deflate settings, plus no client context (see the module docstring)."""
    return ServerPerMessageDeflateFactory(
        client_no_context_takeover=True,
        server_max_window_bits=12,
        client_max_window_bits=12,
        compress_settings={"memLevel": 5},
    )


class PalabreProtocol(WebSocketsSansIOProtocol):
    # Set by `configure` from the settings before uvicorn starts.
    deflate_min_bytes: int = 1024
    send_queue_bytes: int = 16 * 1024 * 1024
    relay_backlog_bytes: int = 16 * 1024

    @classmethod
    def configure(cls, *, deflate_min_bytes: int, send_queue_bytes: int,
                  relay_backlog_bytes: int) -> type["PalabreProtocol"]:
        return type("ConfiguredPalabreProtocol", (cls,), {
            "deflate_min_bytes": deflate_min_bytes,
            "send_queue_bytes": send_queue_bytes,
            "relay_backlog_bytes": relay_backlog_bytes,
        })

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: deque[tuple[bytes, int]] = deque()  # (data, HELD_*) waiting for the kernel to send its share
        if self.conn.available_extensions:
            self.conn.available_extensions = [deflate_factory()]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"]["palabre.transport"] = self

    @property
    def open(self) -> bool:
        return (
            self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and not self.transport.is_closing()
        )

    # Called when the transport's buffer passes relay_backlog_bytes (the room stops relaying).
    on_pause: Callable[[], None] | None = None

    _sock: Any = None  # the connection's socket, if it has one

    # Called when writes start to be held and nothing is held yet: everything written before
    # is the kernel's, on its way (rooms.py notes the board's state then: what the receiver
    # will have if the held relays are dropped).
    on_backed_up: Callable[[], None] | None = None
    # Set by the room for a receiver seen with a backlog: each write then reads how much the
    # kernel has not sent yet (one ioctl), and past `unsent_limit` writes are held here.
    watch_unsent = False
    holding = False  # writes wait in `_held` (only ever True while `watch_unsent`)
    _held_bytes = 0

    @property
    def unsent_limit(self) -> int:
        return self.relay_backlog_bytes // 4

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        transport.set_write_buffer_limits(high=self.relay_backlog_bytes, low=self.relay_backlog_bytes // 4)
        self._sock = transport.get_extra_info("socket")

    def _socket(self) -> Any:
        """The connection's socket, None once it is closing (or if it has none)."""
        return None if self.transport.is_closing() else self._sock

    def _ioctl_int(self, request: int) -> int:
        sock = self._socket()
        if sock is None:
            return 0
        try:
            return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), request, b"\0\0\0\0"))[0])
        except OSError:
            return 0

    def queued_bytes(self) -> int:
        """Bytes written to this connection that the peer has not acknowledged yet (held here,
        in the transport's buffer, in the kernel's)."""
        return self.transport.get_write_buffer_size() + self._held_bytes + self._ioctl_int(termios.TIOCOUTQ)

    def unsent_bytes(self) -> int:
        """Bytes the kernel has not sent yet (SIOCOUTQNSD); 0 if unknown."""
        return self._ioctl_int(_SIOCOUTQNSD)

    def bytes_acked(self) -> int:
        """Bytes written to this connection that the peer has acknowledged (0 if unknown)."""
        return tcp_bytes_acked(self._socket())

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.on_pause is not None:
            self.on_pause()

    def _write(self, data: bytes, kind: int = HELD_KEEP) -> None:
        """Write `data` now, or hold it (in order) while the kernel has its share unsent."""
        if self.holding and not self._release(backed_up=False):
            self._held.append((data, kind))
            self._held_bytes += len(data)
            return
        self.transport.write(data)
        if self.watch_unsent and self.unsent_bytes() > self.unsent_limit:
            self.holding = True
            if self.on_backed_up is not None:
                self.on_backed_up()

    def release_held(self) -> bool:
        """Write what is held while the kernel takes it; True once nothing is held."""
        return self._release(backed_up=True)

    def _release(self, backed_up: bool) -> bool:
        # Resumes once the kernel is down to half its share, so a busy link is not looked at
        # after every write. `backed_up`: nothing is about to be written by the caller, so if
        # the last held write backs up again, all was handed over (see on_backed_up).
        if not self.holding:
            return True
        if not self.open or self.unsent_bytes() > self.unsent_limit // 2:
            return False
        self.holding = False
        while self._held:
            data, _ = self._held.popleft()
            self._held_bytes -= len(data)
            self.transport.write(data)
            if self.unsent_bytes() > self.unsent_limit:
                self.holding = True
                if backed_up and not self._held and self.on_backed_up is not None:
                    self.on_backed_up()
                return False
        return True

    def drop_held(self) -> int:
        """Forget the held relays and lag probe (the receiver gets a catch-up diff instead);
        returns the bytes dropped. Whatever else is held still goes, in order."""
        kept = deque((data, kind) for data, kind in self._held if kind == HELD_KEEP)
        if any(kind == HELD_PROBE for _, kind in self._held):
            self._probe = None  # it never left: the room sends another
        dropped = self._held_bytes - sum(len(data) for data, _ in kept)
        self._held, self._held_bytes = kept, self._held_bytes - dropped
        return dropped

    # A lag probe is a ping of Palabre's own (uvicorn's keep-alive ignores its pong). It waits
    # behind everything written before it, in every buffer up to the client, a proxy's included,
    # which SIOCOUTQ cannot see: its pong is late by the whole path's backlog. Its round trip
    # also includes the link's own, 0.3–1.5 s on a 3G link to Mali with nothing queued: the
    # shortest one seen (`round_trip`) is that part, only what a probe waits beyond it is backlog.
    # The first probe goes out as the connection joins its room, before anything is queued for
    # it; until its pong is back no lateness is judged (a peer that never answers is the
    # keep-alive's case).
    _probe: bytes | None = None  # the probe awaiting its pong
    probe_sent = float("-inf")  # loop time the last probe left
    round_trip = 0.0  # the shortest a probe or keep-alive ping took to come back (s); 0.0: none yet

    def send_probe(self) -> None:
        if self._probe is not None or not self.open:
            return
        now = self.loop.time()
        probe = b"lag" + struct.pack("!d", now)
        try:
            self.conn.send_ping(probe)
        except InvalidState:  # closing
            return
        self._probe, self.probe_sent = probe, now
        self._write(b"".join(self.conn.data_to_send()), HELD_PROBE)

    def probe_waiting(self) -> float:
        """Seconds the lag probe has waited for its pong; 0.0 if none is out."""
        return self.loop.time() - self.probe_sent if self._probe is not None else 0.0

    @property
    def probing(self) -> bool:
        return self._probe is not None

    def handle_pong(self, event: Any) -> None:
        if self._probe is not None and bytes(event.data) == self._probe:
            self._probe = None
            took = self.loop.time() - self.probe_sent
            if not self.round_trip:
                METRICS.observe_round_trip(took)  # the first: sent as the connection joined
            self.round_trip = min(self.round_trip, took) if self.round_trip else took
            return
        keepalive = self.pending_ping_payload is not None
        super().handle_pong(event)
        if keepalive and self.pending_ping_payload is None and self.round_trip:
            # A keep-alive ping is a probe too: its round trip bounds the link's. A join probe
            # that was lost and resent (or met a burst) made the link look farther than it is.
            self.round_trip = min(self.round_trip, self.last_ping_rtt)

    def write_messages(self, messages: list[tuple[bytes, bytes]], largest: int, kind: int = HELD_KEEP) -> bool:
        """Send (payload, encode_frame(payload)) pairs in one socket write; `largest` is the
        longest payload (computed once by the caller for all receivers).

        Returns False if the connection is gone or was just closed for being too slow.
        """
        if not self.open:
            return False
        if largest >= self.deflate_min_bytes and self.conn.extensions:
            return self._write_deflating(messages)
        data = messages[0][1] if len(messages) == 1 else b"".join(f for _, f in messages)
        if self.watch_unsent:
            self._write(data, kind)
        else:  # never watched, so nothing held: the relay's hot path stays one plain write
            self.transport.write(data)
        return self._check_buffer()

    def _write_deflating(self, messages: list[tuple[bytes, bytes]]) -> bool:
        parts: list[bytes] = []
        for payload, frame in messages:
            if len(payload) < self.deflate_min_bytes:
                parts.append(frame)
                continue
            try:
                self.conn.send_binary(payload)
            except InvalidState:
                return False
            parts.extend(self.conn.data_to_send())
        self._write(b"".join(parts))  # never dropped: the peer's inflater follows our compressor
        return self._check_buffer()

    def _check_buffer(self) -> bool:
        if self.transport.get_write_buffer_size() + self._held_bytes > self.send_queue_bytes:
            METRICS.slow_clients_dropped += 1
            self.refuse(CLOSE_TOO_SLOW, "too slow: send buffer full")
            return False
        return True

    def _linger(self) -> None:
        """Keep reading (and dropping) the rest of a refused message for a moment, so the peer
        gets our close frame instead of a TCP reset for unread data."""
        if self.close_timer is not None:
            self.close_timer.cancel()
        delay = min(1.0, max(0.0, self._discard_until - self.loop.time()))
        self.close_timer = self.loop.call_later(delay, self.transport.close)

    def refuse(self, code: int, reason: str) -> None:
        """Close now with `code`, bypassing the websockets state machine (used outside ASGI)."""
        if self.close_sent or self.disconnected:
            return
        self.close_sent = True
        self._held.clear()  # nothing may follow the close frame
        self._held_bytes = 0
        self.transport.write(encode_close(code, reason))
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(2.0, self.transport.close)

    _discard_until: float = 0.0  # > 0 once an oversized message was refused

    # uvicorn pauses reading after every message until the app takes it: two epoll_ctl calls
    # per message. Pausing only when this many messages wait keeps the backpressure, not the cost.
    receive_backlog: int = 32

    def send_receive_event_to_app(self) -> None:
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:
            return
        if self.curr_msg_data_type == "text":
            # Not part of the protocol: hand it on (the app refuses it with 4400).
            self.queue.put_nowait({"type": "websocket.receive", "text": data.decode(errors="replace")})
        else:
            self.queue.put_nowait({"type": "websocket.receive", "bytes": data})
        if not self.read_paused and self.queue.qsize() >= self.receive_backlog:
            self.read_paused = True
            self.transport.pause_reading()

    _heard = 0.0  # loop time data last arrived from the peer
    _segments_seen = 0  # data segments the kernel had received from the peer at the last look

    def keepalive_timeout(self) -> None:
        """A peer whose pong is late while it is sending us data is alive: on a slow link its
        pong waits behind that data (a large offline edit takes minutes to upload at 16 kbit/s,
        and dropping it mid-way would make it start again, for ever). So the deadline moves
        to `ping_timeout` after the last bytes received; only a peer silent that long is dropped.

        "Received" counts what reached the kernel, not only what reached us: on a lossy link a
        lost segment holds back everything behind it until the peer resends it, and on a slow
        link with deep buffers the resent one queues behind the rest (seconds, at 16 kbit/s).
        The peer's segments keep arriving meanwhile, out of order, and the kernel counts them
        (TCP_INFO's data_segs_in): one since the last look is a sign of life like data is."""
        segments = tcp_data_segments_in(self._socket())
        if segments > self._segments_seen:
            self._segments_seen = segments
            self._heard = max(self._heard, self.loop.time())
        silent = self.loop.time() - self._heard
        if self.ping_timeout is not None and silent < self.ping_timeout and not self.close_sent:
            self.pong_timer = self.loop.call_later(self.ping_timeout - silent, self.keepalive_timeout)
            return
        super().keepalive_timeout()

    def data_received(self, data: bytes) -> None:
        self._heard = self.loop.time()
        if self._discard_until:
            self._linger()
            return
        self.conn.receive_data(data)
        if isinstance(self.conn.parser_exc, PayloadTooBig):
            self.conn.data_to_send()  # drop the 1009 close websockets queued; we send 4413
            METRICS.rejected["too-large"] += 1
            self.refuse(CLOSE_TOO_LARGE, f"message too large (limit {self.config.ws_max_size} bytes)")
            self._discard_until = self.loop.time() + 10.0
            self._linger()
            return
        if self.conn.parser_exc is not None:
            self.handle_parser_exception()
            return
        self.handle_events()
