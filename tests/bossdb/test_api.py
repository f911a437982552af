"""bossdb's endpoint functions with a fake transport: routes, typed results, what intern can't read."""
import numpy as np
import pytest

import bossdb
from bossdb import Credential, Retry, Session, errors
from bossdb.geometry import Box, calibration, computed_stops, level_starts
from tests.bossdb.fake import Answer, FakeBoss, blosc_answer

EXPERIMENT = {"name": "e", "collection": "c", "coord_frame": "f", "description": "", "num_hierarchy_levels": 3,
              "hierarchy_method": "anisotropic", "num_time_samples": 1, "time_step": None,
              "time_step_unit": None, "public": True, "creator": "a", "channels": ["em"]}
DOWNSAMPLE = {"status": "DOWNSAMPLED", "num_hierarchy_levels": 2,
              "voxel_size": {"0": [4.0, 4.0, 40.0], "1": [8.0, 8.0, 40.0]},
              "extent": {"0": [2048, 1024, 64], "1": [1024, 512, 64]},
              "cuboid_size": {"0": [512, 512, 16], "1": [512, 512, 16]}}


def session(routes):
    return Session("http://boss.test", Credential("Token", "t"), transport=FakeBoss(routes), retry=Retry(1, 0))


def test_an_experiment_with_a_null_time_unit_reads():
    exp = bossdb.get_experiment(session({"collection/c/experiment/e": Answer(body=EXPERIMENT)}), "c", "e")
    assert exp.time_step_unit == "" and exp.num_hierarchy_levels == 3 and exp.collection == "c"


def test_levels_come_from_the_downsample_route():
    levels = bossdb.get_levels(session({"downsample/c/e/em": Answer(body=DOWNSAMPLE)}), "c", "e", "em")
    assert [(lv.resolution, lv.voxel_size, lv.extent) for lv in levels] == [
        (0, (4.0, 4.0, 40.0), (2048, 1024, 64)), (1, (8.0, 8.0, 40.0), (1024, 512, 64))]


def test_a_cutout_is_one_blosc_request_decoded_to_the_box():
    data = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4)
    route = "cutout/c/e/em/0/10:14/20:23/30:32/"
    fake = FakeBoss({route: blosc_answer(data)})
    s = Session("http://boss.test", Credential("Token", "t"), transport=fake)
    out = bossdb.read_cutout(s, "c", "e", "em", "uint16", 0, (10, 14), (20, 23), (30, 32))
    assert np.array_equal(out, data) and fake.sent[0][1]["Accept"] == "application/blosc"


def test_a_cutout_cut_short_is_unreadable_and_retried():
    data = np.ones((1, 2, 2), dtype=np.uint8)
    route = "cutout/c/e/em/0/0:2/0:2/0:1/"
    s = session({route: [blosc_answer(np.ones((1, 1, 2), dtype=np.uint8)), blosc_answer(data)]})
    assert np.array_equal(bossdb.read_cutout(s, "c", "e", "em", "uint8", 0, (0, 2), (0, 2), (0, 1)), data)
    s = session({route: [Answer(content=b"garbage")]})
    with pytest.raises(errors.BossUnavailable, match="unreadable"):
        bossdb.read_cutout(s, "c", "e", "em", "uint8", 0, (0, 2), (0, 2), (0, 1))


def test_a_time_range_gives_a_4d_array():
    data = np.zeros((2, 1, 2, 2), dtype=np.uint8)
    s = session({"cutout/c/e/em/0/0:2/0:2/0:1/0:2/": blosc_answer(data)})
    assert bossdb.read_cutout(s, "c", "e", "em", "uint8", 0, (0, 2), (0, 2), (0, 1), t=(0, 2)).shape == (2, 1, 2, 2)


def test_ids_and_bounding_boxes():
    s = session({"ids/c/e/seg/0/0:8/0:8/0:2/0:1/": Answer(body={"ids": ["4", "1"]}),
                 "boundingbox/c/e/seg/0/4/": Answer(body={"x_range": [1, 3], "y_range": [0, 2], "z_range": [0, 1]})})
    assert bossdb.ids_in_box(s, "c", "e", "seg", 0, (0, 8), (0, 8), (0, 2)) == [1, 4]
    box = bossdb.bounding_box(s, "c", "e", "seg", 0, 4)
    assert (box.x, box.y, box.z) == ((1, 3), (0, 2), (0, 1))


def test_geometry():
    assert computed_stops((2048, 2048, 64), 3) == [(2048, 2048, 64), (1024, 1024, 64), (512, 512, 64)]
    assert computed_stops((5, 5, 5), 2, "isotropic") == [(5, 5, 5), (3, 3, 3)]
    assert level_starts((100, 50, 7), (16.0, 16.0, 40.0), (4.0, 4.0, 40.0)) == (25, 12, 7)
    cal = calibration((4, 4, 40), "nanometers", 2, "isotropic")
    assert (cal.x, cal.y, cal.z, cal.symbol) == (16.0, 16.0, 160.0, "nm")
    assert Box((0, 2), (0, 3), (0, 4), (0, 2)).nbytes("uint16") == 96
    with pytest.raises(ValueError):
        Box((5, 2), (0, 1), (0, 1))
