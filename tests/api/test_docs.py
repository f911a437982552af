"""/api/docs/: Swagger UI over the schema, for anyone, from the portal's own static files (the Content
Security Policy allows no other origin and no inline script), linked from every page's footer."""
import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_read_the_schema_and_the_docs(client):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/schema/?format=json")["Content-Type"].startswith("application/vnd.oai.openapi+json")
    page = client.get("/api/docs/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_the_docs_page_runs_only_static_scripts_of_its_own(client):
    html = client.get("/api/docs/").content.decode()
    scripts = re.findall(r"<script([^>]*)>", html)
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs in scripts]  # no inline script
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in styles
    assert "<style" not in html and " style=" not in html
    for url in sources + styles:
        if url.startswith("/static/"):
            assert finders.find(url[len("/static/"):]), f"{url} is not a static file"
        else:
            assert url.startswith("/api/docs/?script"), url


def test_the_docs_start_up_script_points_at_the_schema(client):
    script = client.get("/api/docs/?script")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert 'url: "/api/schema/"' in script.content.decode()


def test_every_page_links_the_docs_in_its_footer(client):
    footer = re.search(r"<footer[^>]*>.*</footer>", client.get("/api/docs/").content.decode(), re.S).group(0)
    assert '<a href="/api/docs/">JSON API</a>' in footer
