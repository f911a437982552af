"""The portal's URLs plus one page that calls BOSS as the visitor (the middleware's LoginRequired path)."""
from django.http import JsonResponse
from django.urls import include, path

import bossdb
from portal.boss.session import session_for


def boss_check(request):
    return JsonResponse({"collections": bossdb.list_collections(session_for(request.user))})


urlpatterns = [path("boss-check/", boss_check), path("", include("portal.urls"))]
