"""Private data: alice, logged in, sees alice_lab; anonymous visitors and bob don't; caches are per user."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from tests.auth.conftest import point_portal_at
from tests.jobs import login_token

pytestmark = pytest.mark.django_db


def logged_in_user(devboss, username):
    """A user as the portal knows them after a browser login: account, stored access token."""
    user = get_user_model().objects.create_user(username, f"{username}@example.org")
    return user, login_token(user, devboss, username).token


@pytest.fixture
def oidc_boss(boss, settings):
    point_portal_at(settings, f"{boss.url}/auth/realms/BOSS", boss.url)
    cache.clear()
    return boss


def test_alice_sees_her_private_collection_and_the_anonymous_visitor_does_not(oidc_boss, client):
    alice, _ = logged_in_user(oidc_boss, "alice")
    anonymous = client.get("/c/").content.decode()
    assert 'href="/c/demo/"' in anonymous and "alice_lab" not in anonymous
    client.force_login(alice)
    html = client.get("/c/").content.decode()
    assert 'href="/c/alice_lab/"' in html and '<span class="badge badge-private">private</span>' in html
    page = client.get("/c/alice_lab/")
    assert page.status_code == 200
    client.logout()
    assert client.get("/c/alice_lab/").status_code == 403


def test_bob_is_forbidden_from_alice_lab(oidc_boss, client):
    bob, _ = logged_in_user(oidc_boss, "bob")
    client.force_login(bob)
    assert "alice_lab" not in client.get("/c/").content.decode()
    response = client.get("/c/alice_lab/")
    assert response.status_code == 403
    assert "no access to it" in response.content.decode()


def test_a_script_with_alices_bearer_token_reads_alice_lab_through_the_api(oidc_boss, client):
    _, token = logged_in_user(oidc_boss, "alice")
    response = client.get("/api/collections/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert "alice_lab" in [c["name"] for c in response.json()["collections"]]
    assert client.get("/api/collections/alice_lab/experiments/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert client.get("/api/collections/alice_lab/experiments/").status_code == 403
