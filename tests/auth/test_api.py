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


def test_a_users_first_api_call_makes_their_account_as_a_browser_login_would(portal, client, oidc_devboss, alice):
    """bob never opened the portal: his script's first call is answered, and his account is the one a first
    browser login would have made (allauth's username, e-mail and names from the claims, matched by `sub`)."""
    token = password_grant(oidc_devboss, "bob")["access_token"]
    claims = userinfo(oidc_devboss, token)
    assert not get_user_model().objects.filter(username="bob").exists()

    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response.json()["username"] == claims["preferred_username"] == "bob"
    assert response.json()["email"] == claims["email"]
    account = SocialAccount.objects.get(provider="boss", uid=claims["sub"])
    assert account.user.username == "bob" and account.user.email == claims["email"]
    assert not account.user.has_usable_password()  # as allauth's social signup: no password in the portal
    assert account.user.emailaddress_set.get().email == claims["email"]

    # The next call (another token of the same user) finds that account: no second one.
    again = password_grant(oidc_devboss, "bob")["access_token"]
    assert client.get("/api/cutouts/", HTTP_AUTHORIZATION=f"Bearer {again}").status_code == 200
    assert get_user_model().objects.filter(socialaccount__uid=claims["sub"]).count() == 1
    assert get_user_model().objects.count() == 2  # alice and bob


def test_a_first_call_never_takes_over_an_account_with_the_same_username(portal, client, oidc_devboss):
    """A portal user named bob with another `sub` (or none) stays theirs: the new account gets another name."""
    other = get_user_model().objects.create_user("bob", "someone-else@example.org")
    token = password_grant(oidc_devboss, "bob")["access_token"]
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response.json()["username"] != "bob"
    assert SocialAccount.objects.get(uid=userinfo(oidc_devboss, token)["sub"]).user != other


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
