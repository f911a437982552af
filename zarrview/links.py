"""/account/zarr-links/: make, list and revoke your Zarr links in the browser.

A new link's secret is shown once: it is kept in the session only until the next page shows it (this page,
or the experiment page the link was made from, whose snippets then carry it), then dropped.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from zarrview.api import ZarrLinkSerializer, url_template
from zarrview.models import ZarrLink

NEW_LINK = "zarr_new_link"  # session key of the one-time secret


def take_new_link(request):
    """The link just made ({"secret", "name", "scope"}), once; None afterwards."""
    return request.session.pop(NEW_LINK, None)


def _next(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return None


def _create(request):
    days = request.POST.get("days", "").strip()
    data = {"name": request.POST.get("name", ""), "scope": request.POST.get("scope", ""),
            "expires_in_days": None if days in ("", "0", "never") else days}
    serializer = ZarrLinkSerializer(data=data, context={"request": request})
    if not serializer.is_valid():
        return {field: " ".join(str(e) for e in errs) for field, errs in serializer.errors.items()}
    link = serializer.save()
    request.session[NEW_LINK] = {"secret": link.secret, "name": link.name, "scope": link.scope}
    messages.success(request, f"Zarr link “{link.name}” made. Copy its URL now: it is shown this once.")
    return None


@login_required
@require_http_methods(["GET", "POST"])
def link_list(request):
    errors = {}
    if request.method == "POST":
        errors = _create(request)
        if not errors:
            return redirect(_next(request) or "zarr-links")
    new = take_new_link(request)
    context = {"links": ZarrLink.objects.filter(owner=request.user), "errors": errors, "form": request.POST,
               "new": new, "template": url_template(request, new["secret"]) if new else ""}
    return render(request, "zarrview/links.html", context, status=400 if errors else 200)


@login_required
@require_POST
def revoke(request, pk):
    link = get_object_or_404(ZarrLink, pk=pk, owner=request.user)
    link.revoke()
    messages.success(request, f"Zarr link “{link.name}” revoked: it reads nothing from now on.")
    return redirect("zarr-links")
