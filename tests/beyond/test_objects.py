"""Cut out around an object: the ids in a box and an object's bounding box from devboss over HTTP, the
form's "objects in this box" and "cut out object N" views, and objects.csv in a job's zip."""
import time
import zipfile
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from django.urls import reverse

from cutouts import service
from cutouts.validation import validate
from devboss.api import procedural
from portal.boss import objects
from bossdb.errors import BossForbidden, BossNotFound

BOX = {"x": (0, 700), "y": (0, 600), "z": (100, 132)}


def seg_ids(level, x, y, z, key="demo/cortex/seg"):
    data = procedural.cutout(key, "uint64", "annotation", level, x, y, z)
    return sorted(np.unique(data[data != 0]).tolist())


def form_fields(**extra):
    fields = {"channels": ["em"], "resolution": "0", "format": "ome-tiff"}
    for axis, (lo, hi) in BOX.items():
        fields[f"{axis}0"], fields[f"{axis}1"] = str(lo), str(hi)
    return {**fields, **extra}


def test_the_ids_in_a_box_are_those_in_the_voxels(alice):
    x, y, z = (0, 1024), (0, 1024), (0, 64)
    found, source = objects.ids_in_box(alice, "alice_lab", "private_exp", "seg", 0, x, y, z)
    assert found == seg_ids(0, x, y, z, key="alice_lab/private_exp/seg") and len(found) > 3
    assert source == objects.INDEX


def test_on_public_data_without_a_grant_the_ids_come_from_the_voxels(alice):
    # BOSS's ids endpoint has no public bypass: alice may read demo's voxels but not ask for its ids.
    found, source = objects.ids_in_box(alice, "demo", "cortex", "seg", 0, BOX["x"], BOX["y"], BOX["z"])
    assert found == seg_ids(0, BOX["x"], BOX["y"], BOX["z"]) and found and source == objects.VOXELS
    # The channel holds ids above 2**32: level 3 is level 0 taken every 8th voxel in x and y (test_procedural),
    # so its ids are level-0 ids, from 1/64 of the voxels (the whole level-0 frame would be a 4 GiB array).
    assert any(i > 2**32 for i in seg_ids(3, (0, 2048 // 8), (0, 2048 // 8), (100, 228)))


def test_a_tight_bounding_box_is_the_object_s_extent_at_that_level(alice):
    obj = seg_ids(1, (0, 350), (0, 300), (100, 132))[0]
    box = objects.bounding_box(alice, "demo", "cortex", "seg", 1, obj)
    assert (box.x, box.y, box.z) == procedural.object_box("demo/cortex/seg", obj, 1)
    loose = objects.bounding_box(alice, "demo", "cortex", "seg", 1, obj, kind="loose")
    assert loose.x[0] % 512 == 0 and loose.z[0] % 16 == 0


def test_bob_can_t_list_alice_s_objects_and_an_unknown_id_is_not_found(alice, bob):
    with pytest.raises(BossForbidden):
        objects.ids_in_box(bob, "alice_lab", "private_exp", "seg", 0, (0, 100), (0, 100), (0, 4))
    with pytest.raises(BossNotFound):
        objects.bounding_box(alice, "demo", "cortex", "seg", 0, 3)


def test_objects_in_this_box_lists_the_ids_with_a_link_to_cut_out_each(alice, client):
    client.force_login(alice)
    response = client.post(reverse("cutout-objects", args=["demo", "cortex"]), form_fields(annotation="seg"))
    assert response.status_code == 200
    want = seg_ids(0, BOX["x"], BOX["y"], BOX["z"])
    assert response.context["count"] == len(want) and response.context["ids"] == want
    assert f"cut out object {want[0]}, padded by 16 voxels" in response.content.decode()
    as_json = client.get(reverse("cutout-objects", args=["demo", "cortex"]),
                         {**form_fields(), "output": "json"}).json()
    assert as_json["ids"] == [str(i) for i in want] and as_json["capped"] is False


def test_cut_out_object_fills_the_form_with_its_padded_box_and_the_image_channels(alice, client):
    client.force_login(alice)
    obj = seg_ids(0, BOX["x"], BOX["y"], BOX["z"])[0]
    (x0, x1), (y0, y1), (z0, z1) = procedural.object_box("demo/cortex/seg", obj, 0)
    response = client.get(reverse("cutout-object", args=["demo", "cortex"]),
                          {"annotation": "seg", "resolution": "0", "object": str(obj), "pad": "8"})
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["channels"] == ["em", "fluo", "seg"] and query["format"] == ["tiff-zip"]
    assert (query["x0"], query["x1"]) == ([str(max(x0 - 8, 0))], [str(min(x1 + 8, 2048))])
    assert (query["z0"], query["z1"]) == ([str(max(z0 - 8, 100))], [str(min(z1 + 8, 228))])
    assert (query["y0"], query["y1"]) == ([str(max(y0 - 8, 0))], [str(y1 + 8)])
    form = client.get(response["Location"])
    assert form.context["data"]["x"] == [str(max(x0 - 8, 0)), str(min(x1 + 8, 2048))]
    assert f'value="{obj}"' in form.content.decode()  # the section keeps the object id


def test_an_unknown_object_is_said_so_on_the_page(alice, client):
    client.force_login(alice)
    response = client.post(reverse("cutout-object", args=["demo", "cortex"]),
                           form_fields(annotation="seg", object="3", pad="4"))
    assert response.status_code == 404
    assert "not found" in response.context["error"]


def test_an_experiment_without_annotations_has_no_objects_section(alice, client):
    client.force_login(alice)
    page = client.get(reverse("cutout-form", args=["demo", "timelapse"])).content.decode()
    assert "form-objects" not in page
    assert "form-objects" in client.get(reverse("cutout-form", args=["demo", "cortex"])).content.decode()


@pytest.mark.usefixtures("celery_worker")
def test_a_tiff_zip_with_an_annotation_channel_lists_its_objects_in_objects_csv(alice):
    x, y, z = (0, 700), (0, 600), (100, 132)
    job = service.submit(validate(alice, {"collection": "demo", "experiment": "cortex", "channels": ["em", "seg"],
                                          "resolution": 0, "x": list(x), "y": list(y), "z": list(z),
                                          "format": "tiff-zip"}))
    deadline = time.monotonic() + 120
    while job.state not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
        job.refresh_from_db()
    assert job.state == "done", job.error
    with zipfile.ZipFile(job.result_path) as zf:
        rows = zf.read("objects.csv").decode().split()
    assert rows[0] == "channel,object_id"
    assert [int(r.split(",")[1]) for r in rows[1:]] == seg_ids(0, x, y, z)
    assert all(r.startswith("seg,") for r in rows[1:])
