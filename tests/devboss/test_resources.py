"""Resource endpoints through intern itself (boss-api.md section 4): reads on the shared seeded
devboss, writes on a devboss of the devboss tests' own (tests/devboss/conftest.py)."""
import pytest
from intern.resource.boss.resource import (
    ChannelResource, CollectionResource, CoordinateFrameResource, ExperimentResource,
)
from requests import HTTPError


@pytest.fixture
def fresh(writable_devboss):
    """The devboss for tests that write."""
    return writable_devboss


def test_it_lists_public_collections_for_anonymous_callers(devboss):
    assert devboss.remote("public").list_collections() == ["demo", "realboss"]


def test_it_gets_a_collection(devboss):
    collection = devboss.remote().get_project(CollectionResource("demo"))
    assert collection.name == "demo"
    assert collection.description == "Public demo volumes, generated procedurally"
    assert collection.creator == "admin"
    assert collection.raw["public"] is True
    assert collection.raw["experiments"] == ["cortex", "large", "timelapse"]


def test_it_lists_experiments_and_channels(devboss):
    rmt = devboss.remote()
    assert rmt.list_experiments("demo") == ["cortex", "large", "timelapse"]
    assert rmt.list_channels("demo", "cortex") == ["em", "fluo", "seg"]


def test_it_gets_an_experiment(devboss):
    exp = devboss.remote().get_project(ExperimentResource("cortex", "demo"))
    assert exp.coord_frame == "demo_frame"
    assert exp.num_hierarchy_levels == 4
    assert exp.hierarchy_method == "anisotropic"
    assert exp.num_time_samples == 1
    assert exp.raw["channels"] == ["em", "fluo", "seg"]


def test_it_gets_a_time_series_experiment(devboss):
    exp = devboss.remote().get_project(ExperimentResource("timelapse", "demo"))
    assert (exp.num_time_samples, exp.time_step, exp.time_step_unit) == (10, 2, "seconds")


def test_it_gets_a_coordinate_frame(devboss):
    rmt = devboss.remote()
    frame = rmt.get_coordinate_frame("demo_frame")
    assert (frame.x_start, frame.x_stop, frame.z_start, frame.z_stop) == (0, 2048, 100, 228)
    assert (frame.x_voxel_size, frame.z_voxel_size, frame.voxel_unit) == (4.0, 40.0, "nanometers")
    same = rmt.get_project(CoordinateFrameResource("timelapse_frame"))
    assert same.voxel_unit == "micrometers"
    assert "large_frame" in rmt.list_coordinate_frames()


def test_it_gets_a_channel(devboss):
    rmt = devboss.remote()
    seg = rmt.get_channel("seg", "demo", "cortex")
    assert (seg.type, seg.datatype, seg.sources, seg.downsample_status) == (
        "annotation", "uint64", ["em"], "DOWNSAMPLED"
    )
    fluo = rmt.get_project(ChannelResource("fluo", "demo", "cortex"))
    assert fluo.datatype == "uint16"


def test_it_serves_latest_as_an_alias_of_v1(devboss):
    import requests

    response = requests.get(f"{devboss.url}/latest/collection/demo/experiment/cortex/", timeout=10)
    assert response.status_code == 200
    assert response.json()["coord_frame"] == "demo_frame"


def test_it_creates_updates_and_deletes_resources(fresh):
    rmt = fresh.remote(fresh.token("bob"))
    rmt.create_project(CollectionResource("bobs_new", "made by intern"))
    frame = rmt.create_project(
        CoordinateFrameResource("bobs_frame", "", 0, 100, 0, 100, 0, 10, 4, 4, 40, "nanometers")
    )
    assert frame.x_stop == 100
    exp = rmt.create_project(ExperimentResource("e1", "bobs_new", "bobs_frame", num_hierarchy_levels=3))
    assert (exp.num_hierarchy_levels, exp.creator) == (3, "bob")
    rmt.create_project(ChannelResource("em", "bobs_new", "e1", datatype="uint16"))
    seg = rmt.create_project(ChannelResource("seg", "bobs_new", "e1", "annotation", datatype="uint64", sources=["em"]))
    assert seg.sources == ["em"]
    assert rmt.list_channels("bobs_new", "e1") == ["em", "seg"]

    updated = rmt.update_project("e1", ExperimentResource("e2", "bobs_new", "bobs_frame", "renamed"))
    assert (updated.name, updated.description) == ("e2", "renamed")
    rmt.update_project("bobs_new", CollectionResource("bobs_new", "new words"))
    assert rmt.get_project(CollectionResource("bobs_new")).description == "new words"

    rmt.delete_project(ChannelResource("seg", "bobs_new", "e2"))
    rmt.delete_project(ChannelResource("em", "bobs_new", "e2"))
    rmt.delete_project(ExperimentResource("e2", "bobs_new"))
    rmt.delete_project(CoordinateFrameResource("bobs_frame"))
    rmt.delete_project(CollectionResource("bobs_new"))
    assert "bobs_new" not in rmt.list_collections()


