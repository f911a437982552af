"""The jobs you control (issue #15): deleting a job and its files, the quota meter, job names and times, through
the API and the pages (Django's test client). Finished jobs are made in place (a file on disk, the row done), so
only the test that deletes a job while it runs takes the Celery worker."""
import html
import logging
import re
import time
import uuid
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.utils import timezone

from cutouts import service
from cutouts.models import CutoutJob
from cutouts.validation import validate
from tests.cutouts.conftest import password_grant
from tests.cutouts.test_jobs import wait_for
from tests.jobs import SHARED_WORKER, settle_worker

BOX = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
       "x": [0, 100], "y": [0, 100], "z": [100, 110]}  # 100 kB of uint8
BIGGER = {**BOX, "x": [0, 200]}  # 200 kB
FORM = {"channels": "em", "resolution": "0", "x0": "0", "x1": "200", "y0": "0", "y1": "100", "z0": "100",
        "z1": "110", "format": "ome-tiff"}


@pytest.fixture
def bearer(alice, devboss):
    return {"HTTP_AUTHORIZATION": f"Bearer {password_grant(devboss, 'alice')['access_token']}"}


@pytest.fixture
def queued(monkeypatch):
    """Jobs submitted here are saved but not sent to a worker (the worker is not what these tests look at)."""
    sent = []
    monkeypatch.setattr(service, "enqueue", sent.append)
    return sent


@pytest.fixture
def small_quota(settings):
    settings.CUTOUT_MAX_RESULT_BYTES_PER_USER = 10**6  # 1.00 MB
    return settings


def finished(user, size, expires_in=timedelta(days=7), name="", **change):
    """A done job of `user` whose result file of `size` bytes is on disk, expiring in `expires_in`."""
    job = validate(user, {**BOX, **change, "name": name})
    job.save()
    job.folder.mkdir(parents=True, exist_ok=True)
    (job.folder / "result.ome.tif").write_bytes(b"\0" * size)
    job.sidecar_path.write_text("{}")
    now = timezone.now()
    CutoutJob.objects.filter(pk=job.pk).update(
        state=CutoutJob.DONE, result_name="result.ome.tif", result_size=size, started=now, finished=now,
        expires=now + expires_in, blocks_total=1, blocks_done=1, notified=True)
    job.refresh_from_db()
    return job


def in_state(user, state, **change):
    job = validate(user, {**BOX, **change})
    job.state = state
    job.save()
    return job


def text(response):
    """The page's text with its tags and runs of white space gone, as a reader sees it."""
    body = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    words = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))
    return words.replace(" .", ".").replace(" ;", ";")


# --- Deleting ----------------------------------------------------------------------------------------------

def test_deleting_over_the_api_removes_the_file_and_frees_the_quota_at_once(client, alice, bearer, small_quota,
                                                                            queued):
    job = finished(alice, 900_000)
    refused = client.post("/api/cutouts/", BIGGER, content_type="application/json", **bearer)
    assert refused.status_code == 400
    assert refused.json()["errors"]["limit"].startswith(
        "your unexpired results take 900 kB; with this cutout (200 kB) that is over your limit of 1.00 MB; "
        "the next result expires at ")

    response = client.delete(f"/api/cutouts/{job.pk}/", **bearer)
    assert response.status_code == 204 and response.content == b""
    assert not job.folder.exists()
    assert not CutoutJob.objects.filter(pk=job.pk).exists()
    assert client.get(f"/api/cutouts/{job.pk}/", **bearer).status_code == 404
    assert client.get("/api/cutouts/", **bearer).json()["quota"] == {
        "used_bytes": 0, "limit_bytes": 10**6, "free_bytes": 10**6, "used": "0 B", "limit": "1.00 MB",
        "next_expiry": None, "queued": 0, "max_queued": 10}

    accepted = client.post("/api/cutouts/", BIGGER, content_type="application/json", **bearer)
    assert accepted.status_code == 202, accepted.content
    assert [str(j.pk) for j in queued] == [accepted.json()["id"]]
    # Deleting it twice: the second time there is nothing to delete.
    assert client.delete(f"/api/cutouts/{job.pk}/", **bearer).json() == {"detail": "No such cutout job."}


