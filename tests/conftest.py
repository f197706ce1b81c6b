from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import PalabreProcess


@pytest.fixture
def palabre(tmp_path: Path) -> Iterator[PalabreProcess]:
    """A real server subprocess on a free port with its own data dir."""
    server = PalabreProcess(tmp_path / "data").start()
    try:
        yield server
    finally:
        server.stop()
