"""Browse pages: collections, a collection's experiments, an experiment's frame, levels and channels.

Each view looks up through portal.api_browse (which calls portal.boss.client), then renders; `?format=json`
answers the same data as the /api/ views. BOSS errors become pages in portal.errors.
"""
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from portal import api_browse as data
from portal.errors import boss_errors
from portal.pagecache import anonymous_cache


def _json(request):
    return request.GET.get("format") == "json"


@require_safe
@anonymous_cache(vary=lambda request: request.session.get(data.RECENT_KEY, []))
@boss_errors
def collections(request):
    page = data.collections_page(request)
    if _json(request):
        return JsonResponse(data.collections_json(request, page))
    return render(request, "portal/collections.html", {"p": page})


@require_safe
@anonymous_cache(before=lambda request, collection: data.remember_collection(request, collection))
@boss_errors
def collection(request, collection):
    coll, rows = data.collection_page(request, collection)
    data.remember_collection(request, coll.name)
    if _json(request):
        return JsonResponse(data.collection_json(request, coll, rows))
    return render(request, "portal/collection.html", {"collection": coll, "rows": rows})


@require_safe
@anonymous_cache
@boss_errors
def experiment(request, collection, experiment):
    detail, rows, all_url = data.experiment_page(request, collection, experiment)
    if _json(request):
        return JsonResponse(data.experiment_json(request, detail, rows, all_url))
    context = {"collection": collection, "detail": detail, "exp": detail.experiment, "frame": detail.frame,
               "rows": rows, "all_url": all_url}
    return render(request, "portal/experiment.html", context)
