"""The scale-out interface: how rooms hear about updates and presence from other processes.

With one process there is nothing to do (`LocalFanout`). With several processes sharing a
backend (Redis), a fan-out implementation follows the log of every board this process has
loaded, starting right after what `Storage.load` returned (no gap), and hands each update
written by *another* process to `Room.apply_remote`; it carries presence batches between
processes, handing remote ones to `Room.apply_remote_awareness`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from server.rooms import Room


class Fanout(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def board_loaded(self, room: "Room", position: object) -> None:
        """Follow `room.board`'s log from `position` (the `last_seq` its load returned)."""

    def board_unloaded(self, board: str) -> None: ...

    def awareness_changed(self, board: str, message: bytes) -> None:
        """A presence batch (an awareness message) produced by this process's clients."""


class LocalFanout:
    """One process: every update already reaches every connection through its room."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def board_loaded(self, room: "Room", position: object) -> None:
        return None

    def board_unloaded(self, board: str) -> None:
        return None

    def awareness_changed(self, board: str, message: bytes) -> None:
        return None
