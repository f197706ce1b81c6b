"""Small helpers to drive the board page."""

from __future__ import annotations

from urllib.parse import quote


def open_board(ctx, base_url: str, board: str, name: str, site: str, query: str = ""):
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(f"{base_url}/b/{board}?name={quote(name)}&site={quote(site)}{query}")
    page.wait_for_selector(".status[data-state=connected]")
    page.wait_for_function("() => window.palabre && window.palabre.provider.synced")
    return page


def notes(page) -> list[dict]:
    """Notes as drawn: id, committed x/y, shown position (transform) and text."""
    return page.eval_on_selector_all(
        ".note",
        """els => els.map(e => {
            const m = /translate\\(([-\\d.]+)px, *([-\\d.]+)px\\)/.exec(e.style.transform) || [0, 'NaN', 'NaN'];
            return {id: e.dataset.id, x: +e.dataset.x, y: +e.dataset.y, sx: +m[1], sy: +m[2],
                    text: e.querySelector('textarea').value, live: e.classList.contains('live'),
                    color: e.style.background, group: e.dataset.group}
        })""",
    )


def doc_notes(page) -> dict:
    """The notes map straight from the Y.Doc (what would be stored)."""
    return page.evaluate("() => window.palabre.doc.getMap('notes').toJSON()")


def create_note(page, text: str) -> str:
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    before = {n["id"] for n in notes(page)}
    page.keyboard.press("n")
    page.wait_for_function(f"() => document.querySelectorAll('.note').length > {len(before)}")
    page.keyboard.type(text)
    page.keyboard.press("Escape")
    (new,) = [n["id"] for n in notes(page) if n["id"] not in before]
    return new


def note_text(page, note_id: str) -> str:
    return page.evaluate(f"() => window.palabre.doc.getMap('notes').get('{note_id}').get('text').toString()")


def wait_text(page, note_id: str, text: str):
    page.wait_for_function(
        f"""() => {{ const n = window.palabre.doc.getMap('notes').get('{note_id}');
                   return n && n.get('text').toString() === {text!r}; }}""")
