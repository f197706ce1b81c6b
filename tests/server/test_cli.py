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


def test_export_works_offline_on_a_data_dir(palabre: PalabreProcess, tmp_path: Path) -> None:
    import csv as csv_module
    import io

    from PIL import Image

    palabre_cli("boards", "create", "spiral", "--id", "sp", "--server", palabre.http_url)
    postits = tmp_path / "p.csv"
    postits.write_text("texte\nLe jumelage tient depuis 30 ans\n", encoding="utf-8")
    palabre_cli("boards", "import", "sp", str(postits), "--server", palabre.http_url)
    palabre.stop()  # offline from here on
    png = tmp_path / "sp.png"
    done = palabre_cli("export", "sp", "--format", "png", "--out", str(png), "--data-dir", str(palabre.data_dir))
    assert done.returncode == 0, done.stderr
    assert Image.open(png).size[0] > 100
    as_csv = palabre_cli("export", "sp", "-f", "csv", "-o", "-", "--data-dir", str(palabre.data_dir))
    rows = list(csv_module.reader(io.StringIO(as_csv.stdout.lstrip("\ufeff"))))
    assert any("Le jumelage tient depuis 30 ans" in row for row in rows)
    before = palabre_cli("export", "sp", "-f", "json", "-o", "-", "--at", "2000-01-01T00:00:00Z",
                         "--data-dir", str(palabre.data_dir))
    assert json.loads(before.stdout)["notes"] == []
    everything = palabre_cli("export", "--all", "-f", "md", "-o", str(tmp_path / "all"), "--data-dir",
                             str(palabre.data_dir))
    assert everything.returncode == 0, everything.stderr
    assert (tmp_path / "all" / "sp.md").read_text().strip()


def test_export_errors_are_explained(tmp_path: Path) -> None:
    missing = palabre_cli("export", "x", "--data-dir", str(tmp_path / "none"))
    assert missing.returncode == 2 and "no Palabre database" in missing.stderr
