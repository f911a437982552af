"""Malformed cutouts get BOSS's JSON errors with the documented status and code, and what the real BOSS
answers with HTML (unrouted URLs, bad tokens and JSON on binary cutouts) devboss answers with HTML too;
and injected faults (POST /devboss/faults) behave as promised."""
import pytest
import requests

CASES = [
    # (path after /v1/cutout/, Accept, status, code, words in the message)
    ("demo/cortex/em/0/0:10/0:10/0:2", None, 400, 1001, ["z", "100:228"]),
    ("demo/cortex/em/0/0:2049/0:10/100:102", None, 400, 1001, ["x", "0:2048"]),
    ("demo/cortex/em/0/0:10/2000:2100/100:102", None, 400, 1001, ["y"]),
    ("demo/cortex/em/0/10:10/0:10/100:102", None, 400, 1001, ["x", "10:10"]),
    ("demo/cortex/em/0/20:10/0:10/100:102", None, 400, 1001, ["x"]),
    ("demo/cortex/em/4/0:10/0:10/100:102", None, 400, 1002, ["resolution", "0 to 3"]),
    ("demo/timelapse/calcium/0/0:10/0:10/0:2/0:11", None, 400, 1000, ["time"]),
    ("demo/timelapse/calcium/0/0:10/0:10/0:2/5:5", None, 400, 1000, ["t"]),
    ("demo/cortex/nope/0/0:10/0:10/100:102", None, 404, 4000, ["nope"]),
    ("nope/cortex/em/0/0:10/0:10/100:102", None, 404, 4000, ["nope"]),
    ("alice_lab/private_exp/em/0/0:10/0:10/0:2", None, 403, 3001, []),
    ("demo/large/em/0/0:4096/0:4096/0:40", None, 413, 2000, ["500MB"]),
    ("demo/cortex/seg/0/0:2048/0:2048/100:228", None, 413, 2000, []),  # 537 M voxels of uint64, /4 > 520 MiB
    ("demo/cortex/fluo/0/0:10/0:10/100:102", "image/jpeg", 400, 2001, ["uint8"]),
    ("demo/timelapse/calcium/0/0:10/0:10/0:2/0:1", "image/jpeg", 400, 2001, []),
    ("demo/large/em/0/0:10/0:10/0:2/0:1", "image/jpeg", 400, 2005, []),
    ("demo/cortex/em/0/0:10/0:10/100:102?filter=1,2", None, 400, 2003, ["annotation"]),
    ("demo/cortex/seg/0/0:10/0:10/100:102?filter=1,x", None, 400, 1001, ["filter"]),
    ("demo/cortex/seg/0/0:10/0:10/100:102?filter=", None, 400, 1001, ["filter"]),
]


