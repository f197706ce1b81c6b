"""Shipped fonts: cmap coverage of French/Bambara/N'Ko, per-run fallback, no .notdef boxes."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from boards.render import fonts

from .samples import BAMBARA, FRENCH, NKO

CORPUS = FRENCH + BAMBARA + ["ɛ Ɛ ɔ Ɔ ɲ Ɲ ŋ Ŋ", "à â ç é è ê ë î ï ô ù û ü ÿ œ æ « » € ’ …", "ɛ́ ɛ̀ ɔ́ ɔ̀ ɛ̌ ŋ̀"]


@pytest.mark.parametrize("name", sorted({n for chain in fonts.CHAINS.values() for n in chain}))
def test_every_font_in_a_chain_is_shipped_with_a_cmap(name: str) -> None:
    assert (fonts.FONT_DIR / name).is_file()
    assert len(fonts.coverage(name)) > 50


def test_cmap_reader_matches_known_coverage() -> None:
    regular = fonts.coverage("DejaVuSans.ttf")
    assert {ord(c) for c in "Aaé€ɛƐɔƆɲƝŋŊ\u0300\u0301"} <= regular
    assert ord("ɛ") not in fonts.coverage("NotoSansNKo-Regular.ttf")
    assert ord("ߒ") in fonts.coverage("NotoSansNKo-Regular.ttf")
    assert ord("A") not in fonts.coverage("NotoSansNKo-Regular.ttf")


@pytest.mark.parametrize("bold", [False, True])
@pytest.mark.parametrize("text", CORPUS + NKO)
def test_corpus_has_no_notdef_glyph(text: str, bold: bool) -> None:
    assert fonts.missing_glyphs(text, bold) == set()


def test_nko_runs_use_the_nko_font_and_latin_stays_in_the_main_font() -> None:
    runs = fonts.split_runs("Sigida ߒߞߏ ߞߊ߲ ok")
    assert [r.font for r in runs] == ["DejaVuSans.ttf", "NotoSansNKo-Regular.ttf", "DejaVuSans.ttf"]
    assert runs[1].text == "ߒߞߏ ߞߊ߲"  # the space between N'Ko words stays in the RTL run


def test_character_no_font_has_becomes_a_visible_replacement() -> None:
    private_use = "\ue123"
    runs = fonts.split_runs(f"a{private_use}b")
    assert fonts.REPLACEMENT in "".join(r.text for r in runs)
    assert private_use not in "".join(r.text for r in runs)


def test_tone_mark_stays_in_the_run_of_its_letter() -> None:
    assert len(fonts.split_runs("ɛ́ɔ̀")) == 1


def test_clean_text_composes_and_drops_controls() -> None:
    assert fonts.clean_text("e\u0301\u0007\u200bx\ny") == "é" + "x\ny"


def test_drawn_bambara_letters_differ_from_the_notdef_box() -> None:
    """Each letter's pixels differ from the box drawn for a character the font lacks."""
    font = fonts.get_font("DejaVuSans.ttf", 32)
    notdef = font.getmask("\ue123").getbbox(), bytes(font.getmask("\ue123"))
    for ch in "ɛƐɔƆɲƝŋŊ":
        mask = font.getmask(ch)
        assert mask.getbbox() is not None
        assert (mask.getbbox(), bytes(mask)) != notdef


def test_draw_line_puts_ink_for_every_script() -> None:
    for text in ("ɛɔɲŋ", "ߒߞߏ", "é → ★"):
        image = Image.new("L", (300, 60), 255)
        fonts.draw_line(ImageDraw.Draw(image), (5, 5), text, 28, 0)
        assert image.getextrema()[0] < 100, text
        assert fonts.text_width(text, 28) > 20
