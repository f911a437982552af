"""`{% load viewer %}{% viewer_warning public %}`: a page-level notice beside viewer links that can't draw.

The Neuroglancer client at NDVIZ_URL reads BOSS from the browser. For private data it must ask for a token:
devboss's local client asks devboss (/credentials/devboss), which gives the logged-in user their own, but any
other client (ndviz in front of the real BOSS) asks for credentials the portal can't give, and its layers stay
empty with only a red line in a side panel. settings.NDVIZ_PRIVATE_DATA says which case this portal is in.
"""
from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.utils.html import format_html

register = template.Library()


def viewer_shows(public):
    """Whether a viewer link to data that is `public` (or not) will draw for the user who follows it."""
    return bool(public) or settings.NDVIZ_PRIVATE_DATA


@register.simple_tag
def viewer_warning(public):
    if viewer_shows(public):
        return ""
    host = urlsplit(settings.NDVIZ_URL).netloc or settings.NDVIZ_URL
    return format_html(
        '<div class="notice notice-warn viewer-warning" role="note"><p><strong>Neuroglancer can\'t show this '
        'private data.</strong> The viewer at {} reads BOSS from your browser and asks for credentials the portal '
        "can't give it, so its layers stay empty. Public data draws there; for this data, download a cutout.</p>"
        "</div>", host)
