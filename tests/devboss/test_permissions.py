"""Who sees what (boss-api.md section 2.4): alice reads alice_lab; bob, `Token public` and callers
with no Authorization header neither list it nor read it."""
import pytest
import requests
from intern.resource.boss.resource import CollectionResource, ExperimentResource
from requests import HTTPError

PRIVATE_PATHS = [
    "/v1/collection/alice_lab",
    "/v1/collection/alice_lab/experiment/",
    "/v1/collection/alice_lab/experiment/private_exp",
    "/v1/collection/alice_lab/experiment/private_exp/channel/",
    "/v1/collection/alice_lab/experiment/private_exp/channel/em",
]


def _headers(devboss, who):
    if who is None:
        return {}
    if who == "public":
        return {"Authorization": "Token public"}
    return {"Authorization": f"Token {devboss.token(who)}"}


def test_it_lists_and_reads_alice_lab_for_alice(devboss):
    rmt = devboss.remote(devboss.token("alice"))
    assert rmt.list_collections() == ["alice_lab", "demo", "realboss"]
    assert rmt.get_project(CollectionResource("alice_lab")).creator == "alice"
    assert rmt.list_channels("alice_lab", "private_exp") == ["em", "seg"]
    assert rmt.get_channel("em", "alice_lab", "private_exp").public is False


@pytest.mark.parametrize("path", PRIVATE_PATHS)
def test_it_lets_alice_read_every_level_of_her_collection(devboss, path):
    response = requests.get(devboss.url + path, headers=_headers(devboss, "alice"), timeout=10)
    assert response.status_code == 200


def test_it_lets_staff_see_every_collection(devboss):
    assert devboss.remote(devboss.token("admin")).list_collections() == ["alice_lab", "bob_lab", "demo", "realboss"]


@pytest.mark.parametrize("who", ["bob", "public", None])
def test_it_hides_alice_lab_from_others(devboss, who):
    response = requests.get(f"{devboss.url}/v1/collection/", headers=_headers(devboss, who), timeout=10)
    assert response.status_code == 200
    assert "alice_lab" not in response.json()["collections"]
    assert "demo" in response.json()["collections"]


@pytest.mark.parametrize("who", ["bob", "public", None])
@pytest.mark.parametrize("path", PRIVATE_PATHS)
def test_it_forbids_others_to_read_alice_lab(devboss, who, path):
    response = requests.get(devboss.url + path, headers=_headers(devboss, who), timeout=10)
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "status": 403, "code": 3001, "message": "Missing read permissions on the resource alice_lab",
    }


def test_it_raises_in_intern_for_bob(devboss):
    with pytest.raises(HTTPError) as info:
        devboss.remote(devboss.token("bob")).get_project(ExperimentResource("private_exp", "alice_lab"))
    assert info.value.response.status_code == 403


def test_it_lets_anyone_read_coordinate_frames(devboss):
    response = requests.get(f"{devboss.url}/v1/coord/alice_frame", timeout=10)
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_answers_401_to_anonymous_writes(devboss, method):
    response = getattr(requests, method)(f"{devboss.url}/v1/collection/demo", json={}, timeout=10)
    assert response.status_code == 401
    assert response.json()["status"] == 401


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_treats_the_public_token_as_anonymous_for_writes(devboss, method):
    response = getattr(requests, method)(
        f"{devboss.url}/v1/collection/demo", json={}, headers={"Authorization": "Token public"}, timeout=10
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("put", "/v1/collection/demo", {"description": "bob was here"}),
        ("delete", "/v1/collection/demo/experiment/cortex/channel/fluo", None),
        ("post", "/v1/collection/demo/experiment/bobs_exp", {"coord_frame": "bob_frame"}),
        ("post", "/v1/collection/demo/experiment/cortex/channel/bobs", {"type": "image", "datatype": "uint8"}),
        ("put", "/v1/coord/demo_frame", {"description": "bob was here"}),
    ],
)
def test_it_forbids_bob_to_change_public_resources_he_did_not_create(devboss, method, path, body):
    response = getattr(requests, method)(
        devboss.url + path, json=body, headers=_headers(devboss, "bob"), timeout=10
    )
    assert (response.status_code, response.json()["code"]) == (403, 3001)


def test_it_forbids_bob_to_add_to_alice_lab(devboss):
    response = requests.post(
        f"{devboss.url}/v1/collection/alice_lab/experiment/intruder", json={"coord_frame": "bob_frame"},
        headers=_headers(devboss, "bob"), timeout=10,
    )
    assert response.status_code == 403
