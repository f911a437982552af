"""In chromium: the jobs list and a job page as their owner sees them: times in the viewer's own time zone,
named; the Delete button asks first and then frees the space; no sideways scroll on a 375 px phone.

Jobs are made in place (no worker); alice is signed in by a session cookie (the OIDC round trip is
tests/cutouts/test_browser.py's)."""
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest

from cutouts.models import CutoutJob
from tests.cutouts.test_jobs_control import finished, in_state

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JULY = datetime(2026, 7, 1, 15, 30, 5, tzinfo=dt_timezone.utc)  # summer time in New York and Berlin
JANUARY = datetime(2027, 1, 15, 15, 30, tzinfo=dt_timezone.utc)


@pytest.fixture
def signed_in(live_server, alice, browser):
    """A function: a fresh page of a browser context with `options` (timezone_id, locale, viewport...),
    signed in as alice."""
    from django.conf import settings as conf
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    contexts = []

    def open_page(**options):
        session = SessionStore()
        session.update({SESSION_KEY: str(alice.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                        HASH_SESSION_KEY: alice.get_session_auth_hash()})
        session.create()
        context = browser.new_context(**options)
        contexts.append(context)
        context.add_cookies([{"name": conf.SESSION_COOKIE_NAME, "value": session.session_key,
                              "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(15000)
        errors = page.errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield open_page
    for context in contexts:
        context.close()


def timed_job(user, **fields):
    job = finished(user, 2_500_000, name=fields.pop("name", "Layer 4"))
    CutoutJob.objects.filter(pk=job.pk).update(created=JULY, started=JULY, finished=JULY + timedelta(minutes=2),
                                               expires=JANUARY, **fields)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("zone,locale,submitted,expires", [
    ("America/New_York", "en-US", "Jul 1, 2026, 11:30 AM EDT", "Jan 15, 2027, 10:30 AM EST"),
    ("Europe/Berlin", "en-GB", "1 Jul 2026, 17:30 CEST", "15 Jan 2027, 16:30 CET"),
])
def test_times_show_in_the_viewers_zone_with_the_zone_named(signed_in, live_server, alice, zone, locale, submitted,
                                                           expires):
    job = timed_job(alice)
    page = signed_in(timezone_id=zone, locale=locale)
    page.goto(f"{live_server.url}/cutouts/")
    row = page.locator(f'tr[data-job="{job.pk}"]')
    stamp = row.locator(".submitted time")
    assert stamp.inner_text() == submitted
    assert stamp.get_attribute("datetime") == "2026-07-01T15:30:05+00:00"
    assert stamp.get_attribute("title") == "2026-07-01 15:30 UTC"  # the server's text stays, as a tooltip
    assert row.locator(".expires time").inner_text() == expires
    assert "submitted" in row.locator(".times").inner_text()
    assert page.locator(".quota-next time").inner_text() == expires  # the next expiry, above the list

    page.goto(f"{live_server.url}/cutouts/{job.pk}/")
    facts = page.locator("dl.job-facts")
    for term, value in (("Submitted", submitted), ("Expires", expires)):
        assert facts.locator(f"dt:text-is('{term}') + dd").inner_text() == value
    assert page.errors == []


def test_without_intl_support_the_utc_text_stays(signed_in, live_server, alice):
    job = timed_job(alice)
    page = signed_in(timezone_id="Asia/Tokyo", locale="en-US", java_script_enabled=False)
    page.goto(f"{live_server.url}/cutouts/")
    assert page.locator(f'tr[data-job="{job.pk}"] .submitted time').inner_text() == "2026-07-01 15:30 UTC"


def test_the_delete_button_asks_first_then_frees_the_space(signed_in, live_server, alice, settings):
    settings.CUTOUT_MAX_RESULT_BYTES_PER_USER = 10**7
    keep = finished(alice, 1_000_000, name="keep me")
    gone = finished(alice, 2_500_000, name="delete me")
    page = signed_in(locale="en-US")
    page.goto(f"{live_server.url}/cutouts/")
    assert page.locator(".quota-line").inner_text() == "Results kept: 3.50 MB of 10.0 MB"
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.get_by_role("button", name="Delete delete me").click()
    assert asked == ["Delete this cutout and its files?"]
    assert page.locator("tr[data-job]").count() == 2
    assert CutoutJob.objects.filter(pk=gone.pk).exists()

    page.once("dialog", lambda dialog: answer(dialog, True))
    with page.expect_navigation():
        page.get_by_role("button", name="Delete delete me").click()
    assert page.url == f"{live_server.url}/cutouts/"
    assert page.locator(".messages").inner_text() == "Deleted the cutout delete me; 2.50 MB freed."
    assert page.locator("tr[data-job]").count() == 1
    assert page.locator(f'tr[data-job="{keep.pk}"] .job-title').inner_text() == "keep me"
    assert page.locator(".quota-line").inner_text() == "Results kept: 1.00 MB of 10.0 MB"
    assert not gone.folder.exists() and keep.result_path.exists()
    assert page.errors == []


def test_a_phone_never_scrolls_sideways(signed_in, live_server, alice):
    long_name = "dendrites_of_layer_4_spiny_stellate_cells_in_barrel_cortex_" * 2  # 120 characters, no space
    timed_job(alice, name=long_name[:120])
    parts = [{"n": n, "name": f"part{n}.ome.tif", "size": 10**8, "z": [100 + 8 * n, 108 + 8 * n]}
             for n in range(1, 9)]
    timed_job(alice, name="in parts", split=True, parts=parts)
    failed = in_state(alice, CutoutJob.FAILED)
    CutoutJob.objects.filter(pk=failed.pk).update(
        error="BOSS answered 503 Service Unavailable for https://api.bossdb.example.org/v1/cutout/demo/cortex/em/"
              "0/0:512/0:512/100:116/?iso=false&no-cache=true " * 3)
    in_state(alice, CutoutJob.RUNNING, channels=["em", "fluo", "seg"], format="tiff-zip")
    page = signed_in(viewport={"width": 375, "height": 800}, locale="en-US", timezone_id="America/New_York")
    for path in ["/cutouts/"] + [f"/cutouts/{j.pk}/" for j in CutoutJob.objects.filter(owner=alice)]:
        page.goto(live_server.url + path)
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (path, width)
    page.goto(f"{live_server.url}/cutouts/")
    assert page.locator("tr[data-job]").count() == 4
    assert page.errors == []


def test_an_all_channels_viewer_link_pasted_in_the_box_submits_as_filled(signed_in, live_server, alice, monkeypatch):
    """em, fluo and seg from the experiment page's Neuroglancer button, pasted into /cutouts/from-viewer/: the
    form comes pre-set to a format that holds all three, and "Submit cutout" as it stands queues the job."""
    from cutouts import service

    monkeypatch.setattr(service, "enqueue", lambda job: None)  # the job is not run here
    page = signed_in(viewport={"width": 1280, "height": 1000}, locale="en-US")
    page.goto(f"{live_server.url}/c/demo/cortex/")
    link = page.locator("a.viewer-all").get_attribute("href")
    page.goto(f"{live_server.url}/cutouts/from-viewer/")
    page.fill("#id_viewer_url", link)
    page.click("#paste-submit")
    page.wait_for_url("**/c/demo/cortex/cutout/**")
    assert [page.is_checked(f'input[name="channels"][value="{c}"]') for c in ("em", "fluo", "seg")] == [True] * 3
    assert page.is_checked('input[name="format"][value="tiff-zip"]')
    page.click("#submit-cutout")
    page.wait_for_url("**/cutouts/*-*/")
    job = CutoutJob.objects.get(owner=alice)
    assert (job.channels, job.format) == (["em", "fluo", "seg"], "tiff-zip")
    assert "Your cutout is queued" in page.locator(".messages").inner_text()
    assert page.errors == []
