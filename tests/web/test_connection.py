"""The app's connection on a bad network: a handshake that never completes is given up and retried.

y-websocket has no time limit while connecting. On a cut link the browser's attempt can hang
(the SYN or the server's 101 lost): the app stayed "connecting" long after the link was back.
Here a front in between swallows the app's first WebSocket handshake (holds it open, never
answers) and passes everything else through to the real server.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

from tests.web.helpers import open_board


class SwallowingFront:
    """A TCP front for the server at `upstream` that holds the first `swallow` WebSocket
    handshakes open without a word and pipes every other connection through."""

    def __init__(self, upstream: str, swallow: int = 1) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.to_swallow = swallow
        self.swallowed: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                client.close()
                return
            head += chunk
        with self._lock:
            swallow = b"upgrade: websocket" in head.lower() and self.to_swallow > 0
            if swallow:
                self.to_swallow -= 1
                self.swallowed.append(client)  # held open, never answered
        if swallow:
            return
        upstream = socket.create_connection(self.upstream)
        upstream.sendall(head)
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)

    def close(self) -> None:
        self.listener.close()
        for held in self.swallowed:
            held.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_a_handshake_that_never_completes_is_given_up_and_retried(base_url, new_context, board_id):
    front = SwallowingFront(base_url)
    try:
        ctx = new_context()
        ctx.set_default_timeout(30_000)
        started = time.monotonic()
        page = open_board(ctx, front.url, board_id, "Awa", "Diéma")
        waited = time.monotonic() - started
        assert len(front.swallowed) == 1, "the first handshake should have been held"
        assert waited < 20, f"connected after {waited:.1f} s"
        assert not page.errors
    finally:
        front.close()