def test_the_delete_button_on_the_jobs_page_frees_the_space_for_the_form(client, alice, small_quota, queued):
    job = finished(alice, 900_000, name="dendrites")
    client.force_login(alice)
    page = client.get("/cutouts/")
    assert "Results kept: 900 kB of 1.00 MB" in text(page)
    markup = page.content.decode()
    assert f'<form method="post" action="/cutouts/{job.pk}/delete" class="inline delete-job" ' \
           'data-confirm="Delete this cutout and its files?">' in markup
    assert 'aria-label="Delete dendrites"' in markup

    refused = client.post("/c/demo/cortex/cutout/", FORM)
    assert refused.status_code == 400 and "your unexpired results take 900 kB" in text(refused)

    after = client.post(f"/cutouts/{job.pk}/delete", {"next": "/cutouts/"}, follow=True)
    assert after.redirect_chain == [("/cutouts/", 302)]
    shown = text(after)
    assert "Deleted the cutout dendrites; 900 kB freed." in shown
    assert "Results kept: 0 B of 1.00 MB" in shown and "No finished result is kept now." in shown
    assert "No cutouts yet." in shown
    assert not job.folder.exists()

    accepted = client.post("/c/demo/cortex/cutout/", FORM)
    assert accepted.status_code == 302, text(accepted)
    assert CutoutJob.objects.get(owner=alice).state == CutoutJob.QUEUED


def test_deleting_from_the_job_page_goes_back_to_the_list(client, alice):
    job = finished(alice, 1234)
    client.force_login(alice)
    page = client.get(f"/cutouts/{job.pk}/")
    assert f'action="/cutouts/{job.pk}/delete"' in page.content.decode()
    after = client.post(f"/cutouts/{job.pk}/delete", {"next": f"/cutouts/{job.pk}/"}, follow=True)
    assert after.redirect_chain == [("/cutouts/", 302)]  # never the page of the job just deleted
    assert "Deleted the cutout demo/cortex; 1.23 kB freed." in text(after)
    assert client.get(f"/cutouts/{job.pk}/").status_code == 404
    # `next` elsewhere is not followed.
    other = finished(alice, 10)
    response = client.post(f"/cutouts/{other.pk}/delete", {"next": "https://evil.example.org/"})
    assert response["Location"] == "/cutouts/"


def test_someone_elses_job_answers_404_and_stays(client, alice, bob):
    job = finished(alice, 5000)
    client.force_login(bob)
    response = client.delete(f"/api/cutouts/{job.pk}/")
    assert response.status_code == 404 and response.json() == {"detail": "No such cutout job."}
    assert client.post(f"/cutouts/{job.pk}/delete").status_code == 404
    job.refresh_from_db()
    assert job.state == CutoutJob.DONE and job.result_path.stat().st_size == 5000
    client.force_login(alice)
    assert client.get(f"/api/cutouts/{job.pk}/").json()["state"] == "done"


def test_deleting_never_answers_500(client, alice, bearer):
    missing = uuid.uuid4()
    assert client.delete(f"/api/cutouts/{missing}/", **bearer).status_code == 404
    assert client.delete("/api/cutouts/not-a-uuid/", **bearer).status_code == 404
    assert client.delete(f"/api/cutouts/{missing}/").status_code == 401  # no token, no session
    client.force_login(alice)
    assert client.post(f"/cutouts/{missing}/delete").status_code == 404
    job = finished(alice, 10)
    assert client.get(f"/cutouts/{job.pk}/delete").status_code == 405
    # A job whose files are already gone (expired, or removed by hand) deletes all the same.
    expired = in_state(alice, CutoutJob.EXPIRED)
    assert client.post(f"/cutouts/{expired.pk}/delete").status_code == 302
    job.result_path.unlink()
    assert client.delete(f"/api/cutouts/{job.pk}/", **bearer).status_code == 204


def test_a_storage_failure_keeps_the_job_and_says_so(client, alice, bearer, monkeypatch):
    from cutouts import storage

    def broken(job, **options):
        raise OSError("the bucket is unreachable")

    job = finished(alice, 10)
    monkeypatch.setattr(storage, "delete_job_files", broken)
    response = client.delete(f"/api/cutouts/{job.pk}/", **bearer)
    assert response.status_code == 503
    assert response.json() == {"detail": "The job's files could not be deleted just now (OSError); try again."}
    client.force_login(alice)
    page = client.post(f"/cutouts/{job.pk}/delete", follow=True)
    assert page.status_code == 200
    assert "Not deleted: the job's files could not be deleted just now (OSError); try again." in text(page)
    assert CutoutJob.objects.filter(pk=job.pk, state=CutoutJob.DONE).exists()


