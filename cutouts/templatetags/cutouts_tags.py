from urllib.parse import urlencode

from django import template

register = template.Library()


@register.filter
def getitem(mapping, key):
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def intcomma_plain(value):
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return value


@register.simple_tag
def level_query(data, row):
    """The form's query string for the same box at `row`'s level (the over-cap suggestion)."""
    params = [("channels", ch) for ch in data.get("channels", [])] + [("resolution", row.resolution)]
    for axis in ("x", "y", "z"):
        params += [(f"{axis}0", row.box[axis][0]), (f"{axis}1", row.box[axis][1])]
    params.append(("format", data.get("format", "ome-tiff")))
    t = data.get("t")
    if t:
        params += [("t0", t[0]), ("t1", t[1])]
    return urlencode(params)
