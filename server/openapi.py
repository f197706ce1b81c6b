"""The OpenAPI description of the HTTP API, served at `GET /api/openapi.json`."""

from __future__ import annotations

from typing import Any

_ERROR = {"description": "What is wrong", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_BOARD_ID = {"name": "board", "in": "path", "required": True,
             "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Palabre", "version": "0.1.0",
             "description": "Boards of a collaborative workshop whiteboard. Live sync is the y-websocket "
                            "protocol at ws(s)://HOST/ws/{board}; this is the HTTP side."},
    "paths": {
        "/api/templates": {"get": {
            "summary": "Workshop templates", "parameters": [
                {"name": "locale", "in": "query", "schema": {"type": "string", "enum": ["fr", "en"]}}],
            "responses": {"200": {"description": "name, title, description of each template"}, "400": _ERROR}}},
        "/api/boards": {
            "get": {"summary": "List boards (archived ones hidden)",
                    "responses": {"200": {"description": "Boards", "content": {"application/json": {
                        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/BoardSummary"}}}}}}},
            "post": {"summary": "Create a board from a template",
                     "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewBoard"}}}},
                     "responses": {"201": {"description": "Created: {id, url, board}"}, "400": _ERROR,
                                   "409": _ERROR, "413": _ERROR}}},
        "/api/boards/{board}": {
            "parameters": [_BOARD_ID],
            "get": {"summary": "The board as JSON (tolerant reader; skipped entries under `warnings`)",
                    "responses": {"200": {"description": "meta, zones, notes, groups, votes, actors, links, "
                                                         "strokes, warnings"}, "404": _ERROR}},
            "delete": {"summary": "Archive the board (hidden from the list; its log and history are kept)",
                       "responses": {"204": {"description": "Archived"}, "404": _ERROR}}},
        "/api/boards/{board}/import": {
            "parameters": [_BOARD_ID],
            "post": {"summary": "Import post-its from CSV or JSON, all or nothing",
                     "description": "CSV (UTF-8, with or without BOM; `;`, `,` or tab separated) with a header "
                                    "row: text/texte, zone/colonne (id or title), color/couleur, author/auteur, "
                                    "site, code. Or JSON: a list of objects with the same keys. At most 2 MiB.",
                     "requestBody": {"content": {"text/csv": {}, "application/json": {}}},
                     "responses": {"200": {"description": "{imported, ids}"}, "400": _ERROR, "404": _ERROR,
                                   "413": _ERROR}}},
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text"}}}},
    },
    "components": {"schemas": {
        "Error": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string"}, "problems": {"type": "array"}}},
        "BoardSummary": {"type": "object", "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "template": {"type": "string"},
            "updated": {"type": "string", "format": "date-time"}, "connected": {"type": "integer"}}},
        "NewBoard": {"type": "object", "properties": {
            "template": {"type": "string", "default": "libre"},
            "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
            "title": {"type": "string", "maxLength": 200},
            "locale": {"type": "string", "enum": ["fr", "en"], "default": "fr"}}},
    }},
}
