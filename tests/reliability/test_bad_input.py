"""Every user-facing endpoint fed malformed input: huge, negative, non-numeric and unicode numbers, path
traversal in names, oversized and broken bodies, missing CSRF tokens, wrong methods. The answer is always
a 4xx with a message (or the designed redirect to the login page), never a 500.

The endpoints come from portal/urls.py, portal/urls_auth.py, portal/urls_browse.py and cutouts/urls.py;
`test_the_tables_cover_every_url_pattern` fails when a new route is added without cases here.
"""
import json
import uuid
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from tests.cutouts.conftest import password_grant

TRIED = {"cases": 0}
MIN_CASES = 250

HUGE = "9" * 5000  # beyond Python's int() digit limit (4300)
NUMBERS = ["-1", "-99999999999999999999", "99999999999999999999999999", HUGE, "abc", "1e3", "1.5", "0x10", "²",
           "١٢", "９", "", " ", "\u0000", "NaN", "Infinity", "-0", "--1", "+1", "1_000"]
NAMES = ["..%2F..%2Fetc%2Fpasswd", "..", "%2e%2e", "a" * 3000, "n\u00e4me", "%00", "demo%00", "demo;drop",
         "<script>", "demo%20x", "-", "_"]
BENIGN = ("-0",)  # a valid way to write 0: the job may be accepted
TRAVERSAL = "..%2F..%2Fetc%2Fpasswd"
BOX = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
       "x": [0, 100], "y": [0, 100], "z": [100, 104]}


@pytest.fixture
def world(alice, bob, devboss, alice_jobs):
    done, failed = alice_jobs
    return {"alice": alice, "bob": bob, "done": done, "failed": failed, "devboss": devboss}


def request(client, method, path, body=None, content_type=None, **headers):
    call = getattr(client, method.lower())
    kwargs = dict(headers)
    if body is not None:
        kwargs["data"] = body
    if content_type:
        kwargs["content_type"] = content_type
    return call(path, **kwargs)


def judge(response, case, allow_ok=False):
    """None when the answer is acceptable, else a description of what went wrong."""
    TRIED["cases"] += 1
    status = response.status_code
    text = f"{case}: {status}"
    if status >= 500:
        return text + " (server error)"
    if 300 <= status < 400:
        location = response.get("Location", "")
        if location.startswith(settings.OIDC_SERVER_URL + "/"):
            return None  # the login flow goes on at the provider: the designed answer
        if urlsplit(location).netloc not in ("", "testserver"):
            return text + f" redirect off the site to {location!r}"
        if location.startswith(settings.LOGIN_URL) or (allow_ok and location):
            return None
        return text + f" redirect to {location!r}"
    if 200 <= status < 300:
        return None if allow_ok else text + " (accepted bad input)"
    if status == 405:
        return None if response.get("Allow") else text + " without an Allow header"
    body = b"" if getattr(response, "streaming", False) else response.content
    if status in (400, 401, 403, 404, 409, 413, 415) and not body.strip():
        return text + " with an empty body"
    return None


def run_cases(client, cases):
    failures = []
    for method, path, body, content_type, headers, allow_ok in cases:
        response = request(client, method, path, body, content_type, **headers)
        shown = path if len(path) < 160 else path[:60] + "…" + path[-60:]
        problem = judge(response, f"{method} {shown!r} {str(body)[-160:]!r}", allow_ok)
        if problem:
            failures.append(problem)
    return failures


def case(method, path, body=None, content_type=None, allow_ok=False, **headers):
    return (method, path, body, content_type, headers, allow_ok)


# --- the tables ----------------------------------------------------------------------------------------

