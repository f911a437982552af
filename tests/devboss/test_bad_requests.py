"""Bad requests on the resource routes get BOSS's JSON errors, never HTML, a 500 or a redirect
(boss-api.md sections 1.2, 1.4, 1.5, 14)."""
import pytest
import requests


def get(devboss, path, **kwargs):
    kwargs.setdefault("timeout", 10)
    return requests.get(devboss.url + path, allow_redirects=False, **kwargs)


def assert_boss_error(response, status, code):
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["message"]


def test_it_answers_404_4000_for_an_unknown_collection(devboss):
    response = get(devboss, "/v1/collection/no_such_collection")
    assert_boss_error(response, 404, 4000)
    assert response.json()["message"] == "no_such_collection does not exist."


@pytest.mark.parametrize(
    "path",
    [
        "/v1/collection/no_such/experiment/",
        "/v1/collection/demo/experiment/no_such",
        "/v1/collection/demo/experiment/cortex/channel/no_such",
        "/v1/coord/no_such",
    ],
)
def test_it_answers_404_4000_for_unknown_resources_at_every_level(devboss, path):
    assert_boss_error(get(devboss, path), 404, 4000)


@pytest.mark.parametrize("name", ["bad%20name", "bad.name", "caf%C3%A9", "a%2Bb"])
def test_it_refuses_names_with_bad_characters(devboss, name):
    assert_boss_error(get(devboss, f"/v1/collection/{name}"), 400, 1003)


def test_it_answers_9003_for_old_api_versions(devboss):
    assert_boss_error(get(devboss, "/v0.5/collection/"), 400, 9003)


@pytest.mark.parametrize("path", ["/v1/nothing/here", "/v2/collection/", "/favicon.ico"])
def test_it_answers_unrouted_paths_with_an_html_404_as_boss_does(devboss, path):
    response = get(devboss, path)
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")


def test_it_answers_401_json_for_a_bad_token(devboss):
    response = get(devboss, "/v1/collection/demo", headers={"Authorization": "Token not-a-real-token"})
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid token."


def test_it_answers_401_for_an_empty_token(devboss):
    assert get(devboss, "/v1/collection/demo", headers={"Authorization": "Token "}).status_code == 401


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_it_answers_400_for_invalid_json_bodies(devboss, body):
    response = requests.post(
        f"{devboss.url}/v1/collection/would_be", data=body, timeout=10,
        headers={"Authorization": f"Token {devboss.token('bob')}", "Content-Type": "application/json"},
    )
    assert_boss_error(response, 400, 1003)


@pytest.mark.parametrize(
    "body",
    [
        {"x_start": "zero"},
        {"x_start": 0, "x_stop": 1, "y_start": 0, "y_stop": 1, "z_start": 0, "z_stop": 1,
         "x_voxel_size": 1, "y_voxel_size": 1, "z_voxel_size": 1, "voxel_unit": "parsecs"},
        {"x_start": None},
    ],
)
def test_it_answers_400_for_invalid_fields(devboss, body):
    response = requests.post(
        f"{devboss.url}/v1/coord/would_be", json=body, timeout=10,
        headers={"Authorization": f"Token {devboss.token('bob')}"},
    )
    assert_boss_error(response, 400, 1003)


def test_it_lists_collections_at_the_double_slash_intern_uses(devboss):
    response = get(devboss, "/v1/collection//", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"collections": ["demo", "realboss"]}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/collection",
        "/v1/collection/demo",
        "/v1/coord",
        "/v1/coord/demo_frame",
        "/v1/collection/demo/experiment",
        "/v1/collection/demo/experiment/cortex",
        "/v1/collection/demo/experiment/cortex/channel",
        "/v1/collection/demo/experiment/cortex/channel/em",
    ],
)
def test_it_takes_the_trailing_slash_as_optional_and_never_redirects(devboss, path):
    for variant in (path, path + "/", path.replace("/v1/", "/latest/", 1)):
        response = get(devboss, variant, headers={"Content-Type": "application/json"})
        assert response.status_code == 200, variant


def test_it_does_not_redirect_writes_without_a_trailing_slash(devboss):
    response = requests.post(f"{devboss.url}/v1/collection/x", allow_redirects=False, timeout=10)
    assert response.status_code == 401


def test_it_sends_cors_headers(devboss):
    response = get(devboss, "/v1/collection/demo", headers={"Origin": "https://ng.example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert get(devboss, "/v1/collection/nope").headers["Access-Control-Allow-Origin"] == "*"


def test_it_answers_a_preflight_that_asks_for_authorization(devboss):
    response = requests.options(
        f"{devboss.url}/latest/collection/demo/experiment/cortex/",
        headers={
            "Origin": "https://ng.example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


def test_it_answers_ping_without_auth(devboss):
    response = get(devboss, "/ping/")
    assert response.status_code == 200
    assert "ip" in response.json()


def test_it_refuses_unsupported_methods_with_json(devboss):
    response = requests.patch(f"{devboss.url}/v1/collection/demo", timeout=10)
    assert response.status_code == 405
    assert response.json()["status"] == 405
