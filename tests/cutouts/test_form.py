"""The cutout form page (Django test client, alice logged in by session): pre-filling, a message next to
each bad field, the over-cap suggestion, submitting, and the jobs list."""
import re
from html import unescape

import pytest
from django.core.cache import cache

from cutouts.models import CutoutJob

FORM = "/c/demo/cortex/cutout/"
VALID = {"channels": ["em"], "resolution": "0", "x0": "100", "x1": "700", "y0": "0", "y1": "600",
         "z0": "100", "z1": "120", "format": "ome-tiff"}


@pytest.fixture
def logged_in(client, alice):
    cache.clear()
    client.force_login(alice)
    return client


def field_value(html, name):
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    return match and match.group(1)


def message_for(html, field):
    """The text of the error marked data-field=`field`, or None."""
    match = re.search(rf'data-field="{field}"[^>]*>(.*?)</', html, re.S)
    return match and unescape(match.group(1)).strip()


def test_it_prefills_a_box_at_the_frame_centre(logged_in):
    response = logged_in.get(FORM + "?channels=em")
    assert response.status_code == 200
    html = response.content.decode()
    # cortex is 0:2048 × 0:2048 × 100:228 at level 0: a 1024 × 1024 × 64 box at its centre
    box = [int(field_value(html, n)) for n in ("x0", "x1", "y0", "y1", "z0", "z1")]
    assert box == [512, 1536, 512, 1536, 132, 196]
    assert re.search(r'value="em"[^>]*checked', html)
    assert not re.search(r'value="fluo"[^>]*checked', html)
    assert re.search(r"data-size=\"bytes\">67.1\s*MB", html)  # 1024 × 1024 × 64 uint8, within the 1 GB cap
    assert "over the" not in html
    assert "4 × 4 × 40 nm at level 0" in html
    assert "Physical (nm)" in html
    assert "2,048 – 6,144" in html  # x 512:1536 at 4 nm, also shown without JavaScript


def test_the_prefilled_box_shrinks_to_fit_the_cap(logged_in, settings):
    settings.CUTOUT_MAX_BYTES = 8 * 1024 * 1024
    html = logged_in.get(FORM + "?channels=em").content.decode()
    box = [int(field_value(html, n)) for n in ("x0", "x1", "y0", "y1", "z0", "z1")]
    assert (box[1] - box[0]) * (box[3] - box[2]) * (box[5] - box[4]) <= 8 * 1024 * 1024
    assert 0 <= box[0] < box[1] <= 2048 and 100 <= box[4] < box[5] <= 228
    assert "over the" not in html


@pytest.mark.parametrize(
    "change,field,message",
    [
        ({"x0": "700", "x1": "100"}, "x", "start (700) must be less than stop (100)"),
        ({"x1": "5000"}, "x", "must lie within 0:2048 at level 0"),
        ({"z0": "0", "z1": "10"}, "z", "must lie within 100:228"),
        ({"resolution": "1", "x0": "0", "x1": "1100"}, "x", "must lie within 0:1024 at level 1"),
        ({"resolution": "9"}, "resolution", "must be a level from 0 to 3"),
        ({"resolution": "one"}, "resolution", "must be a whole number"),
        ({"y0": "1.5"}, "y", "start and stop must be whole numbers"),
        ({"z1": ""}, "z", "start and stop must be whole numbers"),
        ({"channels": []}, "channels", "choose at least one channel"),
        ({"channels": ["nope"]}, "channels", "not a channel of cortex you can read: nope"),
        ({"format": "gif"}, "format", "must be one of"),
    ],
)
def test_it_puts_the_message_next_to_the_bad_field(logged_in, change, field, message):
    response = logged_in.post(FORM, {**VALID, **change})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in message_for(html, field)
    assert "Please correct the fields marked below." in html
    assert not CutoutJob.objects.exists()


def test_it_keeps_what_was_typed_when_rerendering(logged_in):
    html = logged_in.post(FORM, {**VALID, "x0": "700", "x1": "100", "channels": ["em", "fluo"]}).content.decode()
    assert field_value(html, "x0") == "700" and field_value(html, "x1") == "100"
    assert re.search(r'value="fluo"[^>]*checked', html)


def test_an_over_cap_box_names_the_finest_level_that_fits_with_a_working_link(logged_in, settings):
    settings.CUTOUT_MAX_BYTES = 2 * 1024 * 1024
    big = {**VALID, "x0": "0", "x1": "2048", "y0": "0", "y1": "2048", "z0": "100", "z1": "102"}  # 8 MiB
    response = logged_in.post(FORM, big)
    assert response.status_code == 400
    html = response.content.decode()
    assert "fits at level 1" in message_for(html, "size")
    link = re.search(r'<a class="use-level" href="([^"]+)"[^>]*>use level (\d)</a>', html)
    assert link and link.group(2) == "1"

    again = logged_in.get(FORM + unescape(link.group(1)))
    assert again.status_code == 200
    html = again.content.decode()
    assert re.search(r'<option value="1"\s+selected', html)
    box = [int(field_value(html, n)) for n in ("x0", "x1", "y0", "y1", "z0", "z1")]
    assert box == [0, 1024, 0, 1024, 100, 102]
    assert "over-cap" not in html and "size-current over" not in html
    form = {**big, "resolution": "1", "x1": "1024", "y1": "1024"}
    assert logged_in.post(FORM, form).status_code == 302 or pytest.fail("level 1 should be accepted")


def test_no_level_fits_says_so(logged_in, settings):
    settings.CUTOUT_MAX_BYTES = 1000
    big = {**VALID, "x0": "0", "x1": "2048", "y0": "0", "y1": "2048", "z0": "100", "z1": "228"}
    html = logged_in.post(FORM, big).content.decode()
    assert "no level holds it" in message_for(html, "size")
    assert "use-level" not in html


@pytest.mark.usefixtures("celery_worker")
def test_a_valid_post_redirects_to_the_job_page(logged_in, alice):
    response = logged_in.post(FORM, VALID)
    assert response.status_code == 302
    job = CutoutJob.objects.get()
    assert response["Location"] == f"/cutouts/{job.pk}/"
    assert job.owner == alice and job.channels == ["em"] and (job.x0, job.x1, job.z0, job.z1) == (100, 700, 100, 120)
    page = logged_in.get(response["Location"])
    assert page.status_code == 200
    assert "Your cutout is queued" in page.content.decode()


def test_the_jobs_page_lists_only_the_users_own_jobs(logged_in, alice, bob):
    from cutouts.validation import validate

    mine = validate(alice, {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
                            "x": [0, 10], "y": [0, 10], "z": [100, 101]})
    mine.save()
    theirs = validate(bob, {"collection": "demo", "experiment": "cortex", "channels": ["fluo"], "resolution": 0,
                            "x": [0, 20], "y": [0, 20], "z": [100, 101]})
    theirs.save()
    html = logged_in.get("/cutouts/").content.decode()
    assert f'data-job="{mine.pk}"' in html
    assert f'data-job="{theirs.pk}"' not in html
    listed = logged_in.get("/cutouts/?format=json").json()["jobs"]
    assert [j["id"] for j in listed] == [str(mine.pk)]
    assert logged_in.get(f"/cutouts/{theirs.pk}/").status_code == 404


@pytest.mark.parametrize("url", [FORM + "?channels=em", "/cutouts/"])
def test_anonymous_visitors_are_sent_to_log_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_an_anonymous_post_creates_nothing(client, db):
    response = client.post(FORM, VALID)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not CutoutJob.objects.exists()
