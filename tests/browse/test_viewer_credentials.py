"""devboss's answer to the local Neuroglancer's `POST /credentials/<token>` (devboss/viewer/credentials.py),
over HTTPS (the only scheme boss:// sources work with), from a browser-like client with a devboss session.

What the client sends (the wheel's main.*.js, PythonCredentialsProvider): `{"key": "boss", "parameters":
"<auth server derived from the boss:// host>", "invalid": <generation>|null}`, same-origin, with cookies;
it wants `{"generation": <int>, "credentials": "<token>"}` and sends `Authorization: Bearer <token>`.
"""
import json
import re

import pytest
import requests

from devboss.viewer.client import auth_server

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

PRIVATE_CUTOUT = "/latest/cutout/alice_lab/private_exp/em/0/0:64/0:64/0:1/"
BOB_CUTOUT = "/latest/cutout/bob_lab/bob_exp/em/0/0:64/0:64/0:1/"
PRIVATE_EXPERIMENT = "/latest/collection/alice_lab/experiment/private_exp/"  # JSON: a refused token is a 401


def browser_session(base):
    session = requests.Session()
    session.verify = False
    session.trust_env = False  # else REQUESTS_CA_BUNDLE would win over verify=False
    session.base = base
    return session


def devboss_login(session, username, password):
    """Log in on devboss's own login page, as a browser would (its session cookie is what the viewer uses)."""
    login = f"{session.base}/auth/realms/BOSS/login/"
    page = session.get(login, timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(login, data={"csrfmiddlewaretoken": csrf, "username": username, "password": password},
                          headers={"Origin": session.base, "Referer": login}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    return session


def ask(session, parameters=None, origin=None, site="same-origin", invalid=None, key="boss", method="POST"):
    """The request the viewer's page makes (fetch POST, text/plain JSON body, same-origin)."""
    headers = {"Content-Type": "text/plain;charset=UTF-8"}
    if site:
        headers["Sec-Fetch-Site"] = site
    headers["Origin"] = origin or session.base
    body = {"key": key, "parameters": parameters or auth_server(session.base), "invalid": invalid}

    return session.request(method, f"{session.base}/credentials/devboss", data=json.dumps(body), headers=headers,
                           timeout=10)


def bearer_get(base, path, token):
    accept = "application/npygz" if "/cutout/" in path else "application/json"
    return requests.get(base + path, headers={"Authorization": f"Bearer {token}", "Accept": accept},
                        verify=False, timeout=10)


def test_the_auth_server_is_what_neuroglancer_derives():
    assert auth_server("https://api.bossdb.io") == "https://auth.bossdb.io/auth"
    assert auth_server("https://127.0.0.1:8443") == "https://auth.0.0.1:8443/auth"
    assert auth_server("http://127.0.0.1:8000") is None


def test_alice_gets_a_read_only_token_of_her_own(https_devboss, devboss):
    alice = devboss_login(browser_session(https_devboss.url), "alice", devboss.password("alice"))
    answer = ask(alice)
    assert answer.status_code == 200
    assert "no-store" in answer.headers["Cache-Control"] and "Access-Control-Allow-Origin" not in answer.headers
    body = answer.json()
    token, generation = body["credentials"], body["generation"]
    assert isinstance(token, str) and len(token) > 30 and isinstance(generation, int)
    # What Neuroglancer then sends: it reads alice's private channel, not bob's, and writes nothing.
    assert requests.get(https_devboss.url + PRIVATE_CUTOUT, verify=False, timeout=10).status_code in (401, 403)
    assert bearer_get(https_devboss.url, PRIVATE_CUTOUT, token).status_code == 200
    assert bearer_get(https_devboss.url, BOB_CUTOUT, token).status_code == 403
    write = requests.post(https_devboss.url + PRIVATE_CUTOUT, data=b"x", verify=False, timeout=10,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/blosc"})
    assert write.status_code == 403 and "can only read" in write.text
    # A refresh (the client names the generation that failed) gives a new token.
    again = ask(alice, invalid=generation).json()
    assert again["generation"] != generation and again["credentials"] != token
    # The token never appears in a URL, hence never in the access log.
    assert token not in https_devboss.access_log.read_text()


def test_logging_out_of_devboss_revokes_the_viewers_tokens(https_devboss, devboss):
    alice = devboss_login(browser_session(https_devboss.url), "alice", devboss.password("alice"))
    token = ask(alice).json()["credentials"]
    assert bearer_get(https_devboss.url, PRIVATE_CUTOUT, token).status_code == 200
    # The portal's one-step logout (a trusted client_id and its registered post-logout address).
    out = alice.get(f"{https_devboss.url}/auth/realms/BOSS/protocol/openid-connect/logout", allow_redirects=False,
                    params={"client_id": "portal", "post_logout_redirect_uri": "http://127.0.0.1/"}, timeout=10)
    assert out.status_code == 302
    assert bearer_get(https_devboss.url, PRIVATE_EXPERIMENT, token).status_code == 401
    assert ask(alice).status_code == 401


def test_nobody_else_gets_a_token(https_devboss, devboss):
    anonymous = browser_session(https_devboss.url)
    answer = ask(anonymous)
    assert answer.status_code == 401 and "credentials" not in answer.json()
    alice = devboss_login(browser_session(https_devboss.url), "alice", devboss.password("alice"))
    refusals = {
        "another site's page": ask(alice, origin="https://evil.example", site="cross-site"),
        "another site, no fetch metadata": ask(alice, origin="https://evil.example", site=None),
        "a sibling site": ask(alice, site="same-site"),
        "no browser headers at all": alice.post(f"{https_devboss.url}/credentials/devboss", timeout=10,
                                                data='{"key": "boss"}'),
        "another BOSS host's sources": ask(alice, parameters="https://auth.bossdb.io/auth"),
        "another credentials key": ask(alice, key="gcs"),
        "a GET": ask(alice, method="GET"),
    }
    plain = devboss_login(browser_session(devboss.url), "alice", devboss.password("alice"))
    refusals["plain HTTP (boss:// sources are https)"] = plain.post(
        f"{devboss.url}/credentials/devboss", data='{"key": "boss", "parameters": null}', timeout=10,
        headers={"Origin": devboss.url, "Sec-Fetch-Site": "same-origin"})
    statuses = {why: r.status_code for why, r in refusals.items()}
    assert all(status in (400, 403, 404, 405) for status in statuses.values()), statuses
    assert not any("credentials" in r.json() for r in refusals.values() if r.headers["Content-Type"] ==
                   "application/json")


def test_the_client_may_connect_to_its_own_origin_only(https_devboss):
    index = requests.get(https_devboss.ndviz_url, verify=False, timeout=10)
    csp = index.headers["Content-Security-Policy"]
    assert csp.startswith("connect-src 'self'") and "*" not in csp.replace(":*", "")
    main_js = re.search(r'src="(main\.[0-9a-f]+\.js)"', index.text).group(1)
    script = requests.get(https_devboss.ndviz_url + main_js, verify=False, timeout=10)
    assert script.headers["Content-Security-Policy"] == csp  # workers get their scripts' policy

