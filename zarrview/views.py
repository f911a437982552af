"""The read-only Zarr store over HTTP: metadata keys answered from the layout, chunk keys from BOSS.

    GET /zarr/public/<c>/<e>/<ch>.ome.zarr/<key>      public data, with the public token
    GET /zarr/<secret>/<c>/<e>/<ch>.ome.zarr/<key>    through a personal link, as its owner

Every answer carries `Access-Control-Allow-Origin: *` (Neuroglancer reads from another origin; the link's
secret is the credential, not a cookie) and caching headers: public chunks `public, max-age`, link chunks
`private, no-cache` (a browser revalidates each time, so a revoked link stops at once; an unchanged chunk
costs a 304). Status codes, never a 500: 403 refused (BOSS, or a bad link), 401 no usable login, 404 only
for keys that do not exist in the store, 429 BOSS's quota (with Retry-After), 502/504 BOSS down or slow.
Django's request log is bypassed (the paths hold the secret): failures are logged here with the link
part replaced by "<link>".
"""
import json
import logging
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from bossdb.errors import (
    BossError, BossForbidden, BossNotFound, BossThrottled, BossTimeout, BossUnavailable, LoginRequired,
)
from cutouts.serializers import BOSS_NAME
from zarrview import access, chunks, layout
from zarrview.cache import chunk_cache

log = logging.getLogger(__name__)
METADATA_MAX_AGE = 60


def _headers(response, private=False, max_age=None):
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "ETag, Content-Length, X-Zarr-Cache"
    if max_age is None:
        response["Cache-Control"] = "no-store"
    elif private:
        response["Cache-Control"] = "private, no-cache"
    else:
        response["Cache-Control"] = f"public, max-age={max_age}"
    response._has_been_logged = True  # keep the secret out of django.request's log (see the docstring)
    return response


def _error(request, status, message, **headers):
    if status >= 500 or status == 429:
        path = request.path if request.path.startswith("/zarr/public/") else "/zarr/<link>/" + \
            request.path.split("/", 3)[-1]
        log.warning("zarr %s %s: %s", status, path, message)
    response = JsonResponse({"error": message, "status": status}, status=status)
    for name, value in headers.items():
        response[name] = value
    return _headers(response)


def _seconds_to_tomorrow():
    """BOSS's quota message says "Expected available tomorrow" (UTC days) and sends no Retry-After."""
    now = datetime.now(timezone.utc)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))


def _boss_error(request, exc, chunk):
    """The HTTP answer to a BOSS error. At a chunk key BOSS refusing or not finding a cutout of a channel
    it just listed is a server-side failure (502), never a 404 (read as "missing: zeros")."""
    if isinstance(exc, LoginRequired):
        return _error(request, 401, exc.message)
    if isinstance(exc, BossThrottled):
        return _error(request, 429, f"BOSS's download quota for this identity is used up: {exc.message}",
                      **{"Retry-After": str(_seconds_to_tomorrow())})
    if isinstance(exc, BossForbidden):
        return _error(request, 403, exc.message)
    if isinstance(exc, BossNotFound) and not chunk:
        return _error(request, 404, exc.message)
    if isinstance(exc, BossTimeout):
        return _error(request, 504, exc.message or "BOSS did not answer in time.")
    if isinstance(exc, BossUnavailable):
        return _error(request, 502, exc.message or "BOSS is unreachable.")
    return _error(request, 502, f"BOSS refused to serve this: {exc.message}")


def _json(doc, private):
    response = HttpResponse(json.dumps(doc), content_type="application/json")
    return _headers(response, private, METADATA_MAX_AGE)


def _root(request, img, private):
    """The store's root URL itself: what it is and how to open it (no Zarr reader asks for it)."""
    return _json({"name": img.channel, "datatype": img.datatype, "format": "OME-Zarr (NGFF 0.4, Zarr v2)",
                  "levels": {p: {"shape": a.shape, "chunks": a.chunks} for p, a in img.arrays.items()},
                  "labels": sorted(img.labels), "url": request.build_absolute_uri()}, private)


def _chunk(request, reader, collection, experiment, found):
    img, array, index = found
    box = array.chunk_box(index)
    key = "|".join(map(str, (reader.scope, settings.BOSS_URL, collection, experiment, img.channel,
                             array.resolution, array.origin, array.shape, array.chunks, index)))

    def fetch():
        return chunks.read_chunk(reader.session(), collection, experiment, img.channel, array, box)

    data, digest, hit = chunk_cache().get_or_fetch(key, fetch)
    etag = f'"{digest.hex()}"'
    private = reader.user is not None
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type="application/octet-stream")
    response["ETag"] = etag
    response["X-Zarr-Cache"] = "hit" if hit else "miss"
    return _headers(response, private, settings.ZARR_HTTP_MAX_AGE)


def _serve(request, get_reader, collection, experiment, channel, key):
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Range, If-None-Match, Cache-Control"
        response["Access-Control-Max-Age"] = "86400"
        return _headers(response)
    if request.method not in ("GET", "HEAD"):
        return _error(request, 405, "The Zarr view is read-only.")
    if not all(BOSS_NAME.fullmatch(name) for name in (collection, experiment, channel)):
        # BOSS answers 400 for such a name, which would read as its failure (502): no store has this name.
        return _error(request, 404, "No such channel: BOSS names are 1-255 letters, digits, - and _.")
    is_chunk = False
    try:
        reader = get_reader()
        img = access.image_for(reader, collection, experiment, channel)
        private = reader.user is not None
        if key in ("", "/"):
            return _root(request, img, private)
        if key == ".zmetadata":
            return _json(layout.consolidated(img), private)
        doc = layout.metadata(img).get(key)
        if doc is not None:
            return _json(doc, private)
        found = layout.find_array(img, key)
        if found is None:
            return _error(request, 404, f"{key} is not a key of this image.")
        is_chunk = True
        return _chunk(request, reader, collection, experiment, found)
    except access.Refused as exc:
        return _error(request, exc.status, exc.message)
    except layout.LayoutError as exc:
        return _error(request, 404, str(exc))
    except BossError as exc:
        return _boss_error(request, exc, is_chunk)


@csrf_exempt
def public_store(request, collection, experiment, channel, key=""):
    return _serve(request, access.public_reader, collection, experiment, channel, key)


@csrf_exempt
def link_store(request, secret, collection, experiment, channel, key=""):
    return _serve(request, lambda: access.link_reader(secret, collection, experiment), collection, experiment,
                  channel, key)


def public_url(request, collection, experiment, channel):
    return request.build_absolute_uri(reverse("zarr-public-root", args=[collection, experiment, channel]))


def link_url(request, secret, collection, experiment, channel):
    return request.build_absolute_uri(reverse("zarr-link-root", args=[secret, collection, experiment, channel]))
