"""The JSON API's request parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES, for every DRF view)."""
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that a body nested too deeply for Python's json module (`[[[[…]]]]`) is a 400
    like any other unreadable body: DRF lets the RecursionError through, and it would be a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the JSON is nested too deeply.") from None
