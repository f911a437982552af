"""The cutout request's checks, in process: BOSS is a fake experiment (the client patched where the serializer
imports it), so each message is tested without devboss, an OIDC login or a Celery worker."""
from unittest.mock import patch
from urllib.parse import unquote

import pytest
from django.contrib.auth import get_user_model

from cutouts.models import CutoutJob
from cutouts.serializers import CutoutRequestSerializer, field_errors
from cutouts.validation import CutoutInvalid, validate
from portal.boss import client
from bossdb.errors import BossForbidden, BossNotFound

pytestmark = pytest.mark.django_db

# demo/cortex as devboss seeds it, with 5 time samples: level 0 is x, y 0:2048, z 100:228; each level halves x, y.
FRAME = client.CoordFrame("cortex_frame", "", 0, 2048, 0, 2048, 100, 228, 4.0, 4.0, 40.0, "nanometers")
EXPERIMENT = client.Experiment("cortex", "demo", "cortex_frame", num_hierarchy_levels=3, num_time_samples=5)
CHANNELS = [client.Channel("em", "cortex", "image", "uint8"), client.Channel("fluo", "cortex", "image", "uint16"),
            client.Channel("seg", "cortex", "annotation", "uint64")]
DETAIL = client.detail_of(EXPERIMENT, FRAME, CHANNELS)
BOX = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
       "x": [100, 700], "y": [0, 600], "z": [100, 120]}


@pytest.fixture
def boss():
    with patch("cutouts.serializers.client", autospec=True) as fake:
        fake.get_experiment_detail.return_value = DETAIL
        fake.display_windows.return_value = {"fluo": (10, 200)}
        yield fake


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice")


def errors_for(user, data):
    serializer = CutoutRequestSerializer(data=data, context={"user": user})
    assert not serializer.is_valid()
    return field_errors(serializer.errors)


def error(user, change, field):
    return errors_for(user, {**BOX, **change})[field]


def test_a_valid_request_makes_an_unsaved_job(boss, alice):
    job = validate(alice, {**BOX, "channels": ["em", "fluo"], "format": "tiff-zip", "t": [1, 3]})
    assert isinstance(job, CutoutJob) and not CutoutJob.objects.exists()
    assert (job.owner, job.collection, job.experiment, job.channels, job.resolution) == (alice, "demo", "cortex",
                                                                                         ["em", "fluo"], 0)
    assert (job.x0, job.x1, job.y0, job.y1, job.z0, job.z1, job.t0, job.t1) == (100, 700, 0, 600, 100, 120, 1, 3)
    assert job.time_range and job.format == "tiff-zip" and not job.split
    assert job.meta["channels"] == {"em": {"datatype": "uint8", "type": "image"},
                                    "fluo": {"datatype": "uint16", "type": "image"}}
    assert job.meta["voxel_size"] == [4.0, 4.0, 40.0] and job.meta["voxel_unit"] == "nanometers"
    assert '"pointA":[100,0,100],"pointB":[700,600,120]' in unquote(job.meta["viewer_url"])
    boss.get_experiment_detail.assert_called_once_with(alice, "demo", "cortex")
    assert [ch.name for ch in boss.display_windows.call_args.args[2]] == ["em", "fluo"]


def test_it_reads_numbers_and_defaults_as_the_form_sends_them(boss, alice):
    job = validate(alice, {**BOX, "channels": "em", "resolution": " 1 ", "x": ["0", "10"], "format": None,
                           "t": "", "parts": None})
    assert (job.channels, job.resolution, job.x0, job.x1, job.format) == (["em"], 1, 0, 10, "ome-tiff")
    assert (job.t0, job.t1, job.time_range, job.split) == (0, 1, False, False)
    assert '"pointA":[0,0,100],"pointB":[20,1200,120]' in unquote(job.meta["viewer_url"])  # framed in level-0 voxels
    without = {k: v for k, v in BOX.items() if k != "resolution"}
    assert validate(alice, {**without, "channels": ["em", "em"]}).channels == ["em"]


