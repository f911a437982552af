"""portal.ngstate: the viewer link decodes back to the state we mean, field by field."""
import json
from urllib.parse import unquote, urlsplit

import pytest

from portal.boss.client import Channel, CoordFrame
from portal.ngstate import viewer_state, viewer_url

BOSS = "https://127.0.0.1:8443"
NDVIZ = "https://127.0.0.1:8443/v/devboss/"
FRAME = CoordFrame("demo_frame", "", 0, 2048, 0, 2048, 100, 228, 4.0, 4.0, 40.0, "nanometers")
EM = Channel("em", "cortex", "image", "uint8")
FLUO = Channel("fluo", "cortex", "image", "uint16")
SEG = Channel("seg", "cortex", "annotation", "uint64")


def decode(url):
    """NDVIZ_URL#!<quoted json> -> (base, state)."""
    base, _, fragment = url.partition("#")
    assert fragment.startswith("!")
    return base, json.loads(unquote(fragment[1:]))


def link(channels, frame=FRAME):
    return viewer_url("demo", "cortex", channels, frame, ndviz_url=NDVIZ, boss_url=BOSS)


def test_it_points_at_ndviz_with_a_json_fragment():
    url = link([EM])
    base, state = decode(url)
    assert base == NDVIZ
    # Quoted: no raw JSON punctuation or spaces in the fragment.
    assert not set(url.partition("#!")[2]) & set(' "{}[]')
    assert state == viewer_state("demo", "cortex", [EM], FRAME, boss_url=BOSS)


def test_an_image_channel_is_one_image_layer_with_a_boss_source():
    _, state = decode(link([EM]))
    assert state["layers"] == [{"type": "image", "source": "boss://https://127.0.0.1:8443/demo/cortex/em", "name": "em"}]
    assert set(state) == {"dimensions", "position", "crossSectionScale", "projectionScale", "layers", "layout"}


def test_an_annotation_channel_is_a_segmentation_layer_read_as_npz():
    _, state = decode(link([SEG]))
    assert state["layers"] == [
        {"type": "segmentation", "source": "boss://https://127.0.0.1:8443/demo/cortex/seg?encoding=npz", "name": "seg"}
    ]


def test_all_channels_give_one_layer_each_with_segmentation_on_top():
    _, state = decode(link([SEG, EM, FLUO]))
    assert [(layer["name"], layer["type"]) for layer in state["layers"]] == [
        ("em", "image"), ("fluo", "image"), ("seg", "segmentation")]


def test_dimensions_are_in_metres_from_the_voxel_size():
    _, state = decode(link([EM]))
    assert state["dimensions"] == {"x": [4e-9, "m"], "y": [4e-9, "m"], "z": [4e-8, "m"]}


@pytest.mark.parametrize("unit, metres", [("micrometers", 1e-6), ("millimeters", 1e-3), ("centimeters", 1e-2)])
def test_other_units_are_converted(unit, metres):
    frame = CoordFrame("f", "", 0, 10, 0, 10, 0, 10, 1.0, 2.0, 0.5, unit)
    _, state = decode(link([EM], frame))
    assert state["dimensions"]["x"] == [pytest.approx(metres), "m"]
    assert state["dimensions"]["y"] == [pytest.approx(2 * metres), "m"]
    assert state["dimensions"]["z"] == [pytest.approx(0.5 * metres), "m"]


def test_position_is_the_frame_centre_in_voxels():
    _, state = decode(link([EM]))
    assert state["position"] == [1024, 1024, 164]


def test_zoom_fits_the_frame_and_layout_is_four_panels():
    _, state = decode(link([EM]))
    assert state["crossSectionScale"] == 4.0  # 2048 voxels across a ~512 px panel
    assert state["projectionScale"] == 4096.0
    assert state["layout"] == "4panel"
    small = CoordFrame("f", "", 0, 100, 0, 100, 0, 1, 1.0, 1.0, 1.0, "nanometers")
    assert decode(link([EM], small))[1]["crossSectionScale"] == 1.0


def test_it_uses_the_settings_by_default(settings):
    settings.NDVIZ_URL = "https://viewer.example/"
    settings.BOSS_PUBLIC_URL = "https://api.example"
    base, state = decode(viewer_url("demo", "cortex", [EM], FRAME))
    assert base == "https://viewer.example/"
    assert urlsplit(state["layers"][0]["source"].removeprefix("boss://")).netloc == "api.example"


def test_a_name_with_quotes_cannot_break_out_of_the_json():
    odd = Channel('a"b', "cortex", "image", "uint8")
    _, state = decode(link([odd]))
    assert state["layers"][0]["name"] == 'a"b'


def test_a_box_frames_the_view_and_is_drawn_as_a_bounding_box():
    import json
    from types import SimpleNamespace
    from urllib.parse import unquote

    from portal.ngstate import viewer_url

    frame = SimpleNamespace(x_start=0, x_stop=2048, y_start=0, y_stop=2048, z_start=100, z_stop=228,
                            x_voxel_size=4.0, y_voxel_size=4.0, z_voxel_size=40.0, voxel_unit="nanometers")
    em = SimpleNamespace(name="em", type="image")
    url = viewer_url("demo", "cortex", [em], frame, ndviz_url="https://viewer/", boss_url="https://boss",
                     box=((100, 1124), (0, 512), (110, 150)))
    state = json.loads(unquote(url.split("#!", 1)[1]))
    assert state["position"] == [612.0, 256.0, 130.0]
    (box_layer,) = [layer for layer in state["layers"] if layer["type"] == "annotation"]
    (annotation,) = box_layer["annotations"]
    assert annotation["type"] == "axis_aligned_bounding_box"
    assert annotation["pointA"] == [100, 0, 110] and annotation["pointB"] == [1124, 512, 150]
    assert state["crossSectionScale"] == 2.0


def test_a_display_window_sets_the_image_layers_range_and_nothing_else():
    _, state = decode(viewer_url("demo", "cortex", [EM, FLUO, SEG], FRAME, ndviz_url=NDVIZ, boss_url=BOSS,
                                 windows={"fluo": (120, 3400)}))
    layers = {layer["name"]: layer for layer in state["layers"]}
    assert layers["fluo"]["shaderControls"] == {"normalized": {"range": [120, 3400]}}
    assert "shaderControls" not in layers["em"] and "shaderControls" not in layers["seg"]
