"""devboss reproduces, by default, what the real BOSS does that a friendlier server would forgive (behaviours 1-10
of devboss.api.realboss, shown by the `realboss` demo collection), accepts cutout writes like BOSS, and meters
cutout bytes like BOSS's throttle. Everything over HTTP against the shared devboss; run-time settings changed
here are restored. Writes go to a private collection of this module's own, deleted at the end, on the devboss the
devboss tests write to (tests/devboss/conftest.py `writable_devboss`, else the shared one)."""
import io
import random
import zlib

import blosc
import numpy as np
import pytest
import requests
from intern.resource.boss.resource import ChannelResource

from devboss.api import procedural

BINARY = ["application/blosc", "application/blosc-python", "application/npygz", "image/jpeg"]
SERVER_ERROR = "<h1>Server Error (500)</h1>"


def auth(devboss, user):
    return {"Authorization": f"Token {devboss.token(user)}"}


def get(devboss, path, accept="application/blosc", headers=None, **kwargs):
    return requests.get(f"{devboss.url}{path}", headers={"Accept": accept, **(headers or {})}, timeout=30, **kwargs)


def cutout(devboss, path, **kwargs):
    return get(devboss, f"/v1/cutout/{path}/", **kwargs)


def decoded(response, dtype, shape):
    assert response.status_code == 200, response.text[:300]
    return np.frombuffer(blosc.decompress(response.content), dtype=dtype).reshape(shape)


def expected(key, level, x, y, z, t=(0, 1), datatype="uint8", kind="image"):
    return procedural.cutout(key, datatype, kind, level, x, y, z, t)


def is_server_error(response):
    return (response.status_code == 500 and response.headers["Content-Type"].startswith("text/html")
            and response.text == SERVER_ERROR)


def boss_error(response, status, code):
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body["message"]


