from django.urls import include, path

from portal import health, views

urlpatterns = [
    path("", views.home, name="portal-home"),
    path("healthz", health.healthz, name="portal-healthz"),  # no login, no secrets (portal/health.py)
    path("", include("portal.urls_auth")),    # login, logout, /api/ authentication (OIDC)
    path("", include("portal.urls_browse")),  # collections, experiments, channels, /api/ browse
]
urlpatterns.append(path("", include("cutouts.urls")))  # the cutout form, jobs, downloads, /api/cutouts/
