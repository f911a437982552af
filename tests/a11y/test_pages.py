"""Every page of the portal, as an anonymous visitor and as alice, in chromium at 1280 px and 375 px: axe-core
finds no serious or critical violation, and no page scrolls sideways (tests/a11y/axe.py).

One test per kind of visitor walks all their pages and reports every problem at once. With
UPDATE_DOCS_SCREENSHOTS=1 it also writes README's pictures (docs/*.png) from the same pages.
"""
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.a11y.axe import problems

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
SHOTS = os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1"

ANONYMOUS_PAGES = [
    "/", "/?q=cortex", "/?q=nothing-matches-this", "/c/", "/c/demo/", "/c/demo/cortex/", "/c/realboss/offset/",
    "/api/docs/", "/accounts/login/?next=/c/demo/", "/accounts/logout/",
    "/accounts/3rdparty/login/cancelled/", "/accounts/3rdparty/login/error/",
    "/no/such/page/",  # the 404 page
    "/c/alice_lab/",  # BOSS says 403: the BOSS error page
    "/c/demo/nosuch/",  # BOSS says 404
]
ALICE_PAGES = [
    "/", "/c/alice_lab/", "/c/alice_lab/private_exp/", "/c/demo/cortex/",
    "/c/demo/cortex/cutout/?channels=em", "/c/demo/cortex/cutout/?channels=em&x0=0&x1=2048&y0=0&y1=2048&z0=100&z1=228",
    "/cutouts/from-viewer/", "/cutouts/", "JOB", "/s/", "/accounts/logout/", "/api/docs/",
]
# README's pictures: (page, file stem); each at 1280 px (<stem>.png) and 375 px (<stem>-375.png).
SCREENSHOTS = {"/": "home", "/c/demo/cortex/": "experiment", "/c/demo/cortex/cutout/?channels=em": "form",
               "/cutouts/": "jobs"}


def walk(page, base, paths, shots_for=None):
    """{path: [problems]} for every path that has any; screenshots of SCREENSHOTS' pages when asked."""
    found = {}
    for path in paths:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        issues = problems(page)
        if issues:
            found[path] = issues
        if SHOTS and shots_for is not None and path in SCREENSHOTS:
            shoot(page, SCREENSHOTS[path])
    return found


def shoot(page, stem):
    DOCS.mkdir(exist_ok=True)
    for width, suffix in ((1280, ""), (375, "-375")):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=str(DOCS / f"{stem}{suffix}.png"), full_page=True)


def report(found):
    return "\n".join(f"{path}:\n    " + "\n    ".join(issues) for path, issues in found.items())


def test_every_page_an_anonymous_visitor_sees_passes_axe_and_fits_375_px(site, page, devboss):
    found = walk(page, site, ANONYMOUS_PAGES)
    # devboss's own login page, where the portal's login sends the browser
    page.goto(f"{devboss.url}/auth/realms/BOSS/login/")
    found.update({"devboss login": issues} if (issues := problems(page)) else {})
    assert not found, "\n" + report(found)


def alice_jobs(alice):
    """A few of alice's jobs in the states the list shows, so that the jobs pages have rows to check."""
    from cutouts.models import CutoutJob

    now = timezone.now()
    common = dict(owner=alice, collection="demo", experiment="cortex", channels=["em"], resolution=0,
                  x0=0, x1=1024, y0=0, y1=1024, z0=100, z1=164)
    done = CutoutJob.objects.create(**common, state=CutoutJob.DONE, blocks_done=8, blocks_total=8,
                                    result_name="em.ome.tif", result_size=67_108_864, created=now - timedelta(hours=1),
                                    finished=now - timedelta(minutes=50), expires=now + timedelta(days=7),
                                    name="cortex, top layers")
    CutoutJob.objects.create(**{**common, "channels": ["em", "seg"], "format": "tiff-zip"}, state=CutoutJob.RUNNING,
                             blocks_done=3, blocks_total=8, started=now)
    CutoutJob.objects.create(**common, state=CutoutJob.FAILED, error="BOSS refused the box: 400 out of bounds",
                             finished=now)
    return done


def logged_in(page, base, user):
    """Put `user`'s portal session cookie in the page's browser (the OIDC round trip is tested elsewhere)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": base}])


def test_every_page_alice_sees_passes_axe_and_fits_375_px(site, page, alice):
    from portal.models import ShortLink

    job = alice_jobs(alice)
    ShortLink.objects.create(owner=alice, kind="viewer", title="demo/cortex, all channels", payload={"layers": []})
    logged_in(page, site, alice)
    paths = [f"/cutouts/{job.pk}/" if p == "JOB" else p for p in ALICE_PAGES]
    found = walk(page, site, paths, shots_for="alice")
    assert not found, "\n" + report(found)
