"""The governance schema as a graph: JSON nodes/edges, Mermaid, GraphViz DOT.

Links to a missing actor are left out (and reported in the JSON `warnings`). Mermaid node ids
are generated (`a0`, `a1`…) because board ids may hold characters Mermaid does not accept; DOT
ids are the board ids, quoted.
"""

from __future__ import annotations

from boards.model import BoardSnapshot

from .synthesis import export_warnings, labels


def _edges(snapshot: BoardSnapshot):
    actors = {a.id for a in snapshot.actors}
    return [l for l in snapshot.links if l.source in actors and l.target in actors]


def _function_names(snapshot: BoardSnapshot, functions: tuple[str, ...]) -> list[str]:
    names = labels(snapshot)
    return [names[f].lower() for f in functions if f in names]


def export_graph_json(snapshot: BoardSnapshot) -> dict:
    """{"nodes": [...], "edges": [...], "warnings": [...]} (JSON-ready)."""
    nodes = [
        {"id": a.id, "label": a.label, "kind": a.kind, "site": a.site, "country": a.country,
         "functions": list(a.functions), "x": a.x, "y": a.y}
        for a in snapshot.actors
    ]
    edges = [
        {"id": l.id, "source": l.source, "target": l.target, "label": l.label, "kind": l.kind,
         "directed": l.directed}
        for l in _edges(snapshot)
    ]
    warnings = [{"path": w.path, "message": w.message} for w in export_warnings(snapshot)
                if w.path.startswith(("actors/", "links/"))]
    return {"nodes": nodes, "edges": edges, "warnings": warnings}


def mermaid_text(text: str) -> str:
    """Text for a quoted Mermaid label: quotes and markup as entity codes, newlines as <br/>."""
    text = text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return "<br/>".join(text.splitlines())


def export_mermaid(snapshot: BoardSnapshot) -> str:
    ids = {a.id: f"a{i}" for i, a in enumerate(snapshot.actors)}
    lines = ["graph LR"]
    for actor in snapshot.actors:
        label = mermaid_text(actor.label)
        functions = _function_names(snapshot, actor.functions)
        if functions:
            label += "<br/><small>" + mermaid_text(", ".join(functions)) + "</small>"
        lines.append(f'    {ids[actor.id]}["{label}"]')
    for link in _edges(snapshot):
        arrow = "-->" if link.directed else "---"
        label = f'|"{mermaid_text(link.label)}"|' if link.label else ""
        lines.append(f"    {ids[link.source]} {arrow}{label} {ids[link.target]}")
    return "\n".join(lines) + "\n"


def dot_quote(text: str) -> str:
    """A DOT quoted string: backslashes and quotes escaped, newlines as \\n."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n") + '"'


def export_dot(snapshot: BoardSnapshot) -> str:
    lines = ["digraph governance {", "    rankdir=LR;", "    node [shape=box, style=rounded];"]
    for actor in snapshot.actors:
        label = actor.label
        functions = _function_names(snapshot, actor.functions)
        if functions:
            label += "\n" + ", ".join(functions)
        lines.append(f"    {dot_quote(actor.id)} [label={dot_quote(label)}];")
    for link in _edges(snapshot):
        attrs = [f"label={dot_quote(link.label)}"] if link.label else []
        if not link.directed:
            attrs.append("dir=none")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {dot_quote(link.source)} -> {dot_quote(link.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"
