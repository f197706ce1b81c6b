"""A TCP front for tests: what a reverse proxy is to Palabre, with a fault to inject.

`Front` listens on `listen_host` and pipes every connection through to the server at
`upstream`, with plain blocking sockets: like a proxy (nginx in `docker-compose.yml`), it takes
what the server writes into its own socket buffers as fast as the server writes it, whatever the
client can take; so a backlog towards a slow client sits in the front, out of the server's sight.
`swallow=N` holds the first N WebSocket handshakes open without a word, as a cut link does to a
handshake in flight.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit


class Front:
    def __init__(self, upstream: str, listen_host: str = "127.0.0.1", swallow: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.to_swallow = swallow
        self.swallowed: list[socket.socket] = []
        self.listener = socket.create_server((listen_host, 0))
        port = self.listener.getsockname()[1]
        self.http_url = f"http://{listen_host}:{port}"
        self.ws_url = f"ws://{listen_host}:{port}/ws"
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
