"""Every recipe the cutout form shows ("Reproduce this box", cutouts/form_recipes.py) runs as printed against devboss
and gives devboss's voxels: the intern script, curl of BOSS's REST cutout (then the .blosc file read as its comment
says), the portal's own API with its "get a token" command (the portal in live_server, for curl to reach it), and
boss-cutout (the over-cap alternative's command too). The code is taken from the rendered page exactly as shown.
Also: the BOSS REST recipe only under BOSS's per-request cap; the portal-API recipe carries every field of the form."""
import io
import json
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import blosc
import numpy as np
import pytest
import requests
import tifffile

from cutouts.form_recipes import BOSS_REQUEST_BYTES
from cutouts.models import CutoutJob
from devboss.api import procedural
from portal.units import human_bytes
from tests.cutouts.test_jobs import wait_for
from tests.jobs import password_grant

pytestmark = pytest.mark.django_db(transaction=True)

FORM = "/c/demo/cortex/cutout/"
VENV_BIN = Path(sys.executable).parent
BOX = "resolution=1&x0=500&x1=540&y0=20&y1=60&z0=110&z1=120"  # across a cuboid's edge in x and in z
SMALL = f"channels=em&channels=fluo&{BOX}&format=tiff-zip"
DTYPES = {"em": "uint8", "fluo": "uint16", "seg": "uint64"}
MiB = 1024 * 1024


def want(channel, resolution, x, y, z):
    kind = "annotation" if channel == "seg" else "image"
    return procedural.cutout(f"demo/cortex/{channel}", DTYPES[channel], kind, resolution, x, y, z)[0]


@pytest.fixture
def site(live_server, alice, boss_settings, devboss, client):
    """The portal in live_server, pointed at devboss, and alice's session cookie for it."""
    boss_settings.BOSS_PUBLIC_URL = devboss.url
    client.force_login(alice)
    site = live_server.url
    name = boss_settings.SESSION_COOKIE_NAME
    site_cookies = {name: client.cookies[name].value}
    return type("Site", (), {"url": site, "get": lambda self, path: requests.get(site + path, cookies=site_cookies,
                                                                                   timeout=60)})()


def shown_code(html):
    """{id: code} of every code block of the page, as a reader sees (and copies) it."""
    blocks = re.findall(r'<pre class="code-block[^"]*" id="([\w-]+)"[^>]*><code>(.*?)</code></pre>', html, re.S)
    return {name: unescape(code) for name, code in blocks}


def page_code(site, query):
    response = site.get(f"{FORM}?{query}")
    assert response.status_code == 200, response.text[:2000]
    return shown_code(response.text)


def run(command, cwd, **env):
    """Run `command` with bash, as a user pasting it into a terminal would; return its stdout."""
    done = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", **env})
    assert done.returncode == 0, f"{command}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done.stdout


def test_the_intern_recipe_runs_as_printed(site, devboss, tmp_path):
    code = page_code(site, SMALL)["recipe-code-intern"]
    assert f"'host': '{devboss.url.split('://')[1]}'" in code and "os.environ['BOSS_TOKEN']" in code
    (tmp_path / "recipe.py").write_text(code)
    out = run(f"{sys.executable} recipe.py", tmp_path, BOSS_TOKEN=devboss.token("alice"))
    assert "em (10, 40, 40) uint8 -> em.npy" in out
    for channel in ("em", "fluo"):
        got = np.load(tmp_path / f"{channel}.npy")
        np.testing.assert_array_equal(got, want(channel, 1, (500, 540), (20, 60), (110, 120)))


def test_the_boss_rest_curl_recipe_runs_as_printed_and_reads_as_its_comments_say(site, devboss, tmp_path, monkeypatch):
    code = page_code(site, SMALL)["recipe-code-curl"]
    run(code, tmp_path, BOSS_TOKEN=devboss.token("alice"))
    monkeypatch.chdir(tmp_path)
    readers = re.findall(r"^# read (\w+)\.blosc: (.+)$", code, re.M)
    assert [name for name, _ in readers] == ["em", "fluo"]
    for name, expression in readers:
        got = eval(expression, {"numpy": np, "blosc": blosc})  # noqa: S307 (the recipe's own words)
        np.testing.assert_array_equal(got, want(name, 1, (500, 540), (20, 60), (110, 120)))


