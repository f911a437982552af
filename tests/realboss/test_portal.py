"""The portal and boss-cutout against what the real BOSS does (devboss behaves like it by default): each
behaviour of ../shared/real-boss.md as a user meets it, on the `realboss` demo collection."""

import numpy as np
import pytest
import tifffile

from cutouts import service
from cutouts.validation import CutoutInvalid, validate
from tests.cli.common import run_in_process as run_cli
from tests.cutouts.test_jobs import wait_for

pytestmark = pytest.mark.usefixtures("celery_worker")


def boss_voxels(devboss, experiment, channel, level, x, y, z, t=None):
    """What BOSS itself serves for the box (intern, as any script would read it)."""
    rmt = devboss.remote()
    resource = rmt.get_channel(channel, "realboss", experiment)
    return rmt.get_cutout(resource, level, list(x), list(y), list(z), time_range=list(t) if t else None,
                          parallel=False)


def job_voxels(alice, **request):
    job = wait_for(service.submit(validate(alice, {"collection": "realboss", **request})))
    assert job.state == "done", job.error
    with tifffile.TiffFile(job.result_path) as tif:
        return tif.asarray()


def errors(alice, **request):
    with pytest.raises(CutoutInvalid) as caught:
        validate(alice, {"collection": "realboss", **request})
    return caught.value.errors


def test_a_frame_that_does_not_start_at_0_offers_only_what_boss_serves(alice, client, devboss):
    client.force_login(alice)
    page = client.get("/c/realboss/offset/cutout/").content.decode()
    assert '<option value="2"  disabled' in page and '<option value="1" >' in page
    assert "Level 2 can't be cut out: BOSS checks every range against the level-0 frame" in page
    # Level 1's data is x 500:1524, of which BOSS serves only what lies within the level-0 frame: 1000:1524.
    assert errors(alice, experiment="offset", channels=["em"], resolution=1, x=[500, 600], y=[700, 800],
                  z=[0, 16])["x"] == "must lie within 1000:1524 at level 1 (got 500:600)"
    assert "BOSS can't serve level 2" in errors(alice, experiment="offset", channels=["em"], resolution=2,
                                                 x=[300, 400], y=[200, 300], z=[0, 16])["resolution"]
    box = dict(x=(1000, 1300), y=(700, 900), z=(0, 20))
    assert np.array_equal(job_voxels(alice, experiment="offset", channels=["em"], resolution=1,
                                     **{a: list(v) for a, v in box.items()}),
                          boss_voxels(devboss, "offset", "em", 1, *box.values()))


def test_an_experiment_without_a_time_unit_browses_and_cuts_out(alice, client, devboss, tmp_path):
    client.force_login(alice)
    for url in ("/c/realboss/", "/c/realboss/notime/", "/c/realboss/notime/cutout/",
                "/api/collections/realboss/experiments/notime/"):
        assert client.get(url).status_code == 200, url
    code, _, err = run_cli(devboss, "bossdb://realboss/notime/em", "-x", "0:64", "-y", "0:64", "-z", "0:2",
                           "--out", tmp_path / "out")
    assert code == 0, err


def test_a_channel_not_downsampled_offers_its_base_level_only(alice, client, devboss, tmp_path):
    client.force_login(alice)
    page = client.get("/c/realboss/pending/").content.decode()
    assert "NOT_DOWNSAMPLED" in page and "only the base level holds data" in page
    for channel in ("em", "seg"):
        message = errors(alice, experiment="pending", channels=[channel], resolution=1, x=[0, 64], y=[0, 64],
                         z=[0, 16])["resolution"]
        assert "not downsampled" in message, message
        code, _, err = run_cli(devboss, f"bossdb://realboss/pending/{channel}", "--res", "1", "-x", "0:64",
                               "-y", "0:64", "-z", "0:16", "--out", tmp_path / channel)
        assert code == 2 and "not downsampled" in err, err
    assert np.array_equal(job_voxels(alice, experiment="pending", channels=["seg"], resolution=0, x=[0, 600],
                                     y=[0, 300], z=[0, 20]),
                          boss_voxels(devboss, "pending", "seg", 0, (0, 600), (0, 300), (0, 20)))


def test_a_channel_with_base_resolution_1_has_levels_1_to_4(alice, devboss, tmp_path):
    assert errors(alice, experiment="based", channels=["em"], resolution=0, x=[0, 64], y=[0, 64],
                  z=[0, 16])["resolution"] == "must be a level from 1 to 4"
    code, _, err = run_cli(devboss, "bossdb://realboss/based/em", "--res", "0", "-x", "0:64", "-y", "0:64",
                           "-z", "0:16", "--out", tmp_path / "out")
    assert code == 2 and "has resolutions 1..4" in err, err
    assert np.array_equal(job_voxels(alice, experiment="based", channels=["em"], resolution=1, x=[0, 600],
                                     y=[0, 300], z=[0, 20]),
                          boss_voxels(devboss, "based", "em", 1, (0, 600), (0, 300), (0, 20)))


