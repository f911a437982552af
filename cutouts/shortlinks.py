"""Short links (/s/<slug>) to a Neuroglancer state or a cutout recipe, owned by the user who made them.

A public viewer link opens Neuroglancer with `#!<portal>/s/<slug>.json`: Neuroglancer fetches the state
from us (anonymously, hence the CORS header). A private one can't work that way (Neuroglancer's fetch
carries no session cookie), so the owner's redirect carries the state itself in the fragment.
"""
import json
import re
from datetime import timedelta
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cutouts.forms import parse_form
from cutouts.neuroglancer import query_for_request, read_state
from cutouts.serializers import BOSS_NAME
from portal.models import ShortLink

DEFAULT_DAYS = 90
MAX_DAYS = 3650  # ten years; 0 means "never expires"
MAX_PAYLOAD = 200_000  # characters of JSON


def _visible_link(request, slug):
    link = ShortLink.objects.filter(slug=slug).first()
    if link is None or not link.visible_to(request.user):
        raise Http404("No such link, or it has expired.")
    return link


SHORT_PATH = re.compile(r"^/s/([-a-zA-Z0-9_]+)(?:\.json)?/?$")


def stored_state(request):
    """A resolver for cutouts.neuroglancer.read_state: the Neuroglancer state behind one of this portal's
    own short links (`<portal>/s/<slug>` or `.../s/<slug>.json`, as `#!<url>` or alone), looked up in the
    database with the requesting user's rights, never fetched over HTTP. None for any other URL."""

    def resolve(url):
        parts = urlsplit(url)
        match = SHORT_PATH.match(parts.path)
        if not match or parts.netloc.lower() != request.get_host().lower():
            return None
        link = ShortLink.objects.filter(slug=match.group(1)).first()
        if link is None or not link.visible_to(request.user):
            return None, ["That short link does not exist, has expired, or is private to someone else."]
        if link.kind != ShortLink.VIEWER:
            return None, ["That short link is a cutout recipe, not a viewer state: open it to get its form."]
        return link.payload, []

    return resolve


def _field(request, name, default=""):
    return request.POST.get(name) or request.GET.get(name) or default


def _payload(request, kind):
    """The state (viewer) or request dict (recipe) to store, or None if unreadable."""
    if kind == ShortLink.VIEWER:
        state, _ = read_state(_field(request, "state"))
        return state
    collection, experiment = _field(request, "collection"), _field(request, "experiment")
    if not (BOSS_NAME.fullmatch(collection or "") and BOSS_NAME.fullmatch(experiment or "")):
        return None  # never a name BOSS can't have: its page links to /c/<collection>/<experiment>/
    data = parse_form(request.POST, collection, experiment)
    return {k: v for k, v in data.items() if v not in ("", [], ["", ""])}


def _storable(payload):
    """True if every database the portal runs on can store `payload` as JSON: no NaN or Infinity (not JSON,
    which SQLite's JSON_VALID check refuses; Neuroglancer's parser would too), no NUL character and no lone
    UTF-16 surrogate (PostgreSQL's jsonb refuses both), and no more than MAX_PAYLOAD characters."""
    try:
        text = json.dumps(payload, allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")
    except (ValueError, UnicodeEncodeError, RecursionError):
        return False
    return "\\u0000" not in text and len(text) <= MAX_PAYLOAD


def _days(request):
    """The link's lifetime in days (0: never expires), or None when `days` is not a whole number from 0 to
    MAX_DAYS. Only a missing or blank `days` means DEFAULT_DAYS: a typo must not quietly become 90 days."""
    raw = _field(request, "days").strip()
    try:
        days = int(raw) if raw else DEFAULT_DAYS  # int() refuses over 4300 digits with a ValueError
    except ValueError:
        return None
    return days if 0 <= days <= MAX_DAYS else None


@require_POST
@login_required
def create(request):
    kind = _field(request, "kind")
    if kind not in (ShortLink.VIEWER, ShortLink.RECIPE):
        return HttpResponseBadRequest("kind must be viewer or recipe")
    payload = _payload(request, kind)
    if payload is None:
        return HttpResponseBadRequest("Nothing to share: the state or recipe could not be read.")
    if not _storable(payload):
        return HttpResponseBadRequest(f"The state or recipe can't be stored: over {MAX_PAYLOAD} characters of "
                                      "JSON, or it holds NaN, Infinity or a NUL character.")
    days = _days(request)
    if days is None:
        return HttpResponseBadRequest(f"days must be between 0 (never expires) and {MAX_DAYS}")
    link = ShortLink.objects.create(
        owner=request.user, kind=kind, payload=payload,
        title=_field(request, "title").replace("\x00", "")[:255],  # PostgreSQL refuses NUL in text
        public=_field(request, "public") in ("1", "on", "true"),
        expires=timezone.now() + timedelta(days=days) if days > 0 else None,
    )
    messages.success(request, "Short link created: " + request.build_absolute_uri(reverse("link-open", args=[link.slug])))
    return redirect(reverse("link-list") + f"#link-{link.slug}")


@login_required
def link_list(request):
    links = ShortLink.objects.filter(owner=request.user)
    rows = [{"link": link, "url": request.build_absolute_uri(reverse("link-open", args=[link.slug]))} for link in links]
    return render(request, "links/list.html", {"rows": rows})


@require_POST
@login_required
def delete(request, slug):
    deleted, _ = ShortLink.objects.filter(owner=request.user, slug=slug).delete()
    if not deleted:
        raise Http404("No such link.")
    messages.info(request, "The link is deleted.")
    return redirect("link-list")


def open_link(request, slug):
    link = _visible_link(request, slug)
    if link.kind == ShortLink.RECIPE:
        data = link.payload
        form = reverse("cutout-form", args=[data.get("collection", ""), data.get("experiment", "")])
        return redirect(form + "?" + query_for_request(data))
    if link.public:
        target = request.build_absolute_uri(reverse("link-state", args=[link.slug]))
    else:
        target = quote(json.dumps(link.payload, separators=(",", ":")), safe="")
    return redirect(settings.NDVIZ_URL + "#!" + target)


def state_json(request, slug):
    """The stored Neuroglancer state, for Neuroglancer's `#!<url>` form (fetched cross-origin)."""
    link = ShortLink.objects.filter(slug=slug, kind=ShortLink.VIEWER).first()
    if link is None or not link.visible_to(request.user):
        response = JsonResponse({"error": "No such link, or it has expired."}, status=404)
    else:
        response = JsonResponse(link.payload)
    response["Access-Control-Allow-Origin"] = "*"
    return response