@pytest.fixture
def forgive(devboss):
    """forgive(1, 2): switch behaviours off at run time (POST /devboss/forgive); restored afterwards."""
    url = f"{devboss.url}/devboss/forgive"

    def switch(*numbers):
        response = requests.post(url, json={"forgive": list(numbers)}, headers=auth(devboss, "admin"), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    yield switch
    assert requests.delete(url, headers=auth(devboss, "admin"), timeout=10).json()["forgive"] == []


# ---- 1: a rejected token on a binary cutout is a 500 page ----------------------------------------------------


@pytest.mark.parametrize("accept", BINARY)
def test_a_rejected_token_on_a_binary_cutout_is_answered_500_html(devboss, accept):
    for header in ("Token nope", "Bearer expired.or.forged"):
        response = cutout(devboss, "demo/cortex/em/0/0:10/0:10/100:102", accept=accept,
                          headers={"Authorization": header})
        assert is_server_error(response), (header, response.status_code, response.text[:200])


def test_json_routes_and_json_cutouts_still_answer_401_and_403(devboss):
    bad = {"Authorization": "Token nope"}
    assert boss_error(get(devboss, "/v1/collection/demo", accept="*/*", headers=bad), 401, 3004) == "Invalid token."
    assert get(devboss, "/v1/downsample/demo/cortex/em", accept="*/*", headers=bad).status_code == 401
    assert cutout(devboss, "demo/cortex/em/0/0:10/0:10/100:102", accept="application/json",
                  headers=bad).status_code == 401
    # 403 is what the binary renderers do handle: JSON, whatever the Accept.
    private = cutout(devboss, "alice_lab/private_exp/em/0/0:10/0:10/0:2")
    boss_error(private, 403, 3001)
    boss_error(get(devboss, "/v1/collection/alice_lab", accept="*/*"), 403, 3001)


def test_other_drf_errors_on_a_binary_cutout_are_500_pages_too(devboss):
    path = "demo/cortex/em/0/0:10/0:10/100:102"
    assert is_server_error(cutout(devboss, path, accept="image/png"))  # 406, rendered by blosc
    assert is_server_error(requests.delete(f"{devboss.url}/v1/cutout/{path}/", timeout=10))  # 405
    anonymous_write = requests.post(f"{devboss.url}/v1/cutout/{path}/", data=b"\0" * 8,
                                    headers={"Content-Type": "application/blosc"}, timeout=10)
    assert is_server_error(anonymous_write)  # 401 NotAuthenticated (IsAuthenticatedOrReadOnly)


def test_behaviour_1_can_be_forgiven(devboss, forgive):
    forgive(1)
    response = cutout(devboss, "demo/cortex/em/0/0:10/0:10/100:102", headers={"Authorization": "Token nope"})
    assert boss_error(response, 401, 3004) == "Invalid token."


# ---- 2: ranges are checked against the level-0 frame at every level --------------------------------------------


def test_the_offset_frame_refuses_level_boxes_computed_from_the_level_0_start(devboss):
    key = "realboss/offset/em"
    at0 = decoded(cutout(devboss, "realboss/offset/em/0/1000:1100/600:640/0:4"), np.uint8, (4, 40, 100))
    assert np.array_equal(at0, expected(key, 0, (1000, 1100), (600, 640), (0, 4))[0])
    # Level 1 holds x 500:1524, y 300:1324; BOSS compares with x 1000:3048, y 600:2648 anyway.
    message = boss_error(cutout(devboss, "realboss/offset/em/1/500:600/300:400/0:4"), 400, 1001)
    assert "1000:3048" in message
    boss_error(cutout(devboss, "realboss/offset/em/1/1000:1100/300:400/0:4"), 400, 1001)
    boss_error(cutout(devboss, "realboss/offset/em/0/999:1100/600:640/0:4"), 400, 1001)
    boss_error(cutout(devboss, "realboss/offset/em/0/1000:3049/600:640/0:4"), 400, 1001)


def test_what_the_level_0_bounds_let_through_holds_data_only_inside_the_level(devboss):
    key = "realboss/offset/em"
    got = decoded(cutout(devboss, "realboss/offset/em/1/1500:1600/600:700/0:2"), np.uint8, (2, 100, 100))
    want = expected(key, 1, (1500, 1600), (600, 700), (0, 2))[0]
    assert np.array_equal(got[:, :, :24], want[:, :, :24])  # level 1 ends at x 1524
    assert not got[:, :, 24:].any() and got[:, :, :24].any()
    # From level 2 on (x 250:762) nothing at all can be served: every allowed box is empty.
    assert not decoded(cutout(devboss, "realboss/offset/em/2/1000:1200/600:800/0:2"), np.uint8, (2, 200, 200)).any()


def test_behaviour_2_can_be_forgiven(devboss, forgive):
    forgive(2)
    key = "realboss/offset/em"
    got = decoded(cutout(devboss, "realboss/offset/em/1/500:600/300:400/0:2"), np.uint8, (2, 100, 100))
    assert np.array_equal(got, expected(key, 1, (500, 600), (300, 400), (0, 2))[0])


# ---- 3: null time_step and time_step_unit ----------------------------------------------------------------------


def test_an_experiment_without_time_step_answers_null(devboss):
    body = get(devboss, "/v1/collection/realboss/experiment/notime", accept="*/*").json()
    assert body["time_step"] is None and body["time_step_unit"] is None
    with pytest.raises(AttributeError):  # what intern 1.4.2 makes of it
        devboss.remote().get_experiment("realboss", "notime")


def test_an_experiment_created_without_time_fields_keeps_them_null(workspace):
    server = workspace.devboss
    body = get(server, f"/v1/collection/{workspace.collection}/experiment/notime", accept="*/*",
               headers=auth(server, "admin")).json()
    assert (body["time_step"], body["time_step_unit"]) == (None, None)


def test_behaviour_3_can_be_forgiven(devboss, forgive):
    forgive(3)
    assert devboss.remote().get_experiment("realboss", "notime").time_step_unit == "seconds"


# ---- 4: channels not downsampled -------------------------------------------------------------------------------


def test_a_channel_not_downsampled_says_so(devboss):
    for ch in ("em", "seg"):
        channel = get(devboss, f"/v1/collection/realboss/experiment/pending/channel/{ch}", accept="*/*").json()
        assert channel["downsample_status"] == "NOT_DOWNSAMPLED"
        assert get(devboss, f"/v1/downsample/realboss/pending/{ch}", accept="*/*").json()["status"] == "NOT_DOWNSAMPLED"


def test_an_image_channel_not_downsampled_reads_zeros_above_its_base(devboss):
    at0 = decoded(cutout(devboss, "realboss/pending/em/0/0:300/0:200/0:4"), np.uint8, (4, 200, 300))
    assert np.array_equal(at0, expected("realboss/pending/em", 0, (0, 300), (0, 200), (0, 4))[0])
    for level in (1, 3):
        response = cutout(devboss, f"realboss/pending/em/{level}/0:200/0:200/0:4")
        assert not decoded(response, np.uint8, (4, 200, 200)).any()


def test_an_annotation_channel_not_downsampled_fails_off_its_base(devboss):
    at0 = decoded(cutout(devboss, "realboss/pending/seg/0/0:512/0:512/0:16"), np.uint64, (16, 512, 512))
    assert np.array_equal(at0, expected("realboss/pending/seg", 0, (0, 512), (0, 512), (0, 16), datatype="uint64",
                                        kind="annotation")[0])
    assert at0.any()
    for accept in BINARY[:3]:
        assert is_server_error(cutout(devboss, "realboss/pending/seg/1/0:100/0:100/0:4", accept=accept))
    admin = auth(devboss, "admin")
    # ids cut out the partial cuboids at the edges (500), and read whole cuboids from the index (nothing there).
    assert is_server_error(get(devboss, "/v1/ids/realboss/pending/seg/1/0:100/0:100/0:4/", accept="*/*", headers=admin))
    aligned = get(devboss, "/v1/ids/realboss/pending/seg/1/0:512/0:512/0:16/", accept="*/*", headers=admin)
    assert aligned.json() == {"ids": []}


def test_behaviour_4_can_be_forgiven(devboss, forgive):
    forgive(4)
    got = decoded(cutout(devboss, "realboss/pending/seg/1/0:100/0:100/0:4"), np.uint64, (4, 100, 100))
    assert np.array_equal(got, expected("realboss/pending/seg", 1, (0, 100), (0, 100), (0, 4), datatype="uint64",
                                        kind="annotation")[0])


# ---- 5: base_resolution above 0 --------------------------------------------------------------------------------


def test_a_channel_based_at_level_1_serves_levels_1_to_4(devboss):
    assert "Invalid resolution" in boss_error(cutout(devboss, "realboss/based/em/0/0:10/0:10/0:2"), 400, 1002)
    boss_error(cutout(devboss, "realboss/based/em/5/0:10/0:10/0:2"), 400, 1002)
    for level in (1, 4):
        got = decoded(cutout(devboss, f"realboss/based/em/{level}/0:64/0:64/0:2"), np.uint8, (2, 64, 64))
        assert np.array_equal(got, expected("realboss/based/em", level, (0, 64), (0, 64), (0, 2))[0])
    info = get(devboss, "/latest/downsample/realboss/based/em", accept="*/*").json()
    assert sorted(info["voxel_size"]) == sorted(info["extent"]) == ["0", "1", "2", "3"]
    assert info["extent"]["0"] == [2048, 2048, 64]


def test_behaviour_5_can_be_forgiven(devboss, forgive):
    forgive(5)
    assert cutout(devboss, "realboss/based/em/0/0:10/0:10/0:2").status_code == 200


# ---- 6: byte quotas (throttling) ---------------------------------------------------------------------------------


@pytest.fixture
def quota(devboss):
    """quota({"user:bob": 1000}): per-account limits (POST /devboss/throttle) on `server` (default: the shared
    devboss); every server touched is reset afterwards."""
    touched = []

    def set_limits(limits, mtype="egress", server=devboss):
        body = {"thresholds": [{"metric": m, "mtype": mtype, "limit": v} for m, v in limits.items()],
                "reset_usage": True}
        touched.append(server)
        response = requests.post(f"{server.url}/devboss/throttle", json=body, headers=auth(server, "admin"),
                                 timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    yield set_limits
    for server in touched:
        requests.delete(f"{server.url}/devboss/throttle", headers=auth(server, "admin"), timeout=10).raise_for_status()


THROTTLED = {"status": 429, "code": 3004, "message": "User is throttled. Expected available tomorrow."}


def test_the_default_quota_is_high_and_settable_by_staff_only(devboss):
    state = requests.get(f"{devboss.url}/devboss/throttle", timeout=10).json()
    egress = next(m for m in state["metrics"] if m["mtype"] == "egress")
    assert egress["def_user_limit"] >= 10 * 1024**3
    refused = requests.post(f"{devboss.url}/devboss/throttle", json={"reset_usage": True},
                            headers=auth(devboss, "alice"), timeout=10)
    assert refused.status_code == 403


def test_a_user_over_the_quota_is_throttled_after_the_request_that_crossed_it(devboss, quota):
    quota({"user:bob": 1000})
    bob = auth(devboss, "bob")
    path = "demo/cortex/em/0/0:10/0:10/100:102"  # 200 bytes
    assert cutout(devboss, path, headers=bob).status_code == 200  # usage 0 -> 200
    assert cutout(devboss, "demo/cortex/em/0/0:50/0:20/100:102", headers=bob).status_code == 200  # 200 -> 2200
    for accept in BINARY:
        response = cutout(devboss, path, accept=accept, headers=bob)
        assert response.status_code == 429 and response.json() == THROTTLED
        assert response.headers["Content-Type"] == "application/json" and "Retry-After" not in response.headers
    as_json = cutout(devboss, path, accept="application/json", headers=bob)
    assert as_json.status_code == 429 and as_json.json() == {"detail": THROTTLED["message"]}
    assert cutout(devboss, path, headers=auth(devboss, "alice")).status_code == 200  # alice has her own quota
    state = requests.get(f"{devboss.url}/devboss/throttle", timeout=10).json()
    usage = {u["metric"]: u["value"] for u in state["usage"]}
    assert usage["user:bob"] == 2200


def test_every_public_token_caller_shares_the_public_access_quota(devboss, quota):
    quota({"user:public-access": 100})
    public = {"Authorization": "Token public"}
    path = "demo/cortex/em/0/0:10/0:10/100:102"
    assert cutout(devboss, path, headers=public).status_code == 200
    for _ in range(2):  # any later visitor with the public token
        assert cutout(devboss, path, headers=public).json() == THROTTLED
    assert cutout(devboss, path).status_code == 200  # no Authorization at all: AnonymousUser, metered as "user:"
    intern_public = devboss.remote("public")
    with pytest.raises(requests.HTTPError) as info:
        intern_public.get_cutout(ChannelResource("em", "demo", "cortex", datatype="uint8"), 0, [0, 8], [0, 8],
                                 [100, 101])
    assert info.value.response.status_code == 429


def test_cutout_writes_are_metered_as_ingress(devboss, quota, workspace):
    quota({"user:admin": 10}, mtype="ingress", server=workspace.devboss)
    data = np.ones((1, 4, 8), np.uint8)
    assert workspace.post("img", 0, (0, 8), (0, 4), (0, 1), data).status_code == 201  # 0 -> 32
    response = workspace.post("img", 0, (0, 8), (0, 4), (0, 1), data, accept="application/blosc")
    assert response.status_code == 429 and response.json() == THROTTLED


def test_behaviour_6_can_be_forgiven(devboss, quota, forgive):
    quota({"user:bob": 1})
    forgive(6)
    for _ in range(3):
        assert cutout(devboss, "demo/cortex/em/0/0:10/0:10/100:102", headers=auth(devboss, "bob")).status_code == 200


# ---- 7: x voxel != y voxel ---------------------------------------------------------------------------------------


def test_the_downsample_route_refuses_an_anisotropic_frame_with_x_voxel_unlike_y(devboss):
    message = boss_error(get(devboss, "/latest/downsample/realboss/aniso/em", accept="*/*"), 400, 9001)
    assert "X voxel size != Y voxel size" in message
    got = decoded(cutout(devboss, "realboss/aniso/em/0/0:50/0:40/0:2"), np.uint8, (2, 40, 50))
    assert np.array_equal(got, expected("realboss/aniso/em", 0, (0, 50), (0, 40), (0, 2))[0])
    assert cutout(devboss, "realboss/aniso/em/2/0:50/0:40/0:2").status_code == 200


def test_behaviour_7_can_be_forgiven(devboss, forgive):
    forgive(7)
    info = get(devboss, "/latest/downsample/realboss/aniso/em", accept="*/*").json()
    assert info["voxel_size"]["1"] == [8.0, 12.0, 40.0]


# ---- 8: object ids and bounding boxes from an index ------------------------------------------------------------


def test_a_channel_without_an_index_lists_no_ids_over_whole_cuboids(devboss):
    admin = auth(devboss, "admin")
    voxels = decoded(cutout(devboss, "realboss/noindex/seg/0/0:512/0:512/0:16"), np.uint64, (16, 512, 512))
    present = [int(i) for i in np.unique(voxels) if i]
    assert present  # the voxels do hold objects
    for path in ("0/0:2048/0:2048/0:64", "0/0:2048/0:1024/0:16", "1/0:1024/0:1024/0:64"):
        ids = get(devboss, f"/v1/ids/realboss/noindex/seg/{path}/0:1/", accept="*/*", headers=admin)
        assert ids.json() == {"ids": []}
    box = get(devboss, f"/v1/boundingbox/realboss/noindex/seg/0/{present[0]}/?type=tight", accept="*/*", headers=admin)
    boss_error(box, 404, 4004)
    # The same objects in an indexed channel:
    indexed = get(devboss, "/v1/ids/demo/cortex/seg/0/0:512/0:512/100:116/", accept="*/*", headers=admin).json()
    assert indexed["ids"]


def test_partial_cuboids_at_the_edges_of_a_region_are_read_from_the_voxels(devboss):
    admin = auth(devboss, "admin")
    x, y, z = (100, 1100), (0, 512), (0, 16)  # whole cuboid x 512:1024; partial x 100:512 and 1024:1100
    voxels = expected("realboss/noindex/seg", 0, x, y, z, datatype="uint64", kind="annotation")[0]
    edges = np.concatenate([voxels[:, :, :412].ravel(), voxels[:, :, 924:].ravel()])
    want = [str(int(i)) for i in np.unique(edges) if i]
    got = get(devboss, "/v1/ids/realboss/noindex/seg/0/100:1100/0:512/0:16/", accept="*/*", headers=admin).json()
    assert got["ids"] == want
    inner_only = set(int(i) for i in np.unique(voxels[:, :, 412:924]) if i) - set(int(i) for i in want)
    assert inner_only and not inner_only & set(int(i) for i in got["ids"])


def test_behaviour_8_can_be_forgiven(devboss, forgive):
    forgive(8)
    admin = auth(devboss, "admin")
    got = get(devboss, "/v1/ids/realboss/noindex/seg/0/0:512/0:512/0:16/", accept="*/*", headers=admin).json()
    want = np.unique(expected("realboss/noindex/seg", 0, (0, 512), (0, 512), (0, 16), datatype="uint64",
                              kind="annotation"))
    assert got["ids"] == [str(int(i)) for i in want if i]


# ---- 9: CloudVolume channels ignore the time range -----------------------------------------------------------


def test_a_cloudvolume_channel_answers_one_time_sample_whatever_the_range(devboss):
    channel = get(devboss, "/v1/collection/realboss/experiment/cloudvol/channel/em", accept="*/*").json()
    assert channel["storage_type"] == "cloudvol" and channel["cv_path"]
    assert get(devboss, "/v1/collection/realboss/experiment/cloudvol", accept="*/*").json()["num_time_samples"] == 5
    t0 = expected("realboss/cloudvol/em", 0, (0, 64), (0, 32), (0, 4))
    for t in ("0:5", "3:4"):
        response = cutout(devboss, f"realboss/cloudvol/em/0/0:64/0:32/0:4/{t}")
        assert np.array_equal(decoded(response, np.uint8, (1, 4, 32, 64)), t0)
    assert not np.array_equal(t0, expected("realboss/cloudvol/em", 0, (0, 64), (0, 32), (0, 4), t=(3, 4)))
    with pytest.raises(ValueError):  # intern expects 5 time samples and gets 1
        devboss.remote().get_cutout(ChannelResource("em", "realboss", "cloudvol", datatype="uint8"), 0, [0, 64],
                                    [0, 32], [0, 4], time_range=[0, 5], parallel=False)


def test_a_cloudvolume_channel_never_sees_cutout_writes(devboss, workspace):
    before = decoded(workspace.get("cv", 0, (0, 8), (0, 4), (0, 1)), np.uint8, (1, 4, 8))
    assert workspace.post("cv", 0, (0, 8), (0, 4), (0, 1), np.full((1, 4, 8), 7, np.uint8)).status_code == 201
    assert np.array_equal(decoded(workspace.get("cv", 0, (0, 8), (0, 4), (0, 1)), np.uint8, (1, 4, 8)), before)


def test_behaviour_9_can_be_forgiven(devboss, forgive):
    forgive(9)
    response = cutout(devboss, "realboss/cloudvol/em/0/0:64/0:32/0:4/3:5")
    want = expected("realboss/cloudvol/em", 0, (0, 64), (0, 32), (0, 4), t=(3, 5))
    assert np.array_equal(decoded(response, np.uint8, (2, 4, 32, 64)), want)


# ---- 10: smaller differences ---------------------------------------------------------------------------------------


def test_json_cutouts_fail_and_json_routes_refuse_binary_accepts(devboss):
    assert is_server_error(cutout(devboss, "demo/cortex/em/0/0:4/0:4/100:101", accept="application/json"))
    for path in ("/latest/downsample/demo/cortex/em", "/v1/collection/demo",
                 "/v1/ids/demo/cortex/seg/0/0:10/0:10/100:101/"):
        response = get(devboss, path, accept="application/blosc", headers=auth(devboss, "admin"))
        assert response.status_code == 406, path
        assert response.json() == {"detail": "Could not satisfy the request Accept header."}


@pytest.mark.parametrize("path", ["/v1/nothing/here", "/v1/cutout/demo/cortex/em/0/a:10/0:10/100:102/",
                                  "/v1/cutout/demo/cortex/em/10/0:10/0:10/100:102/",
                                  "/v1/boundingbox/demo/cortex/seg/0/abc/"])
def test_unrouted_urls_get_an_html_404(devboss, path):
    response = get(devboss, path, accept="*/*")
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")
    assert "<h1>Not Found</h1>" in response.text


def test_behaviour_10_can_be_forgiven(devboss, forgive):
    forgive(10)
    boss_error(get(devboss, "/v1/nothing/here", accept="*/*"), 404, 1000)
    got = cutout(devboss, "demo/cortex/em/0/0:4/0:4/100:101", accept="application/json").json()
    assert np.array_equal(np.array(got, np.uint8), expected("demo/cortex/em", 0, (0, 4), (0, 4), (100, 101))[0])


def test_the_forgive_switch_is_for_staff_and_reports_itself(devboss, forgive):
    refused = requests.post(f"{devboss.url}/devboss/forgive", json={"forgive": [1]},
                            headers=auth(devboss, "alice"), timeout=10)
    assert refused.status_code == 403
    assert forgive(1, 6)["forgive"] == [1, 6]
    assert requests.get(f"{devboss.url}/devboss/forgive", timeout=10).json()["forgive"] == [1, 6]
    bad = requests.post(f"{devboss.url}/devboss/forgive", json={"forgive": [11]}, headers=auth(devboss, "admin"),
                        timeout=10)
    assert bad.status_code == 400


# ---- cutout writes -------------------------------------------------------------------------------------------------


class Workspace:
    """A private collection of admin's in the shared devboss, with empty channels to write to."""

    def __init__(self, devboss):
        self.devboss = devboss
        self.collection = f"rb_writes_{random.randint(0, 10**9)}"
        self.frame = f"{self.collection}_frame"
        self.admin = auth(devboss, "admin")

    def api(self, method, path, **kwargs):
        response = requests.request(method, f"{self.devboss.url}/v1/{path}", headers=self.admin, timeout=30, **kwargs)
        assert response.status_code in (200, 201, 204), (method, path, response.text)
        return response

    def url(self, ch, level, x, y, z, t=None):
        ranges = "/".join(f"{a}:{b}" for a, b in (x, y, z) + ((t,) if t else ()))
        return f"{self.devboss.url}/v1/cutout/{self.collection}/exp/{ch}/{level}/{ranges}/"

    def post(self, ch, level, x, y, z, data, t=(0, 1), user="admin", kind="application/blosc", accept="*/*"):
        if kind == "application/blosc":
            body = blosc.compress(np.ascontiguousarray(data), typesize=data.dtype.itemsize * 8)
        else:
            buffer = io.BytesIO()
            np.save(buffer, data, allow_pickle=False)
            body = zlib.compress(buffer.getvalue())
        headers = {"Content-Type": kind, "Accept": accept, **(auth(self.devboss, user) if user else {})}
        return requests.post(self.url(ch, level, x, y, z, t), data=body, headers=headers, timeout=30)

    def get(self, ch, level, x, y, z, t=(0, 1)):
        return requests.get(self.url(ch, level, x, y, z, t), headers={**self.admin, "Accept": "application/blosc"},
                            timeout=30)

    def read(self, ch, level, x, y, z, t=(0, 1), dtype=np.uint8):
        shape = tuple(b - a for a, b in (t, z, y, x))
        return decoded(self.get(ch, level, x, y, z, t), dtype, shape)

    def channel(self, ch):
        return self.api("GET", f"collection/{self.collection}/experiment/exp/channel/{ch}").json()

    def create(self):
        c = self.collection
        self.api("POST", f"collection/{c}", json={"description": "real-boss write tests"})
        self.api("POST", f"coord/{self.frame}", json={
            "x_start": 0, "x_stop": 2048, "y_start": 0, "y_stop": 2048, "z_start": 0, "z_stop": 256,
            "x_voxel_size": 4, "y_voxel_size": 4, "z_voxel_size": 40, "voxel_unit": "nanometers"})
        self.api("POST", f"collection/{c}/experiment/exp", json={
            "coord_frame": self.frame, "num_hierarchy_levels": 4, "num_time_samples": 4})
        self.api("POST", f"collection/{c}/experiment/notime", json={"coord_frame": self.frame})
        for name, body in {
            "img": {"type": "image", "datatype": "uint8"},
            "ds": {"type": "image", "datatype": "uint8", "downsample_status": "DOWNSAMPLED"},
            "ann": {"type": "annotation", "datatype": "uint64"},
            "cv": {"type": "image", "datatype": "uint8", "storage_type": "cloudvol", "bucket": "b", "cv_path": "p"},
        }.items():
            self.api("POST", f"collection/{c}/experiment/exp/channel/{name}", json=body)
        return self

    def delete(self):
        c = self.collection
        for path in [f"collection/{c}/experiment/exp/channel/{n}" for n in ("img", "ds", "ann", "cv")] + [
                f"collection/{c}/experiment/exp", f"collection/{c}/experiment/notime", f"collection/{c}",
                f"coord/{self.frame}"]:
            requests.delete(f"{self.devboss.url}/v1/{path}", headers=self.admin, timeout=30)


@pytest.fixture(scope="module")
def workspace(request, devboss):
    try:
        server = request.getfixturevalue("writable_devboss")
    except pytest.FixtureLookupError:
        server = devboss
    space = Workspace(server).create()
    yield space
    space.delete()


def test_intern_writes_and_reads_back_and_every_worker_sees_it(workspace):
    server = workspace.devboss
    rmt = server.remote(server.token("admin"))
    chan = ChannelResource("img", workspace.collection, "exp", datatype="uint8")
    data = np.random.default_rng(1).integers(1, 255, (5, 40, 600), dtype=np.uint8)
    rmt.create_cutout(chan, 0, [300, 900], [500, 540], [10, 15], data)
    for _ in range(6):  # new connections: both gunicorn workers answer some
        got = decoded(requests.get(workspace.url("img", 0, (300, 900), (500, 540), (10, 15)),
                                   headers={**workspace.admin, "Accept": "application/blosc"}, timeout=30),
                      np.uint8, (5, 40, 600))
        assert np.array_equal(got, data)
    assert np.array_equal(rmt.get_cutout(chan, 0, [300, 900], [500, 540], [10, 15], parallel=False), data)
    assert list((server.var_dir / "writes").glob("*/r0/t0/*.chunk"))  # kept in the var dir, not in a worker


def test_writes_merge_zeros_never_overwrite_and_to_black_clears(devboss, workspace):
    box = ((0, 8), (0, 4), (20, 21))
    first = np.full((1, 4, 8), 9, np.uint8)
    second = np.zeros((1, 4, 8), np.uint8)
    second[0, 0, :4] = 3
    assert workspace.post("img", 0, *box, first).status_code == 201
    assert workspace.post("img", 0, *box, second).status_code == 201
    want = first.copy()
    want[0, 0, :4] = 3
    assert np.array_equal(workspace.read("img", 0, *box)[0], want)
    response = requests.put(workspace.url("img", 0, (0, 4), (0, 4), (20, 21)).replace("/cutout/", "/cutout/to_black/"),
                            headers=workspace.admin, timeout=30)
    assert response.status_code == 200
    want[0, :, :4] = 0
    assert np.array_equal(workspace.read("img", 0, *box)[0], want)


def test_writes_with_a_time_range_land_on_those_time_samples(devboss, workspace):
    data = np.random.default_rng(2).integers(1, 255, (2, 3, 4, 8), dtype=np.uint8)
    assert workspace.post("img", 0, (0, 8), (0, 4), (30, 33), data, t=(2, 4)).status_code == 201
    assert np.array_equal(workspace.read("img", 0, (0, 8), (0, 4), (30, 33), t=(2, 4)), data)
    assert not workspace.read("img", 0, (0, 8), (0, 4), (30, 33), t=(0, 2)).any()


def test_writes_land_at_their_level_only_the_base_or_the_one_above(devboss, workspace):
    data = np.full((1, 2, 2), 5, np.uint8)
    assert workspace.post("img", 1, (100, 102), (100, 102), (40, 41), data).status_code == 201
    assert np.array_equal(workspace.read("img", 1, (100, 102), (100, 102), (40, 41)), data[None])
    assert not workspace.read("img", 0, (200, 204), (200, 204), (40, 41)).any()
    message = boss_error(workspace.post("img", 2, (0, 2), (0, 2), (40, 41), data), 400, 9001)
    assert "base resolution or one resolution above it" in message


def test_a_write_makes_a_downsampled_channel_not_downsampled(devboss, workspace):
    assert workspace.channel("ds")["downsample_status"] == "DOWNSAMPLED"
    assert workspace.post("ds", 0, (0, 2), (0, 2), (0, 1), np.ones((1, 2, 2), np.uint8)).status_code == 201
    assert workspace.channel("ds")["downsample_status"] == "NOT_DOWNSAMPLED"


def test_npygz_uploads_are_accepted(devboss, workspace):
    data = np.arange(1, 33, dtype=np.uint64).reshape(1, 4, 8)
    assert workspace.post("ann", 0, (0, 8), (0, 4), (50, 51), data, kind="application/npygz").status_code == 201
    assert np.array_equal(workspace.read("ann", 0, (0, 8), (0, 4), (50, 51), dtype=np.uint64)[0], data)


def test_write_errors_are_the_real_servers(devboss, workspace):
    data = np.ones((1, 4, 8), np.uint8)
    assert boss_error(workspace.post("img", 0, (0, 8), (0, 4), (0, 1), data, user="bob"), 403, 3001)
    assert is_server_error(workspace.post("img", 0, (0, 8), (0, 4), (0, 1), data, user=None))  # 401 via blosc
    boss_error(workspace.post("img", 0, (0, 8), (0, 4), (0, 1), data.astype(np.uint16)), 400, 2002)
    boss_error(workspace.post("img", 0, (0, 8), (0, 4), (0, 1), np.ones((1, 4, 9), np.uint8)), 400, 2002)
    boss_error(workspace.post("img", 0, (2040, 2049), (0, 4), (0, 1), np.ones((1, 4, 9), np.uint8)), 400, 1001)
    boss_error(workspace.post("img", 0, (0, 2048), (0, 2048), (0, 131), data), 413, 2000)
    bad = requests.post(workspace.url("img", 0, (0, 8), (0, 4), (0, 1)), data=b"not blosc",
                        headers={**workspace.admin, "Content-Type": "application/blosc"}, timeout=30)
    boss_error(bad, 400, 2001)


def test_written_ids_are_not_indexed(devboss, workspace):
    data = np.zeros((16, 512, 514), np.uint64)
    data[1, 1, 0], data[1, 1, 513], data[10, 20, 21] = 123, 321, 55555  # 55555 in the whole cuboid x 512:1024
    rmt = workspace.devboss.remote(workspace.devboss.token("admin"))
    chan = ChannelResource("ann", workspace.collection, "exp", type="annotation", datatype="uint64")
    rmt.create_cutout(chan, 0, [511, 1025], [512, 1024], [16, 32], data)
    assert sorted(rmt.get_ids_in_region(chan, 0, [511, 1025], [512, 1024], [16, 32])) == [123, 321]
    assert np.array_equal(rmt.get_cutout(chan, 0, [511, 1025], [512, 1024], [16, 32], id_list=[55555],
                                         parallel=False), np.where(data == 55555, data, 0))
    with pytest.raises(requests.HTTPError):
        rmt.get_bounding_box(chan, 0, 123, "loose")


def test_the_environment_names_behaviours_by_number_and_limits_like_boss():
    from devboss.api.realboss import parse
    from devboss.api.throttle import parse_limit

    assert parse("1,6") == {1, 6} and parse(" 2 , 10 ") == {2, 10} and parse("") == set()
    assert parse("all") == set(range(1, 11))
    with pytest.raises(ValueError):
        parse("11")
    assert (parse_limit("10K"), parse_limit("2G"), parse_limit(-1), parse_limit("512")) == (10240, 2 * 1024**3, -1, 512)
