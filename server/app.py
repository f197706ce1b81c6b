"""`create_app(settings)`: the Starlette application (WebSocket sync, HTTP API, the web app)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import WebSocketRoute

from server import api, snapshots, web
from server.service import Palabre
from server.settings import Settings
from server.ws import sync_endpoint


def create_app(settings: Settings | None = None, palabre: Palabre | None = None) -> Starlette:
    settings = settings or Settings()
    palabre = palabre or Palabre(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await palabre.start()
        try:
            yield
        finally:
            await palabre.stop()

    app = Starlette(
        middleware=[Middleware(GZipMiddleware, minimum_size=1024)],
        routes=[WebSocketRoute("/ws/{board}", sync_endpoint), *api.routes, *snapshots.routes, *web.routes],
        lifespan=lifespan,
        exception_handlers=api.exception_handlers,  # type: ignore[arg-type]
    )
    app.state.palabre = palabre
    return app
