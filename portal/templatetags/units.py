"""`{% load units %}{{ n|bytes }}`: a size in the portal's one unit (portal.units.human_bytes)."""
from django import template

from portal.units import human_bytes

register = template.Library()


@register.filter(name="bytes")
def bytes_filter(value):
    """'67.1 MB' for 67108864 (decimal units, three significant figures); '' for a missing size."""
    if value is None or value == "":
        return ""
    return human_bytes(value)
