"""Tiny HTTP helpers for the CLI (standard library only): JSON in, JSON out, errors explained."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class ServerError(RuntimeError):
    pass


def _call(request: urllib.request.Request) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["error"]
        except (ValueError, KeyError, TypeError):
            message = exc.reason
        raise ServerError(f"{exc.code}: {message}") from None
    except urllib.error.URLError as exc:
        raise ServerError(f"cannot reach the server: {exc.reason}") from None


def get_json(url: str) -> Any:
    return _call(urllib.request.Request(url, headers={"Accept": "application/json"}))


def post_json(url: str, body: Any) -> Any:
    data = json.dumps(body).encode()
    return _call(urllib.request.Request(url, data=data, method="POST",
                                        headers={"Content-Type": "application/json"}))
