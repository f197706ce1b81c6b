"""The parallel PNG encoder: what any PNG reader decodes is exactly the image."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image

from boards.render.pngwrite import adler32_combine, encode_png


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
@pytest.mark.parametrize("size", [(1, 1), (3, 2), (7, 511), (7, 512), (9, 1300)])
def test_round_trip_is_pixel_exact(mode: str, size: tuple[int, int]) -> None:
    image = Image.effect_noise(size, 60).convert(mode)  # noisy: every strip different
    decoded = Image.open(io.BytesIO(encode_png(image)))
    decoded.load()
    assert decoded.mode == mode and decoded.size == size
    assert decoded.tobytes() == image.tobytes()


def test_other_modes_are_converted() -> None:
    image = Image.new("P", (4, 4), 3)
    decoded = Image.open(io.BytesIO(encode_png(image)))
    assert decoded.mode == "RGB"


def test_adler32_combine_matches_zlib() -> None:
    a, b = b"palabre " * 1000, "ɛ ɔ ɲ ŋ".encode() * 3000
    assert adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)
    assert adler32_combine(1, zlib.adler32(b), len(b)) == zlib.adler32(b)
