"""The JSON API: bearer tokens checked at the provider's userinfo, users matched by `sub`."""
import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model

from portal.boss.credentials import Credential, credential_for
from tests.auth.conftest import password_grant, userinfo

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(oidc_devboss):
    """Alice as the portal knows her after one browser login: a user and her SocialAccount."""
    user = get_user_model().objects.create_user("alice", "alice@example.org", first_name="Alice")
    token = password_grant(oidc_devboss, "alice")["access_token"]
    SocialAccount.objects.create(user=user, provider="boss", uid=userinfo(oidc_devboss, token)["sub"])
    return user


def test_a_password_grant_token_works_on_api_me(portal, client, oidc_devboss, alice):
    token = password_grant(oidc_devboss, "alice")["access_token"]
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert response.json()["email"] == "alice@example.org"


def test_a_bad_token_gets_401_json(portal, client, oidc_devboss, alice):
    response = client.get("/api/me/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_get_401(portal, client):
    assert client.get("/api/me/").status_code == 401


def test_a_user_who_never_logged_in_gets_a_hint(portal, client, oidc_devboss, alice):
    token = password_grant(oidc_devboss, "bob")["access_token"]
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert "log in to the portal once" in response.json()["detail"]


def test_the_bearer_token_becomes_the_boss_credential(portal, rf, oidc_devboss, alice):
    from portal.auth.api import OIDCBearerAuthentication
    from rest_framework.request import Request

    token = password_grant(oidc_devboss, "alice")["access_token"]
    request = Request(rf.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    user, credential = OIDCBearerAuthentication().authenticate(request)

    assert credential_for(user) == Credential("Bearer", token)
    assert request._request.boss_credential == Credential("Bearer", token)


def test_provider_down_gets_503(portal, client, alice, settings):
    from devboss.procs import free_port
    from tests.auth.conftest import point_portal_at

    point_portal_at(settings, f"http://127.0.0.1:{free_port()}/auth/realms/BOSS")
    response = client.get("/api/me/", HTTP_AUTHORIZATION="Bearer uncached-token")
    assert response.status_code == 503
