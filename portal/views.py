"""The home page (the catalogue of what the visitor can read) and its thumbnails. See portal/catalogue.py."""
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from bossdb.errors import BossError, LoginRequired
from portal import catalogue
from portal.api_browse import refresh_requested
from portal.errors import boss_errors

CARDS_PER_PAGE = 24


@require_safe
@boss_errors
def home(request):
    q = request.GET.get("q", "").strip()[:200]
    found = catalogue.build(request.user, q, refresh=refresh_requested(request))
    page = Paginator(found.cards, CARDS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/home.html", {"cat": found, "page": page, "q": q})


@require_safe
def thumbnail(request, collection, experiment):
    """The card's picture. Any failure answers a small grey placeholder with the reason in a header, so a
    card never shows a broken image (and BOSS's answer is never a 500 here)."""
    try:
        png = catalogue.thumbnail(request.user, collection, experiment)
    except (catalogue.NoThumbnail, LoginRequired, BossError) as exc:
        return _placeholder(exc)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=600"
    response["Vary"] = "Cookie"
    return response


def _placeholder(exc):
    reason = getattr(exc, "message", None) or str(exc)
    response = HttpResponse(PLACEHOLDER_SVG, content_type="image/svg+xml")
    response["X-Thumbnail-Problem"] = reason.encode("ascii", "replace").decode()[:200]
    response["Cache-Control"] = "private, max-age=60"
    return response


PLACEHOLDER_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="256" height="256">'
                   b'<rect width="64" height="64" fill="#1f2933"/><path d="M16 44l10-12 8 9 6-7 8 10z" '
                   b'fill="#52606d"/><circle cx="24" cy="22" r="4" fill="#52606d"/></svg>')
