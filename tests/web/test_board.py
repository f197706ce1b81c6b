"""Two (or more) real browsers on one board, against a real server."""

from __future__ import annotations

import re

import pytest

from tests.web.helpers import create_note, doc_notes, note_text, notes, open_board, wait_text


def test_note_created_in_one_appears_in_the_other(base_url, new_context, board_id):
    a = open_board(new_context(), base_url, board_id, "Awa", "Diéma")
    b = open_board(new_context(), base_url, board_id, "Bruno", "Évry")
    nid = create_note(a, "Renforcer l’interconnaissance")
    b.wait_for_selector(f'.note[data-id="{nid}"]')
    wait_text(b, nid, "Renforcer l’interconnaissance")
    drawn = {n["id"]: n for n in notes(b)}
    assert drawn[nid]["text"] == "Renforcer l’interconnaissance"
    stored = doc_notes(b)[nid]
    # schema 1: numbers, ISO created, author/site from the profile
    assert isinstance(stored["x"], (int, float)) and isinstance(stored["w"], (int, float))
    assert re.match(r"\d{4}-\d\d-\d\dT", stored["created"])
    assert stored["author"] == "Awa" and stored["site"] == "Diéma"
    assert not a.errors and not b.errors


def test_drag_is_live_through_awareness_and_committed_once(base_url, new_context, board_id):
    a = open_board(new_context(), base_url, board_id, "Awa", "Diéma")
    b = open_board(new_context(), base_url, board_id, "Bruno", "Évry")
    nid = create_note(a, "à déplacer")
    b.wait_for_selector(f'.note[data-id="{nid}"]')
    start = {n["id"]: n for n in notes(a)}[nid]
    a.evaluate("""() => { window.__updates = 0; window.palabre.doc.on('update', () => window.__updates++) }""")
    box = a.locator(f'.note[data-id="{nid}"]').bounding_box()
    a.mouse.move(box["x"] + 30, box["y"] + 20)
    a.mouse.down()
    for i in range(1, 11):
        a.mouse.move(box["x"] + 30 + 20 * i, box["y"] + 20 + 12 * i)
        a.wait_for_timeout(20)
    # mid-drag: B sees the note moving (awareness) while the doc is unchanged
    b.wait_for_function(f"""() => {{ const e = document.querySelector('.note[data-id="{nid}"]');
        return e.classList.contains('live') && !e.style.transform.startsWith('translate({start['x']}px,'); }}""")
    assert {n["id"]: n for n in notes(b)}[nid]["x"] == start["x"]
    assert a.evaluate("() => window.__updates") == 0
    a.mouse.up()
    b.wait_for_function(f"""() => {{ const e = document.querySelector('.note[data-id="{nid}"]');
        return +e.dataset.x !== {start['x']} && !e.classList.contains('live'); }}""")
    moved = {n["id"]: n for n in notes(b)}[nid]
    zoom = a.evaluate("() => window.palabre.app.view.z")
    assert abs(moved["x"] - (start["x"] + 200 / zoom)) <= 2 and abs(moved["y"] - (start["y"] + 120 / zoom)) <= 2
    assert (moved["sx"], moved["sy"]) == (moved["x"], moved["y"])
    assert a.evaluate("() => window.__updates") == 1  # committed once, on drop


def test_concurrent_typing_in_one_note_merges(base_url, new_context, board_id):
    a = open_board(new_context(), base_url, board_id, "Awa", "Diéma")
    b = open_board(new_context(), base_url, board_id, "Bruno", "Évry")
    nid = create_note(a, "gouvernance")
    wait_text(b, nid, "gouvernance")
    for page, key in ((a, "End"), (b, "Home")):
        page.locator(f'.note[data-id="{nid}"]').dblclick()
        page.wait_for_selector(f'.note[data-id="{nid}"].editing textarea:focus')
        page.keyboard.press("Control+End" if key == "End" else "Control+Home")
    # interleave keystrokes: neither side waits for the other
    for ca, cb in zip(" partagée", "Une bonne "):
        a.keyboard.type(ca)
        b.keyboard.type(cb)
    b.keyboard.type(" ")
    expected = "Une bonne gouvernance partagée"
    wait_text(a, nid, expected)
    wait_text(b, nid, expected)
    assert a.locator(f'.note[data-id="{nid}"] textarea').input_value() == expected
    assert b.locator(f'.note[data-id="{nid}"] textarea').input_value() == expected


