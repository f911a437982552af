"""The cutout JSON API with a bearer token from the identity provider, and the pages' access rules.

Only the tests that run a job take the Celery worker; refusals (400, 401, 404, 409) need none."""
import re

import numpy as np
import pytest
import tifffile

from devboss.api import procedural
from tests.cutouts.conftest import password_grant
from tests.cutouts.test_jobs import wait_for

BOX = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
       "x": [100, 700], "y": [0, 600], "z": [100, 120]}


@pytest.fixture
def bearer(alice, devboss):
    return {"HTTP_AUTHORIZATION": f"Bearer {password_grant(devboss, 'alice')['access_token']}"}


@pytest.mark.usefixtures("celery_worker")
def test_a_script_submits_watches_and_downloads_a_cutout_with_a_bearer_token(client, bearer):
    from cutouts.models import CutoutJob

    response = client.post("/api/cutouts/", BOX, content_type="application/json", **bearer)
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["url"]
    job = wait_for(CutoutJob.objects.get(pk=body["id"]))
    state = client.get(f"/api/cutouts/{job.pk}/", **bearer).json()
    assert state["state"] == "done"
    assert state["progress"]["blocks_done"] == state["progress"]["blocks_total"] > 0
    assert state["bytes"] == 600 * 600 * 20
    listed = client.get("/api/cutouts/", **bearer).json()["jobs"]
    assert [j["id"] for j in listed] == [str(job.pk)]

    download = client.get(state["result"]["download"], **bearer)
    assert download.status_code == 200
    assert int(download["Content-Length"]) == job.result_size
    assert job.result_name in download["Content-Disposition"]
    content = b"".join(download.streaming_content)
    got = tifffile.imread(__import__("io").BytesIO(content))
    want = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (100, 700), (0, 600), (100, 120))[0]
    np.testing.assert_array_equal(got, want)

    partial = client.get(state["result"]["download"], HTTP_RANGE="bytes=100-199", **bearer)
    assert partial.status_code == 206
    assert partial["Content-Range"] == f"bytes 100-199/{job.result_size}"
    assert b"".join(partial.streaming_content) == content[100:200]
    tail = client.get(state["result"]["download"], HTTP_RANGE="bytes=-10", **bearer)
    assert b"".join(tail.streaming_content) == content[-10:]
    beyond = client.get(state["result"]["download"], HTTP_RANGE=f"bytes={job.result_size + 5}-", **bearer)
    assert beyond.status_code == 416


@pytest.mark.parametrize(
    "change,field,message",
    [
        ({"x": [700, 100]}, "x", "must be less than"),
        ({"x": [0, 5000]}, "x", "must lie within 0:2048"),
        ({"z": [0, 10]}, "z", "must lie within 100:228"),
        ({"x": [0, 1100]}, None, None),  # fine at level 0; level 1 allows only 0:1024 (resolution 1 is set below)
        ({"resolution": 9}, "resolution", "from 0 to 3"),
        ({"resolution": "one"}, "resolution", "whole number"),
        ({"channels": ["nope"]}, "channels", "nope"),
        ({"channels": []}, "channels", "at least one"),
        ({"y": ["a", "b"]}, "y", "whole numbers"),
        ({"y": [0]}, "y", "range"),
        ({"x": [0, 10**20]}, "x", "whole numbers"),
        ({"format": "gif"}, "format", "one of"),
        ({"channels": ["em", "seg"]}, "format", "different datatypes"),
        ({"experiment": "nope"}, "experiment", "does not exist"),
        ({"t": [0, 5]}, "t", "0:1"),
    ],
)
def test_invalid_requests_get_a_message_per_field(client, bearer, change, field, message):
    if field is None:  # a box valid at level 0 is checked against the frame at the level asked
        change, field, message = {**change, "resolution": 1}, "x", "must lie within 0:1024 at level 1"
    response = client.post("/api/cutouts/", {**BOX, **change}, content_type="application/json", **bearer)
    assert response.status_code == 400, response.content
    assert message in response.json()["errors"][field]


def test_a_box_over_the_cap_is_refused_with_the_finest_level_that_fits(client, bearer, settings):
    settings.CUTOUT_MAX_BYTES = 2 * 1024 * 1024
    big = {**BOX, "x": [0, 2048], "y": [0, 2048], "z": [100, 102]}  # 8 MiB at level 0, 2 MiB at level 1
    response = client.post("/api/cutouts/", big, content_type="application/json", **bearer)
    assert response.status_code == 400
    assert "fits at level 1" in response.json()["errors"]["size"]


def test_malformed_bodies_get_400_not_500(client, bearer):
    assert client.post("/api/cutouts/", "not json", content_type="application/json", **bearer).status_code == 400
    assert client.post("/api/cutouts/", [1, 2], content_type="application/json", **bearer).status_code == 400


def test_anonymous_callers_get_401(client, db):
    import uuid

    for response in (client.get("/api/cutouts/"), client.post("/api/cutouts/", BOX, content_type="application/json"),
                     client.get(f"/api/cutouts/{uuid.uuid4()}/"), client.post(f"/api/cutouts/{uuid.uuid4()}/cancel")):
        assert response.status_code == 401
        assert response.json() == {"detail": "Authentication required: send Authorization: Bearer <access token>."}
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.put("/api/cutouts/").status_code == 405  # a method the API lacks, whoever asks


