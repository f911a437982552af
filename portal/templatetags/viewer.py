"""`{% load viewer %}{% viewer_warning public [channels] %}`: a page-level notice where viewer links can't draw.

The Neuroglancer client at NDVIZ_URL reads BOSS from the browser. For private data it must ask for a token:
devboss's local client asks devboss (POST /credentials/devboss), which gives the logged-in user a read-only
token of their own, but any other client (ndviz, the hosted Neuroglancer in front of the real BOSS) asks for
credentials the portal can't give, and its layers stay empty with only a red line in a side panel.
settings.NDVIZ_PRIVATE_DATA says which case this portal is in.
"""
from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.utils.html import format_html

register = template.Library()


def viewer_shows(public, channels=None):
    """Whether a viewer link to data that is `public` (or not) will draw for the user who follows it.

    Neuroglancer's boss:// source reads the experiment and then every channel of it, so a link to an
    experiment draws without a token only if the experiment and each of `channels` (objects with `.public`)
    are public.
    """
    anonymous_readable = bool(public) and all(getattr(ch, "public", False) for ch in (channels or ()))
    return anonymous_readable or bool(settings.NDVIZ_PRIVATE_DATA)


@register.simple_tag
def viewer_warning(public, channels=None):
    if viewer_shows(public, channels):
        return ""
    host = urlsplit(settings.NDVIZ_URL).netloc or settings.NDVIZ_URL
    return format_html(
        '<div class="notice notice-warn viewer-warning" role="note"><p><strong>Neuroglancer can\'t show this '
        "private data.</strong> The Neuroglancer viewer (ndviz) at {} reads BOSS from your browser and asks for "
        "credentials the portal can't give it, so its layers stay empty. Public data draws there; for this data, "
        "download a cutout.</p></div>", host)
