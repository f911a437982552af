"""A job outlives its owner's access token: it renews the token before it expires, and once after the real
BOSS's answer to an expired token on a binary cutout (a 500, not a 401). devboss answers like the real BOSS."""
import time

import numpy as np
import pytest
import requests
import tifffile

from devboss.api import procedural
from tests.auth.conftest import ACCESS_TOKEN_SECONDS
from tests.jobs import login_token

pytestmark = pytest.mark.django_db(transaction=True)


def admin(devboss):
    return {"Authorization": f"Token {devboss.token('admin')}"}


def test_a_job_outlives_three_token_lifetimes(portal, oidc_devboss, redis_server, django_user_model, tmp_path):
    from cutouts import engine
    from cutouts.validation import validate

    portal.CELERY_BROKER_URL = redis_server
    portal.CUTOUT_RESULTS_DIR = tmp_path
    portal.CUTOUT_BLOCK_BYTES = 256 * 1024
    portal.CUTOUT_FETCH_CONCURRENCY = 1
    portal.OIDC_REFRESH_MARGIN_SECONDS = 0.5
    # The token comes from a password grant of devboss's public client `endpoint` (a browser login would give
    # the portal's own client's): the portal renews it as that client.
    portal.OIDC_CLIENT_ID, portal.OIDC_CLIENT_SECRET = "endpoint", ""
    alice = django_user_model.objects.create_user("alice", email="alice@example.org")
    first = login_token(alice, oidc_devboss, "alice").token
    box = {"x": [0, 1024], "y": [0, 1024], "z": [100, 228]}  # 16 blocks (whole rows of 1024 × 512 × 16)
    job = validate(alice, {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0, **box})
    job.save()
    assert job.start("in-process")
    faults = {"delay_rate": 1.0, "delay_seconds": 0.5}  # 16 blocks, one at a time: 8 s at least
    requests.post(f"{oidc_devboss.url}/devboss/faults", json=faults, headers=admin(oidc_devboss),
                  timeout=10).raise_for_status()
    started = time.monotonic()
    try:
        engine.run(job)
    finally:
        requests.delete(f"{oidc_devboss.url}/devboss/faults", headers=admin(oidc_devboss), timeout=10)
    took = time.monotonic() - started
    job.refresh_from_db()
    assert job.state == "done", job.error
    assert took > 3 * ACCESS_TOKEN_SECONDS, took
    assert alice.socialaccount_set.get().socialtoken_set.get().token != first  # renewed on the way
    expected = procedural.cutout("demo/cortex/em", "uint8", "image", 0, *box.values(), (0, 1))[0]
    np.testing.assert_array_equal(tifffile.imread(job.result_path), expected)


def test_a_job_whose_script_token_expires_mid_job_finishes_through_the_session(portal, oidc_devboss, redis_server,
                                                                                django_user_model, tmp_path):
    """Submitted over the API with a 2-second token, the job runs with that token, then renews through its
    owner's browser session (still alive) when the script's token expires."""
    from cutouts import engine, sealing
    from cutouts.validation import validate
    from tests.jobs import password_grant

    portal.CELERY_BROKER_URL = redis_server
    portal.CUTOUT_RESULTS_DIR = tmp_path
    portal.CUTOUT_FETCH_CONCURRENCY = 1
    portal.OIDC_REFRESH_MARGIN_SECONDS = 0.5
    portal.OIDC_CLIENT_ID, portal.OIDC_CLIENT_SECRET = "endpoint", ""  # the session's tokens are that client's
    alice = django_user_model.objects.create_user("alice", email="alice@example.org")
    session_token = login_token(alice, oidc_devboss, "alice").token
    script_token = password_grant(oidc_devboss, "alice")["access_token"]
    box = {"x": [0, 1024], "y": [0, 1024], "z": [100, 228]}
    job = validate(alice, {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0, **box})
    job.token_sealed = sealing.seal(script_token)
    job.save()
    assert job.start("in-process")
    requests.post(f"{oidc_devboss.url}/devboss/faults", json={"delay_rate": 1.0, "delay_seconds": 0.5},
                  headers=admin(oidc_devboss), timeout=10).raise_for_status()
    try:
        engine.run(job)
    finally:
        requests.delete(f"{oidc_devboss.url}/devboss/faults", headers=admin(oidc_devboss), timeout=10)
    job.refresh_from_db()
    assert job.state == "done", job.error
    assert job.token_sealed == ""
    # The session was used (and renewed) once the script's token had died.
    assert alice.socialaccount_set.get().socialtoken_set.get().token != session_token
    expected = procedural.cutout("demo/cortex/em", "uint8", "image", 0, *box.values(), (0, 1))[0]
    np.testing.assert_array_equal(tifffile.imread(job.result_path), expected)
