"""The `palabre` command line: `palabre serve` (and more subcommands as they land)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from server.settings import Settings

cli = typer.Typer(help="Palabre: collaborative whiteboard server for participatory workshops.",
                  no_args_is_help=True, add_completion=False)


@cli.callback()
def _root() -> None:
    """Palabre: collaborative whiteboard server for participatory workshops."""


def _settings(**flags: Any) -> Settings:
    """Settings from the environment, overridden by the CLI flags that were given."""
    return Settings(**{k: v for k, v in flags.items() if v is not None})


@cli.command()
def serve(
    host: Optional[str] = typer.Option(None, help="Address to listen on [127.0.0.1]."),
    port: Optional[int] = typer.Option(None, help="Port [8000]."),
    data_dir: Optional[Path] = typer.Option(None, help="Where the SQLite database lives [./data]."),
    redis: Optional[str] = typer.Option(None, "--redis", help="redis://… to use Redis instead of SQLite."),
    fsync: Optional[str] = typer.Option(None, help="'always' fsyncs every commit (power-loss safe) [normal]."),
    guard: Optional[bool] = typer.Option(None, "--guard/--no-guard", help="Try updates on a replica first [on]."),
    auto_create: Optional[bool] = typer.Option(None, "--auto-create/--no-auto-create",
                                               help="Create unknown boards on first connection [on]."),
    token: Optional[str] = typer.Option(None, help="Require ?token=… from clients."),
    idle_unload_seconds: Optional[float] = typer.Option(None, help="Unload a board this long after its last client [30]."),
    max_message_bytes: Optional[int] = typer.Option(None, help="Largest accepted WebSocket message [8 MiB]."),
    log_level: Optional[str] = typer.Option(None, help="debug, info, warning, error [info]."),
    log_format: Optional[str] = typer.Option(None, help="text or json [text]."),
    demo: Optional[bool] = typer.Option(None, "--demo/--no-demo", help="Load the demo boards at start."),
) -> None:
    """Start the server (SQLite in --data-dir unless --redis is given)."""
    from server.runner import run  # noqa: PLC0415  (keeps `palabre --help` fast)

    run(_settings(host=host, port=port, data_dir=data_dir, redis_url=redis, fsync=fsync, guard=guard,
                  auto_create=auto_create, token=token, idle_unload_seconds=idle_unload_seconds,
                  max_message_bytes=max_message_bytes, log_level=log_level, log_format=log_format, demo=demo))


def main() -> None:
    cli()