def test_someone_elses_job_is_not_found(client, alice, bob):
    from cutouts.validation import validate

    job = validate(alice, BOX)
    job.state = "failed"
    job.save()
    client.force_login(bob)
    for response in (client.get(f"/api/cutouts/{job.pk}/"), client.post(f"/api/cutouts/{job.pk}/retry")):
        assert response.status_code == 404
        assert response.json() == {"detail": "No such cutout job."}
    job.refresh_from_db()
    assert job.state == "failed"
    client.force_login(alice)
    assert client.get(f"/api/cutouts/{job.pk}/").json()["state"] == "failed"


@pytest.mark.usefixtures("celery_worker")
def test_another_user_cannot_see_download_cancel_or_retry_a_job(client, alice, bob):
    from cutouts import service
    from cutouts.validation import validate

    job = wait_for(service.submit(validate(alice, BOX)))
    client.force_login(bob)
    for url in (f"/api/cutouts/{job.pk}/", f"/api/cutouts/{job.pk}/download", f"/cutouts/{job.pk}/",
                f"/cutouts/{job.pk}/download", f"/cutouts/{job.pk}/provenance.json"):
        assert client.get(url).status_code == 404, url
    for url in (f"/api/cutouts/{job.pk}/cancel", f"/api/cutouts/{job.pk}/retry", f"/cutouts/{job.pk}/cancel"):
        assert client.post(url).status_code == 404, url
    assert client.get("/api/cutouts/").json()["jobs"] == []
    client.force_login(alice)
    assert client.get(f"/cutouts/{job.pk}/download").status_code == 200
    page = client.get(f"/cutouts/{job.pk}/").content.decode()
    assert "BOSS_TOKEN" in page and "bossdb://demo/cortex/em" in page


@pytest.mark.usefixtures("celery_worker")
def test_cancel_and_retry_follow_the_state_machine(client, alice, bearer):
    from cutouts.validation import validate

    job = validate(alice, BOX)
    job.state = "failed"
    job.save()
    assert client.post(f"/api/cutouts/{job.pk}/cancel", **bearer).status_code == 409
    assert client.post(f"/api/cutouts/{job.pk}/retry", **bearer).status_code == 202
    job = wait_for(job)
    assert job.state == "done", job.error
    assert client.post(f"/api/cutouts/{job.pk}/retry", **bearer).status_code == 409


def test_an_over_cap_form_shows_the_command_line_for_the_same_box(client, alice, settings):
    settings.CUTOUT_MAX_BYTES = 2 * 1024 * 1024
    client.force_login(alice)
    page = client.get("/c/demo/cortex/cutout/?channels=em&resolution=0&x0=0&x1=2048&y0=0&y1=2048&z0=100&z1=102")
    html = page.content.decode()
    assert "boss-cutout bossdb://demo/cortex/em --res 0 -x 0:2048 -y 0:2048 -z 100:102" in html
    assert "--token-file ~/.boss-token" in html
    # Several channels: one command that downloads them all.
    page = client.get("/c/demo/cortex/cutout/?channels=em&channels=fluo&resolution=0&x0=0&x1=2048&y0=0&y1=2048"
                      "&z0=100&z1=102")
    html = page.content.decode()
    # the same one command in the over-cap notice and in the recipes' boss-cutout tab
    assert len(set(re.findall(r"boss-cutout bossdb://[^<\n]*", html))) == 1
    assert "boss-cutout bossdb://demo/cortex/em,fluo --res 0 -x 0:2048 -y 0:2048 -z 100:102" in html


def test_a_retry_obeys_the_same_limits_as_a_new_submission(client, alice, bearer, settings):
    from cutouts.validation import validate

    job = validate(alice, BOX)
    job.state = "failed"
    job.save()
    settings.CUTOUT_MAX_QUEUED_PER_USER = 0
    response = client.post(f"/api/cutouts/{job.pk}/retry", **bearer)
    assert response.status_code == 400 and "queued jobs" in response.json()["errors"]["limit"]
    client.force_login(alice)
    page = client.post(f"/cutouts/{job.pk}/retry", follow=True)
    assert "Not retried" in page.content.decode()
    job.refresh_from_db()
    assert job.state == "failed"


@pytest.mark.usefixtures("celery_worker")
def test_a_compressed_cutout_through_the_api_is_smaller_and_holds_the_same_voxels(client, bearer):
    from cutouts.models import CutoutJob

    response = client.post("/api/cutouts/", {**BOX, "compression": "zstd"}, content_type="application/json", **bearer)
    assert response.status_code == 202, response.content
    job = wait_for(CutoutJob.objects.get(pk=response.json()["id"]))
    assert job.state == "done", job.error and job.compression == "zstd"
    state = client.get(f"/api/cutouts/{job.pk}/", **bearer).json()
    assert state["compression"] == "zstd"
    content = b"".join(client.get(state["result"]["download"], **bearer).streaming_content)
    with tifffile.TiffFile(__import__("io").BytesIO(content)) as tif:
        assert tif.pages[0].compression.name == "ZSTD"
        got = tif.asarray()
    want = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (100, 700), (0, 600), (100, 120))[0]
    np.testing.assert_array_equal(got, want)
    assert len(content) < want.nbytes


def test_a_compression_the_format_cannot_take_is_refused_with_what_it_takes(client, bearer):
    response = client.post("/api/cutouts/", {**BOX, "format": "imagej-tiff", "compression": "zstd"},
                           content_type="application/json", **bearer)
    assert response.status_code == 400
    assert response.json()["errors"]["compression"] == "imagej-tiff results can be none, deflate, not zstd"
    response = client.post("/api/cutouts/", {**BOX, "compression": "lz4"}, content_type="application/json", **bearer)
    assert response.status_code == 400 and "compression" in response.json()["errors"]
