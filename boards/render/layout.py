"""The board laid out as a flat list of drawing primitives in board units, shared by PNG and SVG.

`build_scene(snapshot, zone=None)` decides everything that is not pixels: which elements are
drawn, in which order, where text wraps and where it is cut with "…", the auto-fit bounds with
their margin. The PNG and SVG writers only map these primitives to pixels or to XML.

`output_scale(bounds, scale, max_size)` decides the pixel size: there is no canvas-size cap on
the *board* (everything is always drawn, nothing is cut off), but the *output* is bounded to
MAX_PIXELS: a board too large for the requested scale is drawn at a smaller scale. A caller who
needs full detail of a huge board renders it in tiles (`png.render_tiles`) or zone by zone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from boards.model import FUNCTIONS, Actor, BoardSnapshot, Note

from . import fonts

# ----------------------------------------------------------------------------- limits and style

MARGIN = 40.0
MAX_PIXELS = 36_000_000  # one output image (6000 × 6000): ~108 MB as RGB
MAX_SCALE = 8.0
MAX_NOTE_CHARS = 600  # text drawn per note before "…" (the exports keep the full text)
MAX_TITLE_CHARS = 200
MAX_COORD = 1e7  # |x|, |y| beyond this (or not finite): the element is not drawn
ELLIPSIS = "…"

BACKGROUND = "#ffffff"
INK = "#212121"
MUTED = "#555555"
NOTE_PAD = 8.0
NOTE_TEXT = 14.0
NOTE_LINE = 18.0
FOOTER_TEXT = 11.0
ZONE_TITLE = 18.0
GROUP_TITLE = 13.0
GROUP_PAD = 10.0
ACTOR_W = 190.0
ACTOR_PAD = 8.0
BADGE_TEXT = 10.0
BADGE_H = 16.0
HEADER_TEXT = 24.0
VOTE_R = 4.0
MAX_VOTE_DOTS = 5

FUNCTION_COLORS = {
    "decision": "#c62828",
    "animation": "#2e7d32",
    "programmation": "#1565c0",
    "mise-en-oeuvre": "#ef6c00",
}
LABELS = {
    "fr": {
        "decision": "décision", "animation": "animation", "programmation": "programmation",
        "mise-en-oeuvre": "mise en œuvre", "empty": "Tableau vide",
    },
    "en": {
        "decision": "decision", "animation": "facilitation", "programmation": "programming",
        "mise-en-oeuvre": "implementation", "empty": "Empty board",
    },
}

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def labels(locale: str) -> dict[str, str]:
    """French labels unless the board's locale is English."""
    return LABELS["en" if locale == "en" else "fr"]


# ----------------------------------------------------------------------------- primitives


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str | None = None
    outline: str | None = None
    width: float = 1.0
    radius: float = 0.0


@dataclass(frozen=True, slots=True)
class Circle:
    cx: float
    cy: float
    r: float
    fill: str


@dataclass(frozen=True, slots=True)
class Polyline:
    points: tuple[float, ...]  # flat x0, y0, x1, y1, …
    color: str
    width: float


@dataclass(frozen=True, slots=True)
class Polygon:
    points: tuple[float, ...]
    fill: str


@dataclass(frozen=True, slots=True)
class Text:
    """Lines already wrapped; (x, y) is the top-left of the first line."""

    x: float
    y: float
    lines: tuple[str, ...]
    size: float
    color: str = INK
    bold: bool = False
    line_height: float = 0.0  # 0: 1.25 × size

    @property
    def step(self) -> float:
        return self.line_height or self.size * 1.25


Item = Rect | Circle | Polyline | Polygon | Text


@dataclass(slots=True)
class Scene:
    x0: float
    y0: float
    x1: float
    y1: float
    items: list[Item] = field(default_factory=list)
    background: str = BACKGROUND
    title: str = ""

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


class UnknownZone(ValueError):
    """The zone asked for a crop is not on the board."""


# ----------------------------------------------------------------------------- helpers


def color(value: str, default: str) -> str:
    return value.lower() if isinstance(value, str) and _COLOR.match(value) else default


def text_color_on(background: str) -> str:
    """Dark ink on light colours, white on dark ones (relative luminance)."""
    r, g, b = (int(background[i:i + 2], 16) for i in (1, 3, 5))
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


def darker(value: str, factor: float = 0.6) -> str:
    r, g, b = (int(int(value[i:i + 2], 16) * factor) for i in (1, 3, 5))
    return f"#{r:02x}{g:02x}{b:02x}"