@pytest.mark.usefixtures("celery_worker")
def test_the_portal_api_recipe_and_its_token_command_run_as_printed(site, devboss, alice, tmp_path, client):
    shown = page_code(site, f"channels=em&{BOX}&format=ome-tiff")
    assert f"{site.url}/api/cutouts/" in shown["recipe-code-api"]
    out = run(shown["recipe-code-token"] + "\n" + shown["recipe-code-api"], tmp_path,
              BOSS_USER="alice", BOSS_PASSWORD=devboss.password("alice"))
    answer = json.loads(out)
    assert "id" in answer, answer
    job = CutoutJob.objects.get(pk=answer["id"])
    assert job.owner == alice and job.channels == ["em"] and job.format == "ome-tiff"
    assert (job.resolution, job.x0, job.x1, job.y0, job.y1, job.z0, job.z1) == (1, 500, 540, 20, 60, 110, 120)
    job = wait_for(job)
    assert job.state == "done", job.error
    client.force_login(alice)
    got = b"".join(client.get(f"/cutouts/{job.pk}/download").streaming_content)
    np.testing.assert_array_equal(tifffile.imread(io.BytesIO(got)), want("em", 1, (500, 540), (20, 60), (110, 120)))


def test_the_boss_cutout_recipe_runs_as_printed(site, devboss, tmp_path):
    code = page_code(site, SMALL)["recipe-code-cli"]
    assert code.endswith("--token-file ~/.boss-token")
    (tmp_path / ".boss-token").write_text(devboss.token("alice") + "\n")
    run(code, tmp_path, HOME=str(tmp_path))
    folder = tmp_path / re.search(r"--out (\S+)", code).group(1)
    for channel in ("em", "fluo"):
        slices = [tifffile.imread(folder / f"{channel}_z{z:05d}.tif") for z in range(110, 120)]
        np.testing.assert_array_equal(np.stack(slices), want(channel, 1, (500, 540), (20, 60), (110, 120)))


@pytest.mark.parametrize("choice,flags", [
    ("", "--format ome-tiff"),  # the form's default format: one OME-TIFF
    ("&format=tiff-zip&compression=zstd", "--format tiff-stack --compression zstd"),  # its slices, unzipped
])
def test_the_over_cap_command_runs_as_printed(site, devboss, tmp_path, settings, choice, flags):
    settings.CUTOUT_MAX_BYTES = 64 * 1024
    shown = page_code(site, "channels=em&resolution=0&x0=1000&x1=1100&y0=0&y1=100&z0=100&z1=120" + choice)  # 200 kB
    assert shown["cli-command-1"] == shown["recipe-code-cli"]
    assert flags in shown["cli-command-1"]
    (tmp_path / ".boss-token").write_text(devboss.token("alice"))
    run(shown["cli-command-1"], tmp_path, HOME=str(tmp_path))
    folder = tmp_path / re.search(r"--out (\S+)", shown["cli-command-1"]).group(1)
    if "tiff-stack" in flags:
        got = np.stack([tifffile.imread(folder / f"em_z{z:05d}.tif") for z in range(100, 120)])
        with tifffile.TiffFile(folder / "em_z00100.tif") as tif:  # ImageJ slices: deflate, what Fiji's opener reads
            assert tif.pages[0].compression == tifffile.COMPRESSION.ADOBE_DEFLATE
    else:
        (path,) = folder.glob("*.ome.tif")
        got = tifffile.imread(path)
    np.testing.assert_array_equal(got, want("em", 0, (1000, 1100), (0, 100), (100, 120)))


@pytest.mark.parametrize(
    "channel,z1,shown",
    [("em", 228, True),  # the whole frame of uint8: 512 MiB
     ("fluo", 165, True), ("fluo", 166, False),  # 2048 × 2048 × 65 × 2 bytes is exactly the 520 MiB cap
     ("seg", 165, True), ("seg", 166, False)],  # 64-bit channels count a quarter of their bytes
)
def test_the_boss_rest_recipe_appears_only_under_bosss_request_cap(site, channel, z1, shown):
    response = site.get(f"{FORM}?channels={channel}&resolution=0&x0=0&x1=2048&y0=0&y1=2048&z0=100&z1={z1}")
    html = unescape(response.text)
    assert ('id="recipe-code-curl"' in html) is shown
    assert ("curl-too-big" in html) is not shown
    if not shown:
        nbytes = 2048 * 2048 * (z1 - 100) * 2
        assert nbytes > BOSS_REQUEST_BYTES
        assert 'href="#recipe-cli" class="recipe-link" data-tab="recipe-tab-cli">boss-cutout</a>' in html
        assert f"this box asks for {human_bytes(nbytes)} of {channel}." in html
    assert 'id="recipe-code-cli"' in html  # boss-cutout always


