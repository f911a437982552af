"""CORS as BOSS sends it (allow all origins; preflights may ask for the authorization header),
and BossError -> JSON for every view."""
from django.http import HttpResponse

from .errors import BossError

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "authorization, content-type, accept, accept-encoding, x-requested-with",
    "Access-Control-Max-Age": "86400",
}


class CorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META:
            response = HttpResponse(status=200)
        else:
            response = self.get_response(request)
        if request.path.startswith(("/v1/", "/latest/", "/ping", "/auth/")):
            for key, value in CORS_HEADERS.items():
                response.setdefault(key, value)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, BossError):
            return exception.response()
        return None
