"""devboss as an OIDC provider: Keycloak's addresses, claims, and bearer tokens on the BOSS API."""
import time

import requests

from tests.auth.conftest import ACCESS_TOKEN_SECONDS, password_grant, sleep_until_expired, userinfo


def test_discovery_has_keycloaks_endpoints(oidc_devboss):
    config = requests.get(f"{oidc_devboss.issuer}/.well-known/openid-configuration", timeout=10).json()
    assert config["issuer"] == oidc_devboss.issuer
    for key, path in [("authorization_endpoint", "auth"), ("token_endpoint", "token"),
                      ("userinfo_endpoint", "userinfo"), ("jwks_uri", "certs"), ("end_session_endpoint", "logout")]:
        assert config[key] == f"{oidc_devboss.issuer}/protocol/openid-connect/{path}"
    assert "RS256" in config["id_token_signing_alg_values_supported"]


def test_userinfo_has_the_claims_clients_need(oidc_devboss):
    claims = userinfo(oidc_devboss, password_grant(oidc_devboss, "alice")["access_token"])
    assert claims["preferred_username"] == "alice"
    assert claims["email"] and claims["email_verified"] is True
    assert {"sub", "given_name", "family_name", "name"} <= set(claims)


def test_the_api_accepts_a_bearer_token(oidc_devboss):
    token = password_grant(oidc_devboss, "alice")["access_token"]
    response = requests.get(f"{oidc_devboss.url}/v1/collection/", headers={"Authorization": f"Bearer {token}"},
                            timeout=10)
    assert response.status_code == 200
    assert "alice_lab" in response.json()["collections"]


def test_the_api_refuses_expired_and_bad_bearer_tokens(oidc_devboss):
    asked = time.time()  # the token expires ACCESS_TOKEN_SECONDS after it was issued, after this
    token = password_grant(oidc_devboss, "alice")["access_token"]
    sleep_until_expired(asked + ACCESS_TOKEN_SECONDS)
    for bad in (token, "not-a-token"):
        response = requests.get(f"{oidc_devboss.url}/v1/collection/", headers={"Authorization": f"Bearer {bad}"},
                                timeout=10)
        assert response.status_code == 401
