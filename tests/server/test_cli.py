"""`palabre boards list|create|import` against a running server, as a user types them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.server import ROOT, PalabreProcess


def palabre_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_boards_create_import_list(palabre: PalabreProcess, tmp_path: Path) -> None:
    created = palabre_cli("boards", "create", "atelier-du-futur", "--id", "cli", "--title", "Diéma",
                          "--server", palabre.http_url)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "cli"
    csv = tmp_path / "postits.csv"
    csv.write_text("\ufefftexte;colonne;site\nMobilisation des bénévoles;Critique;Douentza\n", encoding="utf-8")
    imported = palabre_cli("boards", "import", "cli", str(csv), "--server", palabre.http_url)
    assert imported.returncode == 0, imported.stderr
    notes = httpx.get(f"{palabre.http_url}/api/boards/cli").json()["notes"]
    assert [(n["text"], n["site"]) for n in notes] == [("Mobilisation des bénévoles", "Douentza")]
    listed = palabre_cli("boards", "list", "--server", palabre.http_url)
    assert listed.returncode == 0 and "cli" in listed.stdout and "Diéma" in listed.stdout


def test_cli_reports_server_errors(palabre: PalabreProcess, tmp_path: Path) -> None:
    refused = palabre_cli("boards", "create", "nope", "--server", palabre.http_url)
    assert refused.returncode != 0 and "unknown template" in refused.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"texte": ""}]))
    rejected = palabre_cli("boards", "import", "x", str(bad), "--server", palabre.http_url)
    assert rejected.returncode != 0 and "nothing was imported" in rejected.stderr
