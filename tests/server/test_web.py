"""The server serves the committed web app without Node."""

from __future__ import annotations

import httpx

from tests.support.server import PalabreProcess


def test_app_page_and_bundle_are_served(palabre: PalabreProcess) -> None:
    with httpx.Client(base_url=palabre.http_url) as http:
        page = http.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert http.get("/b/atelier").text == page.text
        for asset in ("/static/app.js", "/static/app.css"):
            response = http.get(asset)
            assert response.status_code == 200 and len(response.content) > 1000
        assert http.get("/static/nope.js").status_code == 404


def test_bundle_is_compressed_and_cached_and_service_worker_at_root(palabre: PalabreProcess) -> None:
    with httpx.Client(base_url=palabre.http_url) as http:
        script = http.get("/static/app.js", headers={"Accept-Encoding": "gzip"})
        assert script.headers["content-encoding"] == "gzip"
        assert script.num_bytes_downloaded < len(script.content) / 2
        assert "immutable" in script.headers["cache-control"]
        worker = http.get("/sw.js")
        assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]
        assert worker.headers["cache-control"] == "no-cache"
