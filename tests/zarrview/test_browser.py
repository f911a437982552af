"""In chromium: the experiment page shows each channel's Zarr URL and snippets, and its Neuroglancer link
draws the channel in the local Neuroglancer client (https, from devboss) through `zarr://` on the portal."""
import json
import os
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.browse.test_browser import has_texture, panel_image, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("ZARR_SCREENSHOTS", "/tmp/zarr-shots"))


def test_the_neuroglancer_link_of_a_public_channel_draws_it_through_zarr(site, https_viewer, settings, page):
    settings.ZARR_NEUROGLANCER_URL = https_viewer.ndviz_url
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(site + "/c/demo/cortex/")
    section = page.locator('[data-zarr-channel="em"]')
    url = f"{site}/zarr/public/demo/cortex/em.ome.zarr/"
    assert section.locator("pre.zarr-url").inner_text() == url
    section.get_by_role("tab", name="zarr + dask").click()
    assert f'zarr.open_group("{url}", mode="r")' in section.locator("pre[data-lang=python]").inner_text()
    SHOTS.mkdir(exist_ok=True)
    section.screenshot(path=str(SHOTS / "experiment-zarr.png"))
    link = section.locator("a.zarr-neuroglancer").get_attribute("href")
    state = json.loads(unquote(link.partition("#!")[2]))
    assert state["layers"][0]["source"] == f"zarr://{url}"
    chunks = []
    viewer = page.context.new_page()
    viewer.on("response", lambda r: chunks.append(r.status) if "/zarr/public/" in r.url and r.url[-1].isdigit()
              else None)
    viewer.set_viewport_size({"width": 1000, "height": 800})
    seen = []
    viewer.on("request", lambda r: seen.append(r.url))
    viewer.on("console", lambda m: seen.append("console: " + m.text))
    viewer.goto(link)
    ok = wait_for(lambda: chunks, timeout=15)
    viewer.screenshot(path=str(SHOTS / "neuroglancer-zarr.png"))
    assert ok, "Neuroglancer fetched no chunk: " + "\n".join(x for x in seen if "zarr" in x or "console" in x)
    assert wait_for(lambda: has_texture(panel_image(viewer))), "the xy panel shows no image data"
    viewer.screenshot(path=str(SHOTS / "neuroglancer-zarr.png"))
    assert set(chunks) == {200}


def test_a_private_experiment_makes_a_link_and_shows_it_once(site, alice, page, live_server):
    from django.conf import settings as conf
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session.update({SESSION_KEY: str(alice.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: alice.get_session_auth_hash()})
    session.create()
    page.context.add_cookies([{"name": conf.SESSION_COOKIE_NAME, "value": session.session_key, "url": site}])
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(site + "/c/alice_lab/private_exp/")
    assert page.locator('[data-zarr-channel="em"] .zarr-private').count() == 1
    page.get_by_role("button", name="Make a Zarr link for this experiment").click()
    page.wait_for_url(site + "/c/alice_lab/private_exp/")
    url = page.locator('[data-zarr-channel="em"] pre.zarr-url').inner_text()
    assert url.startswith(site + "/zarr/") and url.endswith("/alice_lab/private_exp/em.ome.zarr/")
    page.locator(".zarr-view").screenshot(path=str(SHOTS / "private-zarr.png"))
    page.reload()
    assert page.locator('[data-zarr-channel="em"] pre.zarr-url').count() == 0  # shown once
    page.goto(site + "/account/zarr-links/")
    assert page.locator("table.zarr-links tbody tr").count() == 1
    page.screenshot(path=str(SHOTS / "zarr-links.png"), full_page=True)
