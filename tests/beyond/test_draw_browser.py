"""In chromium, on the cutout form (static/cutouts/beyond.js and form.js): alice draws the box on the preview, moves it
by dragging and with the arrow keys, sets z with the sliders and types numbers; the form's numbers (in the chosen
level's voxels), the size, the rectangle and the recipes follow. Then the live check: each bad field gets the
submit's own message before she submits, and it clears once fixed. Then over the cap: the alternatives after typing.

The preview of demo/cortex is level 2 (512 × 512 px for 0:2048 at level 0), drawn 512 px wide: one CSS pixel is one
voxel of level 2, four of level 0."""
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.auth.conftest import log_in
from tests.cutouts.test_form import message_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FORM = "/c/demo/cortex/cutout/"
BOX = ("x0", "x1", "y0", "y1", "z0", "z1")
MiB = 1024 * 1024
CLI = "document.querySelector('#size .alt-cli pre') || {innerText: ''}"  # the over-cap command, in page scripts


def values(page):
    return [int(page.input_value(f'#cutout-form input[name="{n}"]')) for n in BOX]


def rect(page):
    box = page.locator("#preview-draw rect[data-box]")
    return [float(box.get_attribute(k)) for k in ("x", "y", "width", "height")]


def open_form(page, site, devboss, query):
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.set_default_timeout(20000)
    log_in(page, site, "alice", devboss.password("alice"))
    page.goto(f"{site}{FORM}?{query}")
    page.locator("#preview-draw rect[data-box]").wait_for()  # the picture is in: the SVG is drawn
    page.locator("#preview-draw").scroll_into_view_if_needed()
    return page.locator("#preview-draw").bounding_box()


def recipes_say(page, text):
    page.wait_for_function("t => document.getElementById('recipes').textContent.indexOf(t) >= 0", arg=text)


def test_alice_draws_moves_and_types_the_box_on_the_preview(site, page, devboss):
    svg = open_form(page, site, devboss, "channels=em&resolution=0&x0=512&x1=1024&y0=256&y1=768&z0=120&z1=140")
    assert svg["width"] == 512
    at = lambda x, y: (svg["x"] + x, svg["y"] + y)  # noqa: E731 (preview pixels to page coordinates)

    # Draw a new box from (50, 60) to (150, 110) preview pixels, outside the old one: 200:600 × 240:440 at level 0.
    page.mouse.move(*at(50.5, 60.5))
    page.mouse.down()
    page.mouse.move(*at(100.5, 90.5), steps=4)
    page.mouse.move(*at(150.5, 110.5), steps=4)
    page.mouse.up()
    x0, x1, y0, y1, z0, z1 = values(page)
    assert (x0, y0) in [(200, 240), (201, 241), (202, 242)] and (x1, y1) in [(602, 442), (603, 443), (604, 444)]
    assert (z0, z1) == (120, 140)
    assert rect(page) == [x0 / 4, y0 / 4, (x1 - x0) / 4, (y1 - y0) / 4]
    assert page.inner_text('[data-size="voxels"]') == f"{(x1 - x0) * (y1 - y0) * 20:,}"
    level2 = page.inner_text('#size tr[data-level="2"] td:nth-child(2)')  # the table: the box at every level
    assert level2 == f"{x0 // 4}:{-(-x1 // 4)}, {y0 // 4}:{-(-y1 // 4)}, 120:140"
    assert page.inner_text('[data-physical="x"]') == f"{x0 * 4:,} – {x1 * 4:,}"
    recipes_say(page, f"[{x0}, {x1}], [{y0}, {y1}], [120, 140]")

    # Drag inside it: the box moves by 40 × 20 preview pixels (160 × 80 voxels of level 0), its size unchanged.
    page.mouse.move(*at(100.5, 85.5))
    page.mouse.down()
    page.mouse.move(*at(120.5, 95.5), steps=3)
    page.mouse.move(*at(140.5, 105.5), steps=3)
    page.mouse.up()
    moved = values(page)
    assert moved[1] - moved[0] == x1 - x0 and moved[3] - moved[2] == y1 - y0
    assert abs(moved[0] - (x0 + 160)) <= 4 and abs(moved[2] - (y0 + 80)) <= 4
    x0, x1, y0, y1 = moved[:4]
    recipes_say(page, f"[{x0}, {x1}], [{y0}, {y1}], [120, 140]")

    # Arrow keys on the focused picture: 8 preview pixels (32 voxels) a press, Alt 1 pixel, Shift resizes.
    page.focus("#preview-draw")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    assert values(page)[:4] == [x0 + 32, x1 + 32, y0 + 32, y1 + 32]
    page.keyboard.press("Alt+ArrowLeft")
    assert values(page)[:2] == [x0 + 28, x1 + 28]
    page.keyboard.press("Shift+ArrowRight")
    assert values(page)[:4] == [x0 + 28, x1 + 60, y0 + 32, y1 + 32]
    x0, x1, y0, y1 = values(page)[:4]
    assert rect(page) == [x0 / 4, y0 / 4, (x1 - x0) / 4, (y1 - y0) / 4]
    recipes_say(page, f"[{x0}, {x1}], [{y0}, {y1}], [120, 140]")

    # The z sliders: the keyboard moves them like any range input; one pushes the other, never crossing it.
    start, stop = page.locator("#z-start-slider"), page.locator("#z-stop-slider")
    assert (start.get_attribute("min"), start.get_attribute("max")) == ("100", "228")
    start.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert values(page)[4:] == [123, 140]
    stop.focus()
    page.keyboard.press("End")
    assert values(page)[4:] == [123, 228]
    page.keyboard.press("Home")  # the stop down to the frame's start: it pushes the start before it
    assert values(page)[4:] == [100, 101]
    start.focus()
    page.keyboard.press("End")  # past the stop: the stop is pushed on, within the frame
    assert values(page)[4:] == [227, 228]
    recipes_say(page, f"[{x0}, {x1}], [{y0}, {y1}], [227, 228]")
    assert page.inner_text('[data-size="voxels"]') == f"{(x1 - x0) * (y1 - y0):,}"

    # Typing numbers moves the rectangle (in the chosen level's voxels, here level 1: two per preview pixel).
    page.select_option('#cutout-form select[name="resolution"]', "1")
    page.fill('#cutout-form input[name="x0"]', "100")
    page.fill('#cutout-form input[name="x1"]', "300")
    page.fill('#cutout-form input[name="y0"]', "50")
    page.fill('#cutout-form input[name="y1"]', "250")
    page.wait_for_function("() => document.querySelector('#preview-draw rect[data-box]').getAttribute('x') === '50'")
    assert rect(page) == [50, 25, 100, 100]
    recipes_say(page, "get_cutout(channel, 1, [100, 300], [50, 250]")


