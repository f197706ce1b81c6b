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

import client

DIST = Path(client.__file__).resolve().parent / "web" / "dist"


async def app_page(request: Request) -> Response:
    index = DIST / "index.html"
    if not index.is_file():
        return PlainTextResponse("the web app is not built (client/web/dist is missing)", status_code=503)
    return FileResponse(index, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


routes = [
    Route("/", app_page),
    Route("/b/{board}", app_page),
    Mount("/static", app=StaticFiles(directory=DIST, check_dir=False), name="static"),
]