@pytest.mark.parametrize("state", [CutoutJob.QUEUED, CutoutJob.RUNNING, CutoutJob.NEEDS_LOGIN])
def test_an_active_job_is_cancelled_and_deleted_and_the_page_says_so(client, alice, state):
    job = in_state(alice, state)
    client.force_login(alice)
    row = client.get("/cutouts/").content.decode()
    assert 'data-confirm="Delete this cutout (it is cancelled first)?"' in row
    after = client.post(f"/cutouts/{job.pk}/delete", {"next": "/cutouts/"}, follow=True)
    assert "Cancelled and deleted the cutout demo/cortex." in text(after)
    assert not CutoutJob.objects.filter(pk=job.pk).exists()


@pytest.mark.usefixtures("celery_worker")
def test_deleting_a_running_job_stops_its_worker_and_leaves_no_file(client, alice, bearer):
    from cutouts import storage

    job = service.submit(validate(alice, {**BOX, "channels": ["em", "fluo"], "x": [0, 2048], "y": [0, 2048],
                                          "z": [100, 116], "format": "tiff-zip"}))
    job = wait_for(job, states=("running",), timeout=60)
    deadline = timezone.now() + timedelta(seconds=60)
    while job.blocks_done == 0 and timezone.now() < deadline:
        time.sleep(0.05)
        job.refresh_from_db()
    assert job.state == "running" and job.blocks_done < job.blocks_total
    assert client.delete(f"/api/cutouts/{job.pk}/", **bearer).status_code == 204
    settle_worker(SHARED_WORKER["redis_url"])
    assert not job.folder.exists() and not storage.scratch_folder(job).exists()
    listed = client.get("/api/cutouts/", **bearer).json()
    assert listed["jobs"] == [] and listed["quota"]["used_bytes"] == 0


@pytest.mark.parametrize("moment", ["publish", "fetch"])
def test_a_job_deleted_as_its_worker_finishes_leaves_no_file_and_no_traceback(alice, monkeypatch, caplog, moment):
    """The engine in this process: the owner deletes the job while its last file is being published (or while
    just after its last block is fetched); the run stops quietly, removes what it wrote, and logs no traceback."""
    from cutouts import engine, storage

    job = validate(alice, BOX)
    job.save()
    assert job.start("test")
    # The delete lands right after the result file is published, or right after the last block is fetched.
    target, name = (storage, "publish") if moment == "publish" else (engine, "fetch_all")
    original = getattr(target, name)

    def and_delete(*args, **kwargs):
        result = original(*args, **kwargs)
        row = CutoutJob.objects.filter(pk=job.pk).first()
        if row is not None:
            service.delete(row)
        return result

    monkeypatch.setattr(target, name, and_delete)
    with caplog.at_level(logging.INFO):
        engine.run(job)
    assert not CutoutJob.objects.filter(pk=job.pk).exists()
    assert not job.folder.exists() and not storage.scratch_folder(job).exists()
    assert [r for r in caplog.records if r.exc_info] == []


# --- The quota meter ---------------------------------------------------------------------------------------

def test_the_meter_shows_what_a_submission_is_checked_against(client, alice, bob, small_quota):
    soon = finished(alice, 400_000, expires_in=timedelta(days=2))
    finished(alice, 500_000, expires_in=timedelta(days=5))
    past = finished(alice, 300_000)  # its expiry passed (the upkeep has not expired it yet): not counted
    CutoutJob.objects.filter(pk=past.pk).update(expires=timezone.now() - timedelta(minutes=1))
    in_state(alice, CutoutJob.FAILED)
    in_state(alice, CutoutJob.QUEUED)
    finished(bob, 700_000)  # someone else's
    client.force_login(alice)

    quota = client.get("/api/cutouts/").json()["quota"]
    assert quota == {"used_bytes": 900_000, "limit_bytes": 10**6, "free_bytes": 100_000, "used": "900 kB",
                     "limit": "1.00 MB", "next_expiry": soon.expires.isoformat(), "queued": 1, "max_queued": 10}
    assert client.get("/cutouts/?format=json").json()["quota"] == quota

    page = client.get("/cutouts/")
    markup = page.content.decode()
    assert '<meter id="quota-meter" min="0" max="1000000" value="900000"' in markup
    expiry = soon.expires.astimezone(dt_timezone.utc)
    shown = text(page)
    assert "Results kept: 900 kB of 1.00 MB" in shown
    assert f"The next result expires {expiry:%Y-%m-%d %H:%M} UTC. Deleting a job frees its space at once." in shown
    assert f'<time datetime="{expiry.isoformat()}" data-local>' in markup


