"""The catalogue home page: a card per readable experiment, a server-side search, thumbnails read with the
visitor's own identity and cached per caller, and a deadline that a hung BOSS can't stretch."""
import io
import time

import numpy as np
import pytest
from django.core.cache import cache
from PIL import Image

from devboss.api import procedural
from portal import catalogue
from portal.views import PLACEHOLDER_SVG
from tests.browse.test_private import logged_in_user, oidc_boss  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def cards(html):
    return sorted(set(part.split('"', 1)[0] for part in html.split('data-card="')[1:]))


def test_the_anonymous_visitor_sees_public_experiments_as_cards_and_a_login_hint(boss, client):
    html = client.get("/").content.decode()
    found = cards(html)
    assert {"demo/cortex", "demo/timelapse", "demo/large", "realboss/offset"} <= set(found)
    assert not any(c.startswith(("alice_lab/", "bob_lab/")) for c in found)
    assert "You are seeing <strong>public data</strong>" in html
    assert 'href="/accounts/login/?next=/"' in html
    cortex = html.split('data-card="demo/cortex"')[1].split("</li>")[0]
    assert "4 × 4 × 40 nm" in cortex and "2048 × 2048 × 128 voxels" in cortex
    assert "em <span" in cortex and "seg <span" in cortex and "labels" in cortex
    # 2048 * 2048 * 128 voxels of uint8 + uint16 + uint64: 11 bytes a voxel
    assert "5.91 GB" in cortex and 'badge badge-public' in cortex
    assert 'src="/catalogue/demo/cortex/thumbnail"' in cortex


def test_the_search_is_server_side_over_names_and_descriptions(boss, client):
    assert cards(client.get("/?q=TIMELAPSE").content.decode()) == ["demo/timelapse"]
    # "calcium" names timelapse's channel; "Public demo volumes" is demo's description
    assert cards(client.get("/?q=calcium").content.decode()) == ["demo/timelapse"]
    described = cards(client.get("/?q=demo+volumes").content.decode())
    assert "demo/cortex" in described and not any(c.startswith("realboss/") for c in described)
    html = client.get("/?q=zzzz").content.decode()
    assert cards(html) == [] and "Nothing matches “zzzz”" in html


def test_alice_sees_her_private_experiment_and_bob_does_not(oidc_boss, client):  # noqa: F811
    alice, _ = logged_in_user(oidc_boss, "alice")
    bob, _ = logged_in_user(oidc_boss, "bob")
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert "alice_lab/private_exp" in cards(html) and "bob_lab/bob_exp" not in cards(html)
    assert "You are seeing" not in html
    mine = html.split('data-card="alice_lab/private_exp"')[1].split("</li>")[0]
    assert "badge badge-private" in mine
    client.force_login(bob)
    found = cards(client.get("/").content.decode())
    assert "bob_lab/bob_exp" in found and "alice_lab/private_exp" not in found


def decoded(response):
    assert response["Content-Type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_a_thumbnail_is_the_middle_section_of_the_first_image_channel_at_the_coarsest_level(boss, client):
    response = client.get("/catalogue/demo/cortex/thumbnail")
    assert response.status_code == 200 and "private" in response["Cache-Control"]
    # cortex: 4 levels, anisotropic: level 3 is 256 × 256 in x, y and keeps z 100:228; middle z 164
    section = procedural.cutout("demo/cortex/em", "uint8", "image", 3, (0, 256), (0, 256), (164, 165))[0, 0]
    expected = np.asarray(Image.open(io.BytesIO(catalogue.png_of(section))))
    got = decoded(response)
    assert got.shape == (256, 256) and np.array_equal(got, expected)
    assert got.std() > 10  # a picture, not a flat grey


def test_a_private_thumbnail_is_cached_per_user_and_never_served_to_another(oidc_boss, client):  # noqa: F811
    alice, _ = logged_in_user(oidc_boss, "alice")
    bob, _ = logged_in_user(oidc_boss, "bob")
    url = "/catalogue/alice_lab/private_exp/thumbnail"
    client.force_login(alice)
    assert decoded(client.get(url)).std() > 0
    assert cache.get(catalogue.thumbnail_key(alice, "alice_lab", "private_exp")) is not None
    client.force_login(bob)
    refused = client.get(url)
    assert refused["Content-Type"] == "image/svg+xml" and refused.content == PLACEHOLDER_SVG
    client.logout()
    assert client.get(url)["Content-Type"] == "image/svg+xml"  # anonymous: the placeholder


def test_an_experiment_without_a_served_image_channel_gets_a_placeholder_not_an_error(boss, client):
    response = client.get("/catalogue/demo/nosuch/thumbnail")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response["X-Thumbnail-Problem"]


def test_a_hung_boss_does_not_hang_the_home_page_beyond_the_page_timeout(fake_boss, client, settings):
    fake_boss.delay = 3.0
    settings.BOSS_PAGE_TIMEOUT, settings.BOSS_READ_TIMEOUT = 0.5, 60
    started = time.monotonic()
    response = client.get("/")
    assert time.monotonic() - started < 1.5
    assert response.status_code == 200
    assert "The catalogue can't be shown right now: BOSS did not answer in time." in response.content.decode()
