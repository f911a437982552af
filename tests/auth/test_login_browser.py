"""The whole login in a real browser: portal → devboss login page → back, then BOSS calls as that user."""
import logging

import pytest
import requests
from allauth.socialaccount.models import SocialToken
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

import bossdb
from portal.boss.credentials import credential_for
from bossdb.errors import LoginRequired
from portal.boss.session import session_for
from tests.auth.conftest import log_in, sleep_until_expired

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def alice_logs_in(page, live_server, devboss):
    log_in(page, live_server.url, "alice", devboss.password("alice"))
    return get_user_model().objects.get(username="alice")


def stored_token(user):
    return SocialToken.objects.get(account__user=user)


def test_it_logs_alice_in_through_devboss(portal, live_server, page, oidc_devboss):
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("#login-with-boss")
    page.wait_for_url("**/auth/realms/BOSS/login/**")
    assert page.url.startswith(oidc_devboss.url)

    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", oidc_devboss.password("alice"))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/**")

    assert "Alice" in page.inner_text(".who .username")
    token = stored_token(get_user_model().objects.get(username="alice"))
    assert token.token and token.token_secret and token.expires_at


def test_boss_calls_use_the_users_own_token(portal, live_server, page, oidc_devboss):
    alice = alice_logs_in(page, live_server, oidc_devboss)

    assert credential_for(alice).scheme == "Bearer"
    mine = bossdb.list_collections(session_for(alice))
    assert "alice_lab" in mine and "demo" in mine and "bob_lab" not in mine

    public = bossdb.list_collections(session_for(AnonymousUser()))
    assert "demo" in public and "alice_lab" not in public and "bob_lab" not in public


def test_it_refreshes_an_expired_token(portal, live_server, page, oidc_devboss):
    alice = alice_logs_in(page, live_server, oidc_devboss)
    before = stored_token(alice)
    sleep_until_expired(before.expires_at)

    assert "alice_lab" in bossdb.list_collections(session_for(alice))

    after = stored_token(alice)
    assert after.token != before.token
    assert after.token_secret != before.token_secret  # devboss, like DOT, rotates refresh tokens
    assert after.expires_at > before.expires_at


def test_concurrent_requests_refresh_an_expired_token_once(portal, live_server, page, oidc_devboss):
    """Six requests find alice's access token expired at the same moment. The provider rotates refresh
    tokens (a used one is refused), so a second refresh with the same refresh token would fail and log
    her out: one refreshes, the others wait on the row lock, re-read it and use the new token."""
    import threading

    from django.db import connections

    from portal.auth import tokens
    from tests.jobs import userinfo

    alice = alice_logs_in(page, live_server, oidc_devboss)
    before = stored_token(alice)
    sleep_until_expired(before.expires_at)
    barrier = threading.Barrier(6)
    results = []

    def request():
        try:
            barrier.wait()
            results.append(tokens.access_token(alice))
        except Exception as exc:  # collected, so that the assertion names it
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 6 and all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 1 and results[0] != before.token  # one refresh, shared by all six
    after = stored_token(alice)
    assert after.token == results[0] and after.token_secret != before.token_secret
    assert userinfo(oidc_devboss, results[0])["preferred_username"] == "alice"


def test_it_asks_to_log_in_again_when_the_refresh_token_is_revoked(portal, live_server, page, oidc_devboss):
    portal.ROOT_URLCONF = "tests.auth.urls"
    alice = alice_logs_in(page, live_server, oidc_devboss)
    requests.post(
        f"{oidc_devboss.issuer}/protocol/openid-connect/revoke",
        data={"token": stored_token(alice).token_secret, "token_type_hint": "refresh_token",
              "client_id": "portal", "client_secret": "portal-dev-secret"},
        timeout=10,
    ).raise_for_status()
    sleep_until_expired(stored_token(alice).expires_at)

    with pytest.raises(LoginRequired):
        credential_for(alice)

    page.goto(f"{live_server.url}/boss-check/")
    assert "/accounts/login/" in page.url and "next=/boss-check/" in page.url
    assert "log in again" in page.inner_text(".messages")
    assert page.locator(".who .username").count() == 0


def test_tokens_never_reach_logs_or_urls(portal, live_server, page, oidc_devboss, caplog):
    caplog.set_level(logging.DEBUG)
    alice = alice_logs_in(page, live_server, oidc_devboss)
    first = stored_token(alice)
    bossdb.list_collections(session_for(alice))
    sleep_until_expired(stored_token(alice).expires_at)
    bossdb.list_collections(session_for(alice))  # after a refresh
    page.goto(f"{live_server.url}/")
    last = stored_token(alice)

    secrets = {first.token, first.token_secret, last.token, last.token_secret}
    devboss_log = (oidc_devboss.var_dir / "devboss.log").read_text(errors="replace")
    for secret in secrets:
        assert len(secret) >= 20
        assert secret not in caplog.text
        assert secret not in devboss_log
        assert not [url for url in page.visited if secret in url]
    assert any("/callback/" in url for url in page.visited)  # we did watch the whole flow


def test_logout_ends_the_session_here_and_at_devboss(portal, live_server, page, oidc_devboss):
    alice = alice_logs_in(page, live_server, oidc_devboss)
    page.click(".who button.logout")  # one step: no confirmation page here, none at devboss for its own portal
    page.wait_for_url(f"{live_server.url}/")
    assert any("/protocol/openid-connect/logout" in url for url in page.visited)

    assert "Alice" not in page.inner_text(".who")
    assert not SocialToken.objects.filter(account__user=alice).exists()
    # The devboss session is gone too: logging in asks for the password again.
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("#login-with-boss")
    page.wait_for_url("**/auth/realms/BOSS/login/**")
