"""The form's live check (GET .../cutout/check.json, cutouts/live_check.py): as the user types, each bad field gets the
very message a submit of the same form gives, it clears once fixed, the size section and the recipes follow, and the
physical column never shows a range outside the frame."""
import re
from html import unescape

import pytest
from django.core.cache import cache

from cutouts.models import CutoutJob
from tests.cutouts.test_form import FORM, VALID, message_for

CHECK = FORM + "check.json"
MiB = 1024 * 1024


@pytest.fixture
def logged_in(client, alice):
    cache.clear()
    client.force_login(alice)
    return client


def check(client, form):
    response = client.get(CHECK, form)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(
    "change,field,words",
    [
        ({"z0": "0", "z1": "50"}, "z", "must lie within 100:228"),  # the demo cortex frame is z 100:228
        ({"x0": "-10"}, "x", "must lie within 0:2048 at level 0"),
        ({"resolution": "1", "x0": "900", "x1": "1100"}, "x", "must lie within 0:1024 at level 1"),
        ({"resolution": "2", "y0": "0", "y1": "600"}, "y", "must lie within 0:512 at level 2"),
        ({"x0": "700", "x1": "100"}, "x", "start (700) must be less than stop (100)"),
        ({"y1": "12.5"}, "y", "start and stop must be whole numbers"),
        ({"channels": []}, "channels", "choose at least one channel"),
        ({"resolution": "9"}, "resolution", "must be a level from 0 to 3"),
    ],
)
def test_the_live_message_is_the_submits_own_and_clears_when_fixed(logged_in, change, field, words):
    form = {**VALID, **change}
    live = check(logged_in, form)["errors"]
    assert words in live[field]
    submitted = logged_in.post(FORM, form)
    assert submitted.status_code == 400
    assert message_for(submitted.content.decode(), field) == live[field]  # word for word
    assert not CutoutJob.objects.exists()  # a check saves nothing, a refused submit neither
    # No recipe for a box BOSS would refuse: it couldn't run as printed.
    assert "Enter a valid box to see the recipes." in check(logged_in, form)["recipes"]

    fixed = check(logged_in, VALID)
    assert fixed["errors"] == {}
    assert "This box:" in fixed["size"] and "Enter a valid box" not in fixed["recipes"]


@pytest.mark.parametrize(
    "change,axis",
    [({"x0": "-10"}, "x"), ({"z0": "0", "z1": "50"}, "z"), ({"resolution": "1", "x0": "900", "x1": "1100"}, "x"),
     ({"x0": "700", "x1": "100"}, "x")],
)
def test_the_physical_column_never_shows_a_range_outside_the_frame(logged_in, change, axis):
    form = {**VALID, **change}
    shown = check(logged_in, form)["physical"]
    assert shown.get(axis, "") == ""
    html = logged_in.post(FORM, form).content.decode()
    cell = re.search(rf'data-physical="{axis}">([^<]*)<', html).group(1)
    assert cell == "" and "-40" not in html
    assert check(logged_in, VALID)["physical"] == {"x": "400 – 2,800", "y": "0 – 2,400", "z": "4,000 – 4,800"}


def test_the_size_section_and_the_recipes_follow_the_box(logged_in):
    body = check(logged_in, {**VALID, "x0": "0", "x1": "10", "y0": "0", "y1": "20", "z0": "100", "z1": "103"})
    assert re.search(r'data-size="voxels">600<', body["size"])
    assert "get_cutout(channel, 0, [0, 10], [0, 20], [100, 103]" in unescape(body["recipes"])
    assert "/v1/cutout/demo/cortex/em/0/0:10/0:20/100:103/" in unescape(body["recipes"])
    level1 = check(logged_in, {**VALID, "resolution": "1", "x0": "0", "x1": "10", "y0": "0", "y1": "20"})
    assert "get_cutout(channel, 1, [0, 10], [0, 20], [100, 120]" in unescape(level1["recipes"])


def test_an_over_cap_box_shows_its_alternatives_in_the_check(logged_in, settings):
    settings.CUTOUT_MAX_BYTES = 2 * MiB
    big = {**VALID, "x0": "0", "x1": "256", "y0": "0", "y1": "256", "z0": "100", "z1": "164"}  # 4 MiB, 1 MiB a part
    body = check(logged_in, big)
    assert "fits at level 1" in body["errors"]["size"]
    size = unescape(body["size"])
    assert re.search(r'<a class="use-level" href="\?[^"]*resolution=1[^"]*" data-level="1">use level 1</a>', size)
    assert "Deliver in parts" in size
    assert ("boss-cutout bossdb://demo/cortex/em --res 0 -x 0:256 -y 0:256 -z 100:164 "
            f"--boss-url {settings.BOSS_URL}") in size
    parts = check(logged_in, {**big, "parts": "on"})
    assert "size" not in parts["errors"]
    assert '"Deliver in parts" is ticked' in unescape(parts["size"])
    assert '"parts": true' in unescape(parts["recipes"])


def test_the_check_needs_a_login(client, db):
    assert client.get(CHECK, VALID).status_code == 302


def test_a_channel_alice_cannot_read_is_named_as_the_submit_names_it(logged_in):
    form = {**VALID, "channels": ["nope"]}
    live = check(logged_in, form)["errors"]["channels"]
    assert live == message_for(logged_in.post(FORM, form).content.decode(), "channels")


def _compressed(size_html):
    m = re.search(r'id="size-compressed" data-ratio="([\d.e-]+)">With (\w+): about <strong data-size="compressed">'
                  r'([^<]+)</strong>', unescape(size_html))
    return m and (m.group(2), m.group(3), float(m.group(1)))


@pytest.mark.parametrize("fmt,compression,shown", [
    ("ome-tiff", "zstd", "zstd"), ("ome-tiff", "deflate", "deflate"), ("ome-zarr", "", "lz4"),
    ("ome-zarr", "zstd", "zstd"),
])
def test_the_expected_compressed_size_comes_from_a_sample_and_is_near_the_whole_box_s(logged_in, fmt, compression,
                                                                                     shown):
    from cutouts.estimate import compressed_bytes
    from devboss.api import procedural

    live = check(logged_in, {**VALID, "format": fmt, "compression": compression})
    assert not live["errors"]
    name, _, ratio = _compressed(live["size"])
    assert name == shown
    whole = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (100, 700), (0, 600), (100, 120))[0]
    real = compressed_bytes(whole, fmt, shown, (100, 0, 100)) / whole.nbytes  # in the chunks the job writes
    assert 0 < ratio < 1 and real / 2 < ratio < real * 2, (ratio, real)  # the demo data compress to ~0.05: headers weigh


def test_no_compression_shows_no_estimate_and_a_bad_box_none_either(logged_in):
    assert _compressed(check(logged_in, {**VALID, "compression": "none"})["size"]) is None
    assert 'id="size-compressed"' not in check(logged_in, {**VALID, "format": "ome-zarr", "x1": "99999"})["size"]
