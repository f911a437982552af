"""GET /v1/downsample/c/e/ch (boss-api.md section 6.1), as neuroglancer reads it."""
import requests


def get(devboss, path, **kwargs):
    return requests.get(f"{devboss.url}{path}", **kwargs)


def test_it_describes_every_level_of_an_anisotropic_channel(devboss):
    response = get(devboss, "/latest/downsample/demo/cortex/em")  # no trailing slash, as neuroglancer sends
    assert response.status_code == 200
    assert response.json() == {
        "status": "DOWNSAMPLED",
        "num_hierarchy_levels": 4,
        "voxel_size": {"0": [4.0, 4.0, 40.0], "1": [8.0, 8.0, 40.0], "2": [16.0, 16.0, 40.0], "3": [32.0, 32.0, 40.0]},
        # Stops, not sizes: the z extent is z_stop (228) although the frame starts at 100.
        "extent": {"0": [2048, 2048, 228], "1": [1024, 1024, 228], "2": [512, 512, 228], "3": [256, 256, 228]},
        "cuboid_size": {str(r): [512, 512, 16] for r in range(4)},
    }


def test_iso_halves_z_above_the_iso_level(devboss):
    body = get(devboss, "/v1/downsample/demo/large/em/?iso=true").json()
    # 8x8x40 nm: ratios 5, 2.5, 1.25, 0.625 -> iso level 2; levels 3 and 4 halve z as well.
    assert body["voxel_size"]["2"] == [32.0, 32.0, 40.0]
    assert body["voxel_size"]["3"] == [64.0, 64.0, 80.0]
    assert body["extent"]["4"] == [256, 256, 128]


def test_it_keeps_private_channels_private(devboss):
    assert get(devboss, "/v1/downsample/alice_lab/private_exp/em").status_code == 403
    response = get(devboss, "/v1/downsample/alice_lab/private_exp/em",
                   headers={"Authorization": f"Token {devboss.token('alice')}"})
    assert response.json()["extent"]["2"] == [256, 256, 64]


def test_it_answers_404_json_for_an_unknown_channel(devboss):
    response = get(devboss, "/v1/downsample/demo/cortex/nope")
    assert response.status_code == 404
    assert response.json()["code"] == 4000