def test_a_drag_at_a_coarser_level_writes_that_levels_voxels_and_stays_in_the_frame(site, page, devboss):
    svg = open_form(page, site, devboss, "channels=em&resolution=2&x0=10&x1=20&y0=10&y1=20&z0=120&z1=140")
    at = lambda x, y: (svg["x"] + x, svg["y"] + y)  # noqa: E731
    page.mouse.move(*at(400.5, 300.5))
    page.mouse.down()
    page.mouse.move(*at(600, 700), steps=5)  # off the picture: the box stops at the frame's edge
    page.mouse.up()
    x0, x1, y0, y1, _, _ = values(page)
    assert x0 in (400, 401) and y0 in (300, 301) and (x1, y1) == (512, 512)
    assert rect(page) == [x0, y0, 512 - x0, 512 - y0]
    recipes_say(page, f"get_cutout(channel, 2, [{x0}, 512], [{y0}, 512]")
    # The arrow keys at the frame's edge: the box stays inside it.
    page.focus("#preview-draw")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    assert values(page)[:4] == [x0, 512, y0, 512]
    # With a number half typed there is no box to move: the keys leave the numbers as they are.
    page.fill('#cutout-form input[name="x1"]', "")
    page.focus("#preview-draw")
    page.keyboard.press("ArrowLeft")
    assert [page.input_value(f'#cutout-form input[name="{n}"]') for n in ("x0", "x1")] == [str(x0), ""]
    assert page.locator("#preview-draw rect[data-box]").get_attribute("hidden") == ""


def submitted_message(alice, form, field):
    """What a submit of the same form says for `field` (the Django client, as alice)."""
    client = Client()
    client.force_login(alice)
    response = client.post(FORM, form)
    assert response.status_code == 400
    return message_for(response.content.decode(), field)


FORM_DATA = {"channels": ["em"], "resolution": "0", "x0": "100", "x1": "700", "y0": "0", "y1": "600",
             "z0": "100", "z1": "120", "format": "ome-tiff"}


@pytest.mark.parametrize(
    "typed,field,words",
    [
        ({"z0": "0", "z1": "50"}, "z", "must lie within 100:228"),
        ({"x0": "-10"}, "x", "must lie within 0:2048 at level 0"),
        ({"resolution": "2", "y1": "600"}, "y", "must lie within 0:512 at level 2"),
    ],
)
def test_the_live_check_says_what_the_submit_would_say_and_clears(site, page, devboss, typed, field, words):
    query = "&".join(f"{k}={v}" for k, v in FORM_DATA.items() if k != "channels") + "&channels=em"
    open_form(page, site, devboss, query)
    slot = page.locator(f'#cutout-form [data-field="{field}"]')
    assert slot.is_hidden()
    if "resolution" in typed:  # a new level rescales the box: type the bad number after choosing it
        page.select_option('#cutout-form select[name="resolution"]', typed["resolution"])
    for name, v in typed.items():
        if name != "resolution":
            page.fill(f'#cutout-form input[name="{name}"]', v)
    slot.wait_for(state="visible")
    assert words in slot.inner_text()
    form = {**FORM_DATA, **{n: page.input_value(f'#cutout-form [name="{n}"]') for n in (*BOX, "resolution")}}
    alice = get_user_model().objects.get(username="alice")
    assert slot.inner_text() == submitted_message(alice, form, field)
    assert page.get_attribute(f'#cutout-form input[name="{field}0"]', "aria-invalid") == "true"
    physical = page.inner_text(f'[data-physical="{field}"]')
    assert "-" not in physical and physical == ""  # never a range outside the frame
    assert page.url.endswith(query)  # nothing was submitted
    page.locator("#recipes .no-recipes").wait_for()  # no recipe for a box BOSS refuses

    lo, hi = {"x": ("100", "200"), "y": ("0", "100"), "z": ("100", "120")}[field]
    page.fill(f'#cutout-form input[name="{field}0"]', lo)
    page.fill(f'#cutout-form input[name="{field}1"]', hi)
    slot.wait_for(state="hidden")
    assert page.get_attribute(f'#cutout-form input[name="{field}0"]', "aria-invalid") is None
    assert re.fullmatch(r"[\d,]+ – [\d,]+", page.inner_text(f'[data-physical="{field}"]'))
    page.locator("#recipe-code-intern").wait_for()


