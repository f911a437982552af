"""The form's preview: one BOSS cutout per preview, cached, the box drawn in red on the coarse section."""
import io

import requests
from PIL import Image

from cutouts.preview import BOX_COLOUR

QUERY = "channels=em&resolution=0&x0=512&x1=1024&y0=256&y1=768&z0=120&z1=140"


def cutouts_served(devboss):
    return requests.get(f"{devboss.url}/devboss/stats", timeout=10).json()["total"]


def reset(devboss):
    requests.delete(f"{devboss.url}/devboss/stats", timeout=10)


def test_one_cutout_request_per_preview_then_the_cache(client, alice, devboss):
    client.force_login(alice)
    client.get("/c/demo/cortex/")  # metadata into the cache: only the cutout is counted below anyway
    reset(devboss)
    response = client.get(f"/c/demo/cortex/preview.png?{QUERY}")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert cutouts_served(devboss) == 1
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.size == (512, 512)  # level 2: the 2048 × 2048 frame at 16 nm
    # The box at level 2 is x 128:256, y 64:192: its edges are red, its inside and outside are grey.
    assert image.getpixel((128, 100)) == BOX_COLOUR and image.getpixel((255, 100)) == BOX_COLOUR
    assert image.getpixel((200, 64)) == BOX_COLOUR and image.getpixel((200, 191)) == BOX_COLOUR
    inside, outside = image.getpixel((200, 120)), image.getpixel((400, 400))
    assert inside[0] == inside[1] == inside[2] and outside[0] == outside[1] == outside[2]
    again = client.get(f"/c/demo/cortex/preview.png?{QUERY}")
    assert again.content == response.content and cutouts_served(devboss) == 1


def test_anonymous_visitors_see_previews_of_public_data(client, boss_settings, devboss, db):
    boss_settings.BOSS_PUBLIC_TOKEN = "public"
    reset(devboss)
    response = client.get(f"/c/demo/cortex/preview.png?{QUERY.replace('z1=140', 'z1=124')}")  # thin: a projection
    assert response.status_code == 200 and cutouts_served(devboss) == 1


def test_bad_requests_and_boss_errors_give_a_small_error_image(client, alice):
    client.force_login(alice)
    bad = client.get("/c/demo/cortex/preview.png?channels=em&x0=a")
    assert bad.status_code == 400 and bad["Content-Type"] == "image/png"
    assert client.get(f"/c/demo/nothere/preview.png?{QUERY}").status_code == 404
    assert client.get(f"/c/demo/cortex/preview.png?{QUERY.replace('em', 'nochannel')}").status_code == 400


def test_the_form_shows_the_preview_and_the_recipes_for_its_box(client, alice):
    client.force_login(alice)
    page = client.get(f"/c/demo/cortex/cutout/?{QUERY}").content.decode()
    assert f'src="/c/demo/cortex/preview.png?{QUERY.replace("&", "&amp;")}&amp;format=ome-tiff"' in page
    assert "[512, 1024], [256, 768], [120, 140]" in page and "os.environ[&#x27;BOSS_TOKEN&#x27;]" in page
    token = alice.socialaccount_set.get().socialtoken_set.get().token
    assert token not in page
    recipes = client.get(f"/c/demo/cortex/recipes.json?{QUERY.replace('x1=1024', 'x1=600')}").json()["snippets"]
    assert any("vol[120:140, 256:768, 512:600]" in s["code"] for s in recipes)


def test_the_form_intern_snippet_returns_the_box_from_boss(alice, devboss):
    import os

    import numpy as np

    from cutouts.form_recipes import snippets

    data = {"collection": "demo", "experiment": "cortex", "channels": ["fluo"], "resolution": "0",
            "x": ["0", "300"], "y": ["100", "260"], "z": ["100", "104"], "format": "tiff"}
    (code,) = [s["code"] for s in snippets(data, "http://portal.example.org/") if s["title"].startswith("intern: BossRemote")]
    assert devboss.token("alice") not in code
    os.environ["BOSS_TOKEN"] = devboss.token("alice")
    try:
        scope = {}
        exec(code, scope)  # noqa: S102 - the recipe a user pastes, run as they would
    finally:
        del os.environ["BOSS_TOKEN"]
    from intern.resource.boss.resource import ChannelResource

    expected = devboss.remote(devboss.token("alice")).get_cutout(
        ChannelResource("fluo", "demo", "cortex", datatype="uint16"), 0, [0, 300], [100, 260], [100, 104])
    np.testing.assert_array_equal(scope["data"], expected)
