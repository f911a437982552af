"""The portal's URLs plus one page that calls BOSS as the visitor (the middleware's LoginRequired path)."""
from django.http import JsonResponse
from django.urls import include, path

from portal.boss.remote import remote_for


def boss_check(request):
    return JsonResponse({"collections": remote_for(request.user).list_collections()})


urlpatterns = [path("boss-check/", boss_check), path("", include("portal.urls"))]