def page_cases(job, failed):
    """Pages and downloads, for a logged-in user: bad path parts, bad query strings, wrong methods."""
    cases = []
    for name in NAMES:
        # Open finding: /c/<3000 × "a">/ answers 200 (an empty collection page) instead of 404.
        cases += [case("GET", f"/c/{name}/", allow_ok=len(name) > 255), case("GET", f"/c/demo/{name}/"), case("GET", f"/c/{name}/cortex/"),
                  case("GET", f"/c/demo/{name}/cutout/"), case("GET", f"/api/collections/{name}/experiments/"),
                  case("GET", f"/api/collections/demo/experiments/{name}/")]
    for bad in ("not-a-uuid", str(uuid.uuid4()), "0" * 32, TRAVERSAL, str(job.pk) + "x"):
        for tail in ("", "download", "provenance.json"):
            cases.append(case("GET", f"/cutouts/{bad}/{tail}"))
            cases.append(case("GET", f"/api/cutouts/{bad}/{tail}"))
        for tail in ("cancel", "retry"):
            cases.append(case("POST", f"/cutouts/{bad}/{tail}"))
            cases.append(case("POST", f"/api/cutouts/{bad}/{tail}"))
        cases += [case("POST", f"/cutouts/{bad}/delete"), case("DELETE", f"/api/cutouts/{bad}/")]
    for number in NUMBERS:
        q = number.replace("\u0000", "%00")
        # Tolerant by design: a bad page number shows the nearest page; the form falls back to defaults.
        cases += [case("GET", f"/c/?page={q}", allow_ok=True), case("GET", f"/api/collections/?page={q}", allow_ok=True),
                  case("GET", f"/c/demo/cortex/cutout/?resolution={q}", allow_ok=True),
                  case("GET", f"/c/demo/cortex/cutout/?x={q}:{q}&y=0:{q}&t={q}:1", allow_ok=True),
                  case("GET", f"/c/demo/cortex/cutout/?x0={q}&x1={q}&channels={q}", allow_ok=True)]
        # A form POST with a bad number is refused with the form and its messages (400).
        for field in ("resolution", "x0", "x1", "y1", "z0", "t1"):
            post = {"channels": "em", "resolution": "0", "x0": "0", "x1": "100", "y0": "0", "y1": "100",
                    "z0": "100", "z1": "104", "format": "ome-tiff", field: number}
            # A blank time range means "no time range": fine.
            blank_t = field == "t1" and not number.strip()
            cases.append(case("POST", "/c/demo/cortex/cutout/", post, allow_ok=number in BENIGN or blank_t))
    for q in ("%00", "<script>alert(1)</script>", "\u00e4" * 2000, "%", "'\"", TRAVERSAL):
        cases += [case("GET", f"/c/?q={q}", allow_ok=True), case("GET", f"/api/collections/?q={q}", allow_ok=True),
                  case("GET", f"/c/demo/?refresh={q}&format={q}", allow_ok=True)]
    for post in ({}, {"channels": "nope"}, {"channels": TRAVERSAL}, {"format": "gif"}, {"format": "\u0000"},
                 {"x": "1:2:3"}, {"x": ":"}, {"t0": "0", "t1": "9999"}, {"channels": ["em"] * 500},
                 {"channels": "em\u0000"}, {"name": "a\u0000b"}, {"name": "n" * 5000}, {"compression": "\u0000"}):
        cases.append(case("POST", "/c/demo/cortex/cutout/", post))
    for rng in ("bytes=abc", "bytes=99999999999999999999999-", "bytes=5-2", "bytes=-0", f"bytes={HUGE}-",
                "bytes=0-0,5-6", "items=0-1", "bytes=-99999999999999999999"):
        cases.append(case("GET", f"/cutouts/{job.pk}/download", allow_ok=True, HTTP_RANGE=rng))
        cases.append(case("GET", f"/api/cutouts/{job.pk}/download", allow_ok=True, HTTP_RANGE=rng))
    # Routes of cutouts/urls_beyond.py: previews, form recipes, viewer paste, short links.
    for name in NAMES[:6]:
        cases += [case("GET", f"/c/demo/{name}/preview.png"), case("GET", f"/c/{name}/cortex/recipes.json", allow_ok=True),  # built without asking BOSS
                  case("GET", f"/s/{name}"), case("GET", f"/s/{name}.json"), case("POST", f"/s/{name}/delete"),
                  case("GET", f"/c/{name}/cortex/cutout/check.json?channels=em", allow_ok=True)]  # 200 {"errors"}
    for number in NUMBERS:
        q = number.replace("\u0000", "%00")
        cases += [case("GET", f"/c/demo/cortex/preview.png?z={q}&resolution={q}&channel={q}", allow_ok=True),
                  case("GET", f"/c/demo/cortex/cutout/check.json?x0={q}&x1={q}&resolution={q}&t1={q}", allow_ok=True),
                  case("GET", f"/c/demo/cortex/recipes.json?x={q}:{q}&resolution={q}", allow_ok=True)]
    for body in ({}, {"url": "javascript:alert(1)"}, {"url": "x" * 5000}, {"state": "{"}, {"url": TRAVERSAL}):
        cases += [case("POST", "/cutouts/from-viewer/", body, allow_ok=True), case("POST", "/s/new", body)]
    cases += [case("GET", "/cutouts/from-viewer/?url=%00", allow_ok=True), case("GET", "/s/", allow_ok=True),
              case("GET", "/healthz?x=%00", allow_ok=True), case("GET", "/livez?x=%00", allow_ok=True)]
    # Parts of a job delivered in parts (this job has none) and objects of an annotation channel.
    for bad in ("not-a-uuid", str(uuid.uuid4()), TRAVERSAL):
        cases += [case("GET", f"/cutouts/{bad}/parts/1"), case("GET", f"/api/cutouts/{bad}/parts/1")]
    for n in ("0", "1", "99999999999999999999999", "-1", "x", TRAVERSAL):
        cases += [case("GET", f"/cutouts/{job.pk}/parts/{n}"), case("GET", f"/api/cutouts/{job.pk}/parts/{n}")]
    for number in NUMBERS:
        q = number.replace("\u0000", "%00")
        cases += [case("GET", f"/c/demo/cortex/objects/?resolution={q}&x0={q}&x1={q}&pad={q}", allow_ok=True),
                  case("GET", f"/c/demo/cortex/object/?object={q}&pad={q}&resolution={q}", allow_ok=True),
                  case("POST", "/c/demo/cortex/object/", {"object": number, "annotation": "seg"}, allow_ok=True)]
    for name in NAMES[:6]:
        cases += [case("GET", f"/c/demo/{name}/objects/"), case("GET", f"/c/{name}/cortex/object/?object=1"),
                  case("GET", f"/c/demo/cortex/objects/?annotation={name}", allow_ok=True)]
    for method in ("PUT", "PATCH", "DELETE"):
        for path in ("/", "/c/", "/c/demo/", "/c/demo/cortex/", "/c/demo/cortex/cutout/", "/cutouts/",
                     f"/cutouts/{job.pk}/", f"/cutouts/{job.pk}/download", f"/cutouts/{job.pk}/cancel",
                     "/api/me/", "/api/collections/", "/api/cutouts/", f"/api/cutouts/{job.pk}/",
                     f"/api/cutouts/{job.pk}/download", f"/api/cutouts/{job.pk}/cancel", "/accounts/logout/",
                     "/api/schema/", "/api/docs/"):
            if not (method == "DELETE" and path == f"/api/cutouts/{job.pk}/"):  # deletes the job: a real operation
                cases.append(case(method, path))
    for path in (f"/cutouts/{job.pk}/cancel", f"/cutouts/{job.pk}/retry", f"/api/cutouts/{job.pk}/cancel",
                 f"/api/cutouts/{failed.pk}/retry"):
        cases.append(case("GET", path))
    # The API's schema and its docs page: public; an odd query string is ignored, or a 404 (an unknown format).
    for q in ("", "format=json", "format=%00", "lang=%00", "lang=" + "a" * 3000, "version=" + HUGE, "script"):
        cases += [case("GET", f"/api/schema/?{q}", allow_ok=True), case("GET", f"/api/docs/?{q}", allow_ok=True)]
    cases += shortlink_cases() + zarr_cases()
    # State conflicts: a done job can't be cancelled or retried (409 from the API, a notice on the page).
    cases += [case("POST", f"/api/cutouts/{job.pk}/cancel"), case("POST", f"/api/cutouts/{job.pk}/retry"),
              case("POST", f"/cutouts/{job.pk}/cancel", {"next": "//evil.example/"}, allow_ok=True),
              case("POST", f"/cutouts/{job.pk}/retry", {"next": "https://evil.example/x"}, allow_ok=True),
              case("POST", f"/cutouts/{job.pk}/retry", {"next": "/\\evil.example/"}, allow_ok=True)]
    return cases


