"""Anonymous browse pages come from a shared cache (portal/pagecache.py); a logged-in user, a bearer token,
a visitor's own recent collections and pages holding a CSRF token never do."""
import pytest
from django.core.cache import cache
from django.test import Client

from portal import pagecache
from tests.browse.test_private import logged_in_user, oidc_boss  # noqa: F401 (fixture)
from tests.jobs import password_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted(monkeypatch):
    """How many times each browse view really rendered."""
    calls = []
    real = pagecache.HttpResponse

    def spy(*args, **kwargs):
        calls.append("hit")
        return real(*args, **kwargs)

    monkeypatch.setattr(pagecache, "HttpResponse", spy)
    return calls


@pytest.mark.parametrize("path", ["/c/demo/cortex/", "/c/demo/", "/api/collections/", "/c/"])
def test_a_second_anonymous_visitor_gets_the_first_one_s_page_from_the_cache(oidc_boss, counted, path):  # noqa: F811
    first, second = Client(), Client()
    a = first.get(path)
    first.get(path)  # the first visit set the visitor's session cookie: the second one can be stored
    b = second.get(path)
    c = second.get(path)
    assert a.status_code == b.status_code == c.status_code == 200
    assert counted, "no response came from the cache"
    assert c.content == first.get(path).content
    assert c["Content-Type"] == a["Content-Type"]


def test_alice_never_gets_the_anonymous_page_nor_does_her_bearer_token(oidc_boss, client):  # noqa: F811
    alice, _ = logged_in_user(oidc_boss, "alice")
    for _ in range(3):
        assert "alice_lab" not in Client().get("/c/").content.decode()
        assert "alice_lab" not in Client().get("/api/collections/").content.decode()
    client.force_login(alice)
    assert 'href="/c/alice_lab/"' in client.get("/c/").content.decode()
    token = password_grant(oidc_boss, "alice")["access_token"]
    api = Client().get("/api/collections/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 200 and "alice_lab" in api.content.decode()


def test_each_visitor_sees_their_own_recent_collections(oidc_boss):  # noqa: F811
    reader, newcomer = Client(), Client()
    reader.get("/c/demo/")
    reader.get("/c/demo/")
    assert "badge-recent" in reader.get("/c/").content.decode()
    for _ in range(2):
        assert "badge-recent" not in newcomer.get("/c/").content.decode()
    assert "badge-recent" in reader.get("/c/").content.decode()


def test_a_page_holding_a_csrf_token_is_never_stored(rf, settings, db):
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse
    from django.middleware.csrf import get_token

    settings.BOSS_CACHE_SECONDS = 60
    cache.clear()
    renders = []

    @pagecache.anonymous_cache
    def view(request):
        renders.append(1)
        return HttpResponse(f"<input value='{get_token(request)}'>")

    for _ in range(3):
        request = rf.get("/form/")
        request.user = AnonymousUser()
        view(request)
    assert len(renders) == 3
