"""The paste box and the bookmarklet's target: a viewer link becomes the pre-filled cutout form."""
from types import SimpleNamespace
from urllib.parse import quote

from portal import ngstate
from portal.boss import client as boss_client


def viewer_link(alice, box, names=("em",)):
    detail = boss_client.get_experiment_detail(alice, "demo", "cortex")
    chans = [SimpleNamespace(name=n, type="image") for n in names]
    return ngstate.viewer_url("demo", "cortex", chans, detail.frame, ndviz_url="https://v.example.org/",
                              boss_url="https://boss.example.org", box=box)


def test_a_pasted_link_redirects_to_the_filled_form(client, alice):
    client.force_login(alice)
    url = viewer_link(alice, ((512, 1024), (256, 768), (120, 140)), names=("em", "fluo"))
    response = client.post("/cutouts/from-viewer/", {"url": url})
    assert response.status_code == 302
    assert response["Location"] == ("/c/demo/cortex/cutout/?channels=em&channels=fluo&resolution=0&x0=512&x1=1024"
                                     "&y0=256&y1=768&z0=120&z1=140&format=tiff-zip")  # uint8 + uint16: a zip holds both
    form = client.get(response["Location"])
    assert form.status_code == 200
    assert b'name="x0" value="512"' in form.content and b'name="z1" value="140"' in form.content


def test_the_bookmarklet_sends_a_get(client, alice):
    client.force_login(alice)
    url = viewer_link(alice, ((0, 100), (0, 100), (100, 110)))
    response = client.get("/cutouts/from-viewer/?url=" + quote(url, safe=""))
    assert response.status_code == 302 and "x0=0&x1=100" in response["Location"]


def test_an_unreadable_link_re_shows_the_box_with_messages(client, alice):
    client.force_login(alice)
    response = client.post("/cutouts/from-viewer/", {"url": "https://v.example.org/#!{oops"})
    assert response.status_code == 400
    assert b"not valid JSON" in response.content and b"{oops" in response.content


def test_non_boss_layers_become_warnings_on_the_form(client, alice):
    client.force_login(alice)
    state = '{"layers":[{"type":"image","name":"em","source":"boss://https://b.org/demo/cortex/em"},' \
            '{"type":"image","name":"gs","source":"precomputed://gs://x"}],"position":[1024,1024,150]}'
    response = client.post("/cutouts/from-viewer/", {"url": state, "depth": "8"}, follow=True)
    assert response.status_code == 200
    assert b"not a BOSS source" in response.content
    assert b'name="z0" value="146"' in response.content


def test_the_form_and_experiment_pages_offer_the_box_and_bookmarklet(client, alice):
    client.force_login(alice)
    for page in ("/c/demo/cortex/cutout/", "/c/demo/cortex/"):
        body = client.get(page).content.decode()
        assert 'action="/cutouts/from-viewer/"' in body
        assert "javascript:location.href=&#x27;" not in body  # literal template text, not escaped
        assert "javascript:location.href='http://testserver/cutouts/from-viewer/?url='+encodeURIComponent(location.href)" in body