def test_over_the_cap_the_alternatives_follow_the_typing_and_the_command_copies(site, page, devboss, settings):
    settings.CUTOUT_MAX_BYTES = 2 * MiB
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    open_form(page, site, devboss, "channels=em&resolution=0&x0=0&x1=64&y0=0&y1=64&z0=100&z1=116")
    assert page.locator("#over-cap").count() == 0
    for name, v in {"x1": "256", "y1": "256", "z1": "164"}.items():  # 256 × 256 × 64 = 4 MiB, 1 MiB a 16-slice part
        page.fill(f'#cutout-form input[name="{name}"]', v)
    command = ("boss-cutout bossdb://demo/cortex/em --res 0 -x 0:256 -y 0:256 -z 100:164 "
               f"--boss-url {devboss.url} --out demo_cortex_em_r0_x0-256_y0-256_z100-164 --format ome-tiff "
               "--token-file ~/.boss-token")  # the form's default format, OME-TIFF, carries over
    cli = page.locator("#size .alt-cli pre.cli-command")
    page.wait_for_function(f"t => ({CLI}).innerText === t", arg=command)
    assert "over the 2.10 MB cap" in page.inner_text("#size .size-current")
    assert page.inner_text("#size .alt-level") == "The same box at level 1 is 1.05 MB: use level 1."
    assert "fits at level 1" in page.inner_text("#error-size")
    # Typing on: while the check runs the alternatives stay, the old command marked out of date and not copyable;
    # the check's answer brings the command for the new box.
    held = []
    page.route("**/cutout/check.json*", lambda route: held.append(route))
    page.fill('#cutout-form input[name="x1"]', "200")
    page.wait_for_timeout(600)
    assert held and page.locator("#size .alt-parts").is_visible() and cli.is_visible()
    assert cli.get_attribute("aria-busy") == "true" and page.is_disabled("#size .alt-cli .copy-btn")
    assert "at level 1 is" in page.inner_text("#size .alt-level")
    for route in held:
        route.continue_()
    page.unroute("**/cutout/check.json*")
    page.wait_for_function(f"() => ({CLI}).innerText.indexOf('-x 0:200 ') > 0")
    assert cli.inner_text() == command.replace("0:256 -y", "0:200 -y").replace("x0-256", "x0-200")
    assert cli.get_attribute("aria-busy") is None and page.is_enabled("#size .alt-cli .copy-btn")

    # Copy: the button says so, and the clipboard holds the command exactly.
    page.click("#size .alt-cli .copy-btn")
    page.locator("#size .alt-cli .copy-btn", has_text="Copied").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == cli.inner_text()

    # "Deliver in parts": the box is accepted as it is, and the portal-API recipe carries "parts": true.
    page.click("#size label.use-parts")
    assert page.is_checked("#id_parts")
    page.locator("#size .alt-parts", has_text='"Deliver in parts" is ticked').wait_for()
    page.locator("#error-size").wait_for(state="hidden")
    assert "It comes in parts" in page.inner_text("#over-cap")
    recipes_say(page, '"parts": true')
    # The recipe's Copy button copies the command exactly as printed (what tests/cutouts/test_recipes_run.py runs).
    page.click("#recipe-tab-api")
    page.click('[data-copy-target="#recipe-code-api"]')
    page.locator('[data-copy-target="#recipe-code-api"]', has_text="Copied").wait_for()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == page.text_content("#recipe-code-api") and '"parts": true' in copied

    # "use level 1": the same physical box at level 1, under the cap; the alternatives go.
    page.click("#size a.use-level")
    assert page.input_value('#cutout-form select[name="resolution"]') == "1"
    assert values(page) == [0, 100, 0, 128, 100, 164]
    page.locator("#over-cap").wait_for(state="detached")
    recipes_say(page, "get_cutout(channel, 1, [0, 100], [0, 128], [100, 164]")
    assert page.inner_text('[data-physical="x"]') == "0 – 800"