@pytest.mark.parametrize("path,accept,status,code,words", CASES, ids=[c[0] + (c[1] or "") for c in CASES])
def test_it_answers_a_bad_cutout_with_a_boss_json_error(devboss, path, accept, status, code, words):
    headers = {"Accept": accept} if accept else {"Accept": "application/blosc"}
    response = requests.get(f"{devboss.url}/v1/cutout/{path}" + ("" if "?" in path else "/"), headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    for word in words:
        assert word in body["message"]


# What the real BOSS never routes (its URL patterns want \\d+:\\d+ ranges and a one-digit level): Django's HTML 404.
UNROUTED = ["demo/cortex/em/0/a:10/0:10/100:102", "demo/cortex/em/0/0:10/0:1.5/100:102", "demo/cortex/em/0/0:10/0:10/100",
            "demo/cortex/em/0/-5:10/0:10/100:102", "demo/cortex/em/x/0:10/0:10/100:102",
            "demo/cortex/em/10/0:10/0:10/100:102", "demo/timelapse/calcium/0/0:10/0:10/0:2/x"]


@pytest.mark.parametrize("path", UNROUTED)
def test_a_cutout_url_boss_would_not_route_is_an_html_404(devboss, path):
    response = requests.get(f"{devboss.url}/v1/cutout/{path}/", headers={"Accept": "application/blosc"})
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")


def test_ranges_are_checked_against_the_level_0_frame_at_every_level(devboss):
    """BOSS compares every range with the level-0 frame (x 0:2048), whatever the level: at level 2 (whose data
    is x 0:512) x 0:513 is served (its last voxel is zeros), x 0:2049 is refused."""
    url = f"{devboss.url}/v1/cutout/demo/cortex/em/2/{{}}/0:10/100:102/"
    assert requests.get(url.format("0:513"), headers={"Accept": "application/blosc"}).status_code == 200
    refused = requests.get(url.format("0:2049"), headers={"Accept": "application/blosc"})
    assert refused.status_code == 400 and refused.json()["code"] == 1001


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_a_cutout_boss_can_t_render_is_a_500_page(devboss, accept):
    """An Accept nothing satisfies, and JSON (the data is not JSON-serialisable), are 500 pages on BOSS."""
    response = requests.get(f"{devboss.url}/v1/cutout/demo/cortex/em/0/0:10/0:10/100:102/", headers={"Accept": accept})
    assert response.status_code == 500 and response.headers["Content-Type"].startswith("text/html")


def test_a_whole_level_of_a_uint64_channel_is_allowed(devboss):
    response = requests.get(f"{devboss.url}/v1/cutout/demo/cortex/seg/3/0:256/0:256/100:228/")
    assert response.status_code == 200


def test_a_bad_token_on_a_binary_cutout_is_a_500_page_and_401_json_elsewhere(devboss):
    """The real BOSS's blosc renderer runs before authentication and fails on the 401 (real-boss.md 1)."""
    url = f"{devboss.url}/v1/cutout/demo/cortex/em/0/0:10/0:10/100:102/"
    binary = requests.get(url, headers={"Authorization": "Token nope", "Accept": "application/blosc"})
    assert binary.status_code == 500 and binary.headers["Content-Type"].startswith("text/html")
    meta = requests.get(f"{devboss.url}/v1/collection/demo", headers={"Authorization": "Token nope"})
    assert meta.status_code == 401 and meta.headers["Content-Type"] == "application/json"


def test_an_anonymous_post_is_a_500_page(devboss):
    response = requests.post(f"{devboss.url}/v1/cutout/demo/cortex/em/0/0:10/0:10/100:102/", data=b"")
    assert response.status_code == 500 and response.headers["Content-Type"].startswith("text/html")


# ---- fault injection --------------------------------------------------------------------------------


@pytest.fixture
def admin_faults(devboss):
    url = f"{devboss.url}/devboss/faults"
    headers = {"Authorization": f"Token {devboss.token('admin')}"}

    def set_faults(**values):
        response = requests.post(url, json=values, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    yield set_faults
    requests.delete(url, headers=headers).raise_for_status()


def test_only_staff_may_change_faults(devboss):
    for headers in ({}, {"Authorization": f"Token {devboss.token('alice')}"}):
        response = requests.post(f"{devboss.url}/devboss/faults", json={"error_rate": 1.0}, headers=headers)
        assert response.status_code == 403
        assert response.json()["code"] == 3000
    assert requests.get(f"{devboss.url}/devboss/faults").json()["error_rate"] == 0.0


def test_it_validates_fault_settings(devboss):
    headers = {"Authorization": f"Token {devboss.token('admin')}"}
    for body in ({"error_rate": 2}, {"nope": 1}, {"delay_seconds": "x"}, []):
        response = requests.post(f"{devboss.url}/devboss/faults", json=body, headers=headers)
        assert response.status_code == 400 and response.json()["code"] == 1003


def test_an_error_rate_of_1_answers_every_cutout_with_500_json(devboss, admin_faults):
    state = admin_faults(error_rate=1.0)
    assert state["error_rate"] == 1.0
    assert requests.get(f"{devboss.url}/devboss/faults").json()["error_rate"] == 1.0
    url = f"{devboss.url}/v1/cutout/demo/cortex/em/0/0:64/0:64/100:101/"
    for _ in range(4):  # several requests, so that both gunicorn workers answer
        response = requests.get(url)
        assert response.status_code == 500
        assert response.json() == {"status": 500, "code": 9002, "message": "Injected fault: simulated server error."}
    # Resource routes are untouched.
    assert requests.get(f"{devboss.url}/v1/collection/demo").status_code == 200


def test_a_truncate_rate_of_1_cuts_responses_short(devboss, admin_faults):
    admin_faults(truncate_rate=1.0)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{devboss.url}/v1/cutout/demo/cortex/em/0/0:512/0:512/100:116/", timeout=30)


def test_a_delay_rate_of_1_delays_cutouts(devboss, admin_faults):
    import time

    admin_faults(delay_rate=1.0, delay_seconds=0.5)
    start = time.monotonic()
    response = requests.get(f"{devboss.url}/v1/cutout/demo/cortex/em/0/0:64/0:64/100:101/")
    assert response.status_code == 200
    assert time.monotonic() - start >= 0.5


def test_resetting_faults_restores_normal_service(devboss, admin_faults):
    admin_faults(error_rate=1.0)
    requests.delete(
        f"{devboss.url}/devboss/faults", headers={"Authorization": f"Token {devboss.token('admin')}"}
    ).raise_for_status()
    assert requests.get(f"{devboss.url}/v1/cutout/demo/cortex/em/0/0:64/0:64/100:101/").status_code == 200