NOT_A_NAME = "is not a BOSS name (letters, digits, _ and -, at most 255)"


@pytest.mark.parametrize("value,message", [
    (None, "is required"), ("", "is required"), (5, "is required"),
    ("demo?x=1", NOT_A_NAME), ("a" * 256, NOT_A_NAME), ("n\u00e4me", NOT_A_NAME),
])
def test_collection_and_experiment_must_be_boss_names(boss, alice, value, message):
    assert errors_for(alice, {**BOX, "collection": value, "experiment": value}) == {"collection": message,
                                                                                   "experiment": message}
    boss.get_experiment_detail.assert_not_called()


def test_a_missing_collection_is_required(boss, alice):
    assert errors_for(alice, {k: v for k, v in BOX.items() if k != "collection"}) == {"collection": "is required"}


@pytest.mark.parametrize("raised,message", [
    (BossNotFound("no"), "demo/cortex does not exist in BOSS"), (BossForbidden("no"), "you can't read demo/cortex"),
])
def test_an_experiment_boss_refuses_is_named(boss, alice, raised, message):
    boss.get_experiment_detail.side_effect = raised
    assert errors_for(alice, BOX) == {"experiment": message}


@pytest.mark.parametrize("levels_error,message", [("", "BOSS gave no resolution levels"),
                                                  ("the channel has no levels", "the channel has no levels")])
def test_an_experiment_without_levels_is_refused(boss, alice, levels_error, message):
    boss.get_experiment_detail.return_value = client.ExperimentDetail(EXPERIMENT, FRAME, CHANNELS, None,
                                                                      levels_error)
    assert errors_for(alice, BOX) == {"resolution": message}


@pytest.mark.parametrize("change,field,message", [
    ({"channels": []}, "channels", "choose at least one channel"),
    ({"channels": None}, "channels", "choose at least one channel"),
    ({"channels": [1]}, "channels", "choose at least one channel"),
    ({"channels": ["em", "nope", "gone"]}, "channels", "not a channel of cortex you can read: nope, gone"),
    ({"resolution": "one"}, "resolution", "must be a whole number"),
    ({"resolution": None}, "resolution", "must be a whole number"),
    ({"resolution": True}, "resolution", "must be a whole number"),
    ({"resolution": "1.5"}, "resolution", "must be a whole number"),
    ({"resolution": "²"}, "resolution", "must be a whole number"),
    ({"resolution": 2**41}, "resolution", "is far too large"),
    ({"resolution": 3}, "resolution", "must be a level from 0 to 2"),
    ({"resolution": -1}, "resolution", "must be a level from 0 to 2"),
    ({"x": None}, "x", "must be a range [start, stop]"),
    ({"x": "0:10"}, "x", "must be a range [start, stop]"),
    ({"y": [0]}, "y", "must be a range [start, stop]"),
    ({"y": ["a", "b"]}, "y", "start and stop must be whole numbers"),
    ({"x": [0, 10**20]}, "x", "start and stop must be whole numbers"),
    ({"x": [700, 100]}, "x", "start (700) must be less than stop (100)"),
    ({"x": [0, 5000]}, "x", "must lie within 0:2048 at level 0 (got 0:5000)"),
    ({"x": [0, 1100], "resolution": 1}, "x", "must lie within 0:1024 at level 1 (got 0:1100)"),
    ({"z": [0, 10]}, "z", "must lie within 100:228 at level 0 (got 0:10)"),
    ({"t": [0, 6]}, "t", "must lie within 0:5 (the experiment's time samples)"),
    ({"t": [3, 2]}, "t", "start (3) must be less than stop (2)"),
    ({"t": 0}, "t", "must be a range [start, stop]"),
    ({"format": "gif"}, "format", "must be one of ome-tiff, tiff-zip, imagej-tiff, ome-zarr"),
    ({"format": ["ome-tiff"]}, "format", "must be one of ome-tiff, tiff-zip, imagej-tiff, ome-zarr"),
    ({"channels": ["em", "fluo"]}, "format", "the channels have different datatypes (uint16, uint8): one OME-TIFF "
                                             "can't hold them; choose tiff-zip"),
    ({"channels": ["em", "fluo"], "format": "imagej-tiff"}, "format",
     "an ImageJ TIFF holds one uint8 or uint16 channel; choose ome-tiff or tiff-zip"),
    ({"channels": ["seg"], "format": "imagej-tiff"}, "format", "an ImageJ TIFF holds one uint8 or uint16 channel"),
    ({"channels": ["em", "fluo"], "format": "ome-zarr"}, "format", "the image channels have different datatypes"),
])
def test_each_field_gets_its_own_message(boss, alice, change, field, message):
    assert error(alice, change, field).startswith(message)


