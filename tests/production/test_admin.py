"""The admin: staff see every cutout job and short link, read-only, and may cancel jobs (no devboss needed)."""
import pytest
from django.contrib.auth import get_user_model

from cutouts.models import CutoutJob
from portal.models import ShortLink

pytestmark = [pytest.mark.django_db]


def make_job(owner, state=CutoutJob.QUEUED, **fields):
    return CutoutJob.objects.create(owner=owner, collection="demo", experiment="cortex", channels=["em", "seg"],
                                    resolution=1, x0=0, x1=64, y0=0, y1=64, z0=100, z1=104, state=state, **fields)


@pytest.fixture
def staff_client(client):
    users = get_user_model().objects
    client.force_login(users.create_superuser("root", "root@example.org", "not-used"))
    return client, users.create_user("alice", email="alice@example.org")


def test_the_job_list_shows_every_job_with_its_request(staff_client):
    client, alice = staff_client
    make_job(alice)
    response = client.get("/admin/cutouts/cutoutjob/")
    assert response.status_code == 200
    assert b"demo/cortex" in response.content and b"em, seg" in response.content and b"alice" in response.content
    assert client.get("/admin/cutouts/cutoutjob/?q=alice&state__exact=queued&format__exact=ome-tiff").status_code == 200


def test_a_job_is_read_only(staff_client):
    client, alice = staff_client
    job = make_job(alice)
    response = client.get(f"/admin/cutouts/cutoutjob/{job.pk}/change/")
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert client.get("/admin/cutouts/cutoutjob/add/").status_code == 403
    assert client.post(f"/admin/cutouts/cutoutjob/{job.pk}/delete/", {"post": "yes"}).status_code == 403
    assert CutoutJob.objects.filter(pk=job.pk).exists()


def test_the_cancel_action_cancels_queued_and_running_jobs_only(staff_client):
    client, alice = staff_client
    queued, running, done = make_job(alice), make_job(alice, CutoutJob.RUNNING), make_job(alice, CutoutJob.DONE)
    response = client.post("/admin/cutouts/cutoutjob/", {
        "action": "cancel_jobs", "index": "0", "_selected_action": [str(j.pk) for j in (queued, running, done)],
    }, follow=True)
    assert response.status_code == 200
    assert b"2 of 3 selected jobs cancelled." in response.content
    states = {j.pk: j.state for j in CutoutJob.objects.all()}
    assert states == {queued.pk: "cancelled", running.pk: "cancelled", done.pk: "done"}


def test_the_short_link_list_and_page_render(staff_client):
    client, alice = staff_client
    link = ShortLink.objects.create(owner=alice, kind=ShortLink.VIEWER, payload={"layers": []}, title="A view")
    response = client.get("/admin/portal/shortlink/?q=alice")
    assert response.status_code == 200 and link.slug.encode() in response.content
    page = client.get(f"/admin/portal/shortlink/{link.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content


def test_the_admin_is_routed_and_never_shows_tokens(client, django_user_model):
    from allauth.socialaccount.models import SocialToken
    from django.contrib import admin

    assert not admin.site.is_registered(SocialToken)
    staff = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/cutouts/cutoutjob/").status_code == 200
    assert client.get("/admin/socialaccount/socialtoken/").status_code == 404
