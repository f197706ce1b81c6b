"""The browser app: `/` and `/b/{board}` answer the app's page, `/static/*` its bundle.

The bundle is built from `client/web/` and committed in `client/web/dist/`, so serving it
needs no Node.js. Asset URLs carry a content hash (`app.js?v=…`), so they can be cached long.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

import client

DIST = Path(client.__file__).resolve().parent / "web" / "dist"


async def app_page(request: Request) -> Response:
    index = DIST / "index.html"
    if not index.is_file():
        return PlainTextResponse("the web app is not built (client/web/dist is missing)", status_code=503)
    return FileResponse(index, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


async def service_worker(request: Request) -> Response:
    """The offline service worker must live at the root to control `/b/…` pages."""
    worker = DIST / "sw.js"
    if not worker.is_file():
        return PlainTextResponse("no service worker", status_code=404)
    return FileResponse(worker, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


class ImmutableStatic(StaticFiles):
    """Bundle files are referenced with a content hash (`?v=…`): cache them for good."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


async def no_favicon(request: Request) -> Response:
    return Response(status_code=204)  # browsers ask for it; the app declares no icon


routes = [
    Route("/", app_page),
    Route("/favicon.ico", no_favicon),
    Route("/b/{board}", app_page),
    Route("/sw.js", service_worker),
    Mount("/static", app=ImmutableStatic(directory=DIST, check_dir=False), name="static"),
]