def test_every_problem_is_named_at_once(boss, alice):
    errors = errors_for(alice, {**BOX, "channels": ["nope"], "x": [0, 5000], "y": "x", "t": [0, 9], "format": "gif"})
    assert set(errors) == {"channels", "x", "y", "t", "format"}


def test_a_box_is_checked_against_the_frame_only_at_a_valid_level(boss, alice):
    assert errors_for(alice, {**BOX, "resolution": 7, "x": [0, 5000]}) == {"resolution": "must be a level from 0 to 2"}


def test_a_box_over_the_cap_is_refused_with_the_finest_level_that_fits(boss, alice, settings):
    settings.CUTOUT_MAX_BYTES = 2 * 1024 * 1024
    big = {**BOX, "x": [0, 2048], "y": [0, 2048], "z": [100, 102]}  # 8 MiB at level 0, 2 MiB at level 1
    message = errors_for(alice, big)["size"]
    assert message.startswith("the box is 8.39 MB, over the 2.10 MB cap for one download; the same box fits at "
                              "level 1 (2.10 MB); or ask for it in parts")


def test_a_box_no_level_holds_says_so(boss, alice, settings):
    settings.CUTOUT_MAX_BYTES, settings.CUTOUT_MAX_PARTS_BYTES = 1000, 2000
    message = errors_for(alice, {**BOX, "x": [0, 2048], "y": [0, 2048], "z": [100, 228]})["size"]
    assert message.endswith("; no level holds it under the cap")


def test_a_box_over_the_cap_comes_in_parts_when_asked(boss, alice, settings):
    settings.CUTOUT_MAX_BYTES = 4 * 1024 * 1024  # 16 slices of 512 × 512
    job = validate(alice, {**BOX, "x": [0, 512], "y": [0, 512], "z": [100, 132], "parts": "on"})
    assert job.split and job.meta["part_z"] == [[100, 112], [112, 128], [128, 132]]  # on BOSS's 16-slice cuboids


def test_parts_have_a_cap_of_their_own(boss, alice, settings):
    settings.CUTOUT_MAX_BYTES, settings.CUTOUT_MAX_PARTS_BYTES = 2 * 1024 * 1024, 4 * 1024 * 1024
    message = error(alice, {"x": [0, 2048], "y": [0, 2048], "z": [100, 132], "parts": True}, "size")
    assert message.endswith("cap for a download in parts: use the command line tool, which has no cap")


def test_the_owners_limits_are_checked_last(boss, alice, settings):
    settings.CUTOUT_MAX_QUEUED_PER_USER = 0
    assert "queued jobs, the limit is 0" in errors_for(alice, BOX)["limit"]
    assert "limit" not in errors_for(alice, {**BOX, "x": [0, 5000]})


def test_a_body_that_is_not_an_object_is_refused(boss, alice):
    for body in ([1, 2], "text", 42):
        assert errors_for(alice, body) == {"body": "send a JSON object"}


def test_validate_raises_the_same_messages(boss, alice):
    with pytest.raises(CutoutInvalid) as caught:
        validate(alice, {**BOX, "x": [700, 100], "format": "gif"})
    assert caught.value.errors == {"x": "start (700) must be less than stop (100)",
                                   "format": "must be one of ome-tiff, tiff-zip, imagej-tiff, ome-zarr"}
