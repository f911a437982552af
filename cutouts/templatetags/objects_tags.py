"""The cutout form's "objects" section: which channels are annotations."""
from django import template

from cutouts.objects import annotation_channels as _annotation_channels

register = template.Library()


@register.filter
def annotation_channels(detail):
    return _annotation_channels(detail)
