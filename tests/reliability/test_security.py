"""Who may see what: every job page and API endpoint asked by the owner (alice), another user (bob) and
an anonymous visitor; and secrets (access and refresh tokens, the OIDC client secret, SECRET_KEY) never
in logs, worker logs, error pages or JSON."""
import logging

import pytest
from django.conf import settings
from django.test import Client

from cutouts.models import CutoutJob
from tests.cutouts.conftest import password_grant
from cutouts import engine
from tests.reliability.conftest import wait_for_job

BOX = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
       "x": [0, 200], "y": [0, 200], "z": [100, 104]}


@pytest.fixture
def jobs(alice_jobs):
    return alice_jobs


def endpoints(done, failed):
    """(method, url, kind, owner's status): kind "api" answers 401 to anonymous callers, "page" sends
    them to log in."""
    d, f = done.pk, failed.pk
    return [
        ("GET", f"/cutouts/{d}/", "page", 200),
        ("GET", f"/cutouts/{d}/download", "page", 200),
        ("GET", f"/cutouts/{d}/provenance.json", "page", 200),
        ("POST", f"/cutouts/{d}/cancel", "page", 302),  # "a done job can't be cancelled", back to the job
        ("POST", f"/cutouts/{f}/retry", "page", 302),
        ("GET", f"/api/cutouts/{d}/", "api", 200),
        ("GET", f"/api/cutouts/{d}/download", "api", 200),
        ("POST", f"/api/cutouts/{d}/cancel", "api", 409),
        ("POST", f"/api/cutouts/{d}/retry", "api", 409),
    ]


def call(client, method, url, **headers):
    response = getattr(client, method.lower())(url, **headers)
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    return response


def test_the_owner_gets_each_job_endpoint_bob_gets_404_anonymous_must_log_in(jobs, alice, bob):
    done, failed = jobs
    results = []
    for method, url, kind, owner_status in endpoints(done, failed):
        anonymous = Client(raise_request_exception=False)
        other = Client(raise_request_exception=False)
        other.force_login(bob)
        owner = Client(raise_request_exception=False)
        owner.force_login(alice)
        # bob and the anonymous visitor first, so that nothing they do changes the job for alice.
        got_bob = call(other, method, url).status_code
        response = call(anonymous, method, url)
        if kind == "api":
            anon_ok = response.status_code == 401
        else:
            anon_ok = response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)
        got_owner = call(owner, method, url).status_code
        results.append((method, url, got_owner == owner_status, got_bob == 404, anon_ok))
    bad = [r for r in results if not all(r[2:])]
    assert not bad, bad
    failed.refresh_from_db()
    # alice's retry went through (bob's got 404 above); the session's worker may already have run it.
    assert failed.state in ("queued", "running", "done"), failed.state


def test_lists_show_only_the_callers_jobs(jobs, alice, bob, devboss):
    done, _ = jobs
    client = Client()
    client.force_login(bob)
    assert str(done.pk) not in client.get("/cutouts/").content.decode()
    assert client.get("/api/cutouts/").json()["jobs"] == []
    assert client.get("/cutouts/?format=json").json()["jobs"] == []
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {password_grant(devboss, 'bob')['access_token']}"}
    assert Client().get("/api/cutouts/", **bearer).json()["jobs"] == []
    assert Client().get(f"/api/cutouts/{done.pk}/", **bearer).status_code == 404
    client.force_login(alice)
    assert str(done.pk) in client.get("/cutouts/").content.decode()
    assert Client().get("/api/cutouts/").status_code == 401


def test_secrets_never_reach_logs_error_pages_or_json(jobs, alice, devboss, caplog, tmp_path_factory, settings,
                                                     celery_worker):
    from allauth.socialaccount.models import SocialToken

    caplog.set_level(logging.DEBUG)
    done, failed = jobs
    grant = password_grant(devboss, "alice")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {grant['access_token']}"}
    stored = SocialToken.objects.get(account__user=alice)
    secrets = {"access token": grant["access_token"], "refresh token": grant.get("refresh_token", ""),
               "stored access token": stored.token, "stored refresh token": stored.token_secret,
               "client secret": settings.OIDC_CLIENT_SECRET, "SECRET_KEY": settings.SECRET_KEY,
               "devboss token": devboss.token("alice")}
    secrets = {k: v for k, v in secrets.items() if v and len(v) >= 8}
    texts = []
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    api = Client(raise_request_exception=False)
    for response in (
        api.post("/api/cutouts/", "{bad", content_type="application/json", **bearer),
        api.post("/api/cutouts/", {**BOX, "x": [5, 1]}, content_type="application/json", **bearer),
        api.post("/api/cutouts/", {**BOX, "experiment": "nope"}, content_type="application/json", **bearer),
        api.get("/api/cutouts/00000000-0000-0000-0000-000000000000/", **bearer),
        api.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {grant['access_token']}x"),
        api.get(f"/api/cutouts/{done.pk}/", **bearer),
        client.get("/c/demo/nope/"), client.get("/c/nope/"), client.get(f"/cutouts/{failed.pk}/"),
        client.get(f"/cutouts/{done.pk}/"), client.get("/c/demo/cortex/cutout/?x=a:b"),
        client.post("/c/demo/cortex/cutout/", {"channels": "em", "x0": "z"}),
    ):
        texts.append(response.content.decode(errors="replace"))
    # A job that fails at BOSS (unreachable) and one run by the real worker, with the bearer token.
    settings.BOSS_URL = "http://127.0.0.1:9"
    settings.CUTOUT_RETRY_BACKOFF = 0.001  # its retries, without the default 0.5 s doubled (7.5 s in all)
    broken = CutoutJob.objects.create(
        owner=alice, collection="demo", experiment="cortex", channels=["em"], resolution=0, x0=0, x1=10, y0=0,
        y1=10, z0=100, z1=101, meta=done.meta)
    assert broken.start("in-process")
    engine.run(broken)
    broken.refresh_from_db()
    assert broken.state == "failed"
    texts.append(broken.error)
    settings.BOSS_URL = devboss.url
    response = api.post("/api/cutouts/", BOX, content_type="application/json", **bearer)
    assert response.status_code == 202, response.content
    wait_for_job(CutoutJob.objects.get(pk=response.json()["id"]))
    texts.append(caplog.text)
    for log in tmp_path_factory.getbasetemp().rglob("*.log"):
        texts.append(log.read_text(errors="replace"))
    leaks = [(name, i) for name, value in secrets.items() for i, text in enumerate(texts) if value in text]
    assert not leaks, leaks
    print(f"\nchecked {len(secrets)} secrets in {len(texts)} texts (responses, job errors, logs)")
