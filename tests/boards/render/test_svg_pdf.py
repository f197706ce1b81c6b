"""SVG parses as XML with selectable, escaped text; PDF has the board page then table pages."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from boards.model import BoardSnapshot, Meta, Note, _frozen
from boards.render import UnknownZone, render_pdf, render_svg

from . import samples

SVG = "{http://www.w3.org/2000/svg}"


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}tspan")]


def test_svg_is_valid_xml_with_text_elements() -> None:
    root = ET.fromstring(render_svg(samples.workshop()))
    assert root.tag == f"{SVG}svg"
    texts = _texts(root)
    assert "Critique" in texts and "Utopie" in texts
    assert "Ɲɔgɔn dɛmɛ ka ɲɛ" in texts
    assert any("décision" == t for t in texts)
    assert len(root.findall(f"{SVG}rect")) > 6
    assert root.findall(f"{SVG}polyline")  # stroke and link


def test_svg_escapes_markup_and_drops_control_characters() -> None:
    root = ET.fromstring(render_svg(samples.malformed()))
    joined = "".join(_texts(root))  # the note is narrow (w=-5 → 40): its text wraps mid-word
    assert "<b>&amp;" in joined and '"quotes"' in joined and "]]>" in joined
    assert "\u0007" not in joined


def test_svg_wrapped_lines_match_the_png_layout_and_zone_crop() -> None:
    board = BoardSnapshot(notes=(Note("n", "un deux trois quatre cinq six sept huit neuf dix", 0, 0),))
    root = ET.fromstring(render_svg(board))
    note_text = [t for t in root.iter(f"{SVG}text") if len(list(t)) > 1]
    assert note_text and all(span.get("x") == "8" for span in note_text[0])
    crop = ET.fromstring(render_svg(samples.workshop(), zone="z1"))
    assert "Utopie" not in _texts(crop) and "Critique" in _texts(crop)
    with pytest.raises(UnknownZone):
        render_svg(samples.workshop(), zone="zz")


def test_svg_scale_sets_size_not_viewbox() -> None:
    one = ET.fromstring(render_svg(samples.workshop()))
    two = ET.fromstring(render_svg(samples.workshop(), scale=2))
    assert one.get("viewBox") == two.get("viewBox")
    assert int(two.get("width")) == 2 * int(one.get("width"))


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def test_pdf_has_board_page_then_synthesis_pages() -> None:
    pdf = render_pdf(samples.workshop())
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert _pages(pdf) == 2
    assert re.search(rb"/Count\s+2\b", pdf)


def test_pdf_synthesis_spans_several_pages_for_a_big_board() -> None:
    assert _pages(render_pdf(samples.big_board(200))) >= 4


def test_pdf_of_malformed_and_empty_boards() -> None:
    assert _pages(render_pdf(samples.malformed())) >= 2
    assert _pages(render_pdf(BoardSnapshot(Meta(locale="en"), votes=_frozen()))) == 2
