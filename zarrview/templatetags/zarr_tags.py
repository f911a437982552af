"""{% zarr_section %}: the experiment page's "Open without downloading" section (one include line there)."""
from django import template

from zarrview import layout, snippets
from zarrview.links import take_new_link
from zarrview.views import link_url

register = template.Library()


@register.inclusion_tag("zarrview/_channels.html", takes_context=True)
def zarr_section(context):
    """Per channel its Zarr URL and snippets: the public URL, or the link just made from this page (once)."""
    request, exp = context["request"], context["exp"]
    new = take_new_link(request) if request.user.is_authenticated else None
    if new and new["scope"] not in ("", exp.collection, f"{exp.collection}/{exp.name}"):
        new = None
    rows = []
    for row in context.get("rows") or ():
        ch = row.channel
        url = snippets.public_zarr_url(request, exp, ch)
        if url is None and new:
            url = link_url(request, new["secret"], exp.collection, exp.name, ch.name)
        rows.append({"channel": ch, "label": layout.is_label(ch), "s": snippets.for_channel(url, ch.name, layout.is_label(ch))})
    private = any(r["s"] is None for r in rows)
    return {"rows": rows, "private": private, "new": new, "exp": exp, "user": request.user,
            "here": request.get_full_path(), "csrf_token": context.get("csrf_token")}
