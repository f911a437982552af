"""Bad answers from the provider give a clear page, never a 500."""
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.auth.conftest import point_portal_at
from devboss.procs import free_port

pytestmark = pytest.mark.django_db

CALLBACK = "/accounts/oidc/boss/login/callback/"


def start_login(client):
    response = client.post("/accounts/oidc/boss/login/")
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)


def test_login_starts_with_pkce_at_devboss(portal, client, oidc_devboss):
    params = start_login(client)
    assert params["code_challenge_method"] == ["S256"] and params["code_challenge"]
    assert params["client_id"] == ["portal"]


def test_a_state_mismatch_shows_a_clear_page(portal, client, oidc_devboss):
    start_login(client)
    response = client.get(CALLBACK, {"code": "abc", "state": "not-our-state"})
    assert response.status_code == 401
    assert b"could not be matched" in response.content


def test_access_denied_shows_login_cancelled(portal, client, oidc_devboss):
    state = start_login(client)["state"][0]
    response = client.get(CALLBACK, {"error": "access_denied", "state": state}, follow=True)
    assert response.status_code == 200
    assert b"Login cancelled" in response.content


def test_another_provider_error_shows_login_failed(portal, client, oidc_devboss):
    state = start_login(client)["state"][0]
    response = client.get(CALLBACK, {"error": "server_error", "state": state})
    assert response.status_code == 401
    assert b"did not complete the login" in response.content


def test_a_bad_code_shows_login_failed(portal, client, oidc_devboss):
    state = start_login(client)["state"][0]
    response = client.get(CALLBACK, {"code": "forged", "state": state})
    assert response.status_code == 401
    assert b"Login failed" in response.content


def test_provider_down_shows_a_clear_page(portal, client, settings):
    point_portal_at(settings, f"http://127.0.0.1:{free_port()}/auth/realms/BOSS")
    response = client.post("/accounts/oidc/boss/login/")
    assert response.status_code == 503
    assert b"can't be reached" in response.content
