"""The "Paste a Neuroglancer link" box and the bookmarklet's target: a viewer link -> the pre-filled form."""
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse

from cutouts.neuroglancer import DEFAULT_DEPTH, query_for_request, read_link, to_request
from cutouts.shortlinks import stored_state
from portal.boss import client
from portal.errors import boss_errors

NAME = re.compile(r"^[-a-zA-Z0-9_]+$")  # what the form's URL accepts (<slug:...>)


def _depth(value):
    try:
        return max(1, min(int(value), 4096))
    except (TypeError, ValueError):
        return DEFAULT_DEPTH


@login_required
@boss_errors
def from_viewer(request):
    """GET ?url=... (the bookmarklet) or POST url=... (the box): redirect to the form, or re-show the box."""
    source = request.POST if request.method == "POST" else request.GET
    text, depth = source.get("url"), _depth(source.get("depth", DEFAULT_DEPTH))
    if text is None:
        return render(request, "cutouts/paste.html", {"text": "", "depth": depth})
    link = read_link(text, depth, resolve=stored_state(request))
    if not link.collection or not (NAME.match(link.collection) and NAME.match(link.experiment)):
        problems = link.messages or [f"Unusable collection or experiment name: {link.collection}/{link.experiment}."]
        return render(request, "cutouts/paste.html", {"text": text, "depth": depth, "problems": problems}, status=400)
    detail = client.get_experiment_detail(request.user, link.collection, link.experiment)
    data, more = to_request(link, detail)
    for message in link.messages + more:
        messages.warning(request, message)
    form = reverse("cutout-form", args=[link.collection, link.experiment])
    return redirect(form + "?" + query_for_request(data))
