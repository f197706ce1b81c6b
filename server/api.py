"""HTTP routes: health, metrics (and the board API)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from server.metrics import METRICS


async def healthz(request: Request) -> Response:
    palabre = request.app.state.palabre
    return JSONResponse({"status": "ok", "boards_loaded": len(palabre.rooms.rooms)})


async def metrics(request: Request) -> Response:
    return PlainTextResponse(METRICS.render(), media_type="text/plain; version=0.0.4")


routes = [
    Route("/healthz", healthz),
    Route("/metrics", metrics),
]
