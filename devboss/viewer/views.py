"""Serve the Neuroglancer client that ships in the PyPI `neuroglancer` wheel, so viewer links work offline.

That build is the one Python's neuroglancer serves: it expects to live under /v/<token>/ (at / it fails
with "Failed to determine token from URL"), listens to /events/<token> for state pushes from Python and posts
to /credentials/<token> when a boss:// source needs a token (answered by devboss.viewer.credentials).
"""
import os
from pathlib import Path

import neuroglancer
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views.static import serve

CLIENT_DIR = Path(neuroglancer.__file__).resolve().parent / "static" / "client"
TOKEN = "devboss"

# Where the client may connect (fetch, XHR, workers' fetches: their scripts get this header too). The client
# sends the logged-in user's token (devboss.viewer.credentials) to the boss:// host that asked for it;
# Neuroglancer matches hosts loosely (`https://10.0.0.1:8443` and `https://127.0.0.1:8443` share an auth
# server), so the browser itself keeps the client to this origin, plus plain-HTTP loopback servers (the portal's
# zarr:// links) and whatever DEVBOSS_VIEWER_CONNECT_SRC adds (space-separated CSP sources).
CLIENT_CSP = "connect-src 'self' data: blob: http://127.0.0.1:* http://localhost:* " + os.environ.get(
    "DEVBOSS_VIEWER_CONNECT_SRC", "")

# There is no Python server to push state. The client treats every end of its event stream as a lost
# server (a "Disconnected from Python server" banner, then a reconnect), and holding streams open would
# pin one gunicorn thread per open tab; so index.html gets an EventSource that opens and stays quiet.
QUIET_EVENTS = (
    b"<script>window.EventSource = class { constructor() { setTimeout(() => this.onopen && this.onopen(), 0); }"
    b" close() {} };</script>"
)


def entry(request):
    # A 302 keeps the URL fragment (#!state) in the browser.
    return HttpResponseRedirect(f"/v/{TOKEN}/")


def client(request, token, path):
    if not CLIENT_DIR.is_dir():
        raise Http404("The neuroglancer package has no built client.")
    if path in ("", "index.html"):
        html = (CLIENT_DIR / "index.html").read_bytes().replace(b"<head>", b"<head>" + QUIET_EVENTS, 1)
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
    else:
        response = serve(request, path, document_root=CLIENT_DIR)
    response["Content-Security-Policy"] = CLIENT_CSP.strip()
    return response


def events(request, token):
    # For clients that still connect (e.g. a cached index.html): an empty stream.
    response = HttpResponse(b"", content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    return response
