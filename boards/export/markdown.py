"""Markdown synthesis: zone → group → notes ranked by votes; for governance boards a
function × actor table and the list of links; the warnings at the end."""

from __future__ import annotations

import re

from boards.model import FUNCTIONS, BoardSnapshot

from .synthesis import export_warnings, labels, synthesis

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def escape(text: str) -> str:
    """Inline Markdown text: special characters escaped, newlines folded (one note = one line)."""
    text = "".join(ch for ch in text if ch >= " " or ch in "\n\r\t")
    text = " / ".join(part.strip() for part in text.splitlines() if part.strip())
    text = _SPECIAL.sub(r"\\\1", text)
    return re.sub(r"^(\d+)\.", r"\1\\.", re.sub(r"^-", r"\\-", text))


def export_markdown(snapshot: BoardSnapshot) -> str:
    names = labels(snapshot)
    lines = [f"# {escape(snapshot.meta.title) or names['untitled']}", ""]
    count = len(snapshot.notes)
    facts = [f"{count} {names['notes'] if count != 1 else names['note']}"]
    if snapshot.meta.phase:
        facts.insert(0, f"{names['phase']} : {escape(snapshot.meta.phase)}")
    if snapshot.meta.template:
        facts.insert(0, f"{names['template']} : {escape(snapshot.meta.template)}")
    lines += ["_" + " · ".join(facts) + "_", ""]
    lines += _synthesis(snapshot, names)
    if snapshot.actors or snapshot.links:
        lines += _governance(snapshot, names)
    warnings = export_warnings(snapshot)
    if warnings:
        lines += [f"## {names['warnings']}", ""]
        lines += [f"- `{w.path}` : {escape(w.message)}" for w in warnings]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _synthesis(snapshot: BoardSnapshot, names: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for zone in synthesis(snapshot):
        lines += [f"## {escape(zone.title)} ({zone.notes} {names['notes'] if zone.notes != 1 else names['note']})", ""]
        for group in zone.groups:
            lines += [f"### {escape(group.title)} — {group.votes} {names['votes'].lower()}", ""]
            for i, note in enumerate(group.notes, 1):
                who = ", ".join(escape(p) for p in (note.author or names["anonymous"], note.site) if p)
                code = f" `{note.code.replace('`', '')}`" if note.code else ""
                lines.append(f"{i}. {escape(note.text) or '—'} — **{note.votes}** · {who}{code}")
            lines.append("")
    return lines


def _governance(snapshot: BoardSnapshot, names: dict[str, str]) -> list[str]:
    lines = [f"## {names['governance']}", ""]
    header = [names["actor"], *(names[f] for f in FUNCTIONS)]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for actor in snapshot.actors:
        cells = ["✔" if f in actor.functions else "" for f in FUNCTIONS]
        where = f" ({escape(actor.site)})" if actor.site else ""
        lines.append("| " + " | ".join([escape(actor.label) + where, *cells]) + " |")
    lines.append("")
    actors = {a.id: a.label for a in snapshot.actors}
    links = [l for l in snapshot.links if l.source in actors and l.target in actors]
    if links:
        lines += [f"### {names['links']}", ""]
        for link in links:
            arrow = "→" if link.directed else "↔"
            label = f" : {escape(link.label)}" if link.label else ""
            lines.append(f"- {escape(actors[link.source])} {arrow} {escape(actors[link.target])}{label}")
        lines.append("")
    return lines
