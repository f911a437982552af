"""Short links: /s/new from the Share buttons, /s/<slug> redirects, /s/<slug>.json for Neuroglancer, /s/ list."""
import json
from datetime import timedelta
from urllib.parse import quote, unquote

from django.utils import timezone

from portal.models import ShortLink

STATE = {"layers": [{"type": "image", "name": "em", "source": "boss://https://b.org/demo/cortex/em"}],
         "position": [10, 20, 30]}
RECIPE = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": "1",
          "x0": "10", "x1": "20", "y0": "30", "y1": "40", "z0": "100", "z1": "110", "format": "tiff"}


def share(client, **fields):
    response = client.post("/s/new", fields)
    assert response.status_code == 302, response.content
    return ShortLink.objects.latest("created")


def test_a_public_viewer_link_opens_neuroglancer_on_the_state_file(client, alice, settings):
    settings.NDVIZ_URL = "https://viewer.example.org/"
    client.force_login(alice)
    link = share(client, kind="viewer", state="https://v.org/#!" + quote(json.dumps(STATE)), public="1")
    assert link.payload == STATE and link.public and link.owner == alice
    client.logout()
    response = client.get(f"/s/{link.slug}")
    assert response.status_code == 302
    assert response["Location"] == f"https://viewer.example.org/#!http://testserver/s/{link.slug}.json"
    state = client.get(f"/s/{link.slug}.json")
    assert state.json() == STATE and state["Access-Control-Allow-Origin"] == "*"


def test_a_private_viewer_link_is_for_its_owner_only(client, alice, bob, settings):
    settings.NDVIZ_URL = "https://viewer.example.org/"
    client.force_login(alice)
    link = share(client, kind="viewer", state=json.dumps(STATE))
    response = client.get(f"/s/{link.slug}")
    assert response.status_code == 302
    assert json.loads(unquote(response["Location"].split("#!", 1)[1])) == STATE  # the state itself
    client.force_login(bob)
    assert client.get(f"/s/{link.slug}").status_code == 404
    assert client.get(f"/s/{link.slug}.json").status_code == 404
    client.logout()
    assert client.get(f"/s/{link.slug}").status_code == 404


def test_a_recipe_link_opens_the_filled_form(client, alice):
    client.force_login(alice)
    response = client.post("/s/new?kind=recipe&collection=demo&experiment=cortex", {**RECIPE, "public": "1"})
    link = ShortLink.objects.get()
    assert response["Location"] == f"/s/#link-{link.slug}"
    assert link.kind == "recipe" and link.payload["x"] == ["10", "20"]
    opened = client.get(f"/s/{link.slug}")
    assert opened["Location"] == ("/c/demo/cortex/cutout/?channels=em&resolution=1&x0=10&x1=20&y0=30&y1=40"
                                  "&z0=100&z1=110&format=tiff")
    form = client.get(opened["Location"])
    assert b'name="y1" value="40"' in form.content


def test_expired_links_are_gone(client, alice):
    client.force_login(alice)
    link = share(client, kind="viewer", state=json.dumps(STATE), public="1")
    ShortLink.objects.filter(pk=link.pk).update(expires=timezone.now() - timedelta(seconds=1))
    assert client.get(f"/s/{link.slug}").status_code == 404
    assert client.get(f"/s/{link.slug}.json").status_code == 404


def test_the_list_shows_own_links_and_deletes_them(client, alice, bob):
    client.force_login(alice)
    mine = share(client, kind="viewer", state=json.dumps(STATE))
    client.force_login(bob)
    theirs = share(client, kind="viewer", state=json.dumps(STATE))
    page = client.get("/s/").content.decode()
    assert f'data-slug="{theirs.slug}"' in page and f'data-slug="{mine.slug}"' not in page
    assert client.post(f"/s/{mine.slug}/delete").status_code == 404  # not bob's
    assert client.post(f"/s/{theirs.slug}/delete").status_code == 302
    assert list(ShortLink.objects.values_list("slug", flat=True)) == [mine.slug]


def test_sharing_needs_a_login_and_something_to_share(client, alice):
    assert client.post("/s/new", {"kind": "viewer", "state": json.dumps(STATE)}).status_code == 302  # to login
    assert ShortLink.objects.count() == 0
    client.force_login(alice)
    assert client.post("/s/new", {"kind": "viewer", "state": "{oops"}).status_code == 400
    assert client.post("/s/new", {"kind": "other"}).status_code == 400


def test_share_buttons_are_on_the_experiment_form_and_job_pages(client, alice):
    client.force_login(alice)
    assert b'name="kind" value="viewer"' in client.get("/c/demo/cortex/").content
    form = client.get("/c/demo/cortex/cutout/").content.decode()
    assert 'formaction="/s/new?kind=recipe&amp;collection=demo&amp;experiment=cortex"' in form


def test_what_a_link_stores_is_checked_so_its_page_never_fails(client, alice):
    """Two 500s found by hand: a recipe for a collection BOSS can't name, and days past datetime's range."""
    client.force_login(alice)
    bad_name = client.post("/s/new", {"kind": "recipe", "collection": "a b", "experiment": "x", "public": "1"})
    assert bad_name.status_code == 400 and not ShortLink.objects.exists()
    for days in ("99999999999", "-1", "3651"):
        response = client.post("/s/new", {"kind": "recipe", "collection": "demo", "experiment": "cortex",
                                          "channels": "em", "days": days})
        assert response.status_code == 400 and b"days must be between 0" in response.content
    ok = client.post("/s/new", {"kind": "recipe", "collection": "demo", "experiment": "cortex", "channels": "em",
                                "days": "3650"})
    assert ok.status_code == 302 and ShortLink.objects.count() == 1