def test_the_portals_own_short_links_paste_back_with_the_users_rights(client, alice, bob):
    """A shared viewer link opens Neuroglancer on `#!<portal>/s/<slug>.json`; pasting that (or the short
    link itself) fills the form from the stored state, looked up in the database, never fetched."""
    from portal.models import ShortLink

    client.force_login(alice)
    url = viewer_link(alice, ((512, 1024), (256, 768), (120, 140)), names=("em", "fluo"))
    want = ("/c/demo/cortex/cutout/?channels=em&channels=fluo&resolution=0&x0=512&x1=1024"
            "&y0=256&y1=768&z0=120&z1=140&format=tiff-zip")  # uint8 + uint16: a zip holds both
    for public in (True, False):
        assert client.post("/s/new", {"kind": "viewer", "state": url, **({"public": "1"} if public else {})}
                           ).status_code == 302
        slug = ShortLink.objects.latest("created").slug
        for pasted in (f"https://v.example.org/#!http://testserver/s/{slug}.json",
                       "https://v.example.org/#!" + quote(f"http://testserver/s/{slug}.json", safe=""),
                       f"http://testserver/s/{slug}"):
            response = client.post("/cutouts/from-viewer/", {"url": pasted})
            assert (response.status_code, response["Location"]) == (302, want), pasted
    # alice's private link is not bob's to read; another site's stored state is never fetched.
    client.force_login(bob)
    response = client.post("/cutouts/from-viewer/", {"url": f"http://testserver/s/{slug}"})
    assert response.status_code == 400 and b"private to someone else" in response.content
    response = client.post("/cutouts/from-viewer/", {"url": f"https://v.example.org/#!https://elsewhere.org/s/{slug}.json"})
    assert response.status_code == 400 and b"stored elsewhere" in response.content
    client.force_login(alice)
    assert client.post("/s/new?kind=recipe&collection=demo&experiment=cortex",
                       {"channels": ["em"], "resolution": "0", "x0": "0", "x1": "10", "y0": "0", "y1": "10",
                        "z0": "100", "z1": "110"}).status_code == 302
    recipe = ShortLink.objects.latest("created").slug
    response = client.post("/cutouts/from-viewer/", {"url": f"http://testserver/s/{recipe}"})
    assert response.status_code == 400 and b"cutout recipe" in response.content


def test_an_all_channels_link_preselects_a_format_that_holds_them_and_the_form_submits(client, alice, monkeypatch):
    """The experiment page's "Open in Neuroglancer" link shows em (uint8), fluo (uint16) and seg (uint64): one
    OME-TIFF can't hold mixed datatypes, so the pasted link pre-selects a format that can, and submitting the
    form as filled queues the job."""
    import html
    import re

    from cutouts import service
    from cutouts.models import CutoutJob
    from cutouts.pipeline.spec import ChannelSpec
    from cutouts.pipeline.writers import FORMATS

    monkeypatch.setattr(service, "enqueue", lambda job: None)  # the job is not run here
    client.force_login(alice)
    page = client.get("/c/demo/cortex/").content.decode()
    all_channels = html.unescape(re.search(r'<a class="btn btn-primary viewer-all" href="([^"]+)"', page).group(1))
    response = client.post("/cutouts/from-viewer/", {"url": all_channels})
    assert response.status_code == 302
    form = client.get(response["Location"])
    body = form.content.decode()
    checked = re.findall(r'name="channels" value="(\w+)"[^>]*checked', body)
    assert checked == ["em", "fluo", "seg"]
    (chosen,) = re.findall(r'name="format" value="([\w-]+)" checked', body)
    assert chosen == "tiff-zip"
    detail = boss_client.get_experiment_detail(alice, "demo", "cortex")
    specs = [ChannelSpec(c.name, c.datatype, c.type) for c in detail.channels]
    assert FORMATS[chosen].layout_problem(specs) is None
    assert FORMATS["ome-tiff"].layout_problem(specs) is not None  # what the default would have refused

    # Submit the form exactly as it was filled (every named input, the checked boxes and radios).
    fields = {}
    for tag in re.findall(r"<(?:input|select)[^>]*>", body):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="(\w+)"', tag)
        if not name or name.group(1) == "csrfmiddlewaretoken":
            continue
        if kind and kind.group(1) in ("checkbox", "radio") and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields.setdefault(name.group(1), []).append(html.unescape(value.group(1)) if value else "")
    fields["resolution"] = re.findall(r'<option value="(\d+)" selected', body)
    submitted = client.post(form.request["PATH_INFO"], fields)
    assert submitted.status_code == 302, re.findall(r'class="field-error"[^>]*>([^<]+)<', submitted.content.decode())
    job = CutoutJob.objects.get(owner=alice)
    assert (job.channels, job.format, job.state) == (["em", "fluo", "seg"], "tiff-zip", "queued")
    assert submitted["Location"] == f"/cutouts/{job.pk}/"
