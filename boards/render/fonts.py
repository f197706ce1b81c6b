"""Fonts shipped with the package, glyph coverage, and per-run font fallback.

Pillow's basic layout draws one font per call and shows an empty box (.notdef) for any
character the font lacks, so text is split into *runs*, each drawn with the first font of the
chain whose cmap has every character of the run. Coverage is read from the font's own `cmap`
table (a tiny reader below: fontTools is not a dependency), so it is exact, not guessed from
rendered pixels.

Thread safety: the font files and their coverage sets are immutable and shared; Pillow
`FreeTypeFont` objects (one FreeType face each, not safe to share between threads) are cached
per thread.
"""

from __future__ import annotations

import struct
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

FONT_DIR = Path(__file__).with_name("fonts")
#: libraqm present: runs with marks or right-to-left text are shaped properly (else: fallbacks).
SHAPING: bool = bool(features.check("raqm"))

#: Fallback chains, in order of preference: DejaVu Sans (French and Bambara letters, combining
#: tone marks, symbols, arrows, Greek, Cyrillic, some emoji), then N'Ko, then DejaVu regular
#: for the few glyphs only the regular face has.
CHAINS: dict[bool, tuple[str, ...]] = {
    False: ("DejaVuSans.ttf", "NotoSansNKo-Regular.ttf"),
    True: ("DejaVuSans-Bold.ttf", "NotoSansNKo-Regular.ttf", "DejaVuSans.ttf"),
}
#: Code point ranges drawn with their own font first, even where DejaVu has a glyph (DejaVu's
#: N'Ko is unshaped and drawn left-to-right).
SCRIPT_FONTS: dict[tuple[int, int], str] = {(0x07C0, 0x07FF): "NotoSansNKo-Regular.ttf"}
#: Fonts whose runs are right-to-left (N'Ko); basic layout draws left-to-right, so they are
#: reversed (letters stay in their isolated forms: no joining without a shaping engine).
RTL_FONTS = frozenset({"NotoSansNKo-Regular.ttf"})
#: Drawn instead of a character no shipped font has (emoji, rare scripts): visible, never a box.
REPLACEMENT = "\ufffd"
#: Characters that never need a glyph (format controls are dropped before drawing).
_INVISIBLE_CATEGORIES = {"Cc", "Cf"}


@dataclass(frozen=True, slots=True)
class Run:
    """A piece of one line drawn with one font file, text in logical order."""

    font: str  # file name in FONT_DIR
    text: str

    @property
    def rtl(self) -> bool:
        return self.font in RTL_FONTS

    @property
    def needs_shaping(self) -> bool:
        """Right-to-left or carrying combining marks (tone marks on ɛ, ɔ...): basic layout
        would misplace them, so such runs go through libraqm when Pillow has it."""
        return self.rtl or any(unicodedata.combining(ch) for ch in self.text)


# ----------------------------------------------------------------------------- cmap reader


def read_cmap(data: bytes) -> frozenset[int]:
    """The set of code points a TrueType/OpenType font maps to a glyph (cmap formats 4 and 12)."""
    num_tables = struct.unpack_from(">H", data, 4)[0]
    cmap_offset = None
    for i in range(num_tables):
        tag, _checksum, offset, _length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        if tag == b"cmap":
            cmap_offset = offset
    if cmap_offset is None:
        return frozenset()
    _version, count = struct.unpack_from(">HH", data, cmap_offset)
    codepoints: set[int] = set()
    for i in range(count):
        platform, encoding, sub_offset = struct.unpack_from(">HHI", data, cmap_offset + 4 + 8 * i)
        if (platform, encoding) not in {(3, 1), (3, 10), (0, 3), (0, 4)}:
            continue
        start = cmap_offset + sub_offset
        fmt = struct.unpack_from(">H", data, start)[0]
        if fmt == 4:
            codepoints |= _read_format4(data, start)
        elif fmt == 12:
            codepoints |= _read_format12(data, start)
    return frozenset(codepoints)


