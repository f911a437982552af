"""The Zarr view (/zarr/...), the account page of Zarr links and their API (/api/zarr-links/)."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from zarrview import api, links, views

STORE = "<str:collection>/<str:experiment>/<str:channel>.ome.zarr/"

router = SimpleRouter(trailing_slash=True)
router.register("api/zarr-links", api.ZarrLinkViewSet, basename="api-zarr-links")

urlpatterns = [
    path(f"zarr/public/{STORE}", views.public_store, name="zarr-public-root"),
    path(f"zarr/public/{STORE}<path:key>", views.public_store, name="zarr-public"),
    path(f"zarr/<str:secret>/{STORE}", views.link_store, name="zarr-link-root"),
    path(f"zarr/<str:secret>/{STORE}<path:key>", views.link_store, name="zarr-link"),
    path("account/zarr-links/", links.link_list, name="zarr-links"),
    path("account/zarr-links/<int:pk>/revoke", links.revoke, name="zarr-link-revoke"),
    *router.urls,
]
