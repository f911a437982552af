from django.urls import path

from portal import api_browse, views_browse
from portal.errors import boss_errors
from portal.pagecache import anonymous_cache

urlpatterns = [
    path("c/", views_browse.collections, name="browse-collections"),
    path("c/<slug:collection>/", views_browse.collection, name="browse-collection"),
    path("c/<slug:collection>/<slug:experiment>/", views_browse.experiment, name="browse-experiment"),
    path("api/collections/", anonymous_cache(boss_errors(api_browse.api_collections)), name="api-collections"),
    path("api/collections/<slug:collection>/experiments/", anonymous_cache(boss_errors(api_browse.api_collection)),
         name="api-experiments"),
    path("api/collections/<slug:collection>/experiments/<slug:experiment>/", anonymous_cache(boss_errors(api_browse.api_experiment)),
         name="api-experiment"),
]