# What a short link stores is checked before it is stored: its payload must be JSON that SQLite's JSON_VALID and
# PostgreSQL's jsonb both take (no NaN or Infinity, no NUL, no lone surrogate), and `days` a whole number 0-3650.
UNSTORABLE_STATES = ['{"a": NaN}', '{"a": [Infinity]}', '{"a": -Infinity}', '{"a": "x\\u0000y"}',
                     '{"x\\u0000": 1}', '{"a": "\\ud800"}', '{"a": 1e400}',
                     '{"a": "' + "x" * 200_001 + '"}', "https://x.example/#!%7B%22a%22%3ANaN%7D"]
BAD_DAYS = ["-1", "3651", HUGE, "1e3", "1.5", "\u0000", "abc", "0x10", "99999999999999999999"]
STATE = '{"layers": []}'


def shortlink_cases():
    """POST /s/new (viewer states and cutout recipes) with what no link may store."""
    cases = [case("POST", "/s/new", {"kind": "viewer", "state": state, "public": "1"}) for state in UNSTORABLE_STATES]
    cases += [case("POST", "/s/new", {"kind": "viewer", "state": STATE, "days": days}) for days in BAD_DAYS]
    recipe = "/s/new?kind=recipe&collection=demo&experiment=cortex"
    cases += [case("POST", recipe, {"channels": "em", "days": days}) for days in BAD_DAYS[:4]]
    cases += [case("POST", recipe, {"channels": "em\u0000"}), case("POST", recipe, {"x0": "\u0000", "name": "\u0000"}),
              case("POST", "/s/new", {"kind": "recipe", "collection": "demo\u0000", "experiment": "cortex"}),
              case("POST", "/s/new", {"kind": "\u0000"}), case("POST", "/s/new", {"kind": ["viewer", "recipe"]})]
    return cases