def test_it_makes_a_collection_public(fresh):
    rmt = fresh.remote(fresh.token("bob"))
    rmt.create_project(CollectionResource("soon_public"))
    assert "soon_public" not in fresh.remote("public").list_collections()
    rmt.set_project_public_visibility(CollectionResource("soon_public"), True)
    assert "soon_public" in fresh.remote("public").list_collections()


def test_it_refuses_to_delete_a_collection_with_experiments(fresh):
    with pytest.raises(HTTPError) as info:
        fresh.remote(fresh.token("alice")).delete_project(CollectionResource("alice_lab"))
    assert info.value.response.status_code == 400
    assert info.value.response.json()["code"] == 4003


def test_it_refuses_to_delete_a_source_channel(fresh):
    with pytest.raises(HTTPError) as info:
        fresh.remote(fresh.token("admin")).delete_project(ChannelResource("em", "demo", "cortex"))
    assert info.value.response.json()["code"] == 4003


def test_it_answers_4005_for_a_deleted_resource_and_keeps_its_name_taken(fresh):
    rmt = fresh.remote(fresh.token("alice"))
    rmt.create_project(CollectionResource("short_lived"))
    rmt.delete_project(CollectionResource("short_lived"))
    with pytest.raises(HTTPError) as info:
        rmt.get_project(CollectionResource("short_lived"))
    assert (info.value.response.status_code, info.value.response.json()["code"]) == (404, 4005)
    with pytest.raises(HTTPError) as info:
        rmt.create_project(CollectionResource("short_lived"))
    assert info.value.response.json()["code"] == 1003


def test_it_refuses_a_duplicate_collection(fresh):
    with pytest.raises(HTTPError) as info:
        fresh.remote(fresh.token("bob")).create_project(CollectionResource("demo"))
    assert (info.value.response.status_code, info.value.response.json()["code"]) == (400, 1003)


def test_it_requires_a_known_coordinate_frame(fresh):
    import requests

    url = f"{fresh.url}/v1/collection/alice_lab/experiment/new_exp"
    headers = {"Authorization": f"Token {fresh.token('alice')}"}
    missing = requests.post(url, json={}, headers=headers, timeout=10)
    assert (missing.status_code, missing.json()["message"]) == (400, "This request requires a valid coordinate frame")
    unknown = requests.post(url, json={"coord_frame": "nowhere"}, headers=headers, timeout=10)
    assert (unknown.status_code, unknown.json()["code"]) == (404, 4000)


def test_it_validates_channel_fields(fresh):
    import requests

    url = f"{fresh.url}/v1/collection/alice_lab/experiment/private_exp/channel/"
    headers = {"Authorization": f"Token {fresh.token('alice')}"}
    cases = [
        {"type": "image", "datatype": "uint32"},
        {"type": "movie", "datatype": "uint8"},
        {"type": "image", "datatype": "uint8", "sources": ["nope"]},
        {"type": "image", "datatype": "uint8", "sources": ["em"], "related": ["em"]},
        {"type": "image", "datatype": "uint8", "default_time_sample": 1},
        {"datatype": "uint8"},
    ]
    for i, body in enumerate(cases):
        response = requests.post(f"{url}bad{i}", json=body, headers=headers, timeout=10)
        assert (response.status_code, response.json()["code"]) == (400, 1003), body


def test_it_refuses_storage_settings_from_non_staff(fresh):
    import requests

    response = requests.post(
        f"{fresh.url}/v1/collection/alice_lab/experiment/private_exp/channel/cv",
        json={"type": "image", "datatype": "uint8", "storage_type": "cloudvol", "cv_path": "s3://x"},
        headers={"Authorization": f"Token {fresh.token('alice')}"}, timeout=10,
    )
    assert (response.status_code, response.json()["code"]) == (403, 3001)


def test_it_refuses_readonly_fields_on_update(fresh):
    import requests

    response = requests.put(
        f"{fresh.url}/v1/coord/alice_frame", json={"x_stop": 5},
        headers={"Authorization": f"Token {fresh.token('alice')}"}, timeout=10,
    )
    assert (response.status_code, response.json()["code"]) == (400, 1003)
    assert "readonly" in response.json()["message"]


def test_it_keeps_metadata_through_intern(fresh):
    rmt = fresh.remote(fresh.token("alice"))
    channel = ChannelResource("em", "alice_lab", "private_exp")
    rmt.create_metadata(channel, {"stain": "osmium", "lab": "alice"})
    assert rmt.list_metadata(channel) == ["lab", "stain"]
    assert rmt.get_metadata(channel, ["stain"]) == {"stain": "osmium"}
    rmt.update_metadata(channel, {"stain": "uranyl"})
    assert rmt.get_metadata(channel, ["stain"]) == {"stain": "uranyl"}
    rmt.delete_metadata(channel, ["stain"])
    assert rmt.list_metadata(channel) == ["lab"]
    assert rmt.list_metadata(CollectionResource("alice_lab")) == []


def test_it_keeps_metadata_private_even_on_public_resources(fresh):
    import requests

    response = requests.get(f"{fresh.url}/v1/meta/demo", timeout=10)
    assert (response.status_code, response.json()["code"]) == (403, 3001)
