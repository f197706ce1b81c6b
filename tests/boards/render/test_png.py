"""Raster rendering: real content at the expected places, crops, scales, formats, bounds."""

from __future__ import annotations

import io
import threading

import pytest
from PIL import Image, ImageChops

from boards.model import BoardSnapshot, Meta, Note, Zone
from boards.render import UnknownZone, render_image, render_png, render_share, render_tiles
from boards.render.layout import MARGIN, Circle, MAX_PIXELS, build_scene

from . import samples


def _hex(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def _colours(image: Image.Image) -> set[tuple[int, int, int]]:
    return {colour for _count, colour in image.getcolors(1 << 24)}


def _at(image: Image.Image, snapshot: BoardSnapshot, x: float, y: float, scale: float = 1.0,
        zone: str | None = None) -> tuple[int, int, int]:
    scene = build_scene(snapshot, zone)
    return image.getpixel((round((x - scene.x0) * scale), round((y - scene.y0) * scale)))


def test_size_is_the_auto_fitted_bounds_with_margin() -> None:
    board = samples.workshop()
    image = render_image(board)
    scene = build_scene(board)
    assert image.size == (round(scene.width), round(scene.height))
    # zones start at x=0 and the title sits above: the margin is on the left
    assert scene.x0 == -MARGIN


def test_notes_are_filled_with_their_colours_and_carry_text() -> None:
    board = samples.workshop()
    image = render_image(board)
    for note in board.notes:
        assert _at(image, board, note.x + note.w - 4, note.y + 4) == _hex(note.color), note.id
        scene = build_scene(board)
        box = (round(note.x - scene.x0 + 8), round(note.y - scene.y0 + 8),
               round(note.x - scene.x0 + note.w - 8), round(note.y - scene.y0 + 44))
        inside = image.crop(box)
        fill = Image.new("RGB", inside.size, _hex(note.color))
        ink = ImageChops.difference(inside, fill).convert("L").point(lambda v: 255 if v > 60 else 0)
        assert ink.histogram()[255] > 80, f"no text drawn in {note.id}"


def test_zone_title_group_outline_actor_badges_and_vote_dots_are_drawn() -> None:
    board = samples.workshop()
    image = render_image(board)
    assert _at(image, board, 300, 450) == _hex("#ffebee")  # zone background
    # group g1 wraps n1 and n2 (x 20..380, y 60..170) with a 10-unit pad: its outline at y=50
    assert _at(image, board, 200, 51) == _hex("#1e88e5")
    # vote dots: n2 has 7 votes → 5 dots on the right of its footer
    n2 = board.notes[1]
    dots = [item for item in build_scene(board).items if isinstance(item, Circle)
            and n2.x < item.cx < n2.x + n2.w and n2.y < item.cy < n2.y + n2.h]
    assert len(dots) == 5
    assert all(_at(image, board, d.cx, d.cy) == _hex("#d81b60") for d in dots)
    # the "décision" badge of actor a1 is red
    a1 = board.actors[0]
    scene = build_scene(board)
    card = (int(a1.x - scene.x0), int(a1.y - scene.y0), int(a1.x - scene.x0 + 190), int(a1.y - scene.y0 + 90))
    colours = _colours(image.crop(card))
    assert _hex("#c62828") in colours and _hex("#1565c0") in colours


def test_zone_crop_shows_that_zone_only() -> None:
    board = samples.workshop()
    image = render_image(board, zone="z2")
    zone = board.zones[1]
    assert image.size == (round(zone.w + 2 * MARGIN), round(zone.h + 2 * MARGIN))
    colours = _colours(image)
    assert _hex("#81d4fa") in colours  # n4 lives in z2
    assert _hex("#ffcc80") not in colours  # n2 lives in z1
    with pytest.raises(UnknownZone):
        render_image(board, zone="nope")


def test_scale_and_max_size() -> None:
    board = samples.workshop()
    w, h = render_image(board).size
    assert render_image(board, scale=2).size == (2 * w, 2 * h)
    assert max(render_image(board, max_size=300).size) <= 300
    for bad in (0, -1, float("nan"), 100):
        with pytest.raises(ValueError):
            render_image(board, scale=bad)


@pytest.mark.parametrize(("fmt", "pil"), [("png", "PNG"), ("webp", "WEBP"), ("jpeg", "JPEG")])
def test_formats_decode(fmt: str, pil: str) -> None:
    data = render_png(samples.workshop(), fmt=fmt)
    image = Image.open(io.BytesIO(data))
    assert image.format == pil
    assert image.size == render_image(samples.workshop()).size
    with pytest.raises(ValueError):
        render_png(samples.workshop(), fmt="gif")


def test_malformed_and_empty_boards_render() -> None:
    image = render_image(samples.malformed())
    assert image.size[0] > 100
    empty = render_image(BoardSnapshot())
    assert empty.getextrema() != ((255, 255), (255, 255), (255, 255))  # "Tableau vide" is drawn


def test_far_away_note_keeps_the_whole_board_within_max_pixels() -> None:
    board = BoardSnapshot(notes=(Note("a", "ici", 0, 0), Note("b", "là-bas", 1_000_000, 1_000_000)))
    image = render_image(board)
    assert image.size[0] * image.size[1] <= MAX_PIXELS
    assert image.getpixel((image.size[0] - 2, image.size[1] - 2)) == (255, 255, 255)
    assert len(_colours(image)) > 2  # both notes drawn, even if small


def test_tiles_assemble_into_the_full_picture() -> None:
    board = samples.workshop()
    whole = render_image(board)
    assembled = Image.new("RGB", whole.size, "white")
    tiles = list(render_tiles(board, tile=256))
    assert len(tiles) == 4 * 4
    for tile in tiles:
        assembled.paste(Image.open(io.BytesIO(tile.data)), (tile.left, tile.top))
    diff = ImageChops.difference(whole, assembled).convert("L")
    assert sum(diff.histogram()[40:]) < whole.size[0] * whole.size[1] * 0.002


def test_rendering_is_thread_safe_and_deterministic() -> None:
    board = samples.workshop()
    expected = render_png(board)
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(render_png(board))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


def test_huge_note_text_is_cut_with_an_ellipsis() -> None:
    scene = build_scene(BoardSnapshot(notes=(Note("n", "mot " * 100_000, 0, 0),)))
    lines = [line for item in scene.items if hasattr(item, "lines") for line in item.lines]
    assert lines[-1].endswith("…")
    assert len(lines) <= 6


def test_english_badges_when_locale_is_en() -> None:
    board = samples.workshop()
    english = BoardSnapshot(Meta(locale="en"), actors=board.actors)
    texts = {line for item in build_scene(english).items if hasattr(item, "lines") for line in item.lines}
    assert {"decision", "programming", "facilitation", "implementation"} <= texts
    texts_fr = {line for item in build_scene(board).items if hasattr(item, "lines") for line in item.lines}
    assert "mise en œuvre" in texts_fr


def test_zone_with_bad_geometry_is_skipped_not_fatal() -> None:
    board = BoardSnapshot(zones=(Zone("z", "Z", "column", float("inf"), 0, 10, 10),), notes=(Note("n", "x", 0, 0),))
    assert render_image(board).size[0] > 0


def test_share_of_a_200_note_board_is_small_webp() -> None:
    data = render_share(samples.big_board(200))
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP" and max(image.size) == 1600
    assert len(data) <= 300 * 1024
