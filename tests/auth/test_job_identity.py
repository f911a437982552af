"""A job runs with the identity it was submitted with: a script's token while it is valid, then its owner's
session, and when neither is left it waits for a login (its finished blocks kept) instead of failing."""
import time
from datetime import timedelta

import numpy as np
import pytest
import requests
import tifffile
from django.contrib.auth.signals import user_logged_in
from django.utils import timezone

from devboss.api import procedural
from tests.cutouts.test_jobs import wait_for
from tests.jobs import login_token, password_grant

BOX = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
       "x": [0, 1024], "y": [0, 1024], "z": [100, 164]}  # 16 blocks of one cuboid each (1 MiB blocks)


WAITING_OR_ENDED = ("done", "failed", "cancelled", "needs_login")


def expected():
    return procedural.cutout("demo/cortex/em", "uint8", "image", 0, BOX["x"], BOX["y"], BOX["z"], (0, 1))[0]


def admin(devboss):
    return {"Authorization": f"Token {devboss.token('admin')}"}


def revoke(devboss, token):
    requests.post(f"{devboss.url}/auth/realms/BOSS/protocol/openid-connect/revoke",
                  data={"token": token, "client_id": "endpoint"}, timeout=10).raise_for_status()


def end_session(user):
    """The browser session's tokens are gone (its refresh token died with the SSO session)."""
    from allauth.socialaccount.models import SocialToken

    SocialToken.objects.filter(account__user=user).delete()


@pytest.mark.usefixtures("celery_worker")
def test_a_scripts_job_runs_with_its_own_token_when_the_browser_session_is_gone(alice, devboss, client, caplog):
    from cutouts.models import CutoutJob

    end_session(alice)
    token = password_grant(devboss, "alice")["access_token"]
    response = client.post("/api/cutouts/", BOX, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 202, response.content
    job = CutoutJob.objects.get(pk=response.json()["id"])
    assert job.token_sealed and token not in job.token_sealed  # kept, encrypted
    job = wait_for(job, states=WAITING_OR_ENDED)
    assert job.state == "done", job.error
    np.testing.assert_array_equal(tifffile.imread(job.result_path), expected())
    assert job.token_sealed == ""  # deleted when the job ended
    shown = client.get(f"/api/cutouts/{job.pk}/", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()
    client.force_login(alice)
    shown += client.get(f"/cutouts/{job.pk}/").content.decode() + client.get("/cutouts/").content.decode()
    assert token not in shown and token not in caplog.text


@pytest.mark.usefixtures("celery_worker")
def test_a_job_with_no_valid_token_left_waits_for_a_login_and_then_finishes(alice, devboss, client, settings):
    from cutouts.models import CutoutJob
    from tests.cli.common import cutouts_served, reset_stats

    client.force_login(alice)  # her browser's portal session (a login resumes waiting jobs: it comes first)
    end_session(alice)
    token = password_grant(devboss, "alice")["access_token"]
    requests.post(f"{devboss.url}/devboss/faults", json={"delay_rate": 1.0, "delay_seconds": 0.3},
                  headers=admin(devboss), timeout=10).raise_for_status()
    reset_stats(devboss)
    try:
        response = client.post("/api/cutouts/", BOX, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {token}")
        job = CutoutJob.objects.get(pk=response.json()["id"])
        deadline = time.monotonic() + 60
        while job.blocks_done < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
            job.refresh_from_db()
        revoke(devboss, token)  # the script's token dies mid-job, and there is no session to renew through
        job = wait_for(job, states=WAITING_OR_ENDED)
    finally:
        requests.delete(f"{devboss.url}/devboss/faults", headers=admin(devboss), timeout=10)
    assert job.state == "needs_login", job.error
    assert "Waiting for you to log in" in job.error and 4 <= job.blocks_done < job.blocks_total
    kept = job.blocks_done
    page = client.get(f"/cutouts/{job.pk}/").content.decode()
    assert "needs login" in page and "log in to resume" in page.lower()

    login_token(alice, devboss, "alice")  # alice logs in again in a browser
    user_logged_in.send(sender=alice.__class__, request=None, user=alice)
    job = wait_for(job, states=("done", "failed", "cancelled"))
    assert job.state == "done", job.error
    np.testing.assert_array_equal(tifffile.imread(job.result_path), expected())
    # The blocks finished before the wait were not fetched again (a few in flight when the token died were).
    assert cutouts_served(devboss, "demo/cortex/em") <= job.blocks_total + 3
    assert kept >= 4


@pytest.mark.usefixtures("celery_worker")
def test_an_api_call_with_a_fresh_token_resumes_the_waiting_jobs(alice, devboss, client):
    from cutouts import logins
    from cutouts.models import CutoutJob

    end_session(alice)
    job = CutoutJob.objects.create(owner=alice, collection="demo", experiment="cortex", channels=["em"],
                                   resolution=0, x0=0, x1=512, y0=0, y1=512, z0=100, z1=116, state="running",
                                   meta={"channels": {"em": {"datatype": "uint8", "type": "image"}},
                                         "voxel_size": [4.0, 4.0, 40.0], "voxel_unit": "nanometers"})
    assert logins.wait_for_login(job, "the token expired.")
    token = password_grant(devboss, "alice")["access_token"]
    assert client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    job = wait_for(job, states=("done", "failed"))
    assert job.state == "done", job.error


def test_a_job_nobody_logs_in_for_fails_after_the_grace_period_saying_which_token_expired(alice, settings):
    from cutouts import logins, sealing
    from cutouts.models import CutoutJob

    job = CutoutJob.objects.create(owner=alice, collection="demo", experiment="cortex", channels=["em"],
                                   resolution=0, x0=0, x1=8, y0=0, y1=8, z0=100, z1=101, state="running",
                                   token_sealed=sealing.seal("a-script-token"))
    assert logins.wait_for_login(job, "the token expired.")
    assert logins.fail_unclaimed() == 0
    later = timezone.now() + timedelta(seconds=settings.CUTOUT_LOGIN_GRACE_SECONDS + 1)
    assert logins.fail_unclaimed(now=later) == 1
    job.refresh_from_db()
    assert job.state == "failed" and "the access token it was submitted with expired" in job.error
    assert "Log in and retry" in job.error and job.token_sealed == ""


def test_a_sealed_token_is_not_the_token_and_opens_only_with_the_key(settings):
    from cutouts import sealing

    sealed = sealing.seal("header.payload.signature")
    assert "payload" not in sealed and sealing.unseal(sealed).value == "header.payload.signature"
    settings.SECRET_KEY = "another-key"
    assert sealing.unseal(sealed) is None


def test_the_login_asks_for_offline_access(portal, client, db):
    """So that jobs can renew their owner's token after the browser's SSO session ended (Keycloak offline
    tokens); devboss grants the scope as Keycloak does."""
    from django.conf import settings

    assert "offline_access" in settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"][0]["settings"]["scope"]
    response = client.post("/accounts/oidc/boss/login/")
    assert response.status_code == 302 and "offline_access" in response["Location"]
