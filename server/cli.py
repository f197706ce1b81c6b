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
    deflate: Optional[bool] = typer.Option(None, "--deflate/--no-deflate", help="Negotiate permessage-deflate [on]."),
    deflate_min_bytes: Optional[int] = typer.Option(None, help="Compress only messages this large [1024]."),
    batch_window: Optional[float] = typer.Option(None, help="Seconds a busy board gathers updates to check, store "
                                                            "and relay together (less CPU, more latency) [0]."),
    log_level: Optional[str] = typer.Option(None, help="debug, info, warning, error [info]."),
    log_format: Optional[str] = typer.Option(None, help="text or json [text]."),
    demo: Optional[bool] = typer.Option(None, "--demo/--no-demo", help="Load the demo boards at start."),
) -> None:
    """Start the server (SQLite in --data-dir unless --redis is given)."""
    from server.runner import run  # noqa: PLC0415  (keeps `palabre --help` fast)

    run(_settings(host=host, port=port, data_dir=data_dir, redis_url=redis, fsync=fsync, guard=guard,
                  auto_create=auto_create, token=token, idle_unload_seconds=idle_unload_seconds,
                  max_message_bytes=max_message_bytes, deflate=deflate, deflate_min_bytes=deflate_min_bytes,
                  batch_window=batch_window, log_level=log_level, log_format=log_format, demo=demo))


def main() -> None:
    cli()


# --- `palabre boards …`: talk to a running server ---------------------------------------------

boards_cli = typer.Typer(help="List, create and fill boards on a running server.", no_args_is_help=True)
cli.add_typer(boards_cli, name="boards")

SERVER_OPTION = typer.Option("http://127.0.0.1:8000", "--server", envvar="PALABRE_SERVER",
                             help="Base URL of the running server.")


@boards_cli.command("list")
def boards_list(server: str = SERVER_OPTION) -> None:
    """Boards on the server: id, title, template, last update, connected clients."""
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from client.http import get_json  # noqa: PLC0415

    table = Table("id", "titre", "modèle", "mis à jour", "connectés")
    for board in get_json(f"{server}/api/boards"):
        table.add_row(board["id"], board["title"], board["template"], board["updated"], str(board["connected"]))
    Console().print(table)


@boards_cli.command("create")
def boards_create(
    template: str = typer.Argument("libre", help="Template name (see GET /api/templates)."),
    board: Optional[str] = typer.Option(None, "--id", help="Board id [random]."),
    title: Optional[str] = typer.Option(None, help="Title [the template's]."),
    locale: str = typer.Option("fr", help="fr or en."),
    server: str = SERVER_OPTION,
) -> None:
    """Create a board from a template; prints its id."""
    from client.http import post_json  # noqa: PLC0415

    body = {"template": template, "locale": locale, **({"id": board} if board else {}),
            **({"title": title} if title else {})}
    typer.echo(post_json(f"{server}/api/boards", body)["id"])


@boards_cli.command("import")
def boards_import(
    board: str = typer.Argument(..., help="Board id."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or JSON of post-its."),
    server: str = SERVER_OPTION,
) -> None:
    """Import post-its (CSV with ; or , or JSON) into a board, all or nothing, over the live
    connection: the notes appear on everyone's screen and the command returns once stored."""
    import asyncio  # noqa: PLC0415

    from client.importing import import_file  # noqa: PLC0415

    count = asyncio.run(import_file(server, board, file.read_bytes(), file.suffix.lower()))
    typer.echo(f"{count} post-its importés dans {board}")


@cli.command("export")
def export_command(
    board: Optional[str] = typer.Argument(None, help="Board id (or --all)."),
    fmt: str = typer.Option("png", "--format", "-f",
                            help="png webp jpeg svg pdf json csv md mmd dot graph.json"),
    at: Optional[str] = typer.Option(None, help="ISO time: the board as it was then."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="File (default BOARD.FORMAT; - for stdout); "
                                                                "with --all, a folder [export]."),
    zone: Optional[str] = typer.Option(None, help="Only this zone (images)."),
    scale: Optional[float] = typer.Option(None, help="Image scale, 0.1 to 4."),
    all_boards: bool = typer.Option(False, "--all", help="Export every board, with a progress bar."),
    data_dir: Optional[Path] = typer.Option(None, help="Data dir to read [./data]."),
    redis: Optional[str] = typer.Option(None, "--redis", help="Read from Redis instead."),
) -> None:
    """Export a board (or all) from the data dir, offline: no server needed."""
    import asyncio  # noqa: PLC0415

    from server.export import ExportError, export_all, export_one  # noqa: PLC0415

    settings = _settings(data_dir=data_dir, redis_url=redis)
    try:
        if all_boards:
            written = asyncio.run(export_all(settings, fmt, Path(out or "export"), at))
            typer.echo(f"{len(written)} fichiers dans {out or 'export'}", err=True)
        elif board:
            target = asyncio.run(export_one(settings, board, fmt, out, at, zone, scale))
            if target != "-":
                typer.echo(target, err=True)
        else:
            raise typer.BadParameter("give a board id or --all")
    except (ExportError, ValueError) as exc:
        typer.echo(f"erreur : {exc}", err=True)
        raise typer.Exit(2) from None