def finite(*values: float) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) and abs(v) <= MAX_COORD for v in values)


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


class Measurer:
    """Text widths in board units, memoised for one layout (not shared between threads)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, float, bool], float] = {}

    def __call__(self, text: str, size: float, bold: bool = False) -> float:
        key = (text, size, bold)
        width = self._cache.get(key)
        if width is None:
            # measured at 4× then scaled down: hinting at small sizes would skew the widths
            width = fonts.text_width(text, size * 4, bold) / 4
            self._cache[key] = width
        return width


def wrap(text: str, width: float, size: float, measure: Callable[..., float], *,
         max_lines: int, bold: bool = False) -> tuple[str, ...]:
    """Greedy word wrap to `width`; a word longer than a line is cut; beyond `max_lines` the
    last line ends with "…"."""
    if max_lines <= 0:
        return ()
    lines: list[str] = []
    truncated = False
    space = measure(" ", size, bold)
    for paragraph in text.split("\n"):
        line, line_w = "", 0.0
        for word in paragraph.split(" "):
            # a line's width is the sum of its words' and spaces' (each word measured once)
            word_w = measure(word, size, bold)
            if not line or line_w + space + word_w <= width:
                line, line_w = (f"{line} {word}", line_w + space + word_w) if line else (word, word_w)
                if line_w <= width:
                    continue
            else:
                lines.append(line)
                line, line_w = word, word_w
            while line and line_w > width:  # a word wider than the box
                cut = _fit_prefix(line, width, size, measure, bold)
                lines.append(line[:cut])
                line = line[cut:]
                line_w = measure(line, size, bold)
            if len(lines) > max_lines:
                break
        lines.append(line)
        if len(lines) > max_lines:
            truncated = True
            break
    if len(lines) > max_lines:
        truncated = True
    lines = lines[:max_lines]
    if truncated and lines:
        lines[-1] = ellipsize(lines[-1] + ELLIPSIS, width, size, measure, bold)
    return tuple(lines)


def _fit_prefix(word: str, width: float, size: float, measure: Callable[..., float], bold: bool) -> int:
    """Longest prefix length of `word` that fits (at least one character)."""
    low, high = 1, len(word)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(word[:mid], size, bold) <= width:
            low = mid
        else:
            high = mid - 1
    return low


def ellipsize(text: str, width: float, size: float, measure: Callable[..., float], bold: bool = False) -> str:
    """`text` on one line, cut with "…" if it is wider than `width`."""
    if measure(text, size, bold) <= width:
        return text
    base = text.removesuffix(ELLIPSIS)
    cut = _fit_prefix(base + ELLIPSIS, width, size, measure, bold)
    return base[:max(0, cut - 1)].rstrip() + ELLIPSIS


def clip_text(text: str, limit: int) -> str:
    text = fonts.clean_text(text)
    return text if len(text) <= limit else text[:limit].rstrip() + ELLIPSIS


# ----------------------------------------------------------------------------- the scene


def build_scene(snapshot: BoardSnapshot, zone: str | None = None) -> Scene:
    """Lay out the whole board, or only `zone` (its rectangle and its notes) when given."""
    measure = Measurer()
    box = _Bounds()
    items: list[Item] = []
    zones = [z for z in snapshot.zones if finite(z.x, z.y, z.w, z.h) and z.w > 0 and z.h > 0]
    notes = [n for n in snapshot.notes if finite(n.x, n.y) and all(map(math.isfinite, (n.w, n.h)))]
    if zone is not None:
        if zone not in {z.id for z in snapshot.zones}:
            raise UnknownZone(zone)
        zones = [z for z in zones if z.id == zone]
        notes = [n for n in notes if n.zone == zone or _inside(n, zones)]

    for z in zones:
        items.extend(_zone_items(z, measure))
        box.add(z.x, z.y, z.x + z.w, z.y + z.h)
    group_items = _group_items(snapshot, notes, measure)
    items.extend(group_items)
    for item in group_items:
        if isinstance(item, Rect):
            box.add(item.x, item.y - GROUP_TITLE * 1.6, item.x + item.w, item.y + item.h)
    for note in notes:
        items.extend(_note_items(note, measure))
        box.add(note.x, note.y, note.x + _note_w(note), note.y + _note_h(note))
    if zone is None:
        items.extend(_stroke_items(snapshot, box))
        items.extend(_governance_items(snapshot, measure, box))

    if box.empty:
        text = labels(snapshot.meta.locale)["empty"]
        items.append(Text(0, 0, (text,), HEADER_TEXT, MUTED))
        box.add(0, 0, max(240.0, measure(text, HEADER_TEXT)), HEADER_TEXT * 1.5)
    title = clip_text(snapshot.meta.title, MAX_TITLE_CHARS)
    if title and zone is None:
        width = max(box.x1 - box.x0, 400.0)
        line = ellipsize(title, width, HEADER_TEXT, measure, True)
        items.insert(0, Text(box.x0, box.y0 - HEADER_TEXT * 2, (line,), HEADER_TEXT, INK, True))
        box.add(box.x0, box.y0 - HEADER_TEXT * 2, box.x0, box.y0)
    return Scene(box.x0 - MARGIN, box.y0 - MARGIN, box.x1 + MARGIN, box.y1 + MARGIN, items, title=title)


class _Bounds:
    def __init__(self) -> None:
        self.x0 = self.y0 = math.inf
        self.x1 = self.y1 = -math.inf

    @property
    def empty(self) -> bool:
        return self.x0 == math.inf

    def add(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.x0, self.y0 = min(self.x0, x0), min(self.y0, y0)
        self.x1, self.y1 = max(self.x1, x1), max(self.y1, y1)


def _inside(note: Note, zones: list) -> bool:
    cx, cy = note.x + _note_w(note) / 2, note.y + _note_h(note) / 2
    return any(z.x <= cx <= z.x + z.w and z.y <= cy <= z.y + z.h for z in zones)


def _note_w(note: Note) -> float:
    return clamp(note.w, 40.0, 2000.0)


def _note_h(note: Note) -> float:
    return clamp(note.h, 30.0, 2000.0)


def _zone_items(z, measure: Measurer) -> list[Item]:
    fill = color(z.color, "#f5f5f5")
    items: list[Item] = [Rect(z.x, z.y, z.w, z.h, fill, darker(fill, 0.8), 1.5, 6.0)]
    title = clip_text(z.title, MAX_TITLE_CHARS)
    if title:
        line = ellipsize(title, max(z.w - 20, 10), ZONE_TITLE, measure, True)
        items.append(Text(z.x + 10, z.y + 8, (line,), ZONE_TITLE, text_color_on(fill), True))
    return items


def _note_items(note: Note, measure: Measurer) -> list[Item]:
    w, h = _note_w(note), _note_h(note)
    fill = color(note.color, "#fff59d")
    ink = text_color_on(fill)
    items: list[Item] = [Rect(note.x, note.y, w, h, fill, darker(fill, 0.75), 1.0)]
    footer = " · ".join(p for p in (clip_text(note.author, 80), clip_text(note.site, 80)) if p)
    has_footer = bool(footer or note.votes) and h >= 50
    text_h = h - 2 * NOTE_PAD - (FOOTER_TEXT * 1.5 if has_footer else 0)
    max_lines = max(1, int(text_h // NOTE_LINE))
    lines = wrap(clip_text(note.text, MAX_NOTE_CHARS), w - 2 * NOTE_PAD, NOTE_TEXT, measure, max_lines=max_lines)
    if lines:
        items.append(Text(note.x + NOTE_PAD, note.y + NOTE_PAD, lines, NOTE_TEXT, ink, line_height=NOTE_LINE))
    if has_footer:
        items.extend(_note_footer(note, footer, w, h, ink, measure))
    return items


def _note_footer(note: Note, footer: str, w: float, h: float, ink: str, measure: Measurer) -> list[Item]:
    """Author · site on the left, vote dots (and their count beyond MAX_VOTE_DOTS) on the right."""
    items: list[Item] = []
    y = note.y + h - NOTE_PAD - FOOTER_TEXT * 1.2
    dots = min(max(note.votes, 0), MAX_VOTE_DOTS)
    votes_w = dots * (2 * VOTE_R + 3)
    right = note.x + w - NOTE_PAD
    if note.votes > MAX_VOTE_DOTS:
        count = str(note.votes)
        count_w = measure(count, FOOTER_TEXT, True)
        items.append(Text(right - count_w, y, (count,), FOOTER_TEXT, ink, True))
        right -= count_w + 3
    for i in range(dots):
        cx = right - VOTE_R - i * (2 * VOTE_R + 3)
        items.append(Circle(cx, y + FOOTER_TEXT * 0.6, VOTE_R, "#d81b60"))
    if footer:
        avail = w - 2 * NOTE_PAD - votes_w - 6
        if avail > 10:
            line = ellipsize(footer, avail, FOOTER_TEXT, measure)
            items.append(Text(note.x + NOTE_PAD, y, (line,), FOOTER_TEXT, MUTED if ink == INK else ink))
    return items


def _group_items(snapshot: BoardSnapshot, notes: list[Note], measure: Measurer) -> list[Item]:
    """Each group with notes: its notes' bounding box outlined, its title above."""
    members: dict[str, list[Note]] = {}
    for note in notes:
        if note.group:
            members.setdefault(note.group, []).append(note)
    items: list[Item] = []
    for group in snapshot.groups:
        group_notes = members.get(group.id)
        if not group_notes:
            continue
        x0 = min(n.x for n in group_notes) - GROUP_PAD
        y0 = min(n.y for n in group_notes) - GROUP_PAD
        x1 = max(n.x + _note_w(n) for n in group_notes) + GROUP_PAD
        y1 = max(n.y + _note_h(n) for n in group_notes) + GROUP_PAD
        stroke = color(group.color, "#90caf9")
        items.append(Rect(x0, y0, x1 - x0, y1 - y0, None, stroke, 3.0, 8.0))
        title = clip_text(group.title, MAX_TITLE_CHARS)
        if title:
            line = ellipsize(title, max(x1 - x0, 60), GROUP_TITLE, measure, True)
            items.append(Text(x0, y0 - GROUP_TITLE * 1.5, (line,), GROUP_TITLE, darker(stroke, 0.55), True))
    return items