def test_a_frame_with_x_and_y_voxels_apart_serves_level_0(alice, client, devboss):
    client.force_login(alice)
    assert "BOSS serves (x, y, z)" in client.get("/c/realboss/aniso/").content.decode()
    assert "voxel sizes differ" in errors(alice, experiment="aniso", channels=["em"], resolution=1, x=[0, 64],
                                          y=[0, 64], z=[0, 16])["resolution"]
    assert np.array_equal(job_voxels(alice, experiment="aniso", channels=["em"], resolution=0, x=[0, 700],
                                     y=[0, 300], z=[0, 20]),
                          boss_voxels(devboss, "aniso", "em", 0, (0, 700), (0, 300), (0, 20)))


def test_an_empty_object_index_falls_back_to_the_voxels(alice, client, devboss):
    client.force_login(alice)
    answer = client.get("/c/realboss/noindex/objects/?annotation=seg&resolution=0&channels=em&x0=0&x1=512"
                        "&y0=0&y1=512&z0=0&z1=16&output=json").json()
    voxels = boss_voxels(devboss, "noindex", "seg", 0, (0, 512), (0, 512), (0, 16))
    assert answer["source"] == "voxels" and answer["ids"] == [str(i) for i in np.unique(voxels[voxels != 0])][:1000]
    assert answer["count"] > 0


def test_a_time_range_on_a_cloudvolume_channel_is_refused(alice, devboss, tmp_path):
    message = errors(alice, experiment="cloudvol", channels=["em"], resolution=0, x=[0, 64], y=[0, 64],
                     z=[0, 16], t=[1, 3])["t"]
    assert "CloudVolume" in message
    code, _, err = run_cli(devboss, "bossdb://realboss/cloudvol/em", "-x", "0:64", "-y", "0:64", "-z", "0:16",
                           "-t", "1:3", "--out", tmp_path / "out")
    assert code == 2 and "CloudVolume" in err, err


@pytest.fixture
def quota(devboss):
    """Set BOSS's byte quota of a user (devboss's run-time throttle, with BOSS's own JSON), reset afterwards."""
    import requests

    from tests.cli.common import admin

    def set_limit(metric, limit):
        requests.post(f"{devboss.url}/devboss/throttle", headers=admin(devboss), timeout=10, json={
            "thresholds": [{"metric": metric, "mtype": "egress", "limit": limit}], "reset_usage": True,
        }).raise_for_status()

    changed = []
    yield lambda metric, limit: (changed.append(metric), set_limit(metric, limit))
    for metric in changed:
        set_limit(metric, -1)


def test_a_throttled_job_stops_at_once_with_boss_s_message(alice, devboss, quota, tmp_path):
    from cutouts.models import CutoutJob
    from tests.cli.common import cutouts_served, reset_stats

    quota("user:alice", 1)  # the first request crosses the quota and is served; the next are refused
    reset_stats(devboss)
    job = wait_for(service.submit(validate(alice, {"collection": "demo", "experiment": "cortex", "channels": ["em"],
                                                   "resolution": 0, "x": [0, 2048], "y": [0, 1024],
                                                   "z": [100, 132]})))
    assert job.state == CutoutJob.FAILED and "User is throttled. Expected available tomorrow." in job.error
    assert "meters downloads per user" in job.error and job.blocks_done < job.blocks_total
    # No retries: a job's 3 fetch threads ask once each for the blocks in hand, then stop.
    assert cutouts_served(devboss, "demo/cortex/em") <= 3 + 3
    quota("user:public-access", 1)
    first = run_cli(devboss, "bossdb://demo/cortex/em", "-x", "0:1024", "-y", "0:1024", "-z", "100:132",
                    "--out", tmp_path / "a", "--workers", "1")
    second = run_cli(devboss, "bossdb://demo/cortex/em", "-x", "0:1024", "-y", "0:1024", "-z", "100:132",
                     "--out", tmp_path / "b", "--workers", "1")
    assert 7 in (first[0], second[0]) and "throttled" in (first[2] + second[2]), (first, second)


def test_anonymous_visitors_are_told_the_shared_public_quota_is_used_up(client, devboss, quota, boss_settings):
    quota("user:public-access", 1)
    client.get("/c/demo/cortex/preview.png?channels=em&resolution=0&x0=0&x1=64&y0=0&y1=64&z0=100&z1=101")
    page = client.get("/c/demo/cortex/preview.png?channels=fluo&resolution=0&x0=0&x1=64&y0=0&y1=64&z0=100&z1=101")
    assert page.status_code == 429


def test_the_experiment_page_warns_where_the_viewer_will_show_gaps(client, devboss, boss_settings, db):
    offset = client.get("/c/realboss/offset/").content.decode()
    assert "Neuroglancer will show gaps at levels 1, 2, 3" in offset
    assert "viewer-gaps" not in client.get("/c/demo/cortex/").content.decode()
