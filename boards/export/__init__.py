"""Structured exports of a `BoardSnapshot`: CSV, Markdown synthesis, governance graph (JSON,
Mermaid, DOT). French by default, English when the board's locale is "en". See docs/exports.md."""

from .csv import export_csv
from .graph import export_dot, export_graph_json, export_mermaid
from .markdown import export_markdown
from .synthesis import export_warnings, synthesis

__all__ = ["export_csv", "export_dot", "export_graph_json", "export_markdown", "export_mermaid",
           "export_warnings", "synthesis"]
