"""Serve the Neuroglancer client that ships in the PyPI `neuroglancer` wheel, so viewer links work offline.

That build is the one Python's neuroglancer serves: it expects to live under /v/<token>/ (at / it fails
with "Failed to determine token from URL") and listens to /events/<token> for server pushes.
"""
from pathlib import Path

import neuroglancer
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views.static import serve

CLIENT_DIR = Path(neuroglancer.__file__).resolve().parent / "static" / "client"
TOKEN = "devboss"


def entry(request):
    # A 302 keeps the URL fragment (#!state) in the browser.
    return HttpResponseRedirect(f"/v/{TOKEN}/")


def client(request, token, path):
    if not CLIENT_DIR.is_dir():
        raise Http404("The neuroglancer package has no built client.")
    return serve(request, path or "index.html", document_root=CLIENT_DIR)


def events(request, token):
    # Nothing to push; an empty stream keeps the client from showing "Disconnected from Python server".
    response = HttpResponse(b"", content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    return response
