"""Reading viewer links into cutout requests: cutouts.neuroglancer, without any server."""
import json
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from cutouts.neuroglancer import query_for_request, read_link, read_state, to_request
from portal import ngstate
from portal.boss.client import Channel, CoordFrame, Experiment, detail_of

BOSS = "https://api.example.org"


def cortex():
    frame = CoordFrame("cortex_frame", "", 0, 2048, 0, 2048, 100, 228, 4.0, 4.0, 40.0, "nanometers")
    channels = [Channel("em", "cortex", "image", "uint8"), Channel("fluo", "cortex", "image", "uint16"),
                Channel("seg", "cortex", "annotation", "uint64")]
    return detail_of(Experiment("cortex", "demo", "cortex_frame", num_hierarchy_levels=4), frame, channels)


def channels(*names):
    return [SimpleNamespace(name=n, type="annotation" if n == "seg" else "image") for n in names]


def url_with(box=None, names=("em",), ndviz="https://viewer.example.org/"):
    return ngstate.viewer_url("demo", "cortex", channels(*names), cortex().frame, ndviz_url=ndviz, boss_url=BOSS,
                              box=box)


def test_a_viewer_url_with_a_box_round_trips():
    box = ((512, 1024), (256, 768), (120, 140))
    link = read_link(url_with(box, names=("em", "seg")))
    assert (link.collection, link.experiment, link.channels) == ("demo", "cortex", ["em", "seg"])
    assert link.from_annotation
    data, messages = to_request(link, cortex())
    assert messages == [] and link.messages == []
    assert data["resolution"] == 0
    assert (data["x"], data["y"], data["z"]) == ([512, 1024], [256, 768], [120, 140])
    assert query_for_request(data) == ("channels=em&channels=seg&resolution=0&x0=512&x1=1024&y0=256&y1=768"
                                       "&z0=120&z1=140&format=tiff-zip")  # em (uint8) + seg (uint64): one zip


def test_a_pasted_link_picks_a_format_that_holds_its_channels():
    for names, fmt in ((("em",), "ome-tiff"), (("em", "fluo"), "tiff-zip"), (("seg",), "ome-tiff")):
        data, _ = to_request(read_link(url_with(((512, 1024), (256, 768), (120, 140)), names=names)), cortex())
        assert data["format"] == fmt, names


def test_a_state_without_a_box_gives_the_visible_panel_and_the_chosen_depth():
    state = ngstate.viewer_state("demo", "cortex", channels("em"), cortex().frame, boss_url=BOSS)
    state["position"] = [1000.5, 900.5, 150.5]
    state["crossSectionScale"] = 1.0
    link = read_link(json.dumps(state), depth=10)
    assert not link.from_annotation
    data, _ = to_request(link, cortex())
    assert data["x"] == [744, 1257] and data["y"] == [644, 1157] and data["z"] == [145, 156]


def test_the_dimensions_pick_the_matching_level():
    state = ngstate.viewer_state("demo", "cortex", channels("em"), cortex().frame, boss_url=BOSS,
                                 box=((100, 200), (300, 400), (110, 120)))
    state["dimensions"] = {"x": [16e-9, "m"], "y": [16e-9, "m"], "z": [40e-9, "m"]}  # level 2
    data, messages = to_request(read_link(json.dumps(state)), cortex())
    assert messages == [] and data["resolution"] == 2
    assert data["x"] == [100, 200] and data["z"] == [110, 120]


def test_unmatched_dimensions_convert_to_level_0_with_a_message():
    state = ngstate.viewer_state("demo", "cortex", channels("em"), cortex().frame, boss_url=BOSS,
                                 box=((100, 200), (300, 400), (110, 120)))
    state["dimensions"] = {"x": [6e-9, "m"], "y": [6e-9, "m"], "z": [40e-9, "m"]}
    data, messages = to_request(read_link(json.dumps(state)), cortex())
    assert data["resolution"] == 0 and data["x"] == [150, 300]
    assert "matches no resolution level" in messages[0]


def test_non_boss_layers_are_named_and_ignored():
    state = ngstate.viewer_state("demo", "cortex", channels("em"), cortex().frame, boss_url=BOSS)
    state["layers"].append({"type": "image", "name": "mine", "source": "precomputed://gs://bucket/img"})
    link = read_link(json.dumps(state))
    assert link.channels == ["em"]
    assert any("'mine'" in m and "not a BOSS source" in m for m in link.messages)


