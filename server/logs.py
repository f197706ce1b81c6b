"""Structured logs: every line has a time, level, logger, board id ("-" when none) and message."""

from __future__ import annotations

import json
import logging


class _BoardDefault(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "board"):
            record.board = "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "board": getattr(record, "board", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "info", fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_BoardDefault())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s board=%(board)s %(message)s"))
    root = logging.getLogger("palabre")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
