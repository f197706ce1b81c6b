"""HTTP routes: the board API (JSON), health and metrics.

Every error is a JSON body `{"error": "...", ...}` with a 4xx status saying what is wrong;
request bodies are read with a size cap before anything is parsed.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from boards.importer import ImportRejected
from boards.reader import read_board_json
from boards.templates import template_summaries
from server.catalog import BoardExists, Catalog, NoSuchBoard
from server.metrics import METRICS
from server.openapi import OPENAPI

MAX_JSON_BODY = 64 * 1024
MAX_IMPORT_BODY = 2 * 1024 * 1024


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def catalog_of(request: Request) -> Catalog:
    return request.app.state.palabre.catalog


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body too large (at most {limit} bytes)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body too large (at most {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(request: Request) -> dict[str, Any]:
    body = await read_body(request, MAX_JSON_BODY)
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "body is not valid JSON") from None
    if not isinstance(value, dict):
        raise HTTPException(400, "body must be a JSON object")
    return value


def optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise HTTPException(400, f"'{key}' must be a string")
    return value


# --- routes ------------------------------------------------------------------------------


async def list_templates(request: Request) -> Response:
    locale = request.query_params.get("locale", "fr")
    try:
        return JSONResponse(template_summaries(locale))
    except ValueError as exc:
        return error(400, str(exc))


async def list_boards(request: Request) -> Response:
    return JSONResponse([summary.to_json() for summary in await catalog_of(request).list()])


async def create_board(request: Request) -> Response:
    data = await read_json_object(request)
    template = optional_str(data, "template") or "libre"
    locale = optional_str(data, "locale") or "fr"
    try:
        board, snapshot = await catalog_of(request).create(
            template, board=optional_str(data, "id"), title=optional_str(data, "title"), locale=locale
        )
    except BoardExists as exc:
        return error(409, str(exc))
    except ValueError as exc:
        return error(400, str(exc))
    body = {"id": board, "url": f"/b/{board}", "board": read_board_json(snapshot)}
    return JSONResponse(body, status_code=201, headers={"Location": f"/api/boards/{board}"})


async def get_board(request: Request) -> Response:
    board = request.path_params["board"]
    try:
        snapshot = await catalog_of(request).read(board)
    except NoSuchBoard:
        return error(404, f"unknown board {board}")
    return JSONResponse(read_board_json(snapshot))


async def delete_board(request: Request) -> Response:
    board = request.path_params["board"]
    try:
        await catalog_of(request).archive(board)
    except NoSuchBoard:
        return error(404, f"unknown board {board}")
    return Response(status_code=204)


async def import_board_notes(request: Request) -> Response:
    board = request.path_params["board"]
    body = await read_body(request, MAX_IMPORT_BODY)
    try:
        ids = await catalog_of(request).import_notes(board, body, request.headers.get("content-type"))
    except NoSuchBoard:
        return error(404, f"unknown board {board}")
    except ImportRejected as exc:
        problems = [{exc.unit: n, "message": message} for n, message in exc.problems]
        return error(400, str(exc), problems=problems)
    except ValueError as exc:
        return error(400, str(exc))
    return JSONResponse({"imported": len(ids), "ids": ids})


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


async def healthz(request: Request) -> Response:
    palabre = request.app.state.palabre
    return JSONResponse({"status": "ok", "boards_loaded": len(palabre.rooms.rooms)})


async def metrics(request: Request) -> Response:
    return PlainTextResponse(METRICS.render(), media_type="text/plain; version=0.0.4")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, exc.detail)


routes = [
    Route("/api/templates", list_templates, methods=["GET"]),
    Route("/api/boards", list_boards, methods=["GET"]),
    Route("/api/boards", create_board, methods=["POST"]),
    Route("/api/boards/{board}", get_board, methods=["GET"]),
    Route("/api/boards/{board}", delete_board, methods=["DELETE"]),
    Route("/api/boards/{board}/import", import_board_notes, methods=["POST"]),
    Route("/api/openapi.json", openapi, methods=["GET"]),
    Route("/healthz", healthz),
    Route("/metrics", metrics),
]

exception_handlers = {HTTPException: http_error}
