"""SVG rendering: the same scene as the PNG, as vector shapes and selectable <text>.

Coordinates stay in board units (the viewBox); `scale` only sets the width/height attributes.
Text is laid out (wrapped, cut) by `layout`, so lines match the PNG; the viewer picks fonts
from the font-family list, in logical order (it does its own bidi for N'Ko).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from boards.model import BoardSnapshot

from .layout import Circle, Polygon, Polyline, Rect, Scene, Text, build_scene, pixel_size

FONT_FAMILY = "'DejaVu Sans', 'Noto Sans', 'Noto Sans NKo', Verdana, sans-serif"


def render_svg(snapshot: BoardSnapshot, *, zone: str | None = None, scale: float = 1.0) -> bytes:
    """UTF-8 SVG document of the board or of one zone (raises `layout.UnknownZone`)."""
    if not (isinstance(scale, (int, float)) and 0 < scale <= 64):
        raise ValueError("scale must be a number in (0, 64]")
    scene = build_scene(snapshot, zone)
    return scene_to_svg(scene, scale).encode("utf-8")


def scene_to_svg(scene: Scene, scale: float = 1.0) -> str:
    width, height = pixel_size(scene, scale)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="{_n(scene.x0)} {_n(scene.y0)} {_n(scene.width)} {_n(scene.height)}" '
        f'font-family="{FONT_FAMILY}">\n',
    ]
    if scene.title:
        parts.append(f"<title>{escape(scene.title)}</title>\n")
    parts.append(f'<rect x="{_n(scene.x0)}" y="{_n(scene.y0)}" width="{_n(scene.width)}" '
                 f'height="{_n(scene.height)}" fill="{scene.background}"/>\n')
    parts.extend(_element(item) for item in scene.items)
    parts.append("</svg>\n")
    return "".join(parts)


def _n(value: float) -> str:
    """Compact number: at most 2 decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _points(flat: tuple[float, ...]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in zip(flat[0::2], flat[1::2]))


def _element(item) -> str:
    if isinstance(item, Rect):
        fill = item.fill or "none"
        stroke = f' stroke="{item.outline}" stroke-width="{_n(item.width)}"' if item.outline else ""
        radius = f' rx="{_n(item.radius)}"' if item.radius else ""
        return (f'<rect x="{_n(item.x)}" y="{_n(item.y)}" width="{_n(item.w)}" height="{_n(item.h)}"'
                f'{radius} fill="{fill}"{stroke}/>\n')
    if isinstance(item, Circle):
        return f'<circle cx="{_n(item.cx)}" cy="{_n(item.cy)}" r="{_n(item.r)}" fill="{item.fill}"/>\n'
    if isinstance(item, Polyline):
        return (f'<polyline points="{_points(item.points)}" fill="none" stroke="{item.color}" '
                f'stroke-width="{_n(item.width)}" stroke-linecap="round" stroke-linejoin="round"/>\n')
    if isinstance(item, Polygon):
        return f'<polygon points="{_points(item.points)}" fill="{item.fill}"/>\n'
    if isinstance(item, Text):
        return _text(item)
    return ""


def _text(t: Text) -> str:
    """One <text>, one <tspan> per wrapped line; y is the baseline (≈ 0.95 × size below the top,
    as Pillow's ascender-anchored drawing)."""
    weight = ' font-weight="bold"' if t.bold else ""
    spans = "".join(
        f'<tspan x="{_n(t.x)}" y="{_n(t.y + i * t.step + t.size * 0.95)}">{_xml_text(line)}</tspan>'
        for i, line in enumerate(t.lines)
    )
    return f'<text font-size="{_n(t.size)}" fill="{t.color}"{weight} xml:space="preserve">{spans}</text>\n'


def _xml_text(text: str) -> str:
    """Escaped, minus characters XML 1.0 forbids (the layout already dropped most controls)."""
    cleaned = "".join(ch for ch in text if ch in "\t\n\r" or (" " <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd")
                      or ch >= "\U00010000")
    return escape(cleaned)


__all__ = ["render_svg", "scene_to_svg"]
