"""The app's connection on a bad network: a handshake that never completes is given up and retried.

y-websocket has no time limit while connecting. On a cut link the browser's attempt can hang
(the SYN or the server's 101 lost): the app stayed "connecting" long after the link was back.
Here a front in between (tests/support/front.py) swallows the app's first WebSocket handshake
(holds it open, never answers) and passes everything else through to the real server.
"""

from __future__ import annotations

import time

from tests.support.front import Front
from tests.web.helpers import open_board


def test_a_handshake_that_never_completes_is_given_up_and_retried(base_url, new_context, board_id):
    front = Front(base_url, swallow=1)
    try:
        ctx = new_context()
        ctx.set_default_timeout(30_000)
        started = time.monotonic()
        page = open_board(ctx, front.http_url, board_id, "Awa", "Diéma")
        waited = time.monotonic() - started
        assert len(front.swallowed) == 1, "the first handshake should have been held"
        assert waited < 20, f"connected after {waited:.1f} s"
        assert not page.errors
    finally:
        front.close()
