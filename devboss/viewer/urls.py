"""The local Neuroglancer: /viewer/ → /v/devboss/ (302, the #! state survives), the client under /v/<token>/,
and what that client asks of its Python server: /events/<token> (quiet) and /credentials/<token> (the
logged-in user's own token, devboss.viewer.credentials)."""
from django.urls import re_path

from . import credentials, views

urlpatterns = [
    re_path(r"^viewer/?$", views.entry, name="viewer-entry"),
    re_path(r"^v/?$", views.entry),
    re_path(r"^v/(?P<token>[\w-]+)/(?P<path>.*)$", views.client, name="viewer-client"),
    re_path(r"^credentials/(?P<token>[\w-]+)/?$", credentials.credentials, name="viewer-credentials"),
    re_path(r"^events/(?P<token>[\w-]+)/?$", views.events, name="viewer-events"),
]