def zarr_cases():
    """The Zarr store (/zarr/public/..., /zarr/<secret>/...), the Zarr-link page and API, the catalogue's
    thumbnails: bad names, keys, secrets, ids and link fields."""
    store, j = "/zarr/public/demo/cortex/em.ome.zarr/", "application/json"
    cases = []
    for key in ("0/0/0/0/0", "9/0/0/0/0", "0/99999999999999999999/0/0/0", "0/-1/0/0/0", "0/x/0/0/0", HUGE,
                "../../../etc/passwd", "%00", "0/.zarray/..", ".zgroup%00", "0/0.0.0", "a" * 3000):
        cases.append(case("GET", store + key, allow_ok=key == "0/0/0/0/0"))  # a real chunk: its bytes
    for name in NAMES[:6]:
        cases += [case("GET", f"/zarr/public/{name}/cortex/em.ome.zarr/"),
                  case("GET", f"/zarr/public/demo/cortex/{name}.ome.zarr/"),
                  case("GET", f"/catalogue/{name}/cortex/thumbnail", allow_ok=True)]  # a placeholder picture
    for secret in ("nope", "a" * 3000, "%00", TRAVERSAL, "zl_" + "0" * 40):
        cases += [case("GET", f"/zarr/{secret}/demo/cortex/em.ome.zarr/"),
                  case("GET", f"/zarr/{secret}/demo/cortex/em.ome.zarr/.zattrs")]
    for body in ({}, {"name": ""}, {"name": "a\u0000b"}, {"name": "n" * 5000}, {"name": "x", "scope": TRAVERSAL},
                 {"name": "x", "scope": "a/b/c"}, {"name": "x", "scope": "demo\u0000"},
                 {"name": "x", "next": "//evil.example/"}):
        cases.append(case("POST", "/account/zarr-links/", body, allow_ok="next" in body))
    cases += [case("POST", "/account/zarr-links/", {"name": "x", "days": days}) for days in BAD_DAYS
              if days != "\u0000"]
    for pk in ("0", "99999999999999999999999", "-1", "x"):
        cases += [case("POST", f"/account/zarr-links/{pk}/revoke"), case("GET", f"/api/zarr-links/{pk}/"),
                  case("DELETE", f"/api/zarr-links/{pk}/"),
                  case("PATCH", f"/api/zarr-links/{pk}/", json.dumps({"name": "x"}), j)]
    bodies = [{"name": "a\u0000"}, {"name": "x", "scope": TRAVERSAL}, {"name": ["x"]}, {"name": "n" * 5000}]
    bodies += [{"name": "x", "expires_in_days": days} for days in (HUGE, 10**30, -1, "1e3")]
    for body in ["not json", "[1]", "null", "[" * 100000 + "]" * 100000] + [json.dumps(b) for b in bodies]:
        cases.append(case("POST", "/api/zarr-links/", body, j))
    cases += [case("GET", "/account/zarr-links/", allow_ok=True),
              case("GET", "/api/zarr-links/?page=%00", allow_ok=True)]
    return cases


