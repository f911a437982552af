"""Browse pages as anonymous visitors see them, rendered once per BOSS_CACHE_SECONDS and served from the cache.

Every anonymous visitor sees the same public data, already cached that long (the BOSS metadata behind the
pages, portal.boss.client); rendering the templates cost 5-10 times the trivial view (bench.pages_bench).
So an anonymous GET of a browse page or API list is answered from the shared cache when it can be, and
rendered and stored otherwise. What is never stored or served from it:

- a request with a logged-in user or an Authorization header (each user sees what BOSS lets them see);
- a response other than 200, one that sets a cookie, or one whose page holds a CSRF token (a token is
  bound to its visitor's cookie);
- a request carrying messages for its visitor (they must be shown to that visitor, once).

The key is the scheme, host and full path (pages hold absolute URLs), and what `vary(request)` gives (the
collections page marks the visitor's recent ones), hashed. `before(request, *args)` runs when the answer
comes from the cache, in place of what the view does besides rendering (the collection page remembers the
visitor's recent collections).
"""
import functools
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse

KEEP_HEADERS = ("Content-Type", "Content-Language", "Cache-Control", "Vary", "Content-Security-Policy",
                "X-Robots-Tag")


def _key(request, vary):
    raw = f"{request.scheme}://{request.get_host()}{request.get_full_path()} {vary(request) if vary else ''}"
    return "anon-page:" + hashlib.sha256(raw.encode()).hexdigest()


def _cacheable_request(request):
    if request.method not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in request.META:
        return False
    if "messages" in request.COOKIES:
        return False
    return not request.user.is_authenticated


def anonymous_cache(view=None, *, before=None, vary=None):
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(request, *args, **kwargs):
            seconds = settings.BOSS_CACHE_SECONDS
            if seconds <= 0 or not _cacheable_request(request):
                return fn(request, *args, **kwargs)
            key = _key(request, vary)
            hit = cache.get(key)
            if hit is not None:
                if before is not None:
                    before(request, *args, **kwargs)
                content, headers = hit
                response = HttpResponse(content, status=200)
                for name, value in headers:
                    response[name] = value
                return response
            response = fn(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            if (response.status_code == 200 and not response.cookies and not getattr(response, "streaming", False)
                    and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE") and not request.META.get("CSRF_COOKIE_USED")):
                headers = [(h, response[h]) for h in KEEP_HEADERS if response.has_header(h)]
                cache.set(key, (response.content, headers), seconds)
            return response
        return wrapper
    return decorate(view) if view is not None else decorate
