"""Raster rendering with Pillow: PNG, WebP and JPEG, of the whole board, one zone, or tiles."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageDraw

from boards.model import BoardSnapshot

from . import fonts
from .layout import Circle, Polygon, Polyline, Rect, Scene, Text, build_scene, output_scale, pixel_size
from .pngwrite import encode_png

FORMATS = {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG", "jpg": "JPEG"}
TILE = 2048
#: The phone share (WhatsApp over a Malian 3G link): a 200-note board comes out ≈ 270 KB.
SHARE_MAX_SIZE = 1600
SHARE_QUALITY = 70


def render_image(snapshot: BoardSnapshot, *, zone: str | None = None, scale: float = 1.0,
                 max_size: int | None = None) -> Image.Image:
    """The board (or one zone) as an RGB image, auto-fitted with a margin.

    Raises `layout.UnknownZone` for an unknown zone and ValueError for a bad scale/max_size.
    """
    scene = build_scene(snapshot, zone)
    used = output_scale(scene, scale, max_size)
    return draw_scene(scene, used, (scene.x0, scene.y0), pixel_size(scene, used))


def render_png(snapshot: BoardSnapshot, *, zone: str | None = None, scale: float = 1.0,
               max_size: int | None = None, fmt: str = "png", quality: int = 80) -> bytes:
    """Encoded image bytes; `fmt` is png, webp or jpeg (`quality` for the lossy two)."""
    image = render_image(snapshot, zone=zone, scale=scale, max_size=max_size)
    return encode(image, fmt, quality)


def encode(image: Image.Image, fmt: str = "png", quality: int = 80) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r} (png, webp, jpeg)")
    out = BytesIO()
    if FORMATS[fmt] == "PNG":
        return encode_png(image)  # unfiltered rows deflated on two threads: see pngwrite.py
    elif FORMATS[fmt] == "WEBP":
        image.save(out, "WEBP", quality=quality, method=2)
    else:
        image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def render_share(snapshot: BoardSnapshot, *, zone: str | None = None) -> bytes:
    """A small WebP for messaging apps: longest side SHARE_MAX_SIZE px, quality SHARE_QUALITY."""
    return render_png(snapshot, zone=zone, max_size=SHARE_MAX_SIZE, fmt="webp", quality=SHARE_QUALITY)


@dataclass(frozen=True, slots=True)
class Tile:
    column: int
    row: int
    left: int  # pixel offset of this tile in the full picture
    top: int
    data: bytes


def render_tiles(snapshot: BoardSnapshot, *, zone: str | None = None, scale: float = 1.0,
                 tile: int = TILE, fmt: str = "png") -> Iterator[Tile]:
    """The full-scale picture of a board of any size, as tiles of at most `tile`² pixels.

    Memory stays bounded by one tile whatever the board's size: this is how a board larger
    than `layout.MAX_PIXELS` at the wanted scale is rendered without losing detail.
    """
    scene = build_scene(snapshot, zone)
    used = output_scale(scene, scale, max_pixels=2**62)
    width, height = pixel_size(scene, used)
    for row in range(math.ceil(height / tile)):
        for column in range(math.ceil(width / tile)):
            left, top = column * tile, row * tile
            size = (min(tile, width - left), min(tile, height - top))
            origin = (scene.x0 + left / used, scene.y0 + top / used)
            image = draw_scene(scene, used, origin, size)
            yield Tile(column, row, left, top, encode(image, fmt))


def draw_scene(scene: Scene, scale: float, origin: tuple[float, float], size: tuple[int, int]) -> Image.Image:
    """Draw the scene's primitives that fall inside the `size` window whose top-left is the
    board point `origin`."""
    image = Image.new("RGB", size, scene.background)
    painter = _Painter(ImageDraw.Draw(image), scale, origin, size)
    for item in scene.items:
        painter.draw(item)
    return image


class _Painter:
    def __init__(self, draw: ImageDraw.ImageDraw, scale: float, origin: tuple[float, float],
                 size: tuple[int, int]) -> None:
        self.d, self.s = draw, scale
        self.ox, self.oy = origin
        self.view = (origin[0], origin[1], origin[0] + size[0] / scale, origin[1] + size[1] / scale)

    def px(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.ox) * self.s, (y - self.oy) * self.s

    def visible(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        vx0, vy0, vx1, vy1 = self.view
        return x1 >= vx0 and x0 <= vx1 and y1 >= vy0 and y0 <= vy1

    def draw(self, item) -> None:
        if isinstance(item, Rect):
            self.rect(item)
        elif isinstance(item, Text):
            self.text(item)
        elif isinstance(item, Circle):
            if self.visible(item.cx - item.r, item.cy - item.r, item.cx + item.r, item.cy + item.r):
                x, y = self.px(item.cx, item.cy)
                r = max(item.r * self.s, 1.0)
                self.d.ellipse((x - r, y - r, x + r, y + r), fill=item.fill)
        elif isinstance(item, Polyline):
            if self.visible(min(item.points[0::2]), min(item.points[1::2]),
                            max(item.points[0::2]), max(item.points[1::2])):
                pts = [self.px(x, y) for x, y in zip(item.points[0::2], item.points[1::2])]
                self.d.line(pts, fill=item.color, width=max(1, round(item.width * self.s)), joint="curve")
        elif isinstance(item, Polygon):
            self.d.polygon([self.px(x, y) for x, y in zip(item.points[0::2], item.points[1::2])], fill=item.fill)

    def rect(self, r: Rect) -> None:
        if not self.visible(r.x, r.y, r.x + r.w, r.y + r.h):
            return
        x0, y0 = self.px(r.x, r.y)
        x1, y1 = self.px(r.x + r.w, r.y + r.h)
        if x1 - x0 < 1 or y1 - y0 < 1:
            self.d.point((x0, y0), fill=r.fill or r.outline)
            return
        width = max(1, round(r.width * self.s)) if r.outline else 0
        radius = r.radius * self.s
        if radius >= 2:
            self.d.rounded_rectangle((x0, y0, x1, y1), radius, fill=r.fill, outline=r.outline, width=width)
        else:
            self.d.rectangle((x0, y0, x1, y1), fill=r.fill, outline=r.outline, width=width)

    def text(self, t: Text) -> None:
        size = t.size * self.s
        if size < 3:  # unreadable anyway: a grey bar per line keeps the picture honest and fast
            for i, line in enumerate(t.lines):
                if line:
                    x, y = self.px(t.x, t.y + i * t.step + t.size * 0.3)
                    self.d.line((x, y, x + len(line) * size * 0.5, y), fill="#9e9e9e")
            return
        bottom = t.y + len(t.lines) * t.step
        if not self.visible(t.x, t.y, t.x + 4000, bottom):
            return
        for i, line in enumerate(t.lines):
            if line:
                fonts.draw_line(self.d, self.px(t.x, t.y + i * t.step), line, size, t.color, t.bold)