def _stroke_items(snapshot: BoardSnapshot, box: _Bounds) -> list[Item]:
    items: list[Item] = []
    for stroke in snapshot.strokes:
        pts = stroke.points[: len(stroke.points) // 2 * 2]
        if len(pts) < 4 or not finite(*pts):
            continue
        width = clamp(stroke.width if finite(stroke.width) else 2.0, 0.5, 50.0)
        items.append(Polyline(tuple(pts), color(stroke.color, "#333333"), width))
        box.add(min(pts[0::2]), min(pts[1::2]), max(pts[0::2]), max(pts[1::2]))
    return items


# ----------------------------------------------------------------------------- governance


@dataclass(frozen=True, slots=True)
class _Card:
    x: float
    y: float
    w: float
    h: float

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


def _governance_items(snapshot: BoardSnapshot, measure: Measurer, box: _Bounds) -> list[Item]:
    """Links first (under the cards), then actor cards with their function badges.
    An actor's (x, y) is the top-left corner of its card, like notes and zones."""
    names = labels(snapshot.meta.locale)
    cards: dict[str, tuple[Actor, _Card, list[Item]]] = {}
    for actor in snapshot.actors:
        if finite(actor.x, actor.y):
            card, card_items = _actor_card(actor, names, measure)
            cards[actor.id] = (actor, card, card_items)
            box.add(card.x, card.y, card.x + card.w, card.y + card.h)
    items: list[Item] = []
    for link in snapshot.links:
        if link.source in cards and link.target in cards and link.source != link.target:
            items.extend(_link_items(link, cards[link.source][1], cards[link.target][1], measure))
    for _actor, _card, card_items in cards.values():
        items.extend(card_items)
    return items


def _actor_card(actor: Actor, names: dict[str, str], measure: Measurer) -> tuple[_Card, list[Item]]:
    inner = ACTOR_W - 2 * ACTOR_PAD
    label = wrap(clip_text(actor.label, MAX_TITLE_CHARS) or "?", inner, 14.0, measure, max_lines=2, bold=True)
    where = actor.site + (f" ({actor.country})" if actor.country else "")
    sub = " · ".join(p for p in (clip_text(actor.kind, 60), clip_text(where, 80)) if p)
    y = actor.y + ACTOR_PAD
    texts: list[Item] = [Text(actor.x + ACTOR_PAD, y, label, 14.0, INK, True, 17.0)]
    y += 17.0 * len(label)
    if sub:
        texts.append(Text(actor.x + ACTOR_PAD, y + 2, (ellipsize(sub, inner, 11.0, measure),), 11.0, MUTED))
        y += 16.0
    badges, y = _badges(actor, names, actor.x + ACTOR_PAD, y + 4, inner, measure)
    card = _Card(actor.x, actor.y, ACTOR_W, y - actor.y + ACTOR_PAD)
    frame = Rect(card.x, card.y, card.w, card.h, "#ffffff", "#455a64", 2.0, 8.0)
    return card, [frame, *texts, *badges]


def _badges(actor: Actor, names: dict[str, str], x0: float, y: float, inner: float,
            measure: Measurer) -> tuple[list[Item], float]:
    """One coloured pill per function, wrapping onto further rows; returns (items, bottom y)."""
    items: list[Item] = []
    x = x0
    functions = [f for f in FUNCTIONS if f in actor.functions]
    for function in functions:
        label = names[function]
        w = measure(label, BADGE_TEXT, True) + 10
        if x > x0 and x + w > x0 + inner:
            x, y = x0, y + BADGE_H + 4
        items.append(Rect(x, y, w, BADGE_H, FUNCTION_COLORS[function], None, 0, BADGE_H / 2))
        items.append(Text(x + 5, y + 2, (label,), BADGE_TEXT, "#ffffff", True))
        x += w + 4
    return items, (y + BADGE_H if functions else y)


def _link_items(link, a: _Card, b: _Card, measure: Measurer) -> list[Item]:
    (ax, ay), (bx, by) = a.center, b.center
    sx, sy = _border_point(a, bx, by)
    tx, ty = _border_point(b, ax, ay)
    items: list[Item] = [Polyline((sx, sy, tx, ty), "#37474f", 2.0)]
    if link.directed:
        items.append(Polygon(_arrow_head(sx, sy, tx, ty), "#37474f"))
    label = clip_text(link.label, 80)
    if label:
        line = ellipsize(label, 160, 11.0, measure)
        w = measure(line, 11.0) + 8
        mx, my = (sx + tx) / 2, (sy + ty) / 2
        items.append(Rect(mx - w / 2, my - 9, w, 18, "#ffffff", "#b0bec5", 1.0, 4.0))
        items.append(Text(mx - w / 2 + 4, my - 7, (line,), 11.0, INK))
    return items


def _border_point(card: _Card, towards_x: float, towards_y: float) -> tuple[float, float]:
    """Where the segment from the card's centre towards a point leaves the card."""
    cx, cy = card.center
    dx, dy = towards_x - cx, towards_y - cy
    if dx == 0 and dy == 0:
        return cx, cy
    t = min(card.w / 2 / abs(dx) if dx else math.inf, card.h / 2 / abs(dy) if dy else math.inf)
    t = min(t, 1.0)
    return cx + dx * t, cy + dy * t


def _arrow_head(sx: float, sy: float, tx: float, ty: float, size: float = 12.0) -> tuple[float, ...]:
    angle = math.atan2(ty - sy, tx - sx)
    left = (tx - size * math.cos(angle - 0.45), ty - size * math.sin(angle - 0.45))
    right = (tx - size * math.cos(angle + 0.45), ty - size * math.sin(angle + 0.45))
    return (tx, ty, *left, *right)


# ----------------------------------------------------------------------------- output size


def output_scale(scene: Scene, scale: float = 1.0, max_size: int | None = None,
                 max_pixels: int = MAX_PIXELS) -> float:
    """The scale actually used: `scale`, reduced so the longest side fits `max_size` and the
    image fits `max_pixels`. Raises ValueError for a scale that is not a positive number."""
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and 0 < scale <= MAX_SCALE):
        raise ValueError(f"scale must be a number in (0, {MAX_SCALE}]")
    if max_size is not None and (not isinstance(max_size, int) or max_size < 16):
        raise ValueError("max_size must be an integer ≥ 16")
    w, h = max(scene.width, 1.0), max(scene.height, 1.0)
    if max_size is not None:
        scale = min(scale, max_size / max(w, h))
    scale = min(scale, math.sqrt(max_pixels / (w * h)))
    while pixel_size(scene, scale)[0] * pixel_size(scene, scale)[1] > max_pixels:
        scale *= 0.999  # pixel_size rounds up: at most a few steps
    return scale


def pixel_size(scene: Scene, scale: float) -> tuple[int, int]:
    # - 1e-6: a float product a hair above an integer must not add a pixel row
    return max(1, math.ceil(scene.width * scale - 1e-6)), max(1, math.ceil(scene.height * scale - 1e-6))