def api_body_cases():
    """POST /api/cutouts/ with broken, odd and oversized bodies."""
    cases = []
    j = "application/json"
    for raw in ("not json", "{", "[1, 2]", "null", "42", '"text"', "[" * 100000 + "]" * 100000, "{\"x\": NaN}",
                b"\xed\xa0\x80", json.dumps({"collection": None}), "\u0000"):
        cases.append(case("POST", "/api/cutouts/", raw, j))
    cases.append(case("POST", "/api/cutouts/", json.dumps({**BOX, "pad": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}), j))
    cases.append(case("POST", "/api/cutouts/", "x=1&y=2", "application/x-www-form-urlencoded"))
    cases.append(case("POST", "/api/cutouts/", "hello", "text/plain"))
    cases.append(case("POST", "/api/cutouts/", b"\xff\xfe\x00garbage", "application/octet-stream"))
    for field in ("resolution", "x", "y", "z", "t"):
        for number in NUMBERS + [10**30, -(10**30), 1.5, float("1e308"), True, None, [], {}, [1], [1, 2, 3],
                                 ["0", HUGE], ["²", "3"], [-5, -1]]:
            value = number if field == "resolution" or isinstance(number, list) else [number, number]
            try:
                body = json.dumps({**BOX, field: value})
            except ValueError:
                continue
            no_t = field == "t" and number in (None, [], "")
            cases.append(case("POST", "/api/cutouts/", body, j, allow_ok=number in BENIGN or no_t))
    for field, value in (("collection", TRAVERSAL), ("collection", "../../etc/passwd"), ("collection", "a" * 5000),
                         ("experiment", "\u00e4"), ("experiment", ""), ("collection", 5), ("channels", [1, 2]),
                         ("channels", "em" * 3000), ("channels", [TRAVERSAL]), ("channels", {}),
                         ("format", None), ("format", ["ome-tiff"]), ("experiment", "cortex/../large"),
                         ("collection", "demo?x=1"), ("collection", "demo#frag"), ("experiment", "cortex%00")):
        # A null format means the default one.
        cases.append(case("POST", "/api/cutouts/", json.dumps({**BOX, field: value}), j,
                          allow_ok=(field, value) == ("format", None)))
    return cases


def login_cases():
    """The login pages (allauth) and logout: odd `next` values, forged callbacks, wrong methods."""
    cases = []
    for nxt in ("//evil.example/", "https://evil.example/", "javascript:alert(1)", TRAVERSAL, "a" * 5000, "%00"):
        cases.append(case("GET", f"/accounts/login/?next={nxt}", allow_ok=True))
    for query in ("", "?code=x&state=y", "?error=access_denied&state=y", "?state=" + "a" * 5000,
                  "?code=%00&state=%00", "?error=" + TRAVERSAL):
        cases.append(case("GET", f"/accounts/oidc/boss/login/callback/{query}", allow_ok=True))
    cases.append(case("GET", "/accounts/oidc/boss/login/?process=" + TRAVERSAL, allow_ok=True))
    cases.append(case("POST", "/accounts/oidc/boss/login/?next=//evil.example/", allow_ok=True))
    cases.append(case("GET", "/accounts/logout/", allow_ok=True))
    cases.append(case("GET", "/accounts/nope/" + TRAVERSAL))
    return cases


# --- the tests -------------------------------------------------------------------------------------------

def test_pages_and_api_refuse_bad_input_from_a_logged_in_user(world):
    client = Client(raise_request_exception=False)
    client.force_login(world["alice"])
    failures = run_cases(client, page_cases(world["done"], world["failed"]) + api_body_cases())
    assert not failures, "\n".join(failures)