def test_offline_edits_are_kept_and_converge(base_url, new_context, board_id):
    ca, cb = new_context(), new_context()
    a = open_board(ca, base_url, board_id, "Awa", "Douentza")
    b = open_board(cb, base_url, board_id, "Bruno", "Évry")
    shared = create_note(a, "avant")
    wait_text(b, shared, "avant")

    ca.set_offline(True)
    banner = a.locator(".banner")
    banner.wait_for(state="visible")
    assert banner.inner_text() == "hors ligne — vos modifications seront envoyées au retour du réseau"
    offline_note = create_note(a, "écrit hors ligne")
    a.locator(f'.note[data-id="{shared}"]').dblclick()
    a.keyboard.press("Control+End")
    a.keyboard.type(" / A")
    a.keyboard.press("Escape")
    # meanwhile B edits the same note online
    b.locator(f'.note[data-id="{shared}"]').dblclick()
    b.keyboard.press("Control+Home")
    b.keyboard.type("B / ")
    b.keyboard.press("Escape")
    b.wait_for_timeout(300)
    assert b.locator(f'.note[data-id="{offline_note}"]').count() == 0

    ca.set_offline(False)
    a.wait_for_selector(".status[data-state=connected]")
    banner.wait_for(state="hidden")
    b.wait_for_selector(f'.note[data-id="{offline_note}"]')
    wait_text(b, offline_note, "écrit hors ligne")
    wait_text(a, shared, "B / avant / A")
    wait_text(b, shared, "B / avant / A")
    assert doc_notes(a) == doc_notes(b)


def test_presence_shows_names_and_sites(base_url, new_context, board_id):
    a = open_board(new_context(), base_url, board_id, "Awa", "Diéma")
    b = open_board(new_context(), base_url, board_id, "Bruno", "Évry")
    a.get_by_role("button", name=re.compile("Participants")).click()
    panel = a.locator("#participants")
    panel.locator('section[data-site="Évry"] li', has_text="Bruno").wait_for()
    panel.locator('section[data-site="Diéma"] li', has_text="Awa").wait_for()
    assert "Participants (2)" in a.locator(".participants-btn").inner_text()
    b.mouse.move(500, 400)
    b.mouse.move(520, 410)
    cursor = a.locator(".cursor", has_text="Bruno · Évry")
    cursor.wait_for()
    assert cursor.evaluate("e => getComputedStyle(e).color") == "rgb(21, 101, 192)"  # Évry's colour
    # B leaves: its presence goes away on A
    b.close()
    panel.locator('section[data-site="Évry"]').wait_for(state="detached", timeout=15000)


def test_follow_me_moves_the_others_view(base_url, new_context, board_id):
    a = open_board(new_context(), base_url, board_id, "Fatou", "Diéma")
    b = open_board(new_context(), base_url, board_id, "Bruno", "Évry")
    a.get_by_role("button", name="Animation").click()
    a.locator(".follow-me").click()
    a.evaluate("() => window.palabre.app.setView({x: -2000, y: -1000, z: 1}, true)")
    b.locator(".following", has_text="Fatou").wait_for()
    b.wait_for_function("() => { const r = window.palabre.app.visibleRect(); return Math.abs(r.x - 2000) < 200 && Math.abs(r.y - 1000) < 200 }")


def test_board_reopens_offline_from_the_browser(base_url, new_context, board_id):
    """With the service worker (/sw.js served), a board page reloads with no network at all."""
    import urllib.request
    try:
        urllib.request.urlopen(base_url + "/sw.js", timeout=3)
    except OSError:
        pytest.skip("server does not serve /sw.js (offline app shell unavailable)")
    ctx = new_context()
    a = open_board(ctx, base_url, board_id, "Awa", "Douentza")
    nid = create_note(a, "gardé dans le navigateur")
    a.wait_for_function("() => navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready.then(() => true)")
    a.evaluate("() => navigator.serviceWorker.ready")
    a.reload()  # now controlled by the service worker
    a.wait_for_function("() => navigator.serviceWorker.controller !== null")
    ctx.set_offline(True)
    a.reload()
    a.wait_for_selector(f'.note[data-id="{nid}"]')
    wait_text(a, nid, "gardé dans le navigateur")
    a.locator(".banner").wait_for(state="visible")
