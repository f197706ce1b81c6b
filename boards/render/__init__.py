"""Snapshot rendering: pure, synchronous functions of a `BoardSnapshot` (thread-safe; the only
shared state is the per-thread font cache). See docs/exports.md."""

from .layout import UnknownZone
from .pdf import render_pdf
from .png import render_image, render_png, render_share, render_tiles
from .svg import render_svg

__all__ = ["UnknownZone", "render_image", "render_pdf", "render_png", "render_share", "render_svg", "render_tiles"]
