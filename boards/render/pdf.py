"""PDF: page 1 the board picture, then the synthesis tables (zone → group → notes ranked by
votes), A4 portrait at 150 dpi, as many pages as needed.

Pillow writes the PDF (one image per page), so no PDF library is needed; the table pages are
drawn with the same fonts and fallback as the board picture. Their text is not selectable:
the Markdown/CSV exports carry the same content as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageDraw

from boards.export.synthesis import export_warnings, labels, synthesis
from boards.model import BoardSnapshot

from . import fonts
from .layout import ELLIPSIS, Measurer, clip_text, wrap
from .png import render_image

DPI = 150
PAGE = (1240, 1754)  # A4 at 150 dpi
MARGIN = 90
BOARD_MAX_SIDE = 3000  # the picture on page 1: sharp enough to zoom, bounded in size
MAX_PAGES = 200  # synthesis pages beyond this are dropped (a last line says so)
TEXT = 20.0
LINE = 26.0


def render_pdf(snapshot: BoardSnapshot, *, zone: str | None = None, scale: float = 1.5) -> bytes:
    board = render_image(snapshot, zone=zone, scale=scale, max_size=BOARD_MAX_SIDE)
    # bilevel table pages: Pillow stores them CCITT G4 (~20 KB a page instead of ~300 KB JPEG)
    pages = [page.convert("1", dither=Image.Dither.NONE) for page in _table_pages(snapshot)]
    out = BytesIO()
    # page size follows the picture at a resolution putting its longest side on ~A4 width
    resolution = max(72.0, max(board.size) / 11.7)
    board.save(out, "PDF", resolution=resolution, save_all=True,
               title=snapshot.meta.title or "Palabre", append_images=pages)
    return out.getvalue()


@dataclass(slots=True)
class _Writer:
    """Draws rows of text onto pages, opening a new page when one is full."""

    pages: list[Image.Image]
    measure: Measurer
    y: float = 0.0
    full: bool = False

    def page(self) -> ImageDraw.ImageDraw:
        return ImageDraw.Draw(self.pages[-1])

    def new_page(self) -> None:
        if len(self.pages) >= MAX_PAGES:
            self.full = True
            return
        self.pages.append(Image.new("L", PAGE, 255))
        self.y = MARGIN

    def ensure(self, height: float) -> bool:
        if not self.pages or self.y + height > PAGE[1] - MARGIN:
            self.new_page()
        return not self.full

    def line(self, text: str, size: float = TEXT, bold: bool = False, indent: float = 0.0,
             shade: int = 0, gap: float = 0.0) -> None:
        if not self.ensure(size * 1.4 + gap):
            return
        self.y += gap
        fonts.draw_line(self.page(), (MARGIN + indent, self.y), text, size, shade, bold)
        self.y += size * 1.4

    def row(self, cells: list[tuple[str, float, float]], rule: bool = True) -> None:
        """A table row; cells are (text, x offset, width); text wraps inside its cell."""
        wrapped = [wrap(t, w, TEXT, self.measure, max_lines=12) or ("",) for t, _x, w in cells]
        height = max(len(lines) for lines in wrapped) * LINE + 8
        if not self.ensure(height):
            return
        draw = self.page()
        for lines, (_t, x, _w) in zip(wrapped, cells):
            for i, text in enumerate(lines):
                fonts.draw_line(draw, (MARGIN + x, self.y + 4 + i * LINE), text, TEXT, 0)
        self.y += height
        if rule:
            draw.line((MARGIN, self.y, PAGE[0] - MARGIN, self.y), fill=200)


def _table_pages(snapshot: BoardSnapshot) -> list[Image.Image]:
    names = labels(snapshot)
    writer = _Writer([], Measurer())
    writer.line(clip_text(snapshot.meta.title, 200) or names["untitled"], 32, bold=True)
    writer.line(f"{names['synthesis']} · {len(snapshot.notes)} {names['notes']}", TEXT, shade=90)
    width = PAGE[0] - 2 * MARGIN
    columns = [(0.0, 60.0), (60.0, width - 460), (width - 390, 90.0), (width - 290, 290.0)]
    for zone in synthesis(snapshot):
        writer.line(clip_text(zone.title, 200), 28, bold=True, gap=24)
        for group in zone.groups:
            writer.line(f"{clip_text(group.title, 200)} — {group.votes} {names['votes'].lower()}",
                        22, bold=True, gap=10, shade=60)
            writer.row([(names["rank"], *columns[0]), (names["text"], *columns[1]),
                        (names["votes"], *columns[2]), (f"{names['author']} · {names['site']}", *columns[3])])
            for i, note in enumerate(group.notes, 1):
                who = " · ".join(p for p in (note.author or names["anonymous"], note.site) if p)
                writer.row([(str(i), *columns[0]), (clip_text(note.text, 2000), *columns[1]),
                            (str(note.votes), *columns[2]), (clip_text(who, 200), *columns[3])])
    warnings = export_warnings(snapshot)
    if warnings:
        writer.line(names["warnings"], 28, bold=True, gap=24)
        for w in warnings[:500]:
            writer.row([(f"{w.path} : {w.message}", 0.0, float(width))], rule=False)
    if writer.full:
        writer.full = False
        writer.y = PAGE[1] - MARGIN - TEXT * 1.4
        writer.line(ELLIPSIS + f" ({MAX_PAGES} pages max)", TEXT, shade=90)
    return writer.pages