def test_a_full_quota_reads_over_and_a_large_one_in_gigabytes(client, alice, settings):
    settings.CUTOUT_MAX_RESULT_BYTES_PER_USER = 10 * 10**9
    finished(alice, 3_070_000)
    client.force_login(alice)
    assert "Results kept: 3.07 MB of 10.0 GB" in text(client.get("/cutouts/"))
    settings.CUTOUT_MAX_RESULT_BYTES_PER_USER = 10**6
    quota = client.get("/api/cutouts/").json()["quota"]
    assert (quota["used"], quota["limit"], quota["free_bytes"]) == ("3.07 MB", "1.00 MB", 0)


# --- Names and times ---------------------------------------------------------------------------------------

def test_a_named_job_shows_its_name_on_the_list_and_its_page(client, alice, bearer, queued):
    response = client.post("/api/cutouts/", {**BOX, "name": "Layer 4 <dendrites>"}, content_type="application/json",
                           **bearer)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["name"] == "Layer 4 <dendrites>"
    job = CutoutJob.objects.get(pk=body["id"])
    client.force_login(alice)
    listed = client.get("/cutouts/").content.decode()
    assert f'<a class="job-title" href="/cutouts/{job.pk}/">Layer 4 &lt;dendrites&gt;</a>' in listed
    assert "demo/cortex · em · level 0 · " in listed
    page = client.get(f"/cutouts/{job.pk}/").content.decode()
    assert "<h1>Layer 4 &lt;dendrites&gt;</h1>" in page
    assert "<title>Layer 4 &lt;dendrites&gt; · BOSS portal</title>" in page
    assert client.get(f"/api/cutouts/{job.pk}/").json()["name"] == "Layer 4 <dendrites>"


def test_an_unnamed_job_is_called_by_its_data(client, alice, queued):
    job = in_state(alice, CutoutJob.FAILED)
    client.force_login(alice)
    assert f'<a class="job-title" href="/cutouts/{job.pk}/">demo/cortex</a>' in client.get("/cutouts/").content.decode()
    assert "<h1>Cutout of demo / cortex</h1>" in client.get(f"/cutouts/{job.pk}/").content.decode()
    assert client.get(f"/api/cutouts/{job.pk}/").json()["name"] == ""


@pytest.mark.parametrize("name,status,message", [
    ("x" * 120, 202, None), ("x" * 121, 400, "must be at most 120 characters"), (None, 202, None),
    ("", 202, None), ({"a": 1}, 400, "must be text"), (["a"], 400, "must be text"),
])
def test_a_name_that_is_not_text_or_too_long_is_refused_with_a_message(client, bearer, queued, name, status, message):
    response = client.post("/api/cutouts/", {**BOX, "name": name}, content_type="application/json", **bearer)
    assert response.status_code == status, response.content
    if message:
        assert message in response.json()["errors"]["name"]


def test_the_form_posts_a_name(client, alice, queued):
    client.force_login(alice)
    response = client.post("/c/demo/cortex/cutout/", {**FORM, "name": "from the form"})
    assert response.status_code == 302
    assert CutoutJob.objects.get(owner=alice).name == "from the form"


def test_the_form_has_a_name_field_and_a_compression_choice(client, alice):
    client.force_login(alice)
    page = client.get("/c/demo/cortex/cutout/?name=top+layers&compression=zstd").content.decode()
    assert 'name="name"' in page and 'value="top layers"' in page
    assert '<option value="zstd" selected>' in page


def test_times_are_utc_in_a_time_element_for_the_browser_to_convert(client, alice):
    job = finished(alice, 10)
    created = datetime(2026, 7, 1, 15, 30, 5, tzinfo=dt_timezone.utc)
    CutoutJob.objects.filter(pk=job.pk).update(created=created)
    client.force_login(alice)
    row = client.get("/cutouts/").content.decode()
    assert ('<span class="submitted"><time datetime="2026-07-01T15:30:05+00:00" data-local>2026-07-01 15:30 UTC'
            '</time></span>') in row
    assert "submitted" in text(client.get("/cutouts/"))
    page = client.get(f"/cutouts/{job.pk}/").content.decode()
    assert '<dt>Submitted</dt><dd><time datetime="2026-07-01T15:30:05+00:00" data-local>2026-07-01 15:30 UTC' in page
    assert client.get(f"/api/cutouts/{job.pk}/").json()["created"] == "2026-07-01T15:30:05+00:00"
