"""Phone-sized touch use, governance mode, and what is drawn (screenshot artefact)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.web.helpers import create_note, doc_notes, notes, open_board, wait_text

PHONE = dict(viewport={"width": 390, "height": 740}, has_touch=True, is_mobile=True, device_scale_factor=2)


def test_phone_touch_double_tap_edit_and_pinch(base_url, new_context, board_id, artifacts):
    laptop = open_board(new_context(), base_url, board_id, "Bruno", "Évry")
    phone_ctx = new_context(**PHONE)
    phone = open_board(phone_ctx, base_url, board_id, "Mariam", "Douentza")
    board = phone.locator("#board").bounding_box()
    x, y = board["x"] + 120, board["y"] + 200
    phone.touchscreen.tap(x, y)
    phone.touchscreen.tap(x, y)  # double tap on the background: a new note, in edit mode
    phone.wait_for_selector(".note.editing textarea:focus")
    phone.keyboard.type("Accès à l’eau")
    (nid,) = [n["id"] for n in notes(phone)]
    wait_text(laptop, nid, "Accès à l’eau")
    assert doc_notes(laptop)[nid]["site"] == "Douentza"

    # tap-select then drag with a finger through CDP touch events
    phone.evaluate("() => document.activeElement.blur()")
    cdp = phone_ctx.new_cdp_session(phone)
    nb = phone.locator(f'.note[data-id="{nid}"]').bounding_box()
    sx, sy = nb["x"] + 40, nb["y"] + 30

    def touch(kind, pts):
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": px, "y": py, "id": i} for i, (px, py) in enumerate(pts)]})

    touch("touchStart", [(sx, sy)])
    for i in range(1, 8):
        touch("touchMove", [(sx + 10 * i, sy + 15 * i)])
    touch("touchEnd", [])
    laptop.wait_for_function(f"() => +document.querySelector('.note[data-id=\"{nid}\"]').dataset.y !== {doc_notes(laptop)[nid]['y']}")

    # two-finger pinch on the background zooms in
    phone.keyboard.press("Escape")  # deselect: the inspector panel leaves the screen
    z0 = phone.evaluate("() => window.palabre.app.view.z")
    cx, cy = board["x"] + 200, board["y"] + 450
    touch("touchStart", [(cx - 30, cy), (cx + 30, cy)])
    for i in range(1, 8):
        touch("touchMove", [(cx - 30 - 12 * i, cy), (cx + 30 + 12 * i, cy)])
    touch("touchEnd", [])
    z1 = phone.evaluate("() => window.palabre.app.view.z")
    assert z1 > z0 * 1.8
    # the "+" button also creates a note (no keyboard on a phone)
    phone.locator(".toolbar .new-item").tap()
    phone.wait_for_function("() => document.querySelectorAll('.note').length === 2")
    phone.screenshot(path=str(artifacts / "phone.png"))
    assert not phone.errors


def _post(base_url, path, body):
    req = urllib.request.Request(base_url + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
    except OSError:
        return 0, None


def test_governance_actors_links_lanes(base_url, new_context, board_id):
    status, _ = _post(base_url, "/api/boards", {"template": "gouvernance", "id": board_id, "title": "Gouvernance EDDN"})
    query = "" if status == 201 else "&template=gouvernance&title=Gouvernance%20EDDN"
    a = open_board(new_context(), base_url, board_id, "Fatou", "Diéma", query)
    b = open_board(new_context(), base_url, board_id, "Bruno", "Évry")
    a.wait_for_selector(".zone[data-kind=lane]")
    a.get_by_role("button", name="Gouvernance").click()
    lanes = a.evaluate("""() => [...document.querySelectorAll('.zone[data-kind=lane]')].map(e => ({id: e.dataset.id, title: e.textContent}))""")
    assert len(lanes) >= 4
    ids = []
    for label in ("Conseil départemental", "Cercle de Diéma"):
        a.keyboard.press("n")
        a.wait_for_selector(".actor-label-input:focus")
        a.keyboard.press("Control+a")
        a.keyboard.type(label)
        a.keyboard.press("Enter")
        ids.append(a.evaluate("() => [...window.palabre.app.selection][0]"))
        a.keyboard.press("Escape")
    # put them apart, then link them with the link tool
    a.evaluate(f"""() => window.palabre.app.board.commitMoves([{{id: '{ids[0]}', x: 60, y: 40}}, {{id: '{ids[1]}', x: 600, y: 480}}])""")
    a.get_by_role("button", name="Lien").click()
    a.locator(f'.actor[data-id="{ids[0]}"]').click()
    a.locator(f'.actor[data-id="{ids[1]}"]').click()
    a.wait_for_selector(".link-label-input")
    a.locator(".link-label-input").fill("subvention")
    a.locator(".link-label-input").press("Enter")
    b.locator(".link text", has_text="subvention").wait_for()
    link = b.evaluate("() => Object.values(window.palabre.doc.getMap('links').toJSON())[0]")
    assert link["from"] == ids[0] and link["to"] == ids[1] and link["directed"] is True and link["label"] == "subvention"
    # badge from the lane it was dropped in; dragging to another lane moves the badge
    a.get_by_role("button", name="Sélection").click()
    fa = b.evaluate(f"() => window.palabre.doc.getMap('actors').get('{ids[0]}').get('functions').toArray()")
    box = a.locator(f'.actor[data-id="{ids[0]}"]').bounding_box()
    lane2 = a.locator(".zone[data-kind=lane]").nth(1).bounding_box()
    a.mouse.move(box["x"] + 20, box["y"] + 20)
    a.mouse.down()
    a.mouse.move(box["x"] + 40, lane2["y"] + lane2["height"] / 2, steps=6)
    a.mouse.up()
    b.wait_for_function(f"() => JSON.stringify(window.palabre.doc.getMap('actors').get('{ids[0]}').get('functions').toArray()) !== {json.dumps(json.dumps(fa))}")
    assert b.locator(f'.actor[data-id="{ids[0]}"] .badge').count() == 1
    # free drawing
    a.get_by_role("button", name="Dessin").click()
    bb = a.locator("#board").bounding_box()
    a.mouse.move(bb["x"] + 700, bb["y"] + 100)
    a.mouse.down()
    for i in range(10):
        a.mouse.move(bb["x"] + 700 + 15 * i, bb["y"] + 100 + (i % 2) * 30)
    a.mouse.up()
    b.wait_for_selector("polyline.stroke[data-id]")
    # delete the link on B: A sees it go
    b.locator(".link .hit").first.dispatch_event("pointerdown", {"pointerId": 1, "button": 0, "isPrimary": True})
    b.evaluate(f"() => window.palabre.app.select([Object.keys(window.palabre.doc.getMap('links').toJSON())[0]])")
    b.get_by_role("button", name="Supprimer").click()
    a.wait_for_selector(".link", state="detached")


def test_board_screenshot_artefact_and_drawn_state(base_url, new_context, board_id, artifacts):
    from PIL import Image

    status, _ = _post(base_url, "/api/boards", {"template": "atelier-du-futur", "id": board_id, "title": "Atelier du Futur — EDDN"})
    query = "" if status == 201 else "&template=atelier-du-futur&title=Atelier%20du%20Futur"
    page = open_board(new_context(), base_url, board_id, "Fatou", "Diéma", query)
    page.wait_for_selector(".zone")
    texts = ["Manque de circulation de l’information", "Décisions prises à Évry seulement", "Financements difficiles"]
    ids = [create_note(page, t) for t in texts]
    # recolour the second note, group the first two, vote twice on the third
    page.locator(f'.note[data-id="{ids[1]}"]').click()
    page.get_by_role("button", name="Couleur #90caf9").click()
    page.locator(f'.note[data-id="{ids[0]}"]').click(modifiers=["Shift"])
    page.get_by_role("button", name="Grouper", exact=True).click()
    page.wait_for_selector(".group")
    page.get_by_role("button", name="Voter").click()
    page.locator(f'.note[data-id="{ids[2]}"]').click()
    page.locator(f'.note[data-id="{ids[2]}"]').click()
    budget = page.locator(".budget")
    assert budget.get_attribute("data-left") is not None
    page.get_by_role("button", name="Sélection").click()
    page.keyboard.press("Escape")
    page.keyboard.press("0")  # fit
    page.wait_for_timeout(200)
    path = artifacts / "board.png"
    page.locator("#board").screenshot(path=str(path))

    drawn = {n["id"]: n for n in notes(page)}
    assert [drawn[i]["text"] for i in ids] == texts
    assert "rgb(144, 202, 249)" in drawn[ids[1]]["color"]
    assert drawn[ids[0]]["group"] and drawn[ids[0]]["group"] == drawn[ids[1]]["group"]
    assert page.locator(f'.note[data-id="{ids[2]}"] .note-votes').get_attribute("data-votes") == "2"
    assert page.locator(".zone").count() >= 1
    # the pixels agree with the DOM: sample the centre of the recoloured note
    img = Image.open(io.BytesIO(path.read_bytes())).convert("RGB")
    board = page.locator("#board").bounding_box()
    nb = page.locator(f'.note[data-id="{ids[1]}"]').bounding_box()
    # (a vertical strip near the right edge, away from the text; most pixels are the note colour)
    ox, oy = nb["x"] - board["x"], nb["y"] - board["y"]
    strip = [img.getpixel((int(ox + nb["width"] - 6), int(oy + nb["height"] * f / 10))) for f in range(3, 8)]
    close = [px for px in strip if max(abs(a - b) for a, b in zip(px, (144, 202, 249))) < 12]
    assert len(close) >= 3, strip
    assert path.stat().st_size > 5000


def test_home_lists_and_opens_boards(base_url, new_context, board_id):
    page = new_context().new_page()
    page.goto(base_url + "/")
    page.get_by_role("heading", name="Créer un tableau").wait_for()
    assert page.locator("#tpl option").count() >= 6
    page.locator("#open-name").fill(board_id)
    page.get_by_role("button", name="Ouvrir").click()
    page.wait_for_url(f"**/b/{board_id}")
    page.wait_for_selector(".status[data-state=connected]")
    # first visit without a name: the profile dialog asks who you are
    dialog = page.locator("dialog.profile")
    dialog.get_by_label("Nom").fill("Oumar")
    dialog.get_by_label("Site").fill("Nioro-du-Sahel")
    dialog.get_by_role("button", name="Enregistrer").click()
    dialog.wait_for(state="hidden")
    page.get_by_role("button", name=re.compile("Participants")).click()
    page.locator('#participants section[data-site="Nioro-du-Sahel"] li', has_text="Oumar").wait_for()
    # English is available
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[lang=en]")
    page.get_by_role("button", name="Governance").wait_for()


def test_create_from_a_server_template(base_url, new_context):
    """The home page lists the server's templates and creates a board from one through the API:
    the board opens with the template's zones (here SPIRAL's three questions)."""
    page = new_context().new_page()
    page.goto(base_url + "/")
    page.get_by_role("heading", name="Créer un tableau").wait_for()
    options = page.locator("#tpl option")
    assert "spiral" in [options.nth(i).get_attribute("value") for i in range(options.count())]
    page.locator("#tpl").select_option("spiral")
    title = f"SPIRAL Diéma {uuid.uuid4().hex[:6]}"
    page.get_by_label("Titre").fill(title)
    page.get_by_role("button", name="Créer").click()
    page.wait_for_url("**/b/*")
    board = page.url.rsplit("/", 1)[1]
    created = json.loads(urllib.request.urlopen(f"{base_url}/api/boards/{board}").read())
    assert created["meta"]["template"] == "spiral" and created["meta"]["title"] == title
    assert len(created["zones"]) == 3
    page.locator(".zone", has_text=created["zones"][0]["title"]).first.wait_for()


ROOT = Path(__file__).resolve().parents[2]


def test_committed_bundle_matches_a_fresh_build():
    web = ROOT / "client" / "web"
    if not shutil.which("node") or not (web / "node_modules" / "esbuild").exists():
        pytest.skip("node or client/web/node_modules missing: run `npm ci` in client/web")
    r = subprocess.run(["node", "build.mjs", "--check"], cwd=web, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