@pytest.mark.usefixtures("celery_worker")
def test_the_portal_api_recipe_carries_every_field_and_a_parts_box_replays(site, devboss, alice, tmp_path, settings,
                                                                           client):
    settings.CUTOUT_MAX_BYTES = 1 * MiB
    query = ("channels=em&resolution=0&x0=300&x1=556&y0=1000&y1=1256&z0=100&z1=148&format=imagej-tiff&parts=on"
             "&csrfmiddlewaretoken=x&public=1")  # 3 MiB in parts of 1 MiB; what else the form posts isn't sent on
    check = site.get(f"{FORM}check.json?{query}").json()
    assert check["errors"] == {}
    shown = shown_code(check["recipes"])
    body = json.loads(re.search(r"-d '(\{.*\})' ", shown["recipe-code-api"]).group(1))
    assert body == {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
                    "x": [300, 556], "y": [1000, 1256], "z": [100, 148], "format": "imagej-tiff", "parts": True}
    assert shown["recipe-code-api"] == page_code(site, query)["recipe-code-api"]  # the page says the same

    bearer = {"HTTP_AUTHORIZATION": f"Bearer {password_grant(devboss, 'alice')['access_token']}"}
    replay = client.post("/api/cutouts/", body, content_type="application/json", **bearer)
    assert replay.status_code == 202, replay.content
    without = client.post("/api/cutouts/", {**body, "parts": False}, content_type="application/json", **bearer)
    assert without.status_code == 400 and "in parts" in without.json()["errors"]["size"]

    out = run(shown["recipe-code-token"] + "\n" + shown["recipe-code-api"], tmp_path,
              BOSS_USER="alice", BOSS_PASSWORD=devboss.password("alice"))
    job = wait_for(CutoutJob.objects.get(pk=json.loads(out)["id"]))
    assert job.owner == alice and job.parts and job.state == "done", job.error
    assert CutoutJob.objects.filter(owner=alice).count() == 2


@pytest.mark.parametrize("extra,compression",
                         [("", None), ("&compression=zstd", "zstd"), ("&compression=none", "none")])
def test_the_portal_api_recipe_names_a_compression_only_when_the_form_does(site, extra, compression):
    check = site.get(f"{FORM}check.json?channels=em&{BOX}&format=ome-zarr{extra}").json()
    body = json.loads(re.search(r"-d '(\{.*\})' ", shown_code(check["recipes"])["recipe-code-api"]).group(1))
    assert body.get("compression") == compression  # absent: the same default as the form's submit (lz4 for Zarr)


def test_the_recipes_of_a_time_range_run_as_printed(site, devboss, tmp_path, monkeypatch):
    """demo/timelapse has 10 time samples: intern and curl give (T, Z, Y, X), the portal's API gets "t"."""
    response = site.get("/c/demo/timelapse/cutout/?channels=calcium&resolution=0&x0=500&x1=512&y0=0&y1=8"
                        "&z0=14&z1=18&t0=2&t1=5&format=ome-tiff")
    assert response.status_code == 200, response.text[:2000]
    shown = shown_code(response.text)
    expected = procedural.cutout("demo/timelapse/calcium", "uint16", "image", 0, (500, 512), (0, 8), (14, 18), (2, 5))
    assert expected.shape == (3, 4, 8, 12)
    (tmp_path / "recipe.py").write_text(shown["recipe-code-intern"])
    run(f"{sys.executable} recipe.py", tmp_path, BOSS_TOKEN=devboss.token("alice"))
    np.testing.assert_array_equal(np.load(tmp_path / "calcium.npy"), expected)
    run(shown["recipe-code-curl"], tmp_path, BOSS_TOKEN=devboss.token("alice"))
    monkeypatch.chdir(tmp_path)
    [(name, expression)] = re.findall(r"^# read (\w+)\.blosc: (.+)$", shown["recipe-code-curl"], re.M)
    np.testing.assert_array_equal(eval(expression, {"numpy": np, "blosc": blosc}), expected)  # noqa: S307
    body = json.loads(re.search(r"-d '(\{.*\})' ", shown["recipe-code-api"]).group(1))
    assert body["t"] == [2, 5] and "-t 2:5" in shown["recipe-code-cli"]
