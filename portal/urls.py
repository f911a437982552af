from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import health, views

urlpatterns = [
    path("", views.home, name="portal-home"),
    path("catalogue/<slug:collection>/<slug:experiment>/thumbnail", views.thumbnail, name="portal-thumbnail"),
    path("healthz", health.healthz, name="portal-healthz"),
    path("livez", health.ping, name="portal-livez"),  # the process answers: nothing else is checked  # no login, no secrets (portal/health.py)
    path("admin/", admin.site.urls),  # staff: jobs and short links (cutouts/admin.py)
    path("", include("portal.urls_auth")),    # login, logout, /api/ authentication (OIDC)
    path("", include("portal.urls_browse")),  # collections, experiments, channels, /api/ browse
    # The OpenAPI schema and its Swagger UI, public. The split view serves the UI's start-up script from
    # its own URL (?script), since the Content Security Policy refuses inline scripts.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/docs.html"),
         name="api-docs"),
]
handler404 = "portal.errors.not_found"  # JSON under /api/
urlpatterns.append(path("", include("cutouts.urls")))  # the cutout form, jobs, downloads, /api/cutouts/
urlpatterns.append(path("", include("zarrview.urls")))  # /zarr/ (OME-Zarr view), Zarr links, /api/zarr-links/
