"""Template helpers for the form page's extras: snippets for the current box, the preview's query string."""
from django import template

from cutouts import form_recipes
from cutouts.neuroglancer import query_for_request

register = template.Library()


@register.simple_tag(takes_context=True)
def form_snippets(context, data):
    return form_recipes.snippets(data, context["request"].build_absolute_uri("/"))


@register.simple_tag
def request_query(data):
    try:
        return query_for_request(data)
    except (TypeError, IndexError, KeyError):
        return ""