def test_layers_from_several_experiments_give_a_message():
    state = ngstate.viewer_state("demo", "cortex", channels("em"), cortex().frame, boss_url=BOSS)
    state["layers"].append({"type": "image", "name": "other", "source": f"boss://{BOSS}/demo/retina/em"})
    link = read_link(json.dumps(state))
    assert (link.collection, link.experiment, link.channels) == ("demo", "cortex", ["em"])
    assert any("several experiments" in m and "demo/retina" in m for m in link.messages)


def test_the_old_ndviz_single_quote_form_is_read():
    old = ("{'layers':{'em':{'type':'image'_'source':'boss://https://api.boss.neurodata.io/demo/cortex/em?window=0,"
           "10000'}_'seg_1':{'type':'segmentation'_'source':'boss://https://api.boss.neurodata.io/demo/cortex/seg'}}"
           "_'navigation':{'pose':{'position':{'voxelSize':[4_4_40]_'voxelCoordinates':[1024_1024_150]}}"
           "_'zoomFactor':8}}")
    link = read_link("https://viz.boss.neurodata.io/#!" + old)
    assert link.channels == ["em", "seg"] and link.messages == []
    data, messages = to_request(link, cortex())
    assert messages == [] and data["resolution"] == 0
    assert data["x"] == [512, 1536] and data["z"] == [142, 158]
    # The same, URL-quoted as a browser's address bar shows it.
    assert read_link("https://viz.boss.neurodata.io/#!" + quote(old)).channels == ["em", "seg"]


def test_an_ndwebtools_link_without_voxel_size_is_read_as_level_0():
    old = "{'layers':{'em':{'type':'image'_'source':'boss://https://h.org/demo/cortex/em'}}_'navigation':{'pose':{'position':{'voxelCoordinates':[100_100_150]}}}}"
    data, messages = to_request(read_link("#!" + old), cortex())
    assert data["resolution"] == 0 and "no voxel size" in messages[0]


@pytest.mark.parametrize("text", [
    "", "   ", "not a link", "https://viewer.example.org/#!{not json", "https://x/#!" + quote("[1,2,3]"),
    "{}", '{"layers": 5}', '{"layers": [5, "x", null]}', '{"layers": {"a": 1}}',
    '{"layers": [{"type": "image", "source": 7}]}',
    '{"layers": [{"source": "boss://https://h/c/e/ch"}], "position": ["a", "b", "c"]}',
    '{"layers": [{"source": "boss://https://h/c/e/ch"}], "position": [1e308, 1e308, 1e308], "crossSectionScale": 1e308}',
    '{"layers": [{"source": "boss://https://h/c/e/ch"}], "position": [' + "9" * 400 + ', 1, 1]}',
    '{"layers": [{"source": "boss://https://h/c/e/ch"}], "position": [NaN, Infinity, 1]}',
    '{"layers": [{"type": "annotation", "annotations": [{"type": "axis_aligned_bounding_box", "pointA": [1], "pointB": "x"}]}]}',
    '{"dimensions": {"x": [0, "m"], "y": "?", "z": [1, "parsec"]}, "layers": []}',
    "https://x/#!https://portal.example.org/s/abc.json",
    "[" * 100000,
])
def test_malformed_input_gives_messages_never_exceptions(text):
    link = read_link(text)
    assert link.messages
    if link.collection:
        data, messages = to_request(link, cortex())
        assert data["collection"] == link.collection


def test_a_box_outside_the_data_is_clipped_or_refused():
    inside = read_link(url_with(((2000, 3000), (0, 10), (90, 110))))
    data, messages = to_request(inside, cortex())
    assert data["x"] == [2000, 2048] and data["z"] == [100, 110] and "clipped" in messages[0]
    outside = read_link(url_with(((5000, 6000), (0, 10), (110, 120))))
    data, messages = to_request(outside, cortex())
    assert "x" not in data and "outside the data along x" in messages[0]


def test_read_state_takes_raw_json_and_quoted_urls():
    state = {"layers": []}
    assert read_state(json.dumps(state))[0] == state
    assert read_state("http://h/v/1/#!" + quote(json.dumps(state)))[0] == state
