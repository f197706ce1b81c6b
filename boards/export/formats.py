"""Every snapshot format by its file extension: one table the HTTP API and the CLI share."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from boards.model import BoardSnapshot
from boards.reader import read_board_json
from boards.render import render_pdf, render_png, render_svg

from .csv import export_csv
from .graph import export_dot, export_graph_json, export_mermaid
from .markdown import export_markdown

MIN_SCALE = 0.1
MAX_SCALE = 4.0


@dataclass(frozen=True, slots=True)
class Format:
    media_type: str
    render: Callable[[BoardSnapshot, str | None, float | None], bytes]
    visual: bool  # accepts zone and scale


def _json(snapshot: BoardSnapshot) -> bytes:
    return json.dumps(read_board_json(snapshot), ensure_ascii=False, indent=1).encode()


def _text(text: str) -> bytes:
    return text.encode()


FORMATS: dict[str, Format] = {
    "png": Format("image/png", lambda s, z, k: render_png(s, zone=z, scale=k or 1.0), True),
    "webp": Format("image/webp", lambda s, z, k: render_png(s, zone=z, scale=k or 1.0, fmt="webp"), True),
    "jpeg": Format("image/jpeg", lambda s, z, k: render_png(s, zone=z, scale=k or 1.0, fmt="jpeg"), True),
    "svg": Format("image/svg+xml", lambda s, z, k: render_svg(s, zone=z, scale=k or 1.0), True),
    "pdf": Format("application/pdf", lambda s, z, k: render_pdf(s, zone=z, scale=k or 1.5), True),
    "json": Format("application/json", lambda s, z, k: _json(s), False),
    "csv": Format("text/csv; charset=utf-8", lambda s, z, k: export_csv(s), False),
    "md": Format("text/markdown; charset=utf-8", lambda s, z, k: _text(export_markdown(s)), False),
    "mmd": Format("text/vnd.mermaid; charset=utf-8", lambda s, z, k: _text(export_mermaid(s)), False),
    "dot": Format("text/vnd.graphviz; charset=utf-8", lambda s, z, k: _text(export_dot(s)), False),
    "graph.json": Format("application/json",
                         lambda s, z, k: json.dumps(export_graph_json(s), ensure_ascii=False).encode(), False),
}


def check_scale(scale: float) -> float:
    if not (MIN_SCALE <= scale <= MAX_SCALE):
        raise ValueError(f"scale must be between {MIN_SCALE} and {MAX_SCALE}")
    return scale


def export(snapshot: BoardSnapshot, fmt: str, *, zone: str | None = None, scale: float | None = None) -> bytes:
    """The snapshot in format `fmt` (a key of FORMATS). ValueError (incl. UnknownZone) for bad options."""
    spec = FORMATS.get(fmt)
    if spec is None:
        raise ValueError(f"unknown format {fmt!r}; one of: {', '.join(FORMATS)}")
    if scale is not None:
        check_scale(scale)
    return spec.render(snapshot, zone, scale)
