"""`{% load times %}{% when job.created %}`: a moment the page shows in the viewer's own time zone.

The server knows no visitor's zone, so it writes the UTC time, named ("2026-12-02 09:14 UTC"), inside
<time datetime="..." data-local>; static/cutouts/jobs.js rewrites the text with Intl.DateTimeFormat in the
browser's zone. Without JavaScript the UTC text stays, and it says it is UTC.
"""
from datetime import timezone

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def when(value):
    if not value:
        return ""
    utc = value.astimezone(timezone.utc)
    return format_html('<time datetime="{}" data-local>{}</time>', utc.isoformat(), utc.strftime("%Y-%m-%d %H:%M UTC"))
