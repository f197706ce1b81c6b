"""Hostile updates for tests: the shared poison file, plus generated ones."""

from __future__ import annotations

import json
from pathlib import Path

POISON_FILE = Path(__file__).parents[1] / "data" / "poison-updates.json"


def poison_cases() -> dict[str, list[bytes]]:
    cases = json.loads(POISON_FILE.read_text())["cases"]
    return {name: [bytes.fromhex(u) for u in case["updates"]] for name, case in cases.items()}


def deep_nesting_update(depth: int = 30_000) -> bytes:
    """A Yjs v1 update whose one map entry holds a JSON value nested `depth` objects deep.

    One client, one struct: info 0x28 = ContentAny with a parent key; parent is the root type
    "r", key "k"; the value is {"a": {"a": … null}}; empty delete set. At 30k levels (120 KB)
    pycrdt 0.14.13 overflows its stack while decoding it and the process dies with SIGSEGV.
    """
    value = b"\x76\x01\x01a" * depth + b"\x7e"
    return b"\x01\x01\x01\x00" + b"\x28" + b"\x01\x01r" + b"\x01k" + b"\x01" + value + b"\x00"