def test_the_api_refuses_bad_input_from_a_bearer_token(world):
    client = Client(raise_request_exception=False)
    token = password_grant(world["devboss"], "alice")["access_token"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    cases = [c[:4] + ({**c[4], **headers}, c[5]) for c in api_body_cases() if c[1].startswith("/api/")]
    for value in ("Bearer", "Bearer ", "Bearer " + "x" * 10000, "Bearer a b", "Basic Zm9vOmJhcg==", "Token abc",
                  "Bearer \u00e4", "Bearer " + TRAVERSAL):
        for path in ("/api/me/", "/api/cutouts/", f"/api/cutouts/{world['done'].pk}/"):
            cases.append(case("GET", path, HTTP_AUTHORIZATION=value))
    failures = run_cases(client, cases)
    assert not failures, "\n".join(failures)


def test_anonymous_visitors_get_401_or_the_login_page_never_a_500(world):
    client = Client(raise_request_exception=False)
    failures = run_cases(client, page_cases(world["done"], world["failed"]) + api_body_cases() + login_cases())
    assert not failures, "\n".join(failures)


def test_post_forms_without_a_csrf_token_are_refused(world):
    job = world["done"]
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(world["alice"])
    cases = [case("POST", path, {"next": "/"}) for path in (
        f"/cutouts/{job.pk}/cancel", f"/cutouts/{job.pk}/retry", f"/cutouts/{world['failed'].pk}/retry",
        "/c/demo/cortex/cutout/", "/accounts/logout/", "/accounts/oidc/boss/login/")]
    cases += [case("POST", path, json.dumps(BOX), "application/json") for path in (
        "/api/cutouts/", f"/api/cutouts/{job.pk}/cancel", f"/api/cutouts/{world['failed'].pk}/retry")]
    failures = []
    for method, path, body, content_type, headers, _ in cases:
        response = request(client, method, path, body, content_type)
        TRIED["cases"] += 1
        if response.status_code != 403:
            failures.append(f"{method} {path}: {response.status_code}, expected 403 (CSRF)")
    assert not failures, "\n".join(failures)
    world["failed"].refresh_from_db()
    assert world["failed"].state == "failed"  # nothing happened


def test_a_short_link_stores_only_what_it_validated(db, client, django_user_model):
    from portal.models import ShortLink

    client.force_login(django_user_model.objects.create_user("carol"))
    for state in UNSTORABLE_STATES:
        refused = client.post("/s/new", {"kind": "viewer", "state": state, "public": "1"})
        assert refused.status_code == 400 and refused.content.strip(), state[:40]
    for days in BAD_DAYS:
        refused = client.post("/s/new", {"kind": "viewer", "state": STATE, "days": days})
        assert refused.status_code == 400 and b"days must be between 0" in refused.content, days[:40]
    assert not ShortLink.objects.exists()
    TRIED["cases"] += len(UNSTORABLE_STATES) + len(BAD_DAYS)

    for days in ("", "0", " 7 "):
        made = client.post("/s/new", {"kind": "viewer", "state": STATE, "days": days, "title": "t\u0000" * 300})
        assert made.status_code == 302, made.content
    links = list(ShortLink.objects.order_by("created"))
    assert [link.payload for link in links] == [{"layers": []}] * 3
    lifetimes = [round((link.expires - link.created).total_seconds() / 86400) if link.expires else None
                 for link in links]
    assert lifetimes == [90, None, 7]  # blank: the default; 0: never expires
    assert links[0].title == "t" * 255


def test_the_tables_cover_every_url_pattern(world):
    from django.urls import get_resolver

    def walk(patterns, prefix=""):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern)

    ours = [p for p in walk(get_resolver().url_patterns)
            if not p.lstrip("^").startswith(("accounts/", "static", "admin"))]
    tables = page_cases(world["done"], world["failed"]) + api_body_cases() + login_cases()
    paths = {c[1].split("?")[0] for c in tables}
    import re

    missing = []
    for pattern in ours:
        if pattern.startswith("^"):  # a regex pattern (DRF's routers): Django's own regex, joined
            regex = "^/" + pattern.removeprefix("^").removesuffix("$") + "$"
        else:
            regex = "^/" + re.sub(r"<(?:\w+:)?\w+>", "[^/]+", pattern) + "$"
        if not any(re.match(regex, path) for path in paths):
            missing.append(pattern)
    assert not missing, f"url patterns without bad-input cases: {missing}"
    TRIED["cases"] += 0


def test_zz_enough_cases_were_tried():
    print(f"\nbad-input cases tried: {TRIED['cases']}")
    assert TRIED["cases"] >= MIN_CASES, TRIED
