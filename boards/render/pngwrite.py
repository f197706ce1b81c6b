"""A PNG encoder that compresses in parallel (Pillow's spends most of a big board's time there).

Pillow picks a filter for every row and compresses on one core: for a 1,000-note board
(28 million pixels) that is most of the render time. Board images are flat colours, so rows
are stored unfiltered and the image is cut in horizontal strips deflated on separate threads
(zlib releases the GIL), each strip ending on a byte boundary (Z_SYNC_FLUSH) so the
concatenation is one valid zlib stream, as pigz does. The checksum of the whole is combined
from the strips' Adler-32s.
"""

from __future__ import annotations

import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {"RGB": (2, 3), "RGBA": (6, 4), "L": (0, 1)}  # mode → (PNG colour type, bytes/pixel)
_ROWS_PER_STRIP = 512
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="palabre-png")
_ADLER_BASE = 65521


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(data, zlib.crc32(kind)))


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """Adler-32 of A+B from those of A and B (zlib's adler32_combine, which Python lacks)."""
    rem = second_length % _ADLER_BASE
    sum1 = first & 0xFFFF
    sum2 = (rem * sum1) % _ADLER_BASE
    sum1 += (second & 0xFFFF) + _ADLER_BASE - 1
    sum2 += ((first >> 16) & 0xFFFF) + ((second >> 16) & 0xFFFF) + _ADLER_BASE - rem
    sum1 %= _ADLER_BASE
    sum2 %= _ADLER_BASE
    return sum1 | (sum2 << 16)


def _deflate_strip(image: Image.Image, top: int, bottom: int, level: int) -> tuple[bytes, int, int]:
    """Rows top..bottom, each behind its filter-type byte 0 (none), deflated.

    Pillow's raw encoder pads each row with zeros up to `stride`: with one byte of padding, the
    byte before every row but the first is a 0, so the strip starts one byte early (the first
    strip on an explicit 0) and leaves its last padding byte to the next strip's start."""
    width = image.size[0]
    depth = _COLOR_TYPES[image.mode][1]
    rows = image.crop((0, top, width, bottom)).tobytes("raw", image.mode, width * depth + 1)
    data = b"\x00" + rows[:-1]
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    out = packer.compress(data) + packer.flush(zlib.Z_FINISH if bottom == image.size[1] else zlib.Z_SYNC_FLUSH)
    return out, zlib.adler32(data), len(data)


def encode_png(image: Image.Image, level: int = 1) -> bytes:
    """The image (RGB, RGBA or L) as PNG bytes, unfiltered rows, deflated in parallel strips."""
    if image.mode not in _COLOR_TYPES:
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    color_type = _COLOR_TYPES[image.mode][0]
    width, height = image.size
    tops = list(range(0, height, _ROWS_PER_STRIP)) or [0]
    jobs = [_POOL.submit(_deflate_strip, image, top, min(top + _ROWS_PER_STRIP, height), level) for top in tops]
    parts, checksum = [], 1
    for job in jobs:
        data, adler, length = job.result()
        parts.append(data)
        checksum = adler32_combine(checksum, adler, length)
    stream = b"\x78\x01" + b"".join(parts) + struct.pack("!I", checksum)
    header = struct.pack("!IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")
