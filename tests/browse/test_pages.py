"""The browse pages and their JSON, as an anonymous visitor, against devboss (and a fake BOSS for failures)."""
import json
import re
from unittest import mock
from urllib.parse import unquote

import pytest

from portal.boss import client

pytestmark = pytest.mark.django_db


def viewer_state(url):
    return json.loads(unquote(url.partition("#!")[2]))


def test_collections_lists_public_ones_with_badges(boss, client_):
    response = client_.get("/c/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Collections · BOSS portal</title>" in html
    assert 'href="/c/demo/"' in html and "Public demo volumes" in html
    assert '<span class="badge badge-public">public</span>' in html
    assert "alice_lab" not in html


def test_the_filter_is_server_side(boss, client_):
    assert 'href="/c/demo/"' in client_.get("/c/?q=DEM").content.decode()
    html = client_.get("/c/?q=zzz").content.decode()
    assert 'href="/c/demo/"' not in html and "No collection matches" in html


def test_the_filter_searches_descriptions_too(boss, client_):
    # "Public demo volumes" is demo's description, not its name.
    html = client_.get("/c/?q=VOLUMES").content.decode()
    assert 'href="/c/demo/"' in html and "1 collection matching" in html
    data = client_.get("/c/?q=volumes&format=json").json()
    assert [c["name"] for c in data["collections"]] == ["demo"]


def fake_collections(user, names, refresh=False):
    return [client.Collection(name=n, description=f"about {n}", public=True) for n in names]


@mock.patch("portal.api_browse.client.get_collections", side_effect=fake_collections)
@mock.patch("portal.api_browse.client.list_collections", return_value=[f"c{i:03d}" for i in range(120)])
def test_it_paginates_past_fifty_and_puts_recent_collections_first(_list, _get, client_, boss):
    html = client_.get("/c/").content.decode()
    assert "page 1 of 3" in html and 'href="/c/c049/"' in html and 'href="/c/c050/"' not in html
    assert 'href="?page=2"' in html
    assert 'href="/c/c119/"' in client_.get("/c/?page=3").content.decode()
    filtered = client_.get("/c/?q=c11&format=json").json()
    assert filtered["count"] == 10
    session = client_.session
    session["recent_collections"] = ["c100", "c007"]
    session.save()
    data = client_.get("/c/?format=json").json()
    assert [c["name"] for c in data["collections"]][:3] == ["c100", "c007", "c000"]
    assert data["recent"] == ["c100", "c007"] and data["num_pages"] == 3 and data["count"] == 120


def test_opening_a_collection_remembers_it(boss, client_):
    client_.get("/c/demo/")
    assert client_.session["recent_collections"] == ["demo"]
    assert client_.get("/c/?format=json").json()["recent"] == ["demo"]


def test_the_collection_page_summarises_each_experiment(boss, client_):
    response = client_.get("/c/demo/")
    html = response.content.decode()
    assert "<title>demo · Collections · BOSS portal</title>" in html
    assert '<a href="/c/">Collections</a> <span aria-hidden="true">›</span> <span aria-current="page">demo</span>' in html
    row = re.search(r'<tr data-experiment="cortex">(.*?)</tr>', html, re.S).group(1)
    assert "2048 × 2048 × 128 voxels" in row and "8192 × 8192 × 5120 nm" in row
    assert "4 × 4 × 40 nm" in row and "<td>4</td>" in row and "anisotropic" in row


def test_the_experiment_page_shows_frame_levels_and_channels(boss, client_, settings):
    settings.NDVIZ_URL = "https://viewer.test/v/devboss/"
    html = client_.get("/c/demo/cortex/").content.decode()
    assert "<title>demo / cortex · BOSS portal</title>" in html
    assert '<a href="/c/demo/">demo</a> <span aria-hidden="true">›</span> <span aria-current="page">cortex</span>' in html
    z = re.search(r'<tr data-axis="z">(.*?)</tr>', html).group(1)
    assert z == "<td>z</td><td>100</td><td>228</td><td>128</td><td>40 nm</td><td>5120</td>"
    assert html.count("<tr data-level=") == 4
    level3 = re.search(r'<tr data-level="3">(.*?)</tr>', html, re.S).group(1)
    assert "32 × 32 × 40" in level3 and "256 × 256 × 128" in level3
    seg = re.search(r'<tr data-channel="seg">(.*?)</tr>', html, re.S).group(1)
    assert "<td>annotation</td><td>uint64</td><td>0</td>" in seg and "DOWNSAMPLED" in seg
    assert 'href="/c/demo/cortex/cutout/?channels=seg"' in seg
    link = re.search(r'viewer" href="([^"]+)"', seg).group(1)
    assert link.startswith("https://viewer.test/v/devboss/#!")
    state = viewer_state(link.replace("&amp;", "&"))
    assert state["layers"] == [{"type": "segmentation", "name": "seg",
                                "source": f"boss://{boss.url}/demo/cortex/seg?encoding=npz"}]
    all_link = re.search(r'viewer-all" href="([^"]+)"', html).group(1)
    assert [layer["name"] for layer in viewer_state(all_link)["layers"]] == ["em", "fluo", "seg"]


def test_a_uint16_channels_viewer_link_carries_a_display_window_from_its_data(boss, client_):
    """fluo (uint16) gets the 0.5-99.5th percentiles of a sample at the centre of the coarsest level, so
    the viewer does not draw it black against 0-65535; em (uint8) keeps the viewer's default."""
    import numpy as np

    from devboss.api import procedural

    html = client_.get("/c/demo/cortex/").content.decode()
    links = {name: viewer_state(re.search(rf'<tr data-channel="{name}">.*?btn-secondary viewer" href="([^"]+)"',
                                          html, re.S).group(1).replace("&amp;", "&"))
             for name in ("em", "fluo")}
    assert "shaderControls" not in links["em"]["layers"][0]
    low, high = links["fluo"]["layers"][0]["shaderControls"]["normalized"]["range"]
    # Level 3 of demo/cortex spans x, y 0:256 and z 100:228: the sample is its centre, 256 x 256 x 16.
    sample = procedural.cutout("demo/cortex/fluo", "uint16", "image", 3, (0, 256), (0, 256), (156, 172))
    want_low, want_high = np.percentile(sample, [0.5, 99.5])
    assert (low, high) == (int(np.floor(want_low)), int(np.ceil(want_high)))
    assert 0 <= low < high < 65535
    all_link = re.search(r'viewer-all" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    windows = {layer["name"]: layer.get("shaderControls") for layer in viewer_state(all_link)["layers"]}
    assert windows == {"em": None, "fluo": {"normalized": {"range": [low, high]}}, "seg": None}


def test_json_on_the_page_and_the_api_agree(boss, client_):
    page = client_.get("/c/demo/cortex/?format=json").json()
    api = client_.get("/api/collections/demo/experiments/cortex/").json()
    assert page == api
    assert api["coord_frame"]["extent"] == [2048, 2048, 128]
    assert [lv["voxel_size"] for lv in api["levels"]][:2] == [[4.0, 4.0, 40.0], [8.0, 8.0, 40.0]]
    assert {c["name"]: c["datatype"] for c in api["channels"]} == {"em": "uint8", "fluo": "uint16", "seg": "uint64"}
    assert api["channels"][0]["cutout_url"].endswith("/c/demo/cortex/cutout/?channels=em")
    experiments = client_.get("/api/collections/demo/experiments/").json()
    assert experiments == client_.get("/c/demo/?format=json").json()
    cortex = next(e for e in experiments["experiments"] if e["name"] == "cortex")
    assert cortex["coord_frame_detail"]["voxel_unit"] == "nanometers"
    collections = client_.get("/api/collections/").json()
    assert [c["name"] for c in collections["collections"]] == ["demo", "realboss"]


def test_a_private_collection_is_forbidden_with_a_login_link(boss, client_):
    response = client_.get("/c/alice_lab/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You don&#x27;t have access to this" in html
    assert 'href="/accounts/login/?next=%2Fc%2Falice_lab%2F"' in html
    api = client_.get("/api/collections/alice_lab/experiments/")
    assert api.status_code == 403 and api.json()["status"] == 403


def test_a_missing_resource_is_a_404_naming_it(boss, client_):
    response = client_.get("/c/demo/nope/")
    assert response.status_code == 404
    assert "Experiment demo/nope does not exist." in response.content.decode()
    assert client_.get("/api/collections/nope/experiments/").status_code == 404


def test_boss_down_is_a_502_page_without_traceback(client_, settings):
    from devboss import procs

    settings.BOSS_URL = f"http://127.0.0.1:{procs.free_port()}"
    response = client_.get("/c/")
    assert response.status_code == 502
    html = response.content.decode()
    assert "BOSS is unreachable" in html and "Traceback" not in html
    assert client_.get("/api/collections/").json()["error"] == "BOSS is unreachable"


def test_an_unreadable_answer_is_a_502(fake_boss, client_):
    fake_boss.body = {"name": "demo", "description": "", "creator": "x", "collections": ["e"]}  # no coord_frame
    response = client_.get("/c/demo/e/")
    assert response.status_code == 502 and "Traceback" not in response.content.decode()


def test_a_boss_500_is_a_502_and_a_slow_boss_a_504(fake_boss, client_, settings):
    fake_boss.status = 500
    assert client_.get("/c/demo/").status_code == 502
    fake_boss.status, fake_boss.delay = 200, 1.0
    settings.BOSS_PAGE_TIMEOUT, settings.BOSS_READ_TIMEOUT = 0.3, 60  # pages have their own, short budget
    response = client_.get("/c/demo/cortex/")
    assert response.status_code == 504
    assert "BOSS did not answer in time" in response.content.decode()


def test_descriptions_from_boss_are_escaped(fake_boss, client_):
    evil = {"name": "demo", "description": "<script>alert(1)</script>", "creator": "x", "public": True}
    for url, extra in (("/c/", {"collections": ["demo"]}), ("/c/demo/", {"experiments": []})):
        fake_boss.body = {**evil, **extra}
        html = client_.get(url).content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert" not in html


def test_refresh_goes_back_to_boss(fake_boss, client_):
    fake_boss.body = {"name": "demo", "description": "", "creator": "x", "public": True, "experiments": []}
    client_.get("/c/demo/")
    seen = len(fake_boss.paths)
    client_.get("/c/demo/")
    assert len(fake_boss.paths) == seen
    client_.get("/c/demo/?refresh=1")
    assert len(fake_boss.paths) == 2 * seen


@pytest.fixture
def client_(client):
    return client