def _read_format4(data: bytes, start: int) -> set[int]:
    seg_count = struct.unpack_from(">H", data, start + 6)[0] // 2
    ends = struct.unpack_from(f">{seg_count}H", data, start + 14)
    starts_at = start + 16 + 2 * seg_count
    starts = struct.unpack_from(f">{seg_count}H", data, starts_at)
    deltas = struct.unpack_from(f">{seg_count}h", data, starts_at + 2 * seg_count)
    range_offsets_at = starts_at + 4 * seg_count
    range_offsets = struct.unpack_from(f">{seg_count}H", data, range_offsets_at)
    result: set[int] = set()
    for seg in range(seg_count):
        for code in range(starts[seg], ends[seg] + 1):
            if code == 0xFFFF:
                continue
            if range_offsets[seg] == 0:
                glyph = (code + deltas[seg]) & 0xFFFF
            else:
                at = range_offsets_at + 2 * seg + range_offsets[seg] + 2 * (code - starts[seg])
                glyph = struct.unpack_from(">H", data, at)[0]
                glyph = (glyph + deltas[seg]) & 0xFFFF if glyph else 0
            if glyph:
                result.add(code)
    return result


def _read_format12(data: bytes, start: int) -> set[int]:
    n_groups = struct.unpack_from(">I", data, start + 12)[0]
    result: set[int] = set()
    for i in range(n_groups):
        first, last, glyph = struct.unpack_from(">III", data, start + 16 + 12 * i)
        result.update(range(first + (glyph == 0), last + 1))
    return result


# ----------------------------------------------------------------------------- shared, immutable


@cache
def font_bytes(name: str) -> bytes:
    return (FONT_DIR / name).read_bytes()


@cache
def coverage(name: str) -> frozenset[int]:
    """Code points the shipped font `name` has a glyph for."""
    return read_cmap(font_bytes(name))


# ----------------------------------------------------------------------------- per-thread fonts

_local = threading.local()


def get_font(name: str, size: float, shaped: bool = False) -> ImageFont.FreeTypeFont:
    """A Pillow font for `name` at `size` pixels (min 1), cached per thread.

    Basic layout by default: same result with or without libraqm, and several times faster;
    `shaped=True` asks for libraqm (only honoured when SHAPING is available).
    """
    shaped = shaped and SHAPING
    key = (name, max(1, round(size)), shaped)
    cache_ = _local.__dict__.setdefault("fonts", {})
    font = cache_.get(key)
    if font is None:
        if len(cache_) > 256:  # bounded: sizes vary with the scale
            cache_.clear()
        engine = ImageFont.Layout.RAQM if shaped else ImageFont.Layout.BASIC
        font = ImageFont.truetype(BytesIO(font_bytes(name)), key[1], layout_engine=engine)
        cache_[key] = font
    return font


# ----------------------------------------------------------------------------- text preparation


def clean_text(text: str) -> str:
    """NFC-normalise (precomposed à, é: better than a floating mark with basic layout) and drop
    control/format characters that would otherwise show as boxes (newlines are kept)."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) not in _INVISIBLE_CATEGORIES)


def font_for(ch: str, bold: bool = False) -> str | None:
    """The script's own font when it has `ch`, else the first font of the chain that has it."""
    cp = ord(ch)
    for (first, last), name in SCRIPT_FONTS.items():
        if first <= cp <= last and cp in coverage(name):
            return name
    for name in CHAINS[bold]:
        if cp in coverage(name):
            return name
    return None


def split_runs(text: str, bold: bool = False) -> list[Run]:
    """Split one line into runs of one font each. A combining mark stays with its base
    character's font when that font has it, so a tone mark sits on its letter. Characters no
    font has become REPLACEMENT. N'Ko runs (right-to-left) are reversed for display."""
    main = CHAINS[bold][0]
    main_cov = coverage(main)
    if all(ord(ch) in main_cov and not 0x07C0 <= ord(ch) <= 0x07FF for ch in text):
        return [Run(main, text)] if text else []
    runs: list[Run] = []
    current_font, current = "", []
    for ch in text:
        name = font_for(ch, bold)
        if name is None:
            ch, name = REPLACEMENT, font_for(REPLACEMENT, bold) or main
        if current and ord(ch) in coverage(current_font) and (
            unicodedata.combining(ch) or (ch == " " and current_font in RTL_FONTS)
        ):
            name = current_font  # a mark stays on its letter, a space inside an RTL phrase
        if name != current_font and current:
            runs.append(Run(current_font, "".join(current)))
            current = []
        current_font = name
        current.append(ch)
    if current:
        runs.append(Run(current_font, "".join(current)))
    merged: list[Run] = []
    for piece in (piece for run in runs for piece in _split_trailing_space(run, main)):
        if merged and merged[-1].font == piece.font:
            merged[-1] = Run(piece.font, merged[-1].text + piece.text)
        else:
            merged.append(piece)
    return merged


def _split_trailing_space(run: Run, main: str) -> list[Run]:
    """An RTL run must not carry a trailing space, or reversing would move it to the front."""
    stripped = run.text.rstrip(" ")
    if run.font not in RTL_FONTS or stripped == run.text:
        return [run]
    return [Run(run.font, stripped), Run(main, run.text[len(stripped):])]


def _reverse_clusters(text: str) -> str:
    """Visual order for a right-to-left run: reverse base characters, keep each base's marks
    after it (basic layout draws a zero-width mark over the glyph just before it)."""
    clusters: list[str] = []
    for ch in text:
        if clusters and unicodedata.combining(ch):
            clusters[-1] += ch
        else:
            clusters.append(ch)
    return "".join(reversed(clusters))


def _prepared(run: Run, size: float) -> tuple[ImageFont.FreeTypeFont, str, str | None]:
    """(font, text in drawing order, direction) for drawing or measuring one run."""
    if run.needs_shaping and SHAPING:
        return get_font(run.font, size, shaped=True), run.text, ("rtl" if run.rtl else "ltr")
    text = _reverse_clusters(run.text) if run.rtl else run.text
    return get_font(run.font, size), text, None


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in pixels of one line at `size`, summed over its font runs."""
    total = 0.0
    for run in split_runs(text, bold):
        font, shown, direction = _prepared(run, size)
        total += font.getlength(shown, direction=direction)
    return total


def draw_line(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: float,
              fill: str, bold: bool = False) -> None:
    """Draw one line (top-left at `xy`) run by run, each in the font that has its glyphs."""
    x, y = xy
    for run in split_runs(text, bold):
        font, shown, direction = _prepared(run, size)
        if direction is None and not run.rtl:
            x = _draw_words(draw, x, y, run.font, size, shown, fill)
        else:  # shaped or right-to-left: drawn whole, never cut into words
            draw.text((x, y), shown, font=font, fill=fill, direction=direction)
            x += font.getlength(shown, direction=direction)


# ----------------------------------------------------------------------------- word masks
#
# FreeType rasterises every glyph again on each `draw.text` (~4.5 µs a glyph): on a board most
# words come back often ("de", "la", "réseau", the site names), so each word is rasterised once
# per thread, font and size, and then stamped as a mask. Words are placed on whole pixels.

_MASK_BUDGET = 32 * 1024 * 1024  # bytes of cached masks per thread


@dataclass(frozen=True, slots=True)
class _WordMask:
    mask: object  # Pillow's internal mask (ImagingCore), None for a word with no ink
    left: int
    top: int
    advance: float


def _word_mask(name: str, size: float, word: str) -> _WordMask:
    masks = _local.__dict__.setdefault("masks", {})
    key = (name, max(1, round(size)), word)
    entry = masks.get(key)
    if entry is None:
        font = get_font(name, size)
        # what ImageDraw.text does, once: one FreeType pass for the mask, one for the advance
        mask, (left, top) = font.getmask2(word, "L", anchor="la")
        width, height = mask.size
        entry = _WordMask(mask if width and height else None, left, top, font.getlength(word))
        used = _local.__dict__.get("mask_bytes", 0) + width * height
        if used > _MASK_BUDGET:
            masks.clear()
            used = width * height
        _local.mask_bytes = used
        masks[key] = entry
    return entry


def _draw_words(draw: ImageDraw.ImageDraw, x: float, y: float, name: str, size: float,
                text: str, fill: str) -> float:
    """Stamp cached word masks with ImageDraw's own primitive (`draw.draw.draw_bitmap`, as
    `ImageDraw.text` does; Pillow is pinned)."""
    ink = draw._getink(fill)[0]
    space = _word_mask(name, size, " ").advance
    for i, word in enumerate(text.split(" ")):
        if i:
            x += space
        if word:
            entry = _word_mask(name, size, word)
            if entry.mask is not None:
                draw.draw.draw_bitmap((round(x) + entry.left, round(y) + entry.top), entry.mask, ink)
            x += entry.advance
    return x


def missing_glyphs(text: str, bold: bool = False) -> set[str]:
    """Characters of `text` that the run drawn for them would show as .notdef (for tests)."""
    missing = set()
    for run in split_runs(clean_text(text), bold):
        cov = coverage(run.font)
        missing.update(ch for ch in run.text if ch != "\n" and ord(ch) not in cov)
    return missing
